package sync

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

func TestFirstSyncCreatesEverything(t *testing.T) {
	h := newHarness(t, "first", nil)
	commit := h.repo.commitInstance(h.instance, h.files())
	res := h.cycle()

	if res.Commit != commit {
		t.Errorf("result commit = %s, want %s", res.Commit, commit)
	}
	wantActions := map[string]string{}
	for _, e := range h.fixtureEntries() {
		wantActions[e.String()] = "created"
	}
	want(t, "actions", wantActions, actions(res))
	for _, e := range h.fixtureEntries() {
		u := h.get(e.APIVersion, e.Kind, e.Namespace, e.Name)
		if u == nil {
			t.Errorf("%s does not exist on the apiserver", e)
			continue
		}
		if u.GetLabels()[manifest.LabelInstance] != h.instance || u.GetLabels()[manifest.LabelManagedBy] != manifest.ManagedBy {
			t.Errorf("%s labels = %v, want the owner labels", e, u.GetLabels())
		}
		managers := map[string]string{}
		for _, f := range u.GetManagedFields() {
			managers[f.Manager] = string(f.Operation)
		}
		if managers[FieldManager] != "Apply" {
			t.Errorf("%s managed fields %v: no server-side apply by %s", e, managers, FieldManager)
		}
	}
	inv := h.inventory()
	if inv.Commit != commit || len(inv.Pending) != 0 {
		t.Errorf("inventory commit %s pending %v, want commit %s and nothing pending", inv.Commit, inventoryNames(inv.Pending), commit)
	}
	var wantInv entrySet = entrySet{}
	wantInv.add(h.fixtureEntries()...)
	want(t, "inventory", inventoryNames(wantInv), inventoryNames(inv.Objects))

	var cycles, objects int
	for _, l := range h.logLines() {
		switch l["msg"] {
		case "cycle":
			cycles++
			if l["commit"] != commit || l["created"] != float64(6) || l["instance"] != h.instance {
				t.Errorf("cycle log line %v, want commit %s and created 6", l, commit)
			}
		case "object":
			objects++
			if l["action"] != "created" || l["commit"] != commit {
				t.Errorf("object log line %v", l)
			}
		}
	}
	if cycles != 1 || objects != 6 {
		t.Errorf("%d cycle and %d object log lines, want 1 and 6:\n%s", cycles, objects, h.logs)
	}
}

func TestSecondSyncChangesNothing(t *testing.T) {
	h := newHarness(t, "second", nil)
	h.repo.commitInstance(h.instance, h.files())
	h.cycle()
	before := h.versions()
	h.logs.Reset()

	res := h.cycle()
	if res.Changed() {
		t.Errorf("second cycle changed %v", actions(res))
	}
	want(t, "resourceVersions on the apiserver", before, h.versions())
	for _, l := range h.logLines() {
		if l["msg"] == "object" {
			t.Errorf("a no-op cycle logged a change: %v", l)
		}
	}

	// A commit that leaves the instance's manifests alone changes no object; only the
	// recorded commit moves.
	h.repo.git("commit", "--quiet", "--allow-empty", "-m", "unrelated")
	commit := h.repo.git("rev-parse", "HEAD")
	res = h.cycle()
	if res.Changed() {
		t.Errorf("cycle of an unrelated commit changed %v", actions(res))
	}
	after := h.versions()
	delete(before, "inventory")
	delete(after, "inventory")
	want(t, "resourceVersions after an unrelated commit", before, after)
	if got := h.inventory().Commit; got != commit {
		t.Errorf("inventory commit = %s, want %s", got, commit)
	}
}

func TestRemovedObjectIsPruned(t *testing.T) {
	h := newHarness(t, "removed", nil)
	h.repo.commitInstance(h.instance, h.files())
	h.cycle()
	before := h.versions()

	commit := h.repo.commitInstance(h.instance, without(h.files(), "configmap-extra.yaml"))
	res := h.cycle()

	extra := "ConfigMap/" + h.ns + "/extra"
	for obj, action := range actions(res) {
		wantAction := "unchanged"
		if obj == extra {
			wantAction = "deleted"
		}
		if action != wantAction {
			t.Errorf("%s: %s, want %s", obj, action, wantAction)
		}
	}
	if h.get("v1", "ConfigMap", h.ns, "extra") != nil {
		t.Errorf("%s still exists", extra)
	}
	after := h.versions()
	delete(before, extra)
	delete(before, "inventory")
	delete(after, "inventory")
	want(t, "resourceVersions of the objects that stayed", before, after)
	inv := h.inventory()
	if _, ok := inv.Objects[(Entry{APIVersion: "v1", Kind: "ConfigMap", Namespace: h.ns, Name: "extra"}).key()]; ok || inv.Commit != commit {
		t.Errorf("inventory at %s still lists %s, or its commit is not %s", inv.Commit, extra, commit)
	}
}

func TestBadCommitIsRefused(t *testing.T) {
	h := newHarness(t, "bad", nil)
	good := h.repo.commitInstance(h.instance, h.files())
	h.cycle()
	before := h.versions()

	// Manifests that do not parse: refused before the cluster is touched.
	h.repo.commitInstance(h.instance, with(without(h.files(), "configmap-extra.yaml"), "configmap-settings.yaml", "kind: [\n"))
	_, err := h.s.Cycle(context.Background(), h.src)
	var se *SourceError
	if !errors.As(err, &se) {
		t.Fatalf("error = %v, want a SourceError", err)
	}
	want(t, "resourceVersions after a refused commit", before, h.versions())
	if inv := h.inventory(); inv.Commit != good {
		t.Errorf("inventory commit = %s, want the last good %s", inv.Commit, good)
	}
	var failed bool
	for _, l := range h.logLines() {
		if l["msg"] == "cycle failed" && strings.Contains(l["error"].(string), "configmap-settings.yaml") && l["level"] == "ERROR" {
			failed = true
		}
	}
	if !failed {
		t.Errorf("no failed cycle line naming the bad file:\n%s", h.logs)
	}

	// Manifests the apiserver rejects: the apply fails and nothing is pruned, though the
	// commit also removes an object.
	invalid := "apiVersion: v1\nkind: Service\nmetadata:\n  name: broken\n  namespace: " + h.ns +
		"\nspec:\n  ports:\n  - port: 700000\n"
	h.repo.commitInstance(h.instance, with(without(h.files(), "configmap-extra.yaml"), "service-broken.yaml", invalid))
	_, err = h.s.Cycle(context.Background(), h.src)
	if err == nil || !strings.Contains(err.Error(), "nothing pruned") || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("error = %v, want an apply failure naming Service broken", err)
	}
	if h.get("v1", "ConfigMap", h.ns, "extra") == nil {
		t.Error("ConfigMap extra was pruned after a failed apply")
	}
	if inv := h.inventory(); inv.Commit != good {
		t.Errorf("inventory commit = %s after a failed apply, want %s", inv.Commit, good)
	}

	// The next good commit converges and prunes.
	fixed := h.repo.commitInstance(h.instance, without(h.files(), "configmap-extra.yaml"))
	h.cycle()
	if h.get("v1", "ConfigMap", h.ns, "extra") != nil {
		t.Error("ConfigMap extra was not pruned once a good commit came")
	}
	if inv := h.inventory(); inv.Commit != fixed || len(inv.Pending) != 0 {
		t.Errorf("inventory commit %s pending %v, want %s and nothing pending", inv.Commit, inventoryNames(inv.Pending), fixed)
	}
}

func TestPruneLargerThanShareIsRefused(t *testing.T) {
	h := newHarness(t, "share", nil)
	h.repo.commitInstance(h.instance, h.files())
	h.cycle()

	// Removing 3 of 6 objects is more than a quarter.
	h.repo.commitInstance(h.instance, without(h.files(), "configmap-extra.yaml", "service-web.yaml", "deployment-web.yaml"))
	_, err := h.s.Cycle(context.Background(), h.src)
	var pe *PruneRefusedError
	if !errors.As(err, &pe) {
		t.Fatalf("error = %v, want a PruneRefusedError", err)
	}
	if pe.Would != 3 || pe.Inventory != 6 {
		t.Errorf("refusal %+v, want 3 of 6", pe)
	}
	for _, e := range h.fixtureEntries() {
		if h.get(e.APIVersion, e.Kind, e.Namespace, e.Name) == nil {
			t.Errorf("%s was deleted by a refused prune", e)
		}
	}
	if n := len(h.inventory().Objects); n != 6 {
		t.Errorf("inventory holds %d objects after a refused prune, want all 6", n)
	}

	// With the override the same commit prunes.
	h.s.opts.ForcePrune = true
	h.cycle()
	for _, name := range []string{"extra"} {
		if h.get("v1", "ConfigMap", h.ns, name) != nil {
			t.Errorf("ConfigMap %s survived a forced prune", name)
		}
	}
	if h.get("apps/v1", "Deployment", h.ns, "web") != nil || h.get("v1", "Service", h.ns, "web") != nil {
		t.Error("Deployment or Service web survived a forced prune")
	}
}
