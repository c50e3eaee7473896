package testcluster

import (
	"os"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// TestSelfHosting: after one bootstrap apply of generated/pdac as an administrator (what
// `kubectl apply -k` does), the instance's own sync identity can apply every one of its
// objects again but the bootstrap tier's (cluster-scoped RBAC, Namespaces, volumes: what
// only the break-glass group may change), and nothing more: no bootstrap-tier object, no
// Secrets but the instance's own (by name), no pods.
func TestSelfHosting(t *testing.T) {
	root, err := manifest.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifest.ReadInstance(os.DirFS(root), manifest.InstanceDir("pdac"))
	if err != nil {
		t.Fatal(err)
	}
	var applied []manifest.Object
	found := false
	for _, o := range objs {
		if Stage(o.GetKind()) < 3 {
			applied = append(applied, o)
		}
		if o.GetKind() == "Deployment" && o.GetNamespace() == "lsstgen-system" && o.GetName() == "lsstgen-sync" {
			found = true
		}
	}
	if !found {
		t.Fatal("generated/pdac has no Deployment/lsstgen-system/lsstgen-sync: the instance does not run its own sync daemon")
	}
	c := Start(t)
	ctx := t.Context()
	rejected, err := Apply(ctx, c.Admin(), applied, ApplyOptions{FieldManager: "lsstgen"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rejected {
		t.Errorf("bootstrap as admin rejected: %s", r)
	}
	if t.Failed() {
		t.FailNow()
	}

	var kept, bootstrap []manifest.Object
	for _, o := range applied {
		if o.GetAnnotations()[manifest.AnnotationTier] == manifest.TierBootstrap {
			bootstrap = append(bootstrap, o)
		} else {
			kept = append(kept, o)
		}
	}
	if len(bootstrap) == 0 || len(kept) == 0 {
		t.Fatalf("generated/pdac has %d bootstrap-tier and %d other objects; want both", len(bootstrap), len(kept))
	}
	sa := c.AsServiceAccount("lsstgen-system", "lsstgen-sync")
	rejected, err = Apply(ctx, sa, kept, ApplyOptions{FieldManager: "lsstgen"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rejected {
		t.Errorf("the sync identity may not keep its own instance: %s", r)
	}
	// Not one bootstrap-tier object may the sync identity change: were one writable, the
	// daemon could widen its own rights.
	for _, o := range bootstrap {
		rejected, err := Apply(ctx, sa, []manifest.Object{o}, ApplyOptions{FieldManager: "lsstgen"})
		if err != nil {
			t.Fatal(err)
		}
		if len(rejected) == 0 {
			t.Errorf("the sync identity may apply bootstrap-tier %s/%s/%s; only the break-glass group may", o.GetKind(), o.GetNamespace(), o.GetName())
		}
	}

	// The Secrets it manages (empty ones the dashboard fills) it may create again by name,
	// but it may read no other Secret.
	admin := kubernetes.NewForConfigOrDie(c.Admin())
	var secrets []manifest.Object
	for _, o := range applied {
		if o.GetKind() == "Secret" {
			secrets = append(secrets, o)
			if err := admin.CoreV1().Secrets(o.GetNamespace()).Delete(ctx, o.GetName(), metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(secrets) == 0 {
		t.Fatal("generated/pdac renders no Secret: the dashboard's are missing")
	}
	rejected, err = Apply(ctx, sa, secrets, ApplyOptions{FieldManager: "lsstgen"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rejected {
		t.Errorf("the sync identity may not create a Secret it manages: %s", r)
	}
	client := kubernetes.NewForConfigOrDie(sa)
	if _, err := client.CoreV1().Secrets("notebook").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the sync identity can list Secrets (err = %v); it manages only its instance's, by name", err)
	}
	other := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "not-managed", Namespace: "dashboard"}}
	if _, err := client.CoreV1().Secrets("dashboard").Create(ctx, other, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); !apierrors.IsForbidden(err) {
		t.Errorf("the sync identity can create a Secret it does not manage (err = %v)", err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "portal"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "x", Image: "x:1"}}},
	}
	if _, err := client.CoreV1().Pods("portal").Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); !apierrors.IsForbidden(err) {
		t.Errorf("the sync identity can create pods (err = %v); it manages none", err)
	}
	if _, err := client.CoordinationV1().Leases("lsstgen-system").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("the sync identity cannot read its leader-election Leases: %v", err)
	}
}
