package sync

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func TestOtherApplyManagersFieldIsReportedNotTaken(t *testing.T) {
	h := newHarness(t, "conflict", nil)
	h.repo.commitInstance(h.instance, h.files())
	h.cycle()
	ctx := context.Background()

	// Another server-side apply manager takes data.mode in ConfigMap settings.
	theirs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "settings", "namespace": h.ns},
		"data":     map[string]any{"mode": "theirs"},
	}}
	if err := h.s.client.Patch(ctx, theirs, client.Apply, client.ForceOwnership, client.FieldOwner("other-tool")); err != nil {
		t.Fatal(err)
	}
	before := h.versions()

	res, err := h.s.Cycle(ctx, h.src)
	var ce *ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("error = %v, want a ConflictError", err)
	}
	id := "ConfigMap/" + h.ns + "/settings"
	if reason := ce.Objects[id]; !strings.Contains(reason, `.data.mode owned by "other-tool"`) || len(ce.Objects) != 1 {
		t.Errorf("conflicts %v, want only %s with .data.mode owned by other-tool", ce.Objects, id)
	}
	if got := actions(res)[id]; got != "skipped" {
		t.Errorf("%s: %s, want skipped", id, got)
	}
	cm := &corev1.ConfigMap{}
	if err := h.s.client.Get(ctx, client.ObjectKey{Namespace: h.ns, Name: "settings"}, cm); err != nil {
		t.Fatal(err)
	}
	if cm.Data["mode"] != "theirs" {
		t.Errorf("data.mode = %q: the other manager's field was taken", cm.Data["mode"])
	}
	want(t, "resourceVersions", before, h.versions())
	if !strings.Contains(h.logs.String(), `"action":"skipped","dry_run":false,"reason":"conflict:`) {
		t.Errorf("the conflict was not logged:\n%s", h.logs)
	}

	// Annotated in git to force, the field is taken back.
	forced := strings.Replace(h.files()["configmap-settings.yaml"], "  labels:\n", "  annotations:\n    lsst.org/force: enabled\n  labels:\n", 1)
	h.repo.commitInstance(h.instance, with(h.files(), "configmap-settings.yaml", forced))
	h.cycle()
	if err := h.s.client.Get(ctx, client.ObjectKey{Namespace: h.ns, Name: "settings"}, cm); err != nil {
		t.Fatal(err)
	}
	if cm.Data["mode"] != "test" {
		t.Errorf("data.mode = %q after a forced apply, want test", cm.Data["mode"])
	}
}
