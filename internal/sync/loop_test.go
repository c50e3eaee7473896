package sync

import (
	"bytes"
	"context"
	"strings"
	gosync "sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// lockedBuffer is a bytes.Buffer safe for a writer and a reader in two goroutines.
type lockedBuffer struct {
	mu gosync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestDaemonRestoresHandEdits(t *testing.T) {
	h := newHarness(t, "drift", nil)
	logs := &lockedBuffer{}
	h.s.log = Logger(logs)
	h.repo.commitInstance(h.instance, h.files())

	ctx := context.Background()
	defer runDaemon(t, ctx, h.s, h.src, 100*time.Millisecond)()

	key := client.ObjectKey{Namespace: h.ns, Name: "settings"}
	waitFor(t, "the first cycle", func() bool { return strings.Contains(logs.String(), `"msg":"cycle"`) })

	cm := &corev1.ConfigMap{}
	if err := h.s.client.Get(ctx, key, cm); err != nil {
		t.Fatal(err)
	}
	cm.Data["mode"] = "edited-by-hand"
	if err := h.s.client.Update(ctx, cm, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the hand edit to be undone", func() bool {
		got := &corev1.ConfigMap{}
		return h.s.client.Get(ctx, key, got) == nil && got.Data["mode"] == "test"
	})
	if !strings.Contains(logs.String(), `"object":"ConfigMap/drift-ns/settings","action":"configured"`) {
		t.Errorf("the drift was not logged:\n%s", logs)
	}
}

func TestRunRejectsNoInterval(t *testing.T) {
	s := &Syncer{}
	if err := s.Run(context.Background(), &Source{}, 0); err == nil {
		t.Error("Run with a zero interval returned no error")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDaemonRetriesFailedCyclesWithBackoff(t *testing.T) {
	c := cluster.Get(t)
	cfg := c.Admin()
	cfg.Host = "https://127.0.0.1:1" // nothing listens there
	logs := &lockedBuffer{}
	opts := DefaultOptions("unreachable")
	opts.FirstRetry = 100 * time.Millisecond
	s, err := New(cfg, Logger(logs), opts)
	if err != nil {
		t.Skipf("refused up front: %v", err)
	}
	r := newGitRepo(t)
	r.commitInstance("unreachable", fixture("unreachable", "unreachable-ns"))

	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Run(ctx, &Source{Repo: r.dir}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run took %v to stop after its context ended", d)
	}
	// 0, 0.1, 0.3, 0.7 s: at least three failures logged in 1.5 s (an interval of an hour
	// without backoff would give one), and the doubling keeps it well under a dozen.
	n := strings.Count(logs.String(), `"msg":"cycle failed"`)
	if n < 3 || n > 12 {
		t.Errorf("%d failed cycles logged in 1.5s, want 3 to 12 with backoff from 100ms:\n%s", n, logs)
	}
}
