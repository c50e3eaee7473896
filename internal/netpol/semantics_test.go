package netpol_test

import (
	"net/netip"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/lsst-dm/lsstgen/internal/netpol"
)

// Named ports (NetworkPolicyPort.port in the API reference: "a numerical or named port on
// a pod") name a container port of the destination, in ingress and egress rules alike.
func TestNamedPorts(t *testing.T) {
	const (
		web    = "NetworkPolicy/default/web-by-name"
		client = "NetworkPolicy/default/client-by-name"
	)
	policies := []networkingv1.NetworkPolicy{
		policy("default", "web-by-name", networkingv1.NetworkPolicySpec{
			PodSelector: *match("app", "web"),
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				Ports: []networkingv1.NetworkPolicyPort{portName("http")},
			}},
		}),
		policy("default", "client-by-name", networkingv1.NetworkPolicySpec{
			PodSelector: *match("app", "client"),
			PolicyTypes: types(out),
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				Ports: []networkingv1.NetworkPolicyPort{portName("metrics")},
			}},
		}),
	}
	webPod, clientPod := pod("default", "app", "web"), pod("default", "app", "client")
	named := func(src, dst netpol.Peer, port int32, name string) netpol.Flow {
		f := tcp(src, dst, port)
		f.PortName = name
		return f
	}
	webIn := allowed(ids(web), ref(web, netpol.Ingress, 0))
	runFlows(t, policies, []flowCase{
		{"the named port, whatever its number", named(pod("other"), webPod, 8080, "http"),
			netpol.Verdict{Egress: notIsolated, Ingress: webIn}},
		{"the same number without the name", tcp(pod("other"), webPod, 8080),
			netpol.Verdict{Egress: notIsolated, Ingress: denied(web)}},
		{"another name", named(pod("other"), webPod, 8080, "https"),
			netpol.Verdict{Egress: notIsolated, Ingress: denied(web)}},
		{"the name over UDP", func() netpol.Flow {
			f := named(pod("other"), webPod, 8080, "http")
			f.Protocol = corev1.ProtocolUDP
			return f
		}(), netpol.Verdict{Egress: notIsolated, Ingress: denied(web)}},
		{"egress to the destination's named port", named(clientPod, pod("other", "app", "exporter"), 9100, "metrics"),
			netpol.Verdict{Egress: allowed(ids(client), ref(client, netpol.Egress, 0)), Ingress: notIsolated}},
		{"egress to an outside address never matches a name", tcp(clientPod, addr("192.0.2.1"), 9100),
			netpol.Verdict{Egress: denied(client), Ingress: outside}},
		{"both sides by name", named(clientPod, webPod, 80, "http"),
			netpol.Verdict{Egress: denied(client), Ingress: webIn}},
	})
}

// policyTypes: the default is Ingress, plus Egress when there are egress rules; a
// direction left out of an explicit policyTypes ignores that direction's rules, even when
// another policy isolates the pod for it.
func TestPolicyTypes(t *testing.T) {
	const (
		implicit   = "NetworkPolicy/default/implicit-types"
		egressOnly = "NetworkPolicy/default/egress-only"
		denyIn     = "NetworkPolicy/default/deny-in"
	)
	policies := []networkingv1.NetworkPolicy{
		// No policyTypes, egress rules: both directions.
		policy("default", "implicit-types", networkingv1.NetworkPolicySpec{
			PodSelector: *match("app", "a"),
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				Ports: []networkingv1.NetworkPolicyPort{portNum("UDP", 53)},
			}},
		}),
		// policyTypes [Egress] with an ingress rule that must not count.
		policy("default", "egress-only", networkingv1.NetworkPolicySpec{
			PodSelector: *match("app", "b"),
			PolicyTypes: types(out),
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{}},
		}),
		policy("default", "deny-in", networkingv1.NetworkPolicySpec{
			PodSelector: *match("app", "c"),
			PolicyTypes: types(in),
		}),
		policy("default", "egress-only-c", networkingv1.NetworkPolicySpec{
			PodSelector: *match("app", "c"),
			PolicyTypes: types(out),
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{}},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{}},
		}),
	}
	const egressOnlyC = "NetworkPolicy/default/egress-only-c"
	runFlows(t, policies, []flowCase{
		{"implicit: egress isolated, DNS allowed", udp(pod("default", "app", "a"), addr("192.0.2.53"), 53),
			netpol.Verdict{Egress: allowed(ids(implicit), ref(implicit, netpol.Egress, 0)), Ingress: outside}},
		{"implicit: egress isolated, other ports denied", tcp(pod("default", "app", "a"), addr("192.0.2.53"), 53),
			netpol.Verdict{Egress: denied(implicit), Ingress: outside}},
		{"implicit: ingress isolated with no ingress rules", tcp(pod("other"), pod("default", "app", "a"), 80),
			netpol.Verdict{Egress: notIsolated, Ingress: denied(implicit)}},
		{"egress only: not isolated for ingress", tcp(pod("other"), pod("default", "app", "b"), 80),
			netpol.Verdict{Egress: notIsolated, Ingress: notIsolated}},
		{"egress only: isolated for egress, nothing allowed", tcp(pod("default", "app", "b"), pod("other"), 80),
			netpol.Verdict{Egress: denied(egressOnly), Ingress: notIsolated}},
		{"ignored ingress rule does not open an isolated pod", tcp(pod("other"), pod("default", "app", "c"), 80),
			netpol.Verdict{Egress: notIsolated, Ingress: denied(denyIn)}},
		{"its egress rule does", tcp(pod("default", "app", "c"), pod("other"), 80),
			netpol.Verdict{Egress: allowed(ids(egressOnlyC), ref(egressOnlyC, netpol.Egress, 0)), Ingress: notIsolated}},
	})
}

// Rules of several policies and several rules of one policy add up; every rule that
// admits the flow is named. A policy selects pods of its own namespace only.
func TestRulesAddUp(t *testing.T) {
	const (
		a = "NetworkPolicy/default/a"
		b = "NetworkPolicy/default/b"
	)
	policies := []networkingv1.NetworkPolicy{
		// Given out of order: the verdict lists policies by name.
		policy("default", "b", networkingv1.NetworkPolicySpec{
			PodSelector: *match(),
			Ingress: []networkingv1.NetworkPolicyIngressRule{
				{Ports: []networkingv1.NetworkPolicyPort{portNum("TCP", 80)}},
				{From: []networkingv1.NetworkPolicyPeer{nsPeer(match())}},
			},
		}),
		policy("default", "a", networkingv1.NetworkPolicySpec{
			PodSelector: *match("app", "web"),
			Ingress: []networkingv1.NetworkPolicyIngressRule{
				{Ports: []networkingv1.NetworkPolicyPort{portRange("SCTP", 1000, 2000)}},
				{From: []networkingv1.NetworkPolicyPeer{podsPeer(match())}, Ports: []networkingv1.NetworkPolicyPort{portNum("TCP", 80)}},
			},
		}),
		policy("other", "elsewhere", networkingv1.NetworkPolicySpec{PodSelector: *match()}),
	}
	web := pod("default", "app", "web")
	runFlows(t, policies, []flowCase{
		{"three rules admit", tcp(pod("default"), web, 80),
			netpol.Verdict{Egress: notIsolated, Ingress: allowed(ids(a, b),
				ref(a, netpol.Ingress, 1), ref(b, netpol.Ingress, 0), ref(b, netpol.Ingress, 1))}},
		{"namespaceSelector {} is every namespace, not outside", tcp(addr("192.0.2.1"), web, 443),
			netpol.Verdict{Egress: outside, Ingress: denied(a, b)}},
		{"from another namespace, only b's second rule", tcp(pod("alice"), web, 443),
			netpol.Verdict{Egress: notIsolated, Ingress: allowed(ids(a, b), ref(b, netpol.Ingress, 1))}},
		{"SCTP range", netpol.Flow{Source: addr("192.0.2.1"), Destination: web, Port: 1500, Protocol: corev1.ProtocolSCTP},
			netpol.Verdict{Egress: outside, Ingress: allowed(ids(a, b), ref(a, netpol.Ingress, 0))}},
		{"outside to outside is no policy's business", tcp(addr("192.0.2.1"), addr("2001:db8::1"), 22),
			netpol.Verdict{Egress: outside, Ingress: outside}},
		{"the policy of another namespace isolates only there", tcp(web, pod("other"), 80),
			netpol.Verdict{Egress: notIsolated, Ingress: denied("NetworkPolicy/other/elsewhere")}},
	})
}

// IPv6 blocks and excepts, and an IPv4 address against an IPv6 block.
func TestIPv6Blocks(t *testing.T) {
	const v6 = "NetworkPolicy/default/v6"
	policies := []networkingv1.NetworkPolicy{
		policy("default", "v6", networkingv1.NetworkPolicySpec{
			PodSelector: *match(),
			PolicyTypes: types(out),
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				To: []networkingv1.NetworkPolicyPeer{blockPeer("2001:db8::/32", "2001:db8:bad::/48")},
			}},
		}),
	}
	ok := netpol.Verdict{Egress: allowed(ids(v6), ref(v6, netpol.Egress, 0)), Ingress: outside}
	no := netpol.Verdict{Egress: denied(v6), Ingress: outside}
	runFlows(t, policies, []flowCase{
		{"in the block", tcp(pod("default"), addr("2001:db8:1::1"), 443), ok},
		{"in the except", tcp(pod("default"), addr("2001:db8:bad::1"), 443), no},
		{"beyond the block", tcp(pod("default"), addr("2001:db9::1"), 443), no},
		{"an IPv4 address", tcp(pod("default"), addr("32.1.13.184"), 443), no},
	})
}

// New sets kubernetes.io/metadata.name to the namespace's name, as the apiserver does,
// over whatever value it was given.
func TestNamespaceNameLabelIsSet(t *testing.T) {
	const p = "NetworkPolicy/default/to-db"
	policies := []networkingv1.NetworkPolicy{
		policy("default", "to-db", networkingv1.NetworkPolicySpec{
			PodSelector: *match(),
			PolicyTypes: types(out),
			Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{
				nsPeer(match(netpol.NamespaceNameLabel, "db")),
			}}},
		}),
	}
	namespaces := []netpol.Namespace{
		{Name: "default"},
		{Name: "db"},
		{Name: "impostor", Labels: labelMap(netpol.NamespaceNameLabel, "db")},
	}
	e, err := netpol.New(policies, namespaces)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []flowCase{
		{"db by its name", tcp(pod("default"), pod("db"), 5432),
			netpol.Verdict{Egress: allowed(ids(p), ref(p, netpol.Egress, 0)), Ingress: notIsolated}},
		{"a namespace claiming db's name", tcp(pod("default"), pod("impostor"), 5432),
			netpol.Verdict{Egress: denied(p), Ingress: notIsolated}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.Evaluate(tc.flow)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerdictString(t *testing.T) {
	for _, tc := range []struct {
		v    netpol.Verdict
		want string
	}{
		{netpol.Verdict{Egress: notIsolated, Ingress: outside},
			"allowed: egress not isolated; ingress outside the cluster"},
		{netpol.Verdict{Egress: denied("NetworkPolicy/a/deny", "NetworkPolicy/a/web"), Ingress: notIsolated},
			"denied: egress isolated by NetworkPolicy/a/deny, NetworkPolicy/a/web; no rule allows; ingress not isolated"},
		{netpol.Verdict{Egress: outside, Ingress: allowed(ids("NetworkPolicy/a/web"),
			ref("NetworkPolicy/a/web", netpol.Ingress, 0), ref("NetworkPolicy/a/web", netpol.Ingress, 2))},
			"allowed: egress outside the cluster; ingress allowed by NetworkPolicy/a/web ingress[0], NetworkPolicy/a/web ingress[2]"},
	} {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("String() = %q\nwant        %q", got, tc.want)
		}
	}
	f := netpol.Flow{Source: pod("a", "app", "hub", "tier", "web"), Destination: pod("b"), Port: 8081, PortName: "http"}
	if got, want := f.String(), "a/{app=hub,tier=web} -> b/{} TCP/8081(http)"; got != want {
		t.Errorf("Flow.String() = %q, want %q", got, want)
	}
	f = udp(pod("a"), addr("192.0.2.53"), 53)
	if got, want := f.String(), "a/{} -> 192.0.2.53 UDP/53"; got != want {
		t.Errorf("Flow.String() = %q, want %q", got, want)
	}
}

// IPBlocksOverlapping finds the rules whose ipBlock reaches into a prefix (the pod
// network), which most network plugins would let admit pods.
func TestIPBlocksOverlapping(t *testing.T) {
	policies := []networkingv1.NetworkPolicy{
		policy("hub", "anywhere", networkingv1.NetworkPolicySpec{
			PodSelector: *match(),
			PolicyTypes: types(out),
			Egress: []networkingv1.NetworkPolicyEgressRule{
				{To: []networkingv1.NetworkPolicyPeer{podsPeer(match())}},
				{To: []networkingv1.NetworkPolicyPeer{blockPeer("0.0.0.0/0")}},
			},
		}),
		policy("hub", "all-but-pods", networkingv1.NetworkPolicySpec{
			PodSelector: *match(),
			PolicyTypes: types(out),
			Egress: []networkingv1.NetworkPolicyEgressRule{
				{To: []networkingv1.NetworkPolicyPeer{blockPeer("0.0.0.0/0", "10.244.0.0/16")}},
			},
		}),
		policy("app", "inside-pods", networkingv1.NetworkPolicySpec{
			PodSelector: *match(),
			Ingress: []networkingv1.NetworkPolicyIngressRule{
				{From: []networkingv1.NetworkPolicyPeer{blockPeer("10.244.3.0/24")}},
				{From: []networkingv1.NetworkPolicyPeer{blockPeer("192.0.2.0/24")}},
			},
		}),
		policy("app", "ignored", networkingv1.NetworkPolicySpec{
			PodSelector: *match(),
			PolicyTypes: types(in),
			Egress: []networkingv1.NetworkPolicyEgressRule{
				{To: []networkingv1.NetworkPolicyPeer{blockPeer("0.0.0.0/0")}},
			},
		}),
	}
	e, err := netpol.New(policies, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []netpol.RuleRef{
		ref("NetworkPolicy/app/inside-pods", netpol.Ingress, 0),
		ref("NetworkPolicy/hub/anywhere", netpol.Egress, 1),
	}
	if diff := cmp.Diff(want, e.IPBlocksOverlapping(netip.MustParsePrefix("10.244.0.0/16"))); diff != "" {
		t.Errorf("IPBlocksOverlapping (-want +got):\n%s", diff)
	}
	if got := e.IPBlocksOverlapping(netip.MustParsePrefix("fd00:10:244::/56")); len(got) != 0 {
		t.Errorf("IPBlocksOverlapping(IPv6 pod network) = %v, want none", got)
	}
}

// The Evaluator is read-only after New: goroutines deciding flows at once get the
// answers one goroutine gets (run with -race to check the claim of safety too).
func TestConcurrentEvaluate(t *testing.T) {
	policies, namespaces, flows := benchWorld(6, 3, 400)
	e, err := netpol.New(policies, namespaces)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]netpol.Verdict, len(flows))
	for i, f := range flows {
		if want[i], err = e.Evaluate(f); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	got := make([][]netpol.Verdict, 4)
	for g := range got {
		got[g] = make([]netpol.Verdict, len(flows))
		wg.Go(func() {
			for i, f := range flows {
				got[g][i], _ = e.Evaluate(f)
			}
		})
	}
	wg.Wait()
	for g := range got {
		if diff := cmp.Diff(want, got[g]); diff != "" {
			t.Fatalf("goroutine %d (-want +got):\n%s", g, diff)
		}
	}
}
