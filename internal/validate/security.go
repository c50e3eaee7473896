package validate

import (
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// psEvaluator evaluates pods against the Pod Security Standards in process.
var psEvaluator = func() policy.Evaluator {
	e, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		panic("pod security evaluator: " + err.Error()) // the library's own checks
	}
	return e
}()

// checkSecurity runs the security rules.
func checkSecurity(c *checker) {
	for _, p := range c.idx.pods {
		checkPodSecurity(c, p)
		checkContainers(c, p)
	}
	for _, o := range c.idx.all {
		switch t := o.typed.(type) {
		case *corev1.Namespace:
			checkNamespaceLevel(c, o, t)
		case *corev1.Secret:
			// An empty Secret, rendered for a component to fill, is allowed.
			if len(t.Data) > 0 || len(t.StringData) > 0 {
				c.report(SecInlineSecret, o, "", "Secret carries data in git; remove the object and list the Secret (name, keys, purpose) among the instance's out-of-band secrets for the operators to create")
			}
		case *rbacv1.Role:
			checkWildcards(c, o, t.Rules)
		case *rbacv1.ClusterRole:
			checkWildcards(c, o, t.Rules)
		case *rbacv1.RoleBinding:
			checkClusterAdmin(c, o, t.RoleRef, t.Subjects)
		case *rbacv1.ClusterRoleBinding:
			checkClusterAdmin(c, o, t.RoleRef, t.Subjects)
		case *networkingv1.Ingress:
			checkIngressTLS(c, o, t)
		case *corev1.Service:
			checkClientAddress(c, o, t)
		}
	}
	checkDefaultDeny(c)
}

// declaredLevel is the Pod Security level the instance's model declares for ns, and
// whether the model declares ns at all. A namespace the model does not declare is held to
// "restricted": its Namespace's own label is what is being checked, so it cannot be the
// standard it is checked against.
func declaredLevel(c *checker, ns string) (string, bool) {
	n, ok := c.in.Model.Namespaces[ns]
	if ok && n.PodSecurity != "" {
		return n.PodSecurity, true
	}
	return string(api.LevelRestricted), ok
}

func checkPodSecurity(c *checker, p *pod) {
	lvl, _ := declaredLevel(c, p.obj.ns)
	level, err := api.ParseLevel(lvl)
	if err != nil {
		return // reported on the Namespace
	}
	res := policy.AggregateCheckResults(psEvaluator.EvaluatePod(api.LevelVersion{Level: level, Version: api.LatestVersion()}, p.meta, p.spec))
	if !res.Allowed {
		c.report(SecPodSecurity, p.obj, "", "violates Pod Security %q of namespace %s: %s: %s; fix the pod's security context or declare the namespace's level in the schema", lvl, p.obj.ns, res.ForbiddenReason(), res.ForbiddenDetail())
	}
}

func checkNamespaceLevel(c *checker, o *object, ns *corev1.Namespace) {
	want, declared := declaredLevel(c, o.name)
	got := ns.Labels[api.EnforceLevelLabel]
	if !declared {
		c.report(SecNamespaceLevel, o, "", "namespace %s is rendered but the instance's model does not declare it, so no Pod Security level is declared for it (label %s is %q); declare it among the model's namespaces with its level, or drop the Namespace", o.name, api.EnforceLevelLabel, got)
		return
	}
	if _, err := api.ParseLevel(got); err != nil || got != want {
		c.report(SecNamespaceLevel, o, "", "label %s is %q, but the instance declares %q; set the label to the declared level", api.EnforceLevelLabel, got, want)
	}
}

func checkWildcards(c *checker, o *object, rules []rbacv1.PolicyRule) {
	for i, r := range rules {
		for _, field := range []struct {
			name string
			vals []string
		}{{"verbs", r.Verbs}, {"resources", r.Resources}, {"apiGroups", r.APIGroups}} {
			for _, v := range field.vals {
				if v == rbacv1.VerbAll || strings.HasSuffix(v, "/*") {
					c.report(SecWildcardRole, o, "", "rule %d grants %s %q; list the %s it needs", i, field.name, v, field.name)
				}
			}
		}
	}
}

func checkClusterAdmin(c *checker, o *object, ref rbacv1.RoleRef, subjects []rbacv1.Subject) {
	if ref.Kind != "ClusterRole" || ref.Name != "cluster-admin" {
		return
	}
	bg := c.in.Model.Instance.Access.BreakGlassGroup
	for _, s := range subjects {
		if s.Kind == rbacv1.GroupKind && s.Name == bg && bg != "" {
			continue
		}
		c.report(SecClusterAdmin, o, "instance.access.breakGlassGroup", "binds cluster-admin to %s %q; only the break-glass group %q may hold cluster-admin: bind a narrower role", s.Kind, s.Name, bg)
	}
}

func checkIngressTLS(c *checker, o *object, ing *networkingv1.Ingress) {
	covered := map[string]string{}
	for _, t := range ing.Spec.TLS {
		for _, h := range t.Hosts {
			covered[h] = t.SecretName
		}
		if t.SecretName == "" {
			c.report(SecIngressTLS, o, "", "TLS entry for %v names no certificate Secret; set secretName", t.Hosts)
			continue
		}
		if c.idx.get("Secret", o.ns, t.SecretName) == nil {
			if _, ok := c.in.Model.Secrets[o.ns][t.SecretName]; !ok {
				c.report(SecIngressTLS, o, "", "TLS certificate Secret %q is not among the instance's out-of-band Secrets of namespace %s; list it so that the operators create it", t.SecretName, o.ns)
			}
		}
	}
	if len(ing.Spec.Rules) == 0 && len(ing.Spec.TLS) == 0 {
		c.report(SecIngressTLS, o, "", "Ingress has no TLS; add a tls entry for its hosts")
	}
	for _, r := range ing.Spec.Rules {
		if _, ok := covered[r.Host]; !ok {
			h := r.Host
			if h == "" {
				h = "(any host)"
			}
			c.report(SecIngressTLS, o, "", "host %s is served without TLS; add it to a tls entry with its certificate Secret", h)
		}
	}
}

// checkClientAddress: a Service that takes traffic from outside the cluster keeps the
// client's address (externalTrafficPolicy Local): with Cluster, kube-proxy masquerades it
// as a node's, and the inward instances' source-range allowlists and the NetworkPolicies'
// ipBlocks filter on an address that is never the client's.
func checkClientAddress(c *checker, o *object, svc *corev1.Service) {
	t := svc.Spec.Type
	if t != corev1.ServiceTypeNodePort && t != corev1.ServiceTypeLoadBalancer {
		return
	}
	if svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal {
		got := string(svc.Spec.ExternalTrafficPolicy)
		if got == "" {
			got = "unset (Cluster)"
		}
		c.report(SecClientAddress, o, "", "%s Service takes traffic from outside the cluster with externalTrafficPolicy %s, which hides the client's address behind a node's: the source-range allowlists and NetworkPolicy ipBlocks cannot work; set externalTrafficPolicy: Local", t, got)
	}
}

// checkDefaultDeny: every Namespace of the instance has policies that deny all ingress and
// all egress by default (empty podSelector, the direction in policyTypes, no rules for it).
func checkDefaultDeny(c *checker) {
	denyIn, denyOut := map[string]bool{}, map[string]bool{}
	for _, o := range c.idx.byKind["NetworkPolicy"] {
		np, ok := o.typed.(*networkingv1.NetworkPolicy)
		if !ok || len(np.Spec.PodSelector.MatchLabels) > 0 || len(np.Spec.PodSelector.MatchExpressions) > 0 {
			continue
		}
		for _, t := range np.Spec.PolicyTypes {
			if t == networkingv1.PolicyTypeIngress && len(np.Spec.Ingress) == 0 {
				denyIn[o.ns] = true
			}
			if t == networkingv1.PolicyTypeEgress && len(np.Spec.Egress) == 0 {
				denyOut[o.ns] = true
			}
		}
	}
	for _, ns := range c.idx.sortedNamespaces() {
		var missing []string
		if !denyIn[ns] {
			missing = append(missing, "Ingress")
		}
		if !denyOut[ns] {
			missing = append(missing, "Egress")
		}
		if len(missing) > 0 {
			c.report(SecDefaultDeny, c.idx.get("Namespace", "", ns), "", "namespace %s has no default-deny NetworkPolicy for %s; add one with podSelector {} and policyTypes %v and no rules", ns, strings.Join(missing, " and "), missing)
		}
	}
}

// checkContainers: images pinned, hosted by the instance's registry or from an upstream it
// mirrors; requests and limits set.
func checkContainers(c *checker, p *pod) {
	reg := c.in.Model.Instance.Registry
	base := sourcePath(c.in, p.obj)
	for _, ct := range containers(p.spec) {
		img := ct.Image
		if !imagePinned(img) {
			c.report(SecImagePinned, p.obj, base+".image", "container %s image %q is not pinned; give it a version tag or a digest (never :latest)", ct.Name, img)
		}
		if host := imageRegistry(img); reg.Host != "" && host == "staging."+reg.Host {
			c.report(SecImageRegistry, p.obj, base+".image", "container %s image %q is in the staging repository, where LSST CI pushes and which nothing runs: promote it (lsstgen registry promote copies it by digest to %s) and name it under %s/", ct.Name, img, reg.Host, reg.Host)
		} else if reg.Host != "" && host != reg.Host && !hasKey(reg.Mirrors, host) {
			c.report(SecImageRegistry, p.obj, base+".image", "container %s image %q comes from %s, which the instance's registry %s neither hosts nor mirrors (it mirrors %s); add %s to instance.registry.mirrors, or push the image to %s", ct.Name, img, host, reg.Host, strings.Join(sortedMirrors(reg.Mirrors), ", "), host, reg.Host)
		}
		var missing []string
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
			if _, ok := ct.Resources.Requests[r]; !ok {
				missing = append(missing, "requests."+string(r))
			}
			if _, ok := ct.Resources.Limits[r]; !ok {
				missing = append(missing, "limits."+string(r))
			}
		}
		if len(missing) > 0 {
			c.report(SecResources, p.obj, base+".resources", "container %s sets no %s; set cpu, memory and ephemeral-storage requests and limits (#Container makes them from the model's resources)", ct.Name, strings.Join(missing, ", "))
		}
	}
}

// imagePinned: a digest, or a tag other than latest.
func imagePinned(ref string) bool {
	if strings.Contains(ref, "@sha256:") {
		return true
	}
	i := strings.LastIndex(ref, ":")
	if i < 0 || i < strings.LastIndex(ref, "/") {
		return false
	}
	tag := ref[i+1:]
	return tag != "" && tag != "latest"
}

// imageRegistry is the registry host an image reference names: its first path element when
// that is a host (holds a dot or a port, or is localhost), else Docker Hub's docker.io, as
// the container runtime reads a short name.
func imageRegistry(ref string) string {
	first, _, ok := strings.Cut(ref, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first
	}
	return "docker.io"
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

// sortedMirrors lists the hosts of the registry's mirrors, sorted.
func sortedMirrors[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
