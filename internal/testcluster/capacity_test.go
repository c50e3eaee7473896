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
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
//   - Ephemeral storage. The nodes offer their local disks less the image cache; validate
//     does not count it. No pod of the platform requests it (checked), so it constrains
//     neither.

// notebookUserPod is the pod the notebook's spawner starts for user n.
//
// The spawner's settings are written by platform/notebook.cue into the hub's
// jupyterhub_config.py, from the model's notebook user values; until platform/ exports the
// user pod spec as a CUE value of its own, the pod is built here from those model values
// (requests, node selector, the tolerations of the roles it selects) and held equal to
// the spawner's settings by checkSpawnerSettings. Then it is to be read from that value.
// Its limits are left to the namespace's LimitRange, whose defaults are the model's user
// limits, as the spawner's are; its GPFS claims are left out: they are NFS volumes every
// node reaches, and do not bear on where a pod may run.
func notebookUserPod(m model.Model, image string, n int) *corev1.Pod {
	nb := m.Instance.Aspects.Notebook
	uid := int64(1000) // the spawner's default; with LDAP, the user's own uidNumber
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("jupyter-user%03d", n),
			Namespace: userNamespace,
			Labels:    map[string]string{"component": "singleuser-server"},
		},
		Spec: corev1.PodSpec{
			ServiceAccountName:           "notebook-user",
			AutomountServiceAccountToken: new(false),
			NodeSelector:                 maps.Clone(nb.User.NodeSelector),
			Tolerations:                  roleTolerations(m, nb.User.NodeSelector),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsUser: &uid, RunAsGroup: &uid, FSGroup: &uid,
				RunAsNonRoot:   new(true),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:  "notebook",
				Image: image,
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU:    *resource.NewMilliQuantity(int64(nb.User.CPUMillis), resource.DecimalSI),
					corev1.ResourceMemory: *resource.NewQuantity(int64(nb.User.MemoryGiB)<<30, resource.BinarySI),
				}},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: new(false),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
					RunAsNonRoot:             new(true),
					SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
				},
			}},
		},
	}
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

// spawnerLine is one `c.KubeSpawner.<name> = <value>` line of jupyterhub_config.py.
var spawnerLine = regexp.MustCompile(`(?m)^\s*c\.KubeSpawner\.(\w+)\s*=\s*(.+?)\s*$`)

// spawnerSettings returns the KubeSpawner settings of the hub's jupyterhub_config.py among
// objs, by name, as written.
func spawnerSettings(objs []manifest.Object) (map[string]string, error) {
	for _, o := range objs {
		if o.GetKind() != "ConfigMap" {
			continue
		}
		py, _, _ := unstructured.NestedString(o.Object, "data", "jupyterhub_config.py")
		if py == "" {
			continue
		}
		out := map[string]string{}
		for _, m := range spawnerLine.FindAllStringSubmatch(py, -1) {
			out[m[1]] = m[2]
		}
		return out, nil
	}
	return nil, fmt.Errorf("no ConfigMap holds jupyterhub_config.py")
}

// checkSpawnerSettings returns how pod differs from what the spawner's settings make: its
// namespace, service account, node selector, cpu and memory requests, and tolerations.
func checkSpawnerSettings(pod *corev1.Pod, s map[string]string) []string {
	var diffs []string
	want := func(name, got, wantValue string) {
		if got != wantValue {
			diffs = append(diffs, fmt.Sprintf("c.KubeSpawner.%s is %s, the pod has %s", name, cmpOr(s[name], "not set"), got))
		}
	}
	want("namespace", strconv.Quote(pod.Namespace), s["namespace"])
	want("service_account", strconv.Quote(pod.Spec.ServiceAccountName), s["service_account"])
	want("automount_service_account_token", "False", s["automount_service_account_token"])
	var sel []string
	for _, k := range slices.Sorted(maps.Keys(pod.Spec.NodeSelector)) {
		sel = append(sel, strconv.Quote(k)+": "+strconv.Quote(pod.Spec.NodeSelector[k]))
	}
	want("node_selector", "{"+strings.Join(sel, ", ")+"}", s["node_selector"])

	req := pod.Spec.Containers[0].Resources.Requests
	// cpu_guarantee is in cores; mem_guarantee a byte count whose K, M, G and T suffixes
	// are powers of 1024 (JupyterHub's ByteSpecification).
	if cores, err := strconv.ParseFloat(s["cpu_guarantee"], 64); err != nil || int64(cores*1000) != req.Cpu().MilliValue() {
		diffs = append(diffs, fmt.Sprintf("c.KubeSpawner.cpu_guarantee is %s, the pod requests %s cpu", cmpOr(s["cpu_guarantee"], "not set"), req.Cpu()))
	}
	if b, err := byteSpec(s["mem_guarantee"]); err != nil || b != req.Memory().Value() {
		diffs = append(diffs, fmt.Sprintf("c.KubeSpawner.mem_guarantee is %s, the pod requests %s memory", cmpOr(s["mem_guarantee"], "not set"), req.Memory()))
	}
	if _, set := s["tolerations"]; set != (len(pod.Spec.Tolerations) > 0) {
		diffs = append(diffs, fmt.Sprintf("c.KubeSpawner.tolerations is %s, the roles the pod selects need %v", cmpOr(s["tolerations"], "not set"), pod.Spec.Tolerations))
	}
	return diffs
}

func cmpOr(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

// byteSpec reads a JupyterHub byte specification: "2G" is 2 GiB.
func byteSpec(s string) (int64, error) {
	s = strings.Trim(s, `"'`)
	mult := int64(1)
	if s != "" {
		if i := strings.IndexByte("KMGT", s[len(s)-1]); i >= 0 {
			mult = int64(1) << (10 * (i + 1))
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	return int64(n * float64(mult)), nil
}

// TestSpawnerSettingsCheck: each difference between a pod and the spawner's settings is
// named, and none when they agree.
func TestSpawnerSettingsCheck(t *testing.T) {
	var m model.Model
	m.Roles = testRoles()
	m.Instance.Aspects.Notebook = &model.Notebook{MaxUsers: 3}
	m.Instance.Aspects.Notebook.User.CPUMillis = 500
	m.Instance.Aspects.Notebook.User.MemoryGiB = 2
	m.Instance.Aspects.Notebook.User.NodeSelector = map[string]string{"example.org/kind": "plain"}
	settings := func() map[string]string {
		return map[string]string{
			"namespace":                       `"notebook-users"`,
			"service_account":                 `"notebook-user"`,
			"automount_service_account_token": "False",
			"node_selector":                   `{"example.org/kind": "plain"}`,
			"cpu_guarantee":                   "0.5",
			"mem_guarantee":                   `"2G"`,
		}
	}
	pod := notebookUserPod(m, "img", 1)
	if d := checkSpawnerSettings(pod, settings()); len(d) != 0 {
		t.Fatalf("a pod equal to the settings differs: %v", d)
	}
	for _, tc := range []struct {
		name, key, value, want string
	}{
		{"cpu", "cpu_guarantee", "1", "cpu_guarantee is 1, the pod requests 500m cpu"},
		{"memory in decimal", "mem_guarantee", `"2000000000"`, `mem_guarantee is "2000000000", the pod requests 2Gi memory`},
		{"selector", "node_selector", `{"example.org/kind": "gpu"}`, `node_selector is {"example.org/kind": "gpu"}, the pod has {"example.org/kind": "plain"}`},
		{"namespace", "namespace", `"elsewhere"`, `namespace is "elsewhere"`},
		{"tolerations the roles do not need", "tolerations", `[{"key": "x"}]`, `tolerations is [{"key": "x"}], the roles the pod selects need []`},
		{"no cpu", "cpu_guarantee", "", "cpu_guarantee is not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := settings()
			if tc.value == "" {
				delete(s, tc.key)
			} else {
				s[tc.key] = tc.value
			}
			d := checkSpawnerSettings(pod, s)
			if len(d) != 1 || !strings.Contains(d[0], tc.want) {
				t.Errorf("differences %q, want one saying %q", d, tc.want)
			}
		})
	}
	// A selector of a tainted role needs its tolerations, and the spawner must set them.
	m.Instance.Aspects.Notebook.User.NodeSelector = map[string]string{"example.org/kind": "gpu"}
	gpu := notebookUserPod(m, "img", 1)
	if len(gpu.Spec.Tolerations) != 1 || !gpu.Spec.Tolerations[0].ToleratesTaint(klog.Background(), &m.Roles["gpu"].Taints[0], false) {
		t.Fatalf("a pod selecting the gpu role has tolerations %v, want its role's", gpu.Spec.Tolerations)
	}
	s := settings()
	s["node_selector"] = `{"example.org/kind": "gpu"}`
	if d := checkSpawnerSettings(gpu, s); len(d) != 1 || !strings.Contains(d[0], "tolerations is not set") {
		t.Errorf("differences %q, want one saying the spawner sets no tolerations", d)
	}
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
func createUserPods(ctx context.Context, t *testing.T, cs kubernetes.Interface, m model.Model, image string, from, to int) {
	t.Helper()
	for n := from; n < to; n++ {
		if _, err := cs.CoreV1().Pods(userNamespace).Create(ctx, notebookUserPod(m, image, n), metav1.CreateOptions{}); err != nil {
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

// noEphemeralStorage fails t if a pod template of objs requests or limits ephemeral
// storage, which validate does not count.
func noEphemeralStorage(t *testing.T, objs []manifest.Object) {
	t.Helper()
	for _, o := range objs {
		for _, path := range [][]string{{"spec", "template", "spec"}, {"spec", "jobTemplate", "spec", "template", "spec"}} {
			spec, found, _ := unstructured.NestedMap(o.Object, path...)
			if !found {
				continue
			}
			for _, key := range []string{"containers", "initContainers"} {
				cs, _, _ := unstructured.NestedSlice(spec, key)
				for _, c := range cs {
					for _, kind := range []string{"requests", "limits"} {
						if _, has, _ := unstructured.NestedFieldNoCopy(c.(map[string]any), "resources", kind, string(corev1.ResourceEphemeralStorage)); has {
							t.Errorf("%s: a container %s ephemeral-storage, which validate's capacity rules do not count: count it there, or state the margin here", o.ID(), kind)
						}
					}
				}
			}
		}
	}
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
	settings, err := spawnerSettings(objs)
	if err != nil {
		t.Fatal(err)
	}
	image, err := strconv.Unquote(settings["image"])
	if err != nil {
		t.Fatalf("c.KubeSpawner.image %q: %v", settings["image"], err)
	}
	probe := notebookUserPod(m, image, 0)
	for _, d := range checkSpawnerSettings(probe, settings) {
		t.Errorf("%s: the user pod is not the spawner's: %s", in.Name, d)
	}
	noEphemeralStorage(t, objs)
	limit := validatedUserLimit(t, in)
	if nb.MaxUsers > limit {
		t.Fatalf("%s: validate accepts %d notebook users, fewer than maxUsers %d", in.Name, limit, nb.MaxUsers)
	}

	cfg := tw.Admin()
	cfg.QPS, cfg.Burst = 200, 400
	cs := kubernetes.NewForConfigOrDie(cfg)
	createUserPods(ctx, t, cs, m, image, 0, nb.MaxUsers)
	out := scheduled(ctx, t, cs)
	if out.bound != nb.MaxUsers {
		t.Fatalf("%s: %d of maxUsers %d user pods scheduled; Pending: %v", in.Name, out.bound, nb.MaxUsers, out.pending)
	}
	if err := WaitConverged(ctx, tw.Admin(), objs, time.Minute); err != nil {
		t.Fatalf("%s with maxUsers user pods: %v", in.Name, err)
	}
	_, err = cs.CoreV1().Pods(userNamespace).Create(ctx, notebookUserPod(m, image, nb.MaxUsers), metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "exceeded quota") {
		t.Fatalf("%s: user pod %d past maxUsers: %v, want it refused by the namespace's quota", in.Name, nb.MaxUsers+1, err)
	}

	// Past maxUsers: the quota lifted, as many user pods as validate's limit and a few
	// more than the margin.
	if err := cs.CoreV1().ResourceQuotas(userNamespace).Delete(ctx, userNamespace, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	nodes := userNodes(m, probe)
	total := limit + len(nodes) + 3
	createUserPods(ctx, t, cs, m, image, nb.MaxUsers, total)
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

	settings, err := spawnerSettings(objs)
	if err != nil {
		t.Fatal(err)
	}
	image, err := strconv.Unquote(settings["image"])
	if err != nil {
		t.Fatalf("c.KubeSpawner.image %q: %v", settings["image"], err)
	}
	probe := notebookUserPod(res.Model, image, 0)
	for _, d := range checkSpawnerSettings(probe, settings) {
		t.Errorf("the user pod is not the spawner's: %s", d)
	}
	cfg := tw.Admin()
	cfg.QPS, cfg.Burst = 200, 400
	cs := kubernetes.NewForConfigOrDie(cfg)
	createUserPods(ctx, t, cs, res.Model, image, 0, users)
	out := scheduled(ctx, t, cs)
	f := capacityFigures{instance: name + " (overloaded)", maxUsers: users, limit: limit, accepted: out.bound, nodes: len(userNodes(res.Model, probe))}
	for _, n := range out.perNode {
		f.mostPodsOnANode = max(f.mostPodsOnANode, n)
	}
	checkAgreement(t, f, out)
	if len(out.pending) != users-out.bound || len(out.pending) == 0 {
		t.Errorf("%d user pods Pending of %d, %d bound: want the surplus Pending", len(out.pending), users, out.bound)
	}
}
