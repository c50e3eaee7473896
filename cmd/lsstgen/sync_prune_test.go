package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/render"
)

// TestModelAllowsPruneOfProtectedKinds renders pdac with instance.sync.prune allowing
// Namespaces and claims (not volumes) and checks that exactly those objects carry the
// annotation sync reads; the committed instances, which allow nothing, carry it nowhere.
func TestModelAllowsPruneOfProtectedKinds(t *testing.T) {
	root := filepath.Join("..", "..")
	tmp := t.TempDir()
	for _, p := range slices.Concat(manifest.ModuleDirs(), []string{filepath.Join("instances", "pdac")}) {
		if err := os.CopyFS(filepath.Join(tmp, p), os.DirFS(filepath.Join(root, p))); err != nil {
			t.Fatal(err)
		}
	}
	allow := "package instance\n\ninstance: sync: prune: {namespaces: true, persistentVolumeClaims: true}\n"
	if err := os.WriteFile(filepath.Join(tmp, "instances", "pdac", "prune.cue"), []byte(allow), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := render.Instance(tmp, "pdac")
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"Namespace": true, "PersistentVolumeClaim": true}
	n := map[string]int{}
	for _, o := range res.Objects {
		got := o.GetAnnotations()[manifest.AnnotationPrune]
		if allowed[o.GetKind()] {
			n[o.GetKind()]++
			if got != manifest.PruneAllowed {
				t.Errorf("%s: annotation %s=%q, want %q", manifest.ObjectID(o), manifest.AnnotationPrune, got, manifest.PruneAllowed)
			}
		} else if got != "" {
			t.Errorf("%s: annotated %s=%q, which the model does not allow", manifest.ObjectID(o), manifest.AnnotationPrune, got)
		}
	}
	if n["Namespace"] == 0 || n["PersistentVolumeClaim"] == 0 {
		t.Errorf("pdac rendered %v: want Namespaces and claims to check", n)
	}

	committed, err := render.Instance(root, "pdac")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, o := range committed.Objects {
		kinds[o.GetKind()] = true
		if v, ok := o.GetAnnotations()[manifest.AnnotationPrune]; ok {
			t.Errorf("%s in the committed pdac: annotated %s=%q, but pdac allows no prune", manifest.ObjectID(o), manifest.AnnotationPrune, v)
		}
	}
	if !kinds["PersistentVolume"] {
		t.Error("pdac renders no PersistentVolume: the check that volumes stay unannotated proves nothing")
	}
}
