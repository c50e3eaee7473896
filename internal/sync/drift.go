package sync

import (
	"context"
	gosync "sync"

	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// driftDiff is how a configured object's fields are listed in its log line: only what git
// sets is compared (defaults and other managers' fields are not drift), at most 20 fields,
// each value at most 60 bytes of JSON.
var driftDiff = manifest.DiffOptions{DesiredOnly: true, MaxFields: 20, MaxValue: 60}

// liveObjects returns, by entry key, the live objects of the kinds in objs that carry the
// instance's owner label: one list per kind, before anything is applied, so that the fields
// a cycle changes can be logged. A kind that cannot be listed (a CRD's kind the same cycle
// creates, …) is left out; its objects' changes are logged without fields.
func (s *Syncer) liveObjects(ctx context.Context, objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	gvks := map[schema.GroupVersionKind]bool{}
	for _, o := range objs {
		gvks[o.GroupVersionKind()] = true
	}
	out := map[string]*unstructured.Unstructured{}
	var mu gosync.Mutex
	var wg gosync.WaitGroup
	for gvk := range gvks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			list := &unstructured.UnstructuredList{}
			list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
			if err := s.client.List(ctx, list, client.MatchingLabels{manifest.LabelInstance: s.opts.Instance}); err != nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for i := range list.Items {
				o := &list.Items[i]
				e := Entry{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Namespace: o.GetNamespace(), Name: o.GetName()}
				out[e.key()] = o
			}
		}()
	}
	wg.Wait()
	return out
}

// withFields sets Fields on each configured change: what differs between the object as it
// was in the cluster before the cycle (before, by entry key) and as git has it.
func withFields(changes []Change, objs []*unstructured.Unstructured, before map[string]*unstructured.Unstructured) {
	desired := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		desired[manifest.ObjectID(o)] = o
	}
	for i, c := range changes {
		if c.Action != string(ssa.ConfiguredAction) {
			continue
		}
		o := desired[c.Object]
		if o == nil {
			continue
		}
		if live := before[entryOf(o).key()]; live != nil {
			changes[i].Fields = driftedFields(o, live)
		}
	}
}

// driftedFields lists the fields git sets on desired that live lacks or holds with another
// value, as manifest.FieldDiff writes them ("spec.replicas: 3 → 1", live → git), a
// Secret's values masked.
func driftedFields(desired, live *unstructured.Unstructured) []string {
	return manifest.FieldDiff(live, desired, driftDiff)
}
