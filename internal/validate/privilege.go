package validate

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/lsst-dm/lsstgen/internal/model"
	"github.com/lsst-dm/lsstgen/internal/privilege"
)

// readOnlyRole is the ClusterRole of the platform's read-only identities: every subject a
// binding of it names is read-only, as are the bastion groups.
const readOnlyRole = "lsst-readonly"

// InstanceWorld is the World of an instance for the privilege analysis: the cluster's
// built-in roles and namespaces, the instance's break-glass group, and its nodes by role,
// each pool labelled and tainted as the model's roles say (schema.#Roles).
func InstanceWorld(m model.Model) privilege.World {
	w := privilege.DefaultWorld()
	if m.Instance.Access.BreakGlassGroup != "" {
		w.BreakGlassGroups = []string{m.Instance.Access.BreakGlassGroup}
	}
	byRole := map[string][]string{}
	for name, n := range m.Instance.Nodes {
		byRole[n.Role] = append(byRole[n.Role], name)
	}
	roles := make([]string, 0, len(byRole))
	for r := range byRole {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	for _, role := range roles {
		nodes := byRole[role]
		sort.Strings(nodes)
		r := m.Roles[role]
		w.NodePools = append(w.NodePools, privilege.NodePool{Name: role, Labels: r.Labels, Taints: r.Taints, Nodes: nodes})
	}
	return w
}

// checkPrivilege runs LSST-PRIV-001…003 on what the instance's RBAC and pod templates let
// each subject reach (internal/privilege). Objects that do not decode are the schema
// rules' findings; the analysis is then skipped rather than reported twice.
func checkPrivilege(c *checker) {
	objs, err := c.privilegeObjects()
	if err != nil {
		return
	}
	a, err := privilege.Analyze(objs, InstanceWorld(c.in.Model))
	if err != nil {
		return
	}
	for _, r := range a.ClusterAdminEquivalents() {
		c.report(PrivClusterAdmin, c.firstBinding(r), "",
			"%s reaches cluster-admin's power, which only the break-glass group %q may hold: %s; remove the grant that starts this path or narrow the role it binds (no escalate, no bind of cluster-admin, no pods or exec in a namespace whose ServiceAccounts or pods reach further)",
			r.Subject, c.in.Model.Instance.Access.BreakGlassGroup, r)
	}
	for _, s := range readOnlySubjects(c.in.Model, objs) {
		c.reportEach(PrivReadOnlySecrets, "", a.SecretReads(s), func(r privilege.Reach, more int) string {
			return fmt.Sprintf("read-only %s reads Secrets: %s%s; bind it to %s alone and leave Secrets to the components' own ServiceAccounts",
				s, r, andMore(more), readOnlyRole)
		})
	}
	admins := namespaceAdminGroups(objs)
	groups := make([]string, 0, len(admins))
	for g := range admins {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	osAdmins, qservPools := qservOSAdmins(c.in.Model)
	for _, g := range groups {
		own := admins[g]
		// Every path counts, whatever grant it starts at. qserv's OS admins are root on the
		// qserv nodes by the model's declaration (the planning notes' OS-level access), and
		// qserv-os-admin is theirs: that root is not beyond them, but what it reaches on
		// those nodes is, unless it is of their namespaces.
		if _, ok := a.Reach(privilege.Group(g), privilege.ClusterAdminPower()); ok {
			continue // LSST-PRIV-001 reports it, and cluster-admin reaches everything
		}
		declared := slices.Contains(osAdmins, g)
		if declared {
			own = append(slices.Clone(own), "qserv-os-admin")
		}
		var fromAdmin []privilege.Reach
		for _, r := range a.BeyondNamespaces(privilege.Group(g), own...) {
			if declared && r.Power.Kind == privilege.KindNodeRoot && slices.Contains(qservPools, r.Power.Name) {
				continue
			}
			fromAdmin = append(fromAdmin, r)
		}
		c.reportEach(PrivBeyondNamespace, "", fromAdmin, func(r privilege.Reach, more int) string {
			return fmt.Sprintf("Group %s, admin of %s, reaches %s beyond its namespaces: %s%s; give it a role without pods/exec or pod creation where the namespace's ServiceAccounts or pods reach further, or narrow those",
				g, strings.Join(own, ", "), r.Power, r, andMore(more))
		})
	}
}

// privilegeObjects are the instance's objects as the privilege analysis reads them,
// collected on first use. An error means some object does not decode: the schema rules
// report it, and the analyses are skipped rather than reporting it twice.
func (c *checker) privilegeObjects() (privilege.Objects, error) {
	if c.privObjs == nil && c.privErr == nil {
		in := make([]runtime.Object, 0, len(c.idx.all))
		for _, o := range c.idx.all {
			in = append(in, o.u)
		}
		objs, err := privilege.Collect(in...)
		c.privObjs, c.privErr = &objs, err
	}
	return *c.privObjs, c.privErr
}

// reportEach reports, for each binding the reaches start from, the most far-reaching
// one (reaches come sorted so), saying how many more start there.
func (c *checker) reportEach(rule, path string, rs []privilege.Reach, msg func(r privilege.Reach, more int) string) {
	type group struct {
		first privilege.Reach
		obj   *object
		n     int
	}
	var order []string
	byStart := map[string]*group{}
	for _, r := range rs {
		start := ""
		if len(r.Path) > 0 {
			start = r.Path[0].Via
		}
		g, ok := byStart[start]
		if !ok {
			g = &group{first: r, obj: c.firstBinding(r)}
			byStart[start] = g
			order = append(order, start)
		}
		g.n++
	}
	for _, start := range order {
		g := byStart[start]
		c.report(rule, g.obj, path, "%s", msg(g.first, g.n-1))
	}
}

func andMore(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (and %d more powers by the same grant)", n)
}

// firstBinding is the binding a path starts from, when it is one of the instance's
// objects.
func (c *checker) firstBinding(r privilege.Reach) *object {
	if len(r.Path) == 0 {
		return nil
	}
	via, _, _ := strings.Cut(r.Path[0].Via, " → ")
	via, _, _ = strings.Cut(via, " (")
	kind, name, ok := strings.Cut(via, " ")
	if !ok {
		return nil
	}
	ns := ""
	if kind == "RoleBinding" {
		ns, name, _ = strings.Cut(name, "/")
	}
	return c.idx.byKey[key{kind, ns, name}]
}

// readOnlySubjects are the bastion groups and every subject bound to lsst-readonly.
func readOnlySubjects(m model.Model, objs privilege.Objects) []privilege.Subject {
	var out []privilege.Subject
	add := func(s privilege.Subject) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, g := range m.Instance.Access.BastionGroups {
		add(privilege.Group(g))
	}
	subjects := func(ss []rbacv1.Subject, ns string) {
		for _, s := range ss {
			switch s.Kind {
			case rbacv1.GroupKind:
				add(privilege.Group(s.Name))
			case rbacv1.UserKind:
				add(privilege.User(s.Name))
			case rbacv1.ServiceAccountKind:
				n := s.Namespace
				if n == "" {
					n = ns
				}
				add(privilege.ServiceAccount(n, s.Name))
			}
		}
	}
	for _, b := range objs.ClusterRoleBindings {
		if b.RoleRef.Kind == "ClusterRole" && b.RoleRef.Name == readOnlyRole {
			subjects(b.Subjects, "")
		}
	}
	for _, b := range objs.RoleBindings {
		if b.RoleRef.Kind == "ClusterRole" && b.RoleRef.Name == readOnlyRole {
			subjects(b.Subjects, b.Namespace)
		}
	}
	return out
}

// namespaceAdminGroups maps each group a namespace-admin RoleBinding names to the
// namespaces it is admin of, sorted.
func namespaceAdminGroups(objs privilege.Objects) map[string][]string {
	out := map[string][]string{}
	for _, b := range objs.RoleBindings {
		if b.Name != "namespace-admin" {
			continue
		}
		for _, s := range b.Subjects {
			if s.Kind == rbacv1.GroupKind && !slices.Contains(out[s.Name], b.Namespace) {
				out[s.Name] = append(out[s.Name], b.Namespace)
			}
		}
	}
	for g := range out {
		sort.Strings(out[g])
	}
	return out
}

// qservOSAdmins are the groups the model makes qserv's OS admins, and the node pools
// (roles) their root is declared on.
func qservOSAdmins(m model.Model) (groups, pools []string) {
	if api := m.Instance.Aspects.API; api != nil {
		groups = api.Qserv.OSAdmins
	}
	return groups, m.RolesDedicatedTo("qserv")
}
