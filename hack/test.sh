#!/usr/bin/env bash
# The project's test command (README.md, .ci/run, .github/workflows/ci.yaml): builds the
# real control plane and KWOK the cluster tests need, checks formatting, vet and the CUE,
# proves generated/ current and valid, runs every test with the cluster tests required (among
# them the checks that docs/rules.md's table and the reference in docs/cli/ are current, and
# that the docs' links resolve), the tests of the modules under tools/ that have their own
# (the image build, the alert rules), then fuzzes each target for a short fixed time.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "kube-apiserver, etcd, kubectl, kube-scheduler, kube-controller-manager and KWOK (built once from the module proxy, cached in .bin/)"
kube_bin=$(tools/kube/build.sh)
kwok_bin=$(tools/kwok/build.sh)
export LSSTGEN_KUBE_BIN="$kube_bin" LSSTGEN_KWOK_BIN="$kwok_bin"
export LSSTGEN_REQUIRE_CLUSTER=1

step "gofmt, go vet"
unformatted=$(gofmt -l $(git ls-files '*.go') 2>/dev/null || true)
if [[ -n "$unformatted" ]]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...

step "cue vet of schema/, platform/, sites/ and instances/ with the standard CUE tool"
go tool cue vet ./schema/ ./platform/
go tool cue vet -c ./sites/ ./instances/...

step "generated/ is current (lsstgen check), and valid (lsstgen validate)"
go build -o .bin/lsstgen ./cmd/lsstgen
.bin/lsstgen check
.bin/lsstgen validate
# The committed files themselves: a render must leave git with nothing to commit.
.bin/lsstgen render --no-cache >/dev/null
if [[ -n "$(git status --porcelain -- generated/)" ]]; then
	echo "generated/ is stale: run 'go run ./cmd/lsstgen render' and commit the result:"
	git status --porcelain -- generated/ | head -40
	exit 1
fi

step "go test"
go test -count=1 -timeout 30m ./...
# The test hooks compiled only into test builds (internal/sync/testhooks_env.go).
go test -count=1 -tags lsstgen_testhooks -run '^TestPauseAt$' ./internal/sync

step "the modules of their own: the image build (tools/image) and the alert rules (tools/monitoring)"
for mod in tools/image tools/monitoring; do
	(cd "$mod" && gofmt -l . | grep . && { echo "gofmt would change the files above"; exit 1; }; go vet ./... && go test -count=1 ./...)
done

step "fuzzing, a short fixed time per target"
for target in FuzzManifest FuzzInstance; do
	go test ./internal/validate -run '^$' -fuzz "^${target}\$" -fuzztime 20s -fuzzminimizetime 5s
done
