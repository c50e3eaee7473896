package validate

import (
	"encoding/json"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/render"
)

var (
	realOnce    sync.Once
	realResults []*render.Result
	realErr     error
)

// repoRoot is the real repository's root.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := manifest.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// realInstances renders the five real instances once per test binary and returns fresh
// deep copies, so that a test may change them.
func realInstances(t testing.TB) []Instance {
	t.Helper()
	root := repoRoot(t)
	realOnce.Do(func() { realResults, realErr = render.All(root, nil) })
	if realErr != nil {
		t.Fatalf("rendering the real instances: %v", realErr)
	}
	out := make([]Instance, 0, len(realResults))
	for _, r := range realResults {
		in := FromResult(r)
		in.Objects = nil
		for _, u := range r.Objects {
			in.Objects = append(in.Objects, copyObject(t, u))
		}
		out = append(out, in)
	}
	return out
}

// copyObject copies an object through JSON: rendered objects may hold Go ints, which
// Unstructured.DeepCopy refuses.
func copyObject(t testing.TB, u *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	b, err := json.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

// configMap is a ConfigMap object with data and binaryData.
func configMap(ns, name string, data, binary map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"data":     data, "binaryData": binary,
	}}
}
