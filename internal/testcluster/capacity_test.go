package testcluster

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/model"
	"github.com/lsst-dm/lsstgen/internal/render"
	"github.com/lsst-dm/lsstgen/internal/synth"
	"github.com/lsst-dm/lsstgen/internal/validate"
)

// Capacity against the scheduler: the notebook's user pods are not objects of an instance
// (the hub spawns them), so validate counts maxUsers of them in its capacity rules
// (LSST-CAP-001 and LSST-CAP-002), placed after every other pod. The tests here create
// those pods in a twin and hold validate's verdict and the real scheduler's to each other,
// on both sides of the limit.
//
// Where the two cannot agree exactly:
//   - Placement. Validate places the platform's pods largest first, each on the node the
//     scheduler's resource scoring prefers; the scheduler meets them in the order the
//     controllers create them and weighs other scores too (balanced allocation, topology
//     spread). Both leave the same total free on the nodes user pods may use, cut a little
//     differently, and a node holds a whole number of user pods: the tests allow the user
//     pods that fit to differ by one per such node, less one (0 with one node, 1 with two).
//   - Pods per node. The scheduler admits at most MaxPodsPerNode (110, the kubelet's
//     default) pods on a node; validate counts no such limit. The tests report the most
//     pods any node holds at the limit, and fail if a node reaches 110, since the margin
//     above would then not hold.
//   - Ephemeral storage. Every container requests some. The twin's nodes offer their local
//     disks less the image cache; validate also takes the local PersistentVolumes on each
//     node out of that (they share the disks), which the scheduler does not know of: on
//     the nodes that hold such volumes (the registry's, qserv's, the hub's) validate is the
//     stricter by their size. User pods run on general nodes, where only the hub's
//     database volume lies, small beside the disks.

// notebookUserPod is the pod the notebook's spawner starts for user n: the model's user
// pod (platform/notebook.cue's userPod, which internal/render's TestHubConfig holds equal to
// the pod KubeSpawner makes of the hub's settings, run under Python) filled in for one user
// by model.UserPodFor, as the hub's pre_spawn_hook does.
func notebookUserPod(t testing.TB, m model.Model, n int) *corev1.Pod {
	t.Helper()
	if m.UserPod == nil {
		t.Fatal("the model exports no userPod: the instance has no notebook")
	}
	pod, err := model.UserPodFor(m.UserPod, model.NotebookUser{Name: fmt.Sprintf("user%03d", n), UID: 20000 + int64(n), GID: 20000})
	if err != nil {
		t.Fatal(err)
	}
	return pod
}

// userNamespace is where the spawner starts user pods (c.KubeSpawner.namespace).
const userNamespace = "notebook-users"

// roleTolerations are the tolerations of every role of the model whose labels selector
// selects: what a pod selecting those nodes needs to run there.
func roleTolerations(m model.Model, selector map[string]string) []corev1.Toleration {
	var out []corev1.Toleration
	for _, name := range slices.Sorted(maps.Keys(m.Roles)) {
		r := m.Roles[name]
		if !selects(selector, r.Labels) {
			continue
		}
		for _, tol := range r.Tolerations {
			if !slices.ContainsFunc(out, func(o corev1.Toleration) bool { return o.MatchToleration(&tol) }) {
				out = append(out, tol)
			}
		}
	}
	return out
}

func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// validatedUserLimit returns the most notebook users validate accepts for the instance:
// its model with maxUsers raised far past its nodes, validate's LSST-CAP-002 names the
// first user pod that fits no node. It checks validate accepts that many users and
// refuses one more.
func validatedUserLimit(t *testing.T, in validate.Instance) int {
	t.Helper()
	const many = 100000
	at := func(users int) validate.Instance {
		out := in
		nb := *in.Model.Instance.Aspects.Notebook
		nb.MaxUsers = users
		out.Model.Instance.Aspects.Notebook = &nb
		return out
	}
	capFindings := func(users int) []validate.Finding {
		var out []validate.Finding
		for _, f := range validate.Validate([]validate.Instance{at(users)}) {
			if f.Rule == validate.CapTotal || f.Rule == validate.CapPlacement {
				out = append(out, f)
			}
		}
		return out
	}
	re := regexp.MustCompile(`^user pod (\d+) of ` + strconv.Itoa(many) + ` `)
	limit := -1
	for _, f := range capFindings(many) {
		if m := re.FindStringSubmatch(f.Message); m != nil && f.Rule == validate.CapPlacement {
			first, _ := strconv.Atoi(m[1])
			limit = first - 1
		}
	}
	if limit < 0 {
		t.Fatalf("%s: validate with %d notebook users reports no user pod that fits no node", in.Name, many)
	}
	if fs := capFindings(limit); len(fs) > 0 {
		t.Fatalf("%s: validate refuses %d notebook users, the limit its own placement gives: %v", in.Name, limit, fs)
	}
	if fs := capFindings(limit + 1); len(fs) == 0 {
		t.Fatalf("%s: validate accepts %d notebook users, one past the limit its placement gives", in.Name, limit+1)
	}
	return limit
}

// userOutcome is what the scheduler made of a set of user pods.
type userOutcome struct {
	bound   int
	pending map[string]string // pod → the scheduler's reason
	// perNode counts every pod on each node, the platform's included.
	perNode map[string]int
}

// createUserPods creates user pods from .. to-1 and waits until the scheduler has either
// bound or refused each of them.
func createUserPods(ctx context.Context, t *testing.T, cs kubernetes.Interface, m model.Model, from, to int) {
	t.Helper()
	for n := from; n < to; n++ {
		if _, err := cs.CoreV1().Pods(userNamespace).Create(ctx, notebookUserPod(t, m, n), metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating user pod %d: %v", n, err)
		}
	}
}

// scheduled waits until the scheduler has bound or found no room for every user pod, and
// returns the outcome.
func scheduled(ctx context.Context, t *testing.T, cs kubernetes.Interface) userOutcome {
	t.Helper()
	var out userOutcome
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out = userOutcome{pending: map[string]string{}, perNode: map[string]int{}}
		pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		undecided := 0
		for _, p := range pods.Items {
			if p.Spec.NodeName != "" {
				if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
					out.perNode[p.Spec.NodeName]++
				}
				if p.Namespace == userNamespace {
					out.bound++
				}
				continue
			}
			if p.Namespace != userNamespace {
				continue
			}
			reason := ""
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
					reason = c.Message
				}
			}
			if reason == "" {
				undecided++
			}
			out.pending[p.Name] = reason
		}
		if undecided == 0 {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scheduler decided nothing about %d user pods within 2 minutes", undecided)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// userNodes are the nodes of the model a user pod may run on by its selector and
// tolerations.
func userNodes(m model.Model, pod *corev1.Pod) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(m.Instance.Nodes)) {
		if !selects(pod.Spec.NodeSelector, m.NodeLabels(name)) {
			continue
		}
		ok := true
		for _, taint := range m.Roles[m.Instance.Nodes[name].Role].Taints {
			ok = ok && slices.ContainsFunc(pod.Spec.Tolerations, func(tol corev1.Toleration) bool {
				return tol.ToleratesTaint(klog.Background(), &taint, false)
			})
		}
		if ok {
			out = append(out, name)
		}
	}
	return out
}

// capacityFigures is one comparison of validate and the scheduler, for the log and the
// docs.
type capacityFigures struct {
	instance                  string
	maxUsers, limit, accepted int
	nodes, mostPodsOnANode    int
}

func (f capacityFigures) String() string {
	return fmt.Sprintf("%s: maxUsers %d; validate accepts up to %d user pods, the scheduler bound %d (margin %d, allowed %d: %d nodes for user pods); at most %d of %d pods on a node",
		f.instance, f.maxUsers, f.limit, f.accepted, f.accepted-f.limit, f.nodes-1, f.nodes, f.mostPodsOnANode, MaxPodsPerNode)
}

// checkAgreement fails t unless the scheduler accepted as many user pods as validate's
// limit, within the placement margin, refused the rest for want of room, and no node
// reached the pods-per-node limit validate does not count.
func checkAgreement(t *testing.T, f capacityFigures, out userOutcome) {
	t.Helper()
	t.Log(f)
	if d := f.accepted - f.limit; d < -(f.nodes-1) || d > f.nodes-1 {
		t.Errorf("%s: validate accepts %d user pods, the scheduler %d: more apart than the %d the placement order can explain", f.instance, f.limit, f.accepted, f.nodes-1)
	}
	if f.mostPodsOnANode >= MaxPodsPerNode {
		t.Errorf("%s: a node holds %d pods, the kubelet's limit, which validate does not count: the margin does not hold", f.instance, f.mostPodsOnANode)
	}
	for _, name := range slices.Sorted(maps.Keys(out.pending)) {
		if r := out.pending[name]; !strings.Contains(r, "Insufficient cpu") && !strings.Contains(r, "Insufficient memory") {
			t.Errorf("%s: Pod/%s/%s is Pending for another reason than room: %s", f.instance, userNamespace, name, r)
		}
	}
}

// checkUserCapacity, on a twin where instance in has converged: the spawner's settings
// are the user pod's; maxUsers user pods all schedule and run, and validate accepts them;
// the namespace's quota refuses one more; with the quota lifted, the scheduler binds as
// many user pods as validate's limit, within the placement margin, and leaves the surplus
// Pending for want of room.
func checkUserCapacity(t *testing.T, tw *Twin, in validate.Instance, objs []manifest.Object) capacityFigures {
	t.Helper()
	ctx := t.Context()
	m := in.Model
	nb := m.Instance.Aspects.Notebook
	limit := validatedUserLimit(t, in)
	if nb.MaxUsers > limit {
		t.Fatalf("%s: validate accepts %d notebook users, fewer than maxUsers %d", in.Name, limit, nb.MaxUsers)
	}

	cfg := tw.Admin()
	cfg.QPS, cfg.Burst = 200, 400
	cs := kubernetes.NewForConfigOrDie(cfg)
	createUserPods(ctx, t, cs, m, 0, nb.MaxUsers)
	out := scheduled(ctx, t, cs)
	if out.bound != nb.MaxUsers {
		t.Fatalf("%s: %d of maxUsers %d user pods scheduled; Pending: %v", in.Name, out.bound, nb.MaxUsers, out.pending)
	}
	if err := WaitConverged(ctx, tw.Admin(), objs, time.Minute); err != nil {
		t.Fatalf("%s with maxUsers user pods: %v", in.Name, err)
	}
	_, err := cs.CoreV1().Pods(userNamespace).Create(ctx, notebookUserPod(t, m, nb.MaxUsers), metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "exceeded quota") {
		t.Fatalf("%s: user pod %d past maxUsers: %v, want it refused by the namespace's quota", in.Name, nb.MaxUsers+1, err)
	}

	// Past maxUsers: the quota lifted, as many user pods as validate's limit and a few
	// more than the margin.
	if err := cs.CoreV1().ResourceQuotas(userNamespace).Delete(ctx, userNamespace, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	nodes := userNodes(m, notebookUserPod(t, m, 0))
	total := limit + len(nodes) + 3
	createUserPods(ctx, t, cs, m, nb.MaxUsers, total)
	out = scheduled(ctx, t, cs)
	f := capacityFigures{instance: in.Name, maxUsers: nb.MaxUsers, limit: limit, accepted: out.bound, nodes: len(nodes)}
	for _, n := range out.perNode {
		f.mostPodsOnANode = max(f.mostPodsOnANode, n)
	}
	checkAgreement(t, f, out)
	if len(out.pending) == 0 {
		t.Errorf("%s: all %d user pods scheduled, %d past validate's limit", in.Name, total, total-limit)
	}
	return f
}

// TestUserCapacityOverloaded: a synthetic instance whose maxUsers is past what its general
// nodes hold is refused by validate (LSST-CAP-002, and nothing else), and in a twin shaped
// by it, its platform converges, maxUsers user pods are created (its quota allows them),
// and the scheduler binds as many as validate's limit, within the placement margin,
// leaving the surplus Pending for want of room.
func TestUserCapacityOverloaded(t *testing.T) {
	root := repoRoot(t)
	dst := t.TempDir()
	if err := synth.Repo(root, dst, 1); err != nil {
		t.Fatal(err)
	}
	// Larger users than synth's, so that a few dozen overload two general nodes.
	const users = 60
	src := synth.Instance(0)
	user := regexp.MustCompile(`user: \{[^}]*\}`)
	maxUsers := regexp.MustCompile(`maxUsers: \d+`)
	if !user.MatchString(src) || !maxUsers.MatchString(src) {
		t.Fatalf("synth.Instance(0) no longer writes the notebook's user and maxUsers:\n%s", src)
	}
	src = user.ReplaceAllString(src, "user: {cpuMillis: 2000, memoryGiB: 8, limitCPUMillis: 4000, limitMemoryGiB: 16}")
	src = maxUsers.ReplaceAllString(src, "maxUsers: "+strconv.Itoa(users))
	name := synth.Name(0)
	if err := os.WriteFile(filepath.Join(dst, manifest.InstancesDir, name, "instance.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := render.Instance(dst, name)
	if err != nil {
		t.Fatal(err)
	}
	in := validate.FromResult(res)
	var userPodFinding bool
	for _, f := range validate.Validate([]validate.Instance{in}) {
		switch {
		case f.Severity != validate.Error:
		case f.Rule == validate.CapPlacement && strings.Contains(f.Message, " of "+strconv.Itoa(users)+" ") && strings.HasPrefix(f.Message, "user pod "):
			userPodFinding = true
		case f.Rule == validate.CapTotal:
		default:
			t.Errorf("the overloaded instance has another error than its users: %s", f)
		}
	}
	if !userPodFinding {
		t.Fatalf("validate accepts %d notebook users of %d cpu and %d GiB on %s", users, 2, 8, name)
	}
	limit := validatedUserLimit(t, in)
	if limit >= users {
		t.Fatalf("validate's limit %d is not below maxUsers %d", limit, users)
	}

	objs := make([]manifest.Object, 0, len(res.Objects))
	for _, u := range res.Objects {
		objs = append(objs, manifest.Object{File: manifest.ObjectPath(u), Unstructured: u})
	}
	nodes, err := NodesFromModel(res.Model)
	if err != nil {
		t.Fatal(err)
	}
	tw := StartTwin(t, nodes)
	ctx := t.Context()
	rejected, err := Bootstrap(ctx, tw.Admin(), res.Model.Secrets, objs)
	if err != nil {
		t.Fatal(err)
	}
	if len(rejected) > 0 {
		t.Fatalf("bootstrap apply rejected: %v", rejected)
	}
	if err := WaitConverged(ctx, tw.Admin(), objs, convergeTimeout); err != nil {
		t.Fatal(err)
	}

	cfg := tw.Admin()
	cfg.QPS, cfg.Burst = 200, 400
	cs := kubernetes.NewForConfigOrDie(cfg)
	createUserPods(ctx, t, cs, res.Model, 0, users)
	out := scheduled(ctx, t, cs)
	f := capacityFigures{instance: name + " (overloaded)", maxUsers: users, limit: limit, accepted: out.bound, nodes: len(userNodes(res.Model, notebookUserPod(t, res.Model, 0)))}
	for _, n := range out.perNode {
		f.mostPodsOnANode = max(f.mostPodsOnANode, n)
	}
	checkAgreement(t, f, out)
	if len(out.pending) != users-out.bound || len(out.pending) == 0 {
		t.Errorf("%d user pods Pending of %d, %d bound: want the surplus Pending", len(out.pending), users, out.bound)
	}
}
