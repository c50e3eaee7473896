package testcluster

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/lsst-dm/lsstgen/internal/render"
)

// Node labels and taints of the platform's roles, as README.md tells operators to set them.
const (
	LabelRole      = "lsst.org/role"
	TaintDedicated = "lsst.org/dedicated"
)

// MaxPodsPerNode is the pods a node accepts: the kubelet's default --max-pods, which the
// model does not change.
const MaxPodsPerNode = 110

// NodesFromModel returns one NodeSpec per node of an instance's model, sorted by name:
// capacity from the hardware (cpu = cores, memory = memoryGB read as GiB, ephemeral
// storage = the local disks), allocatable after the instance's reservePerNode (cpu and
// memory, and the image cache off the local disks), the hostname and role labels, and the
// role's taints.
//
// The role → label and taint mapping is written here as README.md states it (validate's
// capacity rules hold the same one); it is to be read from the model once the model
// exports roles as data.
func NodesFromModel(m render.Model) ([]NodeSpec, error) {
	r := m.Instance.ReservePerNode
	var nodes []NodeSpec
	var errs []string
	for _, name := range slices.Sorted(maps.Keys(m.Instance.Nodes)) {
		n := m.Instance.Nodes[name]
		if n.Role == "" {
			errs = append(errs, fmt.Sprintf("instance.nodes.%q has no role", name))
			continue
		}
		cpu := int64(n.Cores) * 1000
		memGi := int64(n.MemoryGB)
		diskGB := int64(n.LocalDiskGB)
		allocCPU := cpu - int64(r.CPUMillis)
		allocMem := memGi - int64(r.MemoryGB)
		allocDisk := diskGB - int64(r.ImageCacheGB)
		if allocCPU <= 0 || allocMem <= 0 || allocDisk < 0 {
			errs = append(errs, fmt.Sprintf("instance.nodes.%q: reservePerNode (%dm cpu, %d GiB memory, %d GB image cache) leaves nothing of %d cores, %d GB memory, %d GB local disk",
				name, r.CPUMillis, r.MemoryGB, r.ImageCacheGB, n.Cores, n.MemoryGB, n.LocalDiskGB))
			continue
		}
		pods := *resource.NewQuantity(MaxPodsPerNode, resource.DecimalSI)
		nodes = append(nodes, NodeSpec{
			Name:   name,
			Labels: map[string]string{LabelRole: n.Role, corev1.LabelHostname: name},
			Taints: roleTaints(n.Role),
			Capacity: corev1.ResourceList{
				corev1.ResourceCPU:              *resource.NewMilliQuantity(cpu, resource.DecimalSI),
				corev1.ResourceMemory:           *resource.NewQuantity(memGi<<30, resource.BinarySI),
				corev1.ResourceEphemeralStorage: *resource.NewQuantity(diskGB*1e9, resource.DecimalSI),
				corev1.ResourcePods:             pods,
			},
			Allocatable: corev1.ResourceList{
				corev1.ResourceCPU:              *resource.NewMilliQuantity(allocCPU, resource.DecimalSI),
				corev1.ResourceMemory:           *resource.NewQuantity(allocMem<<30, resource.BinarySI),
				corev1.ResourceEphemeralStorage: *resource.NewQuantity(allocDisk*1e9, resource.DecimalSI),
				corev1.ResourcePods:             pods,
			},
		})
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("instance %s: %s", m.Instance.Name, strings.Join(errs, "; "))
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("instance %s has no nodes (instance.nodes)", m.Instance.Name)
	}
	return nodes, nil
}

// roleTaints gives the taints of a node of role: registry nodes are dedicated to the
// registry, qserv nodes to qserv; other roles are untainted.
func roleTaints(role string) []corev1.Taint {
	switch role {
	case "registry":
		return []corev1.Taint{{Key: TaintDedicated, Value: "registry", Effect: corev1.TaintEffectNoSchedule}}
	case "qserv-czar", "qserv-worker":
		return []corev1.Taint{{Key: TaintDedicated, Value: "qserv", Effect: corev1.TaintEffectNoSchedule}}
	}
	return nil
}
