package sync

import (
	"context"
	"fmt"
	"time"
)

// Run runs a cycle every interval until ctx ends; each cycle also restores objects changed
// by hand (drift). A failed cycle (the apiserver unreachable, a refused commit, …) is
// logged and retried sooner, after Options.FirstRetry, then twice as long each time, never
// longer than interval. A stop mid-cycle leaves at worst a pending inventory, which the
// next start prunes from.
func (s *Syncer) Run(ctx context.Context, src *Source, interval time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("interval %v is not positive", interval)
	}
	first := min(s.opts.FirstRetry, interval)
	retry := first
	for ctx.Err() == nil {
		wait := interval
		started := time.Now()
		if _, err := s.Cycle(ctx, src); err != nil && ctx.Err() == nil {
			wait = retry
			retry = min(2*retry, interval)
		} else {
			retry = first
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		case <-s.asks: // nil without a webhook: never ready
			t.Stop()
			// At most one cycle a webhook starts per askGap.
			if gap := s.askGap - time.Since(started); gap > 0 {
				g := time.NewTimer(gap)
				select {
				case <-ctx.Done():
				case <-g.C:
				}
				g.Stop()
			}
			s.log.Info("cycle asked for by the webhook", "instance", s.opts.Instance)
		}
	}
	return nil
}
