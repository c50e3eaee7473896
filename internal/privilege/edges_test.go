package privilege

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	psapi "k8s.io/pod-security-admission/api"
)

// TestEdges gives each edge a small world: the powers a subject must reach, with the
// edges of the shortest path, and the powers it must not reach.
func TestEdges(t *testing.T) {
	g := groupSubject("g")
	nsApp := namespaceObj("app", "restricted")
	nsOps := namespaceObj("ops", "privileged")
	base := func(o Objects) Objects {
		o.Namespaces = append(o.Namespaces, nsApp, nsOps)
		o.ServiceAccounts = append(o.ServiceAccounts, serviceAccountObj("app", "deployer", nil))
		return o
	}
	grantIn := func(ns string, rules ...rbacv1.PolicyRule) Objects {
		return base(Objects{
			Roles:        []rbacv1.Role{roleObj(ns, "r", rules...)},
			RoleBindings: []rbacv1.RoleBinding{rb(ns, "b", "Role", "r", g)},
		})
	}
	grantCluster := func(rules ...rbacv1.PolicyRule) Objects {
		return base(Objects{
			ClusterRoles:        []rbacv1.ClusterRole{clusterRole("r", rules...)},
			ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("b", "r", g)},
		})
	}
	with := func(o Objects, more Objects) Objects {
		o.ClusterRoles = append(o.ClusterRoles, more.ClusterRoles...)
		o.Roles = append(o.Roles, more.Roles...)
		o.ClusterRoleBindings = append(o.ClusterRoleBindings, more.ClusterRoleBindings...)
		o.RoleBindings = append(o.RoleBindings, more.RoleBindings...)
		o.Workloads = append(o.Workloads, more.Workloads...)
		o.Secrets = append(o.Secrets, more.Secrets...)
		o.ServiceAccounts = append(o.ServiceAccounts, more.ServiceAccounts...)
		return o
	}
	perm := func(ns, verb, group, resource, name string) Power {
		return PermissionPower(Permission{Namespace: ns, Verb: verb, APIGroup: group, Resource: resource, ResourceName: name})
	}
	all := func(ns string) Power { return perm(ns, "*", "*", "*", "") }
	admin := ClusterAdminPower()
	every := NodeRootPower(AllNodes)
	deployer := ActAsPower(ServiceAccount("app", "deployer"))

	agent := workloadObj("DaemonSet", "ops", "agent", corev1.PodSpec{
		ServiceAccountName: "agent", NodeSelector: map[string]string{"role": "storage"}, Tolerations: storageToleration,
		Containers: []corev1.Container{{Name: "c", SecurityContext: privileged()}},
		Volumes:    []corev1.Volume{{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "agent-creds"}}}},
	})
	db := workloadObj("StatefulSet", "app", "db", corev1.PodSpec{ServiceAccountName: "db", Tolerations: storageToleration, ImagePullSecrets: []corev1.LocalObjectReference{{Name: "pull"}}})
	web := workloadObj("Deployment", "app", "web", corev1.PodSpec{ServiceAccountName: "web"})
	quietAgent := agent
	quietAgent.Template.Spec.AutomountServiceAccountToken = noToken
	adminBinding := rb("app", "app-admins", "ClusterRole", "admin", groupSubject("app-admins"))

	for _, tc := range []struct {
		name    string
		objs    Objects
		world   func(*World)
		subject Subject
		want    map[Power][]Edge
		not     []Power
	}{
		{name: "a RoleBinding grants in its namespace only",
			objs: base(Objects{
				ClusterRoles: []rbacv1.ClusterRole{clusterRole("r", policyRule("get", "core", "pods,nodes"))},
				RoleBindings: []rbacv1.RoleBinding{rb("app", "b", "ClusterRole", "r", g)},
			}),
			subject: Group("g"),
			want:    map[Power][]Edge{perm("app", "get", "", "pods", ""): {EdgeGrant}},
			not:     []Power{perm("", "get", "", "pods", ""), perm("ops", "get", "", "pods", ""), perm("app", "get", "", "nodes", "")}},
		{name: "a ClusterRoleBinding grants cluster-wide",
			objs: grantCluster(policyRule("get", "core", "pods,nodes")), subject: Group("g"),
			want: map[Power][]Edge{perm("", "get", "", "pods", ""): {EdgeGrant}, perm("", "get", "", "nodes", ""): {EdgeGrant}}},
		{name: "a ServiceAccount gets its namespace group's grants",
			objs: base(Objects{
				ClusterRoles: []rbacv1.ClusterRole{clusterRole("r", policyRule("get", "core", "pods"))},
				RoleBindings: []rbacv1.RoleBinding{rb("app", "b", "ClusterRole", "r", groupSubject("system:serviceaccounts:app"))},
			}),
			subject: ServiceAccount("app", "deployer"),
			want:    map[Power][]Edge{perm("app", "get", "", "pods", ""): {EdgeGrant}},
			not:     []Power{}},
		{name: "every user gets system:authenticated's grants",
			objs: base(Objects{
				ClusterRoles:        []rbacv1.ClusterRole{clusterRole("r", policyRule("get", "core", "pods"))},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("b", "r", groupSubject("system:authenticated"))},
			}),
			subject: User("alice"),
			want:    map[Power][]Edge{perm("", "get", "", "pods", ""): {EdgeGrant}}},
		{name: "cluster-admin bound cluster-wide",
			objs:    base(Objects{ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("b", "cluster-admin", g)}}),
			subject: Group("g"),
			want:    map[Power][]Edge{admin: {EdgeGrant, EdgeWildcard}}},
		// A request for namespace N carries namespace N: "*" in N may relabel N.
		{name: "cluster-admin bound in a namespace relabels it",
			objs:    base(Objects{RoleBindings: []rbacv1.RoleBinding{rb("app", "b", "ClusterRole", "cluster-admin", g)}}),
			subject: Group("g"),
			want: map[Power][]Edge{
				all("app"):                 {EdgeGrant},
				RunPodsPower("app", false): {EdgeGrant, EdgeRunPods},
				RunPodsPower("app", true):  {EdgeGrant, EdgeRunPods, EdgeNamespaceLabel},
				admin:                      {EdgeGrant, EdgeRunPods, EdgeNamespaceLabel, EdgePrivilegedPod, EdgeGeneralNode},
			},
			not: []Power{all(""), RunPodsPower("ops", false)}},
		{name: "the built-in admin bound in a namespace",
			objs:    base(Objects{RoleBindings: []rbacv1.RoleBinding{rb("app", "b", "ClusterRole", "admin", g)}}),
			subject: Group("g"),
			want: map[Power][]Edge{
				RunPodsPower("app", false):  {EdgeGrant, EdgeRunPods},
				deployer:                    {EdgeGrant, EdgeTokenRequest}, // edit holds serviceaccounts/token
				ReadSecretsPower("app", ""): {EdgeGrant, EdgeReadSecrets},
			},
			not: []Power{admin, RunPodsPower("app", true), BindsRolePower("ClusterRole", "cluster-admin", "app")}},
		{name: "system:masters",
			objs: base(Objects{}), subject: Group("system:masters"),
			want: map[Power][]Edge{admin: {EdgeSystemMasters}}},
		{name: "creating pods in a restricted namespace",
			objs: grantIn("app", policyRule("create", "core", "pods")), subject: Group("g"),
			want: map[Power][]Edge{
				RunPodsPower("app", false): {EdgeGrant, EdgeRunPods},
				deployer:                   {EdgeGrant, EdgeRunPods, EdgePodServiceAccount},
				ActAsPower(ServiceAccount("app", "default")): {EdgeGrant, EdgeRunPods, EdgePodServiceAccount},
				ReadSecretsPower("app", ""):                  {EdgeGrant, EdgeRunPods, EdgePodSecrets},
			},
			not: []Power{RunPodsPower("app", true), every, admin, ActAsPower(ServiceAccount("ops", "default"))}},
		{name: "creating Deployments in a privileged namespace",
			objs: grantIn("ops", policyRule("create", "apps", "deployments")), subject: Group("g"),
			want: map[Power][]Edge{
				RunPodsPower("ops", true): {EdgeGrant, EdgeRunPods},
				every:                     {EdgeGrant, EdgeRunPods, EdgePrivilegedPod},
				admin:                     {EdgeGrant, EdgeRunPods, EdgePrivilegedPod, EdgeGeneralNode},
			}},
		{name: "privileged pods on dedicated pools reach their workloads",
			objs: with(grantIn("ops", policyRule("create", "batch", "cronjobs")), Objects{Workloads: []Workload{db, web}}), world: dedicatedPools, subject: Group("g"),
			want: map[Power][]Edge{
				NodeRootPower("storage"): {EdgeGrant, EdgeRunPods, EdgePrivilegedPod},
				admin:                    {EdgeGrant, EdgeRunPods, EdgePrivilegedPod, EdgeGeneralNode},
			}},
		{name: "updating workloads where there are none runs nothing",
			objs: grantIn("app", policyRule("update,patch", "apps", "deployments")), subject: Group("g"),
			not: []Power{RunPodsPower("app", false), deployer}},
		{name: "updating an existing Deployment runs pods",
			objs: with(grantIn("app", policyRule("patch", "apps", "deployments")), Objects{Workloads: []Workload{web}}), subject: Group("g"),
			want: map[Power][]Edge{RunPodsPower("app", false): {EdgeGrant, EdgeRunPods}}},
		{name: "an unlabelled namespace is privileged by default",
			objs:    base(Objects{Roles: []rbacv1.Role{roleObj("free", "r", policyRule("create", "core", "pods"))}, RoleBindings: []rbacv1.RoleBinding{rb("free", "b", "Role", "r", g)}}),
			subject: Group("g"),
			want:    map[Power][]Edge{RunPodsPower("free", true): {EdgeGrant, EdgeRunPods}}},
		{name: "an unlabelled namespace under a baseline default",
			objs:    base(Objects{Roles: []rbacv1.Role{roleObj("free", "r", policyRule("create", "core", "pods"))}, RoleBindings: []rbacv1.RoleBinding{rb("free", "b", "Role", "r", g)}}),
			world:   func(w *World) { w.DefaultEnforce = psapi.LevelBaseline },
			subject: Group("g"),
			want:    map[Power][]Edge{RunPodsPower("free", false): {EdgeGrant, EdgeRunPods}},
			not:     []Power{RunPodsPower("free", true)}},
		{name: "relabelling the namespace",
			objs: grantIn("app", policyRule("create", "core", "pods"), policyRule("patch", "core", "namespaces")), subject: Group("g"),
			want: map[Power][]Edge{RunPodsPower("app", true): {EdgeGrant, EdgeRunPods, EdgeNamespaceLabel}}},
		{name: "a cluster-wide grant reaches the system namespaces",
			objs: grantCluster(policyRule("create", "apps", "daemonsets")), subject: Group("g"),
			want: map[Power][]Edge{RunPodsPower("kube-system", true): {EdgeGrant, EdgeRunPods}, admin: {EdgeGrant, EdgeRunPods, EdgePrivilegedPod, EdgeGeneralNode}}},
		{name: "a hostPath PersistentVolume",
			objs: with(grantIn("app", policyRule("create", "core", "pods,persistentvolumeclaims")), Objects{
				ClusterRoles:        []rbacv1.ClusterRole{clusterRole("pv", policyRule("create", "core", "persistentvolumes"))},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("pv", "pv", g)},
			}),
			subject: Group("g"),
			want:    map[Power][]Edge{every: {EdgeGrant, EdgeRunPods, EdgeHostPathVolume}}},
		{name: "PersistentVolumes without claims",
			objs: with(grantIn("app", policyRule("create", "core", "pods")), Objects{
				ClusterRoles:        []rbacv1.ClusterRole{clusterRole("pv", policyRule("create", "core", "persistentvolumes"))},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("pv", "pv", g)},
			}),
			subject: Group("g"),
			not:     []Power{every}},
		{name: "exec into a privileged DaemonSet is root where it runs",
			objs: with(grantIn("ops", policyRule("create", "core", "pods/exec")), Objects{Workloads: []Workload{agent, db, web}}), world: dedicatedPools, subject: Group("g"),
			want: map[Power][]Edge{
				NodeRootPower("storage"):                   {EdgeGrant, EdgeExec},
				ActAsPower(ServiceAccount("ops", "agent")): {EdgeGrant, EdgeExec},
				ReadSecretsPower("ops", "agent-creds"):     {EdgeGrant, EdgeExec},
				ActAsPower(ServiceAccount("app", "db")):    {EdgeGrant, EdgeExec, EdgeNodeCredentials},
				ReadSecretsPower("app", "pull"):            {EdgeGrant, EdgeExec, EdgeNodeCredentials},
			},
			not: []Power{NodeRootPower("general"), admin, RunPodsPower("ops", true), ActAsPower(ServiceAccount("app", "web"))}},
		{name: "get on pods/exec is not exec",
			objs: with(grantIn("ops", policyRule("get", "core", "pods/exec")), Objects{Workloads: []Workload{agent}}), world: dedicatedPools, subject: Group("g"),
			not: []Power{NodeRootPower("storage"), ActAsPower(ServiceAccount("ops", "agent"))}},
		{name: "attach to a pod without its token",
			objs: with(grantIn("ops", policyRule("create", "core", "pods/attach")), Objects{Workloads: []Workload{quietAgent}}), world: dedicatedPools, subject: Group("g"),
			want: map[Power][]Edge{NodeRootPower("storage"): {EdgeGrant, EdgeExec}, ActAsPower(ServiceAccount("ops", "agent")): {EdgeGrant, EdgeExec, EdgeNodeCredentials}}},
		{name: "an ephemeral container",
			objs: with(grantIn("app", policyRule("patch", "core", "pods/ephemeralcontainers")), Objects{Workloads: []Workload{web}}), subject: Group("g"),
			want: map[Power][]Edge{ActAsPower(ServiceAccount("app", "web")): {EdgeGrant, EdgeExec}}},
		{name: "a new image in a running pod",
			objs: with(grantIn("app", policyRule("update", "core", "pods")), Objects{Workloads: []Workload{web}}), subject: Group("g"),
			want: map[Power][]Edge{ActAsPower(ServiceAccount("app", "web")): {EdgeGrant, EdgeExec}},
			not:  []Power{RunPodsPower("app", false)}},
		{name: "listing Secrets yields token Secrets",
			objs: with(grantIn("app", policyRule("list", "core", "secrets")), Objects{Secrets: []corev1.Secret{tokenSecret("app", "t", "deployer")}}), subject: Group("g"),
			want: map[Power][]Edge{ReadSecretsPower("app", ""): {EdgeGrant, EdgeReadSecrets}, deployer: {EdgeGrant, EdgeReadSecrets, EdgeTokenSecret}},
			not:  []Power{ReadSecretsPower("", ""), ActAsPower(ServiceAccount("app", "default"))}},
		{name: "reading Secrets cluster-wide",
			objs: with(grantCluster(policyRule("watch", "core", "secrets")), Objects{Secrets: []corev1.Secret{tokenSecret("app", "t", "deployer")}}), subject: Group("g"),
			want: map[Power][]Edge{ReadSecretsPower("", ""): {EdgeGrant, EdgeReadSecrets}, deployer: {EdgeGrant, EdgeReadSecrets, EdgeTokenSecret}}},
		{name: "one named Secret",
			objs: with(grantIn("app", policyRule("get", "core", "secrets", "cfg")), Objects{Secrets: []corev1.Secret{tokenSecret("app", "t", "deployer")}}), subject: Group("g"),
			want: map[Power][]Edge{ReadSecretsPower("app", "cfg"): {EdgeGrant, EdgeReadSecrets}},
			not:  []Power{ReadSecretsPower("app", ""), deployer}},
		{name: "a named token Secret",
			objs: with(grantIn("app", policyRule("get", "core", "secrets", "t")), Objects{Secrets: []corev1.Secret{tokenSecret("app", "t", "deployer")}}), subject: Group("g"),
			want: map[Power][]Edge{deployer: {EdgeGrant, EdgeReadSecrets, EdgeTokenSecret}}},
		{name: "creating a token Secret it can read back",
			objs: grantIn("app", policyRule("create", "core", "secrets"), policyRule("get", "core", "secrets", "mine")), subject: Group("g"),
			want: map[Power][]Edge{deployer: {EdgeGrant, EdgeReadSecrets, EdgeCreateTokenSecret}}},
		{name: "creating Secrets it cannot read",
			objs: grantIn("app", policyRule("create", "core", "secrets")), subject: Group("g"),
			not: []Power{deployer}},
		{name: "a token request for one ServiceAccount",
			objs: grantIn("app", policyRule("create", "core", "serviceaccounts/token", "deployer")), subject: Group("g"),
			want: map[Power][]Edge{deployer: {EdgeGrant, EdgeTokenRequest}},
			not:  []Power{ActAsPower(ServiceAccount("app", "default"))}},
		{name: "bind cluster-admin",
			objs: grantCluster(policyRule("create", "rbac.authorization.k8s.io", "clusterrolebindings"), policyRule("bind", "rbac.authorization.k8s.io", "clusterroles", "cluster-admin")), subject: Group("g"),
			want: map[Power][]Edge{
				BindsRolePower("ClusterRole", "cluster-admin", ""): {EdgeGrant, EdgeBind},
				admin: {EdgeGrant, EdgeBind, EdgeGrant, EdgeWildcard},
			}},
		{name: "bind restricted to view",
			objs: grantCluster(policyRule("create", "rbac.authorization.k8s.io", "clusterrolebindings"), policyRule("bind", "rbac.authorization.k8s.io", "clusterroles", "view")), subject: Group("g"),
			want: map[Power][]Edge{BindsRolePower("ClusterRole", "view", ""): {EdgeGrant, EdgeBind}},
			not:  []Power{BindsRolePower("ClusterRole", "cluster-admin", ""), admin, ReadSecretsPower("", "")}},
		{name: "bind without creating bindings",
			objs: grantCluster(policyRule("bind", "rbac.authorization.k8s.io", "clusterroles")), subject: Group("g"),
			not: []Power{BindsRolePower("ClusterRole", "cluster-admin", ""), admin}},
		{name: "bind in one namespace",
			objs: grantIn("app", policyRule("create,bind", "rbac.authorization.k8s.io", "rolebindings,clusterroles,roles")), subject: Group("g"),
			want: map[Power][]Edge{
				BindsRolePower("ClusterRole", "cluster-admin", "app"): {EdgeGrant, EdgeBind},
				BindsRolePower("Role", "r", "app"):                    {EdgeGrant, EdgeBind},
				all("app"):                                            {EdgeGrant, EdgeBind, EdgeGrant},
			},
			not: []Power{all(""), all("ops"), BindsRolePower("ClusterRole", "cluster-admin", "")}},
		{name: "adding itself to an existing RoleBinding",
			objs: with(grantIn("app", policyRule("update", "rbac.authorization.k8s.io", "rolebindings", "app-admins"), policyRule("bind", "rbac.authorization.k8s.io", "clusterroles", "admin")), Objects{RoleBindings: []rbacv1.RoleBinding{adminBinding}}), subject: Group("g"),
			want: map[Power][]Edge{BindsRolePower("ClusterRole", "admin", "app"): {EdgeGrant, EdgeBind}, perm("app", "create", "rbac.authorization.k8s.io", "rolebindings", ""): {EdgeGrant, EdgeBind, EdgeGrant}},
			not:  []Power{admin, BindsRolePower("ClusterRole", "cluster-admin", "app")}},
		{name: "adding itself to an existing ClusterRoleBinding",
			objs: with(grantCluster(policyRule("patch", "rbac.authorization.k8s.io", "clusterrolebindings", "admins"), policyRule("bind", "rbac.authorization.k8s.io", "clusterroles", "cluster-admin")), Objects{ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("admins", "cluster-admin", groupSubject("ops"))}}), subject: Group("g"),
			want: map[Power][]Edge{admin: {EdgeGrant, EdgeBind, EdgeGrant, EdgeWildcard}}},
		{name: "escalating the ClusterRole bound to it",
			objs: grantCluster(policyRule("escalate,update", "rbac.authorization.k8s.io", "clusterroles", "r")), subject: Group("g"),
			want: map[Power][]Edge{all(""): {EdgeGrant, EdgeEscalate}, admin: {EdgeGrant, EdgeEscalate, EdgeWildcard}}},
		{name: "escalate without update",
			objs: grantCluster(policyRule("escalate", "rbac.authorization.k8s.io", "clusterroles", "r")), subject: Group("g"),
			not: []Power{all(""), admin}},
		{name: "escalating another ClusterRole",
			objs: with(grantCluster(policyRule("escalate,update", "rbac.authorization.k8s.io", "clusterroles", "other")), Objects{ClusterRoles: []rbacv1.ClusterRole{clusterRole("other")}}), subject: Group("g"),
			not: []Power{all(""), admin}},
		{name: "escalating a Role in its namespace",
			objs: grantIn("app", policyRule("escalate,patch", "rbac.authorization.k8s.io", "roles", "r")), subject: Group("g"),
			want: map[Power][]Edge{all("app"): {EdgeGrant, EdgeEscalate}, RunPodsPower("app", true): {EdgeGrant, EdgeEscalate, EdgeRunPods, EdgeNamespaceLabel}},
			not:  []Power{all("")}},
		{name: "feeding the aggregated role bound to it",
			objs: base(Objects{
				ClusterRoles:        []rbacv1.ClusterRole{clusterRole("helper"), clusterRole("esc", policyRule("escalate,update", "rbac.authorization.k8s.io", "clusterroles", "helper"))},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("esc", "esc", g)},
				RoleBindings:        []rbacv1.RoleBinding{rb("app", "b", "ClusterRole", "admin", g)},
			}),
			subject: Group("g"),
			want:    map[Power][]Edge{all("app"): {EdgeGrant, EdgeEscalate}},
			not:     []Power{all("")}},
		{name: "creating a ClusterRole for the aggregated role bound to it",
			objs: base(Objects{
				ClusterRoles:        []rbacv1.ClusterRole{clusterRole("esc", policyRule("escalate,create", "rbac.authorization.k8s.io", "clusterroles"))},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("esc", "esc", g)},
				RoleBindings:        []rbacv1.RoleBinding{rb("app", "b", "ClusterRole", "view", g)},
			}),
			subject: Group("g"),
			want:    map[Power][]Edge{all("app"): {EdgeGrant, EdgeEscalate}}},
		{name: "impersonating any user",
			objs: grantCluster(policyRule("impersonate", "core", "users")), subject: Group("g"),
			want: map[Power][]Edge{admin: {EdgeGrant, EdgeImpersonate}}},
		{name: "impersonating a named group",
			objs: with(grantCluster(policyRule("impersonate", "core", "groups", "ops-team")), Objects{
				ClusterRoles:        []rbacv1.ClusterRole{clusterRole("reader", policyRule("list", "core", "secrets"))},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("ops-team", "reader", groupSubject("ops-team"))},
			}),
			subject: Group("g"),
			want:    map[Power][]Edge{ActAsPower(Group("ops-team")): {EdgeGrant, EdgeImpersonate}, ReadSecretsPower("", ""): {EdgeGrant, EdgeImpersonate, EdgeGrant, EdgeReadSecrets}},
			not:     []Power{admin}},
		{name: "impersonating system:masters",
			objs: grantCluster(policyRule("impersonate", "core", "groups", "system:masters")), subject: Group("g"),
			want: map[Power][]Edge{admin: {EdgeGrant, EdgeImpersonate}}},
		{name: "impersonating a namespace's ServiceAccounts",
			objs: grantIn("app", policyRule("impersonate", "core", "serviceaccounts")), subject: Group("g"),
			want: map[Power][]Edge{deployer: {EdgeGrant, EdgeImpersonate}},
			not:  []Power{ActAsPower(ServiceAccount("ops", "default"))}},
		{name: "impersonating a ServiceAccount's user name",
			objs: grantCluster(policyRule("impersonate", "core", "users", "system:serviceaccount:app:deployer", "bob")), subject: Group("g"),
			want: map[Power][]Edge{deployer: {EdgeGrant, EdgeImpersonate}, ActAsPower(User("bob")): {EdgeGrant, EdgeImpersonate}},
			not:  []Power{admin}},
		{name: "impersonation granted in a namespace has no users",
			objs: grantIn("app", policyRule("impersonate", "core", "users,groups")), subject: Group("g"),
			not: []Power{admin}},
		{name: "nodes/proxy",
			objs: grantCluster(policyRule("get", "core", "nodes/proxy")), world: dedicatedPools, subject: Group("g"),
			want: map[Power][]Edge{NodeRootPower("storage"): {EdgeGrant, EdgeNodeProxy}, admin: {EdgeGrant, EdgeNodeProxy, EdgeGeneralNode}}},
		{name: "nodes/proxy of one dedicated node",
			objs: with(grantCluster(policyRule("create", "core", "nodes/proxy", "s1")), Objects{Workloads: []Workload{db, web}}), world: dedicatedPools, subject: Group("g"),
			want: map[Power][]Edge{NodeRootPower("storage"): {EdgeGrant, EdgeNodeProxy}, ActAsPower(ServiceAccount("app", "db")): {EdgeGrant, EdgeNodeProxy, EdgeNodeCredentials}},
			not:  []Power{NodeRootPower("general"), admin, ActAsPower(ServiceAccount("app", "web"))}},
		{name: "root on a dedicated pool and node updates",
			objs: grantCluster(policyRule("get", "core", "nodes/proxy", "s1"), policyRule("patch", "core", "nodes")), world: dedicatedPools, subject: Group("g"),
			want: map[Power][]Edge{admin: {EdgeGrant, EdgeNodeProxy, EdgeNodeTaints}}},
		{name: "a mutating webhook",
			objs: grantCluster(policyRule("create", "admissionregistration.k8s.io", "mutatingwebhookconfigurations")), subject: Group("g"),
			want: map[Power][]Edge{admin: {EdgeGrant, EdgeAdmissionWebhook}}},
		{name: "a validating webhook",
			objs: grantCluster(policyRule("patch", "admissionregistration.k8s.io", "validatingwebhookconfigurations")), subject: Group("g"),
			want: map[Power][]Edge{ReadSecretsPower("", ""): {EdgeGrant, EdgeAdmissionWebhook}},
			not:  []Power{admin}},
		{name: "a client certificate",
			objs: grantCluster(policyRule("create", "certificates.k8s.io", "certificatesigningrequests"), policyRule("update", "certificates.k8s.io", "certificatesigningrequests/approval"), policyRule("approve", "certificates.k8s.io", "signers", "kubernetes.io/kube-apiserver-client")), subject: Group("g"),
			want: map[Power][]Edge{admin: {EdgeGrant, EdgeCertificate}}},
		{name: "a certificate request nobody may approve",
			objs: grantCluster(policyRule("create", "certificates.k8s.io", "certificatesigningrequests"), policyRule("update", "certificates.k8s.io", "certificatesigningrequests/approval"), policyRule("approve", "certificates.k8s.io", "signers", "example.org/other")), subject: Group("g"),
			not: []Power{admin}},
		{name: "the shortest path is kept",
			objs: grantCluster(policyRule("create", "rbac.authorization.k8s.io", "clusterrolebindings"), policyRule("bind", "rbac.authorization.k8s.io", "clusterroles", "cluster-admin"), policyRule("*", "*", "*")), subject: Group("g"),
			want: map[Power][]Edge{admin: {EdgeGrant, EdgeWildcard}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := analyze(t, tc.objs, tc.world)
			got := map[Power][]Edge{}
			for p := range tc.want {
				if r, ok := a.Reach(tc.subject, p); ok {
					got[p] = edges(r)
				}
			}
			if tc.want == nil {
				tc.want = map[Power][]Edge{}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("powers reached, edge by edge (-want +got):\n%s", diff)
			}
			for _, p := range tc.not {
				if r, ok := a.Reach(tc.subject, p); ok {
					t.Errorf("reaches %s: %s", p, r)
				}
			}
			if t.Failed() {
				for _, r := range a.Reaches(tc.subject) {
					t.Logf("reach: %s", r)
				}
			}
		})
	}
}
