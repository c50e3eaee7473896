package render_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lsst-dm/lsstgen/internal/render"
	"github.com/lsst-dm/lsstgen/internal/testrepo"
)

// renderCounted renders with opts and returns the results and how many instances were
// evaluated (not taken from the cache).
func renderCounted(t *testing.T, root string, opts render.Options) ([]*render.Result, int64) {
	t.Helper()
	before := render.Evaluations.Load()
	rs, err := render.AllWith(root, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rs, render.Evaluations.Load() - before
}

func sameResults(t *testing.T, want, got []*render.Result) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%d results, want %d", len(got), len(want))
	}
	for i := range want {
		if diff := cmp.Diff(want[i], got[i]); diff != "" {
			t.Errorf("%s differs from a full render (-full +cached):\n%s", want[i].Instance, diff)
		}
	}
}

// TestCacheEqualsFullRender: with a warm cache nothing is evaluated and the results
// (files, objects, model, sources) are exactly a full render's.
func TestCacheEqualsFullRender(t *testing.T) {
	root := testrepo.Copy(t, "pdac", "commissioning")
	cache := t.TempDir()
	full, n := renderCounted(t, root, render.Options{Concurrency: 1})
	if n != 2 {
		t.Fatalf("a render without cache evaluated %d instances, want 2", n)
	}
	cold, n := renderCounted(t, root, render.Options{CacheDir: cache})
	if n != 2 {
		t.Errorf("a cold cache evaluated %d instances, want 2", n)
	}
	sameResults(t, full, cold)
	warm, n := renderCounted(t, root, render.Options{CacheDir: cache})
	if n != 0 {
		t.Errorf("a warm cache evaluated %d instances, want 0", n)
	}
	sameResults(t, full, warm)
}

// TestCacheInvalidation: a change to one instance evaluates that instance only; a change
// to the module (schema/, platform/, sites/) evaluates every instance; a damaged entry is
// evaluated again. The output is always a full render's.
func TestCacheInvalidation(t *testing.T) {
	root := testrepo.Copy(t, "pdac", "commissioning")
	cache := t.TempDir()
	renderCounted(t, root, render.Options{CacheDir: cache})

	steps := []struct {
		name   string
		change func()
		want   int64
	}{{
		name: "one instance changed",
		change: func() {
			testrepo.WriteFile(t, root, "instances/pdac/zz_change.cue", "package instance\n\ninstance: access: dashboard: false\n")
		},
		want: 1,
	}, {
		name: "a site's facts changed",
		change: func() {
			p := filepath.Join(root, "sites/ncsa.cue")
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), "elk.ncsa.example") {
				t.Fatal("sites/ncsa.cue has no elk.ncsa.example to change")
			}
			testrepo.WriteFile(t, root, "sites/ncsa.cue", strings.Replace(string(data), "elk.ncsa.example", "elk2.ncsa.example", 1))
		},
		// pdac is at NCSA, commissioning in La Serena: the key covers the whole module.
		want: 2,
	}, {
		name: "an instance's placeholders changed",
		change: func() {
			p := filepath.Join(root, "instances/commissioning/placeholders.cue")
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			testrepo.WriteFile(t, root, "instances/commissioning/placeholders.cue", strings.Replace(string(data), "placeholder-commissioning", "placeholder-commissioning-2", 1))
		},
		want: 1,
	}, {
		name: "a template changed",
		change: func() {
			testrepo.WriteFile(t, root, "platform/zz_comment.cue", "package platform\n\n// a comment changes the inputs\n")
		},
		want: 2,
	}, {
		name: "an image pin changed",
		change: func() {
			p := filepath.Join(root, "platform/images.cue")
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), `"portal-2024.3.5"`) {
				t.Fatal("platform/images.cue no longer pins ipac/suit's tag portal-2024.3.5: change the step")
			}
			testrepo.WriteFile(t, root, "platform/images.cue", strings.Replace(string(data), `"portal-2024.3.5"`, `"portal-2024.3.6"`, 1))
		},
		want: 2,
	}, {
		name: "schema changed",
		change: func() {
			testrepo.WriteFile(t, root, "schema/zz_comment.cue", "package schema\n\n// a comment changes the inputs\n")
		},
		want: 2,
	}, {
		name: "entries damaged",
		change: func() {
			entries, err := os.ReadDir(cache)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				testrepo.WriteFile(t, cache, e.Name(), `{"instance": "pdac", "files": {"x.yaml": "{{{"}}`)
			}
		},
		want: 2,
	}, {
		name:   "nothing changed",
		change: func() {},
		want:   0,
	}}
	for _, s := range steps {
		s.change()
		got, n := renderCounted(t, root, render.Options{CacheDir: cache})
		if n != s.want {
			t.Errorf("%s: evaluated %d instances, want %d", s.name, n, s.want)
		}
		full, _ := renderCounted(t, root, render.Options{})
		sameResults(t, full, got)
	}
}

// TestGenerateWithCache: Generate through the cache writes what a full render writes, and
// a render of every instance leaves one cache entry per instance.
func TestGenerateWithCache(t *testing.T) {
	root := testrepo.Copy(t, "pdac", "commissioning")
	want := testrepo.Snapshot(t, filepath.Join(root, "generated"))
	cache := filepath.Join(root, render.CacheDir)
	for range 2 {
		if err := os.RemoveAll(filepath.Join(root, "generated")); err != nil {
			t.Fatal(err)
		}
		sums, err := render.Generate(root, nil, render.Options{CacheDir: cache})
		if err != nil {
			t.Fatal(err)
		}
		if len(sums) != 2 || sums[0].Instance != "commissioning" || sums[1].Objects < 100 {
			t.Errorf("summaries %+v", sums)
		}
		if diff := cmp.Diff(want, testrepo.Snapshot(t, filepath.Join(root, "generated"))); diff != "" {
			t.Errorf("generated/ differs from the committed render (-committed +generated):\n%s", diff)
		}
	}
	testrepo.WriteFile(t, root, "instances/pdac/zz_change.cue", "package instance\n\ninstance: access: dashboard: false\n")
	if _, err := render.Generate(root, nil, render.Options{CacheDir: cache}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(cache)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("the cache holds %d entries after a full render of 2 instances, want 2", len(entries))
	}
}

// TestGenerateFailureWritesNothing: one broken instance, nothing written, no staging
// folders left.
func TestGenerateFailureWritesNothing(t *testing.T) {
	root := testrepo.Copy(t, "pdac", "commissioning")
	before := testrepo.Snapshot(t, filepath.Join(root, "generated"))
	testrepo.WriteFile(t, root, "instances/commissioning/zz_broken.cue", "package instance\n\ninstance: exposure: \"sideways\"\n")
	if _, err := render.Generate(root, nil, render.Options{Concurrency: 2}); err == nil || !strings.Contains(err.Error(), "instances/commissioning/zz_broken.cue:3:") {
		t.Fatalf("err = %v, want the broken line", err)
	}
	if diff := cmp.Diff(before, testrepo.Snapshot(t, filepath.Join(root, "generated"))); diff != "" {
		t.Errorf("generated/ changed (-before +after):\n%s", diff)
	}
}

// TestGeneratorFingerprint: the running executable is identified by its Go build ID.
func TestGeneratorFingerprint(t *testing.T) {
	id, err := render.GeneratorFingerprint()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "go-build-id:") || len(id) < len("go-build-id:")+20 {
		t.Errorf("fingerprint %q, want the Go build ID", id)
	}
}

// TestGenerateLeavesUnchangedAlone: an instance whose files are already exactly the render's
// is not rewritten (its files keep their times); a stray file makes it rewritten, without
// the stray file.
func TestGenerateLeavesUnchangedAlone(t *testing.T) {
	root := testrepo.Copy(t, "pdac")
	if _, err := render.Generate(root, nil, render.Options{}); err != nil {
		t.Fatal(err)
	}
	k := filepath.Join(root, "generated/pdac/kustomization.yaml")
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(k, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := render.Generate(root, nil, render.Options{}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(k); err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("kustomization.yaml was rewritten though nothing changed (%v, %v)", fi.ModTime(), err)
	}
	testrepo.WriteFile(t, root, "generated/pdac/portal/deployment-stray.yaml", "# by hand\n")
	if _, err := render.Generate(root, nil, render.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "generated/pdac/portal/deployment-stray.yaml")); !os.IsNotExist(err) {
		t.Errorf("a stray file in generated/pdac survived a render: %v", err)
	}
}
