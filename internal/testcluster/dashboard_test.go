package testcluster

import (
	"testing"

	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// checkDashboardOwnState: the dashboard's identity may get and update, by name, exactly
// the Secrets and the settings ConfigMap it keeps its state in (kubernetes/dashboard's
// recommended.yaml renders them empty, and the dashboard fills them), and nothing else of
// the kind: not another Secret of its namespace, not a list, not a create or a delete.
func checkDashboardOwnState(t *testing.T, c *Cluster) {
	id := serviceAccount(dashboardNamespace, "dashboard") // the dashboard's own ServiceAccount
	cs := kubernetes.NewForConfigOrDie(id.config(c))
	own := map[string][]string{
		"secrets":    {"kubernetes-dashboard-certs", "kubernetes-dashboard-csrf", "kubernetes-dashboard-key-holder"},
		"configmaps": {"kubernetes-dashboard-settings"},
	}
	type ask struct {
		verb, resource, name string
		want                 bool
	}
	var asks []ask
	for resource, names := range own {
		for _, n := range names {
			asks = append(asks, ask{"get", resource, n, true}, ask{"update", resource, n, true},
				ask{"delete", resource, n, false}, ask{"patch", resource, n, false})
		}
	}
	asks = append(asks,
		ask{"get", "secrets", "dashboard-tls", false},
		ask{"update", "secrets", "dashboard-tls", false},
		ask{"update", "configmaps", "some-other", false},
		ask{"list", "secrets", "", false},
		ask{"create", "secrets", "", false},
	)
	for _, a := range asks {
		review := &authzv1.SelfSubjectAccessReview{Spec: authzv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authzv1.ResourceAttributes{Namespace: dashboardNamespace, Verb: a.verb, Resource: a.resource, Name: a.name},
		}}
		got, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(t.Context(), review, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("%s: access review: %v", id, err)
		}
		if got.Status.Allowed != a.want {
			t.Errorf("%s may %s %s %q in %s: apiserver says %v, want %v", id, a.verb, a.resource, a.name, dashboardNamespace, got.Status.Allowed, a.want)
		}
	}
}
