package manifest

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Masked stands for a Secret's value wherever a diff would show one.
const Masked = "(masked)"

// DiffOptions control FieldDiff.
type DiffOptions struct {
	// DesiredOnly compares only the fields the new object sets, and of its metadata only
	// the labels and annotations: for an object from git against the live one, which the
	// apiserver and other field managers fill in. Otherwise every field of both objects
	// is compared.
	DesiredOnly bool
	// MaxFields bounds the lines returned; the rest are counted in one last line. Zero
	// means no bound.
	MaxFields int
	// MaxValue bounds each value shown, in bytes; a longer one is cut and ends in "...".
	// Zero means no bound.
	MaxValue int
}

// FieldDiff lists the fields that differ from old to cur, one line each, in the order of
// the objects' keys (list items by index):
//
//	spec.replicas: 1 → 2
//	metadata.labels.tier: added "web"
//	spec.paused: removed (was true)
//
// Values are compact JSON. A multi-line string is compared line by line, each line named
// path#L<n>, so that a change in a configuration file shows as the lines it touches. The
// values under a Secret's data and stringData are never shown: Masked stands for them.
// Either object may be nil (an object added or removed).
func FieldDiff(old, cur *unstructured.Unstructured, opts DiffOptions) []string {
	d := &differ{opts: opts}
	var o, c map[string]any
	if old != nil {
		o = old.Object
		d.secret = isSecret(old)
	}
	if cur != nil {
		c = cur.Object
		d.secret = d.secret || isSecret(cur)
	}
	for _, k := range d.keys(o, c) {
		ov, inOld := o[k]
		cv, inCur := c[k]
		if opts.DesiredOnly {
			switch k {
			case "apiVersion", "kind", "status":
				continue
			case "metadata":
				om, _ := ov.(map[string]any)
				cm, _ := cv.(map[string]any)
				for _, m := range []string{"annotations", "labels"} {
					if w, ok := cm[m]; ok {
						g, present := om[m]
						d.value("metadata."+m, g, w, present, true, false)
					}
				}
				continue
			}
		}
		d.value(k, ov, cv, inOld, inCur, d.secret && (k == "data" || k == "stringData"))
	}
	if opts.MaxFields > 0 && len(d.out) > opts.MaxFields {
		d.out = append(d.out[:opts.MaxFields], fmt.Sprintf("and %d more", len(d.out)-opts.MaxFields))
	}
	return d.out
}

func isSecret(u *unstructured.Unstructured) bool {
	return u.GetAPIVersion() == "v1" && u.GetKind() == "Secret"
}

type differ struct {
	opts   DiffOptions
	secret bool
	out    []string
}

// keys are the keys to compare, sorted: cur's, and old's too unless only desired fields
// are compared.
func (d *differ) keys(old, cur map[string]any) []string {
	keys := slices.Collect(maps.Keys(cur))
	if !d.opts.DesiredOnly {
		for k := range old {
			if _, ok := cur[k]; !ok {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// value compares the values at path; inOld and inCur say whether each side has one.
// Mappings are compared key by key, lists item by item (with DesiredOnly only when they
// have the same length), multi-line strings line by line.
func (d *differ) value(path string, old, cur any, inOld, inCur, mask bool) {
	om, oldMap := old.(map[string]any)
	cm, curMap := cur.(map[string]any)
	if (oldMap || curMap) && (oldMap || !inOld) && (curMap || !inCur) {
		for _, k := range d.keys(om, cm) {
			ov, o := om[k]
			cv, c := cm[k]
			d.value(path+"."+k, ov, cv, o, c, mask)
		}
		return
	}
	ol, oldList := old.([]any)
	cl, curList := cur.([]any)
	if (oldList || curList) && (oldList || !inOld) && (curList || !inCur) && !(d.opts.DesiredOnly && inOld && len(ol) != len(cl)) {
		n := len(cl)
		if !d.opts.DesiredOnly {
			n = max(n, len(ol))
		}
		for i := range n {
			d.value(path+"["+strconv.Itoa(i)+"]", at(ol, i), at(cl, i), i < len(ol), i < len(cl), mask)
		}
		return
	}
	ostr, oldStr := old.(string)
	cs, curStr := cur.(string)
	if (oldStr || curStr) && (oldStr || !inOld) && (curStr || !inCur) && (strings.Contains(ostr, "\n") || strings.Contains(cs, "\n")) {
		ols, cls := lines(ostr, inOld), lines(cs, inCur)
		for i := range max(len(ols), len(cls)) {
			d.value(path+"#L"+strconv.Itoa(i+1), at(ols, i), at(cls, i), i < len(ols), i < len(cls), mask)
		}
		return
	}
	if inOld && inCur && compactJSON(old) == compactJSON(cur) {
		return
	}
	switch {
	case !inOld:
		d.out = append(d.out, path+": added "+d.show(cur, mask))
	case !inCur:
		d.out = append(d.out, path+": removed (was "+d.show(old, mask)+")")
	default:
		d.out = append(d.out, path+": "+d.show(old, mask)+" → "+d.show(cur, mask))
	}
}

// lines splits a multi-line string into its lines, as values for value.
func lines(s string, present bool) []any {
	if !present {
		return nil
	}
	var out []any
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		out = append(out, l)
	}
	return out
}

func at(l []any, i int) any {
	if i < len(l) {
		return l[i]
	}
	return nil
}

func (d *differ) show(v any, mask bool) string {
	if mask {
		return Masked
	}
	s := compactJSON(v)
	if d.opts.MaxValue > 3 && len(s) > d.opts.MaxValue {
		s = s[:d.opts.MaxValue-3] + "..."
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
