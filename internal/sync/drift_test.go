package sync

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// TestDaemonLogsDriftedFieldsMaskingSecrets edits a Deployment's replicas and a Secret's
// value by hand; the loop restores both and logs the fields, the replicas with their values,
// the Secret's with its values masked.
func TestDaemonLogsDriftedFieldsMaskingSecrets(t *testing.T) {
	h := newHarness(t, "driftlog", nil)
	logs := &lockedBuffer{}
	h.s.log = Logger(logs)
	const original, edited = "original-token-value", "hand-edited-token-value"
	secret := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\n  namespace: " + h.ns +
		"\ntype: Opaque\ndata:\n  token: " + base64.StdEncoding.EncodeToString([]byte(original)) + "\n"
	h.repo.commitInstance(h.instance, with(h.files(), "secret-token.yaml", secret))

	ctx := context.Background()
	stop := runDaemon(t, ctx, h.s, h.src, 100*time.Millisecond)
	defer stop()
	waitFor(t, "the first cycle", func() bool { return strings.Contains(logs.String(), `"msg":"cycle"`) })

	d := &appsv1.Deployment{}
	if err := h.s.client.Get(ctx, client.ObjectKey{Namespace: h.ns, Name: "web"}, d); err != nil {
		t.Fatal(err)
	}
	three := int32(3)
	d.Spec.Replicas = &three
	if err := h.s.client.Update(ctx, d, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
	s := &corev1.Secret{}
	if err := h.s.client.Get(ctx, client.ObjectKey{Namespace: h.ns, Name: "token"}, s); err != nil {
		t.Fatal(err)
	}
	s.Data["token"] = []byte(edited)
	if err := h.s.client.Update(ctx, s, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both hand edits to be undone", func() bool {
		d, s := &appsv1.Deployment{}, &corev1.Secret{}
		return h.s.client.Get(ctx, client.ObjectKey{Namespace: h.ns, Name: "web"}, d) == nil && d.Spec.Replicas != nil && *d.Spec.Replicas == 1 &&
			h.s.client.Get(ctx, client.ObjectKey{Namespace: h.ns, Name: "token"}, s) == nil && string(s.Data["token"]) == original
	})
	stop()

	lines := map[string]map[string]any{}
	for _, l := range decodeLines(t, logs.String()) {
		if l["msg"] == "object" && l["action"] == "configured" {
			lines[l["object"].(string)] = l
		}
	}
	for obj, field := range map[string]string{
		"Deployment/" + h.ns + "/web": "spec.replicas: 3 → 1",
		"Secret/" + h.ns + "/token":   "data.token: (masked) → (masked)",
	} {
		l := lines[obj]
		if l == nil {
			t.Errorf("no configured line for %s:\n%s", obj, logs)
			continue
		}
		fields, _ := l["fields"].([]any)
		if len(fields) != 1 || fields[0] != field || l["drift"] != true {
			t.Errorf("%s logged with fields %v, drift %v; want [%s] and drift true", obj, l["fields"], l["drift"], field)
		}
	}
	// A change made in git is logged with its fields too, but not as drift.
	logs2 := &lockedBuffer{}
	h.s.log = Logger(logs2)
	h.repo.commitInstance(h.instance, with(with(h.files(), "secret-token.yaml", secret), "deployment-web.yaml",
		strings.Replace(h.files()["deployment-web.yaml"], "replicas: 1", "replicas: 2", 1)))
	h.cycle()
	var changed map[string]any
	for _, l := range decodeLines(t, logs2.String()) {
		if l["msg"] == "object" && l["object"] == "Deployment/"+h.ns+"/web" {
			changed = l
		}
	}
	if fields, _ := changed["fields"].([]any); changed == nil || changed["action"] != "configured" || changed["drift"] != nil ||
		len(fields) != 1 || fields[0] != "spec.replicas: 1 → 2" {
		t.Errorf("the commit's change logged as %v, want configured with spec.replicas: 1 → 2 and no drift", changed)
	}

	for _, v := range []string{original, edited} {
		for _, enc := range []string{v, base64.StdEncoding.EncodeToString([]byte(v))} {
			if strings.Contains(logs.String(), enc) {
				t.Errorf("the logs hold the Secret's value %q:\n%s", enc, logs)
			}
		}
	}
}

// decodeLines parses JSON log lines.
func decodeLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestDriftedFields(t *testing.T) {
	obj := func(s string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(s), &u.Object); err != nil {
			t.Fatal(err)
		}
		return u
	}
	long := strings.Repeat("x", 100)
	many := "apiVersion: v1\nkind: ConfigMap\ndata:\n"
	for i := 0; i < 25; i++ {
		many += "  k" + string(rune('a'+i)) + ": v\n"
	}
	for _, tc := range []struct {
		name, desired, live string
		want                []string
	}{
		{"equal, defaults ignored", "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: 2\n",
			"apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: 2\n  revisionHistoryLimit: 10\nstatus:\n  replicas: 1\n", nil},
		{"a value", "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: 2\n", "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: 5\n",
			[]string{"spec.replicas: 5 → 2"}},
		{"a removed label, metadata else ignored", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels:\n    x: z\n",
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  resourceVersion: \"7\"\n", []string{`metadata.labels.x: added "z"`}},
		{"list items by index", "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    image: one\n",
			"apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    image: two\n    imagePullPolicy: Always\n",
			[]string{`spec.containers[0].image: "two" → "one"`}},
		{"list of another length", "apiVersion: v1\nkind: Pod\nspec:\n  args: [a, b]\n", "apiVersion: v1\nkind: Pod\nspec:\n  args: [a]\n",
			[]string{`spec.args: ["a"] → ["a","b"]`}},
		{"a long value is cut", "apiVersion: v1\nkind: ConfigMap\ndata:\n  k: " + long + "\n", "apiVersion: v1\nkind: ConfigMap\ndata:\n  k: short\n",
			[]string{`data.k: "short" → "` + long[:driftDiff.MaxValue-4] + "..."}},
		{"secret values masked", "apiVersion: v1\nkind: Secret\ndata:\n  k: bmV3\nstringData:\n  s: plain\ntype: Opaque\n",
			"apiVersion: v1\nkind: Secret\ndata:\n  k: b2xk\ntype: kubernetes.io/tls\n",
			[]string{"data.k: (masked) → (masked)", "stringData.s: added (masked)", `type: "kubernetes.io/tls" → "Opaque"`}},
		{"at most 20 fields", many, "apiVersion: v1\nkind: ConfigMap\ndata: {}\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := driftedFields(obj(tc.desired), obj(tc.live))
			if tc.name == "at most 20 fields" {
				if len(got) != driftDiff.MaxFields+1 || got[driftDiff.MaxFields] != "and 5 more" {
					t.Errorf("got %d fields ending %q, want %d and \"and 5 more\"", len(got), got[len(got)-1], driftDiff.MaxFields+1)
				}
				return
			}
			want(t, "fields", tc.want, got)
		})
	}
}

// TestLiveObjectsSkipsKindsNotServed lists the live objects of a kind the apiserver serves
// and leaves out one it does not (a CRD's kind the same cycle would create).
func TestLiveObjectsSkipsKindsNotServed(t *testing.T) {
	h := newHarness(t, "unserved", nil)
	h.repo.commitInstance(h.instance, h.files())
	h.cycle()
	cm := Entry{APIVersion: "v1", Kind: "ConfigMap", Namespace: h.ns, Name: "settings"}.object()
	widget := Entry{APIVersion: "example.org/v1", Kind: "Widget", Namespace: h.ns, Name: "w"}.object()
	got := h.s.liveObjects(context.Background(), []*unstructured.Unstructured{widget, cm})
	var keys []string
	for k := range got {
		keys = append(keys, k)
		if strings.Contains(k, "Widget") {
			t.Errorf("a Widget listed: %s", k)
		}
	}
	if got[Entry{APIVersion: "v1", Kind: "ConfigMap", Namespace: h.ns, Name: "settings"}.key()] == nil {
		t.Errorf("live objects %v, want ConfigMap settings among them", keys)
	}
}
