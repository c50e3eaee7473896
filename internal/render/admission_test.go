package render_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lsst-dm/lsstgen/internal/render"
	"github.com/lsst-dm/lsstgen/internal/testrepo"
)

// TestAdmissionPolicyCELErrors: an admission policy whose CEL does not compile in the
// apiserver's environment (a syntax error, an unknown function, a variable that does not
// exist, a validation that is not a bool, a message expression that is not a string) stops
// the render at the CUE line that wrote it, naming the policy and the field; nothing is
// written.
func TestAdmissionPolicyCELErrors(t *testing.T) {
	for _, tc := range []struct {
		name, field, expr, want string
	}{
		{"syntax", "expression", `object.spec.(`, `spec.validations\[0\].expression does not compile .*Syntax error`},
		{"unknown-function", "expression", `object.metadata.name.shout() == 'x'`, `spec.validations\[0\].expression does not compile .*undeclared reference to 'shout'`},
		{"unknown-variable", "expression", `variables.nothing == 1`, `spec.validations\[0\].expression does not compile .*undefined field 'nothing'`},
		{"not-a-bool", "expression", `object.metadata.name`, `spec.validations\[0\].expression does not compile .*must evaluate to bool`},
		{"message-not-a-string", "messageExpression", `1 + 2`, `spec.validations\[0\].messageExpression does not compile .*must evaluate to string`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := testrepo.Copy(t, "pdac")
			before := testrepo.Snapshot(t, filepath.Join(root, "generated"))
			validation := `expression: "true"`
			if tc.field == "expression" {
				validation = "expression: #\"" + tc.expr + "\"#"
			} else {
				validation += ", messageExpression: #\"" + tc.expr + "\"#"
			}
			src := "package instance\n\nobjects: cluster: ValidatingAdmissionPolicy: \"bad\": spec: {\n\tmatchConstraints: resourceRules: [{apiGroups: [\"\"], apiVersions: [\"v1\"], resources: [\"pods\"], operations: [\"CREATE\"]}]\n\tvalidations: [{\n\t\t" + validation + "\n\t}]\n}\n"
			testrepo.WriteFile(t, root, "instances/pdac/zz_bad_policy.cue", src)
			_, err := render.All(root, nil)
			if err == nil {
				t.Fatal("render of a policy whose CEL does not compile succeeded")
			}
			msg := err.Error()
			if !regexp.MustCompile(tc.want).MatchString(msg) {
				t.Errorf("error does not match %q:\n%s", tc.want, msg)
			}
			for _, s := range []string{"ValidatingAdmissionPolicy/bad", "instances/pdac/zz_bad_policy.cue:6:"} {
				if !strings.Contains(msg, s) {
					t.Errorf("error does not name %q:\n%s", s, msg)
				}
			}
			after := testrepo.Snapshot(t, filepath.Join(root, "generated"))
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("generated/ changed by a failed render (-before +after):\n%s", diff)
			}
			if _, err := os.Stat(filepath.Join(root, "generated/pdac/_cluster/validatingadmissionpolicy-bad.yaml")); err == nil {
				t.Errorf("the bad policy was written")
			}
		})
	}
}

// TestAdmissionPoliciesCompile: the policies every instance renders compile (the render
// would fail otherwise), and each instance renders all six with their bindings.
func TestAdmissionPoliciesCompile(t *testing.T) {
	names, err := render.Instances(testrepo.Root(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		res, err := render.Instance(testrepo.Root(t), name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, p := range []string{"lsst-images", "lsst-host-access", "lsst-ingress-hosts", "lsst-datasets-readonly", "lsst-cluster-admin", "lsst-owner-labels"} {
			for _, kind := range []string{"validatingadmissionpolicy", "validatingadmissionpolicybinding"} {
				if _, ok := res.Files["_cluster/"+kind+"-"+p+".yaml"]; !ok {
					t.Errorf("%s renders no %s %s", name, kind, p)
				}
			}
		}
		// The development spaces' policy, where there are development spaces only.
		spaces := 0
		for _, ns := range res.Model.Namespaces {
			if ns.Aspect == "development" {
				spaces++
			}
		}
		_, ok := res.Files["_cluster/validatingadmissionpolicy-lsst-development-spaces.yaml"]
		if ok != (spaces > 0) {
			t.Errorf("%s has %d development spaces and renders the policy lsst-development-spaces: %v", name, spaces, ok)
		}
	}
}

// TestAdmissionActions: each binding acts as the instance says (instance.admission), Deny
// by default; a combination the apiserver refuses, or a policy that does not exist, is an
// error at the instance's line.
func TestAdmissionActions(t *testing.T) {
	root := testrepo.Copy(t, "pdac")
	testrepo.WriteFile(t, root, "instances/pdac/zz_admission.cue", "package instance\n\ninstance: admission: {\n\tdefaultActions: [\"Audit\"]\n\tactions: \"lsst-images\": [\"Warn\", \"Audit\"]\n\tactions: \"lsst-cluster-admin\": [\"Deny\"]\n}\n")
	res, err := render.Instance(root, "pdac")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"lsst-images":            "- Warn\n  - Audit\n",
		"lsst-cluster-admin":     "- Deny\n",
		"lsst-host-access":       "- Audit\n",
		"lsst-ingress-hosts":     "- Audit\n",
		"lsst-datasets-readonly": "- Audit\n",
		"lsst-owner-labels":      "- Audit\n",
	}
	for p, actions := range want {
		f := string(res.Files["_cluster/validatingadmissionpolicybinding-"+p+".yaml"])
		if !strings.Contains(f, "validationActions:\n  "+actions) {
			t.Errorf("binding %s: want validationActions %q in\n%s", p, actions, f)
		}
	}
	// The instances as committed: Deny.
	base, err := render.Instance(testrepo.Root(t), "pdac")
	if err != nil {
		t.Fatal(err)
	}
	for p := range want {
		if f := string(base.Files["_cluster/validatingadmissionpolicybinding-"+p+".yaml"]); !strings.Contains(f, "validationActions:\n  - Deny\n") {
			t.Errorf("pdac's binding %s does not deny:\n%s", p, f)
		}
	}

	for name, tc := range map[string]struct{ src, want string }{
		"deny-and-warn":  {"instance: admission: actions: \"lsst-images\": [\"Deny\", \"Warn\"]", "instances/pdac/zz_admission.cue:3:"},
		"no-such-policy": {"instance: admission: actions: \"lsst-imagez\": [\"Deny\"]", "instances/pdac/zz_admission.cue:3:"},
		"no-such-action": {"instance: admission: defaultActions: [\"Block\"]", "instances/pdac/zz_admission.cue:3:"},
	} {
		t.Run(name, func(t *testing.T) {
			root := testrepo.Copy(t, "pdac")
			testrepo.WriteFile(t, root, "instances/pdac/zz_admission.cue", "package instance\n\n"+tc.src+"\n")
			_, err := render.Instance(root, "pdac")
			if err == nil {
				t.Fatal("render succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not point at %s:\n%v", tc.want, err)
			}
		})
	}
}

// BenchmarkCheckAdmissionPolicies measures what the CEL check adds to a render: compiling
// every expression of pdac's six policies with the apiserver's environment.
func BenchmarkCheckAdmissionPolicies(b *testing.B) {
	v, err := render.LoadInstance(testrepo.Root(b), "pdac")
	if err != nil {
		b.Fatal(err)
	}
	if err := render.CheckAdmissionPolicies(v); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := render.CheckAdmissionPolicies(v); err != nil {
			b.Fatal(err)
		}
	}
}
