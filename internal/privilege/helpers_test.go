package privilege

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psapi "k8s.io/pod-security-admission/api"
)

// Small constructors that keep the test worlds readable.

func namespaceObj(name, level string) corev1.Namespace {
	n := corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if level != "" {
		n.Labels = map[string]string{psapi.EnforceLevelLabel: level}
	}
	return n
}

// policyRule builds a PolicyRule from comma-separated verbs, groups ("" is the core group, write
// it as "core") and resources, and optional resource names.
func policyRule(verbs, groups, resources string, names ...string) rbacv1.PolicyRule {
	g := strings.Split(groups, ",")
	for i := range g {
		if g[i] == "core" {
			g[i] = ""
		}
	}
	return rbacv1.PolicyRule{Verbs: strings.Split(verbs, ","), APIGroups: g, Resources: strings.Split(resources, ","), ResourceNames: names}
}

func clusterRole(name string, rules ...rbacv1.PolicyRule) rbacv1.ClusterRole {
	return rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
}

func roleObj(ns, name string, rules ...rbacv1.PolicyRule) rbacv1.Role {
	return rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: rules}
}

func groupSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}
}

func userSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}

func saSubject(ns, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}
}

func crb(name, role string, subjects ...rbacv1.Subject) rbacv1.ClusterRoleBinding {
	return rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   subjects,
	}
}

// rb binds role (kind Role or ClusterRole) in ns.
func rb(ns, name, kind, role string, subjects ...rbacv1.Subject) rbacv1.RoleBinding {
	return rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: role},
		Subjects:   subjects,
	}
}

func serviceAccountObj(ns, name string, automount *bool) corev1.ServiceAccount {
	return corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, AutomountServiceAccountToken: automount}
}

func tokenSecret(ns, name, sa string) corev1.Secret {
	return corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{corev1.ServiceAccountNameKey: sa}},
		Type:       corev1.SecretTypeServiceAccountToken,
	}
}

func workloadObj(kind, ns, name string, spec corev1.PodSpec) Workload {
	if len(spec.Containers) == 0 {
		spec.Containers = []corev1.Container{{Name: "c", Image: "registry.example.org/c:1"}}
	}
	return Workload{Kind: kind, Namespace: ns, Name: name, Template: corev1.PodTemplateSpec{Spec: spec}}
}

func privileged() *corev1.SecurityContext {
	yes := true
	return &corev1.SecurityContext{Privileged: &yes}
}

var noToken = new(bool)

// dedicatedPools: general nodes, and storage nodes tainted dedicated=storage:NoSchedule.
func dedicatedPools(w *World) {
	w.NodePools = []NodePool{
		{Name: "general", Labels: map[string]string{"role": "general"}, Nodes: []string{"n1", "n2"}},
		{Name: "storage", Labels: map[string]string{"role": "storage"}, Nodes: []string{"s1"},
			Taints: []corev1.Taint{{Key: "dedicated", Value: "storage", Effect: corev1.TaintEffectNoSchedule}}},
	}
}

var storageToleration = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "storage", Effect: corev1.TaintEffectNoSchedule}}

func analyze(t *testing.T, objs Objects, tweak func(*World)) *Analysis {
	t.Helper()
	w := DefaultWorld()
	if tweak != nil {
		tweak(&w)
	}
	a, err := Analyze(objs, w)
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	return a
}

func edges(r Reach) []Edge {
	var out []Edge
	for _, s := range r.Path {
		out = append(out, s.Edge)
	}
	return out
}
