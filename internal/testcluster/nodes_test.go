package testcluster

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/lsst-dm/lsstgen/internal/render"
)

// TestNodesFromModel checks a node's resources, labels and taints against its hardware,
// the reserve and its role.
func TestNodesFromModel(t *testing.T) {
	var m render.Model
	m.Instance.Name = "tiny"
	m.Instance.ReservePerNode = render.Reserve{CPUMillis: 2000, MemoryGB: 8, ImageCacheGB: 200}
	m.Instance.Nodes = map[string]render.Node{
		"b-reg": {Role: "registry", Cores: 32, MemoryGB: 192, LocalDiskGB: 2400},
		"a-gen": {Role: "general", Cores: 16, MemoryGB: 64, LocalDiskGB: 1000},
		"c-qw":  {Role: "qserv-worker", Cores: 32, MemoryGB: 192, LocalDiskGB: 2400},
	}
	nodes, err := NodesFromModel(m)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name)
	}
	if !slices.Equal(names, []string{"a-gen", "b-reg", "c-qw"}) {
		t.Fatalf("nodes %v, want sorted by name", names)
	}
	reg := nodes[1]
	for _, tc := range []struct {
		what string
		got  string
		want string
	}{
		{"capacity cpu", qty(reg.Capacity, corev1.ResourceCPU), "32"},
		{"capacity memory", qty(reg.Capacity, corev1.ResourceMemory), "192Gi"},
		{"capacity ephemeral-storage", qty(reg.Capacity, corev1.ResourceEphemeralStorage), "2400G"},
		{"capacity pods", qty(reg.Capacity, corev1.ResourcePods), "110"},
		{"allocatable cpu", qty(reg.Allocatable, corev1.ResourceCPU), "30"},
		{"allocatable memory", qty(reg.Allocatable, corev1.ResourceMemory), "184Gi"},
		{"allocatable ephemeral-storage", qty(reg.Allocatable, corev1.ResourceEphemeralStorage), "2200G"},
		{"role label", reg.Labels[LabelRole], "registry"},
		{"hostname label", reg.Labels[corev1.LabelHostname], "b-reg"},
		{"taints", fmt.Sprint(reg.Taints), fmt.Sprint([]corev1.Taint{{Key: TaintDedicated, Value: "registry", Effect: corev1.TaintEffectNoSchedule}})},
		{"general taints", fmt.Sprint(nodes[0].Taints), "[]"},
		{"qserv taints", fmt.Sprint(nodes[2].Taints), fmt.Sprint([]corev1.Taint{{Key: TaintDedicated, Value: "qserv", Effect: corev1.TaintEffectNoSchedule}})},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %s, want %s", tc.what, tc.got, tc.want)
		}
	}
}

func qty(l corev1.ResourceList, r corev1.ResourceName) string {
	q := l[r]
	return q.String()
}

// TestNodesFromModelErrors: a model that gives no node, a node without a role or a reserve
// larger than a node is an error naming the instance field.
func TestNodesFromModelErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nodes map[string]render.Node
		want  string
	}{
		{"no nodes", nil, "instance tiny has no nodes (instance.nodes)"},
		{"no role", map[string]render.Node{"n1": {Cores: 4, MemoryGB: 16, LocalDiskGB: 100}}, `instance.nodes."n1" has no role`},
		{"reserve too large", map[string]render.Node{"n1": {Role: "general", Cores: 1, MemoryGB: 16, LocalDiskGB: 100}},
			`instance.nodes."n1": reservePerNode (2000m cpu, 8 GiB memory, 50 GB image cache) leaves nothing of 1 cores`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m render.Model
			m.Instance.Name = "tiny"
			m.Instance.ReservePerNode = render.Reserve{CPUMillis: 2000, MemoryGB: 8, ImageCacheGB: 50}
			m.Instance.Nodes = tc.nodes
			_, err := NodesFromModel(m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to say %q", err, tc.want)
			}
		})
	}
}
