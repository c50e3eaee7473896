package testcluster

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// AggregateClusterRoles does once what kube-controller-manager's clusterrole-aggregation
// controller does continuously, which this control plane does not run: it sets the rules of
// every ClusterRole with an aggregationRule to the rules of the ClusterRoles its selectors
// match. Without it the built-in admin, edit and view roles, and any aggregated role of
// our own, grant nothing here.
func AggregateClusterRoles(ctx context.Context, cfg *rest.Config) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	list, err := cs.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing ClusterRoles: %w", err)
	}
	for _, cr := range list.Items {
		if cr.AggregationRule == nil {
			continue
		}
		var rules []rbacv1.PolicyRule
		for _, sel := range cr.AggregationRule.ClusterRoleSelectors {
			s, err := metav1.LabelSelectorAsSelector(&sel)
			if err != nil {
				return fmt.Errorf("ClusterRole/%s: %w", cr.Name, err)
			}
			for _, other := range list.Items {
				if other.Name == cr.Name || !s.Matches(labels.Set(other.Labels)) {
					continue
				}
				for _, r := range other.Rules {
					if !containsRule(rules, r) {
						rules = append(rules, r)
					}
				}
			}
		}
		if equality.Semantic.DeepEqual(rules, cr.Rules) {
			continue
		}
		cr.Rules = rules
		if _, err := cs.RbacV1().ClusterRoles().Update(ctx, &cr, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("ClusterRole/%s: aggregating rules: %w", cr.Name, err)
		}
	}
	return nil
}

func containsRule(rules []rbacv1.PolicyRule, r rbacv1.PolicyRule) bool {
	for _, x := range rules {
		if equality.Semantic.DeepEqual(x, r) {
			return true
		}
	}
	return false
}
