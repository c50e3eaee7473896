package sync

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/testcluster"
)

func TestCrashBetweenApplyAndInventoryCommit(t *testing.T) {
	h := newHarness(t, "crash", nil)
	h.repo.commitInstance(h.instance, h.files())
	h.cycle()

	// A commit adds ConfigMap late; the process dies after applying it and before the
	// inventory is committed: the first half of Sync, by hand.
	late := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: late\n  namespace: " + h.ns + "\ndata:\n  x: z\n"
	h.repo.commitInstance(h.instance, with(h.files(), "configmap-late.yaml", late))
	ctx := context.Background()
	snap, err := h.src.Fetch(ctx, h.instance)
	if err != nil {
		t.Fatal(err)
	}
	objs, desired, err := h.s.prepare(snap)
	if err != nil {
		t.Fatal(err)
	}
	inv := h.inventory()
	inv.Pending.add(desired.sorted()...)
	inv.PendingCommit = snap.Commit
	if err := h.s.saveInventory(ctx, inv); err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.apply(ctx, objs); err != nil {
		t.Fatal(err)
	}
	if h.get("v1", "ConfigMap", h.ns, "late") == nil {
		t.Fatal("ConfigMap late was not applied")
	}
	if inv := h.inventory(); len(inv.Pending) == 0 {
		t.Fatal("nothing pending after the simulated crash")
	}

	// The next commit drops late again: the restarted loop must prune it although the
	// committed inventory never listed it.
	fixed := h.repo.commitInstance(h.instance, h.files())
	res := h.cycle()
	if h.get("v1", "ConfigMap", h.ns, "late") != nil {
		t.Errorf("ConfigMap late, applied before the crash, was not pruned: %v", actions(res))
	}
	if inv := h.inventory(); inv.Commit != fixed || len(inv.Pending) != 0 || len(inv.Objects) != 6 {
		t.Errorf("inventory %s with %v pending %v, want %s with the 6 fixture objects", inv.Commit, inventoryNames(inv.Objects), inventoryNames(inv.Pending), fixed)
	}
}

func TestPruneLeavesProtectedObjects(t *testing.T) {
	h := newHarness(t, "keep", func(o *Options) { o.MaxPruneShare = 1 })
	pvc := "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  namespace: " + h.ns +
		"\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n"
	files := with(h.files(), "pvc-data.yaml", pvc)
	h.repo.commitInstance(h.instance, files)
	h.cycle()

	// By hand: one object annotated to keep, one whose owner label was taken away.
	ctx := context.Background()
	cm := &corev1.ConfigMap{}
	if err := h.s.client.Get(ctx, client.ObjectKey{Namespace: h.ns, Name: "extra"}, cm); err != nil {
		t.Fatal(err)
	}
	cm.Annotations = map[string]string{manifest.AnnotationPrune: manifest.PruneDisabled}
	if err := h.s.client.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	sa := &corev1.ServiceAccount{}
	if err := h.s.client.Get(ctx, client.ObjectKey{Namespace: h.ns, Name: "web"}, sa); err != nil {
		t.Fatal(err)
	}
	sa.Labels[manifest.LabelInstance] = "someone-else"
	if err := h.s.client.Update(ctx, sa); err != nil {
		t.Fatal(err)
	}

	// Everything but the Deployment leaves git.
	h.repo.commitInstance(h.instance, map[string]string{"deployment-web.yaml": h.files()["deployment-web.yaml"]})
	res := h.cycle()
	got := map[string]string{}
	for _, c := range res.Changes {
		if c.Action != "unchanged" {
			got[c.Object] = c.Action
		}
	}
	want(t, "prune actions", map[string]string{
		"Namespace/" + h.ns:                       "skipped",
		"PersistentVolumeClaim/" + h.ns + "/data": "skipped",
		"ConfigMap/" + h.ns + "/extra":            "skipped",
		"ServiceAccount/" + h.ns + "/web":         "skipped",
		"ConfigMap/" + h.ns + "/settings":         "deleted",
		"Service/" + h.ns + "/web":                "deleted",
	}, got)
	for _, c := range res.Changes {
		if c.Action == "skipped" && c.Reason == "" {
			t.Errorf("%s skipped without a reason", c.Object)
		}
	}
	for _, e := range []Entry{{APIVersion: "v1", Kind: "Namespace", Namespace: "", Name: h.ns}, {APIVersion: "v1", Kind: "PersistentVolumeClaim", Namespace: h.ns, Name: "data"}, {APIVersion: "v1", Kind: "ConfigMap", Namespace: h.ns, Name: "extra"}, {APIVersion: "v1", Kind: "ServiceAccount", Namespace: h.ns, Name: "web"}} {
		if u := h.get(e.APIVersion, e.Kind, e.Namespace, e.Name); u == nil || u.GetDeletionTimestamp() != nil {
			t.Errorf("%s was pruned", e)
		}
	}
	if h.get("v1", "ConfigMap", h.ns, "settings") != nil {
		t.Error("ConfigMap settings was not pruned")
	}
	// Objects left in place are no longer managed: the inventory holds the Deployment only.
	want(t, "inventory", []string{"Deployment/" + h.ns + "/web"}, inventoryNames(h.inventory().Objects))
}

func TestPruneProtectedKindsWhenAllowed(t *testing.T) {
	h := newHarness(t, "allowpvc", func(o *Options) { o.PruneProtectedKinds = true })
	pvc := "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  namespace: " + h.ns +
		"\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n"
	h.repo.commitInstance(h.instance, with(h.files(), "pvc-data.yaml", pvc))
	h.cycle()
	h.repo.commitInstance(h.instance, h.files())
	res := h.cycle()
	if got := actions(res)["PersistentVolumeClaim/"+h.ns+"/data"]; got != "deleted" {
		t.Errorf("PVC action = %q, want deleted", got)
	}
	if u := h.get("v1", "PersistentVolumeClaim", h.ns, "data"); u != nil && u.GetDeletionTimestamp() == nil {
		t.Error("PVC neither gone nor being deleted")
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	h := newHarness(t, "dry", func(o *Options) { o.DryRun = true })
	h.repo.commitInstance(h.instance, h.files())
	res := h.cycle()
	wantActions := map[string]string{}
	for _, e := range h.fixtureEntries() {
		wantActions[e.String()] = "created"
	}
	want(t, "dry-run actions on an empty cluster", wantActions, actions(res))
	if v := h.versions(); len(v) != 0 {
		t.Errorf("a dry run wrote %v", v)
	}

	// Against a synced cluster a dry run reports the prune and a change, and does neither.
	h.s.opts.DryRun = false
	h.cycle()
	before := h.versions()
	h.s.opts.DryRun = true
	h.repo.commitInstance(h.instance, with(without(h.files(), "configmap-extra.yaml"), "configmap-settings.yaml",
		strings.Replace(h.files()["configmap-settings.yaml"], "mode: test", "mode: changed", 1)))
	res = h.cycle()
	got := map[string]string{}
	for o, a := range actions(res) {
		if a != "unchanged" {
			got[o] = a
		}
	}
	want(t, "dry-run changes", map[string]string{
		"ConfigMap/" + h.ns + "/extra":    "deleted",
		"ConfigMap/" + h.ns + "/settings": "configured",
	}, got)
	if !res.Changed() {
		t.Error("Changed() = false for a dry run with changes")
	}
	want(t, "resourceVersions after a dry run", before, h.versions())
}

func TestSyncErrors(t *testing.T) {
	c := cluster.Get(t)
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"no instance", DefaultOptions(""), "no instance"},
		{"share above 1", func() Options { o := DefaultOptions("x"); o.MaxPruneShare = 1.5; return o }(), "not between 0 and 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(c.Admin(), Logger(&strings.Builder{}), tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("unreachable apiserver", func(t *testing.T) {
		cfg := c.Admin()
		cfg.Host = "https://127.0.0.1:1"
		s, err := New(cfg, Logger(&strings.Builder{}), DefaultOptions("x"))
		if err != nil {
			return // refused up front: fine
		}
		r := newGitRepo(t)
		r.commitInstance("x", fixture("x", "x-ns"))
		if _, err := s.Cycle(context.Background(), &Source{Repo: r.dir}); err == nil {
			t.Error("a cycle against an apiserver that does not answer succeeded")
		}
	})

	h := newHarness(t, "errs", nil)
	ctx := context.Background()
	t.Run("snapshot of another instance", func(t *testing.T) {
		_, err := h.s.Sync(ctx, &Snapshot{Instance: "other"})
		if err == nil || !strings.Contains(err.Error(), "given to the sync of errs") {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("object defined twice", func(t *testing.T) {
		h.repo.commitInstance(h.instance, with(h.files(), "configmap-again.yaml", h.files()["configmap-extra.yaml"]))
		_, err := h.s.Cycle(ctx, h.src)
		var se *SourceError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), "ConfigMap/errs-ns/extra is defined twice") {
			t.Errorf("error = %v, want a SourceError saying ConfigMap extra is defined twice", err)
		}
		if v := h.versions(); len(v) != 0 {
			t.Errorf("a refused commit wrote %v", v)
		}
	})
	t.Run("corrupt inventory", func(t *testing.T) {
		h.repo.commitInstance(h.instance, h.files())
		h.cycle()
		cm := &corev1.ConfigMap{}
		if err := h.s.client.Get(ctx, client.ObjectKey{Namespace: DefaultNamespace, Name: InventoryName(h.instance)}, cm); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"{not json", `[{"kind":"ConfigMap"}]`} {
			cm.Data[InventoryObjects] = bad
			if err := h.s.client.Update(ctx, cm); err != nil {
				t.Fatal(err)
			}
			before := h.versions()
			_, err := h.s.Cycle(ctx, h.src)
			if err == nil || !strings.Contains(err.Error(), "inventory "+DefaultNamespace+"/"+InventoryName(h.instance)) {
				t.Errorf("inventory %q: error = %v, want one naming the inventory", bad, err)
			}
			want(t, "resourceVersions after a corrupt inventory", before, h.versions())
		}
		if err := h.s.client.Delete(ctx, cm); err != nil {
			t.Fatal(err)
		}
		h.cycle()
	})
	t.Run("inventory written concurrently", func(t *testing.T) {
		inv := h.inventory()
		other := h.inventory()
		other.Commit = "elsewhere"
		if err := h.s.saveInventory(ctx, other); err != nil {
			t.Fatal(err)
		}
		inv.Commit = "mine"
		if err := h.s.saveInventory(ctx, inv); err == nil || !strings.Contains(err.Error(), "updating the inventory") {
			t.Errorf("stale write: error = %v, want a conflict", err)
		}
	})
}

// TestSyncPDAC syncs the committed generated/pdac of this repository at HEAD.
func TestSyncPDAC(t *testing.T) {
	c := cluster.Get(t)
	root, err := manifest.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	logs := &strings.Builder{}
	opts := DefaultOptions("pdac")
	opts.HealthTimeout = 0 // no controllers: its workloads never become ready here
	s, err := New(c.Admin(), Logger(logs), opts)
	if err != nil {
		t.Fatal(err)
	}
	src := &Source{Repo: root, Revision: "HEAD"}
	snap, err := src.Fetch(context.Background(), "pdac")
	if err != nil {
		t.Fatal(err)
	}
	// The break-glass group applies the bootstrap tier first (README).
	var boot []manifest.Object
	for _, o := range snap.Objects {
		if isBootstrap(o) {
			boot = append(boot, manifest.Object{Unstructured: o.DeepCopy()})
		}
	}
	if len(boot) == 0 {
		t.Fatal("generated/pdac has no object of the bootstrap tier")
	}
	rejected, err := testcluster.Apply(context.Background(), c.Admin(), boot, testcluster.ApplyOptions{FieldManager: "kubectl"})
	if err != nil || len(rejected) > 0 {
		t.Fatalf("bootstrap tier: %v %v", err, rejected)
	}
	res, err := s.Cycle(context.Background(), src)
	if err != nil {
		t.Fatalf("first sync of pdac: %v\n%s", err, logs)
	}
	// Other tests share the control plane and may have made lsstgen-system already.
	counts := res.counts()
	if counts["created"]+counts["configured"] != len(snap.Objects)-len(boot) || counts["unchanged"] != len(boot) || counts["configured"] > 1 || len(res.Changes) != len(snap.Objects) {
		for _, ch := range res.Changes {
			if ch.Action == "skipped" {
				t.Logf("skipped %s: %s %v", ch.Object, ch.Reason, ch.Fields)
			}
		}
		t.Errorf("first sync of pdac: %v, want the %d of the bootstrap tier unchanged and the other %d created (lsstgen-system may be configured)", counts, len(boot), len(snap.Objects)-len(boot))
	}
	for _, o := range snap.Objects {
		live := o.DeepCopy()
		if err := s.client.Get(context.Background(), client.ObjectKeyFromObject(live), live); err != nil {
			t.Errorf("%s after the sync: %v", manifest.ObjectID(o), err)
		}
	}
	res, err = s.Cycle(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed() {
		var changed []string
		for _, ch := range res.Changes {
			if ch.Action != "unchanged" {
				changed = append(changed, ch.Object+" "+ch.Action)
			}
		}
		t.Errorf("second sync of pdac changed %v", changed)
	}
}

// TestPruneProtectedKindsAllowedByModel prunes PersistentVolumeClaims the model allowed
// (annotated lsst.org/prune: allowed in git), deciding on the annotation the live object
// carries: a claim whose annotation a later commit took away stays.
func TestPruneProtectedKindsAllowedByModel(t *testing.T) {
	h := newHarness(t, "modelprune", nil)
	pvc := func(name string, allowed bool) string {
		s := "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: " + name + "\n  namespace: " + h.ns + "\n"
		if allowed {
			s += "  annotations:\n    " + manifest.AnnotationPrune + ": " + manifest.PruneAllowed + "\n"
		}
		return s + "spec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n"
	}
	files := with(with(with(h.files(), "pvc-data.yaml", pvc("data", true)), "pvc-scratch.yaml", pvc("scratch", true)), "pvc-keep.yaml", pvc("keep", false))
	h.repo.commitInstance(h.instance, files)
	h.cycle()
	// The model stops allowing the prune of data: its annotation goes from the cluster too.
	h.repo.commitInstance(h.instance, with(files, "pvc-data.yaml", pvc("data", false)))
	h.cycle()
	if a := h.get("v1", "PersistentVolumeClaim", h.ns, "data").GetAnnotations(); a[manifest.AnnotationPrune] != "" {
		t.Fatalf("PVC data still annotated %v after the commit that took the annotation away", a)
	}

	h.repo.commitInstance(h.instance, h.files())
	res := h.cycle()
	got := map[string]string{}
	for _, c := range res.Changes {
		if c.Action != "unchanged" {
			got[c.Object] = c.Action
			if c.Action == "skipped" && !strings.Contains(c.Reason, manifest.AnnotationPrune+"="+manifest.PruneAllowed) {
				t.Errorf("%s skipped for %q, want a reason naming the annotation", c.Object, c.Reason)
			}
		}
	}
	want(t, "prune actions", map[string]string{
		"PersistentVolumeClaim/" + h.ns + "/scratch": "deleted",
		"PersistentVolumeClaim/" + h.ns + "/data":    "skipped",
		"PersistentVolumeClaim/" + h.ns + "/keep":    "skipped",
	}, got)
	if u := h.get("v1", "PersistentVolumeClaim", h.ns, "scratch"); u != nil && u.GetDeletionTimestamp() == nil {
		t.Error("PVC scratch, allowed by the model, neither gone nor being deleted")
	}
	for _, name := range []string{"data", "keep"} {
		if u := h.get("v1", "PersistentVolumeClaim", h.ns, name); u == nil || u.GetDeletionTimestamp() != nil {
			t.Errorf("PVC %s was pruned without the model's permission", name)
		}
	}
}
