package privilege

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	psapi "k8s.io/pod-security-admission/api"
)

// World is what the objects do not say about the cluster they are applied to.
type World struct {
	// BuiltinClusterRoles are the ClusterRoles the apiserver creates itself, which the
	// objects may bind without defining (an aggregated one aggregates objects' roles too).
	BuiltinClusterRoles []rbacv1.ClusterRole
	// BreakGlassGroups may hold cluster-admin's power; ClusterAdminEquivalents leaves them
	// out.
	BreakGlassGroups []string
	// NodePools are the kinds of node in the cluster. Empty: all nodes are alike and
	// general (see doc.go).
	NodePools []NodePool
	// SystemNamespaces exist in every cluster without being among the objects. A
	// cluster-wide grant reaches them too.
	SystemNamespaces []string
	// DefaultEnforce is the Pod Security level of a namespace without the enforce label:
	// the PodSecurity admission plugin's configured default, privileged unless configured.
	DefaultEnforce psapi.Level
}

// NodePool is one kind of node: the labels and taints its nodes share.
type NodePool struct {
	Name   string
	Labels map[string]string
	Taints []corev1.Taint
	// Nodes names the pool's nodes; each also carries kubernetes.io/hostname=<name>, as
	// the kubelet sets it. Empty: one node stands for the pool.
	Nodes []string
}

// AllNodes names the one pool of a World without node pools: every node.
const AllNodes = "*"

//go:embed builtin_clusterroles.yaml
var builtinClusterRolesYAML []byte

// DefaultWorld returns the World of a Kubernetes 1.37 cluster with default admission
// settings: the built-in cluster-admin, admin, edit and view ClusterRoles (and the
// system:aggregate-to-* roles that fill the last three) as kube-apiserver v1.37.2
// bootstraps them; the namespaces default, kube-system, kube-public and kube-node-lease;
// unlabelled namespaces at Pod Security privileged (the plugin's default); no
// break-glass group and no node pools.
func DefaultWorld() World {
	roles, err := decodeClusterRoles(builtinClusterRolesYAML)
	if err != nil {
		panic(fmt.Sprintf("builtin_clusterroles.yaml: %v", err)) // tested by TestDefaultWorld
	}
	return World{
		BuiltinClusterRoles: roles,
		SystemNamespaces:    []string{metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic, corev1.NamespaceNodeLease},
		DefaultEnforce:      psapi.LevelPrivileged,
	}
}

// decodeClusterRoles reads a stream of YAML ClusterRoles.
func decodeClusterRoles(b []byte) ([]rbacv1.ClusterRole, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var out []rbacv1.ClusterRole
	for {
		var r rbacv1.ClusterRole
		if err := dec.Decode(&r); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("document %d: %w", len(out)+1, err)
		}
		if reflect.DeepEqual(r, rbacv1.ClusterRole{}) {
			continue // an empty document, or comments only
		}
		if r.Kind != "ClusterRole" || r.Name == "" {
			return nil, fmt.Errorf("document %d is not a named ClusterRole (kind %q)", len(out)+1, r.Kind)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, errors.New("holds no ClusterRole")
	}
	return out, nil
}

// pool is a NodePool ready for matching.
type pool struct {
	name string
	// all: no pools were declared; this one is every node, and every pod lands on it.
	all    bool
	taints []corev1.Taint // the NoSchedule and NoExecute ones
	nodes  []*corev1.Node
	desc   string
}

// general reports whether any pod may be placed on the pool's nodes: no taint keeps
// pods away.
func (p *pool) general() bool { return len(p.taints) == 0 }

// matches reports whether a pod with this node affinity may be scheduled to one of the
// pool's nodes.
func (p *pool) matches(a nodeaffinity.RequiredNodeAffinity) (bool, error) {
	for _, n := range p.nodes {
		ok, err := a.Match(n)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// pools checks the World and builds its pools.
func (w World) pools() ([]*pool, error) {
	var errs []error
	if w.DefaultEnforce == "" || !w.DefaultEnforce.Valid() {
		errs = append(errs, fmt.Errorf("World.DefaultEnforce is %q, want privileged, baseline or restricted", w.DefaultEnforce))
	}
	for i, g := range w.BreakGlassGroups {
		if g == "" {
			errs = append(errs, fmt.Errorf("World.BreakGlassGroups[%d] is empty", i))
		}
	}
	for i, ns := range w.SystemNamespaces {
		if ns == "" {
			errs = append(errs, fmt.Errorf("World.SystemNamespaces[%d] is empty", i))
		}
	}
	if len(w.NodePools) == 0 {
		return []*pool{{name: AllNodes, all: true, desc: "the cluster (no node pools declared)"}}, errors.Join(errs...)
	}
	var out []*pool
	seen := map[string]bool{}
	for i, np := range w.NodePools {
		if np.Name == "" || np.Name == AllNodes {
			errs = append(errs, fmt.Errorf("World.NodePools[%d] is named %q; give it a name of its own", i, np.Name))
			continue
		}
		if seen[np.Name] {
			errs = append(errs, fmt.Errorf("World.NodePools: two pools named %q", np.Name))
			continue
		}
		seen[np.Name] = true
		p := &pool{name: np.Name}
		for _, t := range np.Taints {
			if hardTaint(&t) {
				p.taints = append(p.taints, t)
			}
		}
		names := np.Nodes
		if len(names) == 0 {
			names = []string{""}
		}
		for _, n := range names {
			node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: maps.Clone(np.Labels)}}
			if n != "" {
				if node.Labels == nil {
					node.Labels = map[string]string{}
				}
				node.Labels[corev1.LabelHostname] = n
			}
			p.nodes = append(p.nodes, node)
		}
		p.desc = "pool " + np.Name + describeLabels(np.Labels, p.taints)
		out = append(out, p)
	}
	return out, errors.Join(errs...)
}

func describeLabels(l map[string]string, taints []corev1.Taint) string {
	var parts []string
	keys := slices.Sorted(maps.Keys(l))
	for _, k := range keys {
		parts = append(parts, k+"="+l[k])
	}
	var ts []string
	for _, t := range taints {
		ts = append(ts, t.ToString())
	}
	sort.Strings(ts)
	if len(ts) > 0 {
		parts = append(parts, "tainted "+strings.Join(ts, ", "))
	} else {
		parts = append(parts, "untainted")
	}
	return " (" + strings.Join(parts, "; ") + ")"
}
