package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/lsst-dm/lsstgen/internal/testcluster"
)

var cluster testcluster.Shared

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard()) // ssa's controller-runtime client logs nothing we check
	os.Exit(cluster.Main(m))
}

// harness is one instance synced from a temporary git repository to the shared control plane.
type harness struct {
	t        *testing.T
	repo     *gitRepo
	src      *Source
	s        *Syncer
	logs     *bytes.Buffer
	instance string
	ns       string
}

func newHarness(t *testing.T, instance string, edit func(*Options)) *harness {
	t.Helper()
	c := cluster.Get(t)
	h := &harness{t: t, repo: newGitRepo(t), logs: &bytes.Buffer{}, instance: instance, ns: instance + "-ns"}
	h.src = &Source{Repo: h.repo.dir, Revision: "main"}
	opts := DefaultOptions(instance)
	opts.WaitTimeout = 20 * time.Second
	opts.HealthTimeout = 0 // no controllers run here: a Deployment never becomes ready
	if edit != nil {
		edit(&opts)
	}
	s, err := New(c.Admin(), Logger(h.logs), opts)
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	return h
}

func (h *harness) files() map[string]string { return fixture(h.instance, h.ns) }

// cycle runs one cycle that must succeed.
func (h *harness) cycle() *Result {
	h.t.Helper()
	res, err := h.s.Cycle(context.Background(), h.src)
	if err != nil {
		h.t.Fatalf("cycle: %v\nlogs:\n%s", err, h.logs)
	}
	return res
}

// actions returns object → action for the result.
func actions(res *Result) map[string]string {
	m := map[string]string{}
	for _, c := range res.Changes {
		m[c.Object] = c.Action
	}
	return m
}

// get returns the live object for an entry, or nil when it does not exist.
func (h *harness) get(apiVersion, kind, ns, name string) *unstructured.Unstructured {
	h.t.Helper()
	u := Entry{APIVersion: apiVersion, Kind: kind, Namespace: ns, Name: name}.object()
	err := h.s.client.Get(context.Background(), client.ObjectKeyFromObject(u), u)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return u
}

// fixtureEntries are the fixture's objects as inventory entries.
func (h *harness) fixtureEntries() []Entry {
	return []Entry{
		{APIVersion: "v1", Kind: "Namespace", Namespace: "", Name: h.ns},
		{APIVersion: "v1", Kind: "ConfigMap", Namespace: h.ns, Name: "settings"},
		{APIVersion: "v1", Kind: "ConfigMap", Namespace: h.ns, Name: "extra"},
		{APIVersion: "v1", Kind: "ServiceAccount", Namespace: h.ns, Name: "web"},
		{APIVersion: "v1", Kind: "Service", Namespace: h.ns, Name: "web"},
		{APIVersion: "apps/v1", Kind: "Deployment", Namespace: h.ns, Name: "web"},
	}
}

// versions returns the resourceVersion of each fixture object still present and of the
// inventory, as read from the apiserver.
func (h *harness) versions() map[string]string {
	h.t.Helper()
	m := map[string]string{}
	for _, e := range h.fixtureEntries() {
		if u := h.get(e.APIVersion, e.Kind, e.Namespace, e.Name); u != nil {
			m[e.String()] = u.GetResourceVersion()
		}
	}
	if u := h.get("v1", "ConfigMap", DefaultNamespace, InventoryName(h.instance)); u != nil {
		m["inventory"] = u.GetResourceVersion()
	}
	return m
}

// inventory reads the instance's inventory from the apiserver.
func (h *harness) inventory() *Inventory {
	h.t.Helper()
	inv, err := h.s.loadInventory(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return inv
}

func inventoryNames(s entrySet) []string {
	var out []string
	for _, e := range s {
		out = append(out, e.String())
	}
	sort.Strings(out)
	return out
}

// logLines decodes the JSON log lines.
func (h *harness) logLines() []map[string]any {
	h.t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			h.t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func want(t *testing.T, what string, wantV, got any) {
	t.Helper()
	if diff := cmp.Diff(wantV, got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

// runDaemon runs s.Run in the background under a child of ctx until the returned stop is
// called (once or more): stop cancels it and waits at most 30 s for Run to return cleanly.
func runDaemon(t *testing.T, ctx context.Context, s *Syncer, src *Source, interval time.Duration) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, src, interval) }()
	stopped := false
	return func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Run did not return within 30s of its context ending")
		}
	}
}
