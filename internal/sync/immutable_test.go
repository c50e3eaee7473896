package sync

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

func TestImmutableFieldChange(t *testing.T) {
	h := newHarness(t, "immutable", nil)
	h.repo.commitInstance(h.instance, h.files())
	h.cycle()
	old := h.get("apps/v1", "Deployment", h.ns, "web")
	if old == nil {
		t.Fatal("no Deployment web")
	}

	// A new selector: spec.selector of a Deployment is immutable.
	deployment := strings.ReplaceAll(h.files()["deployment-web.yaml"], "app: web", "app: web2")
	h.repo.commitInstance(h.instance, with(without(h.files(), "configmap-extra.yaml"), "deployment-web.yaml", deployment))
	_, err := h.s.Cycle(context.Background(), h.src)
	if err == nil || !strings.Contains(err.Error(), "immutable") || !strings.Contains(err.Error(), manifest.AnnotationRecreate) ||
		!strings.Contains(err.Error(), "Deployment/immutable-ns/web") {
		t.Fatalf("error = %v, want one naming the Deployment, the immutable field and the annotation", err)
	}
	if h.get("v1", "ConfigMap", h.ns, "extra") == nil {
		t.Error("ConfigMap extra was pruned after the failed apply")
	}
	if got := h.get("apps/v1", "Deployment", h.ns, "web"); got.GetUID() != old.GetUID() {
		t.Error("the Deployment was recreated without the annotation")
	}

	// Annotated, it is deleted and created again.
	annotated := strings.Replace(deployment, "  labels:\n", "  annotations:\n    lsst.org/recreate: enabled\n  labels:\n", 1)
	h.repo.commitInstance(h.instance, with(without(h.files(), "configmap-extra.yaml"), "deployment-web.yaml", annotated))
	h.cycle()
	got := h.get("apps/v1", "Deployment", h.ns, "web")
	if got == nil || got.GetUID() == old.GetUID() {
		t.Fatal("the annotated Deployment was not recreated")
	}
	sel, _, _ := unstructured.NestedString(got.Object, "spec", "selector", "matchLabels", "app")
	if sel != "web2" {
		t.Errorf("selector app = %q, want web2", sel)
	}
	if h.get("v1", "ConfigMap", h.ns, "extra") != nil {
		t.Error("ConfigMap extra was not pruned once the apply succeeded")
	}
}
