package testcluster

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/lsst-dm/lsstgen/internal/model"
)

// MaxPodsPerNode is the pods a node accepts: the kubelet's default --max-pods, which the
// model does not change.
const MaxPodsPerNode = 110

// NodesFromModel returns one NodeSpec per node of an instance's model, sorted by name:
// capacity from the hardware (cpu = cores, memory = memoryGiB, ephemeral storage = the
// local disks), allocatable after the instance's reservePerNode (cpu and memory, and the
// image cache off the local disks), and the labels and taints of the node's role as the
// model's roles give them (model.Model.NodeLabels, model.Role.Taints).
func NodesFromModel(m model.Model) ([]NodeSpec, error) {
	r := m.Instance.ReservePerNode
	var nodes []NodeSpec
	var errs []string
	for _, name := range slices.Sorted(maps.Keys(m.Instance.Nodes)) {
		n := m.Instance.Nodes[name]
		role, ok := m.Roles[n.Role]
		if !ok {
			errs = append(errs, fmt.Sprintf("instance.nodes.%q has role %q, which is not among the model's roles (%s)",
				name, n.Role, strings.Join(slices.Sorted(maps.Keys(m.Roles)), ", ")))
			continue
		}
		cpu := int64(n.Cores) * 1000
		memGi := int64(n.MemoryGiB)
		diskGi := int64(n.LocalDiskGiB)
		allocCPU := cpu - int64(r.CPUMillis)
		allocMem := memGi - int64(r.MemoryGiB)
		allocDisk := diskGi - int64(r.ImageCacheGiB)
		if allocCPU <= 0 || allocMem <= 0 || allocDisk < 0 {
			errs = append(errs, fmt.Sprintf("instance.nodes.%q: reservePerNode (%dm cpu, %d GiB memory, %d GiB image cache) leaves nothing of %d cores, %d GiB memory, %d GiB local disk",
				name, r.CPUMillis, r.MemoryGiB, r.ImageCacheGiB, n.Cores, n.MemoryGiB, n.LocalDiskGiB))
			continue
		}
		pods := *resource.NewQuantity(MaxPodsPerNode, resource.DecimalSI)
		nodes = append(nodes, NodeSpec{
			Name:   name,
			Labels: m.NodeLabels(name),
			Taints: slices.Clone(role.Taints),
			Capacity: corev1.ResourceList{
				corev1.ResourceCPU:              *resource.NewMilliQuantity(cpu, resource.DecimalSI),
				corev1.ResourceMemory:           *resource.NewQuantity(memGi<<30, resource.BinarySI),
				corev1.ResourceEphemeralStorage: *resource.NewQuantity(diskGi<<30, resource.BinarySI),
				corev1.ResourcePods:             pods,
			},
			Allocatable: corev1.ResourceList{
				corev1.ResourceCPU:              *resource.NewMilliQuantity(allocCPU, resource.DecimalSI),
				corev1.ResourceMemory:           *resource.NewQuantity(allocMem<<30, resource.BinarySI),
				corev1.ResourceEphemeralStorage: *resource.NewQuantity(allocDisk<<30, resource.BinarySI),
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
