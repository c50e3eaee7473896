package sync

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// warnings returns the messages of the SyncFailed Events on an object.
func (h *harness) warnings(ns, kind, name string) []string {
	h.t.Helper()
	var list corev1.EventList
	if err := h.s.client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		if e.Reason == ReasonSyncFailed && e.InvolvedObject.Kind == kind && e.InvolvedObject.Name == name && e.Type == corev1.EventTypeWarning {
			out = append(out, e.Message)
		}
	}
	return out
}

func TestFailedCycleLeavesEvents(t *testing.T) {
	h := newHarness(t, "events", nil)
	h.repo.commitInstance(h.instance, h.files())
	h.cycle()
	if w := h.warnings(DefaultNamespace, "ConfigMap", InventoryName(h.instance)); len(w) != 0 {
		t.Errorf("events after a good cycle: %v", w)
	}

	// A refused commit: an Event on the inventory.
	h.repo.commitInstance(h.instance, with(h.files(), "configmap-settings.yaml", "kind: [\n"))
	if _, err := h.s.Cycle(context.Background(), h.src); err == nil {
		t.Fatal("a bad commit was accepted")
	}
	w := h.warnings(DefaultNamespace, "ConfigMap", InventoryName(h.instance))
	if len(w) != 1 || !strings.Contains(w[0], "refused") || !strings.Contains(w[0], "configmap-settings.yaml") {
		t.Errorf("inventory events %q, want one saying the commit was refused", w)
	}

	// An apply rejected on one object: an Event on that object too.
	deployment := strings.ReplaceAll(h.files()["deployment-web.yaml"], "app: web", "app: other")
	h.repo.commitInstance(h.instance, with(h.files(), "deployment-web.yaml", deployment))
	if _, err := h.s.Cycle(context.Background(), h.src); err == nil {
		t.Fatal("an immutable change was applied")
	}
	if w := h.warnings(h.ns, "Deployment", "web"); len(w) != 1 || !strings.Contains(w[0], "immutable") {
		t.Errorf("Deployment events %q, want one about the immutable field", w)
	}
	if w := h.warnings(DefaultNamespace, "ConfigMap", InventoryName(h.instance)); len(w) != 2 {
		t.Errorf("inventory events %q, want two", w)
	}
}
