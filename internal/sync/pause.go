package sync

import (
	"context"
	"fmt"
	"os"
)

// EnvPauseBeforeInventoryCommit names an environment variable that exists for one test:
// the one that kills `lsstgen sync --once` with SIGKILL between apply and inventory commit
// (cmd/lsstgen), to prove that the next run converges and prunes. Set to a file path, it
// makes every cycle that applied and pruned create that file and then block, just before it
// commits the inventory, until its context ends. Never set it anywhere else.
const EnvPauseBeforeInventoryCommit = "LSSTGEN_SYNC_PAUSE_BEFORE_INVENTORY_COMMIT"

// pauseBeforeInventoryCommit is the hook EnvPauseBeforeInventoryCommit turns on; without
// it, it does nothing.
func pauseBeforeInventoryCommit(ctx context.Context) error {
	path := os.Getenv(EnvPauseBeforeInventoryCommit)
	if path == "" {
		return nil
	}
	if err := os.WriteFile(path, []byte("paused before the inventory commit\n"), 0o644); err != nil {
		return fmt.Errorf("%s: %w", EnvPauseBeforeInventoryCommit, err)
	}
	<-ctx.Done()
	return fmt.Errorf("stopped before committing the inventory: %w", ctx.Err())
}
