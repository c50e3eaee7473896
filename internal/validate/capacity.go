package validate

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// The capacity rules: the instance's requests against its nodes, where each pod can run
// (the placement simulation of placement.go), qserv on its local disks, the registry on its
// dedicated node, local volumes within their nodes' disks, and each node claimed once.

// checkCapacity runs the capacity and placement rules.
func checkCapacity(c *checker) {
	nodes := instanceNodes(&c.in.Model)
	if len(nodes) == 0 {
		return
	}
	reserveLocalVolumes(c.idx, nodes)
	ds := c.demands(nodes)
	checkTotals(c, nodes, ds)
	if checkPlacement(c, nodes, ds) {
		checkDevQuotas(c, nodes)
	}
	checkQserv(c, nodes)
	checkRegistryNode(c, nodes)
	checkLocalVolumes(c, nodes)
}

func checkTotals(c *checker, nodes []*node, ds []demand) {
	// Sums in float64: requests times replicas may exceed int64 in a hostile input.
	var capCPU, capMem, capEph, cpu, mem, eph float64
	for _, n := range nodes {
		capCPU += float64(max(n.cpuMilli, 0))
		capMem += float64(max(n.mem, 0))
		capEph += float64(max(n.eph, 0))
	}
	for _, d := range ds {
		cpu += float64(d.cpu) * float64(d.count)
		mem += float64(d.mem) * float64(d.count)
		eph += float64(d.eph) * float64(d.count)
	}
	if eph > capEph {
		c.report(CapTotal, nil, "instance.nodes", "the instance requests %s of ephemeral storage but its %d nodes' local disks have %s after the image cache and the local volumes; add nodes, lower the containers' ephemeralStorageMiB, or shrink reservePerNode.imageCacheGiB or the local volumes", bytesGiF(eph), len(nodes), bytesGiF(capEph))
	}
	if cpu > capCPU {
		c.report(CapTotal, nil, "instance.nodes", "the instance requests %s cpu (notebook users at maxUsers included) but its %d nodes have %s allocatable after reservePerNode; add nodes or lower replicas, resources or maxUsers", milliF(cpu), len(nodes), milliF(capCPU))
	}
	if mem > capMem {
		c.report(CapTotal, nil, "instance.nodes", "the instance requests %s memory (notebook users at maxUsers included) but its %d nodes have %s allocatable after reservePerNode; add nodes or lower replicas, resources or maxUsers", bytesGiF(mem), len(nodes), bytesGiF(capMem))
	}
}

// checkPlacement: every pod of every workload, and every notebook user at maxUsers, finds
// a node it may run on with room for its requests. It says whether all did (what is left
// then is the nodes' spare capacity, LSST-CAP-007's).
func checkPlacement(c *checker, nodes []*node, ds []demand) bool {
	misfits := simulate(ds, nodes)
	for _, m := range misfits {
		d := m.d
		if m.on != nil {
			c.report(CapPlacement, d.p.obj, d.path+".resources", "its pod on node %s (cpu %s, memory %s, ephemeral storage %s) does not fit: the node has %s cpu, %s memory and %s ephemeral storage left; lower its requests or free the node", m.on.name, milli(d.cpu), bytesGi(d.mem), bytesGi(d.eph), milli(m.cpuLeft), bytesGi(m.memLeft), bytesGi(m.ephLeft))
			continue
		}
		path, fix := d.path+".replicas", "lower the replicas or requests, or add nodes of the role it selects"
		if m.tooBig {
			path, fix = d.path+".resources", "its requests exceed every eligible node's allocatable: lower them"
		}
		what := "replica"
		if d.userPods() {
			path, fix = d.path, "lower maxUsers or the per-user requests, or add general nodes"
			what = "user pod"
		}
		c.report(CapPlacement, d.p.obj, path, "%s %d of %d (cpu %s, memory %s, ephemeral storage %s) fits no node (%s); %s", what, m.replica+1, d.count, milli(d.cpu), bytesGi(d.mem), bytesGi(d.eph), strings.Join(m.why, "; "), fix)
	}
	return len(misfits) == 0
}

// checkQserv: pods of the qserv namespace may run only on nodes of the roles dedicated to
// qserv, whose local disks hold their claims.
func checkQserv(c *checker, nodes []*node) {
	qservRoles := c.in.Model.RolesDedicatedTo("qserv")
	for _, p := range c.idx.podsByNS["qserv"] {
		var claim int64
		for _, t := range p.claims {
			if t.Spec.Resources.Requests != nil {
				claim += t.Spec.Resources.Requests.Storage().Value()
			}
		}
		for _, n := range nodes {
			if ok, _ := eligible(p.spec, n); !ok {
				continue
			}
			if !slices.Contains(qservRoles, n.role) {
				c.report(CapQservLocalDisk, p.obj, "", "can be scheduled on node %s of role %s; qserv pods run only on qserv nodes with local disks: select role %s", n.name, n.role, strings.Join(qservRoles, " or "))
				continue
			}
			if claim > n.localDisk {
				c.report(CapQservLocalDisk, p.obj, nodePath(n.name), "claims %s of local disk but node %s has %s after the image cache; lower the data size or use nodes with larger disks", bytesGi(claim), n.name, bytesGi(n.localDisk))
			}
		}
	}
}

// checkRegistryNode: the registry runs on its dedicated node, alone but for DaemonSets.
func checkRegistryNode(c *checker, nodes []*node) {
	rn := c.in.Model.Instance.Registry.Node
	if rn == "" {
		return
	}
	var reg *node
	for _, n := range nodes {
		if n.name == rn {
			reg = n
		}
	}
	registryRoles := c.in.Model.RolesDedicatedTo("registry")
	if reg == nil || !slices.Contains(registryRoles, reg.role) {
		c.report(CapRegistryNode, nil, "instance.registry.node", "registry.node %q is not a node of the instance with a role dedicated to the registry; claim it in nodes with role %q", rn, strings.Join(registryRoles, " or "))
		return
	}
	for _, p := range c.idx.pods {
		if p.daemon {
			continue
		}
		inRegistry := p.obj.ns == "registry"
		for _, n := range nodes {
			ok, _ := eligible(p.spec, n)
			switch {
			case inRegistry && ok && n != reg:
				c.report(CapRegistryNode, p.obj, "", "the registry can be scheduled on node %s; pin it to its dedicated node %s (nodeSelector %s=%s)", n.name, rn, corev1.LabelHostname, rn)
			case inRegistry && !ok && n == reg:
				c.report(CapRegistryNode, p.obj, "", "the registry cannot be scheduled on its dedicated node %s; select it and tolerate its taint", rn)
			case !inRegistry && ok && n == reg:
				c.report(CapRegistryNode, p.obj, "", "can be scheduled on node %s, dedicated to the registry; select other nodes or drop the toleration of its taint %s", rn, taintsText(reg.taints))
			}
		}
	}
}

// checkLocalVolumes: local PersistentVolumes name nodes of the instance and fit their disks.
func checkLocalVolumes(c *checker, nodes []*node) {
	byName := map[string]*node{}
	for _, n := range nodes {
		byName[n.name] = n
	}
	used := map[string]int64{}
	var order []string
	for _, o := range c.idx.byKind["PersistentVolume"] {
		pv, ok := o.typed.(*corev1.PersistentVolume)
		if !ok || pv.Spec.Local == nil {
			continue
		}
		host := localNode(pv)
		if byName[host] == nil {
			c.report(CapLocalDisk, o, "", "local volume is on node %q, which is not a node of the instance; pin it (nodeAffinity %s) to one of its nodes", host, corev1.LabelHostname)
			continue
		}
		if _, seen := used[host]; !seen {
			order = append(order, host)
		}
		q := pv.Spec.Capacity[corev1.ResourceStorage]
		used[host] += q.Value()
	}
	for _, h := range order {
		if n := byName[h]; used[h] > n.localDisk {
			c.report(CapLocalDisk, nil, nodePath(h), "local volumes on node %s hold %s but its local disks have %s after the %dGi image cache; shrink them or move some to another node", h, bytesGi(used[h]), bytesGi(n.localDisk), c.in.Model.Instance.ReservePerNode.ImageCacheGiB)
		}
	}
}

// localNode is the hostname a local PersistentVolume is pinned to.
func localNode(pv *corev1.PersistentVolume) string {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return ""
	}
	for _, t := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		for _, e := range t.MatchExpressions {
			if e.Key == corev1.LabelHostname && e.Operator == corev1.NodeSelectorOpIn && len(e.Values) == 1 {
				return e.Values[0]
			}
		}
	}
	return ""
}

// checkNodesClaimedOnce reports every node claimed by more than one instance, at each claim.
func checkNodesClaimedOnce(instances []Instance) []Finding {
	claims := map[string][]*Instance{}
	for i := range instances {
		in := &instances[i]
		for name, n := range in.Model.Instance.Nodes {
			k := n.Site + "/" + name
			claims[k] = append(claims[k], in)
		}
	}
	var out []Finding
	for k, ins := range claims {
		if len(ins) < 2 {
			continue
		}
		_, name, _ := strings.Cut(k, "/")
		var names []string
		for _, in := range ins {
			names = append(names, in.Name)
		}
		sort.Strings(names)
		for _, in := range ins {
			out = append(out, Finding{
				Rule:     CapNodeClaimedTwice,
				Severity: ruleByID(CapNodeClaimedTwice).Severity,
				Instance: in.Name,
				Message:  fmt.Sprintf("node %s is claimed by instances %s; a physical node belongs to one instance: give each its own nodes", name, strings.Join(names, ", ")),
				Pos:      lookup(in.Sources, nodePath(name)),
			})
		}
	}
	return out
}

// taintsText prints taints as key=value:effect, comma-separated.
func taintsText(ts []corev1.Taint) string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Key+"="+t.Value+":"+string(t.Effect))
	}
	return strings.Join(out, ", ")
}

// milli prints millicores as cores.
func milli(m int64) string { return strconv.FormatFloat(float64(m)/1000, 'f', -1, 64) }

func bytesGi(b int64) string { return fmt.Sprintf("%.1fGi", float64(b)/gib) }

func milliF(m float64) string { return strconv.FormatFloat(m/1000, 'f', -1, 64) }

func bytesGiF(b float64) string { return fmt.Sprintf("%.1fGi", b/gib) }
