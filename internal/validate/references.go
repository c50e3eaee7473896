package validate

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// builtinClusterRoles exist in every cluster.
var builtinClusterRoles = map[string]bool{"cluster-admin": true, "admin": true, "edit": true, "view": true}

// checkReferences checks that every reference between objects resolves.
func checkReferences(c *checker) {
	for _, o := range c.idx.all {
		if o.ns != "" && !c.idx.namespaceExists(o.ns) {
			c.report(RefNamespaceExists, o, "", "namespace %q does not exist in the instance; add the Namespace or move the object to one of %v", o.ns, c.idx.sortedNamespaces())
		}
		switch t := o.typed.(type) {
		case *networkingv1.Ingress:
			checkIngressRefs(c, o, t)
		case *corev1.Service:
			checkServiceSelector(c, o, t)
		case *rbacv1.RoleBinding:
			checkRoleRef(c, o, t.RoleRef)
			checkSubjects(c, o, t.Subjects)
		case *rbacv1.ClusterRoleBinding:
			checkRoleRef(c, o, t.RoleRef)
			checkSubjects(c, o, t.Subjects)
		case *corev1.PersistentVolumeClaim:
			checkClaim(c, o, o.ns, t.Name, &t.Spec, "")
		case *networkingv1.NetworkPolicy:
			checkPolicyPeers(c, o, t)
		}
	}
	for _, p := range c.idx.pods {
		checkPodRefs(c, p)
	}
}

func checkIngressRefs(c *checker, o *object, ing *networkingv1.Ingress) {
	backends := []*networkingv1.IngressBackend{}
	if ing.Spec.DefaultBackend != nil {
		backends = append(backends, ing.Spec.DefaultBackend)
	}
	for i := range ing.Spec.Rules {
		if ing.Spec.Rules[i].HTTP == nil {
			continue
		}
		for j := range ing.Spec.Rules[i].HTTP.Paths {
			backends = append(backends, &ing.Spec.Rules[i].HTTP.Paths[j].Backend)
		}
	}
	for _, b := range backends {
		if b.Service == nil {
			continue
		}
		so := c.idx.get("Service", o.ns, b.Service.Name)
		if so == nil {
			c.report(RefIngressService, o, "", "backend Service %q does not exist in namespace %s; name a Service of the namespace or add it", b.Service.Name, o.ns)
			continue
		}
		svc, ok := so.typed.(*corev1.Service)
		if !ok {
			continue
		}
		want := b.Service.Port
		found := false
		var have []string
		for _, sp := range svc.Spec.Ports {
			have = append(have, fmt.Sprintf("%s/%d", sp.Name, sp.Port))
			if (want.Name != "" && sp.Name == want.Name) || (want.Name == "" && sp.Port == want.Number) {
				found = true
			}
		}
		if !found {
			w := want.Name
			if w == "" {
				w = fmt.Sprint(want.Number)
			}
			c.report(RefIngressPort, o, "", "backend port %q is not a port of Service %s/%s (it has %s); use one of those", w, o.ns, b.Service.Name, strings.Join(have, ", "))
		}
	}
}

func checkServiceSelector(c *checker, o *object, svc *corev1.Service) {
	if len(svc.Spec.Selector) == 0 || svc.Spec.Type == corev1.ServiceTypeExternalName {
		return
	}
	if len(c.idx.selectPods(o.ns, svc.Spec.Selector)) == 0 {
		c.report(RefServiceSelector, o, "", "selector %v matches no pod template in namespace %s; make it match a workload's template labels", svc.Spec.Selector, o.ns)
	}
}

func checkRoleRef(c *checker, o *object, ref rbacv1.RoleRef) {
	switch ref.Kind {
	case "ClusterRole":
		if builtinClusterRoles[ref.Name] || c.idx.get("ClusterRole", "", ref.Name) != nil {
			return
		}
		c.report(RefRoleBinding, o, "", "roleRef ClusterRole %q does not exist; add it or refer to an existing ClusterRole", ref.Name)
	case "Role":
		if o.ns == "" {
			c.report(RefRoleBinding, o, "", "a ClusterRoleBinding cannot refer to Role %q; refer to a ClusterRole", ref.Name)
			return
		}
		if c.idx.get("Role", o.ns, ref.Name) == nil {
			c.report(RefRoleBinding, o, "", "roleRef Role %q does not exist in namespace %s; add it or refer to an existing Role", ref.Name, o.ns)
		}
	default:
		c.report(RefRoleBinding, o, "", "roleRef kind %q is neither Role nor ClusterRole", ref.Kind)
	}
}

func checkSubjects(c *checker, o *object, subjects []rbacv1.Subject) {
	for _, s := range subjects {
		if s.Kind != "ServiceAccount" {
			continue
		}
		ns := s.Namespace
		if ns == "" {
			ns = o.ns
		}
		if !serviceAccountExists(c, ns, s.Name) {
			c.report(RefServiceAccount, o, "", "subject ServiceAccount %s/%s does not exist; add it or bind an existing one", ns, s.Name)
		}
	}
}

func serviceAccountExists(c *checker, ns, name string) bool {
	if name == "default" && c.idx.namespaceExists(ns) {
		return true
	}
	return c.idx.get("ServiceAccount", ns, name) != nil
}

// checkClaim checks one claim (a PersistentVolumeClaim, or a StatefulSet's claim template
// when tmpl names it) against the PersistentVolumes and StorageClasses.
func checkClaim(c *checker, o *object, ns, name string, spec *corev1.PersistentVolumeClaimSpec, tmpl string) {
	what := "claim"
	if tmpl != "" {
		what = "volumeClaimTemplate " + tmpl
	}
	if spec.VolumeName != "" {
		pvo := c.idx.get("PersistentVolume", "", spec.VolumeName)
		if pvo == nil {
			c.report(RefClaim, o, "", "%s names PersistentVolume %q, which does not exist; add it or name an existing one", what, spec.VolumeName)
			return
		}
		if pv, ok := pvo.typed.(*corev1.PersistentVolume); ok && pv.Spec.ClaimRef != nil &&
			(pv.Spec.ClaimRef.Name != name || pv.Spec.ClaimRef.Namespace != ns) {
			c.report(RefClaim, o, "", "%s names PersistentVolume %q, which is reserved for claim %s/%s; point claimRef and volumeName at each other", what, spec.VolumeName, pv.Spec.ClaimRef.Namespace, pv.Spec.ClaimRef.Name)
		}
		return
	}
	// An omitted storageClassName asks for the cluster's default StorageClass, which the
	// platform does not make: the claim would wait forever (or bind to whatever class an
	// operator once marked default), so it must name its volume or its class.
	if spec.StorageClassName == nil {
		c.report(RefClaim, o, "", "%s names neither a volumeName nor a storageClassName, so it waits for a default StorageClass, which the platform does not have; name a PersistentVolume or a StorageClass of the instance", what)
		return
	}
	sc := *spec.StorageClassName
	if sc == "" {
		c.report(RefClaim, o, "", "%s has neither a volumeName nor a StorageClass, so nothing can bind it; name a PersistentVolume or a StorageClass", what)
		return
	}
	if c.idx.get("StorageClass", "", sc) == nil {
		c.report(RefClaim, o, "", "%s names StorageClass %q, which does not exist; add it or use an existing one", what, sc)
	}
}

func checkPolicyPeers(c *checker, o *object, np *networkingv1.NetworkPolicy) {
	var peers []networkingv1.NetworkPolicyPeer
	for _, r := range np.Spec.Ingress {
		peers = append(peers, r.From...)
	}
	for _, r := range np.Spec.Egress {
		peers = append(peers, r.To...)
	}
	for _, p := range peers {
		if p.NamespaceSelector == nil {
			continue
		}
		ns, ok := p.NamespaceSelector.MatchLabels[corev1.LabelMetadataName]
		if ok && !c.idx.namespaceExists(ns) {
			c.report(RefNetworkPolicyNS, o, "", "peer namespace %q does not exist; the policy allows nothing. Name an existing namespace or drop the rule", ns)
		}
		for _, e := range p.NamespaceSelector.MatchExpressions {
			if e.Key != corev1.LabelMetadataName || e.Operator != "In" {
				continue
			}
			for _, ns := range e.Values {
				if !c.idx.namespaceExists(ns) {
					c.report(RefNetworkPolicyNS, o, "", "peer namespace %q does not exist; name an existing namespace or drop it", ns)
				}
			}
		}
	}
}

func checkPodRefs(c *checker, p *pod) {
	o, ns, spec := p.obj, p.obj.ns, p.spec
	sa := spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	if !serviceAccountExists(c, ns, sa) {
		c.report(RefServiceAccount, o, "", "serviceAccountName %q does not exist in namespace %s; add the ServiceAccount or use an existing one", sa, ns)
	}
	volumes := map[string]bool{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = true
		where := "volume " + v.Name
		switch {
		case v.ConfigMap != nil:
			checkConfigMapRef(c, o, ns, v.ConfigMap.Name, itemKeys(v.ConfigMap.Items), optional(v.ConfigMap.Optional), where)
		case v.Secret != nil:
			checkSecretRef(c, o, ns, v.Secret.SecretName, itemKeys(v.Secret.Items), optional(v.Secret.Optional), where)
		case v.Projected != nil:
			for i, src := range v.Projected.Sources {
				w := fmt.Sprintf("%s source %d", where, i)
				if r := src.ConfigMap; r != nil {
					checkConfigMapRef(c, o, ns, r.Name, itemKeys(r.Items), optional(r.Optional), w)
				}
				if r := src.Secret; r != nil {
					checkSecretRef(c, o, ns, r.Name, itemKeys(r.Items), optional(r.Optional), w)
				}
			}
		case v.PersistentVolumeClaim != nil:
			if c.idx.get("PersistentVolumeClaim", ns, v.PersistentVolumeClaim.ClaimName) == nil {
				c.report(RefPodVolume, o, "", "volume %q: PersistentVolumeClaim %q does not exist in namespace %s; add it or fix the claimName", v.Name, v.PersistentVolumeClaim.ClaimName, ns)
			}
		}
	}
	for i := range p.claims {
		volumes[p.claims[i].Name] = true
		checkClaim(c, o, ns, p.claims[i].Name+"-"+o.name+"-0", &p.claims[i].Spec, p.claims[i].Name)
	}
	for _, ct := range containers(spec) {
		for _, m := range ct.VolumeMounts {
			if !volumes[m.Name] {
				c.report(RefPodVolume, o, "", "container %s mounts volume %q, which the pod does not define; add the volume or fix the name", ct.Name, m.Name)
			}
		}
		for _, e := range ct.Env {
			if e.ValueFrom == nil {
				continue
			}
			where := "container " + ct.Name + " env " + e.Name
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				checkSecretRef(c, o, ns, r.Name, []string{r.Key}, optional(r.Optional), where)
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				checkConfigMapRef(c, o, ns, r.Name, []string{r.Key}, optional(r.Optional), where)
			}
		}
		for _, ef := range ct.EnvFrom {
			where := "container " + ct.Name + " envFrom"
			if ef.SecretRef != nil {
				checkSecretRef(c, o, ns, ef.SecretRef.Name, nil, optional(ef.SecretRef.Optional), where)
			}
			if ef.ConfigMapRef != nil {
				checkConfigMapRef(c, o, ns, ef.ConfigMapRef.Name, nil, optional(ef.ConfigMapRef.Optional), where)
			}
		}
	}
}

// itemKeys are the keys a volume's items project.
func itemKeys(items []corev1.KeyToPath) []string {
	keys := make([]string, 0, len(items))
	for _, it := range items {
		keys = append(keys, it.Key)
	}
	return keys
}

// checkConfigMapRef: a ConfigMap a pod reads exists in its namespace, and every key it
// reads (an env key, a volume's items) is a key of its data or binaryData. An optional
// reference may miss both: the kubelet then skips it.
func checkConfigMapRef(c *checker, o *object, ns, name string, keys []string, opt bool, where string) {
	if opt {
		return
	}
	cmo := c.idx.get("ConfigMap", ns, name)
	if cmo == nil {
		c.report(RefPodVolume, o, "", "%s: ConfigMap %q does not exist in namespace %s; add it or fix the name", where, name, ns)
		return
	}
	cm, ok := cmo.typed.(*corev1.ConfigMap)
	if !ok {
		return // reported by the schema rules
	}
	have := make([]string, 0, len(cm.Data)+len(cm.BinaryData))
	for k := range cm.Data {
		have = append(have, k)
	}
	for k := range cm.BinaryData {
		have = append(have, k)
	}
	sort.Strings(have)
	for _, k := range keys {
		if !slices.Contains(have, k) {
			c.report(RefSecretKey, o, "", "%s: key %q is not a key of ConfigMap %s/%s (it has %v); use one of them or add the key", where, k, ns, name, have)
		}
	}
}

// checkSecretRef: a Secret is either an object of the instance or one of the out-of-band
// Secrets the instance lists; every key read from the latter (an env key, a volume's items)
// must be one of its listed keys. The keys of a Secret of the instance are not checked: git
// holds no Secret data (LSST-SEC-003), so its keys are not known from git. An
// optional reference may miss both: the kubelet then skips it.
func checkSecretRef(c *checker, o *object, ns, name string, keys []string, opt bool, where string) {
	if c.idx.get("Secret", ns, name) != nil || opt {
		return
	}
	oob, ok := c.in.Model.Secrets[ns][name]
	if !ok {
		c.report(RefPodVolume, o, "", "%s: Secret %q is neither in the instance nor among its out-of-band Secrets of namespace %s; list it in the schema's secrets or fix the name", where, name, ns)
		return
	}
	for _, k := range keys {
		if !slices.Contains(oob.Keys, k) {
			c.report(RefSecretKey, o, "", "%s: key %q is not one of the keys %v listed for out-of-band Secret %s/%s; use one of them or list the key", where, k, oob.Keys, ns, name)
		}
	}
}

func optional(b *bool) bool { return b != nil && *b }
