package netpol_test

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/lsst-dm/lsstgen/internal/netpol"
)

// chooser draws choices from fuzz input; once the input runs out every choice is 0.
type chooser struct{ data []byte }

func (c *chooser) intn(n int) int {
	if len(c.data) == 0 || n <= 1 {
		return 0
	}
	b := c.data[0]
	c.data = c.data[1:]
	return int(b) % n
}

func pick[T any](c *chooser, from ...T) T { return from[c.intn(len(from))] }

// bad reports, once in 64 draws, that the next value should be one the apiserver rejects.
func (c *chooser) bad() bool { return c.intn(64) == 0 }

// draw picks from good, and now and then from bad.
func draw[T any](c *chooser, good, bad []T) T {
	if len(bad) > 0 && c.bad() {
		return pick(c, bad...)
	}
	return pick(c, good...)
}

var (
	fuzzNamespaces = []string{"a", "b", "c"}
	fuzzKeys       = []string{"app", "team", netpol.NamespaceNameLabel}
	fuzzValues     = []string{"a", "b", "web", ""}
	fuzzOperators  = []metav1.LabelSelectorOperator{"In", "NotIn", "Exists", "DoesNotExist"}
	fuzzCIDRs      = []string{"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32", "0.0.0.0/0", "192.0.2.0/24", "2001:db8::/32", "2001:db8::/64", "::/0"}
	fuzzAddrs      = []string{"10.1.2.3", "10.2.0.1", "192.0.2.7", "2001:db8::1", "::ffff:10.1.2.3", "198.51.100.1"}
	fuzzPorts      = []int32{53, 80, 443, 8080, 65535}
	fuzzPortNames  = []string{"http", "metrics"}
	fuzzProtocols  = []corev1.Protocol{"", "TCP", "UDP", "SCTP"}

	badKeys      = []string{"bad key!", ""}
	badValues    = []string{"bad value!"}
	badOperators = []metav1.LabelSelectorOperator{"Bogus", ""}
	badCIDRs     = []string{"10.0.0.1/8", "bad", "", "10.0.0/8"}
	badPorts     = []int32{0, 70000, -1}
	badPortNames = []string{"BAD_NAME", "-x"}
	badProtocols = []corev1.Protocol{"ICMP"}
)

func (c *chooser) selector() *metav1.LabelSelector {
	s := &metav1.LabelSelector{}
	for range c.intn(3) {
		if s.MatchLabels == nil {
			s.MatchLabels = map[string]string{}
		}
		s.MatchLabels[draw(c, fuzzKeys, badKeys)] = draw(c, fuzzValues, badValues)
	}
	for range c.intn(3) {
		r := metav1.LabelSelectorRequirement{
			Key:      draw(c, fuzzKeys, badKeys),
			Operator: draw(c, fuzzOperators, badOperators),
		}
		n := c.intn(2) + 1 // In and NotIn need values,
		if r.Operator == "Exists" || r.Operator == "DoesNotExist" {
			n = 0 // the others take none
		}
		if c.bad() {
			n = 1 - min(n, 1)
		}
		for range n {
			r.Values = append(r.Values, draw(c, fuzzValues, badValues))
		}
		s.MatchExpressions = append(s.MatchExpressions, r)
	}
	return s
}

func (c *chooser) peer() networkingv1.NetworkPolicyPeer {
	var p networkingv1.NetworkPolicyPeer
	if c.bad() {
		return p // no peer
	}
	switch c.intn(5) {
	case 0:
		p.PodSelector = c.selector()
	case 1:
		p.NamespaceSelector = c.selector()
	case 2:
		p.PodSelector, p.NamespaceSelector = c.selector(), c.selector()
	case 3, 4:
		p.IPBlock = &networkingv1.IPBlock{CIDR: draw(c, fuzzCIDRs, badCIDRs)}
		cidr, err := netip.ParsePrefix(p.IPBlock.CIDR)
		var inside []string // the pool's strict subsets of cidr
		for _, s := range fuzzCIDRs {
			if ex := netip.MustParsePrefix(s); err == nil && cidr.Contains(ex.Addr()) && ex.Bits() > cidr.Bits() {
				inside = append(inside, s)
			}
		}
		for range c.intn(3) {
			if len(inside) == 0 || c.bad() {
				inside = slices.Concat(badCIDRs, fuzzCIDRs)
			}
			p.IPBlock.Except = append(p.IPBlock.Except, pick(c, inside...))
		}
		if c.bad() {
			p.PodSelector = c.selector()
		}
	}
	return p
}

func (c *chooser) ports() []networkingv1.NetworkPolicyPort {
	var ports []networkingv1.NetworkPolicyPort
	for range c.intn(3) {
		var p networkingv1.NetworkPolicyPort
		if proto := draw(c, fuzzProtocols, badProtocols); proto != "" {
			p.Protocol = &proto
		}
		switch c.intn(3) {
		case 1:
			n := draw(c, fuzzPorts, badPorts)
			v := intstr.FromInt32(n)
			p.Port = &v
			if c.intn(3) == 0 {
				p.EndPort = new(n + int32(c.intn(1000)))
			}
		case 2:
			v := intstr.FromString(draw(c, fuzzPortNames, badPortNames))
			p.Port = &v
		}
		if c.bad() {
			p.EndPort = new(draw(c, badPorts, nil))
		}
		ports = append(ports, p)
	}
	return ports
}

func (c *chooser) policy(i int) networkingv1.NetworkPolicy {
	spec := networkingv1.NetworkPolicySpec{PodSelector: *c.selector()}
	for range c.intn(3) {
		spec.PolicyTypes = append(spec.PolicyTypes, draw(c, types(in, out), types("Bogus")))
	}
	for range c.intn(3) {
		var r networkingv1.NetworkPolicyIngressRule
		for range c.intn(3) {
			r.From = append(r.From, c.peer())
		}
		r.Ports = c.ports()
		spec.Ingress = append(spec.Ingress, r)
	}
	for range c.intn(3) {
		var r networkingv1.NetworkPolicyEgressRule
		for range c.intn(3) {
			r.To = append(r.To, c.peer())
		}
		r.Ports = c.ports()
		spec.Egress = append(spec.Egress, r)
	}
	return policy(draw(c, slices.Concat(fuzzNamespaces, []string{"z"}), []string{""}), fmt.Sprint("p", i), spec)
}

func (c *chooser) endpoint() netpol.Peer {
	switch c.intn(32) {
	case 0:
		return netpol.Peer{} // neither
	case 1:
		return netpol.Peer{Namespace: "a", Addr: netip.MustParseAddr("10.1.2.3")} // both
	case 2, 3, 4, 5, 6, 7, 8, 9:
		return netpol.AddrPeer(netip.MustParseAddr(pick(c, fuzzAddrs...)))
	default:
		labels := map[string]string{}
		for range c.intn(3) {
			labels[pick(c, "app", "team")] = pick(c, "a", "b", "web")
		}
		return netpol.PodPeer(draw(c, fuzzNamespaces, []string{"z"}), labels)
	}
}

func (c *chooser) flow() netpol.Flow {
	return netpol.Flow{
		Source:      c.endpoint(),
		Destination: c.endpoint(),
		Port:        draw(c, fuzzPorts, badPorts),
		PortName:    draw(c, slices.Concat(fuzzPortNames, []string{"", ""}), badPortNames),
		Protocol:    draw(c, fuzzProtocols, badProtocols),
	}
}

// checkVerdict holds a verdict to the invariants of its type.
func checkVerdict(t *testing.T, f netpol.Flow, v netpol.Verdict) {
	t.Helper()
	for _, side := range []struct {
		d   netpol.DirectionVerdict
		pod bool
	}{{v.Egress, f.Source.IsPod()}, {v.Ingress, f.Destination.IsPod()}} {
		d := side.d
		ok := (d.Reason == netpol.Outside) == !side.pod &&
			(d.Reason == netpol.NotIsolated) == (side.pod && len(d.IsolatedBy) == 0) &&
			(d.Reason == netpol.AllowedByRule) == (len(d.AllowedBy) > 0) &&
			(d.Reason != netpol.NoRuleAllows || len(d.IsolatedBy) > 0)
		if !ok {
			t.Errorf("%s: inconsistent verdict %#v", f, d)
		}
	}
}

// FuzzEvaluate feeds random, often invalid, policies and flows. New and Evaluate must
// never panic; a world without policies allows every well-formed flow; policies that New
// accepts give consistent verdicts; and an allow-all policy in every namespace allows
// every well-formed flow whatever else there is.
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 2, 0, 1, 0, 1, 3, 1, 0, 2, 4, 1, 1, 5, 2, 1, 0, 3, 2, 2, 1, 1, 7, 3, 4, 0, 1})
	f.Add([]byte("\x02\x01\x00\x03\x01\x02\x00\x00\x04\x01\x05\x03\x02\x01\x01\x06\x07\x03\x03\x00\x02"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &chooser{data: data}
		var namespaces []netpol.Namespace
		for _, name := range fuzzNamespaces {
			ns := netpol.Namespace{Name: name, Labels: map[string]string{}}
			for range c.intn(3) {
				ns.Labels[pick(c, "team", "env")] = pick(c, "a", "b", "web")
			}
			namespaces = append(namespaces, ns)
		}
		var policies []networkingv1.NetworkPolicy
		for i := range c.intn(5) {
			policies = append(policies, c.policy(i))
		}
		var flows []netpol.Flow
		for range 1 + c.intn(4) {
			flows = append(flows, c.flow())
		}

		open, err := netpol.New(nil, namespaces)
		if err != nil {
			t.Fatalf("New without policies: %v", err)
		}
		allowAll := append([]networkingv1.NetworkPolicy(nil), policies...)
		for _, ns := range fuzzNamespaces {
			allowAll = append(allowAll, policy(ns, "allow-all", networkingv1.NetworkPolicySpec{
				PodSelector: *match(),
				PolicyTypes: types(in, out),
				Ingress:     []networkingv1.NetworkPolicyIngressRule{{}},
				Egress:      []networkingv1.NetworkPolicyEgressRule{{}},
			}))
		}
		given, givenErr := netpol.New(policies, namespaces)
		opened, openedErr := netpol.New(allowAll, namespaces)
		if (givenErr == nil) != (openedErr == nil) {
			t.Fatalf("adding valid allow-all policies changed New's error: %v, then %v", givenErr, openedErr)
		}

		for _, fl := range flows {
			v, err := open.Evaluate(fl)
			if err != nil {
				// A malformed flow is malformed under any policies.
				if givenErr == nil {
					if _, err := given.Evaluate(fl); err == nil {
						t.Errorf("%s: error only without policies", fl)
					}
				}
				continue
			}
			if !v.Allowed() {
				t.Errorf("%s denied without any policy: %s", fl, v)
			}
			checkVerdict(t, fl, v)
			if givenErr != nil {
				continue
			}
			v, err = given.Evaluate(fl)
			if err != nil {
				t.Fatalf("%s: error only under policies: %v", fl, err)
			}
			checkVerdict(t, fl, v)
			v, err = opened.Evaluate(fl)
			if err != nil {
				t.Fatalf("%s: error only under policies: %v", fl, err)
			}
			checkVerdict(t, fl, v)
			if !v.Allowed() {
				t.Errorf("%s denied beside allow-all policies: %s", fl, v)
			}
		}
	})
}
