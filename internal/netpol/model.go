package netpol

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
)

// NamespaceNameLabel is the label the apiserver sets on every namespace to the
// namespace's name; New sets it the same way on the namespaces it is given.
const NamespaceNameLabel = corev1.LabelMetadataName

// Namespace is a namespace of the cluster with its labels.
type Namespace struct {
	// Name is the namespace's name.
	Name string
	// Labels are the namespace's labels. NamespaceNameLabel need not be given.
	Labels map[string]string
}

// Peer is one end of a flow: a pod of the cluster, given by its namespace and labels, or
// an address outside the pod network. Build one with PodPeer or AddrPeer.
type Peer struct {
	// Namespace is the pod's namespace; empty for an outside address.
	Namespace string
	// Labels are the pod's labels.
	Labels map[string]string
	// Addr is the outside address; the zero Addr for a pod.
	Addr netip.Addr
}

// PodPeer returns the peer for a pod in namespace with the given labels.
func PodPeer(namespace string, podLabels map[string]string) Peer {
	return Peer{Namespace: namespace, Labels: podLabels}
}

// AddrPeer returns the peer for an address outside the pod network.
func AddrPeer(addr netip.Addr) Peer {
	return Peer{Addr: addr}
}

// IsPod reports whether the peer is a pod of the cluster.
func (p Peer) IsPod() bool { return p.Namespace != "" }

// String formats a pod as namespace/{k=v,...} and an outside address as the address.
func (p Peer) String() string {
	if !p.IsPod() {
		return p.Addr.String()
	}
	return p.Namespace + "/{" + labels.Set(p.Labels).String() + "}"
}

// Flow is a connection from Source to Destination on one port of the destination.
type Flow struct {
	// Source opens the connection.
	Source Peer
	// Destination accepts it.
	Destination Peer
	// Port is the destination port number.
	Port int32
	// PortName is the name of the destination container's port with that number, when the
	// destination is a pod that names it; it is what named ports in policies match.
	PortName string
	// Protocol is TCP, UDP or SCTP; empty means TCP.
	Protocol corev1.Protocol
}

// String formats the flow as "source -> destination protocol/port(name)".
func (f Flow) String() string {
	var b strings.Builder
	b.WriteString(f.Source.String())
	b.WriteString(" -> ")
	b.WriteString(f.Destination.String())
	b.WriteByte(' ')
	b.WriteString(string(f.protocol()))
	b.WriteByte('/')
	b.WriteString(strconv.Itoa(int(f.Port)))
	if f.PortName != "" {
		b.WriteString("(" + f.PortName + ")")
	}
	return b.String()
}

func (f Flow) protocol() corev1.Protocol {
	if f.Protocol == "" {
		return corev1.ProtocolTCP
	}
	return f.Protocol
}

// check reports what makes the flow impossible to evaluate, all at once.
func (f Flow) check(namespaces map[string]labels.Set) error {
	var errs []error
	for _, side := range []struct {
		name string
		peer Peer
	}{{"source", f.Source}, {"destination", f.Destination}} {
		p := side.peer
		switch {
		case p.IsPod() && p.Addr.IsValid():
			errs = append(errs, fmt.Errorf("%s is both a pod and an address: give one", side.name))
		case p.IsPod():
			if _, ok := namespaces[p.Namespace]; !ok {
				errs = append(errs, fmt.Errorf("%s namespace %q is not among the namespaces given", side.name, p.Namespace))
			}
		case !p.Addr.IsValid():
			errs = append(errs, fmt.Errorf("%s is neither a pod nor an address: give a namespace or an address", side.name))
		}
	}
	for _, msg := range validation.IsValidPortNum(int(f.Port)) {
		errs = append(errs, fmt.Errorf("port %d: %s", f.Port, msg))
	}
	if f.PortName != "" {
		if !f.Destination.IsPod() {
			errs = append(errs, fmt.Errorf("port name %q: only a pod destination has named ports", f.PortName))
		}
		for _, msg := range validation.IsValidPortName(f.PortName) {
			errs = append(errs, fmt.Errorf("port name %q: %s", f.PortName, msg))
		}
	}
	switch f.protocol() {
	case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
	default:
		errs = append(errs, fmt.Errorf("protocol %q: must be TCP, UDP or SCTP", f.Protocol))
	}
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, err := range errs {
		msgs[i] = err.Error()
	}
	return fmt.Errorf("flow %s: %s", f, strings.Join(msgs, "; "))
}
