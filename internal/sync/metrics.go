package sync

import (
	"errors"
	"net/http"
	gosync "sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lsst-dm/lsstgen/internal/gitsource"
)

// Metrics are the sync loop's Prometheus metrics, on a registry of their own, and the
// state behind /readyz.
type Metrics struct {
	registry     *prometheus.Registry
	duration     *prometheus.HistogramVec
	objects      *prometheus.CounterVec
	failures     *prometheus.CounterVec
	drift        *prometheus.CounterVec
	pruneRefused *prometheus.CounterVec
	sourceErrors *prometheus.CounterVec
	webhooks     *prometheus.CounterVec
	lastSuccess  *prometheus.GaugeVec
	lastCommit   *prometheus.GaugeVec

	mu    gosync.Mutex
	ready bool
	// following is, on a standby, the identity of the leader whose Lease it has read; ""
	// while it leads or has not read the Lease.
	following string
	commits   map[string]string // instance → last commit synced
	lastError string
}

// NewMetrics returns the metrics, registered with the Go and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "lsstgen_sync_cycle_duration_seconds", Help: "Duration of sync cycles, by result (success or failure).",
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 12),
		}, []string{"instance", "result"}),
		objects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lsstgen_sync_objects_total", Help: "Objects handled by sync cycles, by action (created, configured, recreated, deleted, skipped, unchanged).",
		}, []string{"instance", "action"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lsstgen_sync_errors_total", Help: "Failed sync cycles.",
		}, []string{"instance"}),
		drift: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lsstgen_sync_drift_total", Help: "Objects changed in the cluster by hand and restored (configured without a new commit).",
		}, []string{"instance"}),
		pruneRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lsstgen_sync_prune_refused_total", Help: "Sync cycles whose prune was refused, by reason (share: more than --max-prune-share; namespace: a Namespace still holds claims or objects sync does not manage).",
		}, []string{"instance", "reason"}),
		sourceErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lsstgen_sync_source_errors_total", Help: "Sync cycles that could not read the repository, by reason (DNS, TLS, authentication, repository, network, revision: a revision that names no commit).",
		}, []string{"instance", "reason"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lsstgen_sync_webhook_requests_total", Help: "Webhook requests, by result (accepted, ignored, ping, bad-signature, bad-request).",
		}, []string{"result"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lsstgen_sync_last_success_timestamp_seconds", Help: "Unix time of the last successful sync cycle.",
		}, []string{"instance"}),
		lastCommit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lsstgen_sync_last_success_commit_info", Help: "1 for the commit the last successful sync cycle applied.",
		}, []string{"instance", "commit"}),
		commits: map[string]string{},
	}
	m.registry.MustRegister(m.duration, m.objects, m.failures, m.drift, m.pruneRefused, m.sourceErrors, m.webhooks, m.lastSuccess, m.lastCommit,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// observe records one cycle.
func (m *Metrics) observe(res *Result, took time.Duration, err error) {
	if m == nil || res.DryRun {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	result := "success"
	if err != nil {
		result = "failure"
		m.failures.WithLabelValues(res.Instance).Inc()
		m.lastError = err.Error()
		var share *PruneRefusedError
		if errors.As(err, &share) {
			m.pruneRefused.WithLabelValues(res.Instance, "share").Inc()
		}
		var ns *NamespacePruneRefusedError
		if errors.As(err, &ns) {
			m.pruneRefused.WithLabelValues(res.Instance, "namespace").Inc()
		}
		var access *gitsource.AccessError
		var revision *gitsource.RevisionError
		switch {
		case errors.As(err, &access):
			m.sourceErrors.WithLabelValues(res.Instance, access.Reason()).Inc()
		case errors.As(err, &revision):
			m.sourceErrors.WithLabelValues(res.Instance, "revision").Inc()
		}
	}
	m.duration.WithLabelValues(res.Instance, result).Observe(took.Seconds())
	for action, n := range res.counts() {
		m.objects.WithLabelValues(res.Instance, action).Add(float64(n))
	}
	prev, seen := m.commits[res.Instance]
	if seen && prev == res.Commit {
		m.drift.WithLabelValues(res.Instance).Add(float64(res.counts()["configured"]))
	}
	if err != nil {
		return
	}
	m.ready = true
	m.lastError = ""
	m.lastSuccess.WithLabelValues(res.Instance).SetToCurrentTime()
	m.lastCommit.DeletePartialMatch(prometheus.Labels{"instance": res.Instance})
	m.lastCommit.WithLabelValues(res.Instance, res.Commit).Set(1)
	m.commits[res.Instance] = res.Commit
}

// follow records that this replica stands by while leader holds the Lease: it reached the
// apiserver and takes part in the election, so it can take over; it is ready as such.
func (m *Metrics) follow(leader string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.following = leader
}

// lead records that this replica holds the Lease: from now on it is ready once a cycle it
// runs has succeeded and the last one did.
func (m *Metrics) lead() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.following = ""
	m.ready = false
	m.lastError = ""
}

// Handler serves /metrics, /healthz (the process answers) and /readyz: 200 on a standby
// that follows a leader (it can take over), and on the replica that syncs once a cycle has
// succeeded and the last one did; 503 otherwise.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		m.mu.Lock()
		ready, lastErr, following := m.ready && m.lastError == "", m.lastError, m.following
		m.mu.Unlock()
		if following != "" {
			_, _ = w.Write([]byte("standby: " + following + " holds the Lease\n"))
			return
		}
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
			if lastErr == "" {
				lastErr = "no successful sync cycle yet"
			}
			_, _ = w.Write([]byte(lastErr + "\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// webhook counts one webhook request by its result.
func (m *Metrics) webhook(result string) {
	if m == nil {
		return
	}
	m.webhooks.WithLabelValues(result).Inc()
}
