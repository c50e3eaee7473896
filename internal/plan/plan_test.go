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

// planMarkdown is the plan of root's working tree against main, as Markdown.
func planMarkdown(t *testing.T, root string) string {
	t.Helper()
	p, err := plan.Compute(t.Context(), root, "main", render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var md strings.Builder
	if err := p.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	return md.String()
}

// TestPlanShowsFieldChanges: a replica change in one instance is reported as that field of
// that object, the other instance says it has no change, and the working tree is read.
func TestPlanShowsFieldChanges(t *testing.T) {
	root := gitRepo(t, "pdac", "commissioning")
	edit(t, root, "instances/pdac/instance.cue", "firefly: {replicas: 1,", "firefly: {replicas: 2,")
	out := planMarkdown(t, root)
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

// TestPlanShowsPrereleaseApart: a new candidate tag of the portal's prerelease and a
// change of the stable portal are listed under their own headings, the prerelease's after
// the stable platform's, and neither under the other.
func TestPlanShowsPrereleaseApart(t *testing.T) {
	root := gitRepo(t, "pdac")
	edit(t, root, "instances/pdac/instance.cue", `#tag: "portal-2025.4.2"`, `#tag: "portal-2025.4.3"`)
	edit(t, root, "instances/pdac/instance.cue", "firefly: {replicas: 1,", "firefly: {replicas: 2,")
	out := planMarkdown(t, root)
	stable, pre, ok := strings.Cut(out, "#### pdac: prerelease of the portal aspect: 0 added, 1 changed, 0 removed")
	if !ok {
		t.Fatalf("the plan has no section for the portal's prerelease:\n%s", out)
	}
	for _, want := range []string{"### pdac: 1 added, 1 changed, 0 removed", "- changed `Deployment/portal/firefly`", "- added `PodDisruptionBudget/portal/firefly`"} {
		if !strings.Contains(stable, want) {
			t.Errorf("the stable section lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(stable, "portal-prerelease") {
		t.Errorf("the stable section lists the prerelease's objects:\n%s", out)
	}
	for _, want := range []string{"- changed `Deployment/portal-prerelease/suit`", `"docker.io/ipac/suit:portal-2025.4.2" → "docker.io/ipac/suit:portal-2025.4.3"`} {
		if !strings.Contains(pre, want) {
			t.Errorf("the prerelease section lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(pre, "`Deployment/portal/") {
		t.Errorf("the prerelease section lists the stable portal:\n%s", out)
	}
}

// TestPlanNewInstanceAndBadBase: an instance absent at the base is new; an unknown base is
// an error that names it.
func TestPlanNewInstanceAndBadBase(t *testing.T) {
	root := gitRepo(t, "pdac")
	if _, err := plan.Compute(t.Context(), root, "no-such-branch", render.DefaultOptions()); err == nil || !strings.Contains(err.Error(), `"no-such-branch"`) {
		t.Errorf("unknown base: err = %v", err)
	}
	testrepo.WriteFile(t, root, "instances/pdac/zz_change.cue", "package instance\n")
	p, err := plan.Compute(t.Context(), root, "HEAD", render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Instances) != 1 || len(p.Instances[0].Changes) != 0 {
		t.Errorf("an unchanged tree plans %+v", p.Instances)
	}
}

// TestCompareMasksSecrets: a plan never shows a Secret's values, and shows its other
// fields; objects present on one side only are added or removed.
func TestCompareMasksSecrets(t *testing.T) {
	secret := func(password, label string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "Secret",
			"metadata": map[string]any{"name": "s", "namespace": "ns", "labels": map[string]any{"a": label}},
			"data":     map[string]any{"password": password},
		}}
	}
	cm := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c", "namespace": "ns"}}}
	before := []*render.Result{{Instance: "x", Objects: []*unstructured.Unstructured{secret("aHVudGVyMg==", "1"), cm}}}
	after := []*render.Result{{Instance: "x", Objects: []*unstructured.Unstructured{secret("c2VjcmV0", "2")}}, {Instance: "y"}}
	p := plan.Compare(before, after)
	want := []plan.InstancePlan{
		{Instance: "x", Changes: []plan.Change{
			{Action: "removed", Object: "ConfigMap/ns/c"},
			{Action: "changed", Object: "Secret/ns/s", Fields: []string{"data.password: (masked) → (masked)", `metadata.labels.a: "1" → "2"`}},
		}},
		{Instance: "y", New: true},
	}
	if diff := cmp.Diff(want, p.Instances); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	var md strings.Builder
	if err := p.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(md.String(), "c2VjcmV0") || strings.Contains(md.String(), "aHVudGVyMg==") {
		t.Errorf("the plan shows a Secret's value:\n%s", md.String())
	}
}

// TestCompareNodeFiles: a node file added, removed or changed is a change of its instance,
// named by where it is installed; an equal one is none.
func TestCompareNodeFiles(t *testing.T) {
	const docker = "_node/containerd/certs.d/docker.io/hosts.toml"
	const quay = "_node/containerd/certs.d/quay.io/hosts.toml"
	const ghcr = "_node/containerd/certs.d/ghcr.io/hosts.toml"
	before := []*render.Result{{Instance: "x", Files: map[string][]byte{docker: []byte("a"), quay: []byte("q"), "kustomization.yaml": []byte("k")}}}
	after := []*render.Result{{Instance: "x", Files: map[string][]byte{docker: []byte("b"), ghcr: []byte("g"), "kustomization.yaml": []byte("k2")}}}
	want := []plan.InstancePlan{{Instance: "x", Changes: []plan.Change{
		{Action: "changed", Object: "node file /etc/containerd/certs.d/docker.io/hosts.toml"},
		{Action: "added", Object: "node file /etc/containerd/certs.d/ghcr.io/hosts.toml"},
		{Action: "removed", Object: "node file /etc/containerd/certs.d/quay.io/hosts.toml"},
	}}}
	if diff := cmp.Diff(want, plan.Compare(before, after).Instances); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	if got := plan.Compare(before, before).Instances; len(got) != 1 || len(got[0].Changes) != 0 {
		t.Errorf("equal node files gave changes: %+v", got)
	}
}

// TestPlanBaseBeforeTheModule: a base commit without the CUE module renders nothing, so
// every instance of the working tree is new.
func TestPlanBaseBeforeTheModule(t *testing.T) {
	root := testrepo.Copy(t, "pdac")
	testrepo.InitGit(t, root)
	testrepo.WriteFile(t, root, "README.md", "before the model\n")
	testrepo.Git(t, root, "add", "README.md")
	testrepo.Git(t, root, "commit", "--quiet", "-m", "readme only")
	p, err := plan.Compute(t.Context(), root, "HEAD", render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Instances) != 1 || !p.Instances[0].New || len(p.Instances[0].Changes) == 0 {
		t.Fatalf("plan against a base without the module: %+v", p.Instances)
	}
	for _, c := range p.Instances[0].Changes {
		if c.Action != "added" {
			t.Errorf("%s %s, want every object added", c.Action, c.Object)
		}
	}
}
