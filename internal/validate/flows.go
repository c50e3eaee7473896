package validate

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/lsst-dm/lsstgen/internal/model"
	"github.com/lsst-dm/lsstgen/internal/netpol"
	"github.com/lsst-dm/lsstgen/internal/render"
)

// checkFlows runs the rules on the declared flows (LSST-NET-*): internal/netpol evaluates
// the rendered NetworkPolicies over the rendered Namespaces for every declared flow, and
// for every other flow between two components. A model without components (older than the
// flows) has nothing to check.
func checkFlows(c *checker) {
	m := &c.in.Model
	if len(m.Components) == 0 {
		return
	}
	checkComponentPods(c)
	ev, err := flowEvaluator(c)
	if err != nil {
		c.report(NetDeclaredAllowed, nil, "", "the NetworkPolicies cannot be evaluated, so no flow can be shown allowed: %v; fix them (the apiserver refuses them too)", err)
		return
	}
	checkDeclaredFlows(c, ev)
	checkUndeclaredFlows(c, ev)
	checkPodNetworkBlocks(c, ev)
}

// flowEvaluator compiles the instance's NetworkPolicies over its Namespaces (with their
// labels) and the namespaces of components outside the instance (kube-system's DNS).
func flowEvaluator(c *checker) (*netpol.Evaluator, error) {
	var policies []networkingv1.NetworkPolicy
	for _, o := range c.idx.byKind["NetworkPolicy"] {
		if np, ok := o.typed.(*networkingv1.NetworkPolicy); ok {
			policies = append(policies, *np)
		}
	}
	var namespaces []netpol.Namespace
	seen := map[string]bool{}
	for _, n := range c.idx.sortedNamespaces() {
		namespaces = append(namespaces, netpol.Namespace{Name: n, Labels: c.idx.get("Namespace", "", n).u.GetLabels()})
		seen[n] = true
	}
	for _, ns := range sortedKeys(c.in.Model.Components) {
		if !seen[ns] {
			namespaces = append(namespaces, netpol.Namespace{Name: ns})
		}
	}
	return netpol.New(policies, namespaces)
}

// checkComponentPods (LSST-NET-004): every pod template of the instance is selected by
// exactly one component of its namespace, and every component the templates render selects
// a pod template: otherwise the policies rendered from the flows miss pods, or govern pods
// the flows do not describe.
func checkComponentPods(c *checker) {
	comps := c.in.Model.Components
	selected := map[string]bool{}
	for _, p := range c.idx.pods {
		var by []string
		for _, name := range sortedKeys(comps[p.obj.ns]) {
			if labelsMatch(comps[p.obj.ns][name].PodLabels, p.meta.Labels) {
				by = append(by, p.obj.ns+"/"+name)
				selected[p.obj.ns+"/"+name] = true
			}
		}
		switch {
		case len(by) == 0:
			c.report(NetComponents, p.obj, "", "its pods belong to no component of the flows, so no flow can be declared for them and the NetworkPolicies deny them everything; render it as a workload of the templates (each is a component) or declare a component whose podLabels select its pods (platform/flows.cue)")
		case len(by) > 1:
			c.report(NetComponents, p.obj, "", "its pods are selected by components %s, so each one's policies apply to them; give the components podLabels that tell their pods apart", strings.Join(by, " and "))
		}
	}
	for _, ns := range sortedKeys(comps) {
		for _, name := range sortedKeys(comps[ns]) {
			comp := comps[ns][name]
			if comp.Origin != model.OriginRendered || selected[comp.ID()] {
				continue
			}
			c.report(NetComponents, c.idx.get("Namespace", "", ns), "", "component %s (podLabels %v) selects no pod template of namespace %s, so its flows and policies describe pods that do not run; make its podLabels the workload's selector", comp.ID(), comp.PodLabels, ns)
		}
	}
}

// checkDeclaredFlows (LSST-NET-001): every declared flow between a component and a
// component or outside network is allowed by the source's egress and the destination's
// ingress, on each of its ports (and, to an outside network, to an address of each of its
// CIDRs). Flows the nodes open (the kubelet's NFS mounts) are not governed by
// NetworkPolicy and are left out.
func checkDeclaredFlows(c *checker, ev *netpol.Evaluator) {
	flows := c.in.Model.Flows
	for _, id := range sortedKeys(flows) {
		f := flows[id]
		if f.Src.Kind == model.EndNodes || f.Dst.Kind == model.EndNodes {
			continue
		}
		where := "flows." + render.Label(id)
		srcs, err := endPeers(f.Src)
		if err == nil {
			var dsts []netpol.Peer
			dsts, err = endPeers(f.Dst)
			if err == nil {
				for _, p := range f.Ports {
					for _, s := range srcs {
						for _, d := range dsts {
							checkDeclared(c, ev, f, p, s, d, where)
						}
					}
				}
				continue
			}
		}
		c.report(NetDeclaredAllowed, nil, where, "declared flow %s cannot be evaluated: %v; fix its ends in the model", id, err)
	}
}

func checkDeclared(c *checker, ev *netpol.Evaluator, f model.Flow, p model.FlowPort, src, dst netpol.Peer, where string) {
	name := flowName(f.Src, f.Dst, p)
	v, err := ev.Evaluate(netpol.Flow{Source: src, Destination: dst, Port: p.Port, PortName: p.Name, Protocol: corev1.Protocol(p.Protocol)})
	if err != nil {
		c.report(NetDeclaredAllowed, nil, where, "declared flow %s cannot be evaluated: %v; fix its ends in the model", name, err)
		return
	}
	if v.Allowed() {
		return
	}
	side := v.Egress
	if side.Allowed() {
		side = v.Ingress
	}
	at := ""
	if !src.IsPod() || !dst.IsPod() {
		at = " (at " + peerAddr(src, dst) + ")"
	}
	c.report(NetDeclaredAllowed, c.policyObject(deciding(side)), where, "declared flow %s%s is %s. It is declared because %s; render the NetworkPolicies from the flows (platform/namespaces.cue), or correct the declaration", name, at, v, f.Why)
}

// checkUndeclaredFlows (LSST-NET-002): every flow from one component to another (or to
// another pod of itself) on a port the destination declares, that no flow declares, is
// denied. Findings are grouped by source and destination.
func checkUndeclaredFlows(c *checker, ev *netpol.Evaluator) {
	m := &c.in.Model
	declared := map[string]bool{}
	for _, f := range m.Flows {
		for _, p := range f.Ports {
			declared[f.Src.String()+" -> "+f.Dst.String()+" "+p.Protocol+"/"+strconv.Itoa(int(p.Port))] = true
		}
	}
	comps := allComponents(m)
	for _, src := range comps {
		for _, dst := range comps {
			if !c.idx.namespaces[src.Namespace] && !c.idx.namespaces[dst.Namespace] {
				continue // neither end is the instance's: the cluster's own add-ons
			}
			var open, verdicts []string
			var first netpol.Verdict
			for _, pname := range sortedKeys(dst.Ports) {
				p := dst.Ports[pname]
				proto := cmp.Or(p.Protocol, string(corev1.ProtocolTCP))
				if declared[src.ID()+" -> "+dst.ID()+" "+proto+"/"+strconv.Itoa(int(p.Port))] {
					continue
				}
				v, err := ev.Evaluate(netpol.Flow{
					Source:      netpol.PodPeer(src.Namespace, src.PodLabels),
					Destination: netpol.PodPeer(dst.Namespace, dst.PodLabels),
					Port:        p.Port, PortName: pname, Protocol: corev1.Protocol(proto),
				})
				if err != nil {
					c.report(NetUndeclaredDenied, nil, "", "flow %s -> %s %s/%d cannot be evaluated: %v", src.ID(), dst.ID(), proto, p.Port, err)
					continue
				}
				if v.Allowed() {
					if len(open) == 0 {
						first = v
					}
					open = append(open, fmt.Sprintf("%s/%d (%s)", proto, p.Port, pname))
					verdicts = append(verdicts, v.String())
				}
			}
			if len(open) == 0 {
				continue
			}
			c.report(NetUndeclaredDenied, c.allowingObject(dst.Namespace, first), "", "undeclared flow %s → %s %s is %s; declare it in platform/flows.cue if it is needed, else narrow the rules that allow it", src.ID(), dst.ID(), strings.Join(open, ", "), strings.Join(slices.Compact(verdicts), " / "))
		}
	}
}

// checkPodNetworkBlocks (LSST-NET-003): no ipBlock admits addresses of the cluster's pod
// network. The evaluator reads ipBlocks as outside addresses only; most network plugins
// apply them to pod addresses too, so such a block would admit pods no flow declares.
func checkPodNetworkBlocks(c *checker, ev *netpol.Evaluator) {
	cidr := c.in.Model.Instance.Kubernetes.PodCIDR
	if cidr == "" {
		return
	}
	pods, err := netip.ParsePrefix(cidr)
	if err != nil {
		c.report(NetPodNetworkBlock, nil, "instance.kubernetes.podCIDR", "the pod network %q is not a CIDR: %v", cidr, err)
		return
	}
	for _, r := range ev.IPBlocksOverlapping(pods) {
		peers := "from"
		if r.Direction == netpol.Egress {
			peers = "to"
		}
		c.report(NetPodNetworkBlock, c.policyObject(r.Policy), "", "%s has an ipBlock admitting addresses of the pod network %s, which network plugins apply to pods too: it would admit pods no flow declares; add %s to the except of its %s peers", r, cidr, cidr, peers)
	}
}

// allComponents lists the model's components sorted by namespace and name.
func allComponents(m *model.Model) []model.Component {
	var out []model.Component
	for _, ns := range sortedKeys(m.Components) {
		for _, n := range sortedKeys(m.Components[ns]) {
			comp := m.Components[ns][n]
			comp.Namespace, comp.Name = ns, n
			out = append(out, comp)
		}
	}
	return out
}

// endPeers gives the peers a flow's end stands for: a component's pods, or an address of
// each of an outside network's CIDRs that its except leaves.
func endPeers(e model.FlowEnd) ([]netpol.Peer, error) {
	switch e.Kind {
	case model.EndComponent:
		return []netpol.Peer{netpol.PodPeer(e.Namespace, e.PodLabels)}, nil
	case model.EndOutside:
		var except []netip.Prefix
		for _, s := range e.Except {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("outside network %s: except %q: %w", e.Outside, s, err)
			}
			except = append(except, p.Masked())
		}
		var out []netpol.Peer
		for _, s := range e.CIDRs {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("outside network %s: cidr %q: %w", e.Outside, s, err)
			}
			a, ok := firstAddr(p.Masked(), except)
			if !ok {
				return nil, fmt.Errorf("outside network %s: its except leaves no address of %s", e.Outside, s)
			}
			out = append(out, netpol.AddrPeer(a))
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("outside network %s has no CIDR", e.Outside)
		}
		return out, nil
	}
	return nil, fmt.Errorf("end kind %q is neither a component nor an outside network", e.Kind)
}

// firstAddr is the first address of p that no prefix of except holds.
func firstAddr(p netip.Prefix, except []netip.Prefix) (netip.Addr, bool) {
	a := p.Addr()
	for moved := true; moved; {
		moved = false
		for _, ex := range except {
			if ex.Contains(a) {
				a = lastAddr(ex).Next()
				moved = true
			}
		}
		if !a.IsValid() || !p.Contains(a) {
			return netip.Addr{}, false
		}
	}
	return a, true
}

// lastAddr is the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// flowName formats a flow as findings name it: "notebook/hub → notebook-users/user-pods
// TCP/8888 (notebook-port)".
func flowName(src, dst model.FlowEnd, p model.FlowPort) string {
	s := fmt.Sprintf("%s → %s %s/%d", src, dst, p.Protocol, p.Port)
	if p.Name != "" {
		s += " (" + p.Name + ")"
	}
	return s
}

// peerAddr names the outside address a flow was evaluated at.
func peerAddr(src, dst netpol.Peer) string {
	if !src.IsPod() {
		return src.Addr.String()
	}
	return dst.Addr.String()
}

// deciding is the policy that decides a denied side: the component's own one when it is
// among those that isolate the pod, else the first (the namespace's default deny).
func deciding(d netpol.DirectionVerdict) string {
	if len(d.IsolatedBy) == 0 {
		return ""
	}
	for _, id := range d.IsolatedBy {
		if !strings.HasSuffix(id, "/default-deny") {
			return id
		}
	}
	return d.IsolatedBy[0]
}

// policyObject finds the object of a policy named NetworkPolicy/namespace/name, or nil.
func (c *checker) policyObject(id string) *object {
	parts := strings.SplitN(id, "/", 3)
	if len(parts) != 3 {
		return nil
	}
	return c.idx.get(parts[0], parts[1], parts[2])
}

// allowingObject is the object an allowed undeclared flow is reported on: the first
// policy whose rule admits it on the destination's side, else on the source's, else the
// destination's Namespace (no policy isolates it).
func (c *checker) allowingObject(ns string, v netpol.Verdict) *object {
	for _, d := range []netpol.DirectionVerdict{v.Ingress, v.Egress} {
		if len(d.AllowedBy) > 0 {
			if o := c.policyObject(d.AllowedBy[0].Policy); o != nil {
				return o
			}
		}
	}
	return c.idx.get("Namespace", "", ns)
}

// sortedKeys lists a map's keys, sorted.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
