package model_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/lsst-dm/lsstgen/internal/model"
)

// roles is schema.#Roles as platform.#Platform exports it (cue export -e roles), cut to
// three roles.
const roles = `{"roles": {
	"general": {"name": "general", "labels": {"lsst.org/role": "general"}, "taints": [], "tolerations": []},
	"qserv-worker": {"name": "qserv-worker", "dedicatedTo": "qserv", "labels": {"lsst.org/role": "qserv-worker"},
		"taints": [{"key": "lsst.org/dedicated", "value": "qserv", "effect": "NoSchedule"}],
		"tolerations": [{"key": "lsst.org/dedicated", "operator": "Equal", "value": "qserv", "effect": "NoSchedule"}]},
	"qserv-czar": {"name": "qserv-czar", "dedicatedTo": "qserv", "labels": {"lsst.org/role": "qserv-czar"},
		"taints": [{"key": "lsst.org/dedicated", "value": "qserv", "effect": "NoSchedule"}],
		"tolerations": [{"key": "lsst.org/dedicated", "operator": "Equal", "value": "qserv", "effect": "NoSchedule"}]}
},
"instance": {"nodes": {"n1": {"name": "n1", "role": "qserv-worker"}, "n2": {"name": "n2", "role": "general"}}}}`

// TestRolesDecode: the roles table decodes into Kubernetes taints and tolerations, and a
// node's labels are its role's and its hostname.
func TestRolesDecode(t *testing.T) {
	var m model.Model
	if err := json.Unmarshal([]byte(roles), &m); err != nil {
		t.Fatal(err)
	}
	w := m.Roles["qserv-worker"]
	taint := corev1.Taint{Key: "lsst.org/dedicated", Value: "qserv", Effect: corev1.TaintEffectNoSchedule}
	if diff := cmp.Diff([]corev1.Taint{taint}, w.Taints); diff != "" {
		t.Errorf("qserv-worker taints (-want +got):\n%s", diff)
	}
	if len(w.Tolerations) != 1 || !w.Tolerations[0].ToleratesTaint(klog.Background(), &taint, false) {
		t.Errorf("qserv-worker tolerations %+v do not tolerate its taint", w.Tolerations)
	}
	if diff := cmp.Diff(map[string]string{"lsst.org/role": "qserv-worker", corev1.LabelHostname: "n1"}, m.NodeLabels("n1")); diff != "" {
		t.Errorf("NodeLabels(n1) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{corev1.LabelHostname: "elsewhere"}, m.NodeLabels("elsewhere")); diff != "" {
		t.Errorf("NodeLabels of a node the instance does not claim (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"qserv-czar", "qserv-worker"}, m.RolesDedicatedTo("qserv")); diff != "" {
		t.Errorf("RolesDedicatedTo(qserv) (-want +got):\n%s", diff)
	}
	if got := m.RolesDedicatedTo("registry"); len(got) != 0 {
		t.Errorf("RolesDedicatedTo(registry) = %v, want none", got)
	}
}
