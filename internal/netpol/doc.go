// Package netpol evaluates Kubernetes NetworkPolicies (networking.k8s.io/v1) for
// declared flows, without a cluster: given the policies, the namespaces with their labels
// and a flow between two peers, it says whether the source's egress and the destination's
// ingress allow the flow, and which policies decide it.
//
// The semantics are those of the Kubernetes documentation (concepts/services-networking/
// network-policies and the NetworkPolicy API reference):
//
//   - A pod is isolated for a direction when some policy in its namespace selects it and
//     has that direction in spec.policyTypes. Without policyTypes a policy has Ingress,
//     plus Egress when it has egress rules. Rules of a direction a policy does not list
//     in policyTypes are ignored.
//   - A flow is allowed when the source's egress allows it (or the source is not isolated
//     for egress, or is outside the cluster) and the destination's ingress allows it (or
//     the destination is not isolated for ingress, or is outside). Rules of all applying
//     policies are ORed.
//   - In a rule, the flow must match one of the peers (none listed: any peer) and one of
//     the ports (none listed: any port). A peer's namespaceSelector and podSelector are
//     ANDed; a podSelector alone means the policy's own namespace; an empty selector {}
//     selects everything in its scope.
//   - A port matches on protocol (TCP when unset) and on the number, the number range
//     port..endPort, or the name of the destination container's port.
//
// Model decisions the documentation leaves to the network plugin:
//
//   - Outside. A peer is either a pod (namespace and labels) or an outside address (an
//     IP). Everything that is not a pod on the pod network is outside: addresses beyond
//     the cluster, nodes, hostNetwork pods and the apiserver's endpoints. Outside peers
//     are matched only by ipBlock; they are subject to no policy of their own.
//   - ipBlock and pods. Pods are matched only by namespaceSelector and podSelector, never
//     by ipBlock, because pod addresses are not known before the pods run. Most network
//     plugins do let an ipBlock covering the pod network (0.0.0.0/0, say) admit pods;
//     IPBlocksOverlapping lists such rules so a caller can report them.
//   - Named ports. A named port in a rule of either direction names a container port of
//     the destination pod, as the API reference says. It matches when the flow's
//     PortName equals it; an outside destination has no named ports.
//   - Not modelled: a pod's traffic to itself and traffic between a pod and its own node
//     are always allowed by Kubernetes; flows here name neither pod instances nor nodes.
package netpol
