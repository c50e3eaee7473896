package testcluster

import (
	"context"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// shared is the control plane of this package's dry-run tests.
var shared Shared

func TestMain(m *testing.M) {
	if os.Getenv(envHelper) != "" {
		os.Exit(helperMain(m))
	}
	os.Exit(shared.Main(m))
}

// dryRunGenerated dry-runs every instance under generated/ of root and returns the
// rejections, their files named relative to root. It fails t when generated/ holds no
// instance or an instance cannot be read.
func dryRunGenerated(t *testing.T, c *Cluster, root fs.FS) []Rejection {
	t.Helper()
	names := generatedInstances(t, root)
	var all []Rejection
	for _, name := range names {
		dir := manifest.InstanceDir(name)
		objs, err := manifest.ReadInstance(root, dir)
		if err != nil {
			t.Fatal(err)
		}
		rejected, err := Apply(context.Background(), c.Admin(), objs, DefaultApplyOptions())
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		t.Logf("%s: %d objects, %d rejected", dir, len(objs), len(rejected))
		all = append(all, rejected...)
	}
	return all
}

// generatedInstances returns the folders of generated/ in root that hold a
// kustomization.yaml, sorted. It fails t when there is none, so that nothing passes
// vacuously.
func generatedInstances(t testing.TB, root fs.FS) []string {
	t.Helper()
	entries, err := fs.ReadDir(root, manifest.GeneratedDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if _, err := fs.Stat(root, path.Join(manifest.InstanceDir(e.Name()), manifest.KustomizationFile)); e.IsDir() && err == nil {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		t.Fatalf("%s holds no instance (no <instance>/%s); run lsstgen render", manifest.GeneratedDir, manifest.KustomizationFile)
	}
	return names
}

// TestGenerated dry-runs every object of every instance in the repository's generated/
// with strict field validation against a real kube-apiserver.
func TestGenerated(t *testing.T) {
	root, err := manifest.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	c := shared.Get(t)
	for _, r := range dryRunGenerated(t, c, os.DirFS(root)) {
		t.Errorf("rejected: %s", r)
	}
}

// TestGeneratedFixture proves the harness accepts a valid instance whose files are listed
// out of order and whose custom resources need their definition first.
func TestGeneratedFixture(t *testing.T) {
	c := shared.Get(t)
	for _, r := range dryRunGenerated(t, c, os.DirFS(filepath.Join("testdata", "good"))) {
		t.Errorf("rejected: %s", r)
	}
}

// TestGeneratedFixtureRejects proves that rejections are caught and reported with the file
// and the apiserver's words.
func TestGeneratedFixtureRejects(t *testing.T) {
	c := shared.Get(t)
	got := dryRunGenerated(t, c, os.DirFS(filepath.Join("testdata", "bad")))
	want := []struct{ file, id, says string }{
		{"storageclass-placed.yaml", "StorageClass/gamma/placed", `cluster-scoped object with metadata.namespace "gamma"`},
		{"configmap-nowhere-lost.yaml", "ConfigMap/nowhere/lost", `namespaces "nowhere" not found`},
		{"configmap-homeless.yaml", "ConfigMap/homeless", "namespaced object without metadata.namespace"},
		{"deployment-gamma-typo.yaml", "Deployment/gamma/typo", `.spec.replicass: field not declared in schema`},
		{"deployment-gamma-privileged.yaml", "Deployment/gamma/privileged", `would violate PodSecurity "restricted:latest": privileged`},
		{"gadget-gamma-unknown.yaml", "Gadget/gamma/unknown", "the apiserver serves no example.lsst.org/v1, Kind=Gadget"},
	}
	var gotIDs, wantIDs []string
	for _, r := range got {
		gotIDs = append(gotIDs, r.ID)
	}
	for _, w := range want {
		wantIDs = append(wantIDs, w.id)
	}
	if diff := cmp.Diff(wantIDs, gotIDs); diff != "" {
		t.Fatalf("rejected objects (-want +got):\n%s\nall: %v", diff, got)
	}
	for i, w := range want {
		r := got[i]
		if r.File != "generated/broken/"+w.file {
			t.Errorf("%s: file %q, want %s", r.ID, r.File, w.file)
		}
		if !strings.Contains(r.Message, w.says) {
			t.Errorf("%s: message %q does not quote %q", r.ID, r.Message, w.says)
		}
		if s := r.String(); !strings.HasPrefix(s, r.File+": "+r.ID+": ") {
			t.Errorf("report %q does not start with file and object", s)
		}
	}
}
