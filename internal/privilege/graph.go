package privilege

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"
	kubeletapis "k8s.io/kubelet/pkg/apis"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	corehelpers "k8s.io/component-helpers/scheduling/corev1"
)

// Subject is who holds powers: a User, a Group or a ServiceAccount, as an RBAC subject
// names them (Kind is rbacv1.UserKind, rbacv1.GroupKind or rbacv1.ServiceAccountKind).
type Subject struct {
	Kind string
	// Namespace is the ServiceAccount's namespace; empty for Users and Groups.
	Namespace string
	Name      string
}

// User returns the subject User name.
func User(name string) Subject { return Subject{Kind: rbacv1.UserKind, Name: name} }

// Group returns the subject Group name.
func Group(name string) Subject { return Subject{Kind: rbacv1.GroupKind, Name: name} }

// ServiceAccount returns the subject ServiceAccount namespace/name.
func ServiceAccount(namespace, name string) Subject {
	return Subject{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: name}
}

// String returns "Group lsst-qserv-admins" or "ServiceAccount qserv/qserv-data-admin".
func (s Subject) String() string {
	if s.Kind == rbacv1.ServiceAccountKind {
		return s.Kind + " " + s.Namespace + "/" + s.Name
	}
	return s.Kind + " " + s.Name
}

// UserInfo returns the user name and groups the apiserver gives the subject when it
// authenticates: a ServiceAccount's token carries system:serviceaccount:<ns>:<name> and its
// groups; a Group is represented by a user named member-of-<group>. Every authenticated
// identity is also in system:authenticated.
func (s Subject) UserInfo() (user string, groups []string) {
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		return "system:serviceaccount:" + s.Namespace + ":" + s.Name,
			[]string{"system:serviceaccounts", "system:serviceaccounts:" + s.Namespace, "system:authenticated"}
	case rbacv1.GroupKind:
		return "member-of-" + s.Name, []string{s.Name, "system:authenticated"}
	}
	return s.Name, []string{"system:authenticated"}
}

// memberships returns the subjects a binding may name to reach s: s itself and the groups
// the apiserver puts it in ("Referring to subjects" in the RBAC documentation: every
// ServiceAccount is in system:serviceaccounts and system:serviceaccounts:<namespace>,
// every authenticated request in system:authenticated).
func (s Subject) memberships() []Subject {
	out := []Subject{s}
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		out = append(out, Group("system:serviceaccounts"), Group("system:serviceaccounts:"+s.Namespace))
	case rbacv1.UserKind:
		// A user named system:serviceaccount:<ns>:<name> is that ServiceAccount.
		if ns, name, ok := serviceAccountUser(s.Name); ok {
			out = append(out, ServiceAccount(ns, name), Group("system:serviceaccounts"), Group("system:serviceaccounts:"+ns))
		}
	}
	if s != Group("system:authenticated") {
		out = append(out, Group("system:authenticated"))
	}
	return out
}

// serviceAccountUser splits the user name a ServiceAccount authenticates as.
func serviceAccountUser(user string) (namespace, name string, ok bool) {
	rest, ok := strings.CutPrefix(user, "system:serviceaccount:")
	if !ok {
		return "", "", false
	}
	namespace, name, ok = strings.Cut(rest, ":")
	return namespace, name, ok && namespace != "" && name != ""
}

// Permission is one RBAC permission tuple, as component-helpers' BreakdownRule splits a
// rule: one verb, API group, resource (with its subresource, "pods/exec") and resource
// name. "*" keeps its RBAC meaning in Verb, APIGroup and Resource ("*/scale" too).
type Permission struct {
	// Namespace is where the permission applies; empty for a ClusterRoleBinding's grant,
	// which applies in every namespace and to cluster-scoped resources.
	Namespace    string
	Verb         string
	APIGroup     string
	Resource     string
	ResourceName string // empty: any object
}

// String returns "create pods/exec in qserv" or `bind clusterroles.rbac.authorization.k8s.io "cluster-admin" cluster-wide`.
func (p Permission) String() string {
	var b strings.Builder
	b.WriteString(p.Verb + " " + p.Resource)
	if p.APIGroup != "" {
		b.WriteString("." + p.APIGroup)
	}
	if p.ResourceName != "" {
		fmt.Fprintf(&b, " %q", p.ResourceName)
	}
	b.WriteString(scopeText(p.Namespace))
	return b.String()
}

func scopeText(namespace string) string {
	if namespace == "" {
		return " cluster-wide"
	}
	return " in " + namespace
}

// Request is one question to the authorizer, as a SubjectAccessReview asks it.
type Request struct {
	Namespace string // empty: cluster-scoped, or all namespaces
	Verb      string
	APIGroup  string
	Resource  string // with its subresource: "pods/exec"
	Name      string
}

// allows reports whether p allows r, as the RBAC authorizer's RuleAllows decides for a
// rule of one tuple: a namespace-scoped grant only for requests in that namespace; "*"
// matches any verb, group or resource, "*/sub" any resource's subresource sub; a
// resource name restricts the grant to requests naming that object.
func (p Permission) allows(r Request) bool {
	if p.Namespace != "" && p.Namespace != r.Namespace {
		return false
	}
	if p.Verb != rbacv1.VerbAll && p.Verb != r.Verb {
		return false
	}
	if p.APIGroup != rbacv1.APIGroupAll && p.APIGroup != r.APIGroup {
		return false
	}
	if p.Resource != rbacv1.ResourceAll && p.Resource != r.Resource {
		_, sub, isSub := strings.Cut(r.Resource, "/")
		if !isSub || p.Resource != "*/"+sub {
			return false
		}
	}
	return p.ResourceName == "" || p.ResourceName == r.Name
}

// clusterScoped lists the built-in resources that have no namespace. A RoleBinding's grant
// on them matches no request (requests for them carry no namespace), so the analysis drops
// it; but for bind on clusterroles, which the apiserver checks in the namespace of the
// RoleBinding being written. "namespaces" is not here: a request for namespace N carries namespace N, so a
// RoleBinding in N does grant access to N itself. Unknown resources count as namespaced.
var clusterScoped = map[string]bool{
	"nodes": true, "persistentvolumes": true, "componentstatuses": true,
	"clusterroles": true, "clusterrolebindings": true,
	"storageclasses": true, "csidrivers": true, "csinodes": true, "volumeattachments": true,
	"ingressclasses": true, "priorityclasses": true, "runtimeclasses": true,
	"customresourcedefinitions": true, "apiservices": true,
	"mutatingwebhookconfigurations": true, "validatingwebhookconfigurations": true,
	"validatingadmissionpolicies": true, "validatingadmissionpolicybindings": true,
	"mutatingadmissionpolicies": true, "mutatingadmissionpolicybindings": true,
	"certificatesigningrequests": true, "signers": true, "clustertrustbundles": true,
	"tokenreviews": true, "subjectaccessreviews": true, "selfsubjectaccessreviews": true,
	"selfsubjectrulesreviews": true, "selfsubjectreviews": true,
	"flowschemas": true, "prioritylevelconfigurations": true,
	"deviceclasses": true, "resourceslices": true,
	"users": true, "groups": true, "uids": true, "userextras": true,
}

func isClusterScoped(resource string) bool {
	base, _, _ := strings.Cut(resource, "/")
	return clusterScoped[base]
}

// PowerKind is what a Power is.
type PowerKind string

// The kinds of power, from the most to the least far-reaching.
const (
	// KindClusterAdmin: the power of cluster-admin, or an equivalent one (see doc.go).
	KindClusterAdmin PowerKind = "cluster-admin"
	// KindNodeRoot: root on the nodes of pool Name.
	KindNodeRoot PowerKind = "node-root"
	// KindActAs: acts as Subject, with its credentials.
	KindActAs PowerKind = "act-as"
	// KindBindsRole: can bind role Name (RoleKind Role or ClusterRole) to itself, in
	// Namespace or cluster-wide (Namespace empty).
	KindBindsRole PowerKind = "binds-role"
	// KindRunPods: runs pods of its own making in Namespace; Privileged when Pod Security
	// lets them be privileged.
	KindRunPods PowerKind = "run-pods"
	// KindReadSecrets: reads the content of Secret Name in Namespace (Name empty: every
	// Secret there; Namespace empty: in every namespace).
	KindReadSecrets PowerKind = "read-secrets"
	// KindPermission: one RBAC permission.
	KindPermission PowerKind = "permission"
)

var kindOrder = []PowerKind{KindClusterAdmin, KindNodeRoot, KindActAs, KindBindsRole, KindRunPods, KindReadSecrets, KindPermission}

// Power is one thing a subject can do. Only the fields its Kind names are set, so that
// equal powers compare equal.
type Power struct {
	Kind       PowerKind
	Permission Permission // KindPermission
	Subject    Subject    // KindActAs
	Namespace  string     // KindRunPods, KindReadSecrets, KindBindsRole
	Name       string     // KindReadSecrets, KindNodeRoot, KindBindsRole
	RoleKind   string     // KindBindsRole
	Privileged bool       // KindRunPods
}

// ClusterAdminPower returns the power of cluster-admin.
func ClusterAdminPower() Power { return Power{Kind: KindClusterAdmin} }

// NodeRootPower returns root on the nodes of a pool (AllNodes without pools).
func NodeRootPower(pool string) Power { return Power{Kind: KindNodeRoot, Name: pool} }

// ActAsPower returns acting as s.
func ActAsPower(s Subject) Power { return Power{Kind: KindActAs, Subject: s} }

// PermissionPower returns holding permission p.
func PermissionPower(p Permission) Power { return Power{Kind: KindPermission, Permission: p} }

// RunPodsPower returns running pods of one's own making in namespace, privileged or not.
func RunPodsPower(namespace string, privileged bool) Power {
	return Power{Kind: KindRunPods, Namespace: namespace, Privileged: privileged}
}

// ReadSecretsPower returns reading Secret name in namespace; an empty name means every
// Secret there, an empty namespace every namespace.
func ReadSecretsPower(namespace, name string) Power {
	return Power{Kind: KindReadSecrets, Namespace: namespace, Name: name}
}

// BindsRolePower returns binding role (of roleKind Role or ClusterRole) to oneself in
// namespace, or cluster-wide when namespace is empty.
func BindsRolePower(roleKind, role, namespace string) Power {
	return Power{Kind: KindBindsRole, RoleKind: roleKind, Name: role, Namespace: namespace}
}

// String says what the power is, in words.
func (p Power) String() string {
	switch p.Kind {
	case KindClusterAdmin:
		return "cluster-admin"
	case KindNodeRoot:
		if p.Name == AllNodes {
			return "root on every node"
		}
		return "root on the nodes of pool " + p.Name
	case KindActAs:
		return "acts as " + p.Subject.String()
	case KindBindsRole:
		return "binds " + p.RoleKind + " " + p.Name + " to itself" + scopeText(p.Namespace)
	case KindRunPods:
		if p.Privileged {
			return "runs privileged pods in " + p.Namespace
		}
		return "runs pods in " + p.Namespace
	case KindReadSecrets:
		what := "every Secret"
		if p.Name != "" {
			what = "Secret " + p.Name
		}
		return "reads " + what + scopeText(p.Namespace)
	case KindPermission:
		return p.Permission.String()
	}
	return string(p.Kind)
}

// Objects is the input of Analyze: the objects that decide who can do what. Collect builds
// it from typed or unstructured objects; a caller may also fill it directly.
type Objects struct {
	Namespaces          []corev1.Namespace
	ServiceAccounts     []corev1.ServiceAccount
	Secrets             []corev1.Secret // only ServiceAccount token Secrets matter
	ClusterRoles        []rbacv1.ClusterRole
	Roles               []rbacv1.Role
	ClusterRoleBindings []rbacv1.ClusterRoleBinding
	RoleBindings        []rbacv1.RoleBinding
	Workloads           []Workload
}

// Workload is a pod template and the object that runs it (a Pod, Deployment, ReplicaSet,
// StatefulSet, DaemonSet, Job, CronJob or ReplicationController).
type Workload struct {
	Kind, Namespace, Name string
	Template              corev1.PodTemplateSpec
}

// ID returns Kind/namespace/name.
func (w Workload) ID() string { return w.Kind + "/" + w.Namespace + "/" + w.Name }

// Collect sorts objects into Objects. Each object is a typed pointer (*rbacv1.Role,
// *appsv1.Deployment, …) or an *unstructured.Unstructured of a known kind, converted
// strictly: an unknown field is an error naming the object. Objects of other kinds are
// ignored.
func Collect(objs ...runtime.Object) (Objects, error) {
	var out Objects
	for _, o := range objs {
		if u, ok := o.(*unstructured.Unstructured); ok {
			typed, err := fromUnstructured(u)
			if err != nil {
				return Objects{}, err
			}
			if typed == nil {
				continue
			}
			o = typed
		}
		out.add(o)
	}
	return out, nil
}

// kinds maps the group and kind of the objects Collect keeps to a new typed object.
var kinds = map[string]func() runtime.Object{
	"Namespace":                             func() runtime.Object { return &corev1.Namespace{} },
	"ServiceAccount":                        func() runtime.Object { return &corev1.ServiceAccount{} },
	"Secret":                                func() runtime.Object { return &corev1.Secret{} },
	"Pod":                                   func() runtime.Object { return &corev1.Pod{} },
	"ReplicationController":                 func() runtime.Object { return &corev1.ReplicationController{} },
	"ClusterRole.rbac.authorization.k8s.io": func() runtime.Object { return &rbacv1.ClusterRole{} },
	"Role.rbac.authorization.k8s.io":        func() runtime.Object { return &rbacv1.Role{} },
	"ClusterRoleBinding.rbac.authorization.k8s.io": func() runtime.Object { return &rbacv1.ClusterRoleBinding{} },
	"RoleBinding.rbac.authorization.k8s.io":        func() runtime.Object { return &rbacv1.RoleBinding{} },
	"Deployment.apps":                              func() runtime.Object { return &appsv1.Deployment{} },
	"ReplicaSet.apps":                              func() runtime.Object { return &appsv1.ReplicaSet{} },
	"StatefulSet.apps":                             func() runtime.Object { return &appsv1.StatefulSet{} },
	"DaemonSet.apps":                               func() runtime.Object { return &appsv1.DaemonSet{} },
	"Job.batch":                                    func() runtime.Object { return &batchv1.Job{} },
	"CronJob.batch":                                func() runtime.Object { return &batchv1.CronJob{} },
}

func fromUnstructured(u *unstructured.Unstructured) (runtime.Object, error) {
	newObj, ok := kinds[u.GroupVersionKind().GroupKind().String()]
	if !ok {
		return nil, nil
	}
	obj := newObj()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, obj, true); err != nil {
		return nil, fmt.Errorf("%s: %w", objectID(u.GetKind(), u.GetNamespace(), u.GetName()), err)
	}
	return obj, nil
}

func (o *Objects) add(obj runtime.Object) {
	switch v := obj.(type) {
	case *corev1.Namespace:
		o.Namespaces = append(o.Namespaces, *v)
	case *corev1.ServiceAccount:
		o.ServiceAccounts = append(o.ServiceAccounts, *v)
	case *corev1.Secret:
		o.Secrets = append(o.Secrets, *v)
	case *rbacv1.ClusterRole:
		o.ClusterRoles = append(o.ClusterRoles, *v)
	case *rbacv1.Role:
		o.Roles = append(o.Roles, *v)
	case *rbacv1.ClusterRoleBinding:
		o.ClusterRoleBindings = append(o.ClusterRoleBindings, *v)
	case *rbacv1.RoleBinding:
		o.RoleBindings = append(o.RoleBindings, *v)
	case *corev1.Pod:
		o.Workloads = append(o.Workloads, Workload{"Pod", v.Namespace, v.Name, corev1.PodTemplateSpec{ObjectMeta: v.ObjectMeta, Spec: v.Spec}})
	case *corev1.ReplicationController:
		if v.Spec.Template != nil {
			o.Workloads = append(o.Workloads, Workload{"ReplicationController", v.Namespace, v.Name, *v.Spec.Template})
		}
	case *appsv1.Deployment:
		o.Workloads = append(o.Workloads, Workload{"Deployment", v.Namespace, v.Name, v.Spec.Template})
	case *appsv1.ReplicaSet:
		o.Workloads = append(o.Workloads, Workload{"ReplicaSet", v.Namespace, v.Name, v.Spec.Template})
	case *appsv1.StatefulSet:
		o.Workloads = append(o.Workloads, Workload{"StatefulSet", v.Namespace, v.Name, v.Spec.Template})
	case *appsv1.DaemonSet:
		o.Workloads = append(o.Workloads, Workload{"DaemonSet", v.Namespace, v.Name, v.Spec.Template})
	case *batchv1.Job:
		o.Workloads = append(o.Workloads, Workload{"Job", v.Namespace, v.Name, v.Spec.Template})
	case *batchv1.CronJob:
		o.Workloads = append(o.Workloads, Workload{"CronJob", v.Namespace, v.Name, v.Spec.JobTemplate.Spec.Template})
	}
}

func objectID(kind, namespace, name string) string {
	if namespace == "" {
		return kind + "/" + name
	}
	return kind + "/" + namespace + "/" + name
}

// ---- the index Analyze builds once ----

// role is a Role or ClusterRole with its effective rules.
type role struct {
	id    string // "ClusterRole lsstgen-sync", "built-in ClusterRole admin", "Role qserv/qserv-os-admin"
	rules []rbacv1.PolicyRule
	// aggregated: the rules come from the ClusterRoles its aggregationRule selects.
	aggregated bool
	labels     map[string]string
	selectors  []labels.Selector
}

// binding is a RoleBinding or ClusterRoleBinding.
type binding struct {
	kind, namespace, name string // namespace empty for a ClusterRoleBinding
	roleKind, roleName    string
	subjects              []Subject
}

func (b *binding) id() string {
	if b.namespace == "" {
		return b.kind + " " + b.name
	}
	return b.kind + " " + b.namespace + "/" + b.name
}

// role returns the role the binding refers to, or nil when it does not exist.
func (ix *index) role(kind, namespace, name string) *role {
	if kind == "Role" {
		return ix.roles[namespace+"/"+name]
	}
	return ix.clusterRoles[name]
}

// namespace is what the analysis knows of one namespace.
type namespace struct {
	name string
	// enforce is its Pod Security enforce level; source says where it comes from.
	enforce psapi.Level
	source  string
	// serviceAccounts: rendered ones, "default", and those bindings and pods name.
	serviceAccounts map[string]bool
	// tokenSecrets maps a legacy ServiceAccount token Secret's name to its ServiceAccount.
	tokenSecrets map[string]string
	automount    map[string]bool // ServiceAccount name -> automountServiceAccountToken (default true)
}

// workload is a pod template with what the analysis needs from it.
type workload struct {
	id             string // "DaemonSet qserv/qserv-data-admin"
	namespace      string
	serviceAccount string
	tokenMounted   bool
	// hostAccess lists the Pod Security baseline checks the template fails that give root
	// on its node ("privileged containers", "hostPath volumes", …).
	hostAccess []string
	// secrets are the Secrets its containers see (volumes, env); pullSecrets only the node.
	secrets, pullSecrets []string
	// pools are the node pools it is scheduled to; attractedBy those whose nodes, once
	// rooted, may pull it in (see doc.go).
	pools, attractedBy []string
}

// index is the world and the objects, resolved: roles aggregated, namespaces known.
type index struct {
	world        World
	clusterRoles map[string]*role
	roles        map[string]*role // namespace/name
	bindings     []*binding
	namespaces   map[string]*namespace
	nsNames      []string // sorted
	workloads    []*workload
	// hasKind holds "Kind namespace" for each kind of workload a namespace has.
	hasKind map[string]bool
	pools   []*pool
	notes   []string
}

// newIndex checks the objects and resolves them against w. Every error names the object
// and what is wrong with it.
func newIndex(objs Objects, w World) (*index, error) {
	pools, err := w.pools()
	if err != nil {
		return nil, err
	}
	ix := &index{world: w, clusterRoles: map[string]*role{}, roles: map[string]*role{}, namespaces: map[string]*namespace{}, hasKind: map[string]bool{}, pools: pools}
	var errs []error
	seen := map[string]bool{}
	unique := func(id string) bool {
		if seen[id] {
			errs = append(errs, fmt.Errorf("%s: appears twice; keep one", id))
			return false
		}
		seen[id] = true
		return true
	}
	needNamespace := func(kind string, m metav1.ObjectMeta) bool {
		if m.Name == "" {
			errs = append(errs, fmt.Errorf("%s in namespace %q has no metadata.name", kind, m.Namespace))
			return false
		}
		if m.Namespace == "" {
			errs = append(errs, fmt.Errorf("%s/%s: a namespaced object without metadata.namespace", kind, m.Name))
			return false
		}
		return unique(objectID(kind, m.Namespace, m.Name))
	}

	for _, r := range w.BuiltinClusterRoles {
		if r.Name == "" {
			errs = append(errs, errors.New("World.BuiltinClusterRoles: a ClusterRole without a name"))
			continue
		}
		if !unique("built-in ClusterRole/" + r.Name) {
			continue
		}
		cr, err := newClusterRole("built-in ClusterRole "+r.Name, "World.BuiltinClusterRoles: ClusterRole/"+r.Name, r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ix.clusterRoles[r.Name] = cr
	}
	for _, r := range objs.ClusterRoles {
		if r.Name == "" {
			errs = append(errs, errors.New("ClusterRole without metadata.name"))
			continue
		}
		if !unique(objectID("ClusterRole", "", r.Name)) {
			continue
		}
		if _, builtin := ix.clusterRoles[r.Name]; builtin {
			errs = append(errs, fmt.Errorf("ClusterRole/%s: redefines the built-in ClusterRole of that name, which the apiserver reconciles at every start; choose another name", r.Name))
			continue
		}
		cr, err := newClusterRole("ClusterRole "+r.Name, "ClusterRole/"+r.Name, r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ix.clusterRoles[r.Name] = cr
	}
	aggregate(ix.clusterRoles)
	for _, r := range objs.Roles {
		if needNamespace("Role", r.ObjectMeta) {
			ix.roles[r.Namespace+"/"+r.Name] = &role{id: "Role " + r.Namespace + "/" + r.Name, rules: r.Rules}
		}
	}

	for _, n := range objs.Namespaces {
		if n.Name == "" {
			errs = append(errs, errors.New("Namespace without metadata.name"))
			continue
		}
		if !unique(objectID("Namespace", "", n.Name)) {
			continue
		}
		p, ferrs := psapi.PolicyToEvaluate(n.Labels, psapi.Policy{Enforce: psapi.LevelVersion{Level: w.DefaultEnforce, Version: psapi.LatestVersion()}})
		if len(ferrs) > 0 {
			errs = append(errs, fmt.Errorf("Namespace/%s: %v; Pod Security admission rejects such labels", n.Name, ferrs.ToAggregate()))
			continue
		}
		source := fmt.Sprintf("Namespace %s enforces Pod Security %s", n.Name, p.Enforce.Level)
		if _, ok := n.Labels[psapi.EnforceLevelLabel]; !ok {
			source = fmt.Sprintf("Namespace %s has no %s label (default %s)", n.Name, psapi.EnforceLevelLabel, p.Enforce.Level)
		}
		ix.namespaces[n.Name] = &namespace{name: n.Name, enforce: p.Enforce.Level, source: source}
	}
	for _, name := range w.SystemNamespaces {
		if _, ok := ix.namespaces[name]; !ok {
			ix.ns(name).source = fmt.Sprintf("namespace %s is not labelled (default %s)", name, w.DefaultEnforce)
		}
	}

	for _, sa := range objs.ServiceAccounts {
		if !needNamespace("ServiceAccount", sa.ObjectMeta) {
			continue
		}
		ns := ix.ns(sa.Namespace)
		ns.serviceAccounts[sa.Name] = true
		if sa.AutomountServiceAccountToken != nil {
			ns.automount[sa.Name] = *sa.AutomountServiceAccountToken
		}
	}
	for _, s := range objs.Secrets {
		if !needNamespace("Secret", s.ObjectMeta) {
			continue
		}
		if s.Type == corev1.SecretTypeServiceAccountToken {
			sa := s.Annotations[corev1.ServiceAccountNameKey]
			if sa == "" {
				errs = append(errs, fmt.Errorf("Secret/%s/%s: a %s Secret without the %s annotation; the apiserver rejects it", s.Namespace, s.Name, s.Type, corev1.ServiceAccountNameKey))
				continue
			}
			ns := ix.ns(s.Namespace)
			ns.tokenSecrets[s.Name] = sa
			ns.serviceAccounts[sa] = true
		}
	}

	for _, b := range objs.ClusterRoleBindings {
		if b.Name == "" {
			errs = append(errs, errors.New("ClusterRoleBinding without metadata.name"))
			continue
		}
		if !unique(objectID("ClusterRoleBinding", "", b.Name)) {
			continue
		}
		if err := ix.addBinding("ClusterRoleBinding", "", b.Name, b.RoleRef, b.Subjects); err != nil {
			errs = append(errs, err)
		}
	}
	for _, b := range objs.RoleBindings {
		if !needNamespace("RoleBinding", b.ObjectMeta) {
			continue
		}
		if err := ix.addBinding("RoleBinding", b.Namespace, b.Name, b.RoleRef, b.Subjects); err != nil {
			errs = append(errs, err)
		}
	}

	for _, wl := range objs.Workloads {
		if !needNamespace(wl.Kind, metav1.ObjectMeta{Namespace: wl.Namespace, Name: wl.Name}) {
			continue
		}
		x, err := ix.newWorkload(wl)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ix.workloads = append(ix.workloads, x)
		ix.hasKind[wl.Kind+" "+wl.Namespace] = true
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for name := range ix.namespaces {
		ix.ns(name) // every namespace has its default ServiceAccount
		ix.nsNames = append(ix.nsNames, name)
	}
	sort.Strings(ix.nsNames)
	return ix, nil
}

// ns returns the namespace, known from here on; one that no Namespace object defines has
// the World's default Pod Security level.
func (ix *index) ns(name string) *namespace {
	n, ok := ix.namespaces[name]
	if !ok {
		n = &namespace{name: name, enforce: ix.world.DefaultEnforce, source: fmt.Sprintf("namespace %s is not among the objects (default %s)", name, ix.world.DefaultEnforce)}
		ix.namespaces[name] = n
	}
	if n.serviceAccounts == nil {
		// Every namespace has a ServiceAccount "default" (the ServiceAccount controller
		// creates it).
		n.serviceAccounts = map[string]bool{"default": true}
		n.tokenSecrets = map[string]string{}
		n.automount = map[string]bool{}
	}
	return n
}

// newClusterRole resolves a ClusterRole; id names it in paths, errID in errors.
func newClusterRole(id, errID string, r rbacv1.ClusterRole) (*role, error) {
	cr := &role{id: id, rules: r.Rules, labels: r.Labels}
	if r.AggregationRule != nil {
		cr.aggregated = true
		cr.rules = nil // the aggregation controller overwrites them
		for i, sel := range r.AggregationRule.ClusterRoleSelectors {
			s, err := metav1.LabelSelectorAsSelector(&sel)
			if err != nil {
				return nil, fmt.Errorf("%s: aggregationRule.clusterRoleSelectors[%d]: %w", errID, i, err)
			}
			cr.selectors = append(cr.selectors, s)
		}
	}
	return cr, nil
}

// aggregate sets each aggregated ClusterRole's rules to those of the ClusterRoles its
// selectors match, transitively, as kube-controller-manager's clusterrole-aggregation
// controller does ("Aggregated ClusterRoles" in the RBAC documentation: the controller
// fills in the rules of a ClusterRole with an aggregationRule, overwriting its own).
func aggregate(roles map[string]*role) {
	names := make([]string, 0, len(roles))
	for n := range roles {
		names = append(names, n)
	}
	sort.Strings(names)
	for changed := true; changed; {
		changed = false
		for _, n := range names {
			r := roles[n]
			if !r.aggregated {
				continue
			}
			for _, other := range names {
				o := roles[other]
				if other == n || !slices.ContainsFunc(r.selectors, func(s labels.Selector) bool { return s.Matches(labels.Set(o.labels)) }) {
					continue
				}
				for _, rule := range o.rules {
					if !slices.ContainsFunc(r.rules, func(x rbacv1.PolicyRule) bool { return ruleEqual(x, rule) }) {
						r.rules = append(r.rules, rule)
						changed = true
					}
				}
			}
		}
	}
}

func ruleEqual(a, b rbacv1.PolicyRule) bool {
	return slices.Equal(a.Verbs, b.Verbs) && slices.Equal(a.APIGroups, b.APIGroups) &&
		slices.Equal(a.Resources, b.Resources) && slices.Equal(a.ResourceNames, b.ResourceNames) &&
		slices.Equal(a.NonResourceURLs, b.NonResourceURLs)
}

// addBinding checks a binding as the apiserver's validation does and records it. A
// binding to a role that does not exist grants nothing and is noted.
func (ix *index) addBinding(kind, namespace, name string, ref rbacv1.RoleRef, subjects []rbacv1.Subject) error {
	id := objectID(kind, namespace, name)
	if ref.APIGroup != rbacv1.GroupName {
		return fmt.Errorf("%s: roleRef.apiGroup is %q, want %q", id, ref.APIGroup, rbacv1.GroupName)
	}
	switch {
	case ref.Kind == "ClusterRole":
	case ref.Kind == "Role" && kind == "RoleBinding":
	default:
		want := `"Role" or "ClusterRole"`
		if kind == "ClusterRoleBinding" {
			want = `"ClusterRole"`
		}
		return fmt.Errorf("%s: roleRef.kind is %q, want %s", id, ref.Kind, want)
	}
	if ref.Name == "" {
		return fmt.Errorf("%s: roleRef.name is empty", id)
	}
	b := &binding{kind: kind, namespace: namespace, name: name, roleKind: ref.Kind, roleName: ref.Name}
	for i, s := range subjects {
		switch s.Kind {
		case rbacv1.UserKind, rbacv1.GroupKind:
			if s.Name == "" {
				return fmt.Errorf("%s: subjects[%d] has no name", id, i)
			}
			b.subjects = append(b.subjects, Subject{Kind: s.Kind, Name: s.Name})
		case rbacv1.ServiceAccountKind:
			if s.Name == "" || s.Namespace == "" {
				return fmt.Errorf("%s: subjects[%d]: a ServiceAccount subject needs name and namespace", id, i)
			}
			b.subjects = append(b.subjects, ServiceAccount(s.Namespace, s.Name))
			ix.ns(s.Namespace).serviceAccounts[s.Name] = true
		default:
			return fmt.Errorf("%s: subjects[%d].kind is %q, want User, Group or ServiceAccount", id, i, s.Kind)
		}
	}
	if namespace != "" {
		ix.ns(namespace)
	}
	if ix.role(ref.Kind, namespace, ref.Name) == nil {
		ix.notes = append(ix.notes, fmt.Sprintf("%s refers to %s %s, which does not exist: it grants nothing", id, ref.Kind, ref.Name))
	}
	ix.bindings = append(ix.bindings, b)
	return nil
}

// hostChecks are the Pod Security baseline checks whose failure gives root on the node:
// the standard's page says baseline "prevents known privilege escalations"; these are the
// ones about the host (privileged containers, host namespaces, hostPath volumes, added
// capabilities, Windows host processes). hostPorts, AppArmor, SELinux, /proc mount and
// sysctls are left out.
var hostChecks = []policy.Check{
	policy.CheckPrivileged(), policy.CheckHostNamespaces(), policy.CheckHostPathVolumes(),
	policy.CheckCapabilitiesBaseline(), policy.CheckWindowsHostProcess(),
}

func (ix *index) newWorkload(wl Workload) (*workload, error) {
	spec := &wl.Template.Spec
	ns := ix.ns(wl.Namespace)
	sa := spec.ServiceAccountName
	if sa == "" {
		sa = spec.DeprecatedServiceAccount
	}
	if sa == "" {
		sa = "default"
	}
	ns.serviceAccounts[sa] = true
	x := &workload{id: wl.Kind + " " + wl.Namespace + "/" + wl.Name, namespace: wl.Namespace, serviceAccount: sa}

	// The ServiceAccount admission plugin mounts a token unless the pod, or failing that
	// its ServiceAccount, sets automountServiceAccountToken: false; a projected
	// serviceAccountToken volume mounts one regardless.
	x.tokenMounted = true
	if a, ok := ns.automount[sa]; ok {
		x.tokenMounted = a
	}
	if spec.AutomountServiceAccountToken != nil {
		x.tokenMounted = *spec.AutomountServiceAccountToken
	}
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			x.secrets = append(x.secrets, v.Secret.SecretName)
		}
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if src.ServiceAccountToken != nil {
					x.tokenMounted = true
				}
				if src.Secret != nil {
					x.secrets = append(x.secrets, src.Secret.Name)
				}
			}
		}
	}
	containers := slices.Concat(spec.InitContainers, spec.Containers)
	for _, c := range containers {
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				x.secrets = append(x.secrets, e.ValueFrom.SecretKeyRef.Name)
			}
		}
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				x.secrets = append(x.secrets, e.SecretRef.Name)
			}
		}
	}
	for _, s := range spec.ImagePullSecrets {
		x.pullSecrets = append(x.pullSecrets, s.Name)
	}
	x.secrets = sortedUnique(x.secrets)
	x.pullSecrets = sortedUnique(x.pullSecrets)

	for _, c := range hostChecks {
		v := c.Versions[len(c.Versions)-1]
		if r := v.CheckPod(&wl.Template.ObjectMeta, spec); !r.Allowed {
			x.hostAccess = append(x.hostAccess, r.ForbiddenReason)
		}
	}

	affinity := nodeaffinity.NewRequiredNodeAffinity(spec.NodeSelector, spec.Affinity)
	if _, err := affinity.Match(&corev1.Node{}); err != nil {
		return nil, fmt.Errorf("%s/%s/%s: spec.template.spec.affinity: %w", wl.Kind, wl.Namespace, wl.Name, err)
	}
	restricted := nodeaffinity.NewRequiredNodeAffinity(restrictedLabels(spec.NodeSelector), restrictedAffinity(spec.Affinity))
	for _, p := range ix.pools {
		if p.all {
			x.pools = append(x.pools, p.name)
			x.attractedBy = append(x.attractedBy, p.name)
			continue
		}
		if _, untolerated := corehelpers.FindMatchingUntoleratedTaint(klog.Background(), p.taints, spec.Tolerations, hardTaint, false); untolerated {
			continue
		}
		// Both selectors parsed above (restricted keeps a part of affinity's terms).
		if lands, _ := p.matches(affinity); lands {
			x.pools = append(x.pools, p.name)
		}
		// A rooted node can forge every label but the restricted ones.
		if attracted, _ := p.matches(restricted); attracted {
			x.attractedBy = append(x.attractedBy, p.name)
		}
	}
	return x, nil
}

// hardTaint selects the taints that keep pods away: NoSchedule and NoExecute
// (PreferNoSchedule only discourages the scheduler).
func hardTaint(t *corev1.Taint) bool {
	return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
}

// isRestrictedLabel reports whether a node cannot set the label on itself: NodeRestriction
// admission (plugin/pkg/admission/noderestriction, getForbiddenLabels) forbids a kubelet
// node-restriction.kubernetes.io labels and the kubernetes.io and k8s.io labels that are
// not kubelet labels (k8s.io/kubelet's IsKubeletLabel).
func isRestrictedLabel(key string) bool {
	prefix, _, ok := strings.Cut(key, "/")
	if !ok {
		return false
	}
	if prefix == corev1.LabelNamespaceNodeRestriction || strings.HasSuffix(prefix, "."+corev1.LabelNamespaceNodeRestriction) {
		return true
	}
	kube := prefix == "kubernetes.io" || strings.HasSuffix(prefix, ".kubernetes.io") || prefix == "k8s.io" || strings.HasSuffix(prefix, ".k8s.io")
	return kube && !kubeletapis.IsKubeletLabel(key)
}

func restrictedLabels(sel map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range sel {
		if isRestrictedLabel(k) {
			out[k] = v
		}
	}
	return out
}

func restrictedAffinity(a *corev1.Affinity) *corev1.Affinity {
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return nil
	}
	var terms []corev1.NodeSelectorTerm
	for _, t := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		// A node cannot change its name, so matchFields (metadata.name) stay.
		kept := corev1.NodeSelectorTerm{MatchFields: t.MatchFields}
		for _, r := range t.MatchExpressions {
			if isRestrictedLabel(r.Key) {
				kept.MatchExpressions = append(kept.MatchExpressions, r)
			}
		}
		if len(kept.MatchExpressions) == 0 && len(kept.MatchFields) == 0 {
			// A term that asks only forgeable labels matches a rooted node.
			return nil
		}
		terms = append(terms, kept)
	}
	return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms}}}
}

// serviceAccounts returns the ServiceAccounts of namespace ns, sorted.
func (ix *index) serviceAccounts(ns string) []string {
	n := ix.namespaces[ns]
	if n == nil {
		return []string{"default"}
	}
	var out []string
	for sa := range n.serviceAccounts {
		out = append(out, sa)
	}
	sort.Strings(out)
	return out
}

func sortedUnique(s []string) []string {
	sort.Strings(s)
	return slices.Compact(s)
}
