package sync

import (
	"context"
	"fmt"
	gosync "sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// LeaderOptions configure the election on a coordination.k8s.io Lease that lets only one
// of several replicas apply an instance.
type LeaderOptions struct {
	// Identity names this replica in the Lease (the pod name, or host and process id).
	Identity string
	// LeaseDuration is how long others wait after the leader's last renewal before taking
	// over; RenewDeadline how long the leader keeps trying to renew before it stops
	// applying; RetryPeriod how often each replica tries.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// DefaultLeaderOptions returns client-go's usual timings (15s, 10s, 2s) for identity.
func DefaultLeaderOptions(identity string) LeaderOptions {
	return LeaderOptions{Identity: identity, LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second}
}

// LeaseName is the name of the Lease that elects the replica syncing an instance.
func LeaseName(instance string) string { return "lsstgen-sync-" + instance }

// RunLeader runs Run only while this replica holds the instance's Lease in the sync's
// namespace, until ctx ends. A replica that loses the Lease stops applying (its cycle's
// context is cancelled) and stands for election again; on a stop it releases the Lease so
// another replica takes over at once.
func (s *Syncer) RunLeader(ctx context.Context, src *Source, interval time.Duration, lo LeaderOptions) error {
	if lo.Identity == "" {
		return fmt.Errorf("no identity for the leader election")
	}
	if interval <= 0 {
		return fmt.Errorf("interval %v is not positive", interval)
	}
	cs, err := kubernetes.NewForConfig(s.cfg)
	if err != nil {
		return err
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: s.opts.Namespace, Name: LeaseName(s.opts.Instance)},
		Client:     cs.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: lo.Identity},
	}
	for ctx.Err() == nil {
		if err := s.ensureNamespace(ctx); err != nil {
			s.log.Error("leader election", "instance", s.opts.Instance, "error", err.Error())
		} else if err := s.leadOnce(ctx, lock, src, interval, lo); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
		case <-time.After(lo.RetryPeriod):
		}
	}
	return nil
}

// electionConfig is the election of the instance's Lease with the daemon's timings,
// releasing the Lease when the context ends.
func (s *Syncer) electionConfig(lock resourcelock.Interface, lo LeaderOptions, cb leaderelection.LeaderCallbacks) leaderelection.LeaderElectionConfig {
	return leaderelection.LeaderElectionConfig{
		Lock:            lock,
		Name:            LeaseName(s.opts.Instance),
		LeaseDuration:   lo.LeaseDuration,
		RenewDeadline:   lo.RenewDeadline,
		RetryPeriod:     lo.RetryPeriod,
		ReleaseOnCancel: true,
		Callbacks:       cb,
	}
}

// leadOnce stands for election once: it returns when ctx ends or leadership is lost, and
// only after the cycles run while leading have stopped.
func (s *Syncer) leadOnce(ctx context.Context, lock resourcelock.Interface, src *Source, interval time.Duration, lo LeaderOptions) error {
	var started atomic.Bool
	finished := make(chan error, 1)
	le, err := leaderelection.NewLeaderElector(s.electionConfig(lock, lo, leaderelection.LeaderCallbacks{
		OnStartedLeading: func(ctx context.Context) {
			started.Store(true)
			s.metrics.lead()
			s.log.Info("leading", "instance", s.opts.Instance, "identity", lo.Identity)
			if e := s.opts.WebhookEndpoint; e != nil {
				// A failure is logged, not fatal: cycles still run on the interval.
				if err := s.publishEndpoint(ctx, e); err != nil {
					s.log.Error("webhook endpoint", "instance", s.opts.Instance, "error", err.Error())
				}
			}
			finished <- s.Run(ctx, src, interval)
		},
		OnStoppedLeading: func() {
			s.log.Info("stopped leading", "instance", s.opts.Instance, "identity", lo.Identity)
		},
		// A standby that reads another's Lease is ready to take over.
		OnNewLeader: func(identity string) {
			if identity != lo.Identity {
				s.log.Info("standing by", "instance", s.opts.Instance, "identity", lo.Identity, "leader", identity)
				s.metrics.follow(identity)
			}
		},
	}))
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	le.Run(ctx)
	if started.Load() {
		return <-finished
	}
	return nil
}

// LeaseHeldError is Once's failure when another writer held the instance's Lease for the
// whole wait.
type LeaseHeldError struct {
	Lease  string // namespace/name
	Holder string // the identity holding it, "" when it could not be read
	Waited time.Duration
}

func (e *LeaseHeldError) Error() string {
	holder := e.Holder
	if holder == "" {
		holder = "another writer"
	}
	return fmt.Sprintf("the Lease %s is held by %s: waited %v and applied nothing; a sync daemon of this instance leads (scale its Deployment to 0 to run a cycle by hand) or another --once runs: try again when it ends, or wait longer (--lease-wait)",
		e.Lease, holder, e.Waited)
}

// Once runs one cycle while holding the instance's Lease, the one RunLeader's replicas
// hold, so that it never applies or prunes beside a daemon or another Once: it waits up
// to wait for the Lease, then fails with a *LeaseHeldError, changing nothing. It releases
// the Lease when the cycle ends. A dry run writes nothing and takes no Lease.
func (s *Syncer) Once(ctx context.Context, src *Source, lo LeaderOptions, wait time.Duration) (*Result, error) {
	if s.opts.DryRun {
		return s.Cycle(ctx, src)
	}
	if lo.Identity == "" {
		return nil, fmt.Errorf("no identity for the Lease")
	}
	if wait <= 0 {
		return nil, fmt.Errorf("lease wait %v is not positive", wait)
	}
	cs, err := kubernetes.NewForConfig(s.cfg)
	if err != nil {
		return nil, err
	}
	if err := s.ensureNamespace(ctx); err != nil {
		return nil, err
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: s.opts.Namespace, Name: LeaseName(s.opts.Instance)},
		Client:     cs.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: lo.Identity},
	}
	electCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	// state: whether the cycle started or the wait ran out, whichever came first; the
	// elector calls OnStartedLeading in a goroutine of its own.
	var (
		mu       gosync.Mutex
		started  bool
		timedOut bool
		holder   string
		res      *Result
		cycErr   error
	)
	done := make(chan struct{})
	le, err := leaderelection.NewLeaderElector(s.electionConfig(lock, lo, leaderelection.LeaderCallbacks{
		OnStartedLeading: func(leading context.Context) {
			mu.Lock()
			if timedOut {
				mu.Unlock()
				return
			}
			started = true
			mu.Unlock()
			s.log.Debug("holding the Lease for one cycle", "instance", s.opts.Instance, "identity", lo.Identity)
			res, cycErr = s.Cycle(leading, src)
			close(done)
			cancel() // release the Lease
		},
		OnStoppedLeading: func() {},
		OnNewLeader: func(identity string) {
			if identity != lo.Identity {
				mu.Lock()
				holder = identity
				mu.Unlock()
				s.log.Info("waiting for the Lease", "instance", s.opts.Instance, "identity", lo.Identity, "holder", identity)
			}
		},
	}))
	if err != nil {
		return nil, fmt.Errorf("leader election: %w", err)
	}
	timer := time.AfterFunc(wait, func() {
		mu.Lock()
		defer mu.Unlock()
		if !started {
			timedOut = true
			cancel()
		}
	})
	defer timer.Stop()
	le.Run(electCtx)
	mu.Lock()
	ran := started
	if !ran {
		timedOut = true // a late OnStartedLeading must not run the cycle now
	}
	who := holder
	mu.Unlock()
	if !ran {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, &LeaseHeldError{Lease: s.opts.Namespace + "/" + LeaseName(s.opts.Instance), Holder: who, Waited: wait}
	}
	<-done
	return res, cycErr
}
