package plan_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/lsst-dm/lsstgen/internal/plan"
	"github.com/lsst-dm/lsstgen/internal/render"
	"github.com/lsst-dm/lsstgen/internal/testrepo"
)

func gitRepo(t *testing.T, instances ...string) string {
	t.Helper()
	root := testrepo.Copy(t, instances...)
	testrepo.InitGit(t, root)
	testrepo.Commit(t, root, "base")
	return root
}

func edit(t *testing.T, root, rel, old, new string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s has no %q", rel, old)
	}
	testrepo.WriteFile(t, root, rel, strings.Replace(string(data), old, new, 1))
}

// TestPlanShowsFieldChanges: a replica change in one instance is reported as that field of
// that object, the other instance says it has no change, and the working tree is read.
func TestPlanShowsFieldChanges(t *testing.T) {
	root := gitRepo(t, "pdac", "commissioning")
	edit(t, root, "instances/pdac/instance.cue", "firefly: {replicas: 1,", "firefly: {replicas: 2,")
	p, err := plan.Compute(root, "main", render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var md strings.Builder
	if err := p.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	for _, want := range []string{
		"### pdac: 1 added, 1 changed, 0 removed",
		"- changed `Deployment/portal/firefly`",
		"  - `spec.replicas: 1 → 2`",
		"- added `PodDisruptionBudget/portal/firefly`",
		"- **commissioning**: no change",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
}

// TestPlanNewInstanceAndBadBase: an instance absent at the base is new; an unknown base is
// an error that names it.
func TestPlanNewInstanceAndBadBase(t *testing.T) {
	root := gitRepo(t, "pdac")
	if _, err := plan.Compute(root, "no-such-branch", render.DefaultOptions()); err == nil || !strings.Contains(err.Error(), `"no-such-branch"`) {
		t.Errorf("unknown base: err = %v", err)
	}
	testrepo.WriteFile(t, root, "instances/pdac/zz_change.cue", "package instance\n")
	p, err := plan.Compute(root, "HEAD", render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Instances) != 1 || len(p.Instances[0].Changes) != 0 {
		t.Errorf("an unchanged tree plans %+v", p.Instances)
	}
}

// TestFieldDiffHidesSecrets: a Secret's values never appear, its other fields do.
func TestFieldDiffHidesSecrets(t *testing.T) {
	old := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "s", "labels": map[string]any{"a": "1"}},
		"data":     map[string]any{"password": "aHVudGVyMg=="},
	}}
	cur := old.DeepCopy()
	cur.Object["data"] = map[string]any{"password": "c2VjcmV0", "token": "dG9r"}
	cur.SetLabels(map[string]string{"a": "2"})
	got := plan.FieldDiff(old, cur)
	want := []string{
		`data.password: (hidden) → (hidden)`,
		`data.token: added (hidden)`,
		`metadata.labels.a: "1" → "2"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FieldDiff (-want +got):\n%s", diff)
	}
}

// TestFieldDiffConfigLines: a multi-line configuration shows the lines that changed.
func TestFieldDiffConfigLines(t *testing.T) {
	old := &unstructured.Unstructured{Object: map[string]any{"kind": "ConfigMap", "data": map[string]any{"a.conf": "x = 1\ny = 2\n"}}}
	cur := &unstructured.Unstructured{Object: map[string]any{"kind": "ConfigMap", "data": map[string]any{"a.conf": "x = 1\ny = 3\n"}}}
	want := []string{`data.a.conf#L2: "y = 2" → "y = 3"`}
	if diff := cmp.Diff(want, plan.FieldDiff(old, cur)); diff != "" {
		t.Errorf("FieldDiff (-want +got):\n%s", diff)
	}
}
