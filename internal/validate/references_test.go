package validate

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// realInstance is a fresh copy of the real instance name.
func realInstance(t *testing.T, name string) Instance {
	t.Helper()
	for _, in := range realInstances(t) {
		if in.Name == name {
			return in
		}
	}
	t.Fatalf("no instance %s", name)
	return Instance{}
}

// findingsOf are the messages of rule's findings on object id.
func messagesOf(fs []Finding, rule, id string) []string {
	var out []string
	for _, f := range fs {
		if f.Rule == rule && f.Object == id {
			out = append(out, f.Message)
		}
	}
	return out
}

// TestPodKeyRefs: every key a pod reads through a volume's items, a projected source or an
// env reference is checked, and optional references are left alone.
func TestPodKeyRefs(t *testing.T) {
	const hub = "Deployment/notebook/hub"
	tests := []struct {
		name    string
		patch   string
		rule    string
		want    []string
		objects string
	}{{
		name:  "secret volume items",
		patch: `add /spec/template/spec/volumes/- {"name": "t", "secret": {"secretName": "hub-secrets", "items": [{"key": "proxy-token", "path": "a"}, {"key": "token", "path": "b"}]}}`,
		rule:  RefSecretKey,
		want:  []string{`volume t: key "token" is not one of the keys [proxy-token cookie-secret] listed for out-of-band Secret notebook/hub-secrets; use one of them or list the key`},
	}, {
		name:  "optional secret volume items",
		patch: `add /spec/template/spec/volumes/- {"name": "t", "secret": {"secretName": "hub-secrets", "optional": true, "items": [{"key": "token", "path": "b"}]}}`,
		rule:  RefSecretKey,
	}, {
		name:  "projected secret and missing configMap",
		patch: `add /spec/template/spec/volumes/- {"name": "t", "projected": {"sources": [{"serviceAccountToken": {"path": "sa"}}, {"secret": {"name": "hub-secrets", "items": [{"key": "cookie", "path": "c"}]}}, {"configMap": {"name": "nope"}}]}}`,
		rule:  RefSecretKey,
		want:  []string{`volume t source 1: key "cookie" is not one of the keys [proxy-token cookie-secret] listed for out-of-band Secret notebook/hub-secrets; use one of them or list the key`},
	}, {
		name:  "projected missing configMap",
		patch: `add /spec/template/spec/volumes/- {"name": "t", "projected": {"sources": [{"configMap": {"name": "nope"}}, {"configMap": {"name": "nope2", "optional": true}}]}}`,
		rule:  RefPodVolume,
		want:  []string{`volume t source 0: ConfigMap "nope" does not exist in namespace notebook; add it or fix the name`},
	}, {
		name:    "configMap items and env key",
		objects: "x",
		patch:   `add /spec/template/spec/volumes/- {"name": "t", "configMap": {"name": "x", "items": [{"key": "a", "path": "a"}, {"key": "c", "path": "c"}]}}`,
		rule:    RefSecretKey,
		want:    []string{`volume t: key "c" is not a key of ConfigMap notebook/x (it has [a b]); use one of them or add the key`},
	}, {
		name:    "configMapKeyRef",
		objects: "x",
		patch:   `add /spec/template/spec/containers/0/env/- {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "x", "key": "z"}}}`,
		rule:    RefSecretKey,
		want:    []string{`container hub env X: key "z" is not a key of ConfigMap notebook/x (it has [a b]); use one of them or add the key`},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := realInstance(t, "pdac")
			if tc.objects != "" {
				in.Objects = append(in.Objects, copyObject(t, configMap("notebook", tc.objects, map[string]any{"a": "1"}, map[string]any{"b": "Ag=="})))
			}
			if err := applyPatchLine(&in, hub+" "+tc.patch); err != nil {
				t.Fatal(err)
			}
			got := messagesOf(Validate([]Instance{in}), tc.rule, hub)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s findings (-want +got):\n%s", tc.rule, diff)
			}
		})
	}
}
