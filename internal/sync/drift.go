package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// FirstRetry is the wait before the first retry of a failed cycle in Run; each further
// failure doubles it, up to the interval.
var FirstRetry = time.Second

// Run runs a cycle every interval until ctx ends; each cycle also restores objects changed
// by hand (drift). A failed cycle (the apiserver unreachable, a refused commit, …) is
// logged and retried sooner, after FirstRetry, then twice as long each time, never longer
// than interval. A stop mid-cycle leaves at worst a pending inventory, which the next
// start prunes from.
func (s *Syncer) Run(ctx context.Context, src *Source, interval time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("interval %v is not positive", interval)
	}
	retry := min(FirstRetry, interval)
	for ctx.Err() == nil {
		wait := interval
		if _, err := s.Cycle(ctx, src); err != nil && ctx.Err() == nil {
			wait = retry
			retry = min(2*retry, interval)
		} else {
			retry = min(FirstRetry, interval)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
	return nil
}

// maxDriftFields bounds the fields listed for one object; the rest are counted.
const maxDriftFields = 20

// maxDriftValue bounds each value shown in a field list, in bytes of JSON.
const maxDriftValue = 60

// masked stands for a Secret's value in a field list.
const masked = "(masked)"

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
	for gvk := range gvks {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := s.client.List(ctx, list, client.MatchingLabels{manifest.LabelInstance: s.opts.Instance}); err != nil {
			continue
		}
		for i := range list.Items {
			o := &list.Items[i]
			e := Entry{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Namespace: o.GetNamespace(), Name: o.GetName()}
			out[e.key()] = o
		}
	}
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
// value, as ".path: live -> git", values in compact JSON. Only what git sets is compared,
// so defaults and fields of other managers are not listed. The values under a Secret's data
// and stringData are never shown.
func driftedFields(desired, live *unstructured.Unstructured) []string {
	secret := desired.GetAPIVersion() == "v1" && desired.GetKind() == "Secret"
	var out []string
	for _, k := range sortedKeys(desired.Object) {
		switch k {
		case "apiVersion", "kind", "status":
			continue
		case "metadata":
			want, _ := desired.Object[k].(map[string]any)
			got, _ := live.Object[k].(map[string]any)
			for _, m := range []string{"labels", "annotations"} {
				if w, ok := want[m]; ok {
					g, present := got[m]
					diffValue(".metadata."+m, w, g, present, false, &out)
				}
			}
			continue
		}
		g, present := live.Object[k]
		diffValue("."+k, desired.Object[k], g, present, secret && (k == "data" || k == "stringData"), &out)
	}
	if len(out) > maxDriftFields {
		out = append(out[:maxDriftFields], fmt.Sprintf("and %d more", len(out)-maxDriftFields))
	}
	return out
}

// diffValue adds to out the paths under path where got differs from want. Maps are compared
// key by key (want's keys), lists item by item when they have the same length.
func diffValue(path string, want, got any, present, mask bool, out *[]string) {
	switch w := want.(type) {
	case map[string]any:
		if g, ok := got.(map[string]any); present && ok {
			for _, k := range sortedKeys(w) {
				gv, p := g[k]
				diffValue(path+"."+k, w[k], gv, p, mask, out)
			}
			return
		}
	case []any:
		if g, ok := got.([]any); present && ok && len(g) == len(w) {
			for i := range w {
				diffValue(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], true, mask, out)
			}
			return
		}
	default:
		if present && compactJSON(want) == compactJSON(got) {
			return
		}
	}
	*out = append(*out, path+": "+showValue(got, present, mask)+" -> "+showValue(want, true, mask))
}

func showValue(v any, present, mask bool) string {
	switch {
	case !present:
		return "(none)"
	case mask:
		return masked
	}
	s := compactJSON(v)
	if len(s) > maxDriftValue {
		s = s[:maxDriftValue-3] + "..."
	}
	return s
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
