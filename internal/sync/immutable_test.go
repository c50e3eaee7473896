package sync

import (
	"context"
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

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

// TestInvalidIsNotImmutable: an object the apiserver refuses as invalid for another reason
// than an immutable field (here a port out of range; on a cluster that disallows them, a
// privileged container) is reported as invalid with the apiserver's reason, and never
// deleted, though annotated for recreate.
func TestInvalidIsNotImmutable(t *testing.T) {
	h := newHarness(t, "invalid", nil)
	annotate := func(doc string) string {
		return strings.Replace(doc, "  labels:\n", "  annotations:\n    lsst.org/recreate: enabled\n  labels:\n", 1)
	}
	h.repo.commitInstance(h.instance, with(h.files(), "deployment-web.yaml", annotate(h.files()["deployment-web.yaml"])))
	h.cycle()
	old := h.get("apps/v1", "Deployment", h.ns, "web")
	if old == nil {
		t.Fatal("no Deployment web")
	}
	badPort := strings.Replace(annotate(h.files()["deployment-web.yaml"]), "containerPort: 8080", "containerPort: 70000", 1)
	h.repo.commitInstance(h.instance, with(h.files(), "deployment-web.yaml", badPort))
	_, err := h.s.Cycle(context.Background(), h.src)
	if err == nil || !strings.Contains(err.Error(), "Deployment/invalid-ns/web is invalid") ||
		!strings.Contains(err.Error(), "containerPort: Invalid value: 70000") || !strings.Contains(err.Error(), "fix it in git") {
		t.Fatalf("error = %v, want the Deployment named invalid with the apiserver's reason", err)
	}
	if strings.Contains(err.Error(), "immutable") {
		t.Errorf("an invalid object reported as an immutable field change: %v", err)
	}
	if got := h.get("apps/v1", "Deployment", h.ns, "web"); got == nil || got.GetUID() != old.GetUID() {
		t.Errorf("the Deployment was deleted or recreated although its change is invalid, not immutable (now %v)", got)
	}
}

// TestRecreateSparesProtectedKinds: a PersistentVolumeClaim annotated for recreate, whose
// commit changes an immutable field, is not deleted: claims hold data.
func TestRecreateSparesProtectedKinds(t *testing.T) {
	h := newHarness(t, "claim", nil)
	claim := func(mode string) string {
		return "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  namespace: " + h.ns +
			"\n  annotations:\n    lsst.org/recreate: enabled\nspec:\n  accessModes: [" + mode + "]\n  storageClassName: none\n  resources:\n    requests:\n      storage: 1Gi\n"
	}
	h.repo.commitInstance(h.instance, with(h.files(), "persistentvolumeclaim-data.yaml", claim("ReadWriteOnce")))
	h.cycle()
	old := h.get("v1", "PersistentVolumeClaim", h.ns, "data")
	if old == nil {
		t.Fatal("no claim data")
	}
	h.repo.commitInstance(h.instance, with(h.files(), "persistentvolumeclaim-data.yaml", claim("ReadOnlyMany")))
	_, err := h.s.Cycle(context.Background(), h.src)
	if err == nil || !strings.Contains(err.Error(), "never recreates a PersistentVolumeClaim") || !strings.Contains(err.Error(), "PersistentVolumeClaim/claim-ns/data") {
		t.Fatalf("error = %v, want a refusal to recreate the claim", err)
	}
	if got := h.get("v1", "PersistentVolumeClaim", h.ns, "data"); got == nil || got.GetUID() != old.GetUID() || got.GetDeletionTimestamp() != nil {
		t.Error("the claim was deleted to be recreated")
	}
}

func TestImmutableFieldError(t *testing.T) {
	gk := schema.GroupKind{Group: "apps", Kind: "Deployment"}
	immutable := apierrors.NewInvalid(gk, "web", field.ErrorList{field.Invalid(field.NewPath("spec", "selector"), "x", "field is immutable")})
	forbidden := apierrors.NewInvalid(gk, "web", field.ErrorList{field.Forbidden(field.NewPath("spec", "template", "spec", "containers").Index(0).Child("securityContext", "privileged"), "disallowed by cluster policy")})
	for _, c := range []struct {
		err  error
		want bool
	}{
		{immutable, true},
		{forbidden, false},
		{apierrors.NewConflict(schema.GroupResource{Group: "apps", Resource: "deployments"}, "web", errors.New("the object has been modified")), false},
		{errors.New("spec: field is immutable"), false},
	} {
		if got := immutableFieldError(c.err); got != c.want {
			t.Errorf("immutableFieldError(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	if got := invalidReason(forbidden); !strings.Contains(got, "securityContext.privileged: Forbidden: disallowed by cluster policy") {
		t.Errorf("invalidReason = %q", got)
	}
}
