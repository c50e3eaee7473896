package privilege

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/lsst-dm/lsstgen/internal/render"
	"github.com/lsst-dm/lsstgen/internal/repo"
	"github.com/lsst-dm/lsstgen/internal/testcluster"
)

// instanceWorld is the World of one instance: its break-glass group and its nodes by role,
// labelled and tainted as README's list of cluster prerequisites says (lsst.org/role=<role>;
// registry nodes tainted lsst.org/dedicated=registry:NoSchedule, qserv nodes
// lsst.org/dedicated=qserv:NoSchedule, general nodes untainted).
func instanceWorld(m render.Model) World {
	w := DefaultWorld()
	w.BreakGlassGroups = []string{m.Instance.Access.BreakGlassGroup}
	byRole := map[string][]string{}
	for name, n := range m.Instance.Nodes {
		byRole[n.Role] = append(byRole[n.Role], name)
	}
	taints := map[string]string{"registry": "registry", "qserv-czar": "qserv", "qserv-worker": "qserv"}
	for _, role := range sortedKeys(byRole) {
		nodes := byRole[role]
		sort.Strings(nodes)
		p := NodePool{Name: role, Labels: map[string]string{"lsst.org/role": role}, Nodes: nodes}
		if v, ok := taints[role]; ok {
			p.Taints = []corev1.Taint{{Key: "lsst.org/dedicated", Value: v, Effect: corev1.TaintEffectNoSchedule}}
		}
		w.NodePools = append(w.NodePools, p)
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
	raw, err := testcluster.ReadInstance(filepath.Join(root, repo.GeneratedDir, name))
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
	root, err := repo.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := testcluster.Instances(filepath.Join(root, repo.GeneratedDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		name := filepath.Base(dir)
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
			var report []string
			for _, r := range a.ClusterAdminEquivalents() {
				if r.Path[0].Edge != EdgeGrant {
					t.Errorf("path does not start with a binding: %s", r)
				}
				report = append(report, "cluster-admin: "+r.String())
			}
			for _, s := range []Subject{ServiceAccount("dashboard", "dashboard-viewer")} {
				for _, r := range a.SecretReads(s) {
					report = append(report, "read-only reads Secrets: "+r.String())
				}
			}
			for _, b := range objs.ClusterRoleBindings {
				if b.Name != "bastion-users" {
					continue
				}
				for _, s := range b.Subjects {
					for _, r := range a.SecretReads(Group(s.Name)) {
						report = append(report, "read-only reads Secrets: "+r.String())
					}
				}
			}
			admins := namespaceAdmins(objs)
			for _, g := range sortedKeys(admins) {
				beyond := a.BeyondNamespaces(Group(g), admins[g]...)
				report = append(report, summarizeBeyond(Group(g), admins[g], beyond)...)
			}
			t.Logf("%s: %d findings\n%s", name, len(report), strings.Join(report, "\n"))
		})
	}
}

// summarizeBeyond keeps, of a namespace admin's powers beyond its namespaces, the most
// far-reaching of each kind: every cluster-admin, node-root and act-as reach, and the
// first of the others.
func summarizeBeyond(g Subject, own []string, rs []Reach) []string {
	var out []string
	seen := map[PowerKind]int{}
	for _, r := range rs {
		seen[r.Power.Kind]++
		switch r.Power.Kind {
		case KindClusterAdmin, KindNodeRoot, KindActAs, KindRunPods:
		default:
			if seen[r.Power.Kind] > 1 {
				continue
			}
		}
		out = append(out, fmt.Sprintf("beyond %v: %s", own, r))
	}
	for _, k := range kindOrder {
		if n := seen[k]; n > 1 && !slices.Contains([]PowerKind{KindClusterAdmin, KindNodeRoot, KindActAs, KindRunPods}, k) {
			out = append(out, fmt.Sprintf("beyond %v: %s … and %d more %s powers", own, g, n-1, k))
		}
	}
	return out
}
