package validate

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
)

// strictDecoder decodes into the Kubernetes 1.37 API types registered in client-go's
// scheme, reporting unknown and duplicate fields.
var strictDecoder = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()

// decode fills o's typed form and its schema problems.
func decode(o *object) {
	data, err := json.Marshal(o.u.Object)
	if err != nil {
		o.decodeErr = err
		return
	}
	typed, _, err := strictDecoder.Decode(data, nil, nil)
	switch {
	case err == nil:
	case runtime.IsStrictDecodingError(err):
		se, _ := runtime.AsStrictDecodingError(err)
		for _, e := range se.Errors() {
			o.strictErrs = append(o.strictErrs, e.Error())
		}
	default:
		o.decodeErr = err
		return
	}
	o.typed = typed
	if o.name == "" {
		o.missing = append(o.missing, "metadata.name")
	}
	if typed != nil {
		missingRequired(o.u.Object, reflect.TypeOf(typed).Elem(), "", &o.missing)
	}
	sort.Strings(o.missing)
}

// checkSchema reports each object's decoding problems, and each document of a manifest
// file that writes a key twice.
func checkSchema(c *checker) {
	for _, d := range c.in.Duplicates {
		c.findings = append(c.findings, Finding{
			Rule: SchemaUnknownField, Severity: ruleByID(SchemaUnknownField).Severity, Instance: c.in.Name, Object: d.Object,
			Message: fmt.Sprintf("sets %q twice (first at line %d); a reader keeps only one of the values, so the manifest is refused: remove the other", d.Key, d.First),
			Pos:     &Position{File: d.File, Line: d.Line},
		})
	}
	for _, o := range c.idx.all {
		switch {
		case o.decodeErr != nil && (runtime.IsNotRegisteredError(o.decodeErr) || runtime.IsMissingKind(o.decodeErr) || runtime.IsMissingVersion(o.decodeErr)):
			c.report(SchemaUnknownKind, o, "", "apiVersion %q kind %q is not a type of the Kubernetes 1.37 API: %v; use the API group and kind the cluster serves (for example apps/v1 Deployment)", o.u.GetAPIVersion(), o.kind, o.decodeErr)
		case o.decodeErr != nil:
			c.report(SchemaWrongType, o, "", "does not decode into its Kubernetes 1.37 type: %s; give the field the type the API expects", cleanDecodeErr(o.decodeErr))
		}
		for _, e := range o.strictErrs {
			c.report(SchemaUnknownField, o, "", "%s: the Kubernetes 1.37 API has no such field; remove it or fix its spelling", e)
		}
		for _, m := range o.missing {
			c.report(SchemaMissingRequired, o, "", "required field %s is missing; set it", m)
		}
	}
	checkQuantities(c)
}

func cleanDecodeErr(err error) string {
	s := err.Error()
	if i := strings.Index(s, "json: "); i >= 0 {
		s = s[i+len("json: "):]
	}
	return s
}

// notRequired lists fields whose JSON tag lacks omitempty although the API documents them
// as optional (Type.field).
var notRequired = map[string]bool{
	"RoleRef.apiGroup":                   true,
	"Role.rules":                         true,
	"ClusterRole.rules":                  true,
	"StatefulSetSpec.serviceName":        true,
	"NetworkPolicySpec.podSelector":      true,
	"TypedObjectReference.apiGroup":      true,
	"TypedLocalObjectReference.apiGroup": true,
	"NodeRuntimeHandler.name":            true,
}

var unmarshalerType = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()

// missingRequired walks raw (the object as JSON values) along the Go type t and records
// every field the type requires (a JSON tag without omitempty) that raw lacks. Status is
// not checked: the cluster writes it.
func missingRequired(raw any, t reflect.Type, path string, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return // a leaf with its own JSON form: Quantity, IntOrString, Time …
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := raw.(map[string]any)
		if !ok {
			return
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if strings.Contains(opts, "inline") || (f.Anonymous && name == "") {
				missingRequired(raw, f.Type, path, out)
				continue
			}
			if name == "" || (path == "" && name == "status") {
				continue
			}
			p := name
			if path != "" {
				p = path + "." + name
			}
			v, present := m[name]
			if !present || v == nil {
				if !strings.Contains(opts, "omitempty") && !notRequired[t.Name()+"."+name] {
					*out = append(*out, p)
				}
				continue
			}
			missingRequired(v, f.Type, p, out)
		}
	case reflect.Slice:
		l, ok := raw.([]any)
		if !ok {
			return
		}
		for i, e := range l {
			missingRequired(e, t.Elem(), path+"["+strconv.Itoa(i)+"]", out)
		}
	case reflect.Map:
		m, ok := raw.(map[string]any)
		if !ok {
			return
		}
		for k, e := range m {
			missingRequired(e, t.Elem(), path+"."+k, out)
		}
	}
}
