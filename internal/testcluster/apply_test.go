package testcluster

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// DefaultApplyOptions returns a dry run as field manager "lsstgen" that fails on Pod
// Security warnings: a workload that would violate its namespace's Pod Security level is
// accepted as an object, but its pods never start.
func DefaultApplyOptions() ApplyOptions {
	return ApplyOptions{DryRun: true, FieldManager: "lsstgen", FailOnWarning: IsPodSecurityWarning}
}

// IsPodSecurityWarning reports whether an apiserver warning says pods would be rejected by
// Pod Security admission.
func IsPodSecurityWarning(w string) bool {
	return strings.Contains(w, "would violate PodSecurity")
}

func TestOrder(t *testing.T) {
	var objs []manifest.Object
	for _, k := range []string{"ValidatingWebhookConfiguration", "Deployment", "ClusterRoleBinding", "ConfigMap", "Namespace", "Widget", "StorageClass", "CustomResourceDefinition", "ServiceAccount"} {
		o := manifest.Object{Unstructured: newObj(k)}
		objs = append(objs, o)
	}
	var got []string
	for _, o := range Order(objs) {
		got = append(got, o.GetKind())
	}
	want := []string{"CustomResourceDefinition", "Namespace", "StorageClass", "ClusterRoleBinding", "ServiceAccount", "ConfigMap", "Deployment", "Widget", "ValidatingWebhookConfiguration"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func newObj(kind string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetKind(kind)
	u.SetName("x")
	return u
}

func TestApplyNeedsFieldManager(t *testing.T) {
	_, err := Apply(t.Context(), &rest.Config{Host: "https://127.0.0.1:1"}, nil, ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "no field manager") {
		t.Fatalf("Apply error %v, want one about the field manager", err)
	}
}
