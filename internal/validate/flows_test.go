package validate

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lsst-dm/lsstgen/internal/model"
)

// pdacCopy is the real pdac instance with its objects and its model copied, so that a test
// may change both.
func pdacCopy(t *testing.T) Instance {
	t.Helper()
	for _, in := range realInstances(t) {
		if in.Name != "pdac" {
			continue
		}
		b, err := json.Marshal(in.Model)
		if err != nil {
			t.Fatal(err)
		}
		in.Model = model.Model{}
		if err := json.Unmarshal(b, &in.Model); err != nil {
			t.Fatal(err)
		}
		return in
	}
	t.Fatal("no instance pdac")
	return Instance{}
}

// findingsOf lists the findings of the rules whose ids start with prefix.
func findingsOf(fs []Finding, prefix string) []Finding {
	var out []Finding
	for _, f := range fs {
		if strings.HasPrefix(f.Rule, prefix) {
			out = append(out, f)
		}
	}
	return out
}

func patch(t *testing.T, in *Instance, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if err := applyPatchLine(in, l); err != nil {
			t.Fatalf("patch %q: %v", l, err)
		}
	}
}

// TestFlowsPoliciesRefused: policies the evaluator refuses give one finding saying so, and
// no verdict on any flow.
func TestFlowsPoliciesRefused(t *testing.T) {
	in := pdacCopy(t)
	patch(t, &in, `NetworkPolicy/notebook/hub-egress replace /spec/egress/1/to/0/ipBlock/cidr "192.0.2.300/28"`)
	fs := findingsOf(Validate([]Instance{in}), "LSST-NET-")
	if len(fs) != 1 || fs[0].Rule != NetDeclaredAllowed || !strings.Contains(fs[0].Message, "cannot be evaluated") || !strings.Contains(fs[0].Message, "NetworkPolicy/notebook/hub-egress") {
		t.Errorf("want one %s finding naming the refused policy, got %v", NetDeclaredAllowed, fs)
	}
}

// TestFlowsBadOutsideNetwork: an outside network whose CIDRs cannot be read, or whose
// except leaves no address, is a finding at the flow's declaration.
func TestFlowsBadOutsideNetwork(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		change     func(*model.FlowEnd)
	}{
		{"bad cidr", `cidr "not-a-cidr"`, func(e *model.FlowEnd) { e.CIDRs = []string{"not-a-cidr"} }},
		{"bad except", `except "10.0.0.0"`, func(e *model.FlowEnd) { e.Except = []string{"10.0.0.0"} }},
		{"except all", "its except leaves no address of 0.0.0.0/0", func(e *model.FlowEnd) { e.Except = []string{"0.0.0.0/1", "128.0.0.0/1"} }},
		{"no cidr", "has no CIDR", func(e *model.FlowEnd) { e.CIDRs = nil }},
		{"unknown kind", `end kind "bogus"`, func(e *model.FlowEnd) { e.Kind = "bogus" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := pdacCopy(t)
			const id = "notebook/hub -> cilogon"
			f := in.Model.Flows[id]
			tc.change(&f.Dst)
			in.Model.Flows[id] = f
			fs := findingsOf(Validate([]Instance{in}), "LSST-NET-")
			if len(fs) != 1 || fs[0].Rule != NetDeclaredAllowed || !strings.Contains(fs[0].Message, tc.want) || fs[0].Pos == nil || fs[0].Pos.File != "platform/flows.cue" {
				t.Errorf("want one %s finding at platform/flows.cue saying %q, got %v", NetDeclaredAllowed, tc.want, fs)
			}
		})
	}
}

// TestFlowsComponentWithoutPods: a component whose podLabels select no pod is a finding on
// its namespace, and the workload it should select one of its own.
func TestFlowsComponentWithoutPods(t *testing.T) {
	in := pdacCopy(t)
	suit := in.Model.Components["portal"]["suit"]
	suit.PodLabels = map[string]string{"app.kubernetes.io/name": "sui"}
	in.Model.Components["portal"]["suit"] = suit
	var got []string
	for _, f := range findingsOf(Validate([]Instance{in}), "LSST-NET-") {
		got = append(got, f.Rule+" "+f.Object)
	}
	want := []string{
		"LSST-NET-004 Deployment/portal/suit",
		"LSST-NET-004 Namespace/portal",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

// TestFlowsUndeclaredWithinNamespace: an allow of the namespace's pods among themselves
// opens user pods to each other, which no flow declares.
func TestFlowsUndeclaredWithinNamespace(t *testing.T) {
	in := pdacCopy(t)
	patch(t, &in,
		`NetworkPolicy/notebook-users/user-pods-ingress add /spec/ingress/- {"from": [{"podSelector": {}}]}`,
		`NetworkPolicy/notebook-users/user-pods-egress add /spec/egress/- {"to": [{"podSelector": {}}]}`)
	fs := findingsOf(Validate([]Instance{in}), "LSST-NET-")
	if len(fs) != 1 || fs[0].Rule != NetUndeclaredDenied || !strings.Contains(fs[0].Message, "notebook-users/user-pods → notebook-users/user-pods TCP/8888 (notebook-port)") {
		t.Errorf("want one %s finding for user pods reaching each other, got %v", NetUndeclaredDenied, fs)
	}
}

// TestFlowsWithoutComponents: a model older than the flows has nothing to check.
func TestFlowsWithoutComponents(t *testing.T) {
	in := pdacCopy(t)
	in.Model.Components, in.Model.Flows = nil, nil
	if fs := findingsOf(Validate([]Instance{in}), "LSST-NET-"); len(fs) != 0 {
		t.Errorf("want no findings, got %v", fs)
	}
}

func TestFirstAddr(t *testing.T) {
	for _, tc := range []struct {
		cidr   string
		except []string
		want   string // "" for none
	}{
		{"192.0.2.64/28", nil, "192.0.2.64"},
		{"0.0.0.0/0", []string{"0.0.0.0/8"}, "1.0.0.0"},
		{"192.0.2.0/24", []string{"192.0.2.128/26", "192.0.2.0/25"}, "192.0.2.192"},
		{"10.0.0.0/8", []string{"10.0.0.0/8"}, ""},
		{"255.255.255.255/32", []string{"255.255.255.255/32"}, ""},
		{"2001:db8::/32", []string{"2001:db8::/33"}, "2001:db8:8000::"},
	} {
		var except []netip.Prefix
		for _, e := range tc.except {
			except = append(except, netip.MustParsePrefix(e))
		}
		a, ok := firstAddr(netip.MustParsePrefix(tc.cidr), except)
		got := ""
		if ok {
			got = a.String()
		}
		if got != tc.want {
			t.Errorf("firstAddr(%s except %v) = %q, want %q", tc.cidr, tc.except, got, tc.want)
		}
	}
}
