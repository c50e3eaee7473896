package testcluster

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/model"
)

// TestGeneratedUserPods creates, with dryRun=All on a real apiserver, the pod the notebook
// hub's spawner makes for a user of every instance: the user pod of the hub's ConfigMap
// (user-pod.json) with one user's identity filled in (model.UserPodFor). The namespace
// notebook-users enforces the restricted Pod Security level, so the apiserver's own
// admission decides; a pod made privileged must be refused there, or the check proves
// nothing.
func TestGeneratedUserPods(t *testing.T) {
	root, err := manifest.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	c := shared.Get(t)
	fsys := os.DirFS(root)
	// Namespaces are applied for real, everything else dry-run.
	for _, r := range dryRunGenerated(t, c, fsys) {
		t.Errorf("rejected: %s", r)
	}
	cs, err := kubernetes.NewForConfig(c.Admin())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	user := model.NotebookUser{Name: "jdoe", UID: 41234, GID: 2000, Groups: []model.NotebookGroup{{Name: "lsst_users", GID: 3000}}}
	n := 0
	for _, name := range generatedInstances(t, fsys) {
		objs, err := manifest.ReadInstance(fsys, manifest.InstanceDir(name))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if o.GetKind() != "ConfigMap" || o.GetNamespace() != "notebook" || !strings.HasPrefix(o.GetName(), "hub-config-") {
				continue
			}
			n++
			data, _, _ := unstructured.NestedString(o.Object, "data", "user-pod.json")
			var tmpl corev1.Pod
			if err := json.Unmarshal([]byte(data), &tmpl); err != nil {
				t.Fatalf("%s: %s: user-pod.json: %v", name, o.ID(), err)
			}
			pod, err := model.UserPodFor(&tmpl, user)
			if err != nil {
				t.Fatal(err)
			}
			// The pod's ServiceAccount must exist for the pod to be admitted; it is one of
			// the instance's objects, made here for real like the namespaces.
			sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: pod.Spec.ServiceAccountName, Namespace: pod.Namespace}}
			if _, err := cs.CoreV1().ServiceAccounts(pod.Namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
			dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"}
			if _, err := cs.CoreV1().Pods(pod.Namespace).Create(ctx, pod, dry); err != nil {
				t.Errorf("%s: the spawner's pod for %s is refused: %v", name, user.Name, err)
			}
			bad := pod.DeepCopy()
			escalate := true
			bad.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = &escalate
			_, err = cs.CoreV1().Pods(pod.Namespace).Create(ctx, bad, dry)
			if err == nil || !strings.Contains(err.Error(), `violates PodSecurity "restricted`) {
				t.Errorf("%s: a user pod allowing privilege escalation was not refused by Pod Security: %v", name, err)
			}
		}
	}
	if n == 0 {
		t.Fatal("no instance renders a hub-config ConfigMap: nothing was checked")
	}
}
