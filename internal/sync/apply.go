package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/pkg/ssa"
	ssaerrors "github.com/fluxcd/pkg/ssa/errors"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
//
// An object the apiserver refuses because the commit changes an immutable field is deleted
// and created again when git annotates it manifest.AnnotationRecreate, and it is not of a
// kind that holds data (protectedKind). The recreate is ours, not the apply engine's
// (ApplyOptions.ForceSelector): the engine takes every Invalid or Conflict answer for an
// immutable field, so an object the apiserver refuses for any other reason — a privileged
// container the cluster disallows — would be deleted and then fail to come back.
func (s *Syncer) apply(ctx context.Context, objs []*unstructured.Unstructured) ([]Change, error) {
	opts := ssa.DefaultApplyOptions()
	if s.opts.WaitTimeout > 0 {
		opts.WaitTimeout = s.opts.WaitTimeout
	}
	// Namespaces and cluster roles are ready at once; ssa's default poll of 2s would make
	// every cycle with a new one wait that long.
	opts.WaitInterval = 250 * time.Millisecond
	recreated := map[string]bool{}
	for {
		cs, err := s.manager.ApplyAllStaged(ctx, objs, opts)
		var dre *ssaerrors.DryRunErr
		if errors.As(err, &dre) && dre.InvolvedObject() != nil {
			o := dre.InvolvedObject()
			id := manifest.ObjectID(o)
			switch {
			case !immutableFieldError(dre.Unwrap()):
				if apierrors.IsInvalid(dre.Unwrap()) {
					err = fmt.Errorf("%s is invalid, the apiserver refuses it: %s; fix it in git", id, invalidReason(dre.Unwrap()))
				}
			case o.GetAnnotations()[manifest.AnnotationRecreate] != manifest.RecreateEnabled:
				err = fmt.Errorf("%w; the commit changes an immutable field: annotate the object %s=%s in git to let sync delete and recreate it",
					err, manifest.AnnotationRecreate, manifest.RecreateEnabled)
			case protectedKind(entryOf(o)):
				err = fmt.Errorf("%w; the commit changes an immutable field of %s, which holds data: sync never recreates a %s, %s=%s notwithstanding; change it by hand (back it up, delete it, let sync create it)",
					err, id, o.GetKind(), manifest.AnnotationRecreate, manifest.RecreateEnabled)
			case recreated[id]:
				err = fmt.Errorf("%w; recreated once in this cycle and still refused", err)
			default:
				recreated[id] = true
				s.log.Info("recreating", "instance", s.opts.Instance, "object", id, "reason", dre.Unwrap().Error())
				live := &unstructured.Unstructured{}
				live.SetGroupVersionKind(o.GroupVersionKind())
				live.SetNamespace(o.GetNamespace())
				live.SetName(o.GetName())
				if derr := s.client.Delete(ctx, live, client.PropagationPolicy(metav1.DeletePropagationBackground)); derr != nil && !apierrors.IsNotFound(derr) {
					return nil, fmt.Errorf("%s: deleting it to recreate it: %w", id, derr)
				}
				if werr := s.waitGone(ctx, live); werr != nil {
					return nil, fmt.Errorf("%s: deleted to recreate it, but it is still there: %w", id, werr)
				}
				continue
			}
		}
		var changes []Change
		if cs != nil {
			for _, e := range cs.Entries {
				action := string(e.Action)
				if recreated[e.Subject] && e.Action == ssa.CreatedAction {
					action = "recreated"
				}
				changes = append(changes, Change{Object: e.Subject, Action: action})
			}
		}
		return changes, err
	}
}

// immutableFieldError reports whether the apiserver refused an object because it changes
// a field that cannot change: an Invalid answer one of whose causes says so (the
// apiserver's "field is immutable", a CEL rule's "… is immutable"). An Invalid answer for
// another reason is not one.
func immutableFieldError(err error) bool {
	if !apierrors.IsInvalid(err) {
		return false
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Details != nil {
		for _, c := range status.Status().Details.Causes {
			if strings.Contains(c.Message, "immutable") {
				return true
			}
		}
		return false
	}
	return strings.Contains(err.Error(), "immutable")
}

// invalidReason is what the apiserver said of an Invalid object: each cause's field and
// message, or its message.
func invalidReason(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Details != nil && len(status.Status().Details.Causes) > 0 {
		var parts []string
		for _, c := range status.Status().Details.Causes {
			parts = append(parts, c.Field+": "+c.Message)
		}
		return strings.Join(parts, "; ")
	}
	return err.Error()
}

// waitGone waits, up to WaitTimeout, until o no longer exists (its finalizers done).
func (s *Syncer) waitGone(ctx context.Context, o *unstructured.Unstructured) error {
	timeout := s.opts.WaitTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	deadline := time.Now().Add(timeout)
	for {
		probe := &unstructured.Unstructured{}
		probe.SetGroupVersionKind(o.GroupVersionKind())
		err := s.client.Get(ctx, client.ObjectKeyFromObject(o), probe)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not gone after %v (finalizers %v)", timeout, probe.GetFinalizers())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
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
