package sync

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// waitHealthy waits, with kstatus, until every object of the commit is ready (a Deployment
// rolled out, a PVC bound, …), giving up after Options.HealthTimeout or as soon as one has
// failed. Objects without status, like ConfigMaps, are ready at once. Waiting on all of them,
// not only the ones this cycle changed, keeps a cycle failing while the instance is unhealthy.
// The daemon's own Deployment (Options.SelfDeployment) is left out.
func (s *Syncer) waitHealthy(ctx context.Context, objs []*unstructured.Unstructured) error {
	if s.opts.HealthTimeout <= 0 {
		return nil
	}
	objs = waitable(s.withoutSelf(objs))
	set := make(object.ObjMetadataSet, 0, len(objs))
	for _, o := range objs {
		set = append(set, object.UnstructuredToObjMetadata(o))
	}
	if len(set) == 0 {
		return nil
	}
	opts := ssa.WaitOptions{Interval: time.Second, Timeout: s.opts.HealthTimeout, FailFast: true}
	if opts.Timeout < 5*opts.Interval {
		opts.Interval = opts.Timeout / 5
	}
	waitErr := s.manager.WaitForSetWithContext(ctx, set, opts)
	if waitErr == nil {
		return nil
	}
	// The poller's error may only say that its last request met the deadline: name the
	// objects that are not ready from a last look at each.
	notReady, err := s.notReady(ctx, objs)
	if err != nil || ctx.Err() != nil {
		return fmt.Errorf("health check: %w", waitErr)
	}
	if len(notReady) == 0 {
		return nil // ready by now
	}
	return fmt.Errorf("health check: not ready after %v: %s", s.opts.HealthTimeout, strings.Join(notReady, "; "))
}

// waitable returns objs without Secrets: kstatus finds a Secret ready as soon as it
// exists, which the apply has just made sure of, and its poller lists each kind it waits
// on, which the daemon's ServiceAccount may not do for Secrets (it may read only those it
// applies, by name): with them in the set the wait could only end at its timeout.
func waitable(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		if o.GetKind() != "Secret" || o.GroupVersionKind().Group != "" {
			out = append(out, o)
		}
	}
	return out
}

// withoutSelf returns objs without the daemon's own Deployment.
func (s *Syncer) withoutSelf(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	if s.opts.SelfDeployment == "" {
		return objs
	}
	self := manifest.FormatID("Deployment", s.opts.Namespace, s.opts.SelfDeployment)
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		if manifest.ObjectID(o) != self {
			out = append(out, o)
		}
	}
	return out
}

// notReady returns "Kind/namespace/name Status: message" for each object kstatus does not
// find Current.
func (s *Syncer) notReady(ctx context.Context, objs []*unstructured.Unstructured) ([]string, error) {
	var out []string
	for _, o := range objs {
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(o.GroupVersionKind())
		if err := s.client.Get(ctx, client.ObjectKeyFromObject(o), live); err != nil {
			if apierrors.IsNotFound(err) {
				out = append(out, manifest.ObjectID(o)+" NotFound")
				continue
			}
			return nil, err
		}
		r, err := status.Compute(live)
		if err != nil {
			return nil, err
		}
		if r.Status != status.CurrentStatus {
			out = append(out, fmt.Sprintf("%s %s: %s", manifest.ObjectID(o), r.Status, r.Message))
		}
	}
	return out, nil
}
