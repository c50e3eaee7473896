package validate

import (
	"reflect"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// The canonical-quantity rule: the apiserver stores every quantity in resource.Quantity's
// canonical form ("20" for "20000m", "10Ti" for "10240Gi"). A manifest that writes another
// form is rewritten on every apply, so the applier and the cluster see a difference for
// ever. Each quantity is found through the object's Go type (every resource.Quantity field,
// in structs, lists and maps), and its value read as written in the object.

var quantityType = reflect.TypeOf(resource.Quantity{})

// checkQuantities reports every quantity of every decoded object that is not written in
// canonical form.
func checkQuantities(c *checker) {
	for _, o := range c.idx.all {
		if o.typed == nil {
			continue
		}
		for _, q := range nonCanonical(o.u.Object, reflect.TypeOf(o.typed), "") {
			c.report(SchemaQuantity, o, "", "%s is %s; the apiserver stores it as %q and every apply would differ from it: write %q (render's quantity formatters, platform/quantity.cue, print it so)", q.path, q.written, q.canonical, q.canonical)
		}
	}
}

// quantity is a quantity written otherwise than canonically.
type quantity struct {
	path      string
	written   string // as written, quoted when a string
	canonical string
}

// nonCanonical walks raw (the object as JSON values) along the Go type t and returns every
// quantity whose written form is not its canonical one: a string that parses to another
// form, or a number (a quantity is a string).
func nonCanonical(raw any, t reflect.Type, path string) []quantity {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == quantityType {
		switch v := raw.(type) {
		case string:
			q, err := resource.ParseQuantity(v)
			if err != nil {
				return nil // a malformed quantity fails decoding (LSST-SCHEMA-002)
			}
			if s := q.String(); s != v {
				return []quantity{{path, strconv.Quote(v), s}}
			}
		case int64, float64, int:
			q, err := resource.ParseQuantity(jsonNumber(v))
			if err != nil {
				return nil
			}
			return []quantity{{path, "the number " + jsonNumber(v), q.String()}}
		}
		return nil
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil // another leaf with its own JSON form: IntOrString, Time …
	}
	var out []quantity
	switch t.Kind() {
	case reflect.Struct:
		m, ok := raw.(map[string]any)
		if !ok {
			return nil
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := cutTag(f.Tag.Get("json"))
			if name == "-" {
				continue
			}
			if hasOpt(opts, "inline") || (f.Anonymous && name == "") {
				out = append(out, nonCanonical(raw, f.Type, path)...)
				continue
			}
			v, ok := m[name]
			if !ok || v == nil {
				continue
			}
			out = append(out, nonCanonical(v, f.Type, joinPath(path, name))...)
		}
	case reflect.Slice:
		l, ok := raw.([]any)
		if !ok {
			return nil
		}
		for i, e := range l {
			out = append(out, nonCanonical(e, t.Elem(), path+"["+strconv.Itoa(i)+"]")...)
		}
	case reflect.Map:
		m, ok := raw.(map[string]any)
		if !ok {
			return nil
		}
		for _, k := range sortedKeys(m) {
			out = append(out, nonCanonical(m[k], t.Elem(), joinPath(path, k))...)
		}
	}
	return out
}

func jsonNumber(v any) string {
	switch n := v.(type) {
	case int64:
		return strconv.FormatInt(n, 10)
	case int:
		return strconv.Itoa(n)
	case float64:
		return strconv.FormatFloat(n, 'f', -1, 64)
	}
	return ""
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// cutTag splits a json struct tag into the name and its options.
func cutTag(tag string) (name, opts string, ok bool) {
	return strings.Cut(tag, ",")
}

// hasOpt says whether a json tag's options hold opt.
func hasOpt(opts, opt string) bool {
	return slices.Contains(strings.Split(opts, ","), opt)
}
