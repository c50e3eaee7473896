package validate

import (
	"errors"
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

var update = flag.Bool("update", false, "rewrite the rules table of docs/rules.md")

// rulesDoc is the page that lists the rules, between the rules:begin and rules:end markers.
const rulesDoc = "../../docs/rules.md"

// rulesTable is the Markdown table of Rules.
func rulesTable() string {
	var b strings.Builder
	b.WriteString("| id | family | severity | rule |\n|---|---|---|---|\n")
	for _, r := range Rules {
		b.WriteString("| `" + r.ID + "` | " + r.Family + " | " + string(r.Severity) + " | " + strings.ReplaceAll(r.Summary, "|", `\|`) + " |\n")
	}
	return b.String()
}

// TestRulesDoc: docs/rules.md's rules table is Rules (go test -run TestRulesDoc -update rewrites it).
func TestRulesDoc(t *testing.T) {
	b, err := os.ReadFile(rulesDoc)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- rules:begin -->\n", "<!-- rules:end -->"
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the %q and %q markers", rulesDoc, begin, end)
	}
	got, want := doc[i+len(begin):j], rulesTable()
	if *update {
		if err := os.WriteFile(rulesDoc, []byte(doc[:i+len(begin)]+want+doc[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s is stale; run go test ./internal/validate -run TestRulesDoc -update (-want +got):\n%s", rulesDoc, diff)
	}
}

// TestRuleIDs: ids are unique and well formed, and every summary says something.
func TestRuleIDs(t *testing.T) {
	re := regexp.MustCompile(`^LSST-(SCHEMA|REF|SEC|IMG|CAP|NOTES|NET|PRIV|DEV)-\d{3}$`)
	seen := map[string]bool{}
	for _, r := range Rules {
		if !re.MatchString(r.ID) || seen[r.ID] || r.Summary == "" || (r.Severity != Error && r.Severity != Warning) {
			t.Errorf("bad rule %+v (duplicate: %v)", r, seen[r.ID])
		}
		seen[r.ID] = true
	}
	if got := ruleByID("LSST-NOPE-001"); got.Severity != Error {
		t.Errorf("an unknown id must default to an error, got %+v", got)
	}
}

func TestImagePinned(t *testing.T) {
	tests := []struct {
		ref  string
		want bool
	}{
		{"registry.pdac.lsst.example/ipac/firefly:2024.3.3", true},
		{"registry.pdac.lsst.example/ipac/firefly:latest", false},
		{"registry.pdac.lsst.example/ipac/firefly", false},
		{"registry.pdac.lsst.example:5000/ipac/firefly", false},
		{"registry.pdac.lsst.example:5000/ipac/firefly:1.0", true},
		{"firefly@sha256:0123456789abcdef", true},
		{"firefly:", false},
		{"", false},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			if got := imagePinned(tc.ref); got != tc.want {
				t.Errorf("imagePinned(%q) = %v, want %v", tc.ref, got, tc.want)
			}
		})
	}
}

func TestImageRegistry(t *testing.T) {
	for ref, want := range map[string]string{
		"quay.io/jupyterhub/k8s-hub:4.0.0":                  "quay.io",
		"registry.pdac.lsst.example/lsst-dm/lsstgen:v0.1.0": "registry.pdac.lsst.example",
		"localhost:5000/x:1":                                "localhost:5000",
		"localhost/x:1":                                     "localhost",
		"ipac/firefly:2024.3.3":                             "docker.io",
		"almalinux:9.5":                                     "docker.io",
	} {
		if got := imageRegistry(ref); got != want {
			t.Errorf("imageRegistry(%q) = %q, want %q", ref, got, want)
		}
	}
}

func TestFindingString(t *testing.T) {
	tests := []struct {
		in   Finding
		want string
	}{
		{Finding{Rule: "LSST-SEC-008", Severity: Error, Instance: "pdac", Object: "Deployment/portal/firefly", Message: "m", Pos: &Position{File: "f.cue", Line: 3, Column: 2}}, "f.cue:3:2: error LSST-SEC-008 [pdac] Deployment/portal/firefly: m"},
		{Finding{Rule: "LSST-CAP-001", Severity: Warning, Instance: "pdac", Message: "m", Pos: &Position{File: "f.cue", Line: 3}}, "f.cue:3: warning LSST-CAP-001 [pdac]: m"},
		{Finding{Rule: "LSST-CAP-001", Severity: Error, Instance: "pdac", Message: "m"}, "error LSST-CAP-001 [pdac]: m"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.in.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if n := ErrorCount([]Finding{{Severity: Warning}, {Severity: Error}, {Severity: Error}}); n != 2 {
		t.Errorf("ErrorCount = %d, want 2", n)
	}
}

// TestDuplicateKeyFinding: a document refused for a key written twice is an
// LSST-SCHEMA-001 error on its object, at the file and line of the second key.
func TestDuplicateKeyFinding(t *testing.T) {
	_, err := manifest.Decode("generated/x/a.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: n1\ndata:\n  k: v\n  k: w\n"))
	var dup *manifest.DuplicateKeyError
	if !errors.As(err, &dup) {
		t.Fatalf("Decode: %v, want a duplicate key", err)
	}
	fs := Validate([]Instance{{Name: "x", Duplicates: []*manifest.DuplicateKeyError{dup}}})
	want := []Finding{{
		Rule: SchemaUnknownField, Severity: Error, Instance: "x", Object: "ConfigMap/n1/a",
		Message: `sets "data.k" twice (first at line 7); a reader keeps only one of the values, so the manifest is refused: remove the other`,
		Pos:     &Position{File: "generated/x/a.yaml", Line: 8},
	}}
	if diff := cmp.Diff(want, fs); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}
