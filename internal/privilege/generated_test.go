package privilege

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/model"
	"github.com/lsst-dm/lsstgen/internal/render"
)

// instanceWorld is the World of one instance: its break-glass group and its nodes by role,
// each pool labelled and tainted as the model's roles say (schema.#Roles).
func instanceWorld(m model.Model) World {
	w := DefaultWorld()
	w.BreakGlassGroups = []string{m.Instance.Access.BreakGlassGroup}
	byRole := map[string][]string{}
	for name, n := range m.Instance.Nodes {
		byRole[n.Role] = append(byRole[n.Role], name)
	}
	for _, role := range sortedKeys(byRole) {
		nodes := byRole[role]
		sort.Strings(nodes)
		r := m.Roles[role]
		w.NodePools = append(w.NodePools, NodePool{Name: role, Labels: r.Labels, Taints: r.Taints, Nodes: nodes})
	}
	return w
}

// namespaceAdmins returns, per Group, the namespaces whose namespace-admin RoleBinding
// names it.
func namespaceAdmins(objs Objects) map[string][]string {
	out := map[string][]string{}
	for _, b := range objs.RoleBindings {
		if b.Name != "namespace-admin" {
			continue
		}
		for _, s := range b.Subjects {
			if s.Kind == rbacv1.GroupKind {
				out[s.Name] = append(out[s.Name], b.Namespace)
			}
		}
	}
	return out
}

// readInstance reads generated/<name> and analyses it in its instance's World.
func readInstance(t *testing.T, root, name string) (Objects, *Analysis, World) {
	t.Helper()
	raw, err := manifest.ReadInstance(os.DirFS(root), manifest.InstanceDir(name))
	if err != nil {
		t.Fatal(err)
	}
	var in []runtime.Object
	for _, o := range raw {
		in = append(in, o.Unstructured)
	}
	objs, err := Collect(in...)
	if err != nil {
		t.Fatal(err)
	}
	res, err := render.Instance(root, name)
	if err != nil {
		t.Fatal(err)
	}
	w := instanceWorld(res.Model)
	a, err := Analyze(objs, w)
	if err != nil {
		t.Fatal(err)
	}
	return objs, a, w
}

// TestGeneratedInstances analyses every instance of generated/ and logs what the three
// queries find (run with -v to read them). It asserts what must hold whatever the
// instance's RBAC: the break-glass group reaches cluster-admin through its binding, and
// every path it reports starts from a binding of the subject.
func TestGeneratedInstances(t *testing.T) {
	root, err := manifest.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	names, err := render.Instances(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			objs, a, w := readInstance(t, root, name)
			for _, n := range a.Notes() {
				t.Logf("note: %s", n)
			}
			bg := Group(w.BreakGlassGroups[0])
			r, ok := a.Reach(bg, ClusterAdminPower())
			if !ok || len(r.Path) != 2 || r.Path[0].Edge != EdgeGrant || r.Path[1].Edge != EdgeWildcard || !strings.Contains(r.Path[0].Via, "ClusterRoleBinding break-glass") {
				t.Errorf("%s: want cluster-admin through ClusterRoleBinding break-glass, got %v (%s)", bg, ok, r)
			}
			for _, r := range a.ClusterAdminEquivalents() {
				if r.Path[0].Edge != EdgeGrant {
					t.Errorf("path does not start with a binding: %s", r)
				}
			}
			report := instanceReport(objs, a)
			t.Logf("%s: %d findings\n%s", name, len(report), strings.Join(report, "\n"))
		})
	}
}

// instanceReport says what the three queries find in one instance, most far-reaching
// first: who reaches cluster-admin (and the sync ServiceAccount's bind path besides its
// shortest); what read-only identities read; and, per namespace admin group and
// namespace, whether it runs (privileged) pods there, which of the namespace's
// ServiceAccounts it acts as that reach beyond the namespace, and where it is root.
func instanceReport(objs Objects, a *Analysis) []string {
	var out []string
	for _, r := range a.ClusterAdminEquivalents() {
		out = append(out, "cluster-admin: "+r.String())
	}
	if r, ok := a.Reach(ServiceAccount("lsstgen-system", "lsstgen-sync"), BindsRolePower("ClusterRole", "cluster-admin", "")); ok {
		out = append(out, "also: "+r.String())
	}
	readOnly := []Subject{ServiceAccount("dashboard", "dashboard-viewer")}
	for _, b := range objs.ClusterRoleBindings {
		if b.Name == "bastion-users" {
			for _, s := range b.Subjects {
				readOnly = append(readOnly, Group(s.Name))
			}
		}
	}
	for _, s := range readOnly {
		rs := a.SecretReads(s)
		if len(rs) == 0 {
			out = append(out, fmt.Sprintf("read-only %s reads no Secret", s))
		}
		for _, r := range rs {
			out = append(out, "read-only reads Secrets: "+r.String())
		}
	}
	admins := namespaceAdmins(objs)
	for _, g := range sortedKeys(admins) {
		own := admins[g]
		sort.Strings(own)
		beyond := a.BeyondNamespaces(Group(g), own...)
		out = append(out, fmt.Sprintf("admins %s of %v: %d powers beyond their namespaces", g, own, len(beyond)))
		for _, ns := range own {
			// The pods its own grant runs there (privileged or not, as the namespace says).
			for _, priv := range []bool{true, false} {
				if r, ok := a.Reach(Group(g), RunPodsPower(ns, priv)); ok && len(r.Path) == 2 {
					out = append(out, "  "+r.String())
				}
			}
			for _, sa := range a.ix.serviceAccounts(ns) {
				far := a.BeyondNamespaces(ServiceAccount(ns, sa), ns)
				if len(far) == 0 {
					continue
				}
				if r, ok := a.Reach(Group(g), ActAsPower(ServiceAccount(ns, sa))); ok {
					out = append(out, fmt.Sprintf("  %s — which reaches %s", r, far[0].Power))
				}
			}
		}
		for _, r := range beyond {
			if r.Power.Kind == KindNodeRoot && r.Path[len(r.Path)-1].Edge == EdgeExec {
				out = append(out, "  "+r.String())
			}
		}
	}
	return out
}

// BenchmarkAnalyzePDAC measures the analysis of instance pdac: checking its objects and
// computing what every subject reaches, as the validate rule will.
func BenchmarkAnalyzePDAC(b *testing.B) {
	root, err := manifest.FindRoot(".")
	if err != nil {
		b.Fatal(err)
	}
	raw, err := manifest.ReadInstance(os.DirFS(root), manifest.InstanceDir("pdac"))
	if err != nil {
		b.Fatal(err)
	}
	var in []runtime.Object
	for _, o := range raw {
		in = append(in, o.Unstructured)
	}
	objs, err := Collect(in...)
	if err != nil {
		b.Fatal(err)
	}
	res, err := render.Instance(root, "pdac")
	if err != nil {
		b.Fatal(err)
	}
	w := instanceWorld(res.Model)
	b.ReportAllocs()
	for b.Loop() {
		a, err := Analyze(objs, w)
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range a.Subjects() {
			a.Reaches(s)
		}
	}
}
