package validate

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestEligible: node selection by labels, required node affinity and taints, on nodes
// that carry the labels and taints of the model's roles.
func TestEligible(t *testing.T) {
	roles := realInstances(t)[0].Model.Roles
	const LabelRole = "lsst.org/role"
	general := &node{name: "n1", role: "general", labels: map[string]string{LabelRole: "general", corev1.LabelHostname: "n1", "rack": "7"}, taints: roles["general"].Taints}
	qserv := &node{name: "n2", role: "qserv-worker", labels: map[string]string{LabelRole: "qserv-worker", corev1.LabelHostname: "n2"}, taints: roles["qserv-worker"].Taints}
	if len(qserv.taints) == 0 || len(general.taints) != 0 {
		t.Fatalf("roles from the model: qserv-worker taints %v, general taints %v; want qserv tainted, general not", qserv.taints, general.taints)
	}
	affinity := func(reqs ...corev1.NodeSelectorRequirement) *corev1.Affinity {
		return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: reqs}}}}}
	}
	req := func(key string, op corev1.NodeSelectorOperator, vals ...string) corev1.NodeSelectorRequirement {
		return corev1.NodeSelectorRequirement{Key: key, Operator: op, Values: vals}
	}
	tolerateQserv := roles["qserv-worker"].Tolerations
	tests := []struct {
		name string
		spec corev1.PodSpec
		n    *node
		want string // "" when eligible, else the reason
	}{
		{"no constraints", corev1.PodSpec{}, general, ""},
		{"selector matches", corev1.PodSpec{NodeSelector: map[string]string{LabelRole: "general"}}, general, ""},
		{"selector differs", corev1.PodSpec{NodeSelector: map[string]string{LabelRole: "registry"}}, general, "nodeSelector lsst.org/role=registry"},
		{"In", corev1.PodSpec{Affinity: affinity(req(LabelRole, corev1.NodeSelectorOpIn, "general", "x"))}, general, ""},
		{"NotIn", corev1.PodSpec{Affinity: affinity(req(LabelRole, corev1.NodeSelectorOpNotIn, "general"))}, general, "node affinity"},
		{"Exists", corev1.PodSpec{Affinity: affinity(req("rack", corev1.NodeSelectorOpExists))}, general, ""},
		{"DoesNotExist", corev1.PodSpec{Affinity: affinity(req("rack", corev1.NodeSelectorOpDoesNotExist))}, general, "node affinity"},
		{"Gt", corev1.PodSpec{Affinity: affinity(req("rack", corev1.NodeSelectorOpGt, "5"))}, general, ""},
		{"Lt", corev1.PodSpec{Affinity: affinity(req("rack", corev1.NodeSelectorOpLt, "5"))}, general, "node affinity"},
		{"Gt not a number", corev1.PodSpec{Affinity: affinity(req("rack", corev1.NodeSelectorOpGt, "five"))}, general, "node affinity"},
		{"unknown operator", corev1.PodSpec{Affinity: affinity(req("rack", "Near", "7"))}, general, "node affinity"},
		{"empty term", corev1.PodSpec{Affinity: affinity()}, general, "node affinity"},
		{"match fields", corev1.PodSpec{Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{req("metadata.name", corev1.NodeSelectorOpIn, "n1")}}}}}}}, general, ""},
		{"taint not tolerated", corev1.PodSpec{}, qserv, "taint lsst.org/dedicated=qserv:NoSchedule"},
		{"taint tolerated", corev1.PodSpec{Tolerations: tolerateQserv}, qserv, ""},
		{"everything tolerated", corev1.PodSpec{Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}}}, qserv, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, why := eligible(&tc.spec, tc.n)
			if ok != (tc.want == "") {
				t.Errorf("eligible = %v, want %v", ok, tc.want == "")
			}
			if diff := cmp.Diff(tc.want, why); diff != "" {
				t.Errorf("reason (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNodesFromModel: allocatable is the hardware minus the reserve; labels and taints
// follow the roles of the model.
func TestNodesFromModel(t *testing.T) {
	in := realInstances(t)
	var pdac *Instance
	for i := range in {
		if in[i].Name == "pdac" {
			pdac = &in[i]
		}
	}
	nodes := instanceNodes(&pdac.Model)
	type row struct {
		Name, Role       string
		CPUMilli, MemGiB int64
		DiskGiB          int64
		Labels           map[string]string
		Taints           []corev1.Taint
	}
	var got []row
	for _, n := range nodes[:3] {
		got = append(got, row{n.name, n.role, n.cpuMilli, n.mem / gib, n.localDisk / gib, n.labels, n.taints})
	}
	// 32 cores less 2 reserved; 192 GiB less 8; 2 × 1117 GiB of disk less a 200 GiB image cache.
	dedicated := func(to string) []corev1.Taint {
		return []corev1.Taint{{Key: "lsst.org/dedicated", Value: to, Effect: corev1.TaintEffectNoSchedule}}
	}
	labels := func(n, role string) map[string]string {
		return map[string]string{"lsst.org/role": role, corev1.LabelHostname: n}
	}
	want := []row{
		{"lsst-kub001", "registry", 30000, 184, 2034, labels("lsst-kub001", "registry"), dedicated("registry")},
		{"lsst-kub002", "qserv-czar", 30000, 184, 2034, labels("lsst-kub002", "qserv-czar"), dedicated("qserv")},
		{"lsst-kub003", "qserv-worker", 30000, 184, 2034, labels("lsst-kub003", "qserv-worker"), dedicated("qserv")},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("nodes (-want +got):\n%s", diff)
	}
	if general := nodes[len(nodes)-1]; general.role != "general" || len(general.taints) != 0 {
		t.Errorf("last pdac node %s: role %s, taints %v; want an untainted general node", general.name, general.role, general.taints)
	}
}

// TestSimulateSpreadsAsTheScheduler: the platform's pods go to the node with the most left,
// as the scheduler's default scoring sends them, not packed onto the first node. Packed,
// four pods of 1 cpu would leave the first of two 4-cpu nodes no cpu and fit 5 users of
// 0.5 cpu and 3 GiB (all on the second, memory-bound); spread, each node keeps 2 cpu and
// 14 GiB and fits 4, so 8 users fit and the ninth does not.
func TestSimulateSpreadsAsTheScheduler(t *testing.T) {
	nodes := []*node{
		{name: "a", labels: map[string]string{}, cpuMilli: 4000, mem: 16 * gib},
		{name: "b", labels: map[string]string{}, cpuMilli: 4000, mem: 16 * gib},
	}
	mkPod := func(name string) *pod {
		return &pod{obj: &object{kind: "Deployment", ns: "x", name: name, id: "Deployment/x/" + name}, meta: &metav1.ObjectMeta{}, spec: &corev1.PodSpec{}}
	}
	ds := []demand{
		{p: mkPod("users"), cpu: 500, mem: 3 * gib, count: 9, path: userPodsPath},
		{p: mkPod("web"), cpu: 1000, mem: 1 * gib, count: 4},
	}
	misfits := simulate(ds, nodes)
	if len(misfits) != 1 || !misfits[0].d.userPods() || misfits[0].replica != 8 {
		t.Fatalf("misfits %+v, want the ninth user pod (index 8) only", misfits)
	}
	for _, n := range nodes {
		if len(n.placed) != 6 {
			t.Errorf("node %s holds %d pods, want 2 of web and 4 users", n.name, len(n.placed))
		}
	}
}
