package validate

import (
	"net"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// AnnotationWhitelist is ingress-nginx's source-range allow list.
const AnnotationWhitelist = "nginx.ingress.kubernetes.io/whitelist-source-range"

// checkNotes runs the planning notes' own rules.
func checkNotes(c *checker) {
	checkGPFSNeedsLDAP(c)
	checkDatasetsReadOnly(c)
	checkExposure(c)
	checkNamespaceAdmins(c)
	checkLogForwarder(c)
	checkNotebookLogin(c)
	checkIngressDomain(c)
	checkHostAccess(c)
}

// gpfsPV says whether a PersistentVolume is an NFS export of the instance's GPFS, and
// whether it is /datasets.
func gpfsPV(c *checker, pv *corev1.PersistentVolume) (gpfs, datasets bool) {
	if pv.Spec.NFS == nil {
		return false, false
	}
	return gpfsExport(c, pv.Spec.NFS.Server, pv.Spec.NFS.Path)
}

// gpfsExport says whether an NFS export is of the instance's GPFS (its server, or a path
// under /gpfs/), and whether it is /datasets.
func gpfsExport(c *checker, server, path string) (gpfs, datasets bool) {
	gs := c.in.Model.Instance.Storage.GPFS.Server
	gpfs = (gs != "" && server == gs) || strings.HasPrefix(path, "/gpfs/")
	datasets = strings.HasSuffix(strings.TrimRight(path, "/"), "/datasets")
	return gpfs, datasets
}

// volume is a PersistentVolume of the instance that decodes.
type volume struct {
	obj *object
	pv  *corev1.PersistentVolume
}

// persistentVolumes are the instance's PersistentVolumes that decode, in index order.
func persistentVolumes(c *checker) []volume {
	var out []volume
	for _, o := range c.idx.byKind["PersistentVolume"] {
		if pv, ok := o.typed.(*corev1.PersistentVolume); ok {
			out = append(out, volume{o, pv})
		}
	}
	return out
}

// checkGPFSNeedsLDAP: GPFS home, project and scratch are owned by NCSA LDAP's UIDs, which
// CILogon's do not match. The schema makes an instance that mounts them take UIDs from
// LDAP; this checks that the rendered objects do so: only the notebook's user pods mount
// them, and the hub's spawner gives those pods each user's LDAP UID and GID. A workload's
// pod template has one identity for every user, so it may not mount them at all.
func checkGPFSNeedsLDAP(c *checker) {
	claims := gpfsUserClaims(c)
	for _, p := range c.idx.pods {
		for _, v := range p.spec.Volumes {
			switch {
			case v.PersistentVolumeClaim != nil && claims[p.obj.ns+"/"+v.PersistentVolumeClaim.ClaimName] != "":
				c.report(NotesGPFSNeedsLDAP, p.obj, "", "volume %s mounts GPFS %s (claim %s), but a pod template runs with one identity for every user, not the user's LDAP UID; GPFS home, project and scratch are for the notebook's user pods only: drop the volume", v.Name, claims[p.obj.ns+"/"+v.PersistentVolumeClaim.ClaimName], v.PersistentVolumeClaim.ClaimName)
			case v.NFS != nil && gpfsUserExport(c, v.NFS.Server, v.NFS.Path):
				c.report(NotesGPFSNeedsLDAP, p.obj, "", "volume %s mounts GPFS %s from %s, but a pod template runs with one identity for every user, not the user's LDAP UID; GPFS home, project and scratch are for the notebook's user pods only: drop the volume", v.Name, v.NFS.Path, v.NFS.Server)
			}
		}
	}
	for _, o := range c.idx.byKind["ConfigMap"] {
		cm, ok := o.typed.(*corev1.ConfigMap)
		if !ok {
			continue
		}
		keys := make([]string, 0, len(cm.Data))
		for k := range cm.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !isHubConfig(k, cm.Data[k]) {
				continue
			}
			h := parseHubConfig(cm.Data, k)
			ns := h.namespace
			if ns == "" {
				ns = o.ns // KubeSpawner's default: the hub's own namespace
			}
			var mounted []string
			for _, cl := range h.claims {
				if path := claims[ns+"/"+cl]; path != "" {
					mounted = append(mounted, cl+" ("+path+")")
				}
			}
			if len(mounted) == 0 {
				continue
			}
			if gap := h.ldapIdentityGap(); gap != "" {
				c.report(NotesGPFSNeedsLDAP, o, "instance.userMapping.uidSource", "%s gives user pods in %s the GPFS claims %s but does not take their UIDs from LDAP: %s. CILogon's UIDs do not match NCSA LDAP's, which own GPFS: set c.KubeSpawner.pre_spawn_hook to a function that looks the user up in LDAP and sets spawner.uid and spawner.gid from uidNumber and gidNumber", k, ns, strings.Join(mounted, ", "), gap)
			}
		}
	}
}

// gpfsUserExport says whether an NFS export is one of the instance's GPFS file systems
// other than /datasets: home, project or scratch, which LDAP's UIDs own.
func gpfsUserExport(c *checker, server, path string) bool {
	gpfs, ds := gpfsExport(c, server, path)
	return gpfs && !ds
}

// gpfsUserClaims maps namespace/claim to the GPFS path of the claims of GPFS home,
// project and scratch: those a GPFS PersistentVolume's claimRef reserves, and those whose
// volumeName names one.
func gpfsUserClaims(c *checker) map[string]string {
	out := map[string]string{}
	paths := map[string]string{}
	for _, v := range persistentVolumes(c) {
		if v.pv.Spec.NFS == nil || !gpfsUserExport(c, v.pv.Spec.NFS.Server, v.pv.Spec.NFS.Path) {
			continue
		}
		paths[v.obj.name] = v.pv.Spec.NFS.Path
		if r := v.pv.Spec.ClaimRef; r != nil {
			out[r.Namespace+"/"+r.Name] = v.pv.Spec.NFS.Path
		}
	}
	for _, o := range c.idx.byKind["PersistentVolumeClaim"] {
		if pvc, ok := o.typed.(*corev1.PersistentVolumeClaim); ok && paths[pvc.Spec.VolumeName] != "" {
			out[o.ns+"/"+o.name] = paths[pvc.Spec.VolumeName]
		}
	}
	return out
}

// checkDatasetsReadOnly: /datasets is read-only everywhere: its PersistentVolumes, the
// claims bound to them, and every pod volume and mount of it.
func checkDatasetsReadOnly(c *checker) {
	claims := checkDatasetVolumes(c)
	checkDatasetClaims(c, claims)
	checkDatasetMounts(c, claims)
}

// checkDatasetVolumes reports /datasets PersistentVolumes that are not read-only, and
// returns the claims (namespace/name) their claimRefs reserve them for.
func checkDatasetVolumes(c *checker) map[string]bool {
	claims := map[string]bool{}
	for _, v := range persistentVolumes(c) {
		o, pv := v.obj, v.pv
		if _, ds := gpfsPV(c, pv); !ds {
			continue
		}
		if !pv.Spec.NFS.ReadOnly {
			c.report(NotesDatasetsReadOnly, o, "", "/datasets export %s is mounted read-write; set nfs.readOnly true", pv.Spec.NFS.Path)
		}
		for _, m := range pv.Spec.AccessModes {
			if m != corev1.ReadOnlyMany {
				c.report(NotesDatasetsReadOnly, o, "", "/datasets volume has access mode %s; use ReadOnlyMany only", m)
			}
		}
		if !slices.Contains(pv.Spec.MountOptions, "ro") {
			c.report(NotesDatasetsReadOnly, o, "", "/datasets volume lacks mount option \"ro\"; add it")
		}
		if r := pv.Spec.ClaimRef; r != nil {
			claims[r.Namespace+"/"+r.Name] = true
		}
	}
	return claims
}

// checkDatasetClaims adds to claims those that name a /datasets volume, and reports the
// access modes of every claim of /datasets that are not ReadOnlyMany.
func checkDatasetClaims(c *checker, claims map[string]bool) {
	for _, o := range c.idx.byKind["PersistentVolumeClaim"] {
		pvc, ok := o.typed.(*corev1.PersistentVolumeClaim)
		if !ok {
			continue
		}
		if pv := c.idx.get("PersistentVolume", "", pvc.Spec.VolumeName); pv != nil {
			if t, ok := pv.typed.(*corev1.PersistentVolume); ok {
				if _, ds := gpfsPV(c, t); ds {
					claims[o.ns+"/"+o.name] = true
				}
			}
		}
		// The platform's claim of /datasets has this name in every namespace (the
		// admission policy knows it by it): one that is bound to nothing yet is one too.
		if o.name == "gpfs-datasets" {
			claims[o.ns+"/"+o.name] = true
		}
		if !claims[o.ns+"/"+o.name] {
			continue
		}
		for _, m := range pvc.Spec.AccessModes {
			if m != corev1.ReadOnlyMany {
				c.report(NotesDatasetsReadOnly, o, "", "claim of /datasets asks for access mode %s; use ReadOnlyMany only", m)
			}
		}
	}
}

// checkDatasetMounts reports pod volumes of a /datasets claim that are not readOnly, and
// container mounts of /datasets (by volume or by path) that are read-write.
func checkDatasetMounts(c *checker, claims map[string]bool) {
	for _, p := range c.idx.pods {
		dsVolumes := map[string]bool{}
		for _, v := range p.spec.Volumes {
			if v.PersistentVolumeClaim == nil || !claims[p.obj.ns+"/"+v.PersistentVolumeClaim.ClaimName] {
				continue
			}
			dsVolumes[v.Name] = true
			if !v.PersistentVolumeClaim.ReadOnly {
				c.report(NotesDatasetsReadOnly, p.obj, "", "volume %s (claim %s of /datasets) is not readOnly; set persistentVolumeClaim.readOnly true", v.Name, v.PersistentVolumeClaim.ClaimName)
			}
		}
		for _, ct := range containers(p.spec) {
			for _, m := range ct.VolumeMounts {
				if (dsVolumes[m.Name] || strings.TrimRight(m.MountPath, "/") == "/datasets") && !m.ReadOnly {
					c.report(NotesDatasetsReadOnly, p.obj, "", "container %s mounts /datasets (volume %s at %s) read-write; set readOnly true", ct.Name, m.Name, m.MountPath)
				}
			}
		}
	}
}

// checkExposure: public instances serve all three aspects through ingress; inward ones
// expose nothing beyond their internal networks.
func checkExposure(c *checker) {
	inst := c.in.Model.Instance
	switch inst.Exposure {
	case "public":
		enabled := map[string]bool{"api": inst.Aspects.API != nil, "portal": inst.Aspects.Portal != nil, "notebook": inst.Aspects.Notebook != nil}
		for _, a := range []string{"api", "portal", "notebook"} {
			if !enabled[a] {
				c.report(NotesPublicAspects, nil, "instance.aspects", "public instance does not enable the %s aspect; a public instance serves all three aspects: enable it, or make the instance inward", a)
				continue
			}
			if !servedByIngress(c, a, inst.Domain) {
				c.report(NotesPublicAspects, nil, "instance.aspects."+a, "the %s aspect has no Ingress in namespace %s serving a host under %s; all three aspects need ingress", a, a, inst.Domain)
			}
		}
	case "inward":
		var internal []*net.IPNet
		for _, s := range inst.InternalCIDRs {
			if _, n, err := net.ParseCIDR(s); err == nil {
				internal = append(internal, n)
			}
		}
		for _, o := range c.idx.all {
			switch t := o.typed.(type) {
			case *networkingv1.Ingress:
				wl := strings.TrimSpace(o.u.GetAnnotations()[AnnotationWhitelist])
				if wl == "" {
					c.report(NotesInwardPrivate, o, "instance.exposure", "Ingress of an inward-facing instance admits any source; set annotation %s to the internal networks %v", AnnotationWhitelist, inst.InternalCIDRs)
					continue
				}
				for _, s := range strings.Split(wl, ",") {
					if !withinAny(strings.TrimSpace(s), internal) {
						c.report(NotesInwardPrivate, o, "instance.exposure", "Ingress admits %s, outside the internal networks %v of this inward-facing instance; admit only those", s, inst.InternalCIDRs)
					}
				}
			case *networkingv1.NetworkPolicy:
				for i, r := range t.Spec.Ingress {
					if len(r.From) == 0 {
						c.report(NotesInwardPrivate, o, "instance.exposure", "ingress rule %d has no from, so it admits every source, the internet included, on an inward-facing instance; admit only the internal networks %v (ipBlock) or named namespaces", i, inst.InternalCIDRs)
						continue
					}
					for _, peer := range r.From {
						if peer.IPBlock != nil && !withinAny(peer.IPBlock.CIDR, internal) {
							c.report(NotesInwardPrivate, o, "instance.exposure", "admits traffic from %s, outside the internal networks %v of this inward-facing instance; admit only those", peer.IPBlock.CIDR, inst.InternalCIDRs)
						}
					}
				}
			case *corev1.Service:
				if t.Spec.Type == corev1.ServiceTypeLoadBalancer {
					c.report(NotesInwardPrivate, o, "instance.exposure", "a LoadBalancer Service exposes an inward-facing instance; use ClusterIP behind the ingress controller")
				}
			}
		}
	}
}

func servedByIngress(c *checker, ns, domain string) bool {
	for _, p := range c.idx.byKind["Ingress"] {
		ing, ok := p.typed.(*networkingv1.Ingress)
		if !ok || p.ns != ns {
			continue
		}
		for _, r := range ing.Spec.Rules {
			if r.HTTP != nil && len(r.HTTP.Paths) > 0 && (r.Host == domain || strings.HasSuffix(r.Host, "."+domain)) {
				return true
			}
		}
	}
	return false
}

// withinAny says whether CIDR s lies inside one of nets.
func withinAny(s string, nets []*net.IPNet) bool {
	ip, n, err := net.ParseCIDR(s)
	if err != nil {
		return false
	}
	ones, _ := n.Mask.Size()
	for _, in := range nets {
		o, _ := in.Mask.Size()
		if in.Contains(ip) && ones >= o {
			return true
		}
	}
	return false
}

// NamespaceAdminRole is the ClusterRole namespace admins are bound to.
const NamespaceAdminRole = "lsst-namespace-admin"

// NamespaceAdminBinding is the RoleBinding of each namespace that binds NamespaceAdminRole
// to the namespace's admin groups.
const NamespaceAdminBinding = "namespace-admin"

// builtinAdminRole is Kubernetes' own namespace admin ClusterRole. It may create and edit
// the Roles and RoleBindings of its namespace, so whoever holds it can hand out any
// namespaced right it has: the platform grants its own lsst-namespace-admin instead.
const builtinAdminRole = "admin"

// checkNamespaceAdmins: each namespace's admin groups get 'admin' access through its
// RoleBinding namespace-admin of ClusterRole lsst-namespace-admin, with exactly the groups
// the instance names; no other binding grants lsst-namespace-admin, and nothing binds the
// built-in admin ClusterRole.
func checkNamespaceAdmins(c *checker) {
	for _, o := range c.idx.byKind["ClusterRoleBinding"] {
		crb, ok := o.typed.(*rbacv1.ClusterRoleBinding)
		if !ok || crb.RoleRef.Kind != "ClusterRole" {
			continue
		}
		switch crb.RoleRef.Name {
		case builtinAdminRole, NamespaceAdminRole:
			c.report(NotesNamespaceAdmin, o, "instance.access", "binds ClusterRole %s cluster-wide, which makes %s admins of every namespace; grant admin access per namespace in its RoleBinding %s of ClusterRole %s", crb.RoleRef.Name, subjectNames(crb.Subjects), NamespaceAdminBinding, NamespaceAdminRole)
		}
	}
	for _, o := range c.idx.byKind["RoleBinding"] {
		rb, ok := o.typed.(*rbacv1.RoleBinding)
		if !ok || o.name == NamespaceAdminBinding || rb.RoleRef.Kind != "ClusterRole" {
			continue
		}
		switch rb.RoleRef.Name {
		case builtinAdminRole:
			c.report(NotesNamespaceAdmin, o, adminsPath(c.in, o.ns), "binds the built-in ClusterRole admin, which may edit the namespace's Roles and RoleBindings, to %s; admin access goes through RoleBinding %s of ClusterRole %s only", subjectNames(rb.Subjects), NamespaceAdminBinding, NamespaceAdminRole)
		case NamespaceAdminRole:
			c.report(NotesNamespaceAdmin, o, adminsPath(c.in, o.ns), "grants ClusterRole %s to %s outside RoleBinding %s; name the namespace's admins in the instance so that %s holds them, and drop this binding", NamespaceAdminRole, subjectNames(rb.Subjects), NamespaceAdminBinding, NamespaceAdminBinding)
		}
	}
	for _, ns := range c.idx.sortedNamespaces() {
		nso := c.idx.get("Namespace", "", ns)
		path := adminsPath(c.in, ns)
		bo := c.idx.get("RoleBinding", ns, NamespaceAdminBinding)
		if bo == nil {
			c.report(NotesNamespaceAdmin, nso, path, "namespace %s has no admin binding; bind ClusterRole %s to its admin groups in RoleBinding %s", ns, NamespaceAdminRole, NamespaceAdminBinding)
			continue
		}
		rb, ok := bo.typed.(*rbacv1.RoleBinding)
		if !ok {
			continue // reported by the schema rules
		}
		wantRole := NamespaceAdminRole
		if spec, ok := c.in.Model.Namespaces[ns]; ok && spec.AdminRole != "" {
			wantRole = spec.AdminRole
		}
		if rb.RoleRef.Kind != "ClusterRole" || rb.RoleRef.Name != wantRole {
			c.report(NotesNamespaceAdmin, bo, path, "binds %s %s; namespace %s's admin binding must bind ClusterRole %s (the built-in admin may edit the namespace's RBAC)", rb.RoleRef.Kind, rb.RoleRef.Name, ns, wantRole)
			continue
		}
		var got []string
		for _, s := range rb.Subjects {
			if s.Kind != rbacv1.GroupKind {
				c.report(NotesNamespaceAdmin, bo, path, "binds %s %q; namespace %s's admin binding holds groups only", s.Kind, s.Name, ns)
				continue
			}
			got = append(got, s.Name)
		}
		if len(got) == 0 {
			c.report(NotesNamespaceAdmin, bo, path, "namespace %s's admin binding names no group; bind its admin groups", ns)
			continue
		}
		spec, ok := c.in.Model.Namespaces[ns]
		if !ok {
			continue // LSST-SEC-002 reports a namespace the model does not declare
		}
		want := append([]string(nil), spec.Admins...)
		sort.Strings(want)
		sort.Strings(got)
		if !slices.Equal(want, got) {
			c.report(NotesNamespaceAdmin, bo, path, "namespace %s's admin binding grants %v but the instance names %v; bind exactly the named groups", ns, got, want)
		}
	}
}

// subjectNames lists subjects as Kind/name (namespace/name for a ServiceAccount).
func subjectNames(subjects []rbacv1.Subject) []string {
	out := make([]string, 0, len(subjects))
	for _, s := range subjects {
		n := s.Name
		if s.Namespace != "" {
			n = s.Namespace + "/" + n
		}
		out = append(out, s.Kind+"/"+n)
	}
	return out
}

func checkLogForwarder(c *checker) {
	nodes := instanceNodes(&c.in.Model)
	if len(nodes) == 0 {
		return
	}
	// The logging namespace's forwarders, and the qserv nodes' own (platform/logging.cue).
	var forwarders []*pod
	for _, p := range c.idx.podsByNS["logging"] {
		if p.daemon {
			forwarders = append(forwarders, p)
		}
	}
	for _, p := range c.idx.podsByNS["qserv-os-admin"] {
		if p.obj.id == qservNodesForwarder {
			forwarders = append(forwarders, p)
		}
	}
	if !c.in.Model.Instance.Logging.Forward {
		// The site (or the instance) does not forward pod logs: no forwarder is needed, and
		// one rendered anyway would forward to an endpoint nobody named.
		for _, p := range forwarders {
			c.report(NotesLogForwarder, p.obj, "instance.logging.forward", "the instance does not forward pod logs (logging.forward is false), but a log forwarder DaemonSet is rendered; render it only where logs are forwarded")
		}
		return
	}
	if len(forwarders) == 0 {
		c.report(NotesLogForwarder, nil, "instance.logging", "no log forwarder DaemonSet runs in namespace logging; pod logs of the nodes reach no ELK stack")
		return
	}
	for _, n := range nodes {
		covered := false
		var why string
		for _, p := range forwarders {
			ok, reason := eligible(p.spec, n)
			if ok {
				covered = true
				break
			}
			why = reason
		}
		if !covered {
			c.report(NotesLogForwarder, forwarders[0].obj, "", "no log forwarder can run on node %s (role %s, %s); let the DaemonSet select and tolerate every node", n.name, n.role, why)
		}
	}
}

// checkIngressDomain: every Ingress host is the instance's domain or under it, and every
// rule names one. The admission policy lsst-ingress-hosts (platform/admission.cue) holds
// the same rule in the cluster.
func checkIngressDomain(c *checker) {
	domain := c.in.Model.Instance.Domain
	if domain == "" {
		return
	}
	under := func(h string) bool { return h == domain || strings.HasSuffix(h, "."+domain) }
	for _, o := range c.idx.byKind["Ingress"] {
		ing, ok := o.typed.(*networkingv1.Ingress)
		if !ok {
			continue
		}
		var outside []string
		add := func(h string) {
			if !slices.Contains(outside, h) {
				outside = append(outside, h)
			}
		}
		for _, r := range ing.Spec.Rules {
			if r.Host == "" {
				add("(every host: a rule without host)")
			} else if !under(r.Host) {
				add(r.Host)
			}
		}
		for _, tls := range ing.Spec.TLS {
			for _, h := range tls.Hosts {
				if !under(h) {
					add(h)
				}
			}
		}
		if len(outside) > 0 {
			c.report(NotesIngressDomain, o, sourcePath(c.in, o), "Ingress serves %s, outside the instance's domain %s; give each rule and TLS entry a host under %s", strings.Join(outside, ", "), domain, domain)
		}
	}
}

// mountsHostPath says whether a pod spec mounts a hostPath volume.
func mountsHostPath(spec *corev1.PodSpec) bool {
	return slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool { return v.HostPath != nil })
}

// qservAdminDaemonSet is the one workload that runs privileged: qserv's OS admins' shell on
// the qserv nodes (platform/api.cue).
const qservAdminDaemonSet = "DaemonSet/qserv-os-admin/qserv-data-admin"

// qservNodesForwarder forwards the pod logs of the qserv nodes, in the namespace of qserv's
// OS admins, who are root there (platform/logging.cue).
const qservNodesForwarder = "DaemonSet/qserv-os-admin/fluent-bit"

// checkHostAccess: privilege and the host's namespaces for qserv's admin DaemonSet only, on
// qserv nodes; hostPath volumes for it and the logging namespace's DaemonSets only.
func checkHostAccess(c *checker) {
	qservRoles := c.in.Model.RolesDedicatedTo("qserv")
	for _, p := range c.idx.pods {
		o, spec := p.obj, p.spec
		admin := o.id == qservAdminDaemonSet
		var asks []string
		for _, ct := range containers(spec) {
			if sc := ct.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
				asks = append(asks, "privileged container "+ct.Name)
			}
		}
		if spec.HostNetwork {
			asks = append(asks, "hostNetwork")
		}
		if spec.HostPID {
			asks = append(asks, "hostPID")
		}
		if spec.HostIPC {
			asks = append(asks, "hostIPC")
		}
		if len(asks) > 0 && !admin {
			c.report(NotesHostAccess, o, sourcePath(c.in, o), "asks for %s, which only qserv's admin DaemonSet (qserv-os-admin/qserv-data-admin) has: drop them", strings.Join(asks, ", "))
		}
		if admin && (len(asks) > 0 || mountsHostPath(spec)) && !onlyOnRoles(spec, qservRoles) {
			c.report(NotesHostAccess, o, sourcePath(c.in, o), "qserv's admin DaemonSet reaches the host (privilege or host paths) but its required node affinity does not keep it on qserv nodes (%s in %s); require it", roleLabel, strings.Join(qservRoles, ", "))
		}
		if o.id == qservNodesForwarder && mountsHostPath(spec) && !onlyOnRoles(spec, qservRoles) {
			c.report(NotesHostAccess, o, sourcePath(c.in, o), "the qserv nodes' log forwarder mounts host paths but its required node affinity does not keep it on qserv nodes (%s in %s); require it", roleLabel, strings.Join(qservRoles, ", "))
		}
		hostForwarder := o.kind == "DaemonSet" && o.ns == "logging" || o.id == qservNodesForwarder
		if admin || hostForwarder {
			continue
		}
		for _, v := range spec.Volumes {
			if v.HostPath != nil {
				c.report(NotesHostAccess, o, sourcePath(c.in, o), "mounts the host path %s, which only qserv's admin DaemonSet and the log forwarders mount: use a PersistentVolumeClaim or an emptyDir", v.HostPath.Path)
			}
		}
	}
}

// roleLabel is the node label naming a node's role (schema.#RoleLabel).
const roleLabel = "lsst.org/role"

// onlyOnRoles says whether every term of a pod's required node affinity holds the node's
// role In a subset of roles.
func onlyOnRoles(spec *corev1.PodSpec, roles []string) bool {
	a := spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return false
	}
	terms := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) == 0 {
		return false
	}
	for _, t := range terms {
		ok := false
		for _, e := range t.MatchExpressions {
			if e.Key == roleLabel && e.Operator == corev1.NodeSelectorOpIn && len(e.Values) > 0 && allIn(e.Values, roles) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func allIn(values, set []string) bool {
	for _, v := range values {
		if !slices.Contains(set, v) {
			return false
		}
	}
	return true
}
