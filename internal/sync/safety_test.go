package sync

import (
	"context"
	"errors"
	"net/http"
	"strings"
	gosync "sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// TestConflictSkippedIsNotRecorded: an object skipped for a conflict with another apply
// manager was not applied, so the inventory does not record it; one an earlier cycle
// applied stays recorded.
func TestConflictSkippedIsNotRecorded(t *testing.T) {
	h := newHarness(t, "skipped", nil)
	h.repo.commitInstance(h.instance, h.files())
	h.cycle()
	ctx := context.Background()
	// Another manager made ConfigMap shared, which the next commit adds to git, and took
	// data.mode of settings, which an earlier cycle applied.
	for name, owner := range map[string]string{"shared": "other-tool", "settings": "other-tool"} {
		theirs := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name, "namespace": h.ns},
			"data":     map[string]any{"mode": "theirs"},
		}}
		if err := h.s.client.Patch(ctx, theirs, client.Apply, client.ForceOwnership, client.FieldOwner(owner)); err != nil {
			t.Fatal(err)
		}
	}
	shared := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  namespace: " + h.ns + "\ndata:\n  mode: ours\n"
	h.repo.commitInstance(h.instance, with(h.files(), "configmap-shared.yaml", shared))
	res, err := h.s.Cycle(ctx, h.src)
	var ce *ConflictError
	if !errors.As(err, &ce) || len(ce.Objects) != 2 {
		t.Fatalf("error = %v, want conflicts on ConfigMaps shared and settings", err)
	}
	if got := actions(res)["ConfigMap/"+h.ns+"/shared"]; got != "skipped" {
		t.Errorf("ConfigMap shared: %s, want skipped", got)
	}
	inv := h.inventory()
	if _, ok := inv.Objects[(Entry{APIVersion: "v1", Kind: "ConfigMap", Namespace: h.ns, Name: "shared"}).key()]; ok {
		t.Error("ConfigMap shared, skipped for a conflict, is recorded in the inventory as applied")
	}
	if _, ok := inv.Objects[(Entry{APIVersion: "v1", Kind: "ConfigMap", Namespace: h.ns, Name: "settings"}).key()]; !ok {
		t.Error("ConfigMap settings, applied by an earlier cycle, left the inventory when it conflicted")
	}
	if len(inv.Pending) != 0 {
		t.Errorf("pending after the cycle: %v", inventoryNames(inv.Pending))
	}
}

// TestUnservedKindKeepsItsEntries: an inventory entry of a kind the apiserver does not
// serve (a CRD removed) is neither pruned nor dropped: the cycle reports it and keeps it.
func TestUnservedKindKeepsItsEntries(t *testing.T) {
	h := newHarness(t, "gone-kind", nil)
	h.repo.commitInstance(h.instance, h.files())
	h.cycle()
	ctx := context.Background()
	inv := h.inventory()
	widget := Entry{APIVersion: "example.org/v1", Kind: "Widget", Namespace: h.ns, Name: "w"}
	inv.Objects.add(widget)
	if err := h.s.saveInventory(ctx, inv); err != nil {
		t.Fatal(err)
	}
	res, err := h.s.Cycle(ctx, h.src)
	if err != nil {
		t.Fatalf("cycle: %v", err)
	}
	var reported bool
	for _, c := range res.Changes {
		if c.Object == widget.String() && c.Action == "skipped" && strings.Contains(c.Reason, "no longer serves example.org/v1 Widget") {
			reported = true
		}
	}
	if !reported {
		t.Errorf("the unserved Widget is not reported: %+v", res.Changes)
	}
	if _, ok := h.inventory().Objects[widget.key()]; !ok {
		t.Error("the unserved Widget's entry was dropped from the inventory")
	}
}

// TestPruneShareCountsConfirmedObjects: the share a cycle may prune is of what the last
// successful cycle applied; pending entries (a failed cycle's, perhaps never created) do
// not widen it. Six confirmed objects and two pending that left git: a quarter of six is
// one, so the prune of two is refused (counted with the pending, a quarter of eight, two,
// would let it through).
func TestPruneShareCountsConfirmedObjects(t *testing.T) {
	h := newHarness(t, "share", nil)
	h.repo.commitInstance(h.instance, h.files())
	h.cycle()
	ctx := context.Background()
	inv := h.inventory()
	if len(inv.Objects) != 6 {
		t.Fatalf("inventory of %d objects, want the fixture's 6", len(inv.Objects))
	}
	for _, name := range []string{"p0", "p1"} {
		cm := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name, "namespace": h.ns, "labels": map[string]any{
				manifest.LabelInstance: h.instance, manifest.LabelManagedBy: manifest.ManagedBy}},
		}}
		if err := h.s.client.Create(ctx, cm); err != nil {
			t.Fatal(err)
		}
		inv.Pending.add(entryOf(cm))
	}
	inv.PendingCommit = "0000000000000000000000000000000000000000"
	if err := h.s.saveInventory(ctx, inv); err != nil {
		t.Fatal(err)
	}
	_, err := h.s.Cycle(ctx, h.src)
	var refused *PruneRefusedError
	if !errors.As(err, &refused) || refused.Inventory != 6 || refused.Would != 2 {
		t.Fatalf("error = %v, want the prune of 2 of 6 confirmed objects refused", err)
	}
	for _, name := range []string{"p0", "p1"} {
		if h.get("v1", "ConfigMap", h.ns, name) == nil {
			t.Errorf("ConfigMap %s was pruned", name)
		}
	}
}

// TestNamespacePruneRefusedWhileItHolds: a Namespace the model lets go is not pruned while
// it holds an object sync does not manage or a claim; the cycle fails naming them, and
// the Namespace stays in the inventory. Forced, it goes.
func TestNamespacePruneRefusedWhileItHolds(t *testing.T) {
	h := newHarness(t, "nsguard", nil)
	scratch := map[string]string{
		"namespace-scratch.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: nsguard-scratch\n  annotations:\n    " +
			manifest.AnnotationPrune + ": " + manifest.PruneAllowed + "\n",
		"configmap-notes.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\n  namespace: nsguard-scratch\ndata:\n  a: b\n",
	}
	files := h.files()
	for k, v := range scratch {
		files = with(files, k, v)
	}
	h.repo.commitInstance(h.instance, files)
	h.cycle()
	ctx := context.Background()
	for _, o := range []*unstructured.Unstructured{
		{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": "hand-made", "namespace": "nsguard-scratch"}}},
		{Object: map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
			"metadata": map[string]any{"name": "results", "namespace": "nsguard-scratch"},
			"spec": map[string]any{"accessModes": []any{"ReadWriteOnce"}, "storageClassName": "none",
				"resources": map[string]any{"requests": map[string]any{"storage": "1Gi"}}}}},
	} {
		if err := h.s.client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	h.repo.commitInstance(h.instance, h.files())
	h.s.opts.MaxPruneShare = 1 // the share is another guard's business
	_, err := h.s.Cycle(ctx, h.src)
	var refused *NamespacePruneRefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("error = %v, want the Namespace's prune refused", err)
	}
	for _, s := range []string{"Namespace/nsguard-scratch still holds", "ConfigMap/nsguard-scratch/hand-made", "PersistentVolumeClaim/nsguard-scratch/results", "--force-prune"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error does not say %q: %v", s, err)
		}
	}
	if strings.Contains(err.Error(), "kube-root-ca.crt") || strings.Contains(err.Error(), "ServiceAccount/nsguard-scratch/default") {
		t.Errorf("error names what every namespace holds: %v", err)
	}
	if ns := h.get("v1", "Namespace", "", "nsguard-scratch"); ns == nil || ns.GetDeletionTimestamp() != nil {
		t.Fatal("the Namespace was deleted although it holds a claim and an object sync does not manage")
	}
	if h.get("v1", "ConfigMap", "nsguard-scratch", "notes") != nil {
		t.Error("ConfigMap notes, which left git, was not pruned beside the refused Namespace")
	}
	if _, ok := h.inventory().Objects[(Entry{APIVersion: "v1", Kind: "Namespace", Name: "nsguard-scratch"}).key()]; !ok {
		t.Error("the refused Namespace left the inventory: a later cycle would never prune it")
	}

	h.s.opts.ForcePrune = true
	if _, err := h.s.Cycle(ctx, h.src); err != nil {
		t.Fatalf("forced cycle: %v", err)
	}
	if ns := h.get("v1", "Namespace", "", "nsguard-scratch"); ns != nil && ns.GetDeletionTimestamp() == nil {
		t.Error("the forced prune left the Namespace")
	}
}

// countingTransport counts the requests a client makes, by kind.
type countingTransport struct {
	next http.RoundTripper
	mu   gosync.Mutex
	n    map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	kind := r.Method
	if r.Method == http.MethodPatch && r.URL.Query().Get("dryRun") == "All" {
		kind = "PATCH dry-run"
	}
	// The REST mapper's discovery: /api, /api/v1, /apis, /apis/<group>/<version>.
	if segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/"); r.Method == http.MethodGet &&
		(segs[0] == "api" && len(segs) <= 2 || segs[0] == "apis" && len(segs) <= 3) {
		kind = "GET discovery"
	}
	c.mu.Lock()
	c.n[kind]++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

// TestNoOpCycleRoundTrips: a cycle with nothing to change dry-runs each object once (the
// conflict check, whose result also says the object is as git has it), writes nothing, and
// reads no object one by one: the apply engine is not asked about settled objects.
func TestNoOpCycleRoundTrips(t *testing.T) {
	h := newHarness(t, "roundtrips", nil)
	h.repo.commitInstance(h.instance, h.files())
	h.cycle()
	counter := &countingTransport{n: map[string]int{}}
	cfg := cluster.Get(t).Admin()
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { counter.next = rt; return counter }
	s, err := New(cfg, Logger(&lockedBuffer{}), h.s.opts)
	if err != nil {
		t.Fatal(err)
	}
	counter.mu.Lock()
	counter.n = map[string]int{} // discovery is the mapper's, not the cycle's
	counter.mu.Unlock()
	res, err := s.Cycle(context.Background(), h.src)
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed() {
		t.Fatalf("the cycle changed something: %+v", res.Changes)
	}
	objects := len(h.files())
	counter.mu.Lock()
	defer counter.mu.Unlock()
	if got := counter.n["PATCH dry-run"]; got != objects {
		t.Errorf("%d dry runs for %d objects, want one each", got, objects)
	}
	for _, write := range []string{http.MethodPatch, http.MethodPut, http.MethodPost, http.MethodDelete} {
		if counter.n[write] != 0 {
			t.Errorf("%d %s requests in a cycle with nothing to change", counter.n[write], write)
		}
	}
	// GETs: the inventory, and one list per kind for the fields of drift.
	if got := counter.n[http.MethodGet]; got > 1+len(kindsOf(h.files())) {
		t.Errorf("%d GET requests, want at most the inventory and one list per kind (%d)", got, 1+len(kindsOf(h.files())))
	}
}

// kindsOf are the kinds of the fixture's files, by their file names' first word.
func kindsOf(files map[string]string) map[string]bool {
	out := map[string]bool{}
	for name := range files {
		kind, _, _ := strings.Cut(name, "-")
		out[strings.TrimSuffix(kind, ".yaml")] = true
	}
	return out
}
