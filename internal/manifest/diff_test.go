package manifest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func obj(m map[string]any) *unstructured.Unstructured { return &unstructured.Unstructured{Object: m} }

func TestFieldDiff(t *testing.T) {
	deployment := func(replicas int64, image string, extra map[string]any) *unstructured.Unstructured {
		m := map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": "web", "namespace": "ns", "labels": map[string]any{"app": "web"}},
			"spec": map[string]any{"replicas": replicas, "template": map[string]any{"spec": map[string]any{
				"containers": []any{map[string]any{"name": "web", "image": image}},
			}}},
		}
		for k, v := range extra {
			m[k] = v
		}
		return obj(m)
	}
	secret := func(data map[string]any, label string) *unstructured.Unstructured {
		return obj(map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s", "labels": map[string]any{"a": label}}, "data": data})
	}
	live := deployment(3, "x:1", nil)
	live.Object["status"] = map[string]any{"replicas": int64(3)}
	live.Object["metadata"].(map[string]any)["uid"] = "1234"
	live.Object["metadata"].(map[string]any)["labels"].(map[string]any)["added-by-someone"] = "x"
	live.Object["spec"].(map[string]any)["strategy"] = map[string]any{"type": "RollingUpdate"}
	tests := []struct {
		name     string
		old, cur *unstructured.Unstructured
		opts     DiffOptions
		want     []string
	}{{
		name: "fields changed, added and removed, in key order",
		old:  deployment(1, "x:1", map[string]any{"z": true}),
		cur:  deployment(2, "x:2", map[string]any{"a": "new"}),
		want: []string{`a: added "new"`, "spec.replicas: 1 → 2", `spec.template.spec.containers[0].image: "x:1" → "x:2"`, "z: removed (was true)"},
	}, {
		name: "nothing differs",
		old:  deployment(1, "x:1", nil), cur: deployment(1, "x:1", nil),
	}, {
		name: "a list grows",
		old:  obj(map[string]any{"l": []any{"a"}}), cur: obj(map[string]any{"l": []any{"a", "b"}}),
		want: []string{`l[1]: added "b"`},
	}, {
		name: "a multi-line string by line",
		old:  obj(map[string]any{"data": map[string]any{"a.conf": "x = 1\ny = 2\n"}}),
		cur:  obj(map[string]any{"data": map[string]any{"a.conf": "x = 1\ny = 3\nz = 4\n"}}),
		want: []string{`data.a.conf#L2: "y = 2" → "y = 3"`, `data.a.conf#L3: added "z = 4"`},
	}, {
		name: "a value of another type",
		old:  obj(map[string]any{"v": map[string]any{"a": int64(1)}}), cur: obj(map[string]any{"v": "s"}),
		want: []string{`v: {"a":1} → "s"`},
	}, {
		name: "an added object",
		cur:  obj(map[string]any{"kind": "ConfigMap", "data": map[string]any{"k": "v"}}),
		want: []string{`data.k: added "v"`, `kind: added "ConfigMap"`},
	}, {
		name: "a Secret's values are masked, its labels are not",
		old:  secret(map[string]any{"password": "aHVudGVyMg==", "gone": "eA=="}, "1"),
		cur:  secret(map[string]any{"password": "c2VjcmV0", "token": "dG9r"}, "2"),
		want: []string{"data.gone: removed (was (masked))", "data.password: (masked) → (masked)", "data.token: added (masked)", `metadata.labels.a: "1" → "2"`},
	}, {
		name: "a removed Secret is masked too",
		old:  secret(map[string]any{"k": "dg=="}, "1"),
		want: []string{"apiVersion: removed (was \"v1\")", "data.k: removed (was (masked))", "kind: removed (was \"Secret\")", `metadata.labels.a: removed (was "1")`, `metadata.name: removed (was "s")`},
	}, {
		name: "desired fields only: what the live object adds is not a difference",
		old:  live, cur: deployment(2, "x:1", nil),
		opts: DiffOptions{DesiredOnly: true},
		want: []string{"spec.replicas: 3 → 2"},
	}, {
		name: "desired fields only: a label the live object lacks",
		old:  deployment(1, "x:1", nil),
		cur:  obj(map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web", "labels": map[string]any{"app": "web", "tier": "front"}, "annotations": map[string]any{"a": "b"}}}),
		opts: DiffOptions{DesiredOnly: true},
		want: []string{`metadata.annotations.a: added "b"`, `metadata.labels.tier: added "front"`},
	}, {
		name: "desired fields only: a list of another length is one value",
		old:  obj(map[string]any{"spec": map[string]any{"ports": []any{int64(80)}}}),
		cur:  obj(map[string]any{"spec": map[string]any{"ports": []any{int64(80), int64(443)}}}),
		opts: DiffOptions{DesiredOnly: true},
		want: []string{"spec.ports: [80] → [80,443]"},
	}, {
		name: "bounds on fields and values",
		old:  obj(map[string]any{"a": "x", "b": "x", "c": "x"}),
		cur:  obj(map[string]any{"a": "0123456789abcdef", "b": "y", "c": "y"}),
		opts: DiffOptions{MaxFields: 2, MaxValue: 10},
		want: []string{`a: "x" → "012345...`, `b: "x" → "y"`, "and 1 more"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, FieldDiff(tc.old, tc.cur, tc.opts)); diff != "" {
				t.Errorf("FieldDiff (-want +got):\n%s", diff)
			}
		})
	}
}
