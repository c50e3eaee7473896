package testcluster

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/lsst-dm/lsstgen/internal/model"
)

// testRoles is a roles table of the model's shape with roles and a taint the platform does
// not have, so that a test passes only if NodesFromModel takes them from the model.
func testRoles() map[string]model.Role {
	taint := corev1.Taint{Key: "example.org/reserved", Value: "gpu", Effect: corev1.TaintEffectNoExecute}
	return map[string]model.Role{
		"plain": {Name: "plain", Labels: map[string]string{"example.org/kind": "plain"}},
		"gpu": {Name: "gpu", DedicatedTo: "gpu", Labels: map[string]string{"example.org/kind": "gpu", "example.org/accelerator": "yes"},
			Taints:      []corev1.Taint{taint},
			Tolerations: []corev1.Toleration{{Key: taint.Key, Operator: corev1.TolerationOpEqual, Value: taint.Value, Effect: taint.Effect}}},
	}
}

// TestNodesFromModel checks a node's resources, labels and taints against its hardware,
// the reserve and its role's entry in the model.
func TestNodesFromModel(t *testing.T) {
	var m model.Model
	m.Instance.Name = "tiny"
	m.Roles = testRoles()
	m.Instance.ReservePerNode = model.Reserve{CPUMillis: 2000, MemoryGiB: 8, ImageCacheGiB: 200}
	m.Instance.Nodes = map[string]model.Node{
		"b-gpu":   {Role: "gpu", Cores: 32, MemoryGiB: 192, LocalDiskGiB: 2400},
		"a-plain": {Role: "plain", Cores: 16, MemoryGiB: 64, LocalDiskGiB: 1000},
	}
	nodes, err := NodesFromModel(m)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name)
	}
	if !slices.Equal(names, []string{"a-plain", "b-gpu"}) {
		t.Fatalf("nodes %v, want sorted by name", names)
	}
	gpu := nodes[1]
	for _, tc := range []struct {
		what string
		got  string
		want string
	}{
		{"capacity cpu", qty(gpu.Capacity, corev1.ResourceCPU), "32"},
		{"capacity memory", qty(gpu.Capacity, corev1.ResourceMemory), "192Gi"},
		{"capacity ephemeral-storage", qty(gpu.Capacity, corev1.ResourceEphemeralStorage), "2400Gi"},
		{"capacity pods", qty(gpu.Capacity, corev1.ResourcePods), "110"},
		{"allocatable cpu", qty(gpu.Allocatable, corev1.ResourceCPU), "30"},
		{"allocatable memory", qty(gpu.Allocatable, corev1.ResourceMemory), "184Gi"},
		{"allocatable ephemeral-storage", qty(gpu.Allocatable, corev1.ResourceEphemeralStorage), "2200Gi"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %s, want %s", tc.what, tc.got, tc.want)
		}
	}
	wantLabels := map[string]string{"example.org/kind": "gpu", "example.org/accelerator": "yes", corev1.LabelHostname: "b-gpu"}
	if diff := cmp.Diff(wantLabels, gpu.Labels); diff != "" {
		t.Errorf("labels of b-gpu (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(m.Roles["gpu"].Taints, gpu.Taints); diff != "" {
		t.Errorf("taints of b-gpu (-want +got):\n%s", diff)
	}
	if len(nodes[0].Taints) != 0 {
		t.Errorf("taints of a-plain = %v, want none", nodes[0].Taints)
	}
	// The spec owns its taints: changing them leaves the model alone.
	gpu.Taints[0].Value = "changed"
	if m.Roles["gpu"].Taints[0].Value != "gpu" {
		t.Error("NodesFromModel shares its taints with the model")
	}
}

func qty(l corev1.ResourceList, r corev1.ResourceName) string {
	q := l[r]
	return q.String()
}

// TestNodesFromModelErrors: a model that gives no node, a node of a role the model does
// not define or a reserve larger than a node is an error naming the instance field.
func TestNodesFromModelErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nodes map[string]model.Node
		want  string
	}{
		{"no nodes", nil, "instance tiny has no nodes (instance.nodes)"},
		{"no role", map[string]model.Node{"n1": {Cores: 4, MemoryGiB: 16, LocalDiskGiB: 100}},
			`instance.nodes."n1" has role "", which is not among the model's roles (gpu, plain)`},
		{"unknown role", map[string]model.Node{"n1": {Role: "general", Cores: 4, MemoryGiB: 16, LocalDiskGiB: 100}},
			`instance.nodes."n1" has role "general", which is not among the model's roles (gpu, plain)`},
		{"reserve too large", map[string]model.Node{"n1": {Role: "plain", Cores: 1, MemoryGiB: 16, LocalDiskGiB: 100}},
			`instance.nodes."n1": reservePerNode (2000m cpu, 8 GiB memory, 50 GiB image cache) leaves nothing of 1 cores`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m model.Model
			m.Instance.Name = "tiny"
			m.Roles = testRoles()
			m.Instance.ReservePerNode = model.Reserve{CPUMillis: 2000, MemoryGiB: 8, ImageCacheGiB: 50}
			m.Instance.Nodes = tc.nodes
			_, err := NodesFromModel(m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to say %q", err, tc.want)
			}
		})
	}
}
