package sync

import (
	"context"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/ssa"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// TestBootstrapTierIsCheckedNotApplied: an object annotated lsst.org/tier=bootstrap is
// never created, changed or pruned by sync; a missing or drifted one is reported, one
// that matches git is unchanged; and one an earlier commit had sync apply is kept when it
// moves to the bootstrap tier.
func TestBootstrapTierIsCheckedNotApplied(t *testing.T) {
	h := newHarness(t, "boot", nil)
	ctx := context.Background()
	labels := "  labels:\n    app.kubernetes.io/managed-by: lsstgen\n    lsst.org/instance: " + h.instance + "\n"
	boot := func(value string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: boot\n  namespace: " + h.ns + "\n" + labels +
			"  annotations:\n    " + manifest.AnnotationTier + ": " + manifest.TierBootstrap + "\ndata:\n  k: " + value + "\n"
	}
	const id = "ConfigMap/boot-ns/boot"
	change := func(res *Result) Change {
		t.Helper()
		for _, c := range res.Changes {
			if c.Object == id {
				return c
			}
		}
		t.Fatalf("no change for %s in %+v", id, res.Changes)
		return Change{}
	}

	h.repo.commitInstance(h.instance, with(h.files(), "configmap-boot.yaml", boot("git")))
	c := change(h.cycle())
	if c.Action != string(ssa.SkippedAction) || !strings.Contains(c.Reason, "missing") {
		t.Errorf("missing bootstrap object: want skipped as missing, got %+v", c)
	}
	if h.get("v1", "ConfigMap", h.ns, "boot") != nil {
		t.Fatal("sync created a bootstrap-tier object")
	}

	// The operator applies it, with another value than git's.
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "boot", Namespace: h.ns,
		Annotations: map[string]string{manifest.AnnotationTier: manifest.TierBootstrap},
		Labels:      map[string]string{manifest.LabelInstance: h.instance, manifest.LabelManagedBy: manifest.ManagedBy}},
		Data: map[string]string{"k": "hand"}}
	if err := h.s.client.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	c = change(h.cycle())
	if c.Action != string(ssa.SkippedAction) || !c.Drift || len(c.Fields) != 1 || c.Fields[0] != `data.k: "hand" → "git"` {
		t.Errorf("drifted bootstrap object: want skipped with drift on data.k, got %+v", c)
	}
	if got := h.get("v1", "ConfigMap", h.ns, "boot"); got == nil || got.Object["data"].(map[string]any)["k"] != "hand" {
		t.Fatalf("sync changed a bootstrap-tier object: %v", got)
	}

	cm.Data["k"] = "git"
	if err := h.s.client.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	if c := change(h.cycle()); c.Action != string(ssa.UnchangedAction) {
		t.Errorf("bootstrap object as git has it: want unchanged, got %+v", c)
	}

	// It leaves git: not pruned.
	h.repo.commitInstance(h.instance, h.files())
	h.cycle()
	if h.get("v1", "ConfigMap", h.ns, "boot") == nil {
		t.Fatal("sync pruned a bootstrap-tier object that left git")
	}

	// An object sync applied moves to the bootstrap tier: kept, and no longer applied.
	settings := strings.Replace(h.files()["configmap-settings.yaml"], labels,
		labels+"  annotations:\n    "+manifest.AnnotationTier+": "+manifest.TierBootstrap+"\n", 1)
	settings = strings.Replace(settings, "mode: test", "mode: changed", 1)
	h.repo.commitInstance(h.instance, with(h.files(), "configmap-settings.yaml", settings))
	h.cycle()
	live := &corev1.ConfigMap{}
	if err := h.s.client.Get(ctx, client.ObjectKey{Namespace: h.ns, Name: "settings"}, live); err != nil {
		t.Fatalf("an object moved to the bootstrap tier was pruned: %v", err)
	}
	if live.Data["mode"] != "test" {
		t.Errorf("sync applied an object of the bootstrap tier: mode %q", live.Data["mode"])
	}
}
