#!/usr/bin/env bash
# Builds KWOK from the Go module proxy into <repo>/.bin/kwok-<version>/ (the version is
# sigs.k8s.io/kwok's in tools/kwok/go.mod), beside the stages it is started with, and prints
# that folder on stdout. Does nothing but print it when both are already there. Each file is
# written under a temporary name and renamed into place, so an interrupted build never leaves
# a half-written one behind.
#
#   tools/kwok/build.sh            # build if needed, print the folder
#   tools/kwok/build.sh --force    # rebuild even if present
#
# The folder holds:
#   kwok         the controller that plays the nodes and pods (sigs.k8s.io/kwok/cmd/kwok)
#   stages.yaml  the Stages it plays them with, taken from the module's kustomize/stage/:
#                KWOK's own "fast" set (kustomize/stage/fast): node-initialize marks a node
#                Ready with the capacity and allocatable it was created with;
#                node-heartbeat-with-lease refreshes its conditions while KWOK renews its
#                Lease; pod-ready makes a bound pod Running and Ready at once, pod-complete
#                finishes a Job's pod, pod-delete removes a deleted pod (there is no kubelet
#                to do it). pod/general plays init containers and delays and is slower;
#                node/heartbeat is marked deprecated upstream.
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

module=sigs.k8s.io/kwok
version=$(awk -v m="$module" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$here/go.mod")
if [[ -z "$version" ]]; then
	echo "build.sh: no $module requirement in $here/go.mod" >&2
	exit 1
fi
out="$root/.bin/kwok-$version"
stages=(
	node/fast/node-initialize.yaml
	node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
	pod/fast/pod-ready.yaml
	pod/fast/pod-complete.yaml
	pod/fast/pod-delete.yaml
)

if [[ $force == 0 && -x "$out/kwok" && -s "$out/stages.yaml" ]]; then
	echo "$out"
	exit 0
fi

mkdir -p "$out"
start=$SECONDS
cd "$here"
tmp_bin="$out/.kwok.tmp.$$"
tmp_stages="$out/.stages.yaml.tmp.$$"
trap 'rm -f "$tmp_bin" "$tmp_stages"' EXIT

# The stages come from the module itself, at the version built, not from a copy of ours.
dir=$(go mod download -json "$module@$version" | awk -F'"' '$2 == "Dir" { print $4; exit }')
if [[ -z "$dir" || ! -d "$dir/kustomize/stage" ]]; then
	echo "build.sh: $module@$version has no kustomize/stage/ (module folder '$dir')" >&2
	exit 1
fi
{
	echo "# Stages of $module@$version, from its kustomize/stage/ (tools/kwok/build.sh)."
	for s in "${stages[@]}"; do
		if [[ ! -s "$dir/kustomize/stage/$s" ]]; then
			echo "build.sh: $module@$version has no kustomize/stage/$s" >&2
			exit 1
		fi
		echo "---"
		cat "$dir/kustomize/stage/$s"
	done
} >"$tmp_stages"

if [[ $force == 1 || ! -x "$out/kwok" ]]; then
	echo "build.sh: building kwok $version" >&2
	go build -trimpath -ldflags "-s -w" -o "$tmp_bin" "$module/cmd/kwok"
	mv -f "$tmp_bin" "$out/kwok"
fi
mv -f "$tmp_stages" "$out/stages.yaml"
trap - EXIT
echo "build.sh: built in $((SECONDS - start))s into $out" >&2
echo "$out"
