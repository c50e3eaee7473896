package sync

import (
	"context"
	"fmt"
	"time"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// waitHealthy waits, with kstatus, until every object of the commit is ready (a Deployment
// rolled out, a PVC bound, …), giving up after Options.HealthTimeout or as soon as one has
// failed. Objects without status, like ConfigMaps, are ready at once. Waiting on all of them,
// not only the ones this cycle changed, keeps a cycle failing while the instance is unhealthy.
func (s *Syncer) waitHealthy(ctx context.Context, objs []*unstructured.Unstructured) error {
	if s.opts.HealthTimeout <= 0 {
		return nil
	}
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
	if err := s.manager.WaitForSetWithContext(ctx, set, opts); err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	return nil
}
