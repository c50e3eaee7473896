package sync

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// TestWebhookRequests: only a POST of a correctly signed push to the branch followed asks
// for a cycle; asks coalesce; every request is counted by its result, and a bad signature
// is recorded.
func TestWebhookRequests(t *testing.T) {
	secret := []byte("hook-secret")
	w, err := NewWebhook(secret, "main", time.Second, Logger(&lockedBuffer{}))
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics()
	w.SetMetrics(m)
	var rejections []string
	w.OnRejected(func(reason string) { rejections = append(rejections, reason) })
	push := []byte(`{"ref":"refs/heads/main","after":"0123"}`)
	other := []byte(`{"ref":"refs/heads/feature"}`)
	post := func(method, event string, body []byte, sig string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, WebhookPath, bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", event)
		if sig != "" {
			req.Header.Set("X-Hub-Signature-256", sig)
		}
		rec := httptest.NewRecorder()
		w.ServeHTTP(rec, req)
		return rec
	}
	asked := func() bool {
		select {
		case <-w.Asks():
			return true
		default:
			return false
		}
	}
	for _, tc := range []struct {
		name, method, event string
		body                []byte
		sig                 string
		code                int
		says                string
		asks                bool
	}{
		{"push to main", http.MethodPost, "push", push, sign(secret, push), 202, "a cycle is asked for", true},
		{"push to another branch", http.MethodPost, "push", other, sign(secret, other), 202, "ignored: following refs/heads/main", false},
		{"ping", http.MethodPost, "ping", []byte(`{}`), sign(secret, []byte(`{}`)), 200, "pong", false},
		{"another event", http.MethodPost, "issues", []byte(`{}`), sign(secret, []byte(`{}`)), 202, `event "issues" ignored`, false},
		{"no signature", http.MethodPost, "push", push, "", 401, "signature does not match", false},
		{"signed with another secret", http.MethodPost, "push", push, sign([]byte("other"), push), 401, "signature does not match", false},
		{"signature of another body", http.MethodPost, "push", push, sign(secret, other), 401, "signature does not match", false},
		{"not hex", http.MethodPost, "push", push, "sha256=zz", 401, "signature does not match", false},
		{"GET", http.MethodGet, "push", nil, "", 405, "POST", false},
		{"push without a ref", http.MethodPost, "push", []byte(`{}`), sign(secret, []byte(`{}`)), 400, "no ref", false},
		{"too large", http.MethodPost, "push", bytes.Repeat([]byte("x"), maxWebhookBody+1), "", 413, "larger than", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := post(tc.method, tc.event, tc.body, tc.sig)
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.says) {
				t.Errorf("%d %q, want %d saying %q", rec.Code, rec.Body.String(), tc.code, tc.says)
			}
			if got := asked(); got != tc.asks {
				t.Errorf("asked for a cycle: %v, want %v", got, tc.asks)
			}
		})
	}
	// Three pushes in a row are one ask.
	for range 3 {
		post(http.MethodPost, "push", push, sign(secret, push))
	}
	if !asked() || asked() {
		t.Error("three pushes in a row did not make exactly one pending ask")
	}
	for result, want := range map[string]float64{"accepted": 4, "ignored": 2, "ping": 1, "bad-signature": 4, "bad-request": 3} {
		if got := testutil.ToFloat64(m.webhooks.WithLabelValues(result)); got != want {
			t.Errorf("webhook requests %s = %v, want %v", result, got, want)
		}
	}
	if len(rejections) != 4 {
		t.Errorf("%d bad signatures recorded, want 4", len(rejections))
	}
	if _, err := NewWebhook([]byte(" \n"), "main", 0, Logger(&lockedBuffer{})); err == nil {
		t.Error("a webhook with an empty secret was made")
	}
}

// TestWebhookStartsACycle: with a webhook, Run starts a cycle as soon as a push asks,
// beside a long interval, and no sooner than MinGap after the last one.
func TestWebhookStartsACycle(t *testing.T) {
	h := newHarness(t, "hooked", nil)
	h.repo.commitInstance(h.instance, h.files())
	logs := &lockedBuffer{}
	s, err := New(cluster.Get(t).Admin(), Logger(logs), h.s.opts)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("s")
	w, err := NewWebhook(secret, "main", 2*time.Second, Logger(&lockedBuffer{}))
	if err != nil {
		t.Fatal(err)
	}
	s.SetWebhook(w)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, h.src, time.Hour) }()
	defer func() {
		cancel()
		<-done
	}()
	cycles := func() int { return strings.Count(logs.String(), `"msg":"cycle"`) }
	waitFor(t, "the first cycle", func() bool { return cycles() == 1 })
	h.repo.commitInstance(h.instance, with(h.files(), "configmap-new.yaml",
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: new\n  namespace: "+h.ns+"\ndata:\n  a: b\n"))
	asked := time.Now()
	body := []byte(`{"ref":"refs/heads/main"}`)
	req := httptest.NewRequest(http.MethodPost, WebhookPath, bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", sign(secret, body))
	w.ServeHTTP(httptest.NewRecorder(), req)
	waitFor(t, "the cycle the push asked for", func() bool { return cycles() == 2 })
	if took := time.Since(asked); took > 10*time.Second {
		t.Errorf("the asked cycle came %v after the push", took)
	}
	if h.get("v1", "ConfigMap", h.ns, "new") == nil {
		t.Error("the pushed commit's ConfigMap was not applied")
	}
	if !strings.Contains(logs.String(), "cycle asked for by the webhook") {
		t.Errorf("the webhook's cycle is not logged as such:\n%s", logs)
	}
}

// TestWebhookEndpointFollowsTheLeader: the leader points the webhook Service's
// EndpointSlice at itself; when another replica takes over, at the new leader.
func TestWebhookEndpointFollowsTheLeader(t *testing.T) {
	c := cluster.Get(t)
	r := newGitRepo(t)
	r.commitInstance("hookep", fixture("hookep", "hookep-ns"))
	lo := func(id string) LeaderOptions {
		return LeaderOptions{Identity: id, LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 100 * time.Millisecond}
	}
	start := func(id, ip string) (context.CancelFunc, chan error) {
		opts := DefaultOptions("hookep")
		opts.HealthTimeout = 0 // no controllers here
		opts.WebhookEndpoint = &WebhookEndpoint{Service: "lsstgen-sync-webhook-hookep", IP: ip, Port: 9091}
		s, err := New(c.Admin(), Logger(&lockedBuffer{}), opts)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.RunLeader(ctx, &Source{Repo: r.dir}, time.Hour, lo(id)) }()
		return cancel, done
	}
	cl, err := client.New(c.Admin(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	address := func() string {
		var es discoveryv1.EndpointSlice
		if err := cl.Get(context.Background(), client.ObjectKey{Namespace: DefaultNamespace, Name: "lsstgen-sync-webhook-hookep"}, &es); err != nil || len(es.Endpoints) != 1 || len(es.Endpoints[0].Addresses) != 1 {
			return ""
		}
		if es.Labels["kubernetes.io/service-name"] != "lsstgen-sync-webhook-hookep" || len(es.Ports) != 1 || *es.Ports[0].Port != 9091 {
			return "malformed"
		}
		return es.Endpoints[0].Addresses[0]
	}
	stopA, doneA := start("a", "10.0.0.1")
	waitFor(t, "the leader's endpoint", func() bool { return address() == "10.0.0.1" })
	stopB, doneB := start("b", "10.0.0.2")
	defer func() { stopB(); <-doneB }()
	time.Sleep(500 * time.Millisecond)
	if got := address(); got != "10.0.0.1" {
		t.Errorf("a standby moved the endpoint to %s", got)
	}
	stopA()
	<-doneA
	waitFor(t, "the endpoint to follow the new leader", func() bool { return address() == "10.0.0.2" })
}

// TestWebhookRejectedEvent: a bad signature, through the daemon's webhook, leaves a
// WebhookRejected Warning Event on the inventory ConfigMap.
func TestWebhookRejectedEvent(t *testing.T) {
	h := newHarness(t, "hookevent", nil)
	h.repo.commitInstance(h.instance, h.files())
	h.cycle()
	w, err := NewWebhook([]byte("s"), "main", time.Second, Logger(&lockedBuffer{}))
	if err != nil {
		t.Fatal(err)
	}
	w.OnRejected(func(reason string) { h.s.WebhookRejected(context.Background(), reason) })
	req := httptest.NewRequest(http.MethodPost, WebhookPath, strings.NewReader(`{"ref":"refs/heads/main"}`))
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256=00")
	w.ServeHTTP(httptest.NewRecorder(), req)
	var list corev1.EventList
	if err := h.s.client.List(context.Background(), &list, client.InNamespace(DefaultNamespace)); err != nil {
		t.Fatal(err)
	}
	for _, e := range list.Items {
		if e.Reason == ReasonWebhookRejected && e.InvolvedObject.Name == InventoryName(h.instance) && e.Type == corev1.EventTypeWarning &&
			strings.Contains(e.Message, "signature does not match") {
			return
		}
	}
	t.Errorf("no WebhookRejected Event on the inventory among %d Events", len(list.Items))
}
