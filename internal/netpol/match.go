package netpol

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Evaluator holds compiled NetworkPolicies and namespaces. It is safe for concurrent use.
type Evaluator struct {
	namespaces map[string]labels.Set
	// byNamespace holds each namespace's policies, sorted by name.
	byNamespace map[string][]*policy
}

type policy struct {
	id        string // NetworkPolicy/namespace/name
	namespace string
	selector  labels.Selector
	// ingress and egress are set when the policy applies to its pods in that direction;
	// the rules of a direction it does not apply to are checked, then dropped.
	ingress, egress           bool
	ingressRules, egressRules []rule
}

type rule struct {
	peers []peer // empty: any peer
	ports []port // empty: any port
}

// peer is one element of from/to: selectors, or an ipBlock.
type peer struct {
	namespaces labels.Selector // nil: the policy's own namespace
	pods       labels.Selector // nil: all pods
	block      *ipBlock
}

type ipBlock struct {
	cidr   netip.Prefix
	except []netip.Prefix
}

type port struct {
	protocol corev1.Protocol
	any      bool   // no port given: every port of the protocol
	name     string // a named port
	from, to int32  // a number or a range
}

// New compiles policies over namespaces. It checks every policy the way the apiserver
// does where evaluation depends on it (selectors, CIDRs, ports, protocols, peers,
// policyTypes) and returns every problem found, each naming its policy as
// NetworkPolicy/namespace/name and the field.
func New(policies []networkingv1.NetworkPolicy, namespaces []Namespace) (*Evaluator, error) {
	e := &Evaluator{
		namespaces:  make(map[string]labels.Set, len(namespaces)),
		byNamespace: map[string][]*policy{},
	}
	var errs []error
	for _, ns := range namespaces {
		if ns.Name == "" {
			errs = append(errs, errors.New("Namespace without a name"))
			continue
		}
		if _, dup := e.namespaces[ns.Name]; dup {
			errs = append(errs, fmt.Errorf("Namespace/%s: given twice", ns.Name))
			continue
		}
		set := make(labels.Set, len(ns.Labels)+1)
		for k, v := range ns.Labels {
			set[k] = v
		}
		set[NamespaceNameLabel] = ns.Name // as the apiserver does, whatever was given
		e.namespaces[ns.Name] = set
	}
	seen := map[string]bool{}
	for i := range policies {
		p, err := compile(&policies[i])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[p.id] {
			errs = append(errs, fmt.Errorf("%s: given twice", p.id))
			continue
		}
		seen[p.id] = true
		e.byNamespace[p.namespace] = append(e.byNamespace[p.namespace], p)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, ps := range e.byNamespace {
		slices.SortFunc(ps, func(a, b *policy) int { return cmp.Compare(a.id, b.id) })
	}
	return e, nil
}

func compile(np *networkingv1.NetworkPolicy) (*policy, error) {
	p := &policy{
		id:        "NetworkPolicy/" + np.Namespace + "/" + np.Name,
		namespace: np.Namespace,
	}
	var errs field.ErrorList
	if np.Name == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "name"), ""))
	}
	if np.Namespace == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "namespace"), "a policy applies to the pods of its namespace"))
	}
	spec := field.NewPath("spec")
	p.selector, errs = selector(&np.Spec.PodSelector, spec.Child("podSelector"), errs)

	if len(np.Spec.PolicyTypes) == 0 {
		p.ingress, p.egress = true, len(np.Spec.Egress) > 0
	}
	for i, t := range np.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			p.ingress = true
		case networkingv1.PolicyTypeEgress:
			p.egress = true
		default:
			errs = append(errs, field.NotSupported(spec.Child("policyTypes").Index(i), t,
				[]networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}))
		}
	}
	for i, r := range np.Spec.Ingress {
		var c rule
		c, errs = compileRule(r.From, r.Ports, spec.Child("ingress").Index(i), "from", errs)
		p.ingressRules = append(p.ingressRules, c)
	}
	for i, r := range np.Spec.Egress {
		var c rule
		c, errs = compileRule(r.To, r.Ports, spec.Child("egress").Index(i), "to", errs)
		p.egressRules = append(p.egressRules, c)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: %w", p.id, errs.ToAggregate())
	}
	if !p.ingress {
		p.ingressRules = nil
	}
	if !p.egress {
		p.egressRules = nil
	}
	return p, nil
}

func compileRule(peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort, path *field.Path, peersField string, errs field.ErrorList) (rule, field.ErrorList) {
	var r rule
	for i, np := range peers {
		var c peer
		c, errs = compilePeer(np, path.Child(peersField).Index(i), errs)
		r.peers = append(r.peers, c)
	}
	for i, np := range ports {
		var c port
		c, errs = compilePort(np, path.Child("ports").Index(i), errs)
		r.ports = append(r.ports, c)
	}
	return r, errs
}

func compilePeer(np networkingv1.NetworkPolicyPeer, path *field.Path, errs field.ErrorList) (peer, field.ErrorList) {
	var c peer
	if np.IPBlock != nil {
		if np.PodSelector != nil || np.NamespaceSelector != nil {
			return c, append(errs, field.Forbidden(path, "may not specify both ipBlock and another peer"))
		}
		c.block, errs = compileIPBlock(np.IPBlock, path.Child("ipBlock"), errs)
		return c, errs
	}
	if np.PodSelector == nil && np.NamespaceSelector == nil {
		return c, append(errs, field.Required(path, "must specify a peer"))
	}
	if np.NamespaceSelector != nil {
		c.namespaces, errs = selector(np.NamespaceSelector, path.Child("namespaceSelector"), errs)
	}
	if np.PodSelector != nil {
		c.pods, errs = selector(np.PodSelector, path.Child("podSelector"), errs)
	}
	return c, errs
}

func selector(ls *metav1.LabelSelector, path *field.Path, errs field.ErrorList) (labels.Selector, field.ErrorList) {
	if e := metav1validation.ValidateLabelSelector(ls, metav1validation.LabelSelectorValidationOptions{}, path); len(e) > 0 {
		return labels.Nothing(), append(errs, e...)
	}
	s, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil { // not reached while apimachinery's validation rejects all the conversion does
		return labels.Nothing(), append(errs, field.Invalid(path, ls.String(), err.Error()))
	}
	return s, errs
}

func compileIPBlock(b *networkingv1.IPBlock, path *field.Path, errs field.ErrorList) (*ipBlock, field.ErrorList) {
	parse := func(s string, path *field.Path) (netip.Prefix, bool) {
		if e := validation.IsValidCIDRForLegacyField(path, s, true, nil); len(e) > 0 {
			errs = append(errs, e...)
			return netip.Prefix{}, false
		}
		p, err := netip.ParsePrefix(s)
		if err != nil { // not reached: strict CIDR validation parses with netip
			errs = append(errs, field.Invalid(path, s, err.Error()))
			return netip.Prefix{}, false
		}
		return p, true
	}
	if b.CIDR == "" {
		return nil, append(errs, field.Required(path.Child("cidr"), ""))
	}
	cidr, ok := parse(b.CIDR, path.Child("cidr"))
	if !ok {
		return nil, errs
	}
	c := &ipBlock{cidr: cidr}
	for i, s := range b.Except {
		ex, ok := parse(s, path.Child("except").Index(i))
		if !ok {
			continue
		}
		if !cidr.Contains(ex.Addr()) || ex.Bits() <= cidr.Bits() {
			errs = append(errs, field.Invalid(path.Child("except").Index(i), s, "must be a strict subset of `cidr`"))
			continue
		}
		c.except = append(c.except, ex)
	}
	return c, errs
}

func compilePort(np networkingv1.NetworkPolicyPort, path *field.Path, errs field.ErrorList) (port, field.ErrorList) {
	c := port{protocol: corev1.ProtocolTCP}
	if np.Protocol != nil {
		c.protocol = *np.Protocol
		switch c.protocol {
		case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		default:
			errs = append(errs, field.NotSupported(path.Child("protocol"), c.protocol,
				[]corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}))
		}
	}
	switch {
	case np.Port == nil:
		c.any = true
		if np.EndPort != nil {
			errs = append(errs, field.Invalid(path.Child("endPort"), *np.EndPort, "may not be specified when `port` is not specified"))
		}
	case np.Port.Type == intstr.String:
		c.name = np.Port.StrVal
		for _, msg := range validation.IsValidPortName(c.name) {
			errs = append(errs, field.Invalid(path.Child("port"), c.name, msg))
		}
		if np.EndPort != nil {
			errs = append(errs, field.Invalid(path.Child("endPort"), *np.EndPort, "may not be specified when `port` is non-numeric"))
		}
	default:
		c.from, c.to = np.Port.IntVal, np.Port.IntVal
		for _, msg := range validation.IsValidPortNum(int(c.from)) {
			errs = append(errs, field.Invalid(path.Child("port"), c.from, msg))
		}
		if np.EndPort != nil {
			c.to = *np.EndPort
			if c.to < c.from {
				errs = append(errs, field.Invalid(path.Child("endPort"), c.to, "must be greater than or equal to `port`"))
			}
			for _, msg := range validation.IsValidPortNum(int(c.to)) {
				errs = append(errs, field.Invalid(path.Child("endPort"), c.to, msg))
			}
		}
	}
	return c, errs
}

// matches reports whether the rule admits the remote peer on the flow's port. remote is
// the flow's source for an ingress rule and its destination for an egress rule.
func (r *rule) matches(p *policy, remote Peer, remoteNS labels.Set, f *Flow) bool {
	return r.matchesPort(f) && r.matchesPeer(p, remote, remoteNS)
}

func (r *rule) matchesPeer(p *policy, remote Peer, remoteNS labels.Set) bool {
	if len(r.peers) == 0 {
		return true
	}
	for i := range r.peers {
		if r.peers[i].matches(p, remote, remoteNS) {
			return true
		}
	}
	return false
}

func (c *peer) matches(p *policy, remote Peer, remoteNS labels.Set) bool {
	if c.block != nil {
		return !remote.IsPod() && c.block.contains(remote.Addr)
	}
	if !remote.IsPod() {
		return false
	}
	if c.namespaces == nil {
		if remote.Namespace != p.namespace {
			return false
		}
	} else if !c.namespaces.Matches(remoteNS) {
		return false
	}
	return c.pods == nil || c.pods.Matches(labels.Set(remote.Labels))
}

func (b *ipBlock) contains(a netip.Addr) bool {
	a = a.Unmap()
	if !b.cidr.Contains(a) {
		return false
	}
	for _, ex := range b.except {
		if ex.Contains(a) {
			return false
		}
	}
	return true
}

func (r *rule) matchesPort(f *Flow) bool {
	if len(r.ports) == 0 {
		return true
	}
	proto := f.protocol()
	for _, c := range r.ports {
		if c.protocol != proto {
			continue
		}
		switch {
		case c.any:
			return true
		case c.name != "":
			if c.name == f.PortName {
				return true
			}
		case c.from <= f.Port && f.Port <= c.to:
			return true
		}
	}
	return false
}
