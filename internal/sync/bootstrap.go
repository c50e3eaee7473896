package sync

import (
	"context"
	"fmt"
	gosync "sync"

	"github.com/fluxcd/pkg/ssa"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// isBootstrap reports whether o is in the bootstrap tier (manifest.AnnotationTier).
func isBootstrap(o *unstructured.Unstructured) bool {
	return o.GetAnnotations()[manifest.AnnotationTier] == manifest.TierBootstrap
}

// splitBootstrap returns snap without its bootstrap-tier objects, and those objects.
func splitBootstrap(snap *Snapshot) (*Snapshot, []*unstructured.Unstructured) {
	rest := *snap
	rest.Objects = nil
	var boot []*unstructured.Unstructured
	for _, o := range snap.Objects {
		if isBootstrap(o) {
			boot = append(boot, o)
		} else {
			rest.Objects = append(rest.Objects, o)
		}
	}
	return &rest, boot
}

// checkBootstrap reads each bootstrap-tier object from the cluster and compares it with
// git, writing nothing: unchanged when the cluster holds what git sets, skipped (with
// the fields that differ, as drift) when it does not or the object is missing. An
// error is returned only when an object cannot be read.
func (s *Syncer) checkBootstrap(ctx context.Context, objs []*unstructured.Unstructured) ([]Change, error) {
	out := make([]Change, len(objs))
	errs := make([]error, len(objs))
	sem := make(chan struct{}, applyConcurrency)
	var wg gosync.WaitGroup
	for i, o := range objs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i], errs[i] = s.checkBootstrapObject(ctx, o)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return out[:i], err
		}
	}
	return out, nil
}

// checkBootstrapObject is checkBootstrap of one object.
func (s *Syncer) checkBootstrapObject(ctx context.Context, o *unstructured.Unstructured) (Change, error) {
	id := manifest.ObjectID(o)
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(o.GroupVersionKind())
	err := s.client.Get(ctx, client.ObjectKeyFromObject(o), live)
	switch {
	case apierrors.IsNotFound(err):
		return Change{Object: id, Action: string(ssa.SkippedAction),
			Reason: "bootstrap tier (" + manifest.AnnotationTier + "=" + manifest.TierBootstrap + "): missing from the cluster; apply it as the break-glass group (README, bootstrap)"}, nil
	case err != nil:
		return Change{}, fmt.Errorf("reading bootstrap-tier %s: %w", id, err)
	}
	want := o.DeepCopy()
	dropOmitted(want.Object, live.Object)
	fields := driftedFields(want, live)
	if len(fields) == 0 {
		return Change{Object: id, Action: string(ssa.UnchangedAction)}, nil
	}
	return Change{Object: id, Action: string(ssa.SkippedAction), Fields: fields, Drift: true,
		Reason: "bootstrap tier (" + manifest.AnnotationTier + "=" + manifest.TierBootstrap + "): differs from git and is not applied by sync; apply it as the break-glass group"}, nil
}

// dropOmitted removes from desired the empty strings and false values that live does not
// hold at all: the apiserver omits such fields when it stores an object (omitempty), so
// their absence is not a difference.
func dropOmitted(desired, live map[string]any) {
	for k, v := range desired {
		lv, inLive := live[k]
		switch v := v.(type) {
		case string:
			if v == "" && !inLive {
				delete(desired, k)
			}
		case bool:
			if !v && !inLive {
				delete(desired, k)
			}
		case map[string]any:
			if lm, ok := lv.(map[string]any); ok {
				dropOmitted(v, lm)
			}
		}
	}
}
