package sync

import "context"

// Test hooks: points where a test stops a cycle. They are nil in lsstgen; a test in this
// package sets them directly, and a binary built with the build tag TestHooksTag sets them
// from environment variables (testhooks_env.go), for tests that run lsstgen as a process.
var (
	// beforeInventoryCommit runs in every cycle that applied and pruned, just before it
	// commits the inventory; its error fails the cycle.
	beforeInventoryCommit func(ctx context.Context) error
)

// TestHooksTag is the build tag that compiles the test hooks' environment variables into
// a binary: go build -tags lsstgen_testhooks. Never build a release with it.
const TestHooksTag = "lsstgen_testhooks"

// EnvPauseBeforeInventoryCommit names the environment variable that, in a binary built
// with TestHooksTag, makes every cycle that applied and pruned create the file it names and
// then block, just before it commits the inventory, until its context ends. It exists for
// the test that kills `lsstgen sync --once` between apply and inventory commit, to prove
// that the next run converges and prunes.
const EnvPauseBeforeInventoryCommit = "LSSTGEN_SYNC_PAUSE_BEFORE_INVENTORY_COMMIT"
