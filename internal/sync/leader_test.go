package sync

import (
	"context"
	"errors"
	"strings"
	gosync "sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
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

// TestOnceTakesTheLease: `sync --once` takes the Lease the daemon holds. While a daemon
// leads, paused in the middle of a cycle (applied, inventory not committed), a Once
// against an older commit waits its bound, fails naming the daemon and changes nothing:
// what the daemon's cycle created is not pruned. Once the daemon stops, the same Once
// runs, and it releases the Lease when done.
func TestOnceTakesTheLease(t *testing.T) {
	h := newHarness(t, "once-lease", func(o *Options) { o.Writer = "operator" })
	old := h.repo.commitInstance(h.instance, h.files())
	h.cycle()
	late := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: late\n  namespace: " + h.ns + "\ndata:\n  x: z\n"
	newer := h.repo.commitInstance(h.instance, with(h.files(), "configmap-late.yaml", late))

	// The daemon: another Syncer of the instance, leading, its cycle paused before the
	// inventory commit.
	paused, resume := make(chan struct{}), make(chan struct{})
	var once gosync.Once
	setBeforeInventoryCommit(t, func(ctx context.Context) error {
		once.Do(func() { close(paused) })
		select {
		case <-resume:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	opts := DefaultOptions(h.instance)
	opts.HealthTimeout = 0 // no controllers run here
	opts.Writer = "daemon"
	daemon, err := New(cluster.Get(t).Admin(), Logger(&lockedBuffer{}), opts)
	if err != nil {
		t.Fatal(err)
	}
	lo := func(id string) LeaderOptions {
		return LeaderOptions{Identity: id, LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 100 * time.Millisecond}
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- daemon.RunLeader(ctx, &Source{Repo: h.repo.dir, Revision: newer}, time.Hour, lo("daemon"))
	}()
	select {
	case <-paused:
	case err := <-done:
		t.Fatalf("the daemon ended before its cycle paused: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the daemon's cycle did not reach the pause in 30s")
	}
	inv := h.inventory()
	if e, ok := inv.Pending[(Entry{APIVersion: "v1", Kind: "ConfigMap", Namespace: h.ns, Name: "late"}).key()]; !ok || e.Writer != "daemon" || e.Commit != newer {
		t.Errorf("pending entry of ConfigMap late = %+v (present %v); want writer daemon, commit %s", e, ok, newer)
	}
	if inv.PendingWriter != "daemon" || inv.PendingCommit != newer {
		t.Errorf("inventory's pending writer %q, commit %q; want daemon, %s", inv.PendingWriter, inv.PendingCommit, newer)
	}

	// The operator's Once against the older commit, mid-cycle of the daemon.
	start := time.Now()
	_, err = h.s.Once(context.Background(), &Source{Repo: h.repo.dir, Revision: old}, lo("operator"), 3*time.Second)
	var held *LeaseHeldError
	if !errors.As(err, &held) {
		t.Fatalf("Once while the daemon leads: error = %v, want a LeaseHeldError", err)
	}
	if held.Holder != "daemon" || !strings.Contains(err.Error(), "held by daemon") || !strings.Contains(err.Error(), "applied nothing") {
		t.Errorf("error does not name the holder and say nothing was applied: %v", err)
	}
	if waited := time.Since(start); waited < 3*time.Second || waited > 15*time.Second {
		t.Errorf("Once gave up after %v, want its 3s bound", waited)
	}
	if h.get("v1", "ConfigMap", h.ns, "late") == nil {
		t.Fatal("ConfigMap late, applied by the daemon's running cycle, was pruned by a Once of an older commit")
	}

	// The daemon finishes its cycle and stops (releasing the Lease); the Once runs.
	close(resume)
	waitFor(t, "the daemon's cycle to commit", func() bool { return h.inventory().Commit == newer })
	stop()
	if err := <-done; err != nil {
		t.Fatalf("RunLeader: %v", err)
	}
	res, err := h.s.Once(context.Background(), &Source{Repo: h.repo.dir, Revision: old}, lo("operator"), 10*time.Second)
	if err != nil {
		t.Fatalf("Once after the daemon stopped: %v\n%s", err, h.logs)
	}
	if res.Commit != old || h.get("v1", "ConfigMap", h.ns, "late") != nil {
		t.Errorf("Once applied %s and left ConfigMap late: want the older commit %s applied, late pruned", res.Commit, old)
	}
	lease, err := kubernetes.NewForConfigOrDie(cluster.Get(t).Admin()).CoordinationV1().Leases(DefaultNamespace).Get(context.Background(), LeaseName(h.instance), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if hold := lease.Spec.HolderIdentity; hold != nil && *hold != "" {
		t.Errorf("the Lease is still held by %q after Once ended", *hold)
	}
}

func TestOnceErrors(t *testing.T) {
	s := &Syncer{}
	if _, err := s.Once(context.Background(), &Source{}, LeaderOptions{}, time.Second); err == nil || !strings.Contains(err.Error(), "identity") {
		t.Errorf("Once without an identity: error = %v", err)
	}
	if _, err := s.Once(context.Background(), &Source{}, LeaderOptions{Identity: "x"}, 0); err == nil || !strings.Contains(err.Error(), "not positive") {
		t.Errorf("Once with no wait: error = %v", err)
	}
}
