package sync

import (
	"context"
	"fmt"
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

// leadOnce stands for election once: it returns when ctx ends or leadership is lost, and
// only after the cycles run while leading have stopped.
func (s *Syncer) leadOnce(ctx context.Context, lock resourcelock.Interface, src *Source, interval time.Duration, lo LeaderOptions) error {
	var started atomic.Bool
	finished := make(chan error, 1)
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		Name:            LeaseName(s.opts.Instance),
		LeaseDuration:   lo.LeaseDuration,
		RenewDeadline:   lo.RenewDeadline,
		RetryPeriod:     lo.RetryPeriod,
		ReleaseOnCancel: true,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				started.Store(true)
				s.metrics.lead()
				s.log.Info("leading", "instance", s.opts.Instance, "identity", lo.Identity)
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
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	le.Run(ctx)
	if started.Load() {
		return <-finished
	}
	return nil
}
