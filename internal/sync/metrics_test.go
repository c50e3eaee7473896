package sync

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
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
