#!/usr/bin/env bash
# Builds kube-apiserver, etcd, kubectl, kube-scheduler and kube-controller-manager from the
# Go module proxy into
# <repo>/.bin/kube-<version>/ (the version is k8s.io/kubernetes' in tools/kube/go.mod) and
# prints that folder on stdout. Does nothing but print it when all of them are already there.
# Each binary is written under a temporary name and renamed into place, so an interrupted
# build never leaves a half-written binary behind.
#
#   tools/kube/build.sh            # build if needed, print the folder
#   tools/kube/build.sh --force    # rebuild even if present
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

force=0
case "${1:-}" in
"") ;;
--force) force=1 ;;
*)
	echo "usage: $0 [--force]" >&2
	exit 2
	;;
esac

version=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "$here/go.mod")
if [[ -z "$version" ]]; then
	echo "build.sh: no k8s.io/kubernetes requirement in $here/go.mod" >&2
	exit 1
fi
minor=$(echo "$version" | cut -d. -f2)
out="$root/.bin/kube-$version"
bins=(kube-apiserver etcd kubectl kube-scheduler kube-controller-manager)

have_all() {
	local b
	for b in "${bins[@]}"; do
		[[ -x "$out/$b" ]] || return 1
	done
}

if [[ $force == 0 ]] && have_all; then
	echo "$out"
	exit 0
fi

mkdir -p "$out"
cv=k8s.io/component-base/version
gv=k8s.io/client-go/pkg/version
# Without these the binaries report v0.0.0-master+$Format:%H$, which clients cannot parse.
ldflags="-s -w -X $cv.gitVersion=$version -X $cv.gitMajor=1 -X $cv.gitMinor=$minor"
ldflags="$ldflags -X $gv.gitVersion=$version -X $gv.gitMajor=1 -X $gv.gitMinor=$minor"

start=$SECONDS
cd "$here"
for pair in kube-apiserver:./apiserver etcd:./etcd kubectl:./kubectl \
	kube-scheduler:./kube-scheduler kube-controller-manager:./kube-controller-manager; do
	name=${pair%%:*}
	[[ $force == 0 && -x "$out/$name" ]] && continue
	pkg=${pair#*:}
	tmp="$out/.$name.tmp.$$"
	trap 'rm -f "$tmp"' EXIT
	echo "build.sh: building $name for Kubernetes $version" >&2
	go build -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg"
	mv -f "$tmp" "$out/$name"
done
trap - EXIT
echo "build.sh: built in $((SECONDS - start))s into $out" >&2
echo "$out"
