package privilege

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	psapi "k8s.io/pod-security-admission/api"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/testcluster"
)

// fixtureWorld is the World of testdata/fixture: a general node and a storage node
// tainted for the privileged DaemonSet that runs there.
func fixtureWorld() World {
	w := DefaultWorld()
	w.BreakGlassGroups = []string{"fx-break-glass"}
	w.NodePools = []NodePool{
		{Name: "general", Labels: map[string]string{"fx.example.org/role": "general"}, Nodes: []string{"fx-node-2"}},
		{Name: "storage", Labels: map[string]string{"fx.example.org/role": "storage"}, Nodes: []string{"fx-node-1"},
			Taints: []corev1.Taint{{Key: "fx.example.org/dedicated", Value: "storage", Effect: corev1.TaintEffectNoSchedule}}},
	}
	return w
}

// readObjects reads an instance folder into Objects, and keeps the raw objects to apply.
func readObjects(t *testing.T, dir string) (Objects, []manifest.Object) {
	t.Helper()
	raw, err := manifest.ReadInstance(os.DirFS(dir), ".")
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
	return objs, raw
}

// TestClusterFixture checks the analysis of the fixture world against a real apiserver:
// its one-step verdicts against SubjectAccessReviews, its multi-step claims by taking
// their first steps, and what the three queries say of it.
func TestClusterFixture(t *testing.T) {
	objs, raw := readObjects(t, filepath.Join("testdata", "fixture"))
	a, err := Analyze(objs, fixtureWorld())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("queries", func(t *testing.T) { checkFixtureQueries(t, a) })
	c := cluster.Get(t)
	applyWorld(t, c, raw, a)
	t.Run("access-reviews", func(t *testing.T) { checkAccessReviews(t, c, a, objs) })
	t.Run("first-steps", func(t *testing.T) {
		taken := checkFirstSteps(t, c, a)
		for _, e := range []Edge{EdgeRunPods, EdgePodServiceAccount, EdgePrivilegedPod, EdgeNamespaceLabel, EdgeBind, EdgeEscalate, EdgeTokenRequest, EdgeImpersonate, EdgeReadSecrets, EdgeTokenSecret} {
			if taken[e] == 0 {
				t.Errorf("no %s step taken; the fixture has one", e)
			}
		}
	})
}

// TestClusterGenerated does the same for the rendered instance pdac.
func TestClusterGenerated(t *testing.T) {
	root, err := manifest.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	objs, a, _ := readInstance(t, root, "pdac")
	_, raw := readObjects(t, filepath.Join(root, manifest.GeneratedDir, "pdac"))
	var applied []manifest.Object
	for _, o := range raw {
		// Admission webhooks and APIServices would send later requests to services that
		// do not run here.
		if testcluster.Stage(o.GetKind()) < 3 {
			applied = append(applied, o)
		}
	}
	c := cluster.Get(t)
	applyWorld(t, c, applied, a)
	t.Run("access-reviews", func(t *testing.T) { checkAccessReviews(t, c, a, objs) })
	t.Run("first-steps", func(t *testing.T) { checkFirstSteps(t, c, a) })
	t.Run("rule-verdicts", func(t *testing.T) { checkRuleVerdicts(t, c, a) })
}

// checkRuleVerdicts asks the apiserver the questions the LSST-PRIV rules' verdicts on pdac
// rest on, and the analysis the same: the break-glass group may do anything (flagged for
// no one else); the sync ServiceAccount may neither escalate nor bind cluster-admin, nor
// write RBAC, Namespaces, PersistentVolumes or workloads of privileged namespaces; the
// read-only identities read no Secret; the platform namespaces' admins run no pods and
// exec into none there. Both must agree with the wanted answer.
func checkRuleVerdicts(t *testing.T, c *testcluster.Cluster, a *Analysis) {
	rbac := rbacv1.GroupName
	syncSA := ServiceAccount("lsstgen-system", "lsstgen-sync")
	admins := Group("lsst-pdac-admins")
	cases := []struct {
		s    Subject
		r    Request
		want bool
	}{
		{Group("lsst-k8s-break-glass"), Request{Verb: "escalate", APIGroup: rbac, Resource: "clusterroles"}, true},
		{Group("lsst-k8s-break-glass"), Request{Namespace: "logging", Verb: "create", APIGroup: "apps", Resource: "daemonsets"}, true},
		{syncSA, Request{Verb: "escalate", APIGroup: rbac, Resource: "clusterroles", Name: "lsstgen-sync"}, false},
		{syncSA, Request{Verb: "bind", APIGroup: rbac, Resource: "clusterroles", Name: "cluster-admin"}, false},
		{syncSA, Request{Verb: "create", APIGroup: rbac, Resource: "clusterrolebindings"}, false},
		{syncSA, Request{Namespace: "api", Verb: "create", APIGroup: rbac, Resource: "rolebindings"}, false},
		{syncSA, Request{Verb: "update", Resource: "namespaces", Name: "api"}, false},
		{syncSA, Request{Verb: "create", Resource: "persistentvolumes"}, false},
		{syncSA, Request{Namespace: "logging", Verb: "create", APIGroup: "apps", Resource: "daemonsets"}, false},
		{syncSA, Request{Namespace: "qserv-os-admin", Verb: "patch", APIGroup: "apps", Resource: "daemonsets"}, false},
		{syncSA, Request{Namespace: "api", Verb: "patch", APIGroup: "apps", Resource: "deployments"}, true},
		{syncSA, Request{Namespace: "logging", Verb: "patch", Resource: "configmaps"}, true},
		{syncSA, Request{Verb: "get", APIGroup: rbac, Resource: "clusterroles", Name: "lsstgen-sync"}, true},
		{ServiceAccount("dashboard", "dashboard-viewer"), Request{Namespace: "dashboard", Verb: "get", Resource: "secrets", Name: "kubernetes-dashboard-csrf"}, false},
		{ServiceAccount("dashboard", "dashboard"), Request{Namespace: "dashboard", Verb: "get", Resource: "secrets", Name: "kubernetes-dashboard-csrf"}, true},
		{Group("lsst-bastion-users"), Request{Namespace: "api", Verb: "get", Resource: "secrets"}, false},
		{Group("lsst-bastion-users"), Request{Namespace: "api", Verb: "list", Resource: "pods"}, true},
		{admins, Request{Namespace: "api", Verb: "create", Resource: "pods"}, true},
		{Group("lsst-qserv-admins"), Request{Namespace: "qserv-os-admin", Verb: "create", Resource: "pods/exec"}, true},
		{Group("lsst-qserv-admins"), Request{Namespace: "qserv-os-admin", Verb: "create", Resource: "pods"}, false},
		{Group("lsst-qserv-admins"), Request{Namespace: "qserv", Verb: "create", Resource: "pods"}, true},
	}
	for _, ns := range []string{"lsstgen-system", "ingress", "logging", "dashboard"} {
		for _, res := range []string{"pods", "pods/exec"} {
			cases = append(cases, struct {
				s    Subject
				r    Request
				want bool
			}{admins, Request{Namespace: ns, Verb: "create", Resource: res}, false})
		}
		cases = append(cases, struct {
			s    Subject
			r    Request
			want bool
		}{admins, Request{Namespace: ns, Verb: "delete", Resource: "pods"}, true})
	}
	cs := kubernetes.NewForConfigOrDie(c.Admin())
	for _, k := range cases {
		got, err := review(t.Context(), cs, k.s, k.r)
		if err != nil {
			t.Fatalf("%s %+v: %v", k.s, k.r, err)
		}
		_, analysed := a.Allowed(k.s, k.r)
		if got != k.want || analysed != k.want {
			t.Errorf("%s %+v: want %v, the apiserver says %v, the analysis %v", k.s, k.r, k.want, got, analysed)
		}
	}
	// The rules' verdicts: only the break-glass group reaches cluster-admin; the sync
	// ServiceAccount reaches no power beyond what it is bound to write.
	for _, r := range a.ClusterAdminEquivalents() {
		t.Errorf("reaches cluster-admin: %s", r)
	}
	for _, s := range []Subject{ServiceAccount("dashboard", "dashboard-viewer"), Group("lsst-bastion-users")} {
		for _, r := range a.SecretReads(s) {
			t.Errorf("read-only reads Secrets: %s", r)
		}
	}
}

// checkFixtureQueries holds the fixture's meaning: who reaches what.
func checkFixtureQueries(t *testing.T, a *Analysis) {
	var admins []string
	for _, r := range a.ClusterAdminEquivalents() {
		admins = append(admins, r.Subject.String())
	}
	// Not fx-break-glass; not the node operators, root on the storage node only; not
	// fx-app's admins, who read every Secret through the deployer but hold no token of
	// a more powerful account.
	want := []string{"Group fx-app-owners", "Group fx-ops-admins", "ServiceAccount fx-ops/binder", "ServiceAccount fx-ops/escalator"}
	if !slices.Equal(want, admins) {
		t.Errorf("cluster-admin equivalents = %v, want %v", admins, want)
	}
	for _, s := range []Subject{Group("fx-viewers"), Group("fx-monitors"), Group("fx-node-ops")} {
		if rs := a.SecretReads(s); len(rs) > 0 {
			t.Errorf("%s reads Secrets: %s", s, rs[0])
		}
	}
	var dash []string
	for _, r := range a.SecretReads(ServiceAccount("fx-dash", "dashboard")) {
		dash = append(dash, r.Power.String())
	}
	if want := []string{"reads Secret certs in fx-dash", "reads Secret csrf in fx-dash"}; !slices.Equal(want, dash) {
		t.Errorf("the dashboard's Secret reads = %v, want %v", dash, want)
	}
	if rs := a.BeyondNamespaces(Group("fx-dash-admins"), "fx-dash"); len(rs) > 0 {
		t.Errorf("fx-dash's admins (built-in admin) reach beyond fx-dash: %s", rs[0])
	}
	// fx-app's admins run as fx-app's deployer (their own namespace's), which reads every
	// Secret: that is beyond fx-app.
	rs := a.BeyondNamespaces(Group("fx-app-admins"), "fx-app")
	if len(rs) == 0 || rs[0].Power != ReadSecretsPower("", "") || !slices.ContainsFunc(rs[0].Path, func(s Step) bool {
		return s.Edge == EdgeExec && s.Power == ActAsPower(ServiceAccount("fx-app", "deployer"))
	}) {
		t.Errorf("fx-app's admins: want every Secret through the deployer first, got %v", rs)
	}
	if r, ok := a.Reach(Group("fx-node-ops"), NodeRootPower("storage")); !ok || edges(r)[1] != EdgeNodeProxy {
		t.Errorf("fx-node-ops: want root on the storage pool through nodes/proxy, got %v %s", ok, r)
	}
	if _, ok := a.Reach(Group("fx-node-ops"), NodeRootPower("general")); ok {
		t.Errorf("fx-node-ops reaches the general nodes")
	}
	if r, ok := a.Reach(Group("fx-ops-admins"), NodeRootPower("storage")); !ok || edges(r)[1] != EdgeExec {
		t.Errorf("fx-ops's admins: want root on the storage pool by exec into the agent, got %v %s", ok, r)
	}
}

// applyWorld applies the objects for real, fills the aggregated ClusterRoles and creates
// the default ServiceAccounts, as kube-controller-manager would.
func applyWorld(t *testing.T, c *testcluster.Cluster, objs []manifest.Object, a *Analysis) {
	t.Helper()
	ctx := t.Context()
	opts := testcluster.ApplyOptions{FieldManager: "lsstgen", FailOnWarning: func(w string) bool { return strings.Contains(w, "would violate PodSecurity") }}
	rejected, err := testcluster.Apply(ctx, c.Admin(), objs, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rejected {
		t.Errorf("rejected: %s", r)
	}
	if t.Failed() {
		t.FailNow()
	}
	// One pass fills each aggregated role from the others as they stood before it; admin
	// aggregates edit, which aggregates view: three passes reach the fixpoint the
	// controller reaches.
	for range 3 {
		if err := testcluster.AggregateClusterRoles(ctx, c.Admin()); err != nil {
			t.Fatal(err)
		}
	}
	admin := kubernetes.NewForConfigOrDie(c.Admin())
	for _, ns := range a.ix.nsNames {
		for _, sa := range a.ix.serviceAccounts(ns) {
			_, err := admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa, Namespace: ns}}, metav1.CreateOptions{})
			if err != nil && !apierrors.IsAlreadyExists(err) && !apierrors.IsNotFound(err) {
				t.Fatalf("ServiceAccount %s/%s: %v", ns, sa, err)
			}
		}
	}
}

// probes are the questions asked of every subject, in every namespace or cluster-wide:
// the permissions every edge starts from.
func probes(a *Analysis, objs Objects) []Request {
	rbac := rbacv1.GroupName
	var out []Request
	var clusterRoles []string
	for _, r := range sortedKeys(a.ix.clusterRoles) {
		clusterRoles = append(clusterRoles, r)
	}
	for _, ns := range a.ix.nsNames {
		for _, k := range workloadKinds {
			out = append(out, Request{ns, "create", k.group, k.resource, ""}, Request{ns, "patch", k.group, k.resource, ""})
		}
		out = append(out,
			Request{ns, "create", "", "pods/exec", ""}, Request{ns, "get", "", "pods/exec", ""},
			Request{ns, "create", "", "pods/attach", ""}, Request{ns, "patch", "", "pods/ephemeralcontainers", ""},
			Request{ns, "get", "", "secrets", ""}, Request{ns, "list", "", "secrets", ""}, Request{ns, "watch", "", "secrets", ""},
			Request{ns, "create", "", "secrets", ""}, Request{ns, "create", "", "persistentvolumeclaims", ""},
			Request{ns, "get", "", "configmaps", ""}, Request{ns, "list", "", "pods", ""},
			Request{ns, "patch", "", "namespaces", ns}, Request{ns, "update", "", "namespaces", ns},
			Request{ns, "create", rbac, "rolebindings", ""}, Request{ns, "create", rbac, "roles", ""},
			Request{ns, "impersonate", "", "serviceaccounts", ""},
		)
		for _, sa := range a.ix.serviceAccounts(ns) {
			out = append(out, Request{ns, "create", "", "serviceaccounts/token", sa}, Request{ns, "impersonate", "", "serviceaccounts", sa})
		}
		for _, s := range objs.Secrets {
			if s.Namespace == ns {
				out = append(out, Request{ns, "get", "", "secrets", s.Name})
			}
		}
		for _, r := range objs.Roles {
			if r.Namespace == ns {
				out = append(out, Request{ns, "bind", rbac, "roles", r.Name}, Request{ns, "escalate", rbac, "roles", r.Name}, Request{ns, "update", rbac, "roles", r.Name})
			}
		}
		for _, r := range []string{"cluster-admin", "admin"} {
			out = append(out, Request{ns, "bind", rbac, "clusterroles", r})
		}
	}
	out = append(out,
		Request{"", "*", "*", "*", ""}, Request{"", "get", "", "secrets", ""}, Request{"", "list", "", "secrets", ""},
		Request{"", "create", "", "pods", ""}, Request{"", "create", "apps", "daemonsets", ""},
		Request{"", "create", rbac, "clusterrolebindings", ""}, Request{"", "create", rbac, "clusterroles", ""}, Request{"", "escalate", rbac, "clusterroles", ""},
		Request{"", "impersonate", "", "users", ""}, Request{"", "impersonate", "", "users", "system:admin"},
		Request{"", "impersonate", "", "groups", ""}, Request{"", "impersonate", "", "groups", "system:masters"},
		Request{"", "get", "", "nodes/proxy", ""}, Request{"", "create", "", "nodes/proxy", ""},
		Request{"", "get", "", "nodes/proxy", "fx-node-1"}, Request{"", "get", "", "nodes/proxy", "fx-node-2"},
		Request{"", "patch", "", "nodes", ""}, Request{"", "list", "", "nodes", ""}, Request{"", "get", "", "namespaces", ""},
		Request{"", "create", "", "persistentvolumes", ""},
		Request{"", "create", "admissionregistration.k8s.io", "mutatingwebhookconfigurations", ""},
		Request{"", "create", "admissionregistration.k8s.io", "validatingwebhookconfigurations", ""},
		Request{"", "create", "certificates.k8s.io", "certificatesigningrequests", ""},
		Request{"", "update", "certificates.k8s.io", "certificatesigningrequests/approval", ""},
		Request{"", "approve", "certificates.k8s.io", "signers", "kubernetes.io/kube-apiserver-client"},
	)
	for _, r := range clusterRoles {
		out = append(out, Request{"", "bind", rbac, "clusterroles", r}, Request{"", "escalate", rbac, "clusterroles", r}, Request{"", "update", rbac, "clusterroles", r})
	}
	return out
}

// review asks the apiserver whether s may make request r.
func review(ctx context.Context, cs kubernetes.Interface, s Subject, r Request) (bool, error) {
	user, groups := s.UserInfo()
	res, sub, _ := strings.Cut(r.Resource, "/")
	sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User: user, Groups: groups,
		ResourceAttributes: &authzv1.ResourceAttributes{Namespace: r.Namespace, Verb: r.Verb, Group: r.APIGroup, Resource: res, Subresource: sub, Name: r.Name},
	}}
	got, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return got.Status.Allowed, nil
}

// checkAccessReviews compares, for every subject, the analysis's one-step verdict with a
// SubjectAccessReview: on every probe (what it clears and what it flags) and on every
// permission it says the subject's bindings grant.
func checkAccessReviews(t *testing.T, c *testcluster.Cluster, a *Analysis, objs Objects) {
	type question struct {
		s    Subject
		r    Request
		want bool
		why  string
	}
	var qs []question
	ps := probes(a, objs)
	for _, s := range a.Subjects() {
		for _, r := range ps {
			reach, ok := a.AllowedDirectly(s, r)
			qs = append(qs, question{s, r, ok, reach.String()})
		}
		for _, reach := range a.Reaches(s) {
			if len(reach.Path) == 1 && reach.Power.Kind == KindPermission {
				p := reach.Power.Permission
				qs = append(qs, question{s, Request{p.Namespace, p.Verb, p.APIGroup, p.Resource, p.ResourceName}, true, reach.String()})
			}
		}
	}
	cs := kubernetes.NewForConfigOrDie(c.Admin())
	got := make([]bool, len(qs))
	errs := make([]error, len(qs))
	var wg sync.WaitGroup
	work := make(chan int)
	for range 4 {
		wg.Go(func() {
			for i := range work {
				got[i], errs[i] = review(t.Context(), cs, qs[i].s, qs[i].r)
			}
		})
	}
	for i := range qs {
		work <- i
	}
	close(work)
	wg.Wait()
	flagged, cleared, wrong := 0, 0, 0
	for i, q := range qs {
		if errs[i] != nil {
			t.Fatalf("%s: %+v: %v", q.s, q.r, errs[i])
		}
		if got[i] != q.want {
			wrong++
			if wrong <= 20 {
				t.Errorf("%s: %+v: the apiserver says %v, the analysis %v (%s)", q.s, q.r, got[i], q.want, q.why)
			}
			continue
		}
		if q.want {
			flagged++
		} else {
			cleared++
		}
	}
	t.Logf("%d access reviews: %d allowed and %d denied as the analysis says, %d differ", len(qs), flagged, cleared, wrong)
	if flagged == 0 || cleared == 0 {
		t.Errorf("the reviews exercised only one side: %d allowed, %d denied", flagged, cleared)
	}
}

// checkFirstSteps takes, as each subject, the steps its paths begin with that can be
// taken on an apiserver without nodes: running a pod (privileged where the analysis says
// so, refused privileged where it does not), running it as a ServiceAccount, relabelling
// a namespace, writing a binding or a role, requesting a token and using it, reading
// Secrets, creating a token Secret or a hostPath PersistentVolume. Writes are dry runs,
// but a namespace relabelling, which is undone.
func checkFirstSteps(t *testing.T, c *testcluster.Cluster, a *Analysis) map[Edge]int {
	done := map[string]bool{}
	taken := map[Edge]int{}
	for _, s := range a.Subjects() {
		for _, r := range a.Reaches(s) {
			if r.Path[0].Edge != EdgeGrant {
				continue
			}
			st := &stepper{t: t, c: c, a: a, s: s}
			for i := 1; i < len(r.Path); i++ {
				step := r.Path[i]
				key := fmt.Sprintf("%s|%d|%s|%v", s, i, step.Edge, step.Power)
				if step.Edge == EdgeGrant {
					break // the grants of an identity acted as: its own access reviews
				}
				if done[key] {
					if !st.replay(r.Path[i-1], step) {
						break
					}
					continue
				}
				if !st.direct(step.With) {
					break // the step needs powers that are not the subject's own grants
				}
				took, stop := st.take(r.Path[i-1], step)
				if !took {
					break
				}
				done[key] = true
				taken[step.Edge]++
				if stop {
					break
				}
			}
		}
	}
	t.Logf("first steps taken, by edge: %v", taken)
	if len(taken) == 0 {
		t.Errorf("no step taken: the analysis claims nothing that could be checked")
	}
	return taken
}

// stepper takes the steps of one path as its subject.
type stepper struct {
	t    *testing.T
	c    *testcluster.Cluster
	a    *Analysis
	s    Subject
	kind string // the workload kind the path runs its pods with
}

// direct reports whether every power in with is granted to the subject by its bindings.
func (st *stepper) direct(with []Power) bool {
	for _, p := range with {
		if r, ok := st.a.Reach(st.s, p); !ok || len(r.Path) != 1 {
			return false
		}
	}
	return true
}

func (st *stepper) config() *rest.Config {
	user, groups := st.s.UserInfo()
	return st.c.As(user, groups...)
}

// replay updates the stepper's state for a step taken before, and says whether to go on.
func (st *stepper) replay(prev, step Step) bool {
	if step.Edge == EdgeRunPods {
		st.kind = workloadKindFor(prev.Power)
	}
	return step.Edge == EdgeRunPods
}

func workloadKindFor(p Power) string {
	if p.Kind == KindPermission && (p.Permission.Verb == "create" || p.Permission.Verb == rbacv1.VerbAll) {
		for _, k := range workloadKinds {
			if k.resource == p.Permission.Resource {
				return k.kind
			}
		}
	}
	if p.Kind == KindPermission && p.Permission.Resource == rbacv1.ResourceAll {
		return "Pod"
	}
	return ""
}

// take takes one step after prev. It reports whether it took it, and whether the path
// goes on beyond what can be taken here.
func (st *stepper) take(prev, step Step) (took, stop bool) {
	t := st.t
	ctx := t.Context()
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	warnings := &warningRecorder{}
	cfg := st.config()
	cfg.WarningHandlerWithContext = warnings
	cs := kubernetes.NewForConfigOrDie(cfg)
	fail := func(format string, args ...any) {
		t.Errorf("%s, %s → %s: %s", st.s, step.Via, step.Power, fmt.Sprintf(format, args...))
	}
	switch step.Edge {
	case EdgeRunPods:
		st.kind = workloadKindFor(prev.Power)
		if st.kind == "" {
			t.Logf("%s: %s: not by create, not taken here", st.s, step.Power)
			return false, true
		}
		ns := step.Power.Namespace
		if err := createWorkload(ctx, cs, st.kind, ns, "default", false, dry); err != nil {
			fail("creating a %s: %v", st.kind, err)
			return true, true
		}
		// Privileged where the analysis says so, refused (or warned of) where not.
		passes, err := st.privilegedPasses(warnings, cs, st.kind, ns)
		if err != nil {
			fail("creating a privileged %s: %v", st.kind, err)
		} else if passes != step.Power.Privileged {
			fail("a privileged %s passes Pod Security: %v; the analysis says %v", st.kind, passes, step.Power.Privileged)
		}
		return true, false
	case EdgePodServiceAccount:
		if st.kind == "" {
			return false, true
		}
		sa := step.Power.Subject
		if err := createWorkload(ctx, cs, st.kind, sa.Namespace, sa.Name, false, dry); err != nil {
			fail("creating a %s as ServiceAccount %s: %v", st.kind, sa.Name, err)
		}
		return true, true
	case EdgePrivilegedPod:
		if st.kind == "" {
			return false, true
		}
		ns := step.Power.Namespace
		if prev.Power.Kind == KindRunPods {
			ns = prev.Power.Namespace
		}
		if passes, err := st.privilegedPasses(warnings, cs, st.kind, ns); !passes || err != nil {
			fail("creating a privileged %s in %s: passes %v, %v", st.kind, ns, passes, err)
		}
		return true, true
	case EdgeNamespaceLabel:
		// Relabel for real (enforce and warn, so that a warning can only mean the label is
		// not seen yet), take the step, restore the labels.
		ns := prev.Power.Namespace
		admin := kubernetes.NewForConfigOrDie(st.c.Admin())
		old, err := admin.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		labels := func(enforce, warn string) []byte {
			value := func(v string) string {
				if v == "" {
					return "null"
				}
				return strconv.Quote(v)
			}
			return fmt.Appendf(nil, `{"metadata":{"labels":{%q:%s,%q:%s}}}`, psapi.EnforceLevelLabel, value(enforce), psapi.WarnLevelLabel, value(warn))
		}
		if _, err := cs.CoreV1().Namespaces().Patch(ctx, ns, types.MergePatchType, labels("privileged", "privileged"), metav1.PatchOptions{}); err != nil {
			fail("relabelling namespace %s: %v", ns, err)
			return true, true
		}
		kind := st.kind
		if kind == "" {
			kind = "Pod"
		}
		// Pod Security reads namespaces through an informer: the new label takes a moment.
		err = eventually(ctx, func() error {
			passes, err := st.privilegedPasses(warnings, cs, kind, ns)
			if err == nil && !passes {
				err = errors.New("refused or warned of by Pod Security")
			}
			return err
		})
		if err != nil {
			fail("after relabelling, creating a privileged %s: %v", kind, err)
		}
		oldEnforce, oldWarn := old.Labels[psapi.EnforceLevelLabel], old.Labels[psapi.WarnLevelLabel]
		if _, err := admin.CoreV1().Namespaces().Patch(ctx, ns, types.MergePatchType, labels(oldEnforce, oldWarn), metav1.PatchOptions{}); err != nil {
			t.Fatalf("restoring namespace %s: %v", ns, err)
		}
		if oldEnforce != string(psapi.LevelPrivileged) {
			// Wait until Pod Security refuses privileged pods there again.
			err := eventually(ctx, func() error {
				if createWorkload(ctx, admin, "Pod", ns, "default", true, dry) == nil {
					return errors.New("still accepts privileged pods")
				}
				return nil
			})
			if err != nil {
				t.Fatalf("restoring namespace %s: %v", ns, err)
			}
		}
		return true, true
	case EdgeBind:
		p := step.Power
		self := rbacSubject(st.s)
		ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: p.RoleKind, Name: p.Name}
		var err error
		meta := metav1.ObjectMeta{Name: "fx-probe-binding", Namespace: p.Namespace}
		if strings.HasPrefix(step.Via, "adds itself to ") {
			err = addToBinding(ctx, st.c, cs, strings.TrimPrefix(step.Via, "adds itself to "), self)
		} else if p.Namespace == "" {
			_, err = cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: meta, RoleRef: ref, Subjects: []rbacv1.Subject{self}}, dry)
		} else {
			_, err = cs.RbacV1().RoleBindings(p.Namespace).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: meta, RoleRef: ref, Subjects: []rbacv1.Subject{self}}, dry)
		}
		if err != nil {
			fail("binding %s %s to itself: %v", p.RoleKind, p.Name, err)
		}
		return true, true
	case EdgeEscalate:
		if err := escalate(ctx, st.c, cs, step.Via); err != nil {
			fail("%v", err)
		}
		return true, true
	case EdgeTokenRequest:
		sa := step.Power.Subject
		tr, err := cs.CoreV1().ServiceAccounts(sa.Namespace).CreateToken(ctx, sa.Name, &authnv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			fail("requesting a token: %v", err)
			return true, true
		}
		checkIdentity(t, st.c, tr.Status.Token, nil, sa)
		return true, true
	case EdgeImpersonate:
		target := step.Power.Subject
		if st.s.Kind != rbacv1.ServiceAccountKind || step.Power.Kind != KindActAs || target.Kind == rbacv1.GroupKind {
			// Impersonating needs the subject's own credentials, and a group a user too.
			return false, true
		}
		admin := kubernetes.NewForConfigOrDie(st.c.Admin())
		tr, err := admin.CoreV1().ServiceAccounts(st.s.Namespace).CreateToken(ctx, st.s.Name, &authnv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// A ServiceAccount's groups come with its user name.
		user, _ := target.UserInfo()
		checkIdentity(t, st.c, tr.Status.Token, &rest.ImpersonationConfig{UserName: user}, target)
		return true, true
	case EdgeReadSecrets:
		p := step.Power
		var err error
		if p.Name != "" {
			_, err = cs.CoreV1().Secrets(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				err = nil // allowed, and absent here
			}
		} else {
			_, err = cs.CoreV1().Secrets(p.Namespace).List(ctx, metav1.ListOptions{})
		}
		if err != nil {
			fail("reading Secrets: %v", err)
		}
		return true, false
	case EdgeTokenSecret:
		name := strings.TrimSuffix(strings.TrimPrefix(step.Via, "Secret "), " holds its token")
		ns, n, _ := strings.Cut(name, "/")
		if _, err := cs.CoreV1().Secrets(ns).Get(ctx, n, metav1.GetOptions{}); err != nil {
			fail("reading token Secret %s: %v", name, err)
		}
		return true, true
	case EdgeCreateTokenSecret:
		sa := step.Power.Subject
		s := tokenSecret(sa.Namespace, "fx-probe-token", sa.Name)
		if _, err := cs.CoreV1().Secrets(sa.Namespace).Create(ctx, &s, dry); err != nil {
			fail("creating a token Secret: %v", err)
		}
		return true, true
	case EdgeHostPathVolume:
		pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "fx-probe-hostpath"}, Spec: corev1.PersistentVolumeSpec{
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}},
		}}
		if _, err := cs.CoreV1().PersistentVolumes().Create(ctx, pv, dry); err != nil {
			fail("creating a hostPath PersistentVolume: %v", err)
		}
		return true, true
	}
	return false, true
}

// privilegedPasses creates a privileged workload of kind in ns as a dry run and reports
// whether Pod Security lets its pods run: a Pod is refused outright; for a workload
// resource Pod Security only warns, so a warning that names the namespace's enforce level
// counts as a refusal (one that names a stricter warn level does not).
func (st *stepper) privilegedPasses(warnings *warningRecorder, cs kubernetes.Interface, kind, ns string) (bool, error) {
	ctx := st.t.Context()
	admin := kubernetes.NewForConfigOrDie(st.c.Admin())
	n, err := admin.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	level := n.Labels[psapi.EnforceLevelLabel]
	if level == "" {
		level = string(psapi.LevelPrivileged)
	}
	warnings.take()
	err = createWorkload(ctx, cs, kind, ns, "default", true, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if apierrors.IsForbidden(err) && strings.Contains(err.Error(), "violates PodSecurity") {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, w := range warnings.take() {
		if strings.Contains(w, `would violate PodSecurity "`+level+":") {
			return false, nil
		}
	}
	return true, nil
}

// createWorkload creates one object of kind in ns whose pods run as serviceAccount; a
// restricted pod unless privileged.
func createWorkload(ctx context.Context, cs kubernetes.Interface, kind, ns, serviceAccount string, privileged bool, opts metav1.CreateOptions) error {
	yes, no := true, false
	spec := corev1.PodSpec{
		ServiceAccountName: serviceAccount,
		SecurityContext:    &corev1.PodSecurityContext{RunAsNonRoot: &yes, RunAsUser: new(int64(1000)), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers: []corev1.Container{{Name: "probe", Image: "registry.example.org/probe:1",
			SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}},
		RestartPolicy: corev1.RestartPolicyAlways,
	}
	if privileged {
		spec.SecurityContext = nil
		spec.NodeName = "fx-node-2"
		spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &yes}
		spec.Volumes = []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
		spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "host", MountPath: "/host"}}
	}
	labels := map[string]string{"app": "fx-probe"}
	meta := metav1.ObjectMeta{Name: "fx-probe", Namespace: ns, Labels: labels}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}
	sel := &metav1.LabelSelector{MatchLabels: labels}
	var err error
	switch kind {
	case "Pod":
		_, err = cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: meta, Spec: spec}, opts)
	case "ReplicationController":
		_, err = cs.CoreV1().ReplicationControllers(ns).Create(ctx, &corev1.ReplicationController{ObjectMeta: meta, Spec: corev1.ReplicationControllerSpec{Selector: labels, Template: &tmpl}}, opts)
	case "Deployment":
		_, err = cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{ObjectMeta: meta, Spec: appsv1.DeploymentSpec{Selector: sel, Template: tmpl}}, opts)
	case "ReplicaSet":
		_, err = cs.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{ObjectMeta: meta, Spec: appsv1.ReplicaSetSpec{Selector: sel, Template: tmpl}}, opts)
	case "StatefulSet":
		_, err = cs.AppsV1().StatefulSets(ns).Create(ctx, &appsv1.StatefulSet{ObjectMeta: meta, Spec: appsv1.StatefulSetSpec{Selector: sel, Template: tmpl}}, opts)
	case "DaemonSet":
		_, err = cs.AppsV1().DaemonSets(ns).Create(ctx, &appsv1.DaemonSet{ObjectMeta: meta, Spec: appsv1.DaemonSetSpec{Selector: sel, Template: tmpl}}, opts)
	case "Job", "CronJob":
		tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
		job := batchv1.JobSpec{Template: tmpl}
		if kind == "Job" {
			_, err = cs.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{ObjectMeta: meta, Spec: job}, opts)
		} else {
			_, err = cs.BatchV1().CronJobs(ns).Create(ctx, &batchv1.CronJob{ObjectMeta: meta, Spec: batchv1.CronJobSpec{Schedule: "@daily", JobTemplate: batchv1.JobTemplateSpec{Spec: job}}}, opts)
		}
	default:
		err = fmt.Errorf("no probe for kind %s", kind)
	}
	return err
}

func rbacSubject(s Subject) rbacv1.Subject {
	if s.Kind == rbacv1.ServiceAccountKind {
		return rbacv1.Subject{Kind: s.Kind, Namespace: s.Namespace, Name: s.Name}
	}
	return rbacv1.Subject{Kind: s.Kind, APIGroup: rbacv1.GroupName, Name: s.Name}
}

// addToBinding adds self to the existing binding id ("RoleBinding ns/name" or
// "ClusterRoleBinding name"), as a dry run.
func addToBinding(ctx context.Context, c *testcluster.Cluster, cs kubernetes.Interface, id string, self rbacv1.Subject) error {
	admin := kubernetes.NewForConfigOrDie(c.Admin())
	dry := metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}}
	kind, name, _ := strings.Cut(id, " ")
	if kind == "ClusterRoleBinding" {
		b, err := admin.RbacV1().ClusterRoleBindings().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		b.Subjects = append(b.Subjects, self)
		_, err = cs.RbacV1().ClusterRoleBindings().Update(ctx, b, dry)
		return err
	}
	ns, name, _ := strings.Cut(name, "/")
	b, err := admin.RbacV1().RoleBindings(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	b.Subjects = append(b.Subjects, self)
	_, err = cs.RbacV1().RoleBindings(ns).Update(ctx, b, dry)
	return err
}

// escalate takes an escalate step, as its Via describes it, as a dry run.
func escalate(ctx context.Context, c *testcluster.Cluster, cs kubernetes.Interface, via string) error {
	admin := kubernetes.NewForConfigOrDie(c.Admin())
	dry := metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}}
	everything := rbacv1.PolicyRule{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}
	// "rewrites ClusterRole x, which …", "rewrites Role ns/x, which …",
	// "relabels and rewrites ClusterRole x to aggregate into …", "creates a ClusterRole labelled …".
	fields := strings.Fields(via)
	switch {
	case strings.HasPrefix(via, "creates a ClusterRole"):
		_, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "fx-probe-role"}, Rules: []rbacv1.PolicyRule{everything}}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	case fields[0] == "rewrites" && fields[1] == "ClusterRole", fields[0] == "relabels" && fields[3] == "ClusterRole":
		name := strings.TrimSuffix(fields[slices.Index(fields, "ClusterRole")+1], ",")
		r, err := admin.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		r.Rules = append(r.Rules, everything)
		_, err = cs.RbacV1().ClusterRoles().Update(ctx, r, dry)
		return err
	case fields[0] == "rewrites" && fields[1] == "Role":
		ns, name, _ := strings.Cut(strings.TrimSuffix(fields[2], ","), "/")
		r, err := admin.RbacV1().Roles(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		r.Rules = append(r.Rules, everything)
		_, err = cs.RbacV1().Roles(ns).Update(ctx, r, dry)
		return err
	}
	return fmt.Errorf("no way to take %q", via)
}

// checkIdentity proves a token (impersonating, when imp is set) authenticates as want.
func checkIdentity(t *testing.T, c *testcluster.Cluster, token string, imp *rest.ImpersonationConfig, want Subject) {
	t.Helper()
	cfg := rest.AnonymousClientConfig(c.Admin())
	cfg.BearerToken = token
	if imp != nil {
		cfg.Impersonate = *imp
	}
	cs := kubernetes.NewForConfigOrDie(cfg)
	ssr, err := cs.AuthenticationV1().SelfSubjectReviews().Create(t.Context(), &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Errorf("acting as %s: %v", want, err)
		return
	}
	if user, _ := want.UserInfo(); ssr.Status.UserInfo.Username != user {
		t.Errorf("the token acts as %q, want %s", ssr.Status.UserInfo.Username, want)
	}
}

// eventually retries f for up to ten seconds until it succeeds.
func eventually(ctx context.Context, f func() error) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		last = f()
		return last == nil, nil
	})
	if err != nil && last != nil {
		return last
	}
	return err
}

// warningRecorder keeps the apiserver's warnings.
type warningRecorder struct {
	mu sync.Mutex
	w  []string
}

func (r *warningRecorder) HandleWarningHeaderWithContext(_ context.Context, _ int, _ string, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.w = append(r.w, text)
}

func (r *warningRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.w
	r.w = nil
	return w
}
