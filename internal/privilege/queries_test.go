package privilege

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// queryWorld is a small platform: a break-glass group, a deployer ServiceAccount that may
// bind cluster-admin, a namespace admin group of app and of the privileged ops, a viewer
// group, and a dashboard ServiceAccount that reads three named Secrets of its own.
func queryWorld() Objects {
	return Objects{
		Namespaces: []corev1.Namespace{namespaceObj("app", "restricted"), namespaceObj("ops", "privileged"), namespaceObj("dash", "restricted")},
		ServiceAccounts: []corev1.ServiceAccount{
			serviceAccountObj("ops", "deployer", nil), serviceAccountObj("dash", "dashboard", nil),
		},
		ClusterRoles: []rbacv1.ClusterRole{
			clusterRole("deployer", policyRule("create", "rbac.authorization.k8s.io", "clusterrolebindings"), policyRule("bind", "rbac.authorization.k8s.io", "clusterroles", "cluster-admin")),
			clusterRole("ns-admin", policyRule("get,list,create,update,delete", "core", "pods,secrets,configmaps")),
			clusterRole("nodes-reader", policyRule("get,list", "core", "nodes")),
		},
		Roles: []rbacv1.Role{roleObj("dash", "dashboard", policyRule("get,update", "core", "secrets", "certs", "csrf", "key-holder"))},
		ClusterRoleBindings: []rbacv1.ClusterRoleBinding{
			crb("break-glass", "cluster-admin", groupSubject("break-glass")),
			crb("deployer", "deployer", saSubject("ops", "deployer")),
			crb("viewers", "view", groupSubject("viewers")),
			crb("app-admins-nodes", "nodes-reader", groupSubject("app-admins")),
		},
		RoleBindings: []rbacv1.RoleBinding{
			rb("app", "admins", "ClusterRole", "ns-admin", groupSubject("app-admins")),
			rb("ops", "admins", "ClusterRole", "ns-admin", groupSubject("ops-admins")),
			rb("dash", "dashboard", "Role", "dashboard", saSubject("dash", "dashboard")),
			rb("app", "dangling", "Role", "missing", userSubject("alice")),
		},
	}
}

func queryAnalysis(t *testing.T) *Analysis {
	return analyze(t, queryWorld(), func(w *World) { w.BreakGlassGroups = []string{"break-glass"} })
}

func TestClusterAdminEquivalents(t *testing.T) {
	a := queryAnalysis(t)
	var got []string
	for _, r := range a.ClusterAdminEquivalents() {
		got = append(got, r.Subject.String())
	}
	// break-glass is left out; the deployer binds cluster-admin; ops's admins run
	// privileged pods.
	want := []string{"Group ops-admins", "ServiceAccount ops/deployer"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, ok := a.Reach(Group("break-glass"), ClusterAdminPower()); !ok {
		t.Errorf("the break-glass group does not reach cluster-admin")
	}
}

func TestReachString(t *testing.T) {
	a := queryAnalysis(t)
	for _, tc := range []struct {
		s    Subject
		p    Power
		want string
	}{
		{ServiceAccount("ops", "deployer"), ClusterAdminPower(),
			"ServiceAccount ops/deployer → ClusterRoleBinding deployer → ClusterRole deployer → " +
				`bind clusterroles.rbac.authorization.k8s.io "cluster-admin" cluster-wide → ` +
				"with create clusterrolebindings.rbac.authorization.k8s.io cluster-wide → " +
				"binds ClusterRole cluster-admin to itself cluster-wide → a ClusterRoleBinding it creates → built-in ClusterRole cluster-admin → " +
				"* *.* cluster-wide → cluster-admin"},
		{Group("ops-admins"), NodeRootPower(AllNodes),
			"Group ops-admins → RoleBinding ops/admins → ClusterRole ns-admin → create pods in ops → " +
				"Namespace ops enforces Pod Security privileged → runs privileged pods in ops → " +
				"a privileged pod with spec.nodeName on a node of the cluster (no node pools declared) → root on every node"},
		{ServiceAccount("dash", "dashboard"), ReadSecretsPower("dash", "csrf"),
			"ServiceAccount dash/dashboard → RoleBinding dash/dashboard → Role dash/dashboard → " +
				`get secrets "csrf" in dash → reads Secret csrf in dash`},
	} {
		r, ok := a.Reach(tc.s, tc.p)
		if !ok {
			t.Errorf("%s does not reach %s", tc.s, tc.p)
			continue
		}
		if diff := cmp.Diff(tc.want, r.String()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	}
}

func TestSecretReads(t *testing.T) {
	a := queryAnalysis(t)
	for _, tc := range []struct {
		s    Subject
		want []Power
	}{
		// The built-in view role reads no Secret.
		{Group("viewers"), nil},
		{ServiceAccount("dash", "dashboard"), []Power{ReadSecretsPower("dash", "certs"), ReadSecretsPower("dash", "csrf"), ReadSecretsPower("dash", "key-holder")}},
		{Group("app-admins"), []Power{ReadSecretsPower("app", "")}},
		{Group("break-glass"), []Power{ClusterAdminPower(), ReadSecretsPower("", "")}},
	} {
		var got []Power
		for _, r := range a.SecretReads(tc.s) {
			got = append(got, r.Power)
		}
		if tc.s == Group("break-glass") && len(got) > 2 {
			got = got[:2] // each namespace's reads follow
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.s, diff)
		}
	}
}

func TestBeyondNamespaces(t *testing.T) {
	a := queryAnalysis(t)
	for _, tc := range []struct {
		name  string
		s     Subject
		own   []string
		kinds []PowerKind // the kinds of power found beyond, in order
		first Power       // the first power found beyond, if any
	}{
		// Reading nodes cluster-wide is a read of a cluster-scoped resource: allowed.
		{"admins of app stay in app", Group("app-admins"), []string{"app"}, nil, Power{}},
		{"admins of app seen from another namespace", Group("app-admins"), []string{"ops"},
			[]PowerKind{KindActAs, KindRunPods, KindReadSecrets, KindPermission}, ActAsPower(ServiceAccount("app", "default"))},
		{"admins of ops reach the nodes", Group("ops-admins"), []string{"ops"},
			[]PowerKind{KindClusterAdmin, KindNodeRoot, KindActAs, KindBindsRole, KindRunPods, KindReadSecrets, KindPermission}, ClusterAdminPower()},
		{"a ServiceAccount of its own namespace is not beyond", ServiceAccount("dash", "dashboard"), []string{"dash"}, nil, Power{}},
		{"viewers read everywhere", Group("viewers"), []string{"app"}, []PowerKind{KindPermission}, PermissionPower(Permission{Verb: "get", Resource: "bindings"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var kinds []PowerKind
			rs := a.BeyondNamespaces(tc.s, tc.own...)
			for _, r := range rs {
				if !slices.Contains(kinds, r.Power.Kind) {
					kinds = append(kinds, r.Power.Kind)
				}
			}
			if diff := cmp.Diff(tc.kinds, kinds); diff != "" {
				t.Errorf("kinds (-want +got):\n%s", diff)
			}
			if len(rs) > 0 && rs[0].Power != tc.first {
				t.Errorf("first power beyond = %s, want %s", rs[0].Power, tc.first)
			}
		})
	}
	// Cluster-scoped writes are beyond, cluster-scoped reads are not.
	objs := Objects{
		ClusterRoles:        []rbacv1.ClusterRole{clusterRole("n", policyRule("get,patch", "core", "nodes"))},
		ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("n", "n", groupSubject("g"))},
	}
	var got []string
	for _, r := range analyze(t, objs, nil).BeyondNamespaces(Group("g"), "app") {
		got = append(got, r.Power.String())
	}
	if diff := cmp.Diff([]string{"patch nodes cluster-wide"}, got); diff != "" {
		t.Errorf("cluster-scoped (-want +got):\n%s", diff)
	}
}

func TestAllowed(t *testing.T) {
	a := queryAnalysis(t)
	deployer := ServiceAccount("ops", "deployer")
	secrets := Request{Namespace: "app", Verb: "get", Resource: "secrets", Name: "x"}
	if r, ok := a.AllowedDirectly(deployer, secrets); ok {
		t.Errorf("the deployer's bindings allow reading a Secret: %s", r)
	}
	r, ok := a.Allowed(deployer, secrets)
	if !ok || r.Power != ClusterAdminPower() {
		t.Errorf("Allowed = %v %s, want true through cluster-admin", ok, r)
	}
	bind := Request{Verb: "bind", APIGroup: rbacv1.GroupName, Resource: "clusterroles", Name: "cluster-admin"}
	if r, ok := a.AllowedDirectly(deployer, bind); !ok || len(r.Path) != 1 || r.Path[0].Via != "ClusterRoleBinding deployer → ClusterRole deployer" {
		t.Errorf("AllowedDirectly(bind cluster-admin) = %v %s, want through ClusterRoleBinding deployer", ok, r)
	}
	// A power reached in several steps allows too.
	dash := ServiceAccount("dash", "dashboard")
	if _, ok := a.Allowed(dash, Request{Namespace: "dash", Verb: "update", Resource: "secrets", Name: "csrf"}); !ok {
		t.Errorf("the dashboard may not update its csrf Secret")
	}
	if r, ok := a.Allowed(dash, Request{Namespace: "dash", Verb: "get", Resource: "secrets", Name: "other"}); ok {
		t.Errorf("the dashboard reads another Secret: %s", r)
	}
	admins := Group("app-admins")
	if _, ok := a.Allowed(admins, Request{Namespace: "app", Verb: "create", APIGroup: rbacv1.GroupName, Resource: "clusterroles"}); ok {
		t.Errorf("app's admins may create ClusterRoles")
	}
}

func TestSubjectsAndNotes(t *testing.T) {
	a := queryAnalysis(t)
	var got []string
	for _, s := range a.Subjects() {
		got = append(got, s.String())
	}
	want := []string{
		"Group app-admins", "Group break-glass", "Group ops-admins", "Group viewers",
		"ServiceAccount app/default", "ServiceAccount dash/dashboard", "ServiceAccount dash/default",
		"ServiceAccount default/default", "ServiceAccount kube-node-lease/default", "ServiceAccount kube-public/default", "ServiceAccount kube-system/default",
		"ServiceAccount ops/default", "ServiceAccount ops/deployer",
		"User alice",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Subjects (-want +got):\n%s", diff)
	}
	notes := a.Notes()
	if diff := cmp.Diff([]string{"RoleBinding/app/dangling refers to Role missing, which does not exist: it grants nothing"}, notes); diff != "" {
		t.Errorf("Notes (-want +got):\n%s", diff)
	}
	if rs := a.Reaches(User("alice")); len(rs) != 0 {
		t.Errorf("a dangling binding grants: %v", rs)
	}
}

func TestReachesOrder(t *testing.T) {
	a := queryAnalysis(t)
	rs := a.Reaches(Group("ops-admins"))
	var kinds []PowerKind
	for _, r := range rs {
		if len(kinds) == 0 || kinds[len(kinds)-1] != r.Power.Kind {
			kinds = append(kinds, r.Power.Kind)
		}
	}
	// ops's admins run pods as ops/deployer, which may bind cluster-admin.
	want := []PowerKind{KindClusterAdmin, KindNodeRoot, KindActAs, KindBindsRole, KindRunPods, KindReadSecrets, KindPermission}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("kinds in order (-want +got):\n%s", diff)
	}
	for i := 1; i < len(rs); i++ {
		if rs[i].Power.Kind == rs[i-1].Power.Kind && len(rs[i].Path) < len(rs[i-1].Path) {
			t.Errorf("%s comes after the longer %s", rs[i], rs[i-1])
		}
	}
	if _, ok := a.Reach(Group("ops-admins"), ActAsPower(Group("ops-admins"))); ok {
		t.Errorf("acting as itself is reported as a reach")
	}
}
