#!/usr/bin/env bash
# Measures `lsstgen render` of the five instances (a Go benchmark) beside `cue export` of
# the same instances by the standard CUE tool, on this machine, in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
mkdir -p .bin/tools
go build -o .bin/tools/cue cuelang.org/go/cmd/cue
go build -o .bin/lsstgen ./cmd/lsstgen

echo "== go test -bench BenchmarkRenderAll (render of all five instances in memory)"
go test ./internal/render -run '^$' -bench 'BenchmarkRenderAll$' -benchtime "${runs}x" -benchmem | grep -E '^Benchmark'

instances=(pdac science-validation commissioning chilean-dac us-dac)
echo "== cue export of the same five instances (objects), ${runs} runs"
start=$(date +%s.%N)
for _ in $(seq "$runs"); do
	for i in "${instances[@]}"; do .bin/tools/cue export "./instances/$i" -e objects --out yaml >/dev/null; done
done
end=$(date +%s.%N)
echo "cue export, five instances: $(awk -v a="$start" -v b="$end" -v n="$runs" "BEGIN{printf \"%.2f\", (b-a)/n}") s per run"

echo "== lsstgen render --no-cache (the command: every instance evaluated), ${runs} runs"
start=$(date +%s.%N)
for _ in $(seq "$runs"); do .bin/lsstgen render --no-cache >/dev/null; done
end=$(date +%s.%N)
echo "lsstgen render --no-cache, five instances: $(awk -v a="$start" -v b="$end" -v n="$runs" "BEGIN{printf \"%.2f\", (b-a)/n}") s per run"
