package sync

import (
	"context"
	"fmt"
	"time"
)

// Run runs a cycle every interval until ctx ends. A failed cycle is logged and retried at
// the next interval; each cycle also restores objects changed by hand (drift).
func (s *Syncer) Run(ctx context.Context, src *Source, interval time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("interval %v is not positive", interval)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		_, _ = s.Cycle(ctx, src)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
