#!/usr/bin/env bash
# Regenerates cue.mod/gen/k8s.io/...: the Kubernetes API definitions the templates of platform/
# are typed against, from the k8s.io/api and k8s.io/apimachinery versions in go.mod.
#
# `cue get go` (cuelang.org/go v0.17.1) turns every embedded Go struct into a named field:
# `TypeMeta: metav1.#TypeMeta`, `VolumeSource: #VolumeSource`, `IngressRuleValue?: …`. The
# JSON of such a field is inlined, so CUE then rejects `apiVersion`, `kind`, `nfs`,
# `emptyDir`, `http`… as "field not allowed". The step after it mends each into the
# embedding the Go type means: a capitalised field without a @go() attribute is an
# embedded struct (every real field carries @go(Name)).
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(
	k8s.io/apimachinery/pkg/apis/meta/v1
	k8s.io/api/core/v1
	k8s.io/api/apps/v1
	k8s.io/api/networking/v1
	k8s.io/api/rbac/v1
	k8s.io/api/storage/v1
	k8s.io/api/policy/v1
	k8s.io/api/coordination/v1
	k8s.io/api/batch/v1
	k8s.io/api/admissionregistration/v1
)

rm -rf cue.mod/gen/k8s.io
go tool cue get go "${pkgs[@]}"

find cue.mod/gen/k8s.io -name '*.cue' -print0 | xargs -0 sed -i -E \
	'/@go\(/!s/^(\s+)[A-Z][A-Za-z0-9]*\??: (([a-z0-9]+\.)?#[A-Za-z0-9]+)( @protobuf\([^)]*\))?\s*$/\1\2/'
go tool cue fmt ./cue.mod/gen/... >/dev/null 2>&1 || true
echo "regenerated $(find cue.mod/gen/k8s.io -name '*.cue' | wc -l) files under cue.mod/gen/k8s.io"
