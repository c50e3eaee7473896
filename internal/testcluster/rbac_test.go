package testcluster

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// The names the model gives its RBAC identities.
const (
	namespaceAdminBinding = "namespace-admin"
	namespaceAdminRole    = "lsst-namespace-admin"
	namespaceOperatorRole = "lsst-namespace-operator"
	dashboardNamespace    = "dashboard"
	dashboardViewer       = "dashboard-viewer"
	readonlyRole          = "lsst-readonly"
	bastionBinding        = "bastion-users"
	notebookNamespace     = "notebook-users"
	notebookUser          = "notebook-user"
)

// TestRBAC applies instance pdac for real and checks that its roles grant what the model
// means them to grant.
func TestRBAC(t *testing.T) {
	root, err := manifest.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	checkRBAC(t, os.DirFS(root), manifest.InstanceDir("pdac"))
}

// TestRBACFixture runs the same checks on a small hand-written instance.
func TestRBACFixture(t *testing.T) {
	checkRBAC(t, os.DirFS(filepath.Join("testdata", "good")), manifest.InstanceDir("fixture"))
}

func checkRBAC(t *testing.T, root fs.FS, dir string) {
	objs, err := manifest.ReadInstance(root, dir)
	if err != nil {
		t.Fatal(err)
	}
	m := newRBACModel(t, objs)
	c := Start(t)
	ctx := t.Context()

	// Admission webhooks and APIServices would send later requests to services that do
	// not run here; the dry-run test covers them.
	var applied []manifest.Object
	for _, o := range objs {
		if Stage(o.GetKind()) < 3 {
			applied = append(applied, o)
		}
	}
	rejected, err := Apply(ctx, c.Admin(), applied, ApplyOptions{FieldManager: "lsstgen"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rejected {
		t.Errorf("rejected: %s", r)
	}
	if t.Failed() {
		t.FailNow()
	}
	if err := AggregateClusterRoles(ctx, c.Admin()); err != nil {
		t.Fatal(err)
	}

	t.Run("namespace-admin", func(t *testing.T) { checkNamespaceAdmins(t, c, m) })
	t.Run("dashboard-viewer", func(t *testing.T) { checkDashboardViewer(t, c, m) })
	t.Run("dashboard-own-state", func(t *testing.T) { checkDashboardOwnState(t, c) })
	t.Run("bastion-users", func(t *testing.T) { checkBastionUsers(t, c, m) })
	t.Run("notebook-user", func(t *testing.T) { checkNotebookUser(t, c, m) })
	t.Run("detects-a-role-wider-than-the-model", func(t *testing.T) { checkDetectsWiderRole(t, c, m) })
}

// checkDetectsWiderRole proves the access comparison can fail: it widens the bastion role
// on the apiserver behind the model's back and expects the difference to be found.
func checkDetectsWiderRole(t *testing.T, c *Cluster, m *rbacModel) {
	b := m.crb(t, bastionBinding)
	admin := kubernetes.NewForConfigOrDie(c.Admin())
	role, err := admin.RbacV1().ClusterRoles().Get(t.Context(), b.RoleRef.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	role.Rules = append(role.Rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}})
	if _, err := admin.RbacV1().ClusterRoles().Update(t.Context(), role, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	id := identity{"bastion-user", []string{b.Subjects[0].Name}}
	var found []string
	for _, d := range checkAccess(t, c, m, id) {
		if d.got != d.want {
			found = append(found, d.verb+" "+d.what())
		}
	}
	if !slices.Contains(found, "get secrets cluster-wide") {
		t.Errorf("widening %s went unnoticed; differences found: %v", role.Name, found)
	}
}

// rbacModel is the RBAC part of one instance's generated objects.
type rbacModel struct {
	namespaces   []string
	clusterRoles map[string]rbacv1.ClusterRole
	roles        map[string]rbacv1.Role // namespace/name
	crbs         []rbacv1.ClusterRoleBinding
	rbs          []rbacv1.RoleBinding
	secrets      map[string][]string // namespace -> names
}

func newRBACModel(t *testing.T, objs []manifest.Object) *rbacModel {
	t.Helper()
	m := &rbacModel{clusterRoles: map[string]rbacv1.ClusterRole{}, roles: map[string]rbacv1.Role{}, secrets: map[string][]string{}}
	for _, o := range objs {
		conv := func(into any) {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, into); err != nil {
				t.Fatalf("%s: %s: %v", o.File, o.ID(), err)
			}
		}
		switch o.GroupVersionKind().GroupKind().String() {
		case "Namespace":
			m.namespaces = append(m.namespaces, o.GetName())
		case "Secret":
			m.secrets[o.GetNamespace()] = append(m.secrets[o.GetNamespace()], o.GetName())
		case "ClusterRole.rbac.authorization.k8s.io":
			var r rbacv1.ClusterRole
			conv(&r)
			m.clusterRoles[r.Name] = r
		case "Role.rbac.authorization.k8s.io":
			var r rbacv1.Role
			conv(&r)
			m.roles[r.Namespace+"/"+r.Name] = r
		case "ClusterRoleBinding.rbac.authorization.k8s.io":
			var b rbacv1.ClusterRoleBinding
			conv(&b)
			m.crbs = append(m.crbs, b)
		case "RoleBinding.rbac.authorization.k8s.io":
			var b rbacv1.RoleBinding
			conv(&b)
			m.rbs = append(m.rbs, b)
		}
	}
	sort.Strings(m.namespaces)
	return m
}

func (m *rbacModel) crb(t *testing.T, name string) rbacv1.ClusterRoleBinding {
	t.Helper()
	for _, b := range m.crbs {
		if b.Name == name {
			return b
		}
	}
	var names []string
	for _, b := range m.crbs {
		names = append(names, b.Name)
	}
	t.Fatalf("the instance has no ClusterRoleBinding %q (it has %v)", name, names)
	return rbacv1.ClusterRoleBinding{}
}

// namespaceAdmins returns, per namespace, the groups its namespace-admin RoleBinding binds.
func (m *rbacModel) namespaceAdmins(t *testing.T) map[string][]string {
	t.Helper()
	admins := map[string][]string{}
	operated := map[string]bool{}
	for _, b := range m.rbs {
		if b.Name != namespaceAdminBinding {
			continue
		}
		if b.RoleRef.Kind == "ClusterRole" && b.RoleRef.Name == namespaceOperatorRole {
			// Its admins operate it without pods (rbac.cue); the workload checks below are
			// for namespaces whose admins may create them.
			operated[b.Namespace] = true
			continue
		}
		if b.RoleRef.Kind != "ClusterRole" || b.RoleRef.Name != namespaceAdminRole {
			t.Errorf("RoleBinding %s/%s binds %s %s, want ClusterRole %s", b.Namespace, b.Name, b.RoleRef.Kind, b.RoleRef.Name, namespaceAdminRole)
		}
		for _, s := range b.Subjects {
			if s.Kind == rbacv1.GroupKind {
				admins[b.Namespace] = append(admins[b.Namespace], s.Name)
			}
		}
	}
	for _, ns := range m.namespaces {
		if len(admins[ns]) == 0 && !operated[ns] {
			t.Errorf("namespace %s has no %s RoleBinding with a Group", ns, namespaceAdminBinding)
		}
	}
	return admins
}

// identity is who a check acts as.
type identity struct {
	user   string
	groups []string
}

func (id identity) config(c *Cluster) *rest.Config { return c.As(id.user, id.groups...) }

func (id identity) String() string {
	return fmt.Sprintf("user %s (groups %s)", id.user, strings.Join(id.groups, ","))
}

func serviceAccount(ns, name string) identity {
	return identity{"system:serviceaccount:" + ns + ":" + name, []string{"system:serviceaccounts", "system:serviceaccounts:" + ns}}
}

func checkNamespaceAdmins(t *testing.T, c *Cluster, m *rbacModel) {
	admins := m.namespaceAdmins(t)
	if len(admins) < 2 {
		t.Fatalf("need namespace admins of at least two namespaces to prove isolation, have %v", admins)
	}
	checked := 0
	for _, ns := range m.namespaces {
		for _, g := range admins[ns] {
			id := identity{"admin-of-" + ns, []string{g}}
			cs := kubernetes.NewForConfigOrDie(id.config(c))
			d := testDeployment(ns)
			created, err := cs.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{})
			if err != nil {
				t.Errorf("%s, admin of %s, cannot create a Deployment there: %v", id, ns, err)
				continue
			}
			if err := cs.AppsV1().Deployments(ns).Delete(t.Context(), created.Name, metav1.DeleteOptions{}); err != nil {
				t.Errorf("%s cannot delete its Deployment in %s: %v", id, ns, err)
			}
			for _, other := range m.namespaces {
				if slices.Contains(admins[other], g) {
					continue
				}
				_, err := cs.AppsV1().Deployments(other).Create(t.Context(), testDeployment(other), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
				if !apierrors.IsForbidden(err) {
					t.Errorf("%s, admin of %s, creating a Deployment in %s got %v, want Forbidden", id, ns, other, err)
				}
				checked++
			}
		}
	}
	if checked == 0 {
		t.Fatal("every namespace admin group administers every namespace: nothing is isolated")
	}
}

func testDeployment(ns string) *appsv1.Deployment {
	labels := map[string]string{"app": "rbac-probe"}
	no, yes := false, true
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "rbac-probe", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &yes, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
					Containers: []corev1.Container{{
						Name: "probe", Image: "registry.example.org/probe:1",
						SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
					}},
				},
			},
		},
	}
}

func checkDashboardViewer(t *testing.T, c *Cluster, m *rbacModel) {
	b := m.crb(t, dashboardViewer)
	want := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: dashboardViewer, Namespace: dashboardNamespace}
	if !slices.Contains(b.Subjects, want) || b.RoleRef.Name != readonlyRole {
		t.Fatalf("ClusterRoleBinding %s binds %v to %s, want ServiceAccount %s/%s to %s", b.Name, b.Subjects, b.RoleRef.Name, dashboardNamespace, dashboardViewer, readonlyRole)
	}
	id := serviceAccount(dashboardNamespace, dashboardViewer)
	cs := kubernetes.NewForConfigOrDie(id.config(c))
	ctx := t.Context()
	if _, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("%s cannot list pods in all namespaces: %v", id, err)
	}
	if _, err := cs.AppsV1().Deployments("").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("%s cannot list deployments in all namespaces: %v", id, err)
	}
	for _, ns := range m.namespaces {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "rbac-probe", Namespace: ns}}
		if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("%s creating a ConfigMap in %s got %v, want Forbidden", id, ns, err)
		}
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, testDeployment(ns), metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("%s creating a Deployment in %s got %v, want Forbidden", id, ns, err)
		}
	}
	if err := cs.CoreV1().Namespaces().Delete(ctx, m.namespaces[0], metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}); !apierrors.IsForbidden(err) {
		t.Errorf("%s deleting namespace %s got %v, want Forbidden", id, m.namespaces[0], err)
	}
	for _, d := range checkAccess(t, c, m, id) {
		if d.got != d.want {
			t.Errorf("%s: %s %s: apiserver says %v, the model says %v", id, d.verb, d.what(), d.got, d.want)
		}
		if d.got && slices.Contains(writeVerbs, d.verb) && !reviewGroups[d.group] {
			t.Errorf("%s may %s %s", id, d.verb, d.what())
		}
	}
}

// reviewGroups hold the self-review resources every user may create; creating one writes
// nothing.
var reviewGroups = map[string]bool{"authentication.k8s.io": true, "authorization.k8s.io": true}

var writeVerbs = []string{"create", "update", "patch", "delete", "deletecollection"}

func checkBastionUsers(t *testing.T, c *Cluster, m *rbacModel) {
	b := m.crb(t, bastionBinding)
	var groups []string
	for _, s := range b.Subjects {
		if s.Kind == rbacv1.GroupKind {
			groups = append(groups, s.Name)
		}
	}
	if len(groups) == 0 {
		t.Fatalf("ClusterRoleBinding %s binds no Group: %v", b.Name, b.Subjects)
	}
	for _, g := range groups {
		id := identity{"bastion-user-of-" + g, []string{g}}
		for _, d := range checkAccess(t, c, m, id) {
			if d.got != d.want {
				t.Errorf("%s: %s %s: apiserver says %v, the model says %v", id, d.verb, d.what(), d.got, d.want)
			}
		}
	}
}

func checkNotebookUser(t *testing.T, c *Cluster, m *rbacModel) {
	if !slices.Contains(m.namespaces, notebookNamespace) {
		t.Fatalf("the instance has no namespace %s (namespaces: %v)", notebookNamespace, m.namespaces)
	}
	id := serviceAccount(notebookNamespace, notebookUser)
	cs := kubernetes.NewForConfigOrDie(id.config(c))
	ctx := t.Context()
	if _, err := cs.CoreV1().Secrets("").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("%s listing Secrets in all namespaces got %v, want Forbidden", id, err)
	}
	for _, ns := range m.namespaces {
		if ns == notebookNamespace {
			continue
		}
		if _, err := cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("%s listing Secrets in %s got %v, want Forbidden", id, ns, err)
		}
		for _, name := range append([]string{"any"}, m.secrets[ns]...) {
			if _, err := cs.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsForbidden(err) {
				t.Errorf("%s reading Secret %s/%s got %v, want Forbidden", id, ns, name, err)
			}
		}
	}
}

// decision is one access check: what the apiserver answered and what the model implies.
type decision struct {
	verb, group, resource, ns string
	got, want                 bool
}

func (d decision) what() string {
	r := d.resource
	if d.group != "" {
		r += "." + d.group
	}
	if d.ns == "" {
		return r + " cluster-wide"
	}
	return r + " in " + d.ns
}

var accessVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

// probedSubresources are asked about besides every resource discovery lists.
var probedSubresources = []struct{ group, resource string }{
	{"", "pods/exec"}, {"", "pods/log"}, {"", "pods/attach"}, {"", "pods/portforward"},
	{"", "serviceaccounts/token"}, {"", "services/proxy"}, {"apps", "deployments/scale"},
}

// checkAccess asks the apiserver, acting as id, about every verb on every resource it serves,
// cluster-wide and in each of the model's namespaces, and works out the model's answer from
// the instance's bindings plus the live bindings every authenticated user has.
func checkAccess(t *testing.T, c *Cluster, m *rbacModel, id identity) []decision {
	t.Helper()
	ctx := t.Context()
	admin := kubernetes.NewForConfigOrDie(c.Admin())
	clusterRules, nsRules := m.rulesFor(t, ctx, admin, id)

	lists, err := admin.Discovery().ServerPreferredResources()
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	type res struct {
		group, resource string
		namespaced      bool
	}
	var resources []res
	for _, l := range lists {
		gv, _ := splitGroupVersion(l.GroupVersion)
		for _, r := range l.APIResources {
			resources = append(resources, res{gv, r.Name, r.Namespaced})
		}
	}
	for _, s := range probedSubresources {
		resources = append(resources, res{s.group, s.resource, true})
	}
	var ds []decision
	for _, r := range resources {
		scopes := []string{""}
		if r.namespaced {
			scopes = append(scopes, m.namespaces...)
		}
		for _, ns := range scopes {
			for _, v := range accessVerbs {
				rules := clusterRules
				if ns != "" {
					rules = append(slices.Clone(clusterRules), nsRules[ns]...)
				}
				ds = append(ds, decision{verb: v, group: r.group, resource: r.resource, ns: ns, want: allows(rules, v, r.group, r.resource)})
			}
		}
	}
	cs := kubernetes.NewForConfigOrDie(id.config(c))
	var wg sync.WaitGroup
	work := make(chan int)
	errs := make(chan error, 1)
	for range 8 {
		wg.Go(func() {
			for i := range work {
				d := &ds[i]
				res, sub, _ := strings.Cut(d.resource, "/")
				review := &authzv1.SelfSubjectAccessReview{Spec: authzv1.SelfSubjectAccessReviewSpec{
					ResourceAttributes: &authzv1.ResourceAttributes{Namespace: d.ns, Verb: d.verb, Group: d.group, Resource: res, Subresource: sub},
				}}
				got, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
				if err != nil {
					select {
					case errs <- fmt.Errorf("%s: access review: %w", id, err):
					default:
					}
					continue
				}
				d.got = got.Status.Allowed
			}
		})
	}
	for i := range ds {
		work <- i
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	t.Logf("%s: %d access reviews", id, len(ds))
	return ds
}

func splitGroupVersion(gv string) (group, version string) {
	if g, v, ok := strings.Cut(gv, "/"); ok {
		return g, v
	}
	return "", gv
}

// rulesFor returns the rules that apply to id everywhere, and per namespace: those of the
// instance's bindings naming id, and those of the live bindings naming the groups the
// apiserver gives every authenticated user (its discovery and self-review roles).
func (m *rbacModel) rulesFor(t *testing.T, ctx context.Context, admin kubernetes.Interface, id identity) ([]rbacv1.PolicyRule, map[string][]rbacv1.PolicyRule) {
	t.Helper()
	implicit := []string{"system:authenticated"}
	if strings.HasPrefix(id.user, "system:serviceaccount:") {
		implicit = append(implicit, id.groups...)
	}
	matches := func(subjects []rbacv1.Subject, groups []string, user bool) bool {
		for _, s := range subjects {
			switch s.Kind {
			case rbacv1.GroupKind:
				if slices.Contains(groups, s.Name) {
					return true
				}
			case rbacv1.UserKind:
				if user && s.Name == id.user {
					return true
				}
			case rbacv1.ServiceAccountKind:
				if user && id.user == "system:serviceaccount:"+s.Namespace+":"+s.Name {
					return true
				}
			}
		}
		return false
	}
	clusterRole := func(name string) []rbacv1.PolicyRule {
		if r, ok := m.clusterRoles[name]; ok && r.AggregationRule == nil {
			return r.Rules
		}
		// A built-in or aggregated role: what the apiserver holds, aggregated.
		live, err := admin.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("ClusterRole %s: %v", name, err)
		}
		return live.Rules
	}
	var cluster []rbacv1.PolicyRule
	ns := map[string][]rbacv1.PolicyRule{}
	for _, b := range m.crbs {
		if matches(b.Subjects, id.groups, true) {
			cluster = append(cluster, clusterRole(b.RoleRef.Name)...)
		}
	}
	for _, b := range m.rbs {
		if !matches(b.Subjects, id.groups, true) {
			continue
		}
		if b.RoleRef.Kind == "Role" {
			r, ok := m.roles[b.Namespace+"/"+b.RoleRef.Name]
			if !ok {
				t.Fatalf("RoleBinding %s/%s refers to Role %s, which the instance does not have", b.Namespace, b.Name, b.RoleRef.Name)
			}
			ns[b.Namespace] = append(ns[b.Namespace], r.Rules...)
		} else {
			ns[b.Namespace] = append(ns[b.Namespace], clusterRole(b.RoleRef.Name)...)
		}
	}
	live, err := admin.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range live.Items {
		if matches(b.Subjects, implicit, false) {
			cluster = append(cluster, clusterRole(b.RoleRef.Name)...)
		}
	}
	liveRBs, err := admin.RbacV1().RoleBindings("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range liveRBs.Items {
		if !matches(b.Subjects, implicit, false) {
			continue
		}
		if b.RoleRef.Kind == "Role" {
			r, err := admin.RbacV1().Roles(b.Namespace).Get(ctx, b.RoleRef.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("Role %s/%s: %v", b.Namespace, b.RoleRef.Name, err)
			}
			ns[b.Namespace] = append(ns[b.Namespace], r.Rules...)
		} else {
			ns[b.Namespace] = append(ns[b.Namespace], clusterRole(b.RoleRef.Name)...)
		}
	}
	return cluster, ns
}

// allows reports whether rules allow verb on group/resource (resource may name a
// subresource, "pods/exec") for a request that names no object, as RBAC decides it.
func allows(rules []rbacv1.PolicyRule, verb, group, resource string) bool {
	for _, r := range rules {
		if len(r.ResourceNames) > 0 {
			continue // matches named objects only
		}
		if !has(r.Verbs, verb) || !has(r.APIGroups, group) {
			continue
		}
		for _, rr := range r.Resources {
			_, sub, isSub := strings.Cut(resource, "/")
			if rr == rbacv1.ResourceAll || rr == resource || (isSub && rr == "*/"+sub) {
				return true
			}
		}
	}
	return false
}

func has(list []string, s string) bool {
	return slices.Contains(list, s) || slices.Contains(list, rbacv1.VerbAll)
}

func TestAllows(t *testing.T) {
	rules := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{"apps"}, Resources: []string{"*"}, Verbs: []string{"*"}},
		{APIGroups: []string{""}, Resources: []string{"*/scale"}, Verbs: []string{"update"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"one"}, Verbs: []string{"get"}},
	}
	for _, tc := range []struct {
		verb, group, resource string
		want                  bool
	}{
		{"get", "", "pods", true},
		{"get", "", "pods/log", true},
		{"get", "", "pods/exec", false},
		{"delete", "", "pods", false},
		{"delete", "apps", "deployments", true},
		{"patch", "apps", "deployments/scale", true},
		{"update", "", "replicationcontrollers/scale", true},
		{"update", "", "replicationcontrollers", false},
		{"get", "", "secrets", false},
		{"get", "batch", "jobs", false},
	} {
		if got := allows(rules, tc.verb, tc.group, tc.resource); got != tc.want {
			t.Errorf("allows(%s %s/%s) = %v, want %v", tc.verb, tc.group, tc.resource, got, tc.want)
		}
	}
}
