package sync

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPauseBeforeInventoryCommit(t *testing.T) {
	h := newHarness(t, "pause", nil)
	first := h.repo.commitInstance(h.instance, h.files())
	h.cycle()
	late := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: late\n  namespace: " + h.ns + "\ndata:\n  x: z\n"
	h.repo.commitInstance(h.instance, with(h.files(), "configmap-late.yaml", late))

	t.Run("blocks after apply until the context ends", func(t *testing.T) {
		marker := filepath.Join(t.TempDir(), "paused")
		t.Setenv(EnvPauseBeforeInventoryCommit, marker)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() { _, err := h.s.Cycle(ctx, h.src); done <- err }()
		waitFor(t, "the marker file", func() bool { _, err := os.Stat(marker); return err == nil })
		select {
		case err := <-done:
			t.Fatalf("the cycle returned at the pause: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
		if h.get("v1", "ConfigMap", h.ns, "late") == nil {
			t.Error("ConfigMap late was not applied before the pause")
		}
		if inv := h.inventory(); inv.Commit != first || len(inv.Pending) != 7 {
			t.Errorf("inventory at the pause: commit %s, pending %v; want %s and 7 pending", inv.Commit, inventoryNames(inv.Pending), first)
		}
		cancel()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "stopped before committing the inventory") {
				t.Errorf("error = %v, want the stop before the inventory commit", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("the paused cycle did not end with its context")
		}
	})
	t.Run("a marker that cannot be written fails the cycle", func(t *testing.T) {
		t.Setenv(EnvPauseBeforeInventoryCommit, filepath.Join(t.TempDir(), "missing", "paused"))
		_, err := h.s.Cycle(context.Background(), h.src)
		if err == nil || !strings.Contains(err.Error(), EnvPauseBeforeInventoryCommit) {
			t.Errorf("error = %v, want one naming %s", err, EnvPauseBeforeInventoryCommit)
		}
		if inv := h.inventory(); inv.Commit != first || len(inv.Pending) == 0 {
			t.Errorf("inventory committed (%s) although the cycle failed at the pause", inv.Commit)
		}
	})
	// Without the variable the same commit goes through.
	h.cycle()
	if inv := h.inventory(); inv.Commit == first || len(inv.Pending) != 0 || len(inv.Objects) != 7 {
		t.Errorf("inventory %s with %d objects and %d pending, want the new commit's 7", inv.Commit, len(inv.Objects), len(inv.Pending))
	}
}
