package sync

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestOnlyTheLeaderApplies(t *testing.T) {
	c := cluster.Get(t)
	r := newGitRepo(t)
	r.commitInstance("leader", fixture("leader", "leader-ns"))
	lo := func(id string) LeaderOptions {
		return LeaderOptions{Identity: id, LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 100 * time.Millisecond}
	}
	type replica struct {
		logs   *lockedBuffer
		cancel context.CancelFunc
		done   chan error
	}
	start := func(id string) *replica {
		rep := &replica{logs: &lockedBuffer{}, done: make(chan error, 1)}
		opts := DefaultOptions("leader")
		opts.HealthTimeout = 0 // no controllers here; the wait with two replicas is TestSyncReplicasInTheTwin's (cmd/lsstgen)
		s, err := New(c.Admin(), Logger(rep.logs), opts)
		if err != nil {
			t.Fatal(err)
		}
		var ctx context.Context
		ctx, rep.cancel = context.WithCancel(context.Background())
		go func() { rep.done <- s.RunLeader(ctx, &Source{Repo: r.dir}, 100*time.Millisecond, lo(id)) }()
		return rep
	}
	stop := func(rep *replica) {
		rep.cancel()
		select {
		case err := <-rep.done:
			if err != nil {
				t.Errorf("RunLeader: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("RunLeader did not return after its context ended")
		}
	}
	cycles := func(rep *replica) int { return strings.Count(rep.logs.String(), `"msg":"cycle"`) }

	a := start("a")
	waitFor(t, "replica a to sync", func() bool { return cycles(a) > 0 })
	b := start("b")
	defer stop(b)
	// b runs alongside a for a while and never applies.
	time.Sleep(1500 * time.Millisecond)
	if n := cycles(b); n != 0 {
		t.Errorf("replica b ran %d cycles while a led:\n%s", n, b.logs)
	}
	if cycles(a) < 3 {
		t.Errorf("replica a ran only %d cycles while leading", cycles(a))
	}

	// a stops and releases the Lease: b takes over.
	stop(a)
	after := cycles(a)
	waitFor(t, "replica b to take over", func() bool { return cycles(b) > 0 })
	time.Sleep(300 * time.Millisecond)
	if n := cycles(a); n != after {
		t.Errorf("replica a ran %d cycles after it stopped", n-after)
	}
	if !strings.Contains(b.logs.String(), `"msg":"leading"`) {
		t.Errorf("b did not log that it leads:\n%s", b.logs)
	}
}

func TestRunLeaderErrors(t *testing.T) {
	if err := (&Syncer{}).RunLeader(context.Background(), &Source{}, time.Second, LeaderOptions{}); err == nil {
		t.Error("RunLeader without an identity returned no error")
	}
	if err := (&Syncer{}).RunLeader(context.Background(), &Source{}, 0, LeaderOptions{Identity: "x"}); err == nil {
		t.Error("RunLeader with a zero interval returned no error")
	}
}
