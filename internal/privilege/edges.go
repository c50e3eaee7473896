package privilege

import (
	"slices"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	rbacvalidation "k8s.io/component-helpers/auth/rbac/validation"
	psapi "k8s.io/pod-security-admission/api"
)

// Edge names the Kubernetes fact one step of a path rests on. Each rule below quotes it.
type Edge string

// The edges of the model.
const (
	// EdgeSubject starts every path: the subject acts as itself.
	EdgeSubject Edge = "subject"
	// EdgeGrant: a binding grants its role's rules, a RoleBinding in its namespace only.
	EdgeGrant Edge = "grant"
	// EdgeSystemMasters: system:masters bypasses authorization.
	EdgeSystemMasters Edge = "system-masters"
	// EdgeWildcard: every verb on every resource cluster-wide is cluster-admin.
	EdgeWildcard Edge = "wildcard"
	// EdgeRunPods: creating pods, or creating or changing the workloads that make them.
	EdgeRunPods Edge = "run-pods"
	// EdgeNamespaceLabel: relabelling a namespace's Pod Security level.
	EdgeNamespaceLabel Edge = "namespace-label"
	// EdgePodServiceAccount: a pod runs as any ServiceAccount of its namespace.
	EdgePodServiceAccount Edge = "pod-service-account"
	// EdgePodSecrets: a pod mounts any Secret of its namespace.
	EdgePodSecrets Edge = "pod-secrets"
	// EdgePrivilegedPod: a privileged pod, placed by spec.nodeName, is root on any node.
	EdgePrivilegedPod Edge = "privileged-pod"
	// EdgeHostPathVolume: a hostPath PersistentVolume escapes Pod Security.
	EdgeHostPathVolume Edge = "hostpath-persistentvolume"
	// EdgeExec: exec, attach, an ephemeral container or a new image in a running pod.
	EdgeExec Edge = "exec"
	// EdgeReadSecrets: get, list or watch on Secrets.
	EdgeReadSecrets Edge = "read-secrets"
	// EdgeTokenSecret: a legacy ServiceAccount token Secret holds a usable token.
	EdgeTokenSecret Edge = "token-secret"
	// EdgeCreateTokenSecret: creating a token Secret makes the token controller fill it.
	EdgeCreateTokenSecret Edge = "create-token-secret"
	// EdgeTokenRequest: create serviceaccounts/token issues a token.
	EdgeTokenRequest Edge = "token-request"
	// EdgeBind: the bind verb lifts the check on creating a binding.
	EdgeBind Edge = "bind"
	// EdgeEscalate: the escalate verb lifts the check on changing a role.
	EdgeEscalate Edge = "escalate"
	// EdgeImpersonate: the impersonate verb.
	EdgeImpersonate Edge = "impersonate"
	// EdgeNodeProxy: nodes/proxy reaches the kubelet API.
	EdgeNodeProxy Edge = "node-proxy"
	// EdgeNodeCredentials: a rooted node's kubelet credentials.
	EdgeNodeCredentials Edge = "node-credentials"
	// EdgeGeneralNode: root on an untainted node is cluster-admin.
	EdgeGeneralNode Edge = "general-node"
	// EdgeNodeTaints: changing node taints makes any node general.
	EdgeNodeTaints Edge = "node-taints"
	// EdgeAdmissionWebhook: admission webhooks and mutating policies see or change every
	// object written.
	EdgeAdmissionWebhook Edge = "admission-webhook"
	// EdgeCertificate: approving one's own client certificate request.
	EdgeCertificate Edge = "certificate"
)

// fact is one power reached, with how.
type fact struct {
	power Power
	edge  Edge
	via   string  // the object or condition the step rests on
	from  *fact   // the power it derives from; nil for the subject itself
	with  []*fact // further powers the step needs
	round int
}

// closure is the fixpoint for one subject.
type closure struct {
	ix      *index
	subject Subject
	facts   map[Power]*fact
	order   []*fact
	round   int
	// perms indexes the permission facts by resource ("pods/exec", "*", "*/scale").
	perms map[string][]*fact
}

// rule derives facts from the facts of earlier rounds; fresh holds those of the last one.
type rule func(c *closure, fresh []*fact)

// rules in the order they are tried: within a round, an earlier rule's derivation of a
// power is the one kept.
var rules = []rule{
	ruleGrant, ruleWildcard, ruleSystemMasters,
	ruleRunPods, ruleNamespaceLabel, rulePodServiceAccount, rulePodSecrets, rulePrivilegedPod, ruleHostPathVolume,
	ruleExec, ruleReadSecrets, ruleTokenSecret, ruleCreateTokenSecret, ruleTokenRequest,
	ruleBind, ruleEscalate, ruleImpersonate, ruleNodeProxy, ruleNodeCredentials, ruleNodeTaints,
	ruleAdmissionWebhook, ruleCertificate,
}

// newClosure computes everything s reaches. Round n derives only from facts of rounds
// before n, so each power's path has the fewest steps.
func (ix *index) newClosure(s Subject) *closure {
	c := &closure{ix: ix, subject: s, facts: map[Power]*fact{}, perms: map[string][]*fact{}}
	c.emit(ActAsPower(s), EdgeSubject, "", nil)
	for done := 0; done < len(c.order); {
		c.round++
		fresh := c.order[done:]
		done = len(c.order)
		for _, r := range rules {
			r(c, fresh)
		}
	}
	return c
}

// emit records a power unless it is already reached. Of the powers it derives from, the
// one reached last becomes the path's previous step, so that a path is as long as the
// derivation is deep; the others are listed beside the step.
func (c *closure) emit(p Power, e Edge, via string, from *fact, with ...*fact) {
	if _, ok := c.facts[p]; ok {
		return
	}
	for i, w := range with {
		if w.round > from.round {
			with = slices.Clone(with)
			from, with[i] = w, from
		}
	}
	f := &fact{power: p, edge: e, via: via, from: from, with: with, round: c.round}
	c.facts[p] = f
	c.order = append(c.order, f)
	if p.Kind == KindPermission {
		c.perms[p.Permission.Resource] = append(c.perms[p.Permission.Resource], f)
	}
}

// can returns the earliest permission fact, of a round before this one, that allows r.
func (c *closure) can(r Request) *fact {
	var best *fact
	for _, k := range bucketKeys(r.Resource) {
		for _, f := range c.perms[k] {
			if f.round >= c.round || (best != nil && f.round >= best.round) {
				break // each bucket is in round order
			}
			if f.power.Permission.allows(r) {
				best = f
				break
			}
		}
	}
	return best
}

// bucketKeys are the keys of closure.perms whose permissions may match resource.
func bucketKeys(resource string) []string {
	keys := []string{resource, rbacv1.ResourceAll}
	if _, sub, ok := strings.Cut(resource, "/"); ok {
		keys = append(keys, "*/"+sub)
	}
	return keys
}

// canAny returns the first of verbs that c may do on resource.
func (c *closure) canAny(r Request, verbs ...string) *fact {
	var best *fact
	for _, v := range verbs {
		r.Verb = v
		if f := c.can(r); f != nil && (best == nil || f.round < best.round) {
			best = f
		}
	}
	return best
}

// permFacts returns the permission facts of earlier rounds that allow r in some
// namespace for some resource name (r.Namespace and r.Name are ignored), so that a rule
// can follow each.
func (c *closure) permFacts(r Request) []*fact {
	var out []*fact
	for _, k := range bucketKeys(r.Resource) {
		for _, f := range c.perms[k] {
			if f.round >= c.round {
				break
			}
			r.Namespace, r.Name = f.power.Permission.Namespace, f.power.Permission.ResourceName
			if f.power.Permission.allows(r) {
				out = append(out, f)
			}
		}
	}
	return out
}

func kindFacts(fresh []*fact, k PowerKind) []*fact {
	var out []*fact
	for _, f := range fresh {
		if f.power.Kind == k {
			out = append(out, f)
		}
	}
	return out
}

// ruleGrant: a binding grants its role's rules to its subjects ("RoleBinding and
// ClusterRoleBinding" in the RBAC documentation): a RoleBinding within its namespace,
// even when it refers to a ClusterRole; a ClusterRoleBinding in every namespace and on
// cluster-scoped resources. A subject is named directly or through a group it belongs
// to (Subject.memberships). It applies to the objects' bindings for an identity the
// subject acts as, and to the bindings the subject can create for itself.
func ruleGrant(c *closure, fresh []*fact) {
	for _, f := range fresh {
		switch f.power.Kind {
		case KindActAs:
			for _, m := range f.power.Subject.memberships() {
				for _, b := range c.ix.bindings {
					if !slices.Contains(b.subjects, m) {
						continue
					}
					via := b.id()
					if m != f.power.Subject {
						via += " (" + m.String() + ")"
					}
					c.grant(b.roleKind, b.roleName, b.namespace, via, f)
				}
			}
		case KindBindsRole:
			via := "a ClusterRoleBinding it creates"
			if f.power.Namespace != "" {
				via = "a RoleBinding it creates in " + f.power.Namespace
			}
			c.grant(f.power.RoleKind, f.power.Name, f.power.Namespace, via, f)
		}
	}
}

func (c *closure) grant(roleKind, roleName, namespace, via string, from *fact) {
	r := c.ix.role(roleKind, namespace, roleName)
	if r == nil {
		return
	}
	for _, rule := range r.rules {
		for _, t := range rbacvalidation.BreakdownRule(rule) {
			if len(t.NonResourceURLs) > 0 {
				continue
			}
			p := Permission{Namespace: namespace, Verb: t.Verbs[0], APIGroup: t.APIGroups[0], Resource: t.Resources[0]}
			if len(t.ResourceNames) > 0 {
				p.ResourceName = t.ResourceNames[0]
			}
			if namespace != "" && isClusterScoped(p.Resource) {
				if p.Resource != "clusterroles" || (p.Verb != "bind" && p.Verb != rbacv1.VerbAll) {
					continue // matches no request: see clusterScoped
				}
				// The bind check for a RoleBinding's ClusterRole is made in the binding's
				// namespace (ruleBind): this grant is that and nothing else.
				p.Verb = "bind"
			}
			c.emit(PermissionPower(p), EdgeGrant, via+" → "+r.id, from)
		}
	}
}

// ruleWildcard: cluster-admin's own rule is every verb on every resource of every group,
// cluster-wide; holding it is holding cluster-admin.
func ruleWildcard(c *closure, fresh []*fact) {
	for _, f := range kindFacts(fresh, KindPermission) {
		p := f.power.Permission
		if p.Namespace == "" && p.Verb == rbacv1.VerbAll && p.APIGroup == rbacv1.APIGroupAll && p.Resource == rbacv1.ResourceAll && p.ResourceName == "" {
			c.emit(ClusterAdminPower(), EdgeWildcard, "", f)
		}
	}
}

// ruleSystemMasters: members of system:masters bypass authorization altogether ("Avoid
// adding users to the system:masters group", RBAC good practices).
func ruleSystemMasters(c *closure, fresh []*fact) {
	for _, f := range kindFacts(fresh, KindActAs) {
		if slices.Contains(f.power.Subject.memberships(), Group("system:masters")) {
			c.emit(ClusterAdminPower(), EdgeSystemMasters, "Group system:masters bypasses authorization", f)
		}
	}
}

// workloadKinds are the resources whose objects make pods; creating one, or changing an
// existing one's template, runs pods of one's making ("Workload creation", RBAC good
// practices: permission to create workloads, Pods or the resources that manage them,
// gives access to the namespace's Secrets, ConfigMaps and ServiceAccounts).
var workloadKinds = []struct{ group, resource, kind string }{
	{"", "pods", "Pod"}, {"", "replicationcontrollers", "ReplicationController"},
	{"apps", "deployments", "Deployment"}, {"apps", "replicasets", "ReplicaSet"},
	{"apps", "statefulsets", "StatefulSet"}, {"apps", "daemonsets", "DaemonSet"},
	{"batch", "jobs", "Job"}, {"batch", "cronjobs", "CronJob"},
}

// ruleRunPods: create on a workload resource in N, or update or patch on one that exists
// there (pods aside: only an image of a running pod can change, see ruleExec), runs pods
// of one's making in N. They are privileged pods when N's Pod Security enforce level is
// privileged: baseline and restricted forbid privileged containers, host namespaces and
// hostPath volumes ("Pod Security Standards").
func ruleRunPods(c *closure, _ []*fact) {
	for _, ns := range c.ix.nsNames {
		n := c.ix.namespaces[ns]
		var best *fact
		for _, k := range workloadKinds {
			f := c.can(Request{Namespace: ns, Verb: "create", APIGroup: k.group, Resource: k.resource})
			if f == nil && k.resource != "pods" && c.ix.hasWorkload(ns, k.kind) {
				f = c.canAny(Request{Namespace: ns, APIGroup: k.group, Resource: k.resource}, "update", "patch")
			}
			if f != nil && (best == nil || f.round < best.round) {
				best = f
			}
		}
		if best != nil {
			c.emit(RunPodsPower(ns, n.enforce == psapi.LevelPrivileged), EdgeRunPods, n.source, best)
		}
	}
}

// hasWorkload says whether namespace ns holds a workload of kind: a map lookup, since
// ruleRunPods asks for every namespace and kind in every round of every closure.
func (ix *index) hasWorkload(ns, kind string) bool {
	return ix.hasKind[kind+" "+ns]
}

// ruleNamespaceLabel: Pod Security admission reads the level from the namespace's
// pod-security.kubernetes.io/enforce label, so who may update namespace N runs
// privileged pods there ("Namespace modification", RBAC good practices). A request for
// namespace N carries namespace N, so a RoleBinding in N can grant it.
func ruleNamespaceLabel(c *closure, _ []*fact) {
	for _, ns := range c.ix.nsNames {
		run := c.facts[RunPodsPower(ns, false)]
		if run == nil || run.round >= c.round {
			continue
		}
		if f := c.canAny(Request{Namespace: ns, Resource: "namespaces", Name: ns}, "update", "patch"); f != nil {
			c.emit(RunPodsPower(ns, true), EdgeNamespaceLabel, "sets "+psapi.EnforceLevelLabel+"=privileged on Namespace "+ns, run, f)
		}
	}
}

// rulePodServiceAccount: a pod runs as the ServiceAccount its spec names, any of its
// namespace's, and gets its token ("Workload creation", RBAC good practices).
func rulePodServiceAccount(c *closure, fresh []*fact) {
	for _, f := range kindFacts(fresh, KindRunPods) {
		for _, sa := range c.ix.serviceAccounts(f.power.Namespace) {
			c.emit(ActAsPower(ServiceAccount(f.power.Namespace, sa)), EdgePodServiceAccount, "a pod with serviceAccountName "+sa, f)
		}
	}
}

// rulePodSecrets: a pod may mount any Secret of its namespace ("Workload creation", RBAC
// good practices).
func rulePodSecrets(c *closure, fresh []*fact) {
	for _, f := range kindFacts(fresh, KindRunPods) {
		c.emit(ReadSecretsPower(f.power.Namespace, ""), EdgePodSecrets, "a pod mounting them", f)
	}
}

// rulePrivilegedPod: a privileged pod is root on its node, and its creator picks the node:
// spec.nodeName binds the pod without the scheduler, so NoSchedule taints and selectors do
// not stop it, and a toleration of its making passes NoExecute ones ("Taints and
// Tolerations"; "Assigning Pods to Nodes", nodeName).
func rulePrivilegedPod(c *closure, fresh []*fact) {
	for _, f := range kindFacts(fresh, KindRunPods) {
		if !f.power.Privileged {
			continue
		}
		for _, p := range c.ix.pools {
			c.emit(NodeRootPower(p.name), EdgePrivilegedPod, "a privileged pod with spec.nodeName on a node of "+p.desc, f)
		}
	}
}

// ruleHostPathVolume: a PersistentVolume may be a hostPath volume, and Pod Security checks
// the pod, not the volume its claim binds ("Persistent volume creation", RBAC good
// practices: create on persistentvolumes is host access). With a claim in N and a pod there,
// it is root on any node.
func ruleHostPathVolume(c *closure, _ []*fact) {
	pv := c.can(Request{Verb: "create", Resource: "persistentvolumes"})
	if pv == nil {
		return
	}
	for _, ns := range c.ix.nsNames {
		run := c.facts[RunPodsPower(ns, false)]
		if run == nil || run.round >= c.round {
			run = c.facts[RunPodsPower(ns, true)]
		}
		if run == nil || run.round >= c.round {
			continue
		}
		pvc := c.can(Request{Namespace: ns, Verb: "create", Resource: "persistentvolumeclaims"})
		if pvc == nil {
			continue
		}
		for _, p := range c.ix.pools {
			c.emit(NodeRootPower(p.name), EdgeHostPathVolume, "a pod in "+ns+" claiming a hostPath PersistentVolume of its making, on a node of "+p.desc, run, pv, pvc)
		}
	}
}

// podAccess are the ways into a running pod: exec and attach run in its containers
// ("pods/exec" needs create since AuthorizePodWebsocketUpgradeCreatePermission, beta
// and on by default from 1.35); an ephemeral container joins the pod with its volumes; a
// pod's container image may be changed in place (pod updates may change
// spec.containers[*].image).
var podAccess = []struct {
	resource string
	verbs    []string
	how      string
}{
	{"pods/exec", []string{"create"}, "exec into"},
	{"pods/attach", []string{"create"}, "attach to"},
	{"pods/ephemeralcontainers", []string{"update", "patch"}, "an ephemeral container in"},
	{"pods", []string{"update", "patch"}, "an image of its choosing in"},
}

// ruleExec: who gets into a running pod acts with its ServiceAccount token (when mounted),
// reads the Secrets it mounts, and is root on its node when it has host access — on the
// node pools its template may be scheduled to.
func ruleExec(c *closure, _ []*fact) {
	for _, ns := range c.ix.nsNames {
		var in *fact
		how := ""
		for _, a := range podAccess {
			if f := c.canAny(Request{Namespace: ns, Resource: a.resource}, a.verbs...); f != nil && (in == nil || f.round < in.round) {
				in, how = f, a.how
			}
		}
		if in == nil {
			continue
		}
		for _, w := range c.ix.workloads {
			if w.namespace != ns {
				continue
			}
			if w.tokenMounted {
				c.emit(ActAsPower(ServiceAccount(ns, w.serviceAccount)), EdgeExec, how+" "+w.id+", which mounts its ServiceAccount token", in)
			}
			for _, s := range w.secrets {
				c.emit(ReadSecretsPower(ns, s), EdgeExec, how+" "+w.id+", which mounts it", in)
			}
			if len(w.hostAccess) == 0 {
				continue
			}
			for _, p := range c.ix.pools {
				if slices.Contains(w.pools, p.name) {
					c.emit(NodeRootPower(p.name), EdgeExec, how+" "+w.id+" ("+strings.Join(w.hostAccess, ", ")+") on a node of "+p.desc, in)
				}
			}
		}
	}
}

// ruleReadSecrets: get, list and watch on Secrets return their content ("Listing
// secrets", RBAC good practices: list and watch too); resource names restrict it to those
// Secrets.
func ruleReadSecrets(c *closure, _ []*fact) {
	for _, ns := range append([]string{""}, c.ix.nsNames...) {
		if _, everywhere := c.facts[ReadSecretsPower("", "")]; everywhere && ns != "" {
			break // every namespace's Secrets are reached already
		}
		if f := c.canAny(Request{Namespace: ns, Resource: "secrets"}, "get", "list", "watch"); f != nil {
			c.emit(ReadSecretsPower(ns, ""), EdgeReadSecrets, "", f)
		}
	}
	for _, v := range []string{"get", "list", "watch"} {
		for _, f := range c.permFacts(Request{Verb: v, Resource: "secrets"}) {
			if n := f.power.Permission.ResourceName; n != "" {
				c.emit(ReadSecretsPower(f.power.Permission.Namespace, n), EdgeReadSecrets, "", f)
			}
		}
	}
}

// ruleTokenSecret: a Secret of type kubernetes.io/service-account-token holds a token of
// the ServiceAccount its annotation names ("Long-lived API token for a ServiceAccount").
func ruleTokenSecret(c *closure, fresh []*fact) {
	for _, f := range kindFacts(fresh, KindReadSecrets) {
		for _, ns := range c.ix.nsNames {
			if f.power.Namespace != "" && f.power.Namespace != ns {
				continue
			}
			tokens := c.ix.namespaces[ns].tokenSecrets
			for _, name := range sortedKeys(tokens) {
				if f.power.Name == "" || f.power.Name == name {
					c.emit(ActAsPower(ServiceAccount(ns, tokens[name])), EdgeTokenSecret, "Secret "+ns+"/"+name+" holds its token", f)
				}
			}
		}
	}
}

// ruleCreateTokenSecret: who may create a Secret in N and read it back gets a token of
// any ServiceAccount of N: the token controller fills a kubernetes.io/service-account-token
// Secret that names the ServiceAccount in its annotation ("Manually create a long-lived
// API token for a ServiceAccount"); the creator picks the name, so reading one named
// Secret is enough.
func ruleCreateTokenSecret(c *closure, _ []*fact) {
	for _, ns := range c.ix.nsNames {
		create := c.can(Request{Namespace: ns, Verb: "create", Resource: "secrets"})
		if create == nil {
			continue
		}
		var read *fact
		for _, f := range c.order {
			if f.round < c.round && f.power.Kind == KindReadSecrets && (f.power.Namespace == "" || f.power.Namespace == ns) {
				read = f
				break
			}
		}
		if read == nil {
			continue
		}
		for _, sa := range c.ix.serviceAccounts(ns) {
			c.emit(ActAsPower(ServiceAccount(ns, sa)), EdgeCreateTokenSecret, "a token Secret for it, of its making, that the token controller fills", create, read)
		}
	}
}

// ruleTokenRequest: create on serviceaccounts/token issues a token for that ServiceAccount
// ("Token request", RBAC good practices).
func ruleTokenRequest(c *closure, _ []*fact) {
	// Most subjects may request no token anywhere: ask that once before asking it for
	// every ServiceAccount of every namespace.
	if len(c.permFacts(Request{Verb: "create", Resource: "serviceaccounts/token"})) == 0 {
		return
	}
	for _, ns := range c.ix.nsNames {
		for _, sa := range c.ix.serviceAccounts(ns) {
			if f := c.can(Request{Namespace: ns, Verb: "create", Resource: "serviceaccounts/token", Name: sa}); f != nil {
				c.emit(ActAsPower(ServiceAccount(ns, sa)), EdgeTokenRequest, "a TokenRequest", f)
			}
		}
	}
}

// ruleBind: a binding may be created or updated only by who holds the role's permissions
// at the binding's scope or may "bind" the role (verb bind on roles or clusterroles,
// checked in the binding's namespace, or cluster-wide for a ClusterRoleBinding: "Restrictions
// on role binding creation or update", RBAC documentation). Resource names restrict bind to
// those roles. Who holds the permissions already gains nothing, so only bind is followed.
func ruleBind(c *closure, _ []*fact) {
	crNames := sortedKeys(c.ix.clusterRoles)
	// ClusterRoleBindings: a new one to any ClusterRole, or an existing one's subjects.
	createCRB := c.can(Request{Verb: "create", APIGroup: rbacv1.GroupName, Resource: "clusterrolebindings"})
	if createCRB != nil {
		for _, r := range crNames {
			if b := c.can(Request{Verb: "bind", APIGroup: rbacv1.GroupName, Resource: "clusterroles", Name: r}); b != nil {
				c.emit(BindsRolePower("ClusterRole", r, ""), EdgeBind, "", b, createCRB)
			}
		}
	}
	for _, existing := range c.ix.bindings {
		if existing.namespace != "" {
			continue
		}
		f := c.canAny(Request{APIGroup: rbacv1.GroupName, Resource: "clusterrolebindings", Name: existing.name}, "update", "patch")
		if f == nil {
			continue
		}
		if b := c.can(Request{Verb: "bind", APIGroup: rbacv1.GroupName, Resource: "clusterroles", Name: existing.roleName}); b != nil {
			c.emit(BindsRolePower("ClusterRole", existing.roleName, ""), EdgeBind, "adds itself to "+existing.id(), b, f)
		}
	}
	// RoleBindings in each namespace.
	for _, ns := range c.ix.nsNames {
		create := c.can(Request{Namespace: ns, Verb: "create", APIGroup: rbacv1.GroupName, Resource: "rolebindings"})
		if create != nil {
			for _, r := range crNames {
				if b := c.can(Request{Namespace: ns, Verb: "bind", APIGroup: rbacv1.GroupName, Resource: "clusterroles", Name: r}); b != nil {
					c.emit(BindsRolePower("ClusterRole", r, ns), EdgeBind, "", b, create)
				}
			}
			for _, key := range sortedKeys(c.ix.roles) {
				rns, r, _ := strings.Cut(key, "/")
				if rns != ns {
					continue
				}
				if b := c.can(Request{Namespace: ns, Verb: "bind", APIGroup: rbacv1.GroupName, Resource: "roles", Name: r}); b != nil {
					c.emit(BindsRolePower("Role", r, ns), EdgeBind, "", b, create)
				}
			}
		}
		for _, existing := range c.ix.bindings {
			if existing.namespace != ns {
				continue
			}
			f := c.canAny(Request{Namespace: ns, APIGroup: rbacv1.GroupName, Resource: "rolebindings", Name: existing.name}, "update", "patch")
			if f == nil {
				continue
			}
			res := "clusterroles"
			if existing.roleKind == "Role" {
				res = "roles"
			}
			if b := c.can(Request{Namespace: ns, Verb: "bind", APIGroup: rbacv1.GroupName, Resource: res, Name: existing.roleName}); b != nil {
				c.emit(BindsRolePower(existing.roleKind, existing.roleName, ns), EdgeBind, "adds itself to "+existing.id(), b, f)
			}
		}
	}
}

// ruleEscalate: a role may be changed only by who holds the permissions it would grant,
// or may "escalate" it ("Restrictions on role creation or update", RBAC documentation; the
// check names the role on update, none on create). Who may escalate and update a role bound
// to itself makes it grant everything at that binding's scope. An aggregated ClusterRole
// takes the rules of every ClusterRole its selectors match, and an update may change
// labels too, so escalating and updating any ClusterRole, or creating one with escalate
// granted for all, feeds an aggregated role bound to it.
func ruleEscalate(c *closure, _ []*fact) {
	type bound struct {
		roleKind, roleName, namespace, via string
		from                               *fact
	}
	var mine []bound
	for _, f := range c.order {
		if f.round >= c.round {
			break
		}
		switch f.power.Kind {
		case KindActAs:
			for _, m := range f.power.Subject.memberships() {
				for _, b := range c.ix.bindings {
					if slices.Contains(b.subjects, m) {
						mine = append(mine, bound{b.roleKind, b.roleName, b.namespace, b.id(), f})
					}
				}
			}
		case KindBindsRole:
			mine = append(mine, bound{f.power.RoleKind, f.power.Name, f.power.Namespace, "the binding it creates", f})
		}
	}
	everything := func(ns string) Power {
		return PermissionPower(Permission{Namespace: ns, Verb: rbacv1.VerbAll, APIGroup: rbacv1.APIGroupAll, Resource: rbacv1.ResourceAll})
	}
	for _, b := range mine {
		r := c.ix.role(b.roleKind, b.namespace, b.roleName)
		if r == nil {
			continue
		}
		res, roleNS := "clusterroles", ""
		if b.roleKind == "Role" {
			res, roleNS = "roles", b.namespace
		}
		esc := c.can(Request{Namespace: roleNS, Verb: "escalate", APIGroup: rbacv1.GroupName, Resource: res, Name: b.roleName})
		upd := c.canAny(Request{Namespace: roleNS, APIGroup: rbacv1.GroupName, Resource: res, Name: b.roleName}, "update", "patch")
		if esc != nil && upd != nil && !r.aggregated {
			c.emit(everything(b.namespace), EdgeEscalate, "rewrites "+r.id+", which "+b.via+" binds to it", esc, upd, b.from)
			continue
		}
		if !r.aggregated {
			continue
		}
		// Feed the aggregated role through a ClusterRole of its making or changing.
		if cr, e := c.can(Request{Verb: "create", APIGroup: rbacv1.GroupName, Resource: "clusterroles"}), c.can(Request{Verb: "escalate", APIGroup: rbacv1.GroupName, Resource: "clusterroles"}); cr != nil && e != nil {
			c.emit(everything(b.namespace), EdgeEscalate, "creates a ClusterRole labelled for aggregation into "+r.id+", which "+b.via+" binds to it", e, cr, b.from)
			continue
		}
		for _, other := range sortedKeys(c.ix.clusterRoles) {
			e := c.can(Request{Verb: "escalate", APIGroup: rbacv1.GroupName, Resource: "clusterroles", Name: other})
			u := c.canAny(Request{APIGroup: rbacv1.GroupName, Resource: "clusterroles", Name: other}, "update", "patch")
			if e != nil && u != nil && c.ix.clusterRoles[other] != r {
				c.emit(everything(b.namespace), EdgeEscalate, "relabels and rewrites "+c.ix.clusterRoles[other].id+" to aggregate into "+r.id+", which "+b.via+" binds to it", e, u, b.from)
				break
			}
		}
	}
}

// ruleImpersonate: the impersonate verb on users, groups or serviceaccounts acts as them
// ("Impersonate verb", RBAC good practices; "User impersonation", authentication
// documentation). Any user or any group unrestricted, or the group system:masters, is
// cluster-admin: the control plane's own users and system:masters are among them.
func ruleImpersonate(c *closure, _ []*fact) {
	for _, f := range c.permFacts(Request{Verb: "impersonate", Resource: "users"}) {
		p := f.power.Permission
		if p.Namespace != "" {
			continue
		}
		switch ns, name, isSA := serviceAccountUser(p.ResourceName); {
		case p.ResourceName == "":
			c.emit(ClusterAdminPower(), EdgeImpersonate, "impersonates any user, the control plane's included", f)
		case isSA:
			c.emit(ActAsPower(ServiceAccount(ns, name)), EdgeImpersonate, "", f)
		default:
			c.emit(ActAsPower(User(p.ResourceName)), EdgeImpersonate, "", f)
		}
	}
	for _, f := range c.permFacts(Request{Verb: "impersonate", Resource: "groups"}) {
		p := f.power.Permission
		if p.Namespace != "" {
			continue
		}
		if p.ResourceName == "" || p.ResourceName == "system:masters" {
			c.emit(ClusterAdminPower(), EdgeImpersonate, "impersonates Group system:masters", f)
			continue
		}
		c.emit(ActAsPower(Group(p.ResourceName)), EdgeImpersonate, "", f)
	}
	for _, f := range c.permFacts(Request{Verb: "impersonate", Resource: "serviceaccounts"}) {
		p := f.power.Permission
		for _, ns := range c.ix.nsNames {
			if p.Namespace != "" && p.Namespace != ns {
				continue
			}
			for _, sa := range c.ix.serviceAccounts(ns) {
				if p.ResourceName == "" || p.ResourceName == sa {
					c.emit(ActAsPower(ServiceAccount(ns, sa)), EdgeImpersonate, "", f)
				}
			}
		}
	}
}

// ruleNodeProxy: nodes/proxy reaches the kubelet's API, which runs commands in any
// container of the node ("Access to proxy subresource of Nodes", RBAC good practices); the
// kubelet authorizes a websocket exec as get, so get is enough.
func ruleNodeProxy(c *closure, _ []*fact) {
	for _, v := range []string{"get", "create"} {
		for _, f := range c.permFacts(Request{Verb: v, Resource: "nodes/proxy"}) {
			name := f.power.Permission.ResourceName
			if f.power.Permission.Namespace != "" {
				continue
			}
			for _, p := range c.ix.pools {
				if name == "" || p.holds(name) {
					c.emit(NodeRootPower(p.name), EdgeNodeProxy, "the kubelet API of a node of "+p.desc, f)
				}
			}
		}
	}
}

// holds reports whether node name may be one of the pool's: named in it, or the pool
// does not name its nodes.
func (p *pool) holds(name string) bool {
	for _, n := range p.nodes {
		if n.Name == "" || n.Name == name {
			return true
		}
	}
	return false
}

// ruleNodeCredentials: root on a node holds the kubelet's credentials. The Node
// authorizer lets them request tokens for the ServiceAccounts of the pods bound to the
// node and read the Secrets those pods use; NodeRestriction forbids a node to change its
// taints but lets it set most labels, so a rooted node can draw in every pod that
// tolerates its taints (see doc.go). An untainted pool draws in any pod: root there is
// cluster-admin.
func ruleNodeCredentials(c *closure, fresh []*fact) {
	for _, f := range kindFacts(fresh, KindNodeRoot) {
		p := c.ix.pool(f.power.Name)
		if p.all || p.general() {
			c.emit(ClusterAdminPower(), EdgeGeneralNode, p.desc+" keeps no pod away: the kubelet credentials reach any pod's ServiceAccount and Secrets", f)
			continue
		}
		for _, w := range c.ix.workloads {
			if !slices.Contains(w.attractedBy, p.name) {
				continue
			}
			c.emit(ActAsPower(ServiceAccount(w.namespace, w.serviceAccount)), EdgeNodeCredentials, "the kubelet credentials: "+w.id+" tolerates the pool's taints", f)
			for _, s := range slices.Concat(w.secrets, w.pullSecrets) {
				c.emit(ReadSecretsPower(w.namespace, s), EdgeNodeCredentials, "the kubelet credentials: "+w.id+" uses it and tolerates the pool's taints", f)
			}
		}
	}
}

func (ix *index) pool(name string) *pool {
	for _, p := range ix.pools {
		if p.name == name {
			return p
		}
	}
	panic("privilege: unknown node pool " + name) // NodeRoot powers name only the index's pools
}

// ruleNodeTaints: who may update nodes may remove a dedicated pool's taints; with root on
// that pool any pod may then be drawn in (see ruleNodeCredentials).
func ruleNodeTaints(c *closure, _ []*fact) {
	upd := c.canAny(Request{Resource: "nodes"}, "update", "patch")
	if upd == nil {
		return
	}
	for _, f := range c.order {
		if f.round < c.round && f.power.Kind == KindNodeRoot {
			c.emit(ClusterAdminPower(), EdgeNodeTaints, "removes the taints of its nodes", f, upd)
			return
		}
	}
}

// ruleAdmissionWebhook: admission webhooks and policies see every object written to the
// API, mutating ones change it ("Control admission webhooks", RBAC good practices). A
// mutating webhook or policy of one's making can rewrite any workload or binding: counted
// as cluster-admin. A validating webhook receives every Secret written.
func ruleAdmissionWebhook(c *closure, _ []*fact) {
	for _, res := range []string{"mutatingwebhookconfigurations", "mutatingadmissionpolicies"} {
		if f := c.canAny(Request{APIGroup: "admissionregistration.k8s.io", Resource: res}, "create", "update", "patch"); f != nil {
			c.emit(ClusterAdminPower(), EdgeAdmissionWebhook, "a mutating admission "+strings.TrimSuffix(res, "s")+" of its making rewrites any object written", f)
		}
	}
	if f := c.canAny(Request{APIGroup: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations"}, "create", "update", "patch"); f != nil {
		c.emit(ReadSecretsPower("", ""), EdgeAdmissionWebhook, "a validating webhook of its making receives every Secret written", f)
	}
}

// ruleCertificate: who may create a CertificateSigningRequest, approve it and approve for
// the kube-apiserver-client signer gets a client certificate for any user and group,
// system:masters included ("CSRs and certificate issuing", RBAC good practices; the
// approval check names the signer, or its domain with "/*").
func ruleCertificate(c *closure, _ []*fact) {
	create := c.can(Request{Verb: "create", APIGroup: "certificates.k8s.io", Resource: "certificatesigningrequests"})
	approve := c.canAny(Request{APIGroup: "certificates.k8s.io", Resource: "certificatesigningrequests/approval"}, "update", "patch")
	if create == nil || approve == nil {
		return
	}
	for _, signer := range []string{"kubernetes.io/kube-apiserver-client", "kubernetes.io/*"} {
		if f := c.can(Request{Verb: "approve", APIGroup: "certificates.k8s.io", Resource: "signers", Name: signer}); f != nil {
			c.emit(ClusterAdminPower(), EdgeCertificate, "approves its own request for a system:masters client certificate", f, create, approve)
			return
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
