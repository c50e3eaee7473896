package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fluxcd/pkg/ssa"
	ssaerrors "github.com/fluxcd/pkg/ssa/errors"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// Change is what a cycle did, or in a dry run would do, to one object.
type Change struct {
	// Object is Kind/namespace/name, or Kind/name for a cluster-scoped object.
	Object string
	// Action is created, configured, unchanged, deleted or skipped (ssa's actions).
	Action string
	// Reason says why an object was skipped, or why a prune was not done.
	Reason string
	// Fields lists, for a configured object, the fields that differed in the cluster from
	// git, as manifest.FieldDiff writes them ("spec.replicas: 3 → 1", cluster → git; a
	// Secret's values masked).
	Fields []string
	// Drift is set on a configured object when the commit is the one the inventory already
	// holds: the object was changed in the cluster, by hand or by another writer.
	Drift bool
}

// prepare copies the snapshot's objects and sets the instance's owner labels on each, so
// that prune can tell what this instance owns. Two objects with one identity are refused.
func (s *Syncer) prepare(snap *Snapshot) ([]*unstructured.Unstructured, entrySet, error) {
	objs := make([]*unstructured.Unstructured, len(snap.Objects))
	desired := entrySet{}
	for i, o := range snap.Objects {
		c := o.DeepCopy()
		labels := c.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[manifest.LabelInstance] = s.opts.Instance
		labels[manifest.LabelManagedBy] = manifest.ManagedBy
		c.SetLabels(labels)
		e := entryOf(c)
		if _, dup := desired[e.key()]; dup {
			return nil, nil, &SourceError{Revision: snap.Commit, Commit: snap.Commit, Instance: snap.Instance,
				Err: fmt.Errorf("%s is defined twice", e)}
		}
		desired.add(e)
		objs[i] = c
	}
	return objs, desired, nil
}

// apply server-side applies objs in stages (CRDs, Namespaces and cluster roles, then
// classes, then the rest), patching only the objects whose dry run differs from the live one.
func (s *Syncer) apply(ctx context.Context, objs []*unstructured.Unstructured) ([]Change, error) {
	opts := ssa.DefaultApplyOptions()
	if s.opts.WaitTimeout > 0 {
		opts.WaitTimeout = s.opts.WaitTimeout
	}
	// Namespaces and cluster roles are ready at once; ssa's default poll of 2s would make
	// every cycle with a new one wait that long.
	opts.WaitInterval = 250 * time.Millisecond
	opts.ForceSelector = map[string]string{manifest.AnnotationRecreate: manifest.RecreateEnabled}
	cs, err := s.manager.ApplyAllStaged(ctx, objs, opts)
	var dre *ssaerrors.DryRunErr
	if errors.As(err, &dre) && ssaerrors.IsImmutableError(dre.Unwrap()) {
		err = fmt.Errorf("%w; the commit changes an immutable field: annotate the object %s=%s in git to let sync delete and recreate it",
			err, manifest.AnnotationRecreate, manifest.RecreateEnabled)
	}
	var changes []Change
	if cs != nil {
		for _, e := range cs.Entries {
			changes = append(changes, Change{Object: e.Subject, Action: string(e.Action)})
		}
	}
	return changes, err
}

// diff returns what apply would do, writing nothing. A namespaced object whose namespace
// the same cycle would create cannot be dry-run and is reported as created.
func (s *Syncer) diff(ctx context.Context, objs []*unstructured.Unstructured) ([]Change, error) {
	opts := ssa.DefaultDiffOptions()
	newNamespaces := map[string]bool{}
	var changes []Change
	one := func(o *unstructured.Unstructured) error {
		e, _, _, err := s.manager.Diff(ctx, o.DeepCopy(), opts)
		if err != nil {
			if apierrors.IsNotFound(err) && newNamespaces[o.GetNamespace()] {
				changes = append(changes, Change{Object: manifest.ObjectID(o), Action: string(ssa.CreatedAction)})
				return nil
			}
			return fmt.Errorf("%s dry-run failed: %w", manifest.ObjectID(o), err)
		}
		changes = append(changes, Change{Object: manifest.ObjectID(o), Action: string(e.Action)})
		if o.GetKind() == "Namespace" && o.GetAPIVersion() == "v1" && e.Action == ssa.CreatedAction {
			newNamespaces[o.GetName()] = true
		}
		return nil
	}
	for _, o := range objs {
		if o.GetKind() == "Namespace" && o.GetAPIVersion() == "v1" {
			if err := one(o); err != nil {
				return changes, err
			}
		}
	}
	for _, o := range objs {
		if !(o.GetKind() == "Namespace" && o.GetAPIVersion() == "v1") {
			if err := one(o); err != nil {
				return changes, err
			}
		}
	}
	return changes, nil
}
