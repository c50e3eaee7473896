package sync

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	gosync "sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// WebhookPath is where the webhook receiver takes GitHub's push events.
const WebhookPath = "/hooks/github"

// maxWebhookBody bounds a request's body: GitHub sends at most 25 MB, a push of a few
// commits a few kB; a larger one is refused unread.
const maxWebhookBody = 1 << 20

// Webhook receives GitHub push events, verified by their HMAC-SHA256 signature
// (X-Hub-Signature-256) with the shared secret, and asks for a cycle at once when the push
// is to the branch followed. Requests come in faster than cycles can run: asks are
// coalesced (one is pending at most) and Run starts a cycle at most once per MinGap.
type Webhook struct {
	secret []byte
	// Branch is the branch whose pushes ask for a cycle; "" for any push.
	Branch string
	// MinGap is the least time between two cycles a webhook starts.
	MinGap  time.Duration
	log     *slog.Logger
	metrics *Metrics
	asks    chan struct{}

	mu       gosync.Mutex
	rejected func(reason string) // records a rejection (an Event); may be nil
}

// NewWebhook returns a receiver verifying with secret (not empty).
func NewWebhook(secret []byte, branch string, minGap time.Duration, log *slog.Logger) (*Webhook, error) {
	if len(strings.TrimSpace(string(secret))) == 0 {
		return nil, errors.New("the webhook's secret is empty: a request could not be verified")
	}
	if minGap <= 0 {
		minGap = 10 * time.Second
	}
	return &Webhook{secret: secret, Branch: branch, MinGap: minGap, log: log, asks: make(chan struct{}, 1)}, nil
}

// Asks delivers the webhook's asks for a cycle.
func (w *Webhook) Asks() <-chan struct{} { return w.asks }

// SetMetrics counts requests in m (lsstgen_sync_webhook_requests_total).
func (w *Webhook) SetMetrics(m *Metrics) { w.metrics = m }

// OnRejected sets what records a refused request (a bad signature), beside the log.
func (w *Webhook) OnRejected(f func(reason string)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rejected = f
}

func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	result, code, msg := w.handle(r)
	w.metrics.webhook(result)
	if result == "bad-signature" || result == "bad-request" {
		w.log.Warn("webhook request refused", "result", result, "reason", msg, "remote", r.RemoteAddr)
		w.mu.Lock()
		f := w.rejected
		w.mu.Unlock()
		if f != nil && result == "bad-signature" {
			f(msg)
		}
	} else {
		w.log.Info("webhook", "result", result, "event", r.Header.Get("X-GitHub-Event"), "delivery", r.Header.Get("X-GitHub-Delivery"))
	}
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.WriteHeader(code)
	fmt.Fprintln(rw, msg)
}

// handle decides on one request: its result (for the metric), status and answer.
func (w *Webhook) handle(r *http.Request) (string, int, string) {
	if r.Method != http.MethodPost {
		return "bad-request", http.StatusMethodNotAllowed, "POST a GitHub push event"
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
	if err != nil {
		return "bad-request", http.StatusBadRequest, "reading the body: " + err.Error()
	}
	if len(body) > maxWebhookBody {
		return "bad-request", http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", maxWebhookBody)
	}
	if !w.verify(body, r.Header.Get("X-Hub-Signature-256")) {
		return "bad-signature", http.StatusUnauthorized, "the X-Hub-Signature-256 signature does not match the body: check that the webhook's secret is the one the daemon reads"
	}
	switch event := r.Header.Get("X-GitHub-Event"); event {
	case "ping":
		return "ping", http.StatusOK, "pong"
	case "push":
	default:
		return "ignored", http.StatusAccepted, fmt.Sprintf("event %q ignored: only push events ask for a cycle", event)
	}
	var push struct {
		Ref string `json:"ref"`
	}
	if err := json.Unmarshal(body, &push); err != nil || push.Ref == "" {
		return "bad-request", http.StatusBadRequest, "the push event has no ref"
	}
	if w.Branch != "" && push.Ref != "refs/heads/"+w.Branch {
		return "ignored", http.StatusAccepted, fmt.Sprintf("push to %s ignored: following refs/heads/%s", push.Ref, w.Branch)
	}
	select {
	case w.asks <- struct{}{}:
	default: // one ask pending already: this one is folded into it
	}
	return "accepted", http.StatusAccepted, "a cycle is asked for"
}

// verify checks GitHub's signature: "sha256=" and the hex HMAC-SHA256 of the body.
func (w *Webhook) verify(body []byte, header string) bool {
	hexSum, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, w.secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// WebhookEndpoint is where this replica's webhook receiver listens, published for the
// Service the webhook's Ingress points at while this replica leads: the Service has no
// selector, and the leader keeps its one EndpointSlice pointing at itself, so a push
// always reaches the replica that runs cycles.
type WebhookEndpoint struct {
	// Service is the Service's name in the sync's namespace; the EndpointSlice has the
	// same name.
	Service string
	// IP is this pod's address (the downward API's status.podIP); Port the receiver's.
	IP   string
	Port int32
}

// WebhookEndpointManager is the field manager of the EndpointSlice the leader publishes.
const WebhookEndpointManager = "lsstgen-sync-webhook"

// publishEndpoint points the webhook Service's EndpointSlice at this replica.
func (s *Syncer) publishEndpoint(ctx context.Context, e *WebhookEndpoint) error {
	family := "IPv4"
	if strings.Contains(e.IP, ":") {
		family = "IPv6"
	}
	slice := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "discovery.k8s.io/v1",
		"kind":       "EndpointSlice",
		"metadata": map[string]any{
			"name":      e.Service,
			"namespace": s.opts.Namespace,
			"labels": map[string]any{
				"kubernetes.io/service-name":             e.Service,
				"endpointslice.kubernetes.io/managed-by": WebhookEndpointManager,
			},
		},
		"addressType": family,
		"endpoints":   []any{map[string]any{"addresses": []any{e.IP}, "conditions": map[string]any{"ready": true}}},
		"ports":       []any{map[string]any{"name": "webhook", "port": int64(e.Port), "protocol": "TCP"}},
	}}
	if err := s.client.Patch(ctx, slice, client.Apply, client.ForceOwnership, client.FieldOwner(WebhookEndpointManager)); err != nil {
		return fmt.Errorf("pointing the EndpointSlice %s/%s of the webhook at %s: %w", s.opts.Namespace, e.Service, e.IP, err)
	}
	s.log.Info("webhook endpoint published", "instance", s.opts.Instance, "service", e.Service, "ip", e.IP)
	return nil
}
