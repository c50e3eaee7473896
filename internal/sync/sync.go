package sync

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// FieldManager is the server-side apply field manager of every object sync applies.
const FieldManager = "lsstgen"

// DefaultNamespace is the namespace sync keeps its inventories in.
const DefaultNamespace = "lsstgen-system"

// Options configure a Syncer.
type Options struct {
	// Instance is the instance whose generated/<instance>/ is applied.
	Instance string
	// Namespace holds the inventory ConfigMap; it is created when missing.
	Namespace string
	// DryRun computes what a cycle would change and changes nothing, the inventory included.
	DryRun bool
	// MaxPruneShare is the largest share of the inventory one cycle may delete (0.25 is a
	// quarter); a cycle that would delete more deletes nothing and fails.
	MaxPruneShare float64
	// ForcePrune lifts MaxPruneShare for a cycle.
	ForcePrune bool
	// PruneProtectedKinds allows pruning Namespaces, PersistentVolumes and
	// PersistentVolumeClaims, which are otherwise left in place when they leave git unless
	// annotated manifest.AnnotationPrune=manifest.PruneAllowed (by the instance's model).
	// It is the operator's override of the model.
	PruneProtectedKinds bool
	// WaitTimeout bounds the wait for Namespaces, CRDs, cluster roles and classes to be
	// ready before the objects that need them are applied.
	WaitTimeout time.Duration
	// HealthTimeout bounds the wait, after apply, prune and inventory commit, for the
	// commit's objects to be ready (kstatus); a failed object ends the wait at once. The
	// cycle fails when they are not ready. Zero skips the wait.
	HealthTimeout time.Duration
	// SelfDeployment names the daemon's own Deployment in Namespace, which the health wait
	// leaves out: its rollout waits on the replicas' readiness, and a new leader's pods
	// replace the one waiting, so waiting on it from inside can only time out. Its health
	// is the kubelet's readiness probe and its disruption budget's business. "" for none.
	SelfDeployment string
	// FirstRetry is Run's wait before it retries a failed cycle; each further failure
	// doubles it, up to the interval. Zero or less means one second.
	FirstRetry time.Duration
	// Writer names this process in the inventory's pending entries (the Lease identity:
	// host name and process id, or the pod's name), so that an operator reading a
	// pending inventory knows which writer left it. "" records "unknown".
	Writer string
	// WebhookEndpoint, when set, is published while this replica leads (RunLeader), so
	// that the webhook's Service reaches the replica that runs cycles.
	WebhookEndpoint *WebhookEndpoint
}

// DefaultOptions returns options for instance: inventory in lsstgen-system, prune at
// most a quarter of the inventory per cycle, protected kinds never pruned, wait up to five
// minutes for changed objects to be ready, retry a failed cycle after a second.
func DefaultOptions(instance string) Options {
	return Options{
		Instance:      instance,
		Namespace:     DefaultNamespace,
		MaxPruneShare: 0.25,
		WaitTimeout:   time.Minute,
		HealthTimeout: 5 * time.Minute,
		FirstRetry:    time.Second,
	}
}

// Syncer applies snapshots of one instance to one cluster.
type Syncer struct {
	cfg     *rest.Config
	client  client.Client
	manager *ssa.ResourceManager
	log     *slog.Logger
	opts    Options
	metrics *Metrics
	// asks are a webhook's asks for a cycle now; askGap the least time between two cycles
	// they start. nil without a webhook.
	asks   <-chan struct{}
	askGap time.Duration
}

// applyConcurrency is how many objects a cycle dry-runs, reads or applies at once: the
// objects of one stage are independent, and a cycle is mostly round trips.
const applyConcurrency = 16

// SetWebhook makes Run start a cycle when w asks for one, beside the interval.
func (s *Syncer) SetWebhook(w *Webhook) { s.asks, s.askGap = w.Asks(), w.MinGap }

// Metrics are the metrics SetMetrics gave, or nil.
func (s *Syncer) Metrics() *Metrics { return s.metrics }

// SetMetrics makes every later cycle record itself in m.
func (s *Syncer) SetMetrics(m *Metrics) { s.metrics = m }

// New returns a Syncer talking to the cluster cfg points at and logging to log.
func New(cfg *rest.Config, log *slog.Logger, opts Options) (*Syncer, error) {
	if opts.Instance == "" {
		return nil, fmt.Errorf("no instance to sync")
	}
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.FirstRetry <= 0 {
		opts.FirstRetry = time.Second
	}
	if opts.MaxPruneShare < 0 || opts.MaxPruneShare > 1 {
		return nil, fmt.Errorf("prune share %v is not between 0 and 1", opts.MaxPruneShare)
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 && cfg.RateLimiter == nil {
		// client-go's default (5 per second, bursts of 10) makes a cycle over a few
		// hundred objects take minutes: each is dry-run, read and maybe applied.
		cfg.QPS, cfg.Burst = 200, 400
	}
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("reaching the apiserver at %s: %w", cfg.Host, err)
	}
	c, err := client.New(cfg, client.Options{HTTPClient: httpClient, Mapper: mapper})
	if err != nil {
		return nil, err
	}
	poller := polling.NewStatusPoller(c, mapper, polling.Options{})
	m := ssa.NewResourceManager(c, poller, ssa.Owner{Field: FieldManager, Group: "lsst.org"})
	m.SetConcurrency(applyConcurrency)
	return &Syncer{cfg: cfg, client: c, manager: m, log: log, opts: opts}, nil
}
