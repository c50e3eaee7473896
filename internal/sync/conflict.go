package sync

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	gosync "sync"

	"github.com/fluxcd/pkg/ssa"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// ConflictError lists objects sync did not apply because another server-side apply field
// manager owns some of their fields with other values.
type ConflictError struct {
	// Objects maps Kind/namespace/name to what the apiserver said conflicts.
	Objects map[string]string
}

func (e *ConflictError) Error() string {
	ids := make([]string, 0, len(e.Objects))
	for id := range e.Objects {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = id + ": " + e.Objects[id]
	}
	return fmt.Sprintf("not applied, fields owned by another field manager (annotate the object %s=%s in git to take them): %s",
		manifest.AnnotationForce, manifest.ForceEnabled, strings.Join(parts, "; "))
}

var conflictManager = regexp.MustCompile(`conflict with "([^"]+)"`)

// withoutConflicts returns the objects that can be applied: those whose apply, dry-run and
// not forced, conflicts with no other server-side apply manager. A conflict with a manager
// that wrote with an update (kubectl edit, a client-side apply) is a hand edit: the forced
// apply restores it. Objects annotated manifest.AnnotationForce=manifest.ForceEnabled are always applied.
func (s *Syncer) withoutConflicts(ctx context.Context, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, []Change, *ConflictError) {
	// One dry run per object, a few at a time; the order of objs is kept.
	reasons := make([]string, len(objs))
	sem := make(chan struct{}, 4)
	var wg gosync.WaitGroup
	for i, o := range objs {
		if o.GetAnnotations()[manifest.AnnotationForce] == manifest.ForceEnabled {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := s.client.Patch(ctx, o.DeepCopy(), client.Apply, client.DryRunAll, client.FieldOwner(FieldManager))
			reasons[i] = s.applyConflict(ctx, o, err)
		}()
	}
	wg.Wait()
	var keep []*unstructured.Unstructured
	var changes []Change
	conflicts := map[string]string{}
	for i, o := range objs {
		if reasons[i] == "" {
			keep = append(keep, o) // applied, or its error reported by the apply itself
			continue
		}
		conflicts[manifest.ObjectID(o)] = reasons[i]
		changes = append(changes, Change{Object: manifest.ObjectID(o), Action: string(ssa.SkippedAction), Reason: "conflict: " + reasons[i]})
	}
	if len(conflicts) == 0 {
		return keep, changes, nil
	}
	return keep, changes, &ConflictError{Objects: conflicts}
}

// applyConflict returns what conflicts when err is a conflict with another server-side
// apply manager, or "" for no error, another error, or a conflict only with updaters.
func (s *Syncer) applyConflict(ctx context.Context, o *unstructured.Unstructured, err error) string {
	var status apierrors.APIStatus
	if err == nil || !apierrors.IsConflict(err) || !errors.As(err, &status) {
		return ""
	}
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(o.GroupVersionKind())
	if err := s.client.Get(ctx, client.ObjectKeyFromObject(o), live); err != nil {
		return ""
	}
	appliers := map[string]bool{}
	for _, f := range live.GetManagedFields() {
		if f.Operation == metav1.ManagedFieldsOperationApply && f.Manager != FieldManager {
			appliers[f.Manager] = true
		}
	}
	var fields []string
	if d := status.Status().Details; d != nil {
		for _, c := range d.Causes {
			m := conflictManager.FindStringSubmatch(c.Message)
			if m != nil && appliers[m[1]] {
				fields = append(fields, fmt.Sprintf("%s owned by %q", c.Field, m[1]))
			}
		}
	}
	return strings.Join(fields, ", ")
}
