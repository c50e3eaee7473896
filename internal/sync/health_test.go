package sync

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestHealthWait(t *testing.T) {
	h := newHarness(t, "health", func(o *Options) { o.HealthTimeout = 2 * time.Second })

	// Without a Deployment everything is ready as soon as it exists.
	h.repo.commitInstance(h.instance, without(h.files(), "deployment-web.yaml"))
	h.cycle()

	// No controller rolls the Deployment out here, so it never becomes ready.
	commit := h.repo.commitInstance(h.instance, h.files())
	start := time.Now()
	_, err := h.s.Cycle(context.Background(), h.src)
	if err == nil || !strings.Contains(err.Error(), "health check") || !strings.Contains(err.Error(), "Deployment/health-ns/web") {
		t.Fatalf("error = %v, want a failed health check naming the Deployment", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("the health wait took %v, over its 2s timeout", d)
	}
	// The objects were applied and recorded; only their health failed.
	if h.get("apps/v1", "Deployment", h.ns, "web") == nil {
		t.Error("Deployment web was not applied")
	}
	if inv := h.inventory(); inv.Commit != commit {
		t.Errorf("inventory commit = %s, want %s", inv.Commit, commit)
	}
	// The next cycle, with nothing to apply, still reports the instance unhealthy.
	if _, err := h.s.Cycle(context.Background(), h.src); err == nil {
		t.Error("a cycle with an unready Deployment succeeded")
	}
}
