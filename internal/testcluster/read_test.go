package testcluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestInstancesNone(t *testing.T) {
	for name, dir := range map[string]string{
		"empty":          t.TempDir(),
		"no kustomizing": writeFiles(t, map[string]string{"pdac/a.yaml": "x: 1"}),
		"missing":        filepath.Join(t.TempDir(), "generated"),
	} {
		if got, err := Instances(dir); err == nil {
			t.Errorf("%s: Instances = %v, want an error", name, got)
		}
	}
}

func TestReadInstance(t *testing.T) {
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: a\n"
	dir := writeFiles(t, map[string]string{
		"i/kustomization.yaml": "resources:\n- b.yaml\n- sub/a.yaml\n",
		"i/b.yaml":             strings.ReplaceAll(cm, "%s", "b") + "---\n" + strings.ReplaceAll(cm, "%s", "c"),
		"i/sub/a.yaml":         strings.ReplaceAll(cm, "%s", "a"),
	})
	objs, err := ReadInstance(filepath.Join(dir, "i"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		rel, _ := filepath.Rel(dir, o.File)
		got = append(got, rel+" "+o.ID())
	}
	want := []string{"i/b.yaml ConfigMap/a/b", "i/b.yaml ConfigMap/a/c", "i/sub/a.yaml ConfigMap/a/a"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
}

func TestReadInstanceErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no kustomization", map[string]string{"a.yaml": ""}, "kustomization.yaml"},
		{"bad kustomization", map[string]string{"kustomization.yaml": "resources: [\n"}, "kustomization.yaml"},
		{"no resources", map[string]string{"kustomization.yaml": "kind: Kustomization\n"}, "lists no resources"},
		{"missing file", map[string]string{"kustomization.yaml": "resources: [gone.yaml]\n"}, "gone.yaml"},
		{"empty file", map[string]string{"kustomization.yaml": "resources: [e.yaml]\n", "e.yaml": "# nothing\n"}, "e.yaml (listed in"},
		{"no kind", map[string]string{"kustomization.yaml": "resources: [k.yaml]\n", "k.yaml": "apiVersion: v1\nmetadata: {name: x}\n"}, "no apiVersion, kind or metadata.name"},
		{"bad yaml", map[string]string{"kustomization.yaml": "resources: [y.yaml]\n", "y.yaml": "a: [\n"}, "y.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadInstance(writeFiles(t, tc.files))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadInstance error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestOrder(t *testing.T) {
	var objs []Object
	for _, k := range []string{"ValidatingWebhookConfiguration", "Deployment", "ClusterRoleBinding", "ConfigMap", "Namespace", "Widget", "StorageClass", "CustomResourceDefinition", "ServiceAccount"} {
		o := Object{Unstructured: newObj(k)}
		objs = append(objs, o)
	}
	var got []string
	for _, o := range Order(objs) {
		got = append(got, o.GetKind())
	}
	want := []string{"CustomResourceDefinition", "Namespace", "StorageClass", "ClusterRoleBinding", "ServiceAccount", "ConfigMap", "Deployment", "Widget", "ValidatingWebhookConfiguration"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func newObj(kind string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetKind(kind)
	u.SetName("x")
	return u
}

func TestApplyNeedsFieldManager(t *testing.T) {
	_, err := Apply(t.Context(), &rest.Config{Host: "https://127.0.0.1:1"}, nil, ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "no field manager") {
		t.Fatalf("Apply error %v, want one about the field manager", err)
	}
}
