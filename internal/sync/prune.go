package sync

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/fluxcd/pkg/ssa"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// PruneRefusedError is a prune larger than Options.MaxPruneShare of the inventory. Nothing
// was deleted; the objects stay in the inventory for a later cycle.
type PruneRefusedError struct {
	Would, Inventory int
	Share            float64
}

func (e *PruneRefusedError) Error() string {
	return fmt.Sprintf("prune refused: it would delete %d of the %d objects the last successful cycle applied, more than the allowed share of %.0f%% (%d); check the commit, or rerun with --force-prune",
		e.Would, e.Inventory, e.Share*100, maxPrune(e.Inventory, e.Share))
}

// maxPrune is the most objects one cycle may delete from an inventory of n.
func maxPrune(n int, share float64) int {
	return int(math.Floor(float64(n)*share + 1e-9))
}

// protectedKind reports whether o holds data that a prune must not lose by default.
func protectedKind(e Entry) bool {
	switch {
	case e.APIVersion == "v1" && (e.Kind == "Namespace" || e.Kind == "PersistentVolume" || e.Kind == "PersistentVolumeClaim"):
		return true
	}
	return false
}

// prune deletes the candidates (inventory objects no longer in git) that the instance
// still owns, deciding on each from the live object: its owner labels and annotations are
// the last ones git gave it. It returns the changes and the candidates that must stay in the inventory
// (not deleted, and still eligible for a later cycle). Objects it deliberately leaves in
// place (annotated to keep, a protected kind, or no longer carrying the instance's owner
// labels) are dropped from the inventory: sync stops managing them.
func (s *Syncer) prune(ctx context.Context, candidates entrySet, inventorySize int) ([]Change, entrySet, error) {
	var changes []Change
	remaining := entrySet{}
	var doomed []*unstructured.Unstructured
	for _, e := range candidates.sorted() {
		live := e.object()
		err := s.client.Get(ctx, client.ObjectKeyFromObject(live), live)
		switch {
		case meta.IsNoMatchError(err):
			// The apiserver stopped serving the kind (a CRD removed, a version retired):
			// the object may well exist still. It stays in the inventory, reported.
			changes = append(changes, Change{Object: e.String(), Action: string(ssa.SkippedAction),
				Reason: "not pruned: the apiserver no longer serves " + e.APIVersion + " " + e.Kind + "; kept in the inventory until it does again or the entry is removed by hand"})
			remaining.add(e)
			continue
		case apierrors.IsNotFound(err):
			continue // already gone
		case err != nil:
			return changes, candidates, fmt.Errorf("%s prune check failed: %w", e, err)
		}
		skip := func(reason string) {
			changes = append(changes, Change{Object: e.String(), Action: string(ssa.SkippedAction), Reason: reason})
		}
		labels := live.GetLabels()
		switch {
		case labels[manifest.LabelInstance] != s.opts.Instance || labels[manifest.LabelManagedBy] != manifest.ManagedBy:
			skip("left in place: it no longer carries the owner labels " + manifest.LabelInstance + "=" + s.opts.Instance + ", " + manifest.LabelManagedBy + "=" + manifest.ManagedBy)
		case live.GetAnnotations()[manifest.AnnotationPrune] == manifest.PruneDisabled:
			skip("left in place: annotated " + manifest.AnnotationPrune + "=" + manifest.PruneDisabled)
		case protectedKind(e) && !s.opts.PruneProtectedKinds && live.GetAnnotations()[manifest.AnnotationPrune] != manifest.PruneAllowed:
			// The live object's annotation decides: the object is no longer in git.
			skip("left in place: a " + e.Kind + " is pruned only when the instance's model allows it (annotation " +
				manifest.AnnotationPrune + "=" + manifest.PruneAllowed + ") or with the option to prune protected kinds")
		case live.GetDeletionTimestamp() != nil:
			continue // already being deleted
		default:
			doomed = append(doomed, live)
		}
	}
	// A Namespace goes only empty of what is not ours and of data, unless forced.
	var nsRefused *NamespacePruneRefusedError
	if !s.opts.ForcePrune {
		kept := doomed[:0]
		for _, o := range doomed {
			if o.GetAPIVersion() == "v1" && o.GetKind() == "Namespace" {
				holds, err := s.namespaceHolds(ctx, o.GetName())
				if err != nil {
					return changes, candidates, err
				}
				if len(holds) > 0 {
					if nsRefused == nil {
						nsRefused = &NamespacePruneRefusedError{Holds: map[string][]string{}}
					}
					nsRefused.Holds[o.GetName()] = holds
					changes = append(changes, Change{Object: entryOf(o).String(), Action: string(ssa.SkippedAction),
						Reason: "not pruned: it still holds " + strings.Join(holds, ", ")})
					remaining.add(entryOf(o))
					continue
				}
			}
			kept = append(kept, o)
		}
		doomed = kept
	}
	if limit := maxPrune(inventorySize, s.opts.MaxPruneShare); len(doomed) > limit && !s.opts.ForcePrune {
		for _, o := range doomed {
			remaining.add(entryOf(o))
		}
		return changes, remaining, errors.Join(&PruneRefusedError{Would: len(doomed), Inventory: inventorySize, Share: s.opts.MaxPruneShare}, nsError(nsRefused))
	}
	var errs []error
	for _, o := range doomed {
		id := entryOf(o).String()
		if s.opts.DryRun {
			changes = append(changes, Change{Object: id, Action: string(ssa.DeletedAction)})
			continue
		}
		err := s.client.Delete(ctx, o,
			client.PropagationPolicy(metav1.DeletePropagationBackground),
			client.Preconditions{UID: ptr(o.GetUID()), ResourceVersion: ptr(o.GetResourceVersion())})
		if err != nil && !apierrors.IsNotFound(err) {
			remaining.add(entryOf(o))
			errs = append(errs, fmt.Errorf("%s delete failed: %w", id, err))
			continue
		}
		changes = append(changes, Change{Object: id, Action: string(ssa.DeletedAction)})
	}
	return changes, remaining, errors.Join(append(errs, nsError(nsRefused))...)
}

// nsError is e as an error: nil when there is none.
func nsError(e *NamespacePruneRefusedError) error {
	if e == nil {
		return nil
	}
	return e
}

func ptr[T any](v T) *T { return &v }
