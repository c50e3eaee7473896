package netpol_test

import (
	"fmt"
	"net/netip"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/lsst-dm/lsstgen/internal/netpol"
)

// benchWorld builds policies shaped like a rendered instance's, scaled up: in each of
// nsCount namespaces a default deny, DNS egress to kube-system, ingress from the ingress
// namespace, same-namespace traffic, and per component one policy admitting a component
// of the next namespace on a numbered and a named port, with egress to an outside range.
// The flows pair random components and outside addresses on the ports in use.
func benchWorld(nsCount, components, flowCount int) ([]networkingv1.NetworkPolicy, []netpol.Namespace, []netpol.Flow) {
	var (
		policies   []networkingv1.NetworkPolicy
		namespaces = []netpol.Namespace{{Name: "kube-system"}, {Name: "ingress"}}
		peers      []netpol.Peer
	)
	nsName := func(i int) string { return fmt.Sprintf("ns%02d", i%nsCount) }
	for i := range nsCount {
		ns := nsName(i)
		namespaces = append(namespaces, netpol.Namespace{Name: ns, Labels: labelMap("tier", fmt.Sprint(i%3))})
		policies = append(policies,
			policy(ns, "default-deny", networkingv1.NetworkPolicySpec{PodSelector: *match(), PolicyTypes: types(in, out)}),
			policy(ns, "allow-dns", networkingv1.NetworkPolicySpec{
				PodSelector: *match(), PolicyTypes: types(out),
				Egress: []networkingv1.NetworkPolicyEgressRule{{
					To:    []networkingv1.NetworkPolicyPeer{nsPeer(match(netpol.NamespaceNameLabel, "kube-system"))},
					Ports: []networkingv1.NetworkPolicyPort{portNum("UDP", 53), portNum("TCP", 53)},
				}},
			}),
			policy(ns, "allow-from-ingress", networkingv1.NetworkPolicySpec{
				PodSelector: *match(), PolicyTypes: types(in),
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					From:  []networkingv1.NetworkPolicyPeer{nsPeer(match(netpol.NamespaceNameLabel, "ingress"))},
					Ports: []networkingv1.NetworkPolicyPort{portNum("TCP", 8080)},
				}},
			}),
			policy(ns, "allow-same-namespace", networkingv1.NetworkPolicySpec{
				PodSelector: *match(), PolicyTypes: types(in, out),
				Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{podsPeer(match())}}},
				Egress:  []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{podsPeer(match())}}},
			}),
		)
		for c := range components {
			app := fmt.Sprint("c", c)
			policies = append(policies, policy(ns, "allow-"+app, networkingv1.NetworkPolicySpec{
				PodSelector: *match("app", app),
				PolicyTypes: types(in, out),
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					From: []networkingv1.NetworkPolicyPeer{
						nsPodsPeer(match(netpol.NamespaceNameLabel, nsName(i+1)), match("app", fmt.Sprint("c", (c+1)%components))),
					},
					Ports: []networkingv1.NetworkPolicyPort{portNum("TCP", int32(8000+c)), portName("metrics")},
				}},
				Egress: []networkingv1.NetworkPolicyEgressRule{{
					To:    []networkingv1.NetworkPolicyPeer{blockPeer(fmt.Sprintf("10.%d.0.0/16", i), fmt.Sprintf("10.%d.1.0/24", i))},
					Ports: []networkingv1.NetworkPolicyPort{portRange("TCP", 30000, 32767)},
				}},
			}))
			peers = append(peers, pod(ns, "app", app, "app.kubernetes.io/part-of", "lsst"))
		}
	}
	for i := range nsCount {
		peers = append(peers, netpol.AddrPeer(netip.AddrFrom4([4]byte{10, byte(i), byte(i % 3), 9})))
	}
	state := uint32(1)
	next := func(n int) int { // xorshift: the same flows in every run
		state ^= state << 13
		state ^= state >> 17
		state ^= state << 5
		return int(state % uint32(n))
	}
	ports := []int32{53, 8080, 8000, 8003, 9100, 31000}
	var flows []netpol.Flow
	for range flowCount {
		f := tcp(peers[next(len(peers))], peers[next(len(peers))], ports[next(len(ports))])
		if f.Destination.IsPod() && f.Port == 9100 {
			f.PortName = "metrics"
		}
		flows = append(flows, f)
	}
	return policies, namespaces, flows
}

// BenchmarkNew compiles 40 namespaces' worth of policies (320).
func BenchmarkNew(b *testing.B) {
	policies, namespaces, _ := benchWorld(40, 4, 0)
	b.ReportMetric(float64(len(policies)), "policies")
	for b.Loop() {
		if _, err := netpol.New(policies, namespaces); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluate decides 5000 flows against 320 policies per op.
func BenchmarkEvaluate(b *testing.B) {
	policies, namespaces, flows := benchWorld(40, 4, 5000)
	e, err := netpol.New(policies, namespaces)
	if err != nil {
		b.Fatal(err)
	}
	allowedCount := 0
	for _, f := range flows {
		v, err := e.Evaluate(f)
		if err != nil {
			b.Fatal(err)
		}
		if v.Allowed() {
			allowedCount++
		}
	}
	if allowedCount == 0 || allowedCount == len(flows) {
		b.Fatalf("%d of %d flows allowed: the world decides nothing", allowedCount, len(flows))
	}
	b.ReportMetric(float64(len(policies)), "policies")
	b.ReportMetric(float64(len(flows)), "flows")
	for b.Loop() {
		for _, f := range flows {
			if _, err := e.Evaluate(f); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(flows)), "ns/flow")
}
