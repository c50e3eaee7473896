package sync

import (
	"context"
	"errors"
	"fmt"
	"github.com/fluxcd/pkg/ssa/normalize"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
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
//
// It also returns, by object ID, the dry run's result of each object it dry-ran without an
// error: what the apiserver would hold after the apply, which settled compares with the
// live object so that an object already as git has it costs no second round trip.
func (s *Syncer) withoutConflicts(ctx context.Context, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, []Change, *ConflictError, map[string]*unstructured.Unstructured) {
	// One dry run per object, a few at a time; the order of objs is kept.
	reasons := make([]string, len(objs))
	results := make([]*unstructured.Unstructured, len(objs))
	sem := make(chan struct{}, applyConcurrency)
	var wg gosync.WaitGroup
	for i, o := range objs {
		if o.GetAnnotations()[manifest.AnnotationForce] == manifest.ForceEnabled {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			dry := o.DeepCopy()
			err := s.client.Patch(ctx, dry, client.Apply, client.DryRunAll, client.FieldOwner(FieldManager))
			if err == nil {
				results[i] = dry
			}
			reasons[i] = s.applyConflict(ctx, o, err)
		}()
	}
	wg.Wait()
	dry := map[string]*unstructured.Unstructured{}
	for i, r := range results {
		if r != nil {
			dry[manifest.ObjectID(objs[i])] = r
		}
	}
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
		return keep, changes, nil, dry
	}
	return keep, changes, &ConflictError{Objects: conflicts}, dry
}

// settled splits objs into those to apply and those the cluster already holds as git has
// them: the dry run of their apply (dry, by object ID) leaves the live object (before, by
// entry key) as it is — labels, annotations and everything but the rest of metadata and
// status, compared as the apply engine compares them (github.com/fluxcd/pkg/ssa's drift
// check). Objects without a dry run or a live copy are applied.
func settled(objs []*unstructured.Unstructured, dry, before map[string]*unstructured.Unstructured) ([]*unstructured.Unstructured, []Change) {
	var apply []*unstructured.Unstructured
	var unchanged []Change
	for _, o := range objs {
		id := manifest.ObjectID(o)
		d, live := dry[id], before[entryOf(o).key()]
		if d == nil || live == nil || d.GetResourceVersion() == "" || drifted(live, d) {
			apply = append(apply, o)
			continue
		}
		unchanged = append(unchanged, Change{Object: id, Action: string(ssa.UnchangedAction)})
	}
	return apply, unchanged
}

// drifted reports whether the dry run d of an apply changes the live object.
func drifted(live, d *unstructured.Unstructured) bool {
	if !apiequality.Semantic.DeepEqual(d.GetLabels(), live.GetLabels()) ||
		!apiequality.Semantic.DeepEqual(d.GetAnnotations(), live.GetAnnotations()) {
		return true
	}
	strip := func(o *unstructured.Unstructured) map[string]any {
		c := o.DeepCopy()
		unstructured.RemoveNestedField(c.Object, "metadata")
		unstructured.RemoveNestedField(c.Object, "status")
		if err := normalize.DryRunUnstructured(c); err != nil {
			return o.Object
		}
		return c.Object
	}
	return !apiequality.Semantic.DeepEqual(strip(d), strip(live))
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
