package testcluster

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/model"
	"github.com/lsst-dm/lsstgen/internal/render"
	"github.com/lsst-dm/lsstgen/internal/validate"
)

// convergeTimeout bounds the wait for an instance to converge in a twin; each takes
// seconds on an idle machine.
const convergeTimeout = 3 * time.Minute

// TestInstancesConverge bootstraps every instance of generated/ on a twin of its own,
// shaped by its model's nodes, as README.md tells operators to, and proves it converges:
// every workload rolled out, no pod Pending, every claim Bound to its volume, no pod
// refused by Pod Security, and every pod on a node of the role the model intends. Then
// its development spaces are worked in (checkDevelopmentSpaces) and its notebook's user
// pods meet the scheduler (checkUserCapacity).
func TestInstancesConverge(t *testing.T) {
	root, err := manifest.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	fsys := os.DirFS(root)
	for _, name := range generatedInstances(t, fsys) {
		t.Run(name, func(t *testing.T) {
			res, err := render.Instance(root, name)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := manifest.ReadInstance(fsys, manifest.InstanceDir(name))
			if err != nil {
				t.Fatal(err)
			}
			nodes, err := NodesFromModel(res.Model)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			tw := StartTwin(t, nodes)
			up := time.Since(start)
			ctx := t.Context()
			rejected, err := Bootstrap(ctx, tw.Admin(), res.Model.Secrets, objs)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rejected {
				t.Errorf("bootstrap apply rejected: %s", r)
			}
			applied := time.Since(start)
			if err := WaitConverged(ctx, tw.Admin(), objs, convergeTimeout); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			t.Logf("%s: twin of %d nodes up in %.1fs, %d objects applied in %.1fs, converged in %.1fs",
				name, len(nodes), up.Seconds(), len(objs), (applied - up).Seconds(), (time.Since(start) - applied).Seconds())
			for _, p := range placementProblems(t, tw, res.Model) {
				t.Errorf("%s: %s", name, p)
			}
			t.Run("development spaces", func(t *testing.T) {
				checkDevelopmentSpaces(t, tw, res.Model)
			})
			if res.Model.Instance.Aspects.Notebook != nil {
				t.Run("notebook users", func(t *testing.T) {
					checkUserCapacity(t, tw, validate.FromResult(res), objs)
				})
			}
			if err := tw.Check(); err != nil {
				t.Error(err)
			}
		})
	}
}

// placementProblems lists every pod of the cluster that runs where the model does not
// intend it to, and every node missing a pod it should run: qserv's workers one per
// worker node, its czar on the czar node, its admin DaemonSet on every qserv node, Nexus
// on the registry node, the log forwarder on every node, and everything else on nodes of
// the roles dedicated to nothing. The role sets come from the model's roles.
func placementProblems(t *testing.T, tw *Twin, m model.Model) []string {
	t.Helper()
	cs := kubernetes.NewForConfigOrDie(tw.Admin())
	pods, err := cs.CoreV1().Pods("").List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rsets, err := cs.AppsV1().ReplicaSets("").List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deployments := map[string]string{} // ReplicaSet → its Deployment
	for _, rs := range rsets.Items {
		if c := metav1.GetControllerOf(&rs); c != nil {
			deployments["ReplicaSet/"+rs.Namespace+"/"+rs.Name] = c.Kind + "/" + rs.Namespace + "/" + c.Name
		}
	}
	role := func(node string) string { return m.Instance.Nodes[node].Role }
	nodesOf := func(roles ...string) []string {
		var out []string
		for _, n := range slices.Sorted(maps.Keys(m.Instance.Nodes)) {
			if slices.Contains(roles, role(n)) {
				out = append(out, n)
			}
		}
		return out
	}
	qservNodes := nodesOf(m.RolesDedicatedTo("qserv")...)
	sharedNodes := nodesOf(m.RolesDedicatedTo("")...)
	allNodes := slices.Sorted(maps.Keys(m.Instance.Nodes))
	var problems []string
	// onNodes: owner kind/namespace/name → the nodes its pods run on.
	onNodes := map[string][]string{}
	for _, p := range pods.Items {
		id, node := "Pod/"+p.Namespace+"/"+p.Name, p.Spec.NodeName
		owner := ""
		if c := metav1.GetControllerOf(&p); c != nil {
			owner = c.Kind + "/" + p.Namespace + "/" + c.Name
			if d := deployments[owner]; d != "" {
				owner = d
			}
		}
		onNodes[owner] = append(onNodes[owner], node)
		var allowed []string
		switch p.Namespace {
		case "logging":
			continue // the log forwarder runs everywhere; checked below
		case "registry":
			allowed = []string{m.Instance.Registry.Node}
		case "qserv-os-admin":
			allowed = qservNodes // qserv's OS admins' shell on the qserv nodes
		case "qserv":
			switch owner {
			case "StatefulSet/qserv/qserv-worker":
				allowed = nodesOf("qserv-worker")
			case "StatefulSet/qserv/qserv-czar":
				allowed = nodesOf("qserv-czar")
			default:
				allowed = qservNodes
			}
		default:
			allowed = sharedNodes
		}
		if !slices.Contains(allowed, node) {
			problems = append(problems, fmt.Sprintf("%s (of %s) runs on node %s of role %q; the model intends it on %s",
				id, owner, node, role(node), strings.Join(allowed, ", ")))
		}
	}
	everyNode := func(owner string, want []string) {
		got := slices.Sorted(slices.Values(onNodes[owner]))
		if !slices.Equal(got, want) {
			problems = append(problems, fmt.Sprintf("%s runs on nodes %v; the model intends exactly one pod on each of %v", owner, got, want))
		}
	}
	if len(nodesOf("qserv-worker")) > 0 {
		everyNode("StatefulSet/qserv/qserv-worker", nodesOf("qserv-worker"))
		everyNode("StatefulSet/qserv/qserv-czar", nodesOf("qserv-czar"))
		everyNode("DaemonSet/qserv-os-admin/qserv-data-admin", qservNodes)
	}
	if reg := m.Instance.Registry.Node; reg != "" {
		nexus := onNodes["Deployment/registry/nexus"]
		if len(nexus) == 0 || slices.ContainsFunc(nexus, func(n string) bool { return n != reg }) {
			problems = append(problems, fmt.Sprintf("Deployment/registry/nexus runs on nodes %v; the model intends it on the registry node %s only", nexus, reg))
		}
	}
	// The forwarders share the nodes: the logging namespace's on every node but the qserv
	// nodes, which have a forwarder of their own in qserv-os-admin (platform/logging.cue);
	// together, exactly one on each node.
	forwarders := 0
	var forwarded []string
	for owner, nodes := range onNodes {
		if strings.HasPrefix(owner, "DaemonSet/logging/") || owner == "DaemonSet/qserv-os-admin/fluent-bit" {
			forwarders++
			forwarded = append(forwarded, nodes...)
		}
	}
	if m.Instance.Logging.Forward {
		slices.Sort(forwarded)
		if !slices.Equal(forwarded, allNodes) {
			problems = append(problems, fmt.Sprintf("log forwarders run on nodes %v; the model intends exactly one on each of %v", forwarded, allNodes))
		}
		if len(qservNodes) > 0 {
			everyNode("DaemonSet/qserv-os-admin/fluent-bit", qservNodes)
		}
	}
	switch {
	case m.Instance.Logging.Forward && forwarders == 0:
		problems = append(problems, "no log forwarder: no DaemonSet of the logging namespace runs a pod")
	case !m.Instance.Logging.Forward && forwarders > 0:
		problems = append(problems, fmt.Sprintf("%d log forwarders run, but the instance does not forward its logs", forwarders))
	}
	// qserv's databases and the registry's storage live on their node's local disks.
	local := 0
	for _, p := range pods.Items {
		if p.Namespace != "qserv" && p.Namespace != "registry" {
			continue
		}
		for _, v := range p.Spec.Volumes {
			if v.PersistentVolumeClaim == nil {
				continue
			}
			id := "PersistentVolumeClaim/" + p.Namespace + "/" + v.PersistentVolumeClaim.ClaimName
			pvc, err := cs.CoreV1().PersistentVolumeClaims(p.Namespace).Get(t.Context(), v.PersistentVolumeClaim.ClaimName, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			pv, err := cs.CoreV1().PersistentVolumes().Get(t.Context(), pvc.Spec.VolumeName, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("%s: PersistentVolume/%s: %v", id, pvc.Spec.VolumeName, err)
			}
			local++
			if hosts := volumeHosts(pv); pv.Spec.Local == nil || !slices.Equal(hosts, []string{p.Spec.NodeName}) {
				problems = append(problems, fmt.Sprintf("%s of Pod/%s/%s on node %s is Bound to PersistentVolume/%s, not a local volume of that node (local: %v, nodes %v)",
					id, p.Namespace, p.Name, p.Spec.NodeName, pv.Name, pv.Spec.Local != nil, hosts))
			}
		}
	}
	if local == 0 && (len(nodesOf("qserv-worker")) > 0 || m.Instance.Registry.Node != "") {
		problems = append(problems, "no pod of qserv or the registry uses a claim: their local volumes are not checked")
	}
	return problems
}
