package sync

import (
	"context"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// NamespacePruneRefusedError is a prune of Namespaces that still hold what sync must not
// delete with them: objects it does not manage, or claims and volumes, which hold data.
type NamespacePruneRefusedError struct {
	// Holds maps each refused Namespace to what it still holds, Kind/namespace/name.
	Holds map[string][]string
}

func (e *NamespacePruneRefusedError) Error() string {
	var parts []string
	for _, ns := range slices.Sorted(func(yield func(string) bool) {
		for k := range e.Holds {
			if !yield(k) {
				return
			}
		}
	}) {
		holds := e.Holds[ns]
		shown := holds
		if len(shown) > 5 {
			shown = append(slices.Clone(shown[:5]), fmt.Sprintf("and %d more", len(holds)-5))
		}
		parts = append(parts, fmt.Sprintf("Namespace/%s still holds %s", ns, strings.Join(shown, ", ")))
	}
	return "prune of a Namespace refused: " + strings.Join(parts, "; ") +
		": deleting the Namespace would delete them; move or delete them first, or rerun with --force-prune"
}

// namespaceHolds lists what Namespace ns holds that its prune must not take along: every
// object of a kind that holds data (a PersistentVolumeClaim), and every object sync does
// not manage — it carries no owner labels of this instance and no owner reference (what
// controllers make for managed objects: pods, replica sets, endpoint slices…) — except
// what Kubernetes puts in every namespace (the default ServiceAccount, kube-root-ca.crt)
// and the derived Endpoints and Events.
func (s *Syncer) namespaceHolds(ctx context.Context, ns string) ([]string, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(s.cfg)
	if err != nil {
		return nil, err
	}
	lists, err := dc.ServerPreferredNamespacedResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, fmt.Errorf("listing the kinds Namespace/%s may hold: %w", ns, err)
	}
	mc, err := metadata.NewForConfig(s.cfg)
	if err != nil {
		return nil, err
	}
	var holds []string
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "list") {
				continue
			}
			switch {
			case gv.Group == "" && (r.Kind == "Event" || r.Kind == "Endpoints"),
				gv.Group == "events.k8s.io":
				continue
			}
			items, err := mc.Resource(gv.WithResource(r.Name)).Namespace(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return nil, fmt.Errorf("listing %s in Namespace/%s before its prune: %w", r.Name, ns, err)
			}
			for _, o := range items.Items {
				id := manifest.FormatID(r.Kind, ns, o.Name)
				labels := o.GetLabels()
				ours := labels[manifest.LabelInstance] == s.opts.Instance && labels[manifest.LabelManagedBy] == manifest.ManagedBy
				switch {
				case gv.Group == "" && r.Kind == "PersistentVolumeClaim":
					holds = append(holds, id)
				case ours || len(o.GetOwnerReferences()) > 0:
				case gv.Group == "" && r.Kind == "ServiceAccount" && o.Name == "default",
					gv.Group == "" && r.Kind == "ConfigMap" && o.Name == "kube-root-ca.crt":
				default:
					holds = append(holds, id)
				}
			}
		}
	}
	slices.Sort(holds)
	return holds, nil
}
