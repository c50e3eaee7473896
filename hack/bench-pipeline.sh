#!/usr/bin/env bash
# lsstgen render of the five real instances beside the pipeline a user would otherwise
# script: `cue export` of each instance's objects piped through `kustomize build` with the
# same labels and annotations. Both tools are built here from the Go
# module proxy (cuelang.org/go v0.17.1, sigs.k8s.io/kustomize/kustomize/v5 v5.8.2).
#
#   RUNS=5 ./hack/bench-pipeline.sh
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
mkdir -p .bin/tools
go build -o .bin/lsstgen ./cmd/lsstgen
go build -o .bin/tools/cue cuelang.org/go/cmd/cue
[[ -x .bin/tools/kustomize ]] || GOBIN="$PWD/.bin/tools" go install sigs.k8s.io/kustomize/kustomize/v5@v5.8.2

instances=(pdac science-validation commissioning chilean-dac us-dac)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The pipeline's kustomization per instance: what lsstgen's in-process kustomize does,
# less the ConfigMap hashing (which would need the ConfigMaps split out of the export).
for i in "${instances[@]}"; do
	mkdir -p "$work/$i"
	{
		echo "apiVersion: kustomize.config.k8s.io/v1beta1"
		echo "kind: Kustomization"
		echo "resources: [objects.yaml]"
		echo "labels: [{pairs: {app.kubernetes.io/managed-by: lsstgen, lsst.org/instance: $i}, includeTemplates: true}]"
		echo "commonAnnotations: {lsst.org/source: instances/$i}"
	} >"$work/$i/kustomization.yaml"
done

# Wall and CPU (user + system, children included) seconds of a command, per run.
measure() {
	local out
	out=$( { TIMEFORMAT='%R %U %S'; time "$@" >/dev/null; } 2>&1 | tail -1)
	awk -v n="$runs" '{printf "%.3f %.3f", $1/n, ($2+$3)/n}' <<<"$out"
}

pipeline_runs() {
	for _ in $(seq "$runs"); do
		for i in "${instances[@]}"; do
			.bin/tools/cue export "./instances/$i" --out yaml \
				-e '{apiVersion: "v1", kind: "List", items: [for _, k in objects.cluster for _, o in k {o}, for _, ns in objects.namespaced for _, k in ns for _, o in k {o}]}' \
				>"$work/$i/objects.yaml"
			.bin/tools/kustomize build "$work/$i" >/dev/null
		done
	done
}
lsstgen_runs() {
	for _ in $(seq "$runs"); do .bin/lsstgen render "$@" >/dev/null; done
}

read -r p_wall p_cpu <<<"$(measure pipeline_runs)"
read -r c_wall c_cpu <<<"$(measure lsstgen_runs --no-cache)"
read -r s_wall s_cpu <<<"$(measure lsstgen_runs --no-cache -j 1)"
.bin/lsstgen render >/dev/null
read -r w_wall w_cpu <<<"$(measure lsstgen_runs)"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2fx", a/b}'; }
echo "five instances, mean of $runs runs, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg) at the end:"
printf '%-40s %8s %8s %14s %14s\n' "" "wall s" "CPU s" "wall speed-up" "CPU speed-up"
printf '%-40s %8s %8s\n' "cue export | kustomize build" "$p_wall" "$p_cpu"
printf '%-40s %8s %8s %14s %14s\n' "lsstgen render --no-cache" "$c_wall" "$c_cpu" "$(ratio "$p_wall" "$c_wall")" "$(ratio "$p_cpu" "$c_cpu")"
printf '%-40s %8s %8s %14s %14s\n' "lsstgen render --no-cache -j 1" "$s_wall" "$s_cpu" "$(ratio "$p_wall" "$s_wall")" "$(ratio "$p_cpu" "$s_cpu")"
printf '%-40s %8s %8s %14s %14s\n' "lsstgen render (warm cache)" "$w_wall" "$w_cpu" "$(ratio "$p_wall" "$w_wall")" "$(ratio "$p_cpu" "$w_cpu")"
