package sync

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// setBeforeInventoryCommit sets the hook for one test.
func setBeforeInventoryCommit(t *testing.T, hook func(context.Context) error) {
	t.Helper()
	prev := beforeInventoryCommit
	beforeInventoryCommit = hook
	t.Cleanup(func() { beforeInventoryCommit = prev })
}

// TestBeforeInventoryCommit: the hook runs after the apply, with the new objects pending in
// the inventory and before it is committed; a cycle it blocks ends with its context, and
// one it fails commits nothing.
func TestBeforeInventoryCommit(t *testing.T) {
	h := newHarness(t, "pause", func(o *Options) { o.Writer = "writer-a" })
	first := h.repo.commitInstance(h.instance, h.files())
	h.cycle()
	late := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: late\n  namespace: " + h.ns + "\ndata:\n  x: z\n"
	second := h.repo.commitInstance(h.instance, with(h.files(), "configmap-late.yaml", late))

	t.Run("blocks after apply until the context ends", func(t *testing.T) {
		paused := make(chan struct{})
		setBeforeInventoryCommit(t, func(ctx context.Context) error {
			close(paused)
			<-ctx.Done()
			return ctx.Err()
		})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() { _, err := h.s.Cycle(ctx, h.src); done <- err }()
		select {
		case <-paused:
		case err := <-done:
			t.Fatalf("the cycle ended without reaching the hook: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("the cycle did not reach the hook in 30s")
		}
		if h.get("v1", "ConfigMap", h.ns, "late") == nil {
			t.Error("ConfigMap late was not applied before the hook")
		}
		if inv := h.inventory(); inv.Commit != first || len(inv.Pending) != 7 {
			t.Errorf("inventory at the hook: commit %s, pending %v; want %s and 7 pending", inv.Commit, inventoryNames(inv.Pending), first)
		}
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error = %v, want the context's end", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("the paused cycle did not end with its context")
		}
	})
	t.Run("its error fails the cycle and commits nothing", func(t *testing.T) {
		setBeforeInventoryCommit(t, func(context.Context) error { return errors.New("hook says no") })
		// Another writer retries: the entries keep the writer that first recorded them.
		h.s.opts.Writer = "writer-b"
		defer func() { h.s.opts.Writer = "writer-a" }()
		_, err := h.s.Cycle(context.Background(), h.src)
		if err == nil || !strings.Contains(err.Error(), "hook says no") {
			t.Errorf("error = %v, want the hook's", err)
		}
		inv := h.inventory()
		if inv.Commit != first || len(inv.Pending) == 0 {
			t.Errorf("inventory committed (%s) although the cycle failed at the hook", inv.Commit)
		}
		for _, e := range inv.Pending {
			if e.Writer != "writer-a" || e.Commit != second {
				t.Errorf("pending %s recorded by %q for %q; want writer-a, the first to record it, for %s", e, e.Writer, e.Commit, second)
			}
		}
		if inv.PendingWriter != "writer-b" {
			t.Errorf("the inventory's last pending writer is %q, want writer-b", inv.PendingWriter)
		}
	})
	// Without the hook the same commit goes through.
	h.cycle()
	if inv := h.inventory(); inv.Commit == first || len(inv.Pending) != 0 || len(inv.Objects) != 7 {
		t.Errorf("inventory %s with %d objects and %d pending, want the new commit's 7", inv.Commit, len(inv.Objects), len(inv.Pending))
	}
	for _, e := range h.inventory().Objects {
		if e.Writer != "" || e.Commit != "" {
			t.Errorf("committed entry %s keeps a pending entry's writer %q and commit %q", e, e.Writer, e.Commit)
		}
	}
}
