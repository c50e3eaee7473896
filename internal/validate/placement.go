package validate

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"

	"github.com/lsst-dm/lsstgen/internal/model"
)

// The placement simulation: the instance's nodes built from its model (hardware, the
// reserve, each role's labels and taints), and every pod of its workloads placed on them
// as the scheduler's filters would allow (node selector, required node affinity, taints
// and tolerations, required pod anti-affinity by hostname, cpu, memory and
// ephemeral-storage requests against allocatable) and its default resource scoring prefer.
// A node's ephemeral storage is its local disks less the image cache and less the local
// volumes on it (they share the disks). The capacity rules (capacity.go) read its outcome.

const gib = 1 << 30

// node is one node of the instance as the placement sees it.
type node struct {
	name, role string
	labels     map[string]string
	taints     []corev1.Taint
	// allocatable after reservePerNode, and what placed pods use of it.
	cpuMilli, mem int64
	usedCPU       int64
	usedMem       int64
	localDisk     int64 // local disks minus the image cache, in bytes
	// eph is the ephemeral storage pods may request: localDisk less the local volumes on
	// the node; usedEph what placed pods request of it.
	eph, usedEph int64
	placed       []placed
}

type placed struct {
	ns     string
	labels map[string]string
}

// instanceNodes builds the instance's nodes from its model, sorted by name: the hardware
// less the reserve, and the labels and taints of each node's role.
func instanceNodes(m *model.Model) []*node {
	r := m.Instance.ReservePerNode
	var out []*node
	for name, n := range m.Instance.Nodes {
		out = append(out, &node{
			name:      name,
			role:      n.Role,
			labels:    m.NodeLabels(name),
			taints:    m.Roles[n.Role].Taints,
			cpuMilli:  int64(n.Cores)*1000 - int64(r.CPUMillis),
			mem:       int64(n.MemoryGiB-r.MemoryGiB) * gib,
			localDisk: int64(n.LocalDiskGiB-r.ImageCacheGiB) * gib,
			eph:       int64(n.LocalDiskGiB-r.ImageCacheGiB) * gib,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// podRequests is what one pod of the template requests: the larger of its containers' sum
// and its largest init container.
func podRequests(spec *corev1.PodSpec) (cpu, mem, eph int64) {
	for _, ct := range spec.Containers {
		cpu += ct.Resources.Requests.Cpu().MilliValue()
		mem += ct.Resources.Requests.Memory().Value()
		eph += ct.Resources.Requests.StorageEphemeral().Value()
	}
	for _, ct := range spec.InitContainers {
		cpu = max(cpu, ct.Resources.Requests.Cpu().MilliValue())
		mem = max(mem, ct.Resources.Requests.Memory().Value())
		eph = max(eph, ct.Resources.Requests.StorageEphemeral().Value())
	}
	return cpu, mem, eph
}

// reserveLocalVolumes takes the local PersistentVolumes on each node out of its ephemeral
// storage: they are on the same disks. Volumes that overflow their node's disks are
// LSST-CAP-005's finding; they are not taken out again, so that one mistake is reported
// once.
func reserveLocalVolumes(x *index, nodes []*node) {
	used := map[string]int64{}
	for _, o := range x.byKind["PersistentVolume"] {
		if pv, ok := o.typed.(*corev1.PersistentVolume); ok && pv.Spec.Local != nil {
			used[localNode(pv)] += pv.Spec.Capacity.Storage().Value()
		}
	}
	for _, n := range nodes {
		if u := used[n.name]; u <= n.localDisk {
			n.eph -= u
		}
	}
}

// eligible says whether a pod may run on n by its labels and taints (not by room), and if
// not, why.
func eligible(spec *corev1.PodSpec, n *node) (bool, string) {
	for k, v := range spec.NodeSelector {
		if n.labels[k] != v {
			return false, fmt.Sprintf("nodeSelector %s=%s", k, v)
		}
	}
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		ok := false
		for _, t := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			if termMatches(t, n.labels) {
				ok = true
				break
			}
		}
		if !ok {
			return false, "node affinity"
		}
	}
	for _, t := range n.taints {
		if t.Effect != corev1.TaintEffectNoSchedule && t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		tolerated := false
		for i := range spec.Tolerations {
			if spec.Tolerations[i].ToleratesTaint(klog.Background(), &t, false) {
				tolerated = true
				break
			}
		}
		if !tolerated {
			return false, fmt.Sprintf("taint %s=%s:%s", t.Key, t.Value, t.Effect)
		}
	}
	return true, ""
}

func termMatches(t corev1.NodeSelectorTerm, lbls map[string]string) bool {
	if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
		return false
	}
	for _, e := range t.MatchExpressions {
		v, has := lbls[e.Key]
		switch e.Operator {
		case corev1.NodeSelectorOpIn:
			if !has || !slices.Contains(e.Values, v) {
				return false
			}
		case corev1.NodeSelectorOpNotIn:
			if has && slices.Contains(e.Values, v) {
				return false
			}
		case corev1.NodeSelectorOpExists:
			if !has {
				return false
			}
		case corev1.NodeSelectorOpDoesNotExist:
			if has {
				return false
			}
		case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
			if !has || len(e.Values) != 1 {
				return false
			}
			a, err1 := strconv.ParseInt(v, 10, 64)
			b, err2 := strconv.ParseInt(e.Values[0], 10, 64)
			if err1 != nil || err2 != nil || (e.Operator == corev1.NodeSelectorOpGt) != (a > b) || a == b {
				return false
			}
		default:
			return false
		}
	}
	for _, f := range t.MatchFields {
		if f.Key != "metadata.name" {
			return false
		}
		has := slices.Contains(f.Values, lbls[corev1.LabelHostname])
		if (f.Operator == corev1.NodeSelectorOpIn) != has {
			return false
		}
	}
	return true
}

// antiAffine says whether a required pod anti-affinity by hostname of the pod forbids n.
func antiAffine(p *pod, n *node) bool {
	a := p.spec.Affinity
	if a == nil || a.PodAntiAffinity == nil {
		return false
	}
	for _, t := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
		if t.TopologyKey != corev1.LabelHostname || t.LabelSelector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(t.LabelSelector)
		if err != nil {
			continue
		}
		for _, q := range n.placed {
			if q.ns == p.obj.ns && sel.Matches(labels.Set(q.labels)) {
				return true
			}
		}
	}
	return false
}

func hasAntiAffinity(p *pod) bool {
	a := p.spec.Affinity
	return a != nil && a.PodAntiAffinity != nil && len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) > 0
}

// userPodsPath is the instance field that sets how many notebook user pods there are.
const userPodsPath = "instance.aspects.notebook.maxUsers"

// demand is one group of identical pods to place.
type demand struct {
	p             *pod
	cpu, mem, eph int64
	count         int
	path          string // the instance field that sets count
	what          string
}

// userPods says whether d is the notebook's user pods.
func (d demand) userPods() bool { return d.path == userPodsPath }

// demands are the pods of the instance's workloads, and the notebook's users at maxUsers
// (user pods are not objects of the instance: the hub spawns them).
func (c *checker) demands(nodes []*node) []demand {
	var ds []demand
	for _, p := range c.idx.pods {
		cpu, mem, eph := podRequests(p.spec)
		n := p.replicas
		if p.daemon {
			n = 0
			for _, nd := range nodes {
				if ok, _ := eligible(p.spec, nd); ok {
					n++
				}
			}
		}
		ds = append(ds, demand{p: p, cpu: cpu, mem: mem, eph: eph, count: n, path: sourcePath(c.in, p.obj), what: p.obj.id})
	}
	if nb := c.in.Model.Instance.Aspects.Notebook; nb != nil && nb.MaxUsers > 0 {
		// The spawner's own pod where the model gives it; else one made of the per-user
		// requests and nodeSelector.
		meta, spec := &metav1.ObjectMeta{}, &corev1.PodSpec{NodeSelector: nb.User.NodeSelector}
		cpu, mem, eph := int64(nb.User.CPUMillis), int64(nb.User.MemoryGiB)*gib, int64(0)
		if up := c.in.Model.UserPod; up != nil {
			meta, spec = &up.ObjectMeta, &up.Spec
			cpu, mem, eph = podRequests(spec)
		}
		o := &object{kind: "Pod", ns: "notebook-users", name: "notebook-user", id: "Pod/notebook-users/(user pods)"}
		ds = append(ds, demand{
			p:     &pod{obj: o, meta: meta, spec: spec},
			cpu:   cpu,
			mem:   mem,
			eph:   eph,
			count: nb.MaxUsers,
			path:  userPodsPath,
			what:  fmt.Sprintf("%d notebook users", nb.MaxUsers),
		})
	}
	return ds
}

// misfit is a pod the placement found no room for.
type misfit struct {
	d demand
	// on is, for a DaemonSet's pod, the node it does not fit on; nil for a replica.
	on *node
	// cpuLeft, memLeft and ephLeft are what was left on that node.
	cpuLeft, memLeft, ephLeft int64
	// replica is, for a replica, its index: the first of the demand that fits no node
	// (the later ones are not tried).
	replica int
	// why says, node by node, why the replica fits none of them.
	why []string
	// tooBig: the replica's requests exceed every eligible node's allocatable, empty.
	tooBig bool
}

// simulate places every demand's pods over the nodes as the scheduler would score them
// (leastAllocated), filling their used resources: DaemonSets first (one pod on every
// eligible node), then the largest pods first, the notebook's users last. It returns the pods that found no room, in the order
// they were met.
func simulate(ds []demand, nodes []*node) []misfit {
	ds = slices.Clone(ds)
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.p.daemon != b.p.daemon {
			return a.p.daemon
		}
		if a.userPods() != b.userPods() {
			return b.userPods()
		}
		if a.cpu != b.cpu {
			return a.cpu > b.cpu
		}
		return a.mem > b.mem
	})
	var out []misfit
	for _, d := range ds {
		if d.p.daemon {
			for _, n := range nodes {
				if ok, _ := eligible(d.p.spec, n); !ok {
					continue
				}
				if !fits(n, d) {
					out = append(out, misfit{d: d, on: n, cpuLeft: n.cpuMilli - n.usedCPU, memLeft: n.mem - n.usedMem, ephLeft: n.eph - n.usedEph})
					continue
				}
				place(n, d)
			}
			continue
		}
		count := d.count
		if d.cpu <= 0 && d.mem <= 0 && d.eph <= 0 && !hasAntiAffinity(d.p) {
			// Pods that request nothing all fit wherever the first one does.
			count = min(count, 1)
		}
		for i := 0; i < count; i++ {
			if n := leastAllocated(d, nodes); n != nil {
				place(n, d)
				continue
			}
			out = append(out, unplaced(d, i, nodes))
			break
		}
	}
	return out
}

func place(n *node, d demand) {
	n.usedCPU += d.cpu
	n.usedMem += d.mem
	n.usedEph += d.eph
	n.placed = append(n.placed, placed{ns: d.p.obj.ns, labels: d.p.meta.Labels})
}

// leastAllocated returns the node d's next pod goes to: of the nodes it may run on with
// room for it, the one the scheduler's default resource scoring prefers (NodeResourcesFit's
// LeastAllocated: the mean over cpu and memory of the share of allocatable left once the
// pod is placed, in whole points of 100; ephemeral storage is filtered on, not scored), the first by name among equals. The scheduler
// thereby spreads pods over the nodes; packing them onto the first nodes instead leaves
// one resource short there and the other on the rest, and fits fewer notebook users than
// the scheduler does.
// fits says whether d's pod fits in what is left of n.
func fits(n *node, d demand) bool {
	return n.usedCPU+d.cpu <= n.cpuMilli && n.usedMem+d.mem <= n.mem && n.usedEph+d.eph <= n.eph
}

func leastAllocated(d demand, nodes []*node) *node {
	var best *node
	bestScore := int64(-1)
	for _, n := range nodes {
		if ok, _ := eligible(d.p.spec, n); !ok || antiAffine(d.p, n) {
			continue
		}
		if !fits(n, d) {
			continue
		}
		if s := (leftScore(n.usedCPU+d.cpu, n.cpuMilli) + leftScore(n.usedMem+d.mem, n.mem)) / 2; s > bestScore {
			best, bestScore = n, s
		}
	}
	return best
}

// leftScore is the share of allocatable left once requested is taken, from 0 to 100 (the
// scheduler's leastRequestedScore).
func leftScore(requested, allocatable int64) int64 {
	if allocatable <= 0 || requested > allocatable {
		return 0
	}
	return (allocatable - requested) * 100 / allocatable
}

// unplaced explains why replica i of d fits no node, as the nodes stand now.
func unplaced(d demand, i int, nodes []*node) misfit {
	m := misfit{d: d, replica: i, tooBig: true}
	excluded := map[string][]string{} // reason → nodes it excludes
	var reasons []string
	for _, n := range nodes {
		if ok, reason := eligible(d.p.spec, n); !ok {
			if excluded[reason] == nil {
				reasons = append(reasons, reason)
			}
			excluded[reason] = append(excluded[reason], n.name)
			continue
		}
		if antiAffine(d.p, n) {
			m.why = append(m.why, n.name+": pod anti-affinity")
			m.tooBig = false
			continue
		}
		if d.cpu <= n.cpuMilli && d.mem <= n.mem && d.eph <= n.eph {
			m.tooBig = false
		}
		m.why = append(m.why, fmt.Sprintf("%s: %s cpu, %s memory, %s ephemeral storage left", n.name, milli(n.cpuMilli-n.usedCPU), bytesGi(n.mem-n.usedMem), bytesGi(n.eph-n.usedEph)))
	}
	for _, r := range reasons {
		m.why = append(m.why, strings.Join(excluded[r], ", ")+": "+r)
	}
	return m
}
