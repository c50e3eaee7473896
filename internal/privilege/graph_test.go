package privilege

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	rbacvalidation "k8s.io/component-helpers/auth/rbac/validation"
)

// TestPermissionAllows checks the matcher against its cases and, for every case, against
// component-helpers' Covers, which implements the same RBAC rule semantics.
func TestPermissionAllows(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Permission
		r    Request
		want bool
	}{
		{"exact", Permission{"ns", "get", "", "pods", ""}, Request{"ns", "get", "", "pods", ""}, true},
		{"other namespace", Permission{"ns", "get", "", "pods", ""}, Request{"other", "get", "", "pods", ""}, false},
		{"namespaced grant, cluster request", Permission{"ns", "get", "", "pods", ""}, Request{"", "get", "", "pods", ""}, false},
		{"cluster grant, namespaced request", Permission{"", "get", "", "pods", ""}, Request{"ns", "get", "", "pods", ""}, true},
		{"verb star", Permission{"", "*", "", "pods", ""}, Request{"ns", "delete", "", "pods", ""}, true},
		{"other verb", Permission{"", "get", "", "pods", ""}, Request{"ns", "list", "", "pods", ""}, false},
		{"group star", Permission{"", "get", "*", "pods", ""}, Request{"ns", "get", "apps", "pods", ""}, true},
		{"other group", Permission{"", "get", "apps", "pods", ""}, Request{"ns", "get", "", "pods", ""}, false},
		{"resource star", Permission{"", "get", "", "*", ""}, Request{"ns", "get", "", "secrets", ""}, true},
		{"resource star covers subresource", Permission{"", "create", "", "*", ""}, Request{"ns", "create", "", "pods/exec", ""}, true},
		{"resource is not its subresource", Permission{"", "create", "", "pods", ""}, Request{"ns", "create", "", "pods/exec", ""}, false},
		{"star subresource", Permission{"", "update", "apps", "*/scale", ""}, Request{"ns", "update", "apps", "deployments/scale", ""}, true},
		{"star subresource, other subresource", Permission{"", "update", "apps", "*/scale", ""}, Request{"ns", "update", "apps", "deployments/status", ""}, false},
		{"star subresource, the resource", Permission{"", "update", "apps", "*/scale", ""}, Request{"ns", "update", "apps", "deployments", ""}, false},
		{"named grant, that name", Permission{"", "get", "", "secrets", "a"}, Request{"ns", "get", "", "secrets", "a"}, true},
		{"named grant, other name", Permission{"", "get", "", "secrets", "a"}, Request{"ns", "get", "", "secrets", "b"}, false},
		{"named grant, no name", Permission{"", "list", "", "secrets", "a"}, Request{"ns", "list", "", "secrets", ""}, false},
		{"unnamed grant, a name", Permission{"", "get", "", "secrets", ""}, Request{"ns", "get", "", "secrets", "b"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.allows(tc.r); got != tc.want {
				t.Errorf("%s allows %+v = %v, want %v", tc.p, tc.r, got, tc.want)
			}
			// The same answer from component-helpers, leaving the namespace aside.
			owner := rbacv1.PolicyRule{Verbs: []string{tc.p.Verb}, APIGroups: []string{tc.p.APIGroup}, Resources: []string{tc.p.Resource}}
			if tc.p.ResourceName != "" {
				owner.ResourceNames = []string{tc.p.ResourceName}
			}
			servant := rbacv1.PolicyRule{Verbs: []string{tc.r.Verb}, APIGroups: []string{tc.r.APIGroup}, Resources: []string{tc.r.Resource}}
			if tc.r.Name != "" {
				servant.ResourceNames = []string{tc.r.Name}
			}
			covers, _ := rbacvalidation.Covers([]rbacv1.PolicyRule{owner}, []rbacv1.PolicyRule{servant})
			inScope := tc.p.Namespace == "" || tc.p.Namespace == tc.r.Namespace
			if got := tc.p.allows(tc.r); got != (covers && inScope) {
				t.Errorf("allows = %v, component-helpers Covers = %v (in scope %v)", got, covers, inScope)
			}
		})
	}
}

func TestSubjectUserInfo(t *testing.T) {
	for _, tc := range []struct {
		s          Subject
		wantUser   string
		wantGroups []string
		wantString string
	}{
		{ServiceAccount("ns", "sa"), "system:serviceaccount:ns:sa", []string{"system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated"}, "ServiceAccount ns/sa"},
		{Group("g"), "member-of-g", []string{"g", "system:authenticated"}, "Group g"},
		{User("u"), "u", []string{"system:authenticated"}, "User u"},
	} {
		user, groups := tc.s.UserInfo()
		if user != tc.wantUser || !cmp.Equal(groups, tc.wantGroups) || tc.s.String() != tc.wantString {
			t.Errorf("%v: got %q %v %q, want %q %v %q", tc.s, user, groups, tc.s.String(), tc.wantUser, tc.wantGroups, tc.wantString)
		}
	}
}

func TestMemberships(t *testing.T) {
	for _, tc := range []struct {
		s    Subject
		want []Subject
	}{
		{ServiceAccount("ns", "sa"), []Subject{ServiceAccount("ns", "sa"), Group("system:serviceaccounts"), Group("system:serviceaccounts:ns"), Group("system:authenticated")}},
		{User("system:serviceaccount:ns:sa"), []Subject{User("system:serviceaccount:ns:sa"), ServiceAccount("ns", "sa"), Group("system:serviceaccounts"), Group("system:serviceaccounts:ns"), Group("system:authenticated")}},
		{User("alice"), []Subject{User("alice"), Group("system:authenticated")}},
		{Group("g"), []Subject{Group("g"), Group("system:authenticated")}},
		{Group("system:authenticated"), []Subject{Group("system:authenticated")}},
	} {
		if diff := cmp.Diff(tc.want, tc.s.memberships()); diff != "" {
			t.Errorf("%v memberships (-want +got):\n%s", tc.s, diff)
		}
	}
}

func TestCollect(t *testing.T) {
	u := func(obj map[string]any) *unstructured.Unstructured { return &unstructured.Unstructured{Object: obj} }
	objs, err := Collect(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "r"}},
		u(map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
			"metadata": map[string]any{"name": "b", "namespace": "a"},
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "r"}}),
		u(map[string]any{"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": map[string]any{"name": "d", "namespace": "a"},
			"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"serviceAccountName": "x", "containers": []any{map[string]any{"name": "c"}}}}}}),
		u(map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "ignored", "namespace": "a"}}),
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "dep", Namespace: "a"}},
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "sts", Namespace: "a"}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "a"}},
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "job", Namespace: "a"}},
		&batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "cron", Namespace: "a"}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pod", Namespace: "a"}},
		&corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "rc", Namespace: "a"}, Spec: corev1.ReplicationControllerSpec{Template: &corev1.PodTemplateSpec{}}},
		&corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "rc-without-template", Namespace: "a"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "a"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "a"}},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "role", Namespace: "a"}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "crb"}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ignored-too", Namespace: "a"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, w := range objs.Workloads {
		ids = append(ids, w.ID())
	}
	want := []string{"DaemonSet/a/d", "Deployment/a/dep", "StatefulSet/a/sts", "ReplicaSet/a/rs", "Job/a/job", "CronJob/a/cron", "Pod/a/pod", "ReplicationController/a/rc"}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("workloads (-want +got):\n%s", diff)
	}
	if got := objs.Workloads[0].Template.Spec.ServiceAccountName; got != "x" {
		t.Errorf("DaemonSet's serviceAccountName = %q, want x", got)
	}
	counts := []int{len(objs.Namespaces), len(objs.ClusterRoles), len(objs.RoleBindings), len(objs.ServiceAccounts), len(objs.Secrets), len(objs.Roles), len(objs.ClusterRoleBindings)}
	if diff := cmp.Diff([]int{1, 1, 1, 1, 1, 1, 1}, counts); diff != "" {
		t.Errorf("object counts (-want +got):\n%s", diff)
	}
}

func TestCollectRejectsUnknownFields(t *testing.T) {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "d", "namespace": "a"},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"serviceAcountName": "typo"}}},
	}}
	_, err := Collect(obj)
	if err == nil || !strings.Contains(err.Error(), "Deployment/a/d") || !strings.Contains(err.Error(), "serviceAcountName") {
		t.Errorf("Collect = %v, want an error naming Deployment/a/d and the unknown field", err)
	}
	var _ runtime.Object = obj
}

// TestAnalyzeErrors covers every error Analyze returns: each names the object and says
// what is wrong.
func TestAnalyzeErrors(t *testing.T) {
	badSelector := clusterRole("agg")
	badSelector.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "k", Operator: "Sometimes"}}}}}
	badAffinity := workloadObj("Deployment", "a", "d", corev1.PodSpec{Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "role", Operator: "Roughly"}}}}},
	}}})
	noAnnotation := tokenSecret("a", "t", "")
	wrongGroup := rb("a", "b", "ClusterRole", "view")
	wrongGroup.RoleRef.APIGroup = "example.org"
	for _, tc := range []struct {
		name  string
		objs  Objects
		world func(*World)
		want  string
	}{
		{"duplicate Role", Objects{Roles: []rbacv1.Role{roleObj("a", "r"), roleObj("a", "r")}}, nil, "Role/a/r: appears twice"},
		{"Role without namespace", Objects{Roles: []rbacv1.Role{roleObj("", "r")}}, nil, "Role/r: a namespaced object without metadata.namespace"},
		{"Role without name", Objects{Roles: []rbacv1.Role{roleObj("a", "")}}, nil, `Role in namespace "a" has no metadata.name`},
		{"ClusterRole without name", Objects{ClusterRoles: []rbacv1.ClusterRole{clusterRole("")}}, nil, "ClusterRole without metadata.name"},
		{"duplicate ClusterRole", Objects{ClusterRoles: []rbacv1.ClusterRole{clusterRole("x"), clusterRole("x")}}, nil, "ClusterRole/x: appears twice"},
		{"redefined built-in", Objects{ClusterRoles: []rbacv1.ClusterRole{clusterRole("view")}}, nil, "ClusterRole/view: redefines the built-in ClusterRole"},
		{"bad aggregation selector", Objects{ClusterRoles: []rbacv1.ClusterRole{badSelector}}, nil, "ClusterRole/agg: aggregationRule.clusterRoleSelectors[0]"},
		{"Namespace without name", Objects{Namespaces: []corev1.Namespace{namespaceObj("", "")}}, nil, "Namespace without metadata.name"},
		{"duplicate Namespace", Objects{Namespaces: []corev1.Namespace{namespaceObj("a", ""), namespaceObj("a", "")}}, nil, "Namespace/a: appears twice"},
		{"bad Pod Security level", Objects{Namespaces: []corev1.Namespace{namespaceObj("a", "superuser")}}, nil, "Namespace/a:"},
		{"ServiceAccount without namespace", Objects{ServiceAccounts: []corev1.ServiceAccount{serviceAccountObj("", "x", nil)}}, nil, "ServiceAccount/x: a namespaced object without metadata.namespace"},
		{"Secret without namespace", Objects{Secrets: []corev1.Secret{tokenSecret("", "t", "x")}}, nil, "Secret/t: a namespaced object"},
		{"token Secret without annotation", Objects{Secrets: []corev1.Secret{noAnnotation}}, nil, "Secret/a/t: a kubernetes.io/service-account-token Secret without the kubernetes.io/service-account.name annotation"},
		{"ClusterRoleBinding without name", Objects{ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("", "view")}}, nil, "ClusterRoleBinding without metadata.name"},
		{"duplicate ClusterRoleBinding", Objects{ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("b", "view"), crb("b", "view")}}, nil, "ClusterRoleBinding/b: appears twice"},
		{"ClusterRoleBinding to a Role", Objects{ClusterRoleBindings: []rbacv1.ClusterRoleBinding{{ObjectMeta: metav1.ObjectMeta{Name: "b"}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "r"}}}}, nil, `ClusterRoleBinding/b: roleRef.kind is "Role", want "ClusterRole"`},
		{"RoleBinding to an unknown kind", Objects{RoleBindings: []rbacv1.RoleBinding{rb("a", "b", "Policy", "r")}}, nil, `RoleBinding/a/b: roleRef.kind is "Policy", want "Role" or "ClusterRole"`},
		{"RoleBinding with another API group", Objects{RoleBindings: []rbacv1.RoleBinding{wrongGroup}}, nil, `RoleBinding/a/b: roleRef.apiGroup is "example.org"`},
		{"RoleBinding without role name", Objects{RoleBindings: []rbacv1.RoleBinding{rb("a", "b", "Role", "")}}, nil, "RoleBinding/a/b: roleRef.name is empty"},
		{"RoleBinding without namespace", Objects{RoleBindings: []rbacv1.RoleBinding{rb("", "b", "Role", "r")}}, nil, "RoleBinding/b: a namespaced object"},
		{"subject of unknown kind", Objects{RoleBindings: []rbacv1.RoleBinding{rb("a", "b", "ClusterRole", "view", rbacv1.Subject{Kind: "Robot", Name: "r"})}}, nil, `RoleBinding/a/b: subjects[0].kind is "Robot"`},
		{"subject without name", Objects{ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("b", "view", groupSubject(""))}}, nil, "ClusterRoleBinding/b: subjects[0] has no name"},
		{"ServiceAccount subject without namespace", Objects{ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("b", "view", groupSubject("g"), saSubject("", "x"))}}, nil, "ClusterRoleBinding/b: subjects[1]: a ServiceAccount subject needs name and namespace"},
		{"workload without namespace", Objects{Workloads: []Workload{workloadObj("Deployment", "", "d", corev1.PodSpec{})}}, nil, "Deployment/d: a namespaced object"},
		{"duplicate workload", Objects{Workloads: []Workload{workloadObj("Job", "a", "j", corev1.PodSpec{}), workloadObj("Job", "a", "j", corev1.PodSpec{})}}, nil, "Job/a/j: appears twice"},
		{"bad node affinity", Objects{Workloads: []Workload{badAffinity}}, dedicatedPools, "Deployment/a/d: spec.template.spec.affinity"},
		{"bad node affinity, no pools", Objects{Workloads: []Workload{badAffinity}}, nil, "Deployment/a/d: spec.template.spec.affinity"},
		{"World: bad default level", Objects{}, func(w *World) { w.DefaultEnforce = "lax" }, `World.DefaultEnforce is "lax"`},
		{"World: empty break-glass group", Objects{}, func(w *World) { w.BreakGlassGroups = []string{""} }, "World.BreakGlassGroups[0] is empty"},
		{"World: empty system namespace", Objects{}, func(w *World) { w.SystemNamespaces = []string{""} }, "World.SystemNamespaces[0] is empty"},
		{"World: pool without name", Objects{}, func(w *World) { w.NodePools = []NodePool{{}} }, `World.NodePools[0] is named ""`},
		{"World: pool named like all nodes", Objects{}, func(w *World) { w.NodePools = []NodePool{{Name: "g"}, {Name: AllNodes}} }, `World.NodePools[1] is named "*"`},
		{"World: two pools of one name", Objects{}, func(w *World) { w.NodePools = []NodePool{{Name: "p"}, {Name: "p"}} }, `World.NodePools: two pools named "p"`},
		{"World: built-in without name", Objects{}, func(w *World) { w.BuiltinClusterRoles = append(w.BuiltinClusterRoles, rbacv1.ClusterRole{}) }, "World.BuiltinClusterRoles: a ClusterRole without a name"},
		{"World: built-in twice", Objects{}, func(w *World) { w.BuiltinClusterRoles = append(w.BuiltinClusterRoles, clusterRole("view")) }, "built-in ClusterRole/view: appears twice"},
		{"World: built-in with a bad selector", Objects{}, func(w *World) { w.BuiltinClusterRoles = append(w.BuiltinClusterRoles, badSelector) }, "World.BuiltinClusterRoles: ClusterRole/agg: aggregationRule"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := DefaultWorld()
			if tc.world != nil {
				tc.world(&w)
			}
			a, err := Analyze(tc.objs, w)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Analyze = %v, %v; want an error containing %q", a, err, tc.want)
			}
			if a != nil {
				t.Errorf("Analyze returned an analysis with its error")
			}
		})
	}
}

// TestAnalyzeReportsEveryError checks that one call names all the bad objects, not the
// first only.
func TestAnalyzeReportsEveryError(t *testing.T) {
	_, err := Analyze(Objects{Roles: []rbacv1.Role{roleObj("", "a"), roleObj("", "b")}}, DefaultWorld())
	if err == nil || !strings.Contains(err.Error(), "Role/a:") || !strings.Contains(err.Error(), "Role/b:") {
		t.Errorf("Analyze = %v, want both Roles named", err)
	}
}

func TestWorkloadFacts(t *testing.T) {
	type facts struct {
		SA, Namespace      string
		Token              bool
		HostAccess         []string
		Secrets, Pull      []string
		Pools, AttractedBy []string
	}
	restrictedSel := map[string]string{"node-restriction.kubernetes.io/storage": "yes"}
	for _, tc := range []struct {
		name  string
		sas   []corev1.ServiceAccount
		spec  corev1.PodSpec
		pools func(*World)
		want  facts
	}{
		{"defaults, no pools", nil, corev1.PodSpec{}, nil,
			facts{SA: "default", Namespace: "a", Token: true, Pools: []string{AllNodes}, AttractedBy: []string{AllNodes}}},
		{"ServiceAccount turns the token off", []corev1.ServiceAccount{serviceAccountObj("a", "x", noToken)}, corev1.PodSpec{ServiceAccountName: "x"}, nil,
			facts{SA: "x", Namespace: "a", Token: false, Pools: []string{AllNodes}, AttractedBy: []string{AllNodes}}},
		{"pod turns it back on", []corev1.ServiceAccount{serviceAccountObj("a", "x", noToken)}, corev1.PodSpec{ServiceAccountName: "x", AutomountServiceAccountToken: new(true)}, nil,
			facts{SA: "x", Namespace: "a", Token: true, Pools: []string{AllNodes}, AttractedBy: []string{AllNodes}}},
		{"projected token despite automount false", nil, corev1.PodSpec{DeprecatedServiceAccount: "old", AutomountServiceAccountToken: noToken, Volumes: []corev1.Volume{{Name: "t", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "t"}}, {Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "projected"}}}}}}}}}, nil,
			facts{SA: "old", Namespace: "a", Token: true, Secrets: []string{"projected"}, Pools: []string{AllNodes}, AttractedBy: []string{AllNodes}}},
		{"secrets from volumes, env, envFrom and pulls", nil, corev1.PodSpec{
			Volumes:          []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "vol"}}}},
			InitContainers:   []corev1.Container{{Name: "i", EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "envfrom"}}}}}},
			Containers:       []corev1.Container{{Name: "c", Env: []corev1.EnvVar{{Name: "E", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "env"}, Key: "k"}}}, {Name: "F", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "vol"}, Key: "k"}}}}}},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "pull"}},
		}, nil, facts{SA: "default", Namespace: "a", Token: true, Secrets: []string{"env", "envfrom", "vol"}, Pull: []string{"pull"}, Pools: []string{AllNodes}, AttractedBy: []string{AllNodes}}},
		{"host access", nil, corev1.PodSpec{HostPID: true, Containers: []corev1.Container{{Name: "c", SecurityContext: privileged()}},
			Volumes: []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}}, nil,
			facts{SA: "default", Namespace: "a", Token: true, HostAccess: []string{"privileged", "host namespaces", "hostPath volumes"}, Pools: []string{AllNodes}, AttractedBy: []string{AllNodes}}},
		{"added capability", nil, corev1.PodSpec{Containers: []corev1.Container{{Name: "c", SecurityContext: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}}}}}}, nil,
			facts{SA: "default", Namespace: "a", Token: true, HostAccess: []string{"non-default capabilities"}, Pools: []string{AllNodes}, AttractedBy: []string{AllNodes}}},
		{"untolerating pod lands on general nodes", nil, corev1.PodSpec{}, dedicatedPools,
			facts{SA: "default", Namespace: "a", Token: true, Pools: []string{"general"}, AttractedBy: []string{"general"}}},
		{"tolerating pod with a forgeable selector", nil, corev1.PodSpec{NodeSelector: map[string]string{"role": "storage"}, Tolerations: storageToleration}, dedicatedPools,
			facts{SA: "default", Namespace: "a", Token: true, Pools: []string{"storage"}, AttractedBy: []string{"general", "storage"}}},
		{"selector by node name", nil, corev1.PodSpec{NodeSelector: map[string]string{"kubernetes.io/hostname": "n2"}}, dedicatedPools,
			facts{SA: "default", Namespace: "a", Token: true, Pools: []string{"general"}, AttractedBy: []string{"general"}}},
		{"restricted label no pool carries", nil, corev1.PodSpec{NodeSelector: restrictedSel, Tolerations: storageToleration}, dedicatedPools,
			facts{SA: "default", Namespace: "a", Token: true}},
		{"required affinity, forgeable", nil, corev1.PodSpec{Tolerations: storageToleration, Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "role", Operator: corev1.NodeSelectorOpIn, Values: []string{"storage"}}}}}}}}}, dedicatedPools,
			facts{SA: "default", Namespace: "a", Token: true, Pools: []string{"storage"}, AttractedBy: []string{"general", "storage"}}},
		{"required affinity on a field", nil, corev1.PodSpec{Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"n1"}}}}}}}}}, dedicatedPools,
			facts{SA: "default", Namespace: "a", Token: true, Pools: []string{"general"}, AttractedBy: []string{"general"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := DefaultWorld()
			if tc.pools != nil {
				tc.pools(&w)
			}
			tc.spec.Containers = append(tc.spec.Containers, corev1.Container{Name: "plain"})
			ix, err := newIndex(Objects{ServiceAccounts: tc.sas, Workloads: []Workload{workloadObj("Deployment", "a", "d", tc.spec)}}, w)
			if err != nil {
				t.Fatal(err)
			}
			x := ix.workloads[0]
			got := facts{x.serviceAccount, x.namespace, x.tokenMounted, x.hostAccess, x.secrets, x.pullSecrets, x.pools, x.attractedBy}
			if diff := cmp.Diff(tc.want, got, cmp.Transformer("nilEmpty", func(s []string) []string {
				if len(s) == 0 {
					return nil
				}
				return s
			})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestIsRestrictedLabel(t *testing.T) {
	for key, want := range map[string]bool{
		"lsst.org/role":                            false,
		"role":                                     false,
		"kubernetes.io/hostname":                   false,
		"topology.kubernetes.io/zone":              false,
		"node.kubernetes.io/instance-type":         false,
		"kubelet.kubernetes.io/anything":           false,
		"node-restriction.kubernetes.io/dedicated": true,
		"x.node-restriction.kubernetes.io/a":       true,
		"kubernetes.io/made-up":                    true,
		"example.k8s.io/made-up":                   true,
	} {
		if got := isRestrictedLabel(key); got != want {
			t.Errorf("isRestrictedLabel(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestAggregation(t *testing.T) {
	agg := clusterRole("monitoring")
	agg.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"example.org/monitoring": "true"}}}}
	part := clusterRole("monitoring-pods", policyRule("get,list", "core", "pods"))
	part.Labels = map[string]string{"example.org/monitoring": "true"}
	own := clusterRole("own") // its own rules are the controller's to overwrite
	own.AggregationRule = agg.AggregationRule
	own.Rules = []rbacv1.PolicyRule{policyRule("*", "*", "*")}
	extraAdmin := clusterRole("extra-admin", policyRule("get", "example.org", "widgets"))
	extraAdmin.Labels = map[string]string{"rbac.authorization.k8s.io/aggregate-to-edit": "true"}
	ix, err := newIndex(Objects{ClusterRoles: []rbacv1.ClusterRole{agg, part, own, extraAdmin}}, DefaultWorld())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		role string
		want []rbacv1.PolicyRule
	}{
		{"monitoring", []rbacv1.PolicyRule{policyRule("get,list", "core", "pods")}},
		{"own", []rbacv1.PolicyRule{policyRule("get,list", "core", "pods")}},
	} {
		if diff := cmp.Diff(tc.want, ix.clusterRoles[tc.role].rules); diff != "" {
			t.Errorf("%s rules (-want +got):\n%s", tc.role, diff)
		}
	}
	// The built-in admin aggregates edit, which aggregates view and our role: transitively.
	for _, role := range []string{"edit", "admin"} {
		rules := ix.clusterRoles[role].rules
		if !containsRule(rules, policyRule("get", "example.org", "widgets")) || !containsRule(rules, ix.clusterRoles["system:aggregate-to-view"].rules[0]) {
			t.Errorf("%s does not hold both the view rules and extra-admin's: %v", role, rules)
		}
	}
	if containsRule(ix.clusterRoles["view"].rules, policyRule("get", "example.org", "widgets")) {
		t.Errorf("view holds a rule labelled for edit")
	}
}

func containsRule(rules []rbacv1.PolicyRule, r rbacv1.PolicyRule) bool {
	for _, x := range rules {
		if ruleEqual(x, r) {
			return true
		}
	}
	return false
}
