package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestObjectIDAndPath(t *testing.T) {
	tests := []struct {
		kind, ns, name string
		id, path       string
	}{
		{"Deployment", "portal", "firefly", "Deployment/portal/firefly", "portal/deployment-firefly.yaml"},
		{"ClusterRole", "", "lsst-readonly", "ClusterRole/lsst-readonly", "_cluster/clusterrole-lsst-readonly.yaml"},
		{"CustomResourceDefinition", "", "widgets.example.lsst.org", "CustomResourceDefinition/widgets.example.lsst.org", "_cluster/customresourcedefinition-widgets.example.lsst.org.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			u := &unstructured.Unstructured{}
			u.SetKind(tc.kind)
			u.SetNamespace(tc.ns)
			u.SetName(tc.name)
			if got := ObjectID(u); got != tc.id {
				t.Errorf("ObjectID = %q, want %q", got, tc.id)
			}
			if got := FormatID(tc.kind, tc.ns, tc.name); got != tc.id {
				t.Errorf("FormatID = %q, want %q", got, tc.id)
			}
			if got := ObjectPath(u); got != tc.path {
				t.Errorf("ObjectPath = %q, want %q", got, tc.path)
			}
		})
	}
}

func TestFindRoot(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, ModuleDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(Marker)), []byte("module: \"x\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deep := filepath.Join(root, InstancesDir, "pdac")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, from := range []string{root, deep} {
		if got, err := FindRoot(from); err != nil || got != root {
			t.Errorf("FindRoot(%s) = %q, %v; want %s", from, got, err, root)
		}
	}
	_, err := FindRoot(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "no lsstgen repository") || !strings.Contains(err.Error(), "-C DIR") {
		t.Errorf("FindRoot outside a repository: %v", err)
	}
	if InstanceDir("pdac") != "generated/pdac" {
		t.Errorf("InstanceDir = %q", InstanceDir("pdac"))
	}
}
