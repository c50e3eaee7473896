package sync

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lsst-dm/lsstgen/internal/testcluster"
)

// TestDaemonSurvivesAPIServerRestart runs the loop, stops the kube-apiserver (etcd keeps
// the data) just after a commit that adds one object and removes another, and starts it
// again: the loop keeps running, retries with growing waits while the apiserver is gone,
// and converges on the commit once it is back.
func TestDaemonSurvivesAPIServerRestart(t *testing.T) {
	c := testcluster.Start(t) // its own control plane: the shared one is not stopped under other tests
	logs := &lockedBuffer{}
	opts := DefaultOptions("restart")
	opts.WaitTimeout = 20 * time.Second
	opts.HealthTimeout = 0 // no controllers run here: a Deployment never becomes ready
	opts.FirstRetry = 100 * time.Millisecond
	cfg := c.Admin()
	cfg.Timeout = 10 * time.Second // a request caught by the stop fails instead of hanging
	s, err := New(cfg, Logger(logs), opts)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, repo: newGitRepo(t), logs: nil, instance: "restart", ns: "restart-ns", s: s}
	h.src = &Source{Repo: h.repo.dir, Revision: "main"}
	h.repo.commitInstance(h.instance, h.files())

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, h.src, 2*time.Second) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Run did not return within 30s of its context ending")
		}
	}()
	waitFor(t, "the first cycle", func() bool { return strings.Contains(logs.String(), `"msg":"cycle"`) })

	late := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: late\n  namespace: " + h.ns + "\ndata:\n  x: z\n"
	commit := h.repo.commitInstance(h.instance, with(without(h.files(), "configmap-extra.yaml"), "configmap-late.yaml", late))
	if err := c.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	stopped := len(logs.String())
	waitFor(t, "four failed cycles while the apiserver is stopped", func() bool {
		return strings.Count(logs.String()[stopped:], `"msg":"cycle failed"`) >= 4
	})
	select {
	case err := <-done:
		t.Fatalf("Run returned while the apiserver was stopped: %v", err)
	default:
	}
	restarting := len(logs.String())
	if err := c.StartAPIServer(); err != nil {
		t.Fatal(err)
	}

	converged := func() bool {
		inv, err := s.loadInventory(ctx)
		return err == nil && inv.Commit == commit && len(inv.Pending) == 0
	}
	deadline := time.Now().Add(30 * time.Second)
	for !converged() {
		if time.Now().After(deadline) {
			t.Fatalf("the loop did not converge on %s within 30s of the restart:\n%s", commit, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, e := range h.fixtureEntries() {
		got := h.get(e.APIVersion, e.Kind, e.Namespace, e.Name)
		if e.Name == "extra" && e.Kind == "ConfigMap" {
			if got != nil {
				t.Errorf("%s, removed from git, is still there", e)
			}
		} else if got == nil {
			t.Errorf("%s is missing after the restart", e)
		}
	}
	if h.get("v1", "ConfigMap", h.ns, "late") == nil {
		t.Error("ConfigMap late, added by the commit, was not applied")
	}
	wantInv := entrySet{}
	wantInv.add(h.fixtureEntries()...)
	delete(wantInv, (Entry{APIVersion: "v1", Kind: "ConfigMap", Namespace: h.ns, Name: "extra"}).key())
	wantInv.add(Entry{APIVersion: "v1", Kind: "ConfigMap", Namespace: h.ns, Name: "late"})
	want(t, "inventory", inventoryNames(wantInv), inventoryNames(h.inventory().Objects))

	// The failures while the apiserver was away came with growing waits: each gap between
	// two failed cycles at least as long as the one before (50ms of slack), the first short.
	var times []time.Time
	for _, l := range strings.Split(logs.String()[stopped:restarting], "\n") {
		var m struct {
			Time time.Time `json:"time"`
			Msg  string    `json:"msg"`
		}
		if json.Unmarshal([]byte(l), &m) == nil && m.Msg == "cycle failed" {
			times = append(times, m.Time)
		}
	}
	if len(times) < 4 {
		t.Fatalf("%d failed cycles logged, want at least 4:\n%s", len(times), logs)
	}
	for i := 2; i < len(times); i++ {
		prev, gap := times[i-1].Sub(times[i-2]), times[i].Sub(times[i-1])
		if gap+50*time.Millisecond < prev {
			t.Errorf("failed cycles %d and %d %v apart, less than the %v before: no backoff\n%s", i-1, i, gap, prev, logs)
		}
	}
	if first := times[1].Sub(times[0]); first > time.Second {
		t.Errorf("first retry after %v, want about %v", first, opts.FirstRetry)
	}
}
