package privilege

import (
	"cmp"
	"slices"
	"strings"
	"sync"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Analysis holds what subjects reach in one set of objects. A subject's reach is computed
// on first use; an Analysis is safe for concurrent use.
type Analysis struct {
	ix       *index
	mu       sync.Mutex
	closures map[Subject]*closure
}

// Analyze checks objs against w and prepares the analysis. The error lists every object
// that is not what the apiserver would accept or that the analysis cannot read, each by
// Kind/namespace/name.
func Analyze(objs Objects, w World) (*Analysis, error) {
	ix, err := newIndex(objs, w)
	if err != nil {
		return nil, err
	}
	return &Analysis{ix: ix, closures: map[Subject]*closure{}}, nil
}

// Notes returns what the analysis noticed without it being an error, such as a binding to
// a role that does not exist.
func (a *Analysis) Notes() []string { return slices.Clone(a.ix.notes) }

// Subjects returns the subjects the objects and the World name: every binding subject,
// every ServiceAccount (those defined, those pods and bindings name, and each namespace's
// default) and the break-glass groups; sorted.
func (a *Analysis) Subjects() []Subject {
	seen := map[Subject]bool{}
	for _, b := range a.ix.bindings {
		for _, s := range b.subjects {
			seen[s] = true
		}
	}
	for _, ns := range a.ix.nsNames {
		for _, sa := range a.ix.serviceAccounts(ns) {
			seen[ServiceAccount(ns, sa)] = true
		}
	}
	for _, g := range a.ix.world.BreakGlassGroups {
		seen[Group(g)] = true
	}
	out := make([]Subject, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	slices.SortFunc(out, compareSubjects)
	return out
}

func compareSubjects(a, b Subject) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}

func (a *Analysis) closure(s Subject) *closure {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.closures[s]
	if !ok {
		c = a.ix.newClosure(s)
		a.closures[s] = c
	}
	return c
}

// Reach is one power a subject reaches, with the shortest path that gets it there.
type Reach struct {
	Subject Subject
	Power   Power
	Path    []Step
}

// Step is one step of a path: on the strength of Via (an object or a condition, possibly
// empty) and of the previous step's power, with the powers in With, the subject reaches
// Power by Edge.
type Step struct {
	Edge  Edge
	Via   string
	With  []Power
	Power Power
}

// String returns the path in words: "Group lsst-qserv-admins → RoleBinding
// qserv/qserv-os-admin → Role qserv/qserv-os-admin → create pods/exec in qserv → exec into
// DaemonSet qserv/qserv-data-admin (privileged containers, hostPath volumes) on a node of
// pool qserv-worker (…) → root on the nodes of pool qserv-worker".
func (r Reach) String() string {
	var b strings.Builder
	b.WriteString(r.Subject.String())
	for _, s := range r.Path {
		via := s.Via
		if len(s.With) > 0 {
			var with []string
			for _, p := range s.With {
				with = append(with, p.String())
			}
			w := "with " + strings.Join(with, ", ")
			if via == "" {
				via = w
			} else {
				via += " [" + w + "]"
			}
		}
		if via != "" {
			b.WriteString(" → " + via)
		}
		b.WriteString(" → " + s.Power.String())
	}
	return b.String()
}

func (c *closure) reach(f *fact) Reach {
	var path []Step
	for ; f != nil && f.edge != EdgeSubject; f = f.from {
		s := Step{Edge: f.edge, Via: f.via, Power: f.power}
		for _, w := range f.with {
			if w.edge != EdgeSubject {
				s.With = append(s.With, w.power)
			}
		}
		path = append(path, s)
	}
	slices.Reverse(path)
	return Reach{Subject: c.subject, Power: path[len(path)-1].Power, Path: path}
}

// Reaches returns every power s reaches, each with its shortest path: the most
// far-reaching kinds first (cluster-admin, node root, act-as, …), then shorter paths.
func (a *Analysis) Reaches(s Subject) []Reach {
	c := a.closure(s)
	var out []Reach
	for _, f := range c.order {
		if f.edge != EdgeSubject {
			out = append(out, c.reach(f))
		}
	}
	sortReaches(out)
	return out
}

// sortReaches orders reaches by kind (as kindOrder), subject, path length and the power
// in words, each reach's words written once.
func sortReaches(rs []Reach) {
	type keyed struct {
		kind  int
		words string
		r     Reach
	}
	ks := make([]keyed, len(rs))
	for i, r := range rs {
		ks[i] = keyed{slices.Index(kindOrder, r.Power.Kind), r.Power.String(), r}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), compareSubjects(a.r.Subject, b.r.Subject),
			cmp.Compare(len(a.r.Path), len(b.r.Path)), cmp.Compare(a.words, b.words))
	})
	for i := range ks {
		rs[i] = ks[i].r
	}
}

// Reach returns how s reaches p, if it does.
func (a *Analysis) Reach(s Subject, p Power) (Reach, bool) {
	c := a.closure(s)
	f, ok := c.facts[p]
	if !ok || f.edge == EdgeSubject {
		return Reach{}, false
	}
	return c.reach(f), true
}

// AllowedDirectly reports whether the bindings that name s, or a group it is in, allow r
// — the one-step verdict a SubjectAccessReview gives — and through which permission.
func (a *Analysis) AllowedDirectly(s Subject, r Request) (Reach, bool) {
	c := a.closure(s)
	for _, f := range c.order {
		if f.power.Kind == KindPermission && f.from != nil && f.from.edge == EdgeSubject && f.power.Permission.allows(r) {
			return c.reach(f), true
		}
	}
	return Reach{}, false
}

// Allowed reports whether s may, by some path, make request r: a permission it reaches
// allows it, or it reaches cluster-admin's power. The Reach says how.
func (a *Analysis) Allowed(s Subject, r Request) (Reach, bool) {
	c := a.closure(s)
	if f, ok := c.facts[ClusterAdminPower()]; ok {
		return c.reach(f), true
	}
	for _, k := range bucketKeys(r.Resource) {
		for _, f := range c.perms[k] {
			if f.power.Permission.allows(r) {
				return c.reach(f), true
			}
		}
	}
	return Reach{}, false
}

// ClusterAdminEquivalents returns, for each subject of Subjects but the World's
// break-glass groups, how it reaches cluster-admin's power (see doc.go for what counts).
func (a *Analysis) ClusterAdminEquivalents() []Reach {
	var out []Reach
	for _, s := range a.Subjects() {
		if s.Kind == rbacv1.GroupKind && slices.Contains(a.ix.world.BreakGlassGroups, s.Name) {
			continue
		}
		if r, ok := a.Reach(s, ClusterAdminPower()); ok {
			out = append(out, r)
		}
	}
	return out
}

// SecretReads returns how s reads Secrets' content: each Secret, namespace or all
// namespaces it reads, and cluster-admin's power if it reaches it. Empty when s reads none.
func (a *Analysis) SecretReads(s Subject) []Reach {
	var out []Reach
	for _, r := range a.Reaches(s) {
		if r.Power.Kind == KindReadSecrets || r.Power.Kind == KindClusterAdmin {
			out = append(out, r)
		}
	}
	return out
}

// BeyondNamespaces returns the powers s reaches outside namespaces: cluster-admin, node
// root, acting as anyone but a ServiceAccount of those namespaces, binding roles, running
// pods, reading Secrets or holding a permission in another namespace or cluster-wide —
// except reading cluster-scoped resources.
func (a *Analysis) BeyondNamespaces(s Subject, namespaces ...string) []Reach {
	own := func(ns string) bool { return ns != "" && slices.Contains(namespaces, ns) }
	var out []Reach
	for _, r := range a.Reaches(s) {
		p := r.Power
		beyond := false
		switch p.Kind {
		case KindClusterAdmin, KindNodeRoot:
			beyond = true
		case KindActAs:
			beyond = p.Subject.Kind != rbacv1.ServiceAccountKind || !own(p.Subject.Namespace)
		case KindBindsRole, KindRunPods, KindReadSecrets:
			beyond = !own(p.Namespace)
		case KindPermission:
			perm := p.Permission
			switch {
			case perm.Namespace != "":
				beyond = !own(perm.Namespace)
			default:
				read := perm.Verb == "get" || perm.Verb == "list" || perm.Verb == "watch"
				beyond = !(read && isClusterScoped(perm.Resource))
			}
		}
		if beyond {
			out = append(out, r)
		}
	}
	return out
}
