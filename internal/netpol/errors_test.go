package netpol_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/lsst-dm/lsstgen/internal/netpol"
)

// checkErr fails unless err holds every one of want.
func checkErr(t *testing.T, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q\ndoes not contain %q", err, w)
		}
	}
}

func TestNewErrors(t *testing.T) {
	expr := func(key string, op metav1.LabelSelectorOperator, values ...string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: key, Operator: op, Values: values}}}
	}
	ingressFrom := func(peers ...networkingv1.NetworkPolicyPeer) networkingv1.NetworkPolicySpec {
		return networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{From: peers}}}
	}
	egressPorts := func(ports ...networkingv1.NetworkPolicyPort) networkingv1.NetworkPolicySpec {
		return networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{Ports: ports}}}
	}
	bare := func(p networkingv1.NetworkPolicyPort) networkingv1.NetworkPolicyPort { p.Protocol = nil; return p }
	endOnly := networkingv1.NetworkPolicyPort{EndPort: new(int32(90))}
	namedEnd := portName("http")
	namedEnd.EndPort = new(int32(90))
	sevenK := intstr.FromInt32(70000)

	for _, tc := range []struct {
		name       string
		policies   []networkingv1.NetworkPolicy
		namespaces []netpol.Namespace
		want       []string
	}{
		{"namespace without a name", nil, []netpol.Namespace{{}}, []string{"Namespace without a name"}},
		{"namespace twice", nil, []netpol.Namespace{{Name: "a"}, {Name: "a"}}, []string{"Namespace/a: given twice"}},
		{"policy twice", []networkingv1.NetworkPolicy{policy("a", "p", networkingv1.NetworkPolicySpec{}), policy("a", "p", networkingv1.NetworkPolicySpec{})}, nil,
			[]string{"NetworkPolicy/a/p: given twice"}},
		{"policy without a name", []networkingv1.NetworkPolicy{policy("a", "", networkingv1.NetworkPolicySpec{})}, nil,
			[]string{"NetworkPolicy/a/: metadata.name: Required value"}},
		{"policy without a namespace", []networkingv1.NetworkPolicy{policy("", "p", networkingv1.NetworkPolicySpec{})}, nil,
			[]string{"NetworkPolicy//p: metadata.namespace: Required value"}},
		{"unknown selector operator", []networkingv1.NetworkPolicy{policy("a", "p", networkingv1.NetworkPolicySpec{PodSelector: *expr("app", "Equals", "x")})}, nil,
			[]string{"NetworkPolicy/a/p: spec.podSelector.matchExpressions[0].operator: Invalid value: \"Equals\""}},
		{"In without values", []networkingv1.NetworkPolicy{policy("a", "p", networkingv1.NetworkPolicySpec{PodSelector: *expr("app", "In")})}, nil,
			[]string{"NetworkPolicy/a/p: spec.podSelector.matchExpressions[0].values: Required value"}},
		{"bad label key", []networkingv1.NetworkPolicy{policy("a", "p", networkingv1.NetworkPolicySpec{PodSelector: *match("bad key!", "x")})}, nil,
			[]string{"NetworkPolicy/a/p: spec.podSelector.matchLabels: Invalid value: \"bad key!\""}},
		{"bad namespaceSelector in a peer", []networkingv1.NetworkPolicy{policy("a", "p", ingressFrom(nsPeer(expr("team", "Exists", "x"))))}, nil,
			[]string{"NetworkPolicy/a/p: spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values: Forbidden"}},
		{"bad podSelector in a peer", []networkingv1.NetworkPolicy{policy("a", "p", ingressFrom(podsPeer(match("app", "bad value!"))))}, nil,
			[]string{"NetworkPolicy/a/p: spec.ingress[0].from[0].podSelector.matchLabels: Invalid value: \"bad value!\""}},
		{"unknown policyType", []networkingv1.NetworkPolicy{policy("a", "p", networkingv1.NetworkPolicySpec{PolicyTypes: types("Both")})}, nil,
			[]string{"NetworkPolicy/a/p: spec.policyTypes[0]: Unsupported value: \"Both\""}},
		{"empty peer", []networkingv1.NetworkPolicy{policy("a", "p", ingressFrom(networkingv1.NetworkPolicyPeer{}))}, nil,
			[]string{"NetworkPolicy/a/p: spec.ingress[0].from[0]: Required value: must specify a peer"}},
		{"ipBlock beside a selector", []networkingv1.NetworkPolicy{policy("a", "p", ingressFrom(networkingv1.NetworkPolicyPeer{
			IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8"}, PodSelector: match()}))}, nil,
			[]string{"NetworkPolicy/a/p: spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer"}},
		{"ipBlock without a cidr", []networkingv1.NetworkPolicy{policy("a", "p", ingressFrom(blockPeer("")))}, nil,
			[]string{"NetworkPolicy/a/p: spec.ingress[0].from[0].ipBlock.cidr: Required value"}},
		{"invalid CIDR", []networkingv1.NetworkPolicy{policy("a", "p", ingressFrom(blockPeer("10.0.0/8")))}, nil,
			[]string{"NetworkPolicy/a/p: spec.ingress[0].from[0].ipBlock.cidr: Invalid value: \"10.0.0/8\""}},
		{"CIDR with host bits", []networkingv1.NetworkPolicy{policy("a", "p", ingressFrom(blockPeer("10.0.0.1/8")))}, nil,
			[]string{"spec.ingress[0].from[0].ipBlock.cidr: Invalid value: \"10.0.0.1/8\": must not have bits set beyond the prefix length"}},
		{"invalid except", []networkingv1.NetworkPolicy{policy("a", "p", ingressFrom(blockPeer("10.0.0.0/8", "10.1.0.0/33")))}, nil,
			[]string{"NetworkPolicy/a/p: spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: \"10.1.0.0/33\""}},
		{"except outside the cidr", []networkingv1.NetworkPolicy{policy("a", "p", ingressFrom(blockPeer("10.0.0.0/8", "10.1.0.0/16", "192.168.0.0/16")))}, nil,
			[]string{"NetworkPolicy/a/p: spec.ingress[0].from[0].ipBlock.except[1]: Invalid value: \"192.168.0.0/16\": must be a strict subset of `cidr`"}},
		{"except equal to the cidr", []networkingv1.NetworkPolicy{policy("a", "p", ingressFrom(blockPeer("10.0.0.0/8", "10.0.0.0/8")))}, nil,
			[]string{"spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: \"10.0.0.0/8\": must be a strict subset of `cidr`"}},
		{"unknown protocol", []networkingv1.NetworkPolicy{policy("a", "p", egressPorts(portNum("ICMP", 1)))}, nil,
			[]string{"NetworkPolicy/a/p: spec.egress[0].ports[0].protocol: Unsupported value: \"ICMP\""}},
		{"port 0", []networkingv1.NetworkPolicy{policy("a", "p", egressPorts(portNum("TCP", 0)))}, nil,
			[]string{"NetworkPolicy/a/p: spec.egress[0].ports[0].port: Invalid value: 0"}},
		{"port beyond 65535", []networkingv1.NetworkPolicy{policy("a", "p", egressPorts(networkingv1.NetworkPolicyPort{Port: &sevenK}))}, nil,
			[]string{"spec.egress[0].ports[0].port: Invalid value: 70000"}},
		{"invalid port name", []networkingv1.NetworkPolicy{policy("a", "p", egressPorts(portName("no_underscores")))}, nil,
			[]string{"NetworkPolicy/a/p: spec.egress[0].ports[0].port: Invalid value: \"no_underscores\""}},
		{"endPort below port", []networkingv1.NetworkPolicy{policy("a", "p", egressPorts(bare(portRange("TCP", 32768, 32000))))}, nil,
			[]string{"NetworkPolicy/a/p: spec.egress[0].ports[0].endPort: Invalid value: 32000: must be greater than or equal to `port`"}},
		{"endPort beyond 65535", []networkingv1.NetworkPolicy{policy("a", "p", egressPorts(portRange("TCP", 60000, 70000)))}, nil,
			[]string{"spec.egress[0].ports[0].endPort: Invalid value: 70000"}},
		{"endPort without port", []networkingv1.NetworkPolicy{policy("a", "p", egressPorts(endOnly))}, nil,
			[]string{"NetworkPolicy/a/p: spec.egress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is not specified"}},
		{"endPort with a named port", []networkingv1.NetworkPolicy{policy("a", "p", egressPorts(namedEnd))}, nil,
			[]string{"NetworkPolicy/a/p: spec.egress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is non-numeric"}},
		{"every problem of every policy", []networkingv1.NetworkPolicy{
			policy("a", "ok", networkingv1.NetworkPolicySpec{}),
			policy("a", "p", networkingv1.NetworkPolicySpec{
				PodSelector: *expr("app", "In"),
				Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{blockPeer("bad")}}},
				Egress:      []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{portRange("UDP", 9, 8)}}},
			}),
			policy("b", "q", networkingv1.NetworkPolicySpec{PolicyTypes: types("ingress")}),
		}, []netpol.Namespace{{Name: "a"}, {Name: "a"}}, []string{
			"Namespace/a: given twice",
			"NetworkPolicy/a/p: [spec.podSelector.matchExpressions[0].values: Required value",
			"spec.ingress[0].from[0].ipBlock.cidr: Invalid value: \"bad\"",
			"spec.egress[0].ports[0].endPort: Invalid value: 8",
			"NetworkPolicy/b/q: spec.policyTypes[0]: Unsupported value: \"ingress\"",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := netpol.New(tc.policies, tc.namespaces)
			checkErr(t, err, tc.want)
			if e != nil {
				t.Errorf("New returned an evaluator beside its error")
			}
		})
	}
}

func TestEvaluateErrors(t *testing.T) {
	e, err := netpol.New(nil, []netpol.Namespace{{Name: "a"}})
	if err != nil {
		t.Fatal(err)
	}
	both := pod("a")
	both.Addr = addr("192.0.2.1").Addr
	for _, tc := range []struct {
		name string
		flow netpol.Flow
		want []string
	}{
		{"peer both pod and address", tcp(both, pod("a"), 80),
			[]string{"flow a/{} -> a/{} TCP/80: source is both a pod and an address"}},
		{"peer neither pod nor address", tcp(pod("a"), netpol.Peer{}, 80),
			[]string{"destination is neither a pod nor an address"}},
		{"unknown namespace", tcp(pod("nowhere"), pod("a"), 80),
			[]string{"flow nowhere/{} -> a/{} TCP/80: source namespace \"nowhere\" is not among the namespaces given"}},
		{"port 0", tcp(pod("a"), pod("a"), 0), []string{"port 0: must be between 1 and 65535"}},
		{"port beyond 65535", tcp(pod("a"), pod("a"), 65536), []string{"port 65536: must be between 1 and 65535"}},
		{"port name of an outside destination", netpol.Flow{Source: pod("a"), Destination: addr("192.0.2.1"), Port: 80, PortName: "http"},
			[]string{"port name \"http\": only a pod destination has named ports"}},
		{"invalid port name", netpol.Flow{Source: pod("a"), Destination: pod("a"), Port: 80, PortName: "HTTP_1"},
			[]string{"port name \"HTTP_1\": "}},
		{"unknown protocol", netpol.Flow{Source: pod("a"), Destination: pod("a"), Port: 80, Protocol: corev1.Protocol("ICMP")},
			[]string{"protocol \"ICMP\": must be TCP, UDP or SCTP"}},
		{"every problem", netpol.Flow{Source: pod("x"), Destination: pod("y"), Port: -1},
			[]string{"source namespace \"x\"", "destination namespace \"y\"", "port -1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := e.Evaluate(tc.flow)
			checkErr(t, err, tc.want)
			if v.Allowed() {
				// The zero Verdict must not read as a decision to allow.
				t.Errorf("Evaluate returned an allowing verdict beside its error: %s", v)
			}
		})
	}
}
