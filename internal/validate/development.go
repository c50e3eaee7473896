package validate

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/privilege"
)

// The development areas' rules (schema/development.cue): what a space gives its admins
// stays in the space (LSST-DEV-001), a space is shaped as the model makes it (LSST-DEV-002),
// a prerelease writes no storage another namespace uses (LSST-DEV-003), and the spaces'
// quotas fit what the nodes spare (LSST-CAP-007, run with the capacity rules).

// devAspect is the aspect of a development space's namespace.
const devAspect = "development"

// devNamespaces are the instance's development spaces, sorted.
func (c *checker) devNamespaces() []string {
	var out []string
	for name, ns := range c.in.Model.Namespaces {
		if ns.Aspect == devAspect {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// checkDevelopment runs LSST-DEV-001, -002 and -003.
func checkDevelopment(c *checker) {
	checkPrereleaseStorage(c)
	spaces := c.devNamespaces()
	if len(spaces) == 0 {
		return
	}
	for _, ns := range spaces {
		checkDevSpace(c, ns)
	}
	checkDevReach(c, spaces)
}

// devProbe is the subject that stands, in the analysis, for what a development space's
// bindings give its admins, apart from what else their groups hold.
func devProbe(ns string) privilege.Subject {
	return privilege.Group("lsst.org:development:" + ns)
}

// checkDevReach: whatever a development space's RoleBindings give its admins (running
// pods as its ServiceAccounts included) reaches nothing outside the space. Their groups may
// administer platform namespaces besides (the model says so, and LSST-PRIV-003 holds
// those); the space itself must not lead there.
func checkDevReach(c *checker, spaces []string) {
	objs, err := c.privilegeObjects()
	if err != nil {
		return // the schema rules report what does not decode
	}
	// Each binding of a space that names one of its admin groups also names the space's
	// probe.
	bindings := slices.Clone(objs.RoleBindings)
	for i, b := range bindings {
		if !slices.Contains(spaces, b.Namespace) {
			continue
		}
		admins := c.in.Model.Namespaces[b.Namespace].Admins
		for _, s := range b.Subjects {
			if s.Kind == rbacv1.GroupKind && slices.Contains(admins, s.Name) {
				probe := devProbe(b.Namespace)
				b.Subjects = append(slices.Clone(b.Subjects), rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: probe.Name})
				bindings[i] = b
				break
			}
		}
	}
	objs.RoleBindings = bindings
	a, err := privilege.Analyze(objs, InstanceWorld(c.in.Model))
	if err != nil {
		return
	}
	for _, ns := range spaces {
		admins := strings.Join(c.in.Model.Namespaces[ns].Admins, ", ")
		c.reportEach(DevReach, devTeamPath(c.in, ns)+".admins", a.BeyondNamespaces(devProbe(ns), ns), func(r privilege.Reach, more int) string {
			return fmt.Sprintf("the admins of development space %s (%s) reach %s outside it: %s%s; a development space leads nowhere else: bind nothing of it in another namespace and give its ServiceAccounts no grant beyond it",
				ns, admins, r.Power, strings.Replace(r.String(), devProbe(ns).String(), "its admins", 1), andMore(more))
		})
	}
}

// checkDevSpace: the space enforces restricted, its quota bounds every request and limit
// its pods can make and opens no node port or load balancer, its containers get defaults,
// and its only claims are /datasets, read-only.
func checkDevSpace(c *checker, ns string) {
	path := devTeamPath(c.in, ns)
	nsObj := c.idx.byKey[key{"Namespace", "", ns}]
	if nsObj != nil {
		if lvl := nsObj.u.GetLabels()["pod-security.kubernetes.io/enforce"]; lvl != "restricted" {
			c.report(DevSpace, nsObj, path, "development space %s enforces Pod Security level %q; a development space is restricted: set the label pod-security.kubernetes.io/enforce to restricted", ns, lvl)
		}
	}

	claims := c.idx.byNamespaceKind(ns, "PersistentVolumeClaim")
	for _, o := range claims {
		if !c.datasetsClaim(o) {
			c.report(DevSpace, o, path, "development space %s holds claim %s, which is not GPFS /datasets read-only; a development space has no storage but /datasets: remove the claim", ns, o.name)
		}
	}

	quotas := c.idx.byNamespaceKind(ns, "ResourceQuota")
	if len(quotas) == 0 {
		c.report(DevSpace, nsObj, path+".quota", "development space %s has no ResourceQuota; render the space's quota (platform/development.cue)", ns)
	}
	hard := corev1.ResourceList{}
	for _, o := range quotas {
		q, ok := o.typed.(*corev1.ResourceQuota)
		if !ok {
			continue
		}
		for name, v := range q.Spec.Hard {
			if cur, seen := hard[name]; !seen || v.Cmp(cur) < 0 {
				hard[name] = v // the tightest quota holds
			}
		}
	}
	if len(quotas) > 0 {
		var missing []string
		for _, r := range []corev1.ResourceName{corev1.ResourcePods, corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsEphemeralStorage, corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceLimitsEphemeralStorage} {
			if _, ok := hard[r]; !ok {
				missing = append(missing, string(r))
			}
		}
		if len(missing) > 0 {
			c.report(DevSpace, quotas[0], path+".quota", "the quota of development space %s does not bound %s; every request and limit of a space is bounded, so that LSST-CAP-007 can hold the space against the nodes", ns, strings.Join(missing, ", "))
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers} {
			if v, ok := hard[r]; !ok || !v.IsZero() {
				c.report(DevSpace, quotas[0], path+".quota", "the quota of development space %s lets its Services open %s; a space is reached through its own namespace only: set %s to 0", ns, r, r)
			}
		}
		if v, ok := hard[corev1.ResourcePersistentVolumeClaims]; !ok || v.Cmp(*resource.NewQuantity(int64(len(claims)), resource.DecimalSI)) > 0 {
			c.report(DevSpace, quotas[0], path+".quota", "the quota of development space %s lets its admins make claims beyond the %d rendered; a space has no storage but /datasets: set persistentvolumeclaims to %d", ns, len(claims), len(claims))
		}
	}

	defaults := false
	for _, o := range c.idx.byNamespaceKind(ns, "LimitRange") {
		if lr, ok := o.typed.(*corev1.LimitRange); ok {
			for _, l := range lr.Spec.Limits {
				if l.Type == corev1.LimitTypeContainer && !l.DefaultRequest.Cpu().IsZero() && !l.DefaultRequest.Memory().IsZero() {
					defaults = true
				}
			}
		}
	}
	if !defaults {
		c.report(DevSpace, nsObj, path+".container", "development space %s has no LimitRange giving containers default cpu and memory requests; the quota would refuse every pod that sets none: render the space's LimitRange", ns)
	}
}

// datasetsClaim says whether o is a read-only claim of a read-only NFS volume.
func (c *checker) datasetsClaim(o *object) bool {
	pvc, ok := o.typed.(*corev1.PersistentVolumeClaim)
	if !ok || pvc.Spec.VolumeName == "" || !slices.Equal(pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadOnlyMany}) {
		return false
	}
	pv, ok := c.idx.byKey[key{"PersistentVolume", "", pvc.Spec.VolumeName}]
	if !ok {
		return false
	}
	v, ok := pv.typed.(*corev1.PersistentVolume)
	return ok && v.Spec.NFS != nil && v.Spec.NFS.ReadOnly
}

// checkDevQuotas (LSST-CAP-007): the development spaces' quotas, together, fit what the
// nodes their pods may run on (any pod without tolerations: the nodes no role dedicates)
// have left once the placement has put every pod of the platform and the notebook's users
// at maxUsers there. nodes are the placement's, after it ran.
func checkDevQuotas(c *checker, nodes []*node) {
	var cpuLeft, memLeft, ephLeft int64
	var names []string
	for _, n := range nodes {
		if ok, _ := eligible(&corev1.PodSpec{}, n); !ok {
			continue
		}
		names = append(names, n.name)
		cpuLeft += max(n.cpuMilli-n.usedCPU, 0)
		memLeft += max(n.mem-n.usedMem, 0)
		ephLeft += max(n.eph-n.usedEph, 0)
	}
	var cpu, mem, eph int64
	for _, ns := range c.devNamespaces() {
		for _, o := range c.idx.byNamespaceKind(ns, "ResourceQuota") {
			q, ok := o.typed.(*corev1.ResourceQuota)
			if !ok {
				continue
			}
			h := q.Spec.Hard
			qc := quantityOf(h, corev1.ResourceRequestsCPU, corev1.ResourceCPU)
			qm := quantityOf(h, corev1.ResourceRequestsMemory, corev1.ResourceMemory)
			qe := quantityOf(h, corev1.ResourceRequestsEphemeralStorage, corev1.ResourceEphemeralStorage)
			cpu, mem, eph = cpu+qc.MilliValue(), mem+qm.Value(), eph+qe.Value()
			var over []string
			if cpu > cpuLeft {
				over = append(over, fmt.Sprintf("cpu %s of %s", milli(cpu), milli(cpuLeft)))
			}
			if mem > memLeft {
				over = append(over, fmt.Sprintf("memory %s of %s", bytesGi(mem), bytesGi(memLeft)))
			}
			if eph > ephLeft {
				over = append(over, fmt.Sprintf("ephemeral storage %s of %s", bytesGi(eph), bytesGi(ephLeft)))
			}
			if len(over) > 0 {
				c.report(CapDevQuota, o, devTeamPath(c.in, ns)+".quota", "the development spaces' quotas up to %s's ask for %s that the nodes their pods may run on (%s) have left once the platform and the notebook's users at maxUsers are placed; lower the quota, the platform's requests or maxUsers, or add general nodes",
					ns, strings.Join(over, ", "), strings.Join(names, ", "))
			}
		}
	}
}

// quantityOf is the first of names that h holds, or zero.
func quantityOf(h corev1.ResourceList, names ...corev1.ResourceName) resource.Quantity {
	for _, n := range names {
		if v, ok := h[n]; ok {
			return v
		}
	}
	return resource.Quantity{}
}

// checkPrereleaseStorage (LSST-DEV-003): no volume a prerelease's claims may write is
// storage (an NFS export, or a local or host path on a node) that a claim of another
// namespace also uses: a candidate must not write the stable aspect's data.
func checkPrereleaseStorage(c *checker) {
	users := map[string][]string{} // storage → the namespaces whose claims use it
	type claim struct {
		o       *object
		storage string
	}
	var writable []claim
	for _, o := range c.idx.byKind["PersistentVolumeClaim"] {
		pvc, ok := o.typed.(*corev1.PersistentVolumeClaim)
		if !ok || pvc.Spec.VolumeName == "" {
			continue
		}
		pvo := c.idx.byKey[key{"PersistentVolume", "", pvc.Spec.VolumeName}]
		if pvo == nil {
			continue // LSST-REF-005's finding
		}
		pv, ok := pvo.typed.(*corev1.PersistentVolume)
		if !ok {
			continue
		}
		st := storageOf(pv)
		if st == "" {
			continue
		}
		if !slices.Contains(users[st], o.ns) {
			users[st] = append(users[st], o.ns)
		}
		if c.prerelease(o.ns) != "" && volumeWritable(pv, pvc) {
			writable = append(writable, claim{o, st})
		}
	}
	for _, w := range writable {
		var others []string
		for _, ns := range users[w.storage] {
			if ns != w.o.ns {
				others = append(others, ns)
			}
		}
		if len(others) > 0 {
			c.report(DevPrereleaseStorage, w.o, "instance.development.prerelease."+c.prerelease(w.o.ns), "the prerelease in %s may write %s, which the claims of %s also use; a prerelease shares no writable storage with the stable platform: give it storage of its own, or make the volume read-only",
				w.o.ns, w.storage, strings.Join(others, ", "))
		}
	}
}

// prerelease is the aspect namespace ns holds a prerelease of (its Namespace's label
// lsst.org/prerelease), or "".
func (c *checker) prerelease(ns string) string {
	if o := c.idx.byKey[key{"Namespace", "", ns}]; o != nil {
		return o.u.GetLabels()[manifest.LabelPrerelease]
	}
	return ""
}

// storageOf names where a volume's data is: an NFS export, or a local or host path (on
// the nodes its affinity names); "" for other sources.
func storageOf(pv *corev1.PersistentVolume) string {
	var nodes []string
	if a := pv.Spec.NodeAffinity; a != nil && a.Required != nil {
		for _, t := range a.Required.NodeSelectorTerms {
			for _, e := range t.MatchExpressions {
				nodes = append(nodes, e.Values...)
			}
		}
	}
	on := ""
	if len(nodes) > 0 {
		slices.Sort(nodes)
		on = " on " + strings.Join(nodes, ", ")
	}
	switch s := pv.Spec.PersistentVolumeSource; {
	case s.NFS != nil:
		return "NFS " + s.NFS.Server + ":" + path.Clean(s.NFS.Path)
	case s.Local != nil:
		return "local path " + path.Clean(s.Local.Path) + on
	case s.HostPath != nil:
		return "host path " + path.Clean(s.HostPath.Path) + on
	}
	return ""
}

// volumeWritable says whether a pod of the claim may write the volume.
func volumeWritable(pv *corev1.PersistentVolume, pvc *corev1.PersistentVolumeClaim) bool {
	if pv.Spec.NFS != nil && pv.Spec.NFS.ReadOnly {
		return false
	}
	for _, m := range [][]corev1.PersistentVolumeAccessMode{pv.Spec.AccessModes, pvc.Spec.AccessModes} {
		if len(m) > 0 && !slices.ContainsFunc(m, func(a corev1.PersistentVolumeAccessMode) bool { return a != corev1.ReadOnlyMany }) {
			return false
		}
	}
	return true
}
