package sync

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/lsst-dm/lsstgen/internal/gitsource"
	"github.com/lsst-dm/lsstgen/internal/manifest"
)

func names(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		out = append(out, manifest.ObjectID(o))
	}
	sort.Strings(out)
	return out
}

func TestFetchReadsTheCommitNotTheWorkingTree(t *testing.T) {
	r := newGitRepo(t)
	files := fixture("demo", "demo-ns")
	first := r.commitInstance("demo", files)
	// Uncommitted edits must not be read.
	r.writeInstance("demo", without(files, "configmap-extra.yaml"))
	if err := os.WriteFile(filepath.Join(r.dir, manifest.GeneratedDir, "demo", "configmap-settings.yaml"), []byte("not: [yaml"), 0o644); err != nil {
		t.Fatal(err)
	}

	src := &Source{Repo: r.dir, Revision: "main"}
	snap, err := src.Fetch(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	if snap.Commit != first {
		t.Errorf("commit = %s, want %s", snap.Commit, first)
	}
	want := []string{
		"ConfigMap/demo-ns/extra", "ConfigMap/demo-ns/settings", "Deployment/demo-ns/web",
		"Namespace/demo-ns", "Service/demo-ns/web", "ServiceAccount/demo-ns/web",
	}
	if diff := cmp.Diff(want, names(snap.Objects)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}

	// A later commit is read once the revision moves to it.
	second := r.commit("drop extra")
	snap, err = src.Fetch(context.Background(), "demo")
	if err == nil {
		t.Fatalf("commit %s with an unparsable file was accepted: %v", second, names(snap.Objects))
	}
}

func TestFetchRevisions(t *testing.T) {
	r := newGitRepo(t)
	files := fixture("demo", "demo-ns")
	first := r.commitInstance("demo", files)
	r.git("tag", "v1")
	second := r.commitInstance("demo", without(files, "configmap-extra.yaml"))
	for _, tc := range []struct{ rev, want string }{
		{"", second}, {"HEAD", second}, {"main", second}, {"v1", first}, {first, first}, {first[:10], first}, {"HEAD~1", first},
	} {
		t.Run(tc.rev, func(t *testing.T) {
			snap, err := (&Source{Repo: r.dir, Revision: tc.rev}).Fetch(context.Background(), "demo")
			if err != nil {
				t.Fatal(err)
			}
			if snap.Commit != tc.want {
				t.Errorf("commit = %s, want %s", snap.Commit, tc.want)
			}
		})
	}
}

func TestFetchRefuses(t *testing.T) {
	r := newGitRepo(t)
	files := fixture("demo", "demo-ns")
	good := r.commitInstance("demo", files)
	r.commitInstance("bad-yaml", with(files, "configmap-settings.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: [\n"))
	r.commitInstance("no-kind", with(files, "configmap-settings.yaml", "apiVersion: v1\nmetadata:\n  name: x\n"))
	r.commitInstance("dup-key", with(files, "configmap-settings.yaml", files["configmap-settings.yaml"]+"  mode: prod\n"))
	r.commitInstance("empty", map[string]string{})
	r.writeInstance("missing-file", files)
	if err := os.Remove(filepath.Join(r.dir, manifest.GeneratedDir, "missing-file", "service-web.yaml")); err != nil {
		t.Fatal(err)
	}
	r.commit("missing file")
	if err := os.MkdirAll(filepath.Join(r.dir, manifest.GeneratedDir, "no-kustomization"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, manifest.GeneratedDir, "no-kustomization", "a.yaml"), []byte(files["namespace.yaml"]), 0o644); err != nil {
		t.Fatal(err)
	}
	r.commit("no kustomization")

	for _, tc := range []struct {
		name, rev, instance, want string
	}{
		{"unknown revision", "no-such-branch", "demo", "does not name a commit"},
		{"instance missing", "HEAD", "nowhere", "has no generated/nowhere/"},
		{"instance missing at that commit", good, "bad-yaml", "has no generated/bad-yaml/"},
		{"unparsable YAML", "HEAD", "bad-yaml", "configmap-settings.yaml"},
		{"document without kind", "HEAD", "no-kind", "no apiVersion, kind or metadata.name"},
		{"a key written twice", "HEAD", "dup-key", `generated/dup-key/configmap-settings.yaml:11: ConfigMap/demo-ns/settings sets "data.mode" twice (first at line 10)`},
		{"no resources", "HEAD", "empty", "lists no resources"},
		{"listed file missing", "HEAD", "missing-file", "service-web.yaml"},
		{"no kustomization.yaml", "HEAD", "no-kustomization", "kustomization.yaml"},
		{"instance name with a slash", "HEAD", "demo/../demo", "not an instance name"},
		{"option-looking revision", "--all", "demo", "does not name a commit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap, err := (&Source{Repo: r.dir, Revision: tc.rev}).Fetch(context.Background(), tc.instance)
			if err == nil {
				t.Fatalf("accepted: %v", names(snap.Objects))
			}
			var se *SourceError
			if !errors.As(err, &se) {
				t.Errorf("error %T is not a *SourceError: %v", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestFetchNotARepository(t *testing.T) {
	dir := t.TempDir()
	_, err := (&Source{Repo: dir, Revision: "HEAD"}).Fetch(context.Background(), "demo")
	if err == nil || !strings.Contains(err.Error(), "repository does not exist") || !strings.Contains(err.Error(), dir) {
		t.Errorf("error = %v, want one saying %s is not a git repository", err, dir)
	}
	// The chain is kept.
	var oe *gitsource.OpenError
	if !errors.As(err, &oe) {
		t.Errorf("error %T does not wrap the repository's failure to open", err)
	}
}

func TestFetchRemote(t *testing.T) {
	r := newGitRepo(t)
	files := fixture("demo", "demo-ns")
	first := r.commitInstance("demo", files)
	src := &Source{Repo: "file://" + r.dir, Revision: "main", CacheDir: filepath.Join(t.TempDir(), "clone")}
	snap, err := src.Fetch(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	if snap.Commit != first {
		t.Errorf("first fetch: commit = %s, want %s", snap.Commit, first)
	}
	second := r.commitInstance("demo", without(files, "configmap-extra.yaml"))
	snap, err = src.Fetch(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	if snap.Commit != second || len(snap.Objects) != 5 {
		t.Errorf("second fetch: commit = %s with %d objects, want %s with 5", snap.Commit, len(snap.Objects), second)
	}

	if _, err := (&Source{Repo: "file://" + r.dir}).Fetch(context.Background(), "demo"); err == nil || !strings.Contains(err.Error(), "no cache folder") {
		t.Errorf("remote without a cache folder: error = %v", err)
	}
	bad := &Source{Repo: "file://" + filepath.Join(t.TempDir(), "nothing"), CacheDir: filepath.Join(t.TempDir(), "c")}
	if _, err := bad.Fetch(context.Background(), "demo"); err == nil || !strings.Contains(err.Error(), "cloning") {
		t.Errorf("unreachable remote: error = %v", err)
	}
}

// TestUnreachableRepositoryChangesNothing: a cycle whose repository cannot be read (here
// a remote that is not there) fails naming the part that failed, counts it by reason,
// and leaves the cluster and the inventory as they were.
func TestUnreachableRepositoryChangesNothing(t *testing.T) {
	h := newHarness(t, "unreachable", nil)
	commit := h.repo.commitInstance(h.instance, h.files())
	h.cycle()
	m := NewMetrics()
	h.s.SetMetrics(m)
	before := h.versions()
	src := &Source{Repo: "file://" + filepath.Join(t.TempDir(), "gone.git"), CacheDir: filepath.Join(t.TempDir(), "clone")}
	_, err := h.s.Cycle(context.Background(), src)
	var ae *gitsource.AccessError
	if !errors.As(err, &ae) || ae.Reason() != "repository" || !strings.Contains(err.Error(), "cloning file://") {
		t.Fatalf("error = %v, want an AccessError of the repository", err)
	}
	want(t, "resourceVersions", before, h.versions())
	if inv := h.inventory(); inv.Commit != commit || len(inv.Pending) != 0 {
		t.Errorf("inventory %s, pending %v; want %s untouched", inv.Commit, inventoryNames(inv.Pending), commit)
	}
	if got := testutil.ToFloat64(m.sourceErrors.WithLabelValues(h.instance, "repository")); got != 1 {
		t.Errorf("source errors (repository) = %v, want 1", got)
	}
	_, err = h.s.Cycle(context.Background(), &Source{Repo: h.repo.dir, Revision: "no-such-branch"})
	if err == nil || testutil.ToFloat64(m.sourceErrors.WithLabelValues(h.instance, "revision")) != 1 {
		t.Errorf("a revision that names no commit: error %v, not counted as revision", err)
	}
}
