package netpol_test

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/lsst-dm/lsstgen/internal/netpol"
)

// Builders that keep the test data close to the YAML it stands for.

func policy(namespace, name string, spec networkingv1.NetworkPolicySpec) networkingv1.NetworkPolicy {
	return networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec:       spec,
	}
}

func labelMap(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// match is a selector with matchLabels; match() is the empty selector {}.
func match(kv ...string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: labelMap(kv...)}
}

func types(t ...networkingv1.PolicyType) []networkingv1.PolicyType { return t }

const (
	in  = networkingv1.PolicyTypeIngress
	out = networkingv1.PolicyTypeEgress
)

func podsPeer(sel *metav1.LabelSelector) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{PodSelector: sel}
}

func nsPeer(sel *metav1.LabelSelector) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{NamespaceSelector: sel}
}

func nsPodsPeer(ns, pods *metav1.LabelSelector) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{NamespaceSelector: ns, PodSelector: pods}
}

func blockPeer(cidr string, except ...string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}
}

func proto(p corev1.Protocol) *corev1.Protocol { return &p }

func portNum(p corev1.Protocol, n int32) networkingv1.NetworkPolicyPort {
	v := intstr.FromInt32(n)
	return networkingv1.NetworkPolicyPort{Protocol: proto(p), Port: &v}
}

func portRange(p corev1.Protocol, from, to int32) networkingv1.NetworkPolicyPort {
	np := portNum(p, from)
	np.EndPort = &to
	return np
}

func portName(name string) networkingv1.NetworkPolicyPort {
	v := intstr.FromString(name)
	return networkingv1.NetworkPolicyPort{Port: &v}
}

func pod(namespace string, kv ...string) netpol.Peer {
	return netpol.PodPeer(namespace, labelMap(kv...))
}

func addr(s string) netpol.Peer { return netpol.AddrPeer(netip.MustParseAddr(s)) }

func tcp(src, dst netpol.Peer, port int32) netpol.Flow {
	return netpol.Flow{Source: src, Destination: dst, Port: port}
}

func udp(src, dst netpol.Peer, port int32) netpol.Flow {
	return netpol.Flow{Source: src, Destination: dst, Port: port, Protocol: corev1.ProtocolUDP}
}

// Expected halves of verdicts.

var (
	notIsolated = netpol.DirectionVerdict{Reason: netpol.NotIsolated}
	outside     = netpol.DirectionVerdict{Reason: netpol.Outside}
)

func denied(isolatedBy ...string) netpol.DirectionVerdict {
	return netpol.DirectionVerdict{Reason: netpol.NoRuleAllows, IsolatedBy: isolatedBy}
}

func allowed(isolatedBy []string, by ...netpol.RuleRef) netpol.DirectionVerdict {
	return netpol.DirectionVerdict{Reason: netpol.AllowedByRule, IsolatedBy: isolatedBy, AllowedBy: by}
}

func ids(s ...string) []string { return s }

func ref(policy string, dir netpol.Direction, i int) netpol.RuleRef {
	return netpol.RuleRef{Policy: policy, Direction: dir, Index: i}
}

type flowCase struct {
	name string
	flow netpol.Flow
	want netpol.Verdict
}

// docNamespaces are the namespaces the documentation's examples talk about.
var docNamespaces = []netpol.Namespace{
	{Name: "default"},
	{Name: "myproject", Labels: labelMap("project", "myproject")},
	{Name: "alice", Labels: labelMap("user", "alice")},
	{Name: "bob", Labels: labelMap("user", "bob")},
	{Name: "frontend", Labels: labelMap("namespace", "frontend")},
	{Name: "backend", Labels: labelMap("namespace", "backend")},
	{Name: "my-namespace"},
	{Name: "other"},
}

// runFlows evaluates every case against policies over docNamespaces.
func runFlows(t *testing.T, policies []networkingv1.NetworkPolicy, cases []flowCase) {
	t.Helper()
	e, err := netpol.New(policies, docNamespaces)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.Evaluate(tc.flow)
			if err != nil {
				t.Fatalf("Evaluate(%s): %v", tc.flow, err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Evaluate(%s) (-want +got):\n%s", tc.flow, diff)
			}
			wantAllowed := tc.want.Egress.Reason != netpol.NoRuleAllows && tc.want.Ingress.Reason != netpol.NoRuleAllows
			if got.Allowed() != wantAllowed {
				t.Errorf("Evaluate(%s).Allowed() = %v, want %v (%s)", tc.flow, got.Allowed(), wantAllowed, got)
			}
		})
	}
}
