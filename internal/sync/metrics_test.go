package sync

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func TestMetricsAndProbes(t *testing.T) {
	h := newHarness(t, "metrics", nil)
	m := NewMetrics()
	h.s.SetMetrics(m)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	expect := func(body string, lines ...string) {
		t.Helper()
		for _, l := range lines {
			if !strings.Contains(body, l+"\n") {
				t.Errorf("metrics lack %q", l)
			}
		}
	}

	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "no successful sync cycle yet") {
		t.Errorf("/readyz before a cycle: %d %q", code, body)
	}

	commit := h.repo.commitInstance(h.instance, h.files())
	h.cycle()
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz after a cycle: %d", code)
	}
	_, body := get("/metrics")
	expect(body,
		`lsstgen_sync_objects_total{action="created",instance="metrics"} 6`,
		`lsstgen_sync_last_success_commit_info{commit="`+commit+`",instance="metrics"} 1`,
		`lsstgen_sync_cycle_duration_seconds_count{instance="metrics",result="success"} 1`,
	)

	// A hand edit restored without a new commit is drift.
	ctx := context.Background()
	cm := &corev1.ConfigMap{}
	if err := h.s.client.Get(ctx, client.ObjectKey{Namespace: h.ns, Name: "settings"}, cm); err != nil {
		t.Fatal(err)
	}
	cm.Data["mode"] = "by-hand"
	if err := h.s.client.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	h.cycle()
	_, body = get("/metrics")
	expect(body, `lsstgen_sync_drift_total{instance="metrics"} 1`, `lsstgen_sync_objects_total{action="configured",instance="metrics"} 1`)

	// A refused commit counts as an error and makes the daemon unready, with the reason.
	h.repo.commitInstance(h.instance, with(h.files(), "configmap-settings.yaml", "kind: [\n"))
	if _, err := h.s.Cycle(ctx, h.src); err == nil {
		t.Fatal("a bad commit was accepted")
	}
	_, body = get("/metrics")
	expect(body, `lsstgen_sync_errors_total{instance="metrics"} 1`, `lsstgen_sync_last_success_commit_info{commit="`+commit+`",instance="metrics"} 1`)
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "refused") {
		t.Errorf("/readyz after a failed cycle: %d %q", code, body)
	}
}

// TestReadyzRoles: a standby that follows a leader is ready (it can take over); once it
// leads it is ready only after a cycle of its own has succeeded.
func TestReadyzRoles(t *testing.T) {
	m := NewMetrics()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	readyz := func() (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := readyz(); code != 503 {
		t.Fatalf("/readyz of a replica neither following nor synced: %d, want 503", code)
	}
	m.follow("replica-a")
	if code, body := readyz(); code != 200 || !strings.Contains(body, "standby: replica-a holds the Lease") {
		t.Fatalf("/readyz of a standby: %d %q, want 200 naming the leader", code, body)
	}
	m.lead()
	if code, body := readyz(); code != 503 || !strings.Contains(body, "no successful sync cycle yet") {
		t.Fatalf("/readyz of a new leader before its cycle: %d %q, want 503", code, body)
	}
	m.observe(&Result{Instance: "x", Commit: "c1"}, time.Second, nil)
	if code, _ := readyz(); code != 200 {
		t.Fatalf("/readyz of a leader after a cycle: %d, want 200", code)
	}
	m.observe(&Result{Instance: "x", Commit: "c1"}, time.Second, errors.New("apply refused"))
	if code, body := readyz(); code != 503 || !strings.Contains(body, "apply refused") {
		t.Fatalf("/readyz of a leader after a failed cycle: %d %q, want 503 with the error", code, body)
	}
}

// TestHealthWaitLeavesOutSelf: the daemon's own Deployment is not among the objects the
// health wait waits on; everything else is.
func TestHealthWaitLeavesOutSelf(t *testing.T) {
	mk := func(kind, ns, name string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("apps/v1")
		u.SetKind(kind)
		u.SetNamespace(ns)
		u.SetName(name)
		return u
	}
	objs := []*unstructured.Unstructured{
		mk("Deployment", "lsstgen-system", "lsstgen-sync"),
		mk("Deployment", "portal", "lsstgen-sync"),
		mk("ConfigMap", "lsstgen-system", "lsstgen-sync"),
	}
	s := &Syncer{opts: Options{Namespace: "lsstgen-system", SelfDeployment: "lsstgen-sync"}}
	var got []string
	for _, o := range s.withoutSelf(objs) {
		got = append(got, manifest.ObjectID(o))
	}
	want := []string{"Deployment/portal/lsstgen-sync", "ConfigMap/lsstgen-system/lsstgen-sync"}
	if !slices.Equal(got, want) {
		t.Errorf("waited on %v, want %v", got, want)
	}
	s.opts.SelfDeployment = ""
	if n := len(s.withoutSelf(objs)); n != 3 {
		t.Errorf("without a self deployment, %d objects waited on, want 3", n)
	}
	// Secrets are left out of the wait (the ServiceAccount may not list them).
	secret := mk("Secret", "dashboard", "kubernetes-dashboard-csrf")
	secret.SetAPIVersion("v1")
	got = nil
	for _, o := range waitable(append(objs, secret)) {
		got = append(got, manifest.ObjectID(o))
	}
	if slices.Contains(got, "Secret/dashboard/kubernetes-dashboard-csrf") || len(got) != 3 {
		t.Errorf("waited on %v, want the three objects without the Secret", got)
	}
}

// TestPruneRefusedMetric: a refused prune counts under its reason, whatever else the
// cycle's error joins; another failure counts under none.
func TestPruneRefusedMetric(t *testing.T) {
	m := NewMetrics()
	res := &Result{Instance: "pdac", Commit: "c"}
	m.observe(res, time.Second, errors.Join(errors.New("apply of one object failed"), &PruneRefusedError{Would: 5, Inventory: 6, Share: 0.25}))
	m.observe(res, time.Second, &NamespacePruneRefusedError{Holds: map[string][]string{"scratch": {"PersistentVolumeClaim/scratch/data"}}})
	m.observe(res, time.Second, errors.New("git fetch failed"))
	for reason, want := range map[string]float64{"share": 1, "namespace": 1} {
		if got := testutil.ToFloat64(m.pruneRefused.WithLabelValues("pdac", reason)); got != want {
			t.Errorf("prune refused (%s) = %v, want %v", reason, got, want)
		}
	}
	if n := testutil.CollectAndCount(m.pruneRefused); n != 2 {
		t.Errorf("%d series of prune refusals, want 2", n)
	}
}
