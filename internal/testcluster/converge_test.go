package testcluster

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// generalNodes returns n general nodes of cores cpus and 16 GiB each, named n1, n2, ….
func generalNodes(n int, cores string) []NodeSpec {
	var out []NodeSpec
	for i := 1; i <= n; i++ {
		name := "n" + string(rune('0'+i))
		rl := corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse(cores),
			corev1.ResourceMemory: resource.MustParse("16Gi"),
			corev1.ResourcePods:   resource.MustParse("110"),
		}
		out = append(out, NodeSpec{Name: name, Capacity: rl, Allocatable: rl})
	}
	return out
}

// TestConvergenceReportsProblems applies testdata/twin/problems to a twin of two general
// nodes and proves CheckConvergence names each problem, the node and the reason given by
// the scheduler, a controller or the apiserver, and nothing of the Deployment that
// converges. Among them, Pod Security enforced on the pods a controller creates: the
// Deployment, StatefulSet and DaemonSet that violate their namespace's restricted level are
// accepted as objects, and their pods are refused with the apiserver's message; and the
// ServiceAccount admission the twin turns on refuses pods naming a missing account.
func TestConvergenceReportsProblems(t *testing.T) {
	objs, err := manifest.ReadInstance(os.DirFS("testdata"), "twin/problems")
	if err != nil {
		t.Fatal(err)
	}
	tw := StartTwin(t, generalNodes(2, "4"))
	ctx := t.Context()
	rejected, err := Apply(ctx, tw.Admin(), objs, ApplyOptions{FieldManager: "kubectl"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rejected) > 0 {
		t.Fatalf("the fixture was refused: %v", rejected)
	}

	// What the check is given: the objects as applied, the claim pinned said to be meant for
	// another volume, and a Deployment that was never applied.
	check := make([]manifest.Object, 0, len(objs)+1)
	for _, o := range objs {
		if o.GetKind() == "PersistentVolumeClaim" && o.GetName() == "pinned" {
			o = manifest.Object{File: o.File, Unstructured: o.DeepCopy()}
			if err := unstructured.SetNestedField(o.Object, "intended", "spec", "volumeName"); err != nil {
				t.Fatal(err)
			}
		}
		check = append(check, o)
	}
	absent := &unstructured.Unstructured{}
	absent.SetAPIVersion("apps/v1")
	absent.SetKind("Deployment")
	absent.SetNamespace("delta")
	absent.SetName("absent")
	check = append(check, manifest.Object{File: "absent.yaml", Unstructured: absent})

	type want struct{ id, node, says string }
	wants := []want{
		{"Deployment/delta/absent", "", "does not exist"},
		{"Deployment/delta/privileged", "", `not rolled out: 0 of 1 replicas updated, 0 available; last ReplicaSet/delta/privileged-`},
		{"Deployment/delta/too-big", "", "not rolled out: 1 of 1 replicas updated, 0 available"},
		{"Deployment/delta/no-account", "", `not rolled out: 0 of 1 replicas updated, 0 available; last ReplicaSet/delta/no-account-`},
		{"Deployment/delta/no-account", "", `error looking up service account delta/nobody: serviceaccount "nobody" not found`},
		{"DaemonSet/delta/nowhere", "", "runs on no node"},
		{"Pod/delta/too-big-", "", "Pending, not scheduled: 0/2 nodes are available: 2 Insufficient cpu"},
		{"Pod/delta/too-big-", "", "last FailedScheduling: 0/2 nodes are available: 2 Insufficient cpu"},
		{"Pod/delta/no-secret-", "n", "refers to Secret/delta/missing, which does not exist: a kubelet would not start it"},
		{"Pod/delta/no-secret-", "n", `refers to key "b" of ConfigMap/delta/settings, which it does not have`},
		{"PersistentVolumeClaim/delta/pinned", "", "Bound to PersistentVolume/pinned, but the instance binds it to PersistentVolume/intended"},
		{"PersistentVolumeClaim/delta/pinned", "n2", "Bound to PersistentVolume/pinned, local to n1, but used by Pod/delta/elsewhere on another node"},
		{"PersistentVolumeClaim/delta/unbound", "", "Pending, not Bound"},
		{"StatefulSet/delta/privileged", "", `not rolled out: 0 of 1 replicas ready, 0 updated; last FailedCreate: Create Pod privileged-0 in StatefulSet privileged failed error: pods "privileged-0" is forbidden: violates PodSecurity "restricted:latest": privileged`},
		{"StatefulSet/delta/privileged", "", `FailedCreate: Create Pod privileged-0 in StatefulSet privileged failed error: pods "privileged-0" is forbidden: violates PodSecurity`},
		{"DaemonSet/delta/privileged", "", `not rolled out: 0 of 2 pods updated, 0 available, 0 on nodes they should not be on; last FailedCreate: Error creating: pods "privileged-`},
		{"DaemonSet/delta/privileged", "", `is forbidden: violates PodSecurity "restricted:latest": privileged`},
		{"ReplicaSet/delta/privileged-", "", `FailedCreate: Error creating: pods "privileged-`},
		{"ReplicaSet/delta/privileged-", "", `is forbidden: violates PodSecurity "restricted:latest": privileged (container "main" must not set securityContext.privileged=true)`},
	}
	matches := func(w want, p Problem) bool {
		return strings.HasPrefix(p.ID, w.id) && strings.HasPrefix(p.Node, w.node) && strings.Contains(p.Reason, w.says)
	}
	var problems []Problem
	deadline := time.Now().Add(time.Minute)
	for {
		problems, err = CheckConvergence(ctx, tw.Admin(), check)
		if err != nil {
			t.Fatal(err)
		}
		missing := 0
		for _, w := range wants {
			found := false
			for _, p := range problems {
				found = found || matches(w, p)
			}
			if !found {
				missing++
				if time.Now().After(deadline) {
					t.Errorf("no problem %s on node %q saying %q", w.id, w.node, w.says)
				}
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	for _, p := range problems {
		expected := false
		for _, w := range wants {
			expected = expected || (strings.HasPrefix(p.ID, w.id) && strings.HasPrefix(p.Node, w.node))
		}
		if !expected {
			t.Errorf("unexpected problem: %s", p)
		}
		if strings.Contains(p.ID, "/good") || strings.Contains(p.ID, "Pod/delta/elsewhere") {
			t.Errorf("a converged object is reported: %s", p)
		}
	}
	if t.Failed() {
		t.Logf("all problems found:\n%s", (&NotConvergedError{Problems: problems}).Error())
	}

	// WaitConverged gives up after its timeout, with the problems.
	err = WaitConverged(ctx, tw.Admin(), check, time.Second)
	var nc *NotConvergedError
	if !errors.As(err, &nc) || len(nc.Problems) == 0 || !strings.Contains(err.Error(), "not converged within 1s") ||
		!strings.Contains(err.Error(), "Deployment/delta/absent: does not exist") {
		t.Errorf("WaitConverged = %v, want a NotConvergedError listing the problems", err)
	}
}
