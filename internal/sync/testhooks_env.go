//go:build lsstgen_testhooks

package sync

import (
	"context"
	"fmt"
	"os"
)

func init() {
	if marker := os.Getenv(EnvPauseBeforeInventoryCommit); marker != "" {
		beforeInventoryCommit = pauseAt(marker)
	}
}

// pauseAt returns a hook that creates the file marker and blocks until its context ends.
func pauseAt(marker string) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := os.WriteFile(marker, []byte("paused before the inventory commit\n"), 0o644); err != nil {
			return fmt.Errorf("%s: %w", EnvPauseBeforeInventoryCommit, err)
		}
		<-ctx.Done()
		return fmt.Errorf("stopped before committing the inventory: %w", ctx.Err())
	}
}
