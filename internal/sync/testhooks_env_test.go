//go:build lsstgen_testhooks

package sync

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPauseAt: the hook a test build reads from EnvPauseBeforeInventoryCommit creates its
// marker and blocks until the context ends; a marker it cannot write fails the cycle.
//
//	go test -tags lsstgen_testhooks -run TestPauseAt ./internal/sync
func TestPauseAt(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "paused")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pauseAt(marker)(ctx) }()
	waitFor(t, "the marker file", func() bool { _, err := os.Stat(marker); return err == nil })
	select {
	case err := <-done:
		t.Fatalf("returned before its context ended: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stopped before committing the inventory") {
		t.Errorf("error %v, want the stop before the inventory commit", err)
	}

	err := pauseAt(filepath.Join(t.TempDir(), "missing", "paused"))(context.Background())
	if err == nil || !strings.Contains(err.Error(), EnvPauseBeforeInventoryCommit) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an unwritable marker: %v, want an error naming %s", err, EnvPauseBeforeInventoryCommit)
	}
}
