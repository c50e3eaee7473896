package netpol_test

import (
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lsst-dm/lsstgen/internal/netpol"
)

// The cases below reproduce the examples of the Kubernetes documentation: the concept page
// kubernetes/website content/en/docs/concepts/services-networking/network-policies.md and
// the files under content/en/examples/service/networking/. The files carry no namespace;
// they are placed in "default" here.

const (
	denyIngress    = "NetworkPolicy/default/default-deny-ingress"
	allowAllIn     = "NetworkPolicy/default/allow-all-ingress"
	denyEgress     = "NetworkPolicy/default/default-deny-egress"
	allowAllOut    = "NetworkPolicy/default/allow-all-egress"
	denyAll        = "NetworkPolicy/default/default-deny-all"
	allowOutDenyIn = "NetworkPolicy/default/allow-egress-deny-ingress"
	testPolicy     = "NetworkPolicy/default/test-network-policy"
	multiPort      = "NetworkPolicy/default/multi-port-egress"
	accessNginx    = "NetworkPolicy/default/access-nginx"
)

// network-policy-default-deny-ingress.yaml: every pod of the namespace is isolated for
// ingress; egress is left alone.
func TestDefaultDenyIngress(t *testing.T) {
	policies := []networkingv1.NetworkPolicy{
		policy("default", "default-deny-ingress", networkingv1.NetworkPolicySpec{
			PodSelector: *match(),
			PolicyTypes: types(in),
		}),
	}
	runFlows(t, policies, []flowCase{
		{"pod to pod in the namespace", tcp(pod("default", "app", "client"), pod("default", "app", "web"), 80),
			netpol.Verdict{Egress: notIsolated, Ingress: denied(denyIngress)}},
		{"from another namespace", tcp(pod("other", "app", "client"), pod("default"), 80),
			netpol.Verdict{Egress: notIsolated, Ingress: denied(denyIngress)}},
		{"from outside", tcp(addr("192.0.2.1"), pod("default", "app", "web"), 443),
			netpol.Verdict{Egress: outside, Ingress: denied(denyIngress)}},
		{"egress is not isolated", udp(pod("default", "app", "web"), addr("192.0.2.53"), 53),
			netpol.Verdict{Egress: notIsolated, Ingress: outside}},
		{"other namespaces are not isolated", tcp(pod("default", "app", "web"), pod("other", "app", "web"), 80),
			netpol.Verdict{Egress: notIsolated, Ingress: notIsolated}},
	})
}

// network-policy-allow-all-ingress.yaml beside the default deny: the allow-all rule wins,
// since rules only add.
func TestAllowAllIngress(t *testing.T) {
	policies := []networkingv1.NetworkPolicy{
		policy("default", "default-deny-ingress", networkingv1.NetworkPolicySpec{
			PodSelector: *match(),
			PolicyTypes: types(in),
		}),
		policy("default", "allow-all-ingress", networkingv1.NetworkPolicySpec{
			PodSelector: *match(),
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{}},
			PolicyTypes: types(in),
		}),
	}
	both := ids(allowAllIn, denyIngress)
	runFlows(t, policies, []flowCase{
		{"from a pod", tcp(pod("other"), pod("default", "app", "web"), 80),
			netpol.Verdict{Egress: notIsolated, Ingress: allowed(both, ref(allowAllIn, netpol.Ingress, 0))}},
		{"from outside on any protocol", udp(addr("2001:db8::1"), pod("default"), 9999),
			netpol.Verdict{Egress: outside, Ingress: allowed(both, ref(allowAllIn, netpol.Ingress, 0))}},
	})
}

// network-policy-default-deny-egress.yaml: every pod of the namespace is isolated for
// egress; ingress is left alone.
func TestDefaultDenyEgress(t *testing.T) {
	policies := []networkingv1.NetworkPolicy{
		policy("default", "default-deny-egress", networkingv1.NetworkPolicySpec{
			PodSelector: *match(),
			PolicyTypes: types(out),
		}),
	}
	runFlows(t, policies, []flowCase{
		{"to DNS outside", udp(pod("default", "app", "web"), addr("192.0.2.53"), 53),
			netpol.Verdict{Egress: denied(denyEgress), Ingress: outside}},
		{"to a pod of the namespace", tcp(pod("default", "app", "web"), pod("default", "app", "db"), 5432),
			netpol.Verdict{Egress: denied(denyEgress), Ingress: notIsolated}},
		{"ingress is not isolated", tcp(pod("other"), pod("default", "app", "web"), 80),
			netpol.Verdict{Egress: notIsolated, Ingress: notIsolated}},
	})
}

// network-policy-allow-all-egress.yaml beside the default egress deny.
func TestAllowAllEgress(t *testing.T) {
	policies := []networkingv1.NetworkPolicy{
		policy("default", "default-deny-egress", networkingv1.NetworkPolicySpec{
			PodSelector: *match(),
			PolicyTypes: types(out),
		}),
		policy("default", "allow-all-egress", networkingv1.NetworkPolicySpec{
			PodSelector: *match(),
			Egress:      []networkingv1.NetworkPolicyEgressRule{{}},
			PolicyTypes: types(out),
		}),
	}
	both := ids(allowAllOut, denyEgress)
	runFlows(t, policies, []flowCase{
		{"to outside", udp(pod("default"), addr("192.0.2.53"), 53),
			netpol.Verdict{Egress: allowed(both, ref(allowAllOut, netpol.Egress, 0)), Ingress: outside}},
		{"to another namespace", tcp(pod("default"), pod("other"), 8080),
			netpol.Verdict{Egress: allowed(both, ref(allowAllOut, netpol.Egress, 0)), Ingress: notIsolated}},
	})
}

// network-policy-default-deny-all.yaml: both directions isolated, nothing allowed.
func TestDefaultDenyAll(t *testing.T) {
	policies := []networkingv1.NetworkPolicy{
		policy("default", "default-deny-all", networkingv1.NetworkPolicySpec{
			PodSelector: *match(),
			PolicyTypes: types(in, out),
		}),
	}
	runFlows(t, policies, []flowCase{
		{"within the namespace", tcp(pod("default", "app", "a"), pod("default", "app", "b"), 80),
			netpol.Verdict{Egress: denied(denyAll), Ingress: denied(denyAll)}},
		{"in from another namespace", tcp(pod("other"), pod("default"), 80),
			netpol.Verdict{Egress: notIsolated, Ingress: denied(denyAll)}},
		{"out to another namespace", tcp(pod("default"), pod("other"), 80),
			netpol.Verdict{Egress: denied(denyAll), Ingress: notIsolated}},
		{"out to outside", tcp(pod("default"), addr("198.51.100.7"), 443),
			netpol.Verdict{Egress: denied(denyAll), Ingress: outside}},
	})
}

// network-policy-allow-all-egress-deny-all-ingress.yaml: an empty egress rule {} allows
// everything out; an empty ingress list allows nothing in.
func TestAllowAllEgressDenyAllIngress(t *testing.T) {
	policies := []networkingv1.NetworkPolicy{
		policy("default", "allow-egress-deny-ingress", networkingv1.NetworkPolicySpec{
			PodSelector: *match(),
			PolicyTypes: types(out, in),
			Egress:      []networkingv1.NetworkPolicyEgressRule{{}},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{},
		}),
	}
	runFlows(t, policies, []flowCase{
		{"within the namespace", tcp(pod("default", "app", "a"), pod("default", "app", "b"), 80),
			netpol.Verdict{
				Egress:  allowed(ids(allowOutDenyIn), ref(allowOutDenyIn, netpol.Egress, 0)),
				Ingress: denied(allowOutDenyIn),
			}},
		{"out to outside", udp(pod("default"), addr("192.0.2.53"), 53),
			netpol.Verdict{Egress: allowed(ids(allowOutDenyIn), ref(allowOutDenyIn, netpol.Egress, 0)), Ingress: outside}},
	})
}

// networkpolicy.yaml, the concept page's test-network-policy: role=db pods in default
// accept TCP 6379 from 172.17.0.0/16 except 172.17.1.0/24, from any pod of a namespace
// labelled project=myproject, and from role=frontend pods of default; they may connect
// to 10.0.0.0/24 on TCP 5978 and nowhere else.
func TestTestNetworkPolicy(t *testing.T) {
	policies := []networkingv1.NetworkPolicy{
		policy("default", "test-network-policy", networkingv1.NetworkPolicySpec{
			PodSelector: *match("role", "db"),
			PolicyTypes: types(in, out),
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{
					blockPeer("172.17.0.0/16", "172.17.1.0/24"),
					nsPeer(match("project", "myproject")),
					podsPeer(match("role", "frontend")),
				},
				Ports: []networkingv1.NetworkPolicyPort{portNum("TCP", 6379)},
			}},
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				To:    []networkingv1.NetworkPolicyPeer{blockPeer("10.0.0.0/24")},
				Ports: []networkingv1.NetworkPolicyPort{portNum("TCP", 5978)},
			}},
		}),
	}
	db := pod("default", "role", "db")
	isolated := ids(testPolicy)
	in0 := allowed(isolated, ref(testPolicy, netpol.Ingress, 0))
	out0 := allowed(isolated, ref(testPolicy, netpol.Egress, 0))
	runFlows(t, policies, []flowCase{
		{"frontend of default", tcp(pod("default", "role", "frontend"), db, 6379),
			netpol.Verdict{Egress: notIsolated, Ingress: in0}},
		{"frontend of default on another port", tcp(pod("default", "role", "frontend"), db, 6380),
			netpol.Verdict{Egress: notIsolated, Ingress: denied(testPolicy)}},
		{"frontend of default over UDP", udp(pod("default", "role", "frontend"), db, 6379),
			netpol.Verdict{Egress: notIsolated, Ingress: denied(testPolicy)}},
		{"frontend of another namespace", tcp(pod("other", "role", "frontend"), db, 6379),
			netpol.Verdict{Egress: notIsolated, Ingress: denied(testPolicy)}},
		{"any pod of project=myproject", tcp(pod("myproject", "app", "anything"), db, 6379),
			netpol.Verdict{Egress: notIsolated, Ingress: in0}},
		{"172.17.0.255 is in the block", tcp(addr("172.17.0.255"), db, 6379),
			netpol.Verdict{Egress: outside, Ingress: in0}},
		{"172.17.1.9 is excepted", tcp(addr("172.17.1.9"), db, 6379),
			netpol.Verdict{Egress: outside, Ingress: denied(testPolicy)}},
		{"172.17.2.0 is in the block again", tcp(addr("172.17.2.0"), db, 6379),
			netpol.Verdict{Egress: outside, Ingress: in0}},
		{"172.18.0.1 is beyond the block", tcp(addr("172.18.0.1"), db, 6379),
			netpol.Verdict{Egress: outside, Ingress: denied(testPolicy)}},
		{"an IPv4-mapped address is the IPv4 address", tcp(addr("::ffff:172.17.0.1"), db, 6379),
			netpol.Verdict{Egress: outside, Ingress: in0}},
		{"a pod of default that is not db is not isolated", tcp(addr("192.0.2.1"), pod("default", "role", "frontend"), 80),
			netpol.Verdict{Egress: outside, Ingress: notIsolated}},
		{"db to 10.0.0.0/24 on 5978", tcp(db, addr("10.0.0.7"), 5978),
			netpol.Verdict{Egress: out0, Ingress: outside}},
		{"db to 10.0.0.0/24 on another port", tcp(db, addr("10.0.0.7"), 5979),
			netpol.Verdict{Egress: denied(testPolicy), Ingress: outside}},
		{"db beyond 10.0.0.0/24", tcp(db, addr("10.0.1.7"), 5978),
			netpol.Verdict{Egress: denied(testPolicy), Ingress: outside}},
		{"db to DNS is not allowed", udp(db, addr("10.0.0.10"), 53),
			netpol.Verdict{Egress: denied(testPolicy), Ingress: outside}},
		{"db to a pod: ipBlock never matches a pod", tcp(db, pod("default", "role", "frontend"), 5978),
			netpol.Verdict{Egress: denied(testPolicy), Ingress: notIsolated}},
		{"db to db: egress decides", tcp(db, db, 6379),
			netpol.Verdict{Egress: denied(testPolicy), Ingress: denied(testPolicy)}},
	})
}

// The concept page's "Behavior of to and from selectors": one from element holding both
// a namespaceSelector (user=alice) and a podSelector (role=client) admits client pods of
// alice's namespaces only; the same selectors as two elements admit every pod of alice's
// namespaces and the client pods of the policy's own namespace.
func TestToFromSelectors(t *testing.T) {
	const (
		oneElement  = "NetworkPolicy/default/one-element"
		twoElements = "NetworkPolicy/default/two-elements"
	)
	alice, client := match("user", "alice"), match("role", "client")
	onePolicy := []networkingv1.NetworkPolicy{policy("default", "one-element", networkingv1.NetworkPolicySpec{
		PodSelector: *match("app", "server"),
		Ingress: []networkingv1.NetworkPolicyIngressRule{{
			From: []networkingv1.NetworkPolicyPeer{nsPodsPeer(alice, client)},
		}},
	})}
	twoPolicy := []networkingv1.NetworkPolicy{policy("default", "two-elements", networkingv1.NetworkPolicySpec{
		PodSelector: *match("app", "server"),
		Ingress: []networkingv1.NetworkPolicyIngressRule{{
			From: []networkingv1.NetworkPolicyPeer{nsPeer(alice), podsPeer(client)},
		}},
	})}
	server := pod("default", "app", "server")
	sources := []struct {
		name     string
		src      netpol.Peer
		one, two bool
	}{
		{"client in alice's namespace", pod("alice", "role", "client"), true, true},
		{"other pod in alice's namespace", pod("alice", "role", "batch"), false, true},
		{"client in the policy's namespace", pod("default", "role", "client"), false, true},
		{"client in bob's namespace", pod("bob", "role", "client"), false, false},
		{"address outside", addr("192.0.2.1"), false, false},
	}
	verdict := func(src netpol.Peer, id string, ok bool) netpol.Verdict {
		v := netpol.Verdict{Egress: notIsolated, Ingress: denied(id)}
		if !src.IsPod() {
			v.Egress = outside // an outside source has no egress of its own
		}
		if ok {
			v.Ingress = allowed(ids(id), ref(id, netpol.Ingress, 0))
		}
		return v
	}
	var one, two []flowCase
	for _, s := range sources {
		v1, v2 := verdict(s.src, oneElement, s.one), verdict(s.src, twoElements, s.two)
		one = append(one, flowCase{s.name, tcp(s.src, server, 8443), v1})
		two = append(two, flowCase{s.name, tcp(s.src, server, 8443), v2})
	}
	t.Run("one element", func(t *testing.T) { runFlows(t, onePolicy, one) })
	t.Run("two elements", func(t *testing.T) { runFlows(t, twoPolicy, two) })
}

// networkpolicy-multiport-egress.yaml: role=db may reach 10.0.0.0/24 on TCP 32000 to
// 32768, both ends included.
func TestMultiPortEgress(t *testing.T) {
	policies := []networkingv1.NetworkPolicy{
		policy("default", "multi-port-egress", networkingv1.NetworkPolicySpec{
			PodSelector: *match("role", "db"),
			PolicyTypes: types(out),
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				To:    []networkingv1.NetworkPolicyPeer{blockPeer("10.0.0.0/24")},
				Ports: []networkingv1.NetworkPolicyPort{portRange("TCP", 32000, 32768)},
			}},
		}),
	}
	db := pod("default", "role", "db")
	ok := netpol.Verdict{Egress: allowed(ids(multiPort), ref(multiPort, netpol.Egress, 0)), Ingress: outside}
	no := netpol.Verdict{Egress: denied(multiPort), Ingress: outside}
	runFlows(t, policies, []flowCase{
		{"first port of the range", tcp(db, addr("10.0.0.1"), 32000), ok},
		{"inside the range", tcp(db, addr("10.0.0.1"), 32500), ok},
		{"last port of the range", tcp(db, addr("10.0.0.254"), 32768), ok},
		{"below the range", tcp(db, addr("10.0.0.1"), 31999), no},
		{"above the range", tcp(db, addr("10.0.0.1"), 32769), no},
		{"UDP in the range", udp(db, addr("10.0.0.1"), 32000), no},
		{"beyond the block", tcp(db, addr("10.0.1.1"), 32000), no},
		{"not db: not isolated", tcp(pod("default", "role", "web"), addr("10.0.1.1"), 80),
			netpol.Verdict{Egress: notIsolated, Ingress: outside}},
	})
}

// The concept page's "Targeting multiple namespaces by label" (matchExpressions
// namespace In [frontend, backend]) and "Targeting a Namespace by its name" (the
// kubernetes.io/metadata.name label the control plane sets on every namespace).
func TestNamespaceTargeting(t *testing.T) {
	const (
		byLabel = "NetworkPolicy/default/egress-namespaces"
		byName  = "NetworkPolicy/default/egress-to-specific-namespace"
	)
	frontOrBack := match()
	frontOrBack.MatchExpressions = []metav1.LabelSelectorRequirement{{
		Key: "namespace", Operator: "In", Values: []string{"frontend", "backend"},
	}}
	labelPolicy := []networkingv1.NetworkPolicy{policy("default", "egress-namespaces", networkingv1.NetworkPolicySpec{
		PodSelector: *match("app", "myapp"),
		PolicyTypes: types(out),
		Egress:      []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{nsPeer(frontOrBack)}}},
	})}
	namePolicy := []networkingv1.NetworkPolicy{policy("default", "egress-to-specific-namespace", networkingv1.NetworkPolicySpec{
		PodSelector: *match("app", "myapp"),
		PolicyTypes: types(out),
		Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{
			nsPeer(match(netpol.NamespaceNameLabel, "my-namespace")),
		}}},
	})}
	myapp := pod("default", "app", "myapp")
	t.Run("by label", func(t *testing.T) {
		ok := netpol.Verdict{Egress: allowed(ids(byLabel), ref(byLabel, netpol.Egress, 0)), Ingress: notIsolated}
		runFlows(t, labelPolicy, []flowCase{
			{"to frontend", tcp(myapp, pod("frontend", "app", "ui"), 80), ok},
			{"to backend", tcp(myapp, pod("backend"), 5432), ok},
			{"to another namespace", tcp(myapp, pod("other"), 80),
				netpol.Verdict{Egress: denied(byLabel), Ingress: notIsolated}},
			{"to its own namespace", tcp(myapp, pod("default"), 80),
				netpol.Verdict{Egress: denied(byLabel), Ingress: notIsolated}},
		})
	})
	t.Run("by name", func(t *testing.T) {
		ok := netpol.Verdict{Egress: allowed(ids(byName), ref(byName, netpol.Egress, 0)), Ingress: notIsolated}
		runFlows(t, namePolicy, []flowCase{
			{"to my-namespace", tcp(myapp, pod("my-namespace", "app", "api"), 8080), ok},
			{"to another namespace", tcp(myapp, pod("other"), 8080),
				netpol.Verdict{Egress: denied(byName), Ingress: notIsolated}},
			{"to outside", tcp(myapp, addr("192.0.2.1"), 8080),
				netpol.Verdict{Egress: denied(byName), Ingress: outside}},
		})
	})
}

// nginx-policy.yaml (used by the "Declare Network Policy" walkthrough): without
// policyTypes and without egress rules the policy governs ingress only, from pods of its
// namespace labelled access=true.
func TestAccessNginx(t *testing.T) {
	policies := []networkingv1.NetworkPolicy{
		policy("default", "access-nginx", networkingv1.NetworkPolicySpec{
			PodSelector: *match("app.kubernetes.io/name", "nginx"),
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{podsPeer(match("access", "true"))},
			}},
		}),
	}
	nginx := pod("default", "app.kubernetes.io/name", "nginx")
	runFlows(t, policies, []flowCase{
		{"labelled access=true", tcp(pod("default", "access", "true"), nginx, 80),
			netpol.Verdict{Egress: notIsolated, Ingress: allowed(ids(accessNginx), ref(accessNginx, netpol.Ingress, 0))}},
		{"unlabelled", tcp(pod("default"), nginx, 80),
			netpol.Verdict{Egress: notIsolated, Ingress: denied(accessNginx)}},
		{"labelled, other namespace", tcp(pod("other", "access", "true"), nginx, 80),
			netpol.Verdict{Egress: notIsolated, Ingress: denied(accessNginx)}},
		{"nginx's egress is not isolated", tcp(nginx, addr("192.0.2.1"), 443),
			netpol.Verdict{Egress: notIsolated, Ingress: outside}},
	})
}
