package netpol

import (
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
)

// Direction is the side of a flow a policy rule governs.
type Direction string

// The two directions of NetworkPolicy rules.
const (
	// Ingress rules govern what may connect to a pod: the flow's destination.
	Ingress Direction = "ingress"
	// Egress rules govern what a pod may connect to: the flow's source.
	Egress Direction = "egress"
)

// Reason says why one side of a flow is allowed or denied.
type Reason string

// The reasons a DirectionVerdict carries.
const (
	// Outside: the peer on this side is not a pod, so no policy governs it.
	Outside Reason = "outside the cluster"
	// NotIsolated: no policy applies to the pod in this direction.
	NotIsolated Reason = "not isolated"
	// AllowedByRule: policies apply and at least one of their rules admits the flow.
	AllowedByRule Reason = "allowed"
	// NoRuleAllows: policies apply and none of their rules admits the flow.
	NoRuleAllows Reason = "no rule allows"
)

// RuleRef names one rule of a policy.
type RuleRef struct {
	// Policy is NetworkPolicy/namespace/name.
	Policy string
	// Direction says whether Index counts spec.ingress or spec.egress.
	Direction Direction
	// Index is the rule's position in its list.
	Index int
}

// String formats the rule as "NetworkPolicy/namespace/name ingress[0]".
func (r RuleRef) String() string {
	return r.Policy + " " + string(r.Direction) + "[" + strconv.Itoa(r.Index) + "]"
}

// DirectionVerdict is the decision of one side of a flow: the source's egress or the
// destination's ingress.
type DirectionVerdict struct {
	// Reason says why the side allows or denies the flow.
	Reason Reason
	// IsolatedBy names, as NetworkPolicy/namespace/name, every policy that applies to the
	// pod in this direction; empty unless Reason is AllowedByRule or NoRuleAllows.
	IsolatedBy []string
	// AllowedBy lists every rule of those policies that admits the flow; empty unless
	// Reason is AllowedByRule.
	AllowedBy []RuleRef
}

// Allowed reports whether this side lets the flow through. The zero DirectionVerdict,
// returned beside an error, does not.
func (d DirectionVerdict) Allowed() bool {
	return d.Reason == Outside || d.Reason == NotIsolated || d.Reason == AllowedByRule
}

// String explains the decision, e.g. "allowed by NetworkPolicy/a/b ingress[0]" or
// "isolated by NetworkPolicy/a/deny, NetworkPolicy/a/web; no rule allows".
func (d DirectionVerdict) String() string {
	switch d.Reason {
	case AllowedByRule:
		refs := make([]string, len(d.AllowedBy))
		for i, r := range d.AllowedBy {
			refs[i] = r.String()
		}
		return "allowed by " + strings.Join(refs, ", ")
	case NoRuleAllows:
		return "isolated by " + strings.Join(d.IsolatedBy, ", ") + "; no rule allows"
	default:
		return string(d.Reason)
	}
}

// Verdict is the decision on a flow: both its source's egress and its destination's
// ingress must allow it.
type Verdict struct {
	// Egress is the source pod's egress decision.
	Egress DirectionVerdict
	// Ingress is the destination pod's ingress decision.
	Ingress DirectionVerdict
}

// Allowed reports whether the flow is allowed: egress and ingress both allow it.
func (v Verdict) Allowed() bool { return v.Egress.Allowed() && v.Ingress.Allowed() }

// String explains both sides, e.g. "denied: egress not isolated; ingress isolated by
// NetworkPolicy/a/deny; no rule allows".
func (v Verdict) String() string {
	word := "allowed"
	if !v.Allowed() {
		word = "denied"
	}
	return word + ": egress " + v.Egress.String() + "; ingress " + v.Ingress.String()
}

// Evaluate decides flow f. It returns an error, naming the flow, when the flow is not
// well formed: a peer that is both or neither pod and address, a pod in a namespace New
// was not given, a port outside 1-65535, a port name on an outside destination, or a
// protocol other than TCP, UDP and SCTP.
func (e *Evaluator) Evaluate(f Flow) (Verdict, error) {
	if err := f.check(e.namespaces); err != nil {
		return Verdict{}, err
	}
	return Verdict{
		Egress:  e.decide(&f, f.Source, f.Destination, Egress),
		Ingress: e.decide(&f, f.Destination, f.Source, Ingress),
	}, nil
}

// decide evaluates the policies of subject, the pod whose side of the flow is decided,
// against remote, the other end.
func (e *Evaluator) decide(f *Flow, subject, remote Peer, dir Direction) DirectionVerdict {
	if !subject.IsPod() {
		return DirectionVerdict{Reason: Outside}
	}
	var remoteNS labels.Set
	if remote.IsPod() {
		remoteNS = e.namespaces[remote.Namespace]
	}
	podLabels := labels.Set(subject.Labels)
	var d DirectionVerdict
	for _, p := range e.byNamespace[subject.Namespace] {
		applies, rules := p.ingress, p.ingressRules
		if dir == Egress {
			applies, rules = p.egress, p.egressRules
		}
		if !applies || !p.selector.Matches(podLabels) {
			continue
		}
		d.IsolatedBy = append(d.IsolatedBy, p.id)
		for i := range rules {
			if rules[i].matches(p, remote, remoteNS, f) {
				d.AllowedBy = append(d.AllowedBy, RuleRef{Policy: p.id, Direction: dir, Index: i})
			}
		}
	}
	switch {
	case len(d.IsolatedBy) == 0:
		d.Reason = NotIsolated
	case len(d.AllowedBy) > 0:
		d.Reason = AllowedByRule
	default:
		d.Reason = NoRuleAllows
	}
	return d
}

// IPBlocksOverlapping lists the rules, by namespace, policy name and position, with an
// ipBlock peer that admits some address of prefix: its cidr overlaps prefix and no single
// except covers the overlap. Given the pod network's CIDR, these are the rules that the
// model reads as admitting outside addresses only but that most network plugins also
// apply to pods.
func (e *Evaluator) IPBlocksOverlapping(prefix netip.Prefix) []RuleRef {
	prefix = prefix.Masked()
	var refs []RuleRef
	for _, ns := range slices.Sorted(maps.Keys(e.byNamespace)) {
		for _, p := range e.byNamespace[ns] {
			for _, list := range []struct {
				dir   Direction
				rules []rule
			}{{Ingress, p.ingressRules}, {Egress, p.egressRules}} {
				for i, r := range list.rules {
					if r.overlaps(prefix) {
						refs = append(refs, RuleRef{Policy: p.id, Direction: list.dir, Index: i})
					}
				}
			}
		}
	}
	return refs
}

func (r *rule) overlaps(prefix netip.Prefix) bool {
	for _, c := range r.peers {
		if c.block == nil || !c.block.cidr.Overlaps(prefix) {
			continue
		}
		// The overlap is the smaller of the two prefixes.
		overlap := prefix
		if c.block.cidr.Bits() > prefix.Bits() {
			overlap = c.block.cidr
		}
		covered := false
		for _, ex := range c.block.except {
			if ex.Bits() <= overlap.Bits() && ex.Contains(overlap.Addr()) {
				covered = true
				break
			}
		}
		if !covered {
			return true
		}
	}
	return false
}
