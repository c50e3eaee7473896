package validate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/model"
	"github.com/lsst-dm/lsstgen/internal/render"
	"github.com/lsst-dm/lsstgen/internal/testcluster"
	"github.com/lsst-dm/lsstgen/internal/validate"
)

// offender is an object one admission policy refuses, made by someone who may otherwise
// create it.
type offender struct {
	name string
	// as is who creates it: "admin:<namespace>" (a member of the namespace's first admin
	// group, impersonated), "sa:<namespace>/<name>" (a ServiceAccount), "group:<name>" (a
	// member of the group, impersonated).
	as string
	// says are texts the apiserver's refusal must hold: the rule and what to change.
	says []string
	// rule is the finding lsstgen validate gives the same object when it comes through the
	// CUE ("" where validate has no say: see the comment of the case).
	rule string
	obj  string
}

// pdacOffenders are pdac's offenders, one or more for every policy.
var pdacOffenders = []offender{
	{name: "image-foreign", as: "admin:portal", rule: "LSST-SEC-009",
		says: []string{"LSST-SEC-009", "shell (evil.example.com/tools/shell:1.0)", "docker.io/", "registry.pdac.lsst.example/", "instance.registry.mirrors"},
		obj:  deployment("portal", "foreign", "evil.example.com/tools/shell:1.0", "")},
	// What LSST CI pushed runs only once promoted: the staging repository's host is no
	// registry pods may name.
	{name: "image-staging", as: "admin:portal", rule: "LSST-SEC-009",
		says: []string{"LSST-SEC-009", "staging.registry.pdac.lsst.example/lsst-sqre/sciplat-lab:w_2026_47", "lsstgen registry promote"},
		obj:  deployment("portal", "unvetted", "staging.registry.pdac.lsst.example/lsst-sqre/sciplat-lab:w_2026_47", "")},
	{name: "image-unpinned", as: "admin:portal", rule: "LSST-SEC-008",
		says: []string{"LSST-SEC-008", "shell (docker.io/ipac/firefly)", "version tag or a digest"},
		obj:  deployment("portal", "unpinned", "docker.io/ipac/firefly", "")},
	{name: "image-latest", as: "admin:portal", rule: "LSST-SEC-008",
		says: []string{"LSST-SEC-008", "docker.io/ipac/firefly:latest"},
		obj:  deployment("portal", "latest", "docker.io/ipac/firefly:latest", "")},
	// Privileged in a restricted namespace: Pod Security only warns on a Deployment.
	{name: "privileged", as: "admin:portal", rule: "LSST-NOTES-009",
		says: []string{"LSST-NOTES-009", "Deployment portal/rooted", "qserv-os-admin/qserv-data-admin", "drop privileged"},
		obj:  deployment("portal", "rooted", "docker.io/library/almalinux:9.5", "securityContext: {privileged: true}")},
	// qserv's namespace is restricted, but Pod Security only warns on a Deployment: the
	// policy refuses it at once.
	{name: "privileged-in-qserv", as: "admin:qserv", rule: "LSST-NOTES-009",
		says: []string{"LSST-NOTES-009", "Deployment qserv/rooted", "drop privileged"},
		obj:  deployment("qserv", "rooted", "docker.io/library/almalinux:9.5", "securityContext: {privileged: true}")},
	{name: "host-network-in-qserv", as: "admin:qserv", rule: "LSST-NOTES-009",
		says: []string{"LSST-NOTES-009", "host's network"},
		obj:  strings.Replace(deployment("qserv", "hostnet", "docker.io/library/almalinux:9.5", ""), "      containers:", "      hostNetwork: true\n      containers:", 1)},
	{name: "hostpath", as: "admin:portal", rule: "LSST-NOTES-009",
		says: []string{"LSST-NOTES-009", "mounts the host path /etc", "use a PersistentVolumeClaim or an emptyDir"},
		obj:  withVolume(deployment("portal", "snoop", "docker.io/library/almalinux:9.5", ""), "{name: host, hostPath: {path: /etc}}", "{name: host, mountPath: /host, readOnly: true}")},
	// The policy allows the host paths the logging namespace's DaemonSets render: one that
	// comes through the CUE is allowed by both, so validate has no say on this one. The
	// forwarder reaches the host, so it is in the bootstrap tier: only the break-glass
	// group writes it.
	{name: "hostpath-in-logging", as: "group:lsst-k8s-break-glass", rule: "",
		says: []string{"LSST-NOTES-009", "DaemonSet logging/snoop", "/etc", "logging/fluent-bit: /var/lib/fluent-bit /var/log/containers /var/log/pods"},
		obj:  strings.Replace(withVolume(deployment("logging", "snoop", "docker.io/fluent/fluent-bit:3.2.2", ""), "{name: host, hostPath: {path: /etc}}", "{name: host, mountPath: /host}"), "kind: Deployment", "kind: DaemonSet", 1)},
	{name: "ingress-outside-domain", as: "admin:portal", rule: "LSST-NOTES-008",
		says: []string{"LSST-NOTES-008", "Ingress portal/elsewhere", "portal.evil.example.com", "under pdac.lsst.example"},
		obj: `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: elsewhere, namespace: portal}
spec:
  ingressClassName: nginx
  tls: [{hosts: [portal.evil.example.com], secretName: portal-tls}]
  rules:
  - host: portal.evil.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: firefly, port: {name: http}}}}]}
`},
	{name: "datasets-read-write", as: "admin:portal", rule: "LSST-NOTES-002",
		says: []string{"LSST-NOTES-002", "Deployment portal/writer", "gpfs-datasets", "shell:/datasets", "readOnly: true"},
		obj:  withVolume(deployment("portal", "writer", "docker.io/library/almalinux:9.5", ""), "{name: gpfs-datasets, persistentVolumeClaim: {claimName: gpfs-datasets}}", "{name: gpfs-datasets, mountPath: /datasets}")},
	// The volume and claim halves of the same policy. GPFS volumes are the bootstrap
	// tier's: the break-glass group makes them.
	{name: "datasets-volume-writable", as: "group:lsst-k8s-break-glass", rule: "LSST-NOTES-002",
		says: []string{"LSST-NOTES-002", "PersistentVolume of GPFS /datasets", "nfs.readOnly: true", "ReadOnlyMany"},
		obj: `apiVersion: v1
kind: PersistentVolume
metadata: {name: gpfs-datasets-writable}
spec:
  capacity: {storage: 1Ti}
  accessModes: [ReadWriteMany]
  nfs: {server: gpfs-nfs.ncsa.example, path: /gpfs/fs0/datasets}
`},
	{name: "datasets-claim-writable", as: "admin:notebook", rule: "LSST-NOTES-002",
		says: []string{"LSST-NOTES-002", "claim gpfs-datasets", "ReadOnlyMany"},
		obj: `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: gpfs-datasets, namespace: notebook}
spec:
  accessModes: [ReadWriteMany]
  storageClassName: ""
  resources: {requests: {storage: 1Ti}}
`},
	// A namespace admin or the sync daemon cannot bind cluster-admin at all (RBAC refuses
	// the escalation before admission): the break-glass group, which holds cluster-admin,
	// is the one the policy stops from handing it to anyone else.
	{name: "cluster-admin", as: "group:lsst-k8s-break-glass", rule: "LSST-SEC-005",
		says: []string{"LSST-SEC-005", "ClusterRoleBinding escalate", "Group lsst-ops", "break-glass group"},
		obj: `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: escalate}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: lsst-ops}]
`},
	// A development space's own pods never come through the CUE: its admins make them
	// with kubectl, so validate has nothing to say and the policy alone keeps them off
	// the dedicated nodes.
	{name: "development-toleration", as: "admin:dev-sqre", rule: "",
		says: []string{"LSST-ADM-002", "Deployment dev-sqre/onqserv", "tolerates the taint lsst.org/dedicated", "remove the toleration"},
		obj:  strings.Replace(deployment("dev-sqre", "onqserv", "docker.io/library/almalinux:9.5", ""), "      containers:", "      tolerations: [{key: lsst.org/dedicated, operator: Equal, value: qserv, effect: NoSchedule}]\n      containers:", 1)},
	{name: "development-tolerate-all", as: "admin:dev-sqre", rule: "",
		says: []string{"LSST-ADM-002", "Deployment dev-sqre/anywhere", "remove the toleration"},
		obj:  strings.Replace(deployment("dev-sqre", "anywhere", "docker.io/library/almalinux:9.5", ""), "      containers:", "      tolerations: [{operator: Exists}]\n      containers:", 1)},
	{name: "development-node-name", as: "admin:dev-dax", rule: "",
		says: []string{"LSST-ADM-002", "Pod dev-dax/pinned", "names its node (lsst-kub003)", "remove spec.nodeName"},
		obj: `apiVersion: v1
kind: Pod
metadata: {name: pinned, namespace: dev-dax}
spec:
  nodeName: lsst-kub003
  securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: shell
    image: docker.io/library/almalinux:9.5
    command: [sleep, infinity]
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
`},
	// Every rendered object carries the owner labels: a forged one cannot come through
	// the CUE, so validate has nothing to say.
	{name: "owner-labels", as: "admin:portal", rule: "",
		says: []string{"LSST-ADM-001", "ConfigMap portal/forged", "app.kubernetes.io/managed-by=lsstgen", "lsst.org/instance=pdac", "remove the label"},
		obj: `apiVersion: v1
kind: ConfigMap
metadata:
  name: forged
  namespace: portal
  labels: {app.kubernetes.io/managed-by: lsstgen, lsst.org/instance: pdac}
data: {a: b}
`},
}

func deployment(ns, name, image, containerExtra string) string {
	if containerExtra != "" {
		containerExtra = ", " + containerExtra
	}
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: %[2]s}}
  template:
    metadata: {labels: {app.kubernetes.io/name: %[2]s}}
    spec:
      containers:
      - {name: shell, image: %[3]q, command: [sleep, infinity]%[4]s}
`, ns, name, image, containerExtra)
}

// withVolume gives the pod of a deployment() a volume and its container a mount.
func withVolume(obj, volume, mount string) string {
	obj = strings.Replace(obj, "command: [sleep, infinity]", "command: [sleep, infinity], volumeMounts: ["+mount+"]", 1)
	return obj + "      volumes: [" + volume + "]\n"
}

func (o offender) object(t *testing.T) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(o.obj), &u.Object); err != nil {
		t.Fatalf("%s: %v", o.name, err)
	}
	return u
}

// renders caches the renders of the tests of this file, by instance.
var renders sync.Map

func renderOf(t *testing.T, name string) *render.Result {
	t.Helper()
	if r, ok := renders.Load(name); ok {
		return r.(*render.Result)
	}
	root, err := manifest.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	res, err := render.Instance(root, name)
	if err != nil {
		t.Fatal(err)
	}
	renders.Store(name, res)
	return res
}

// startWithPolicies starts a control plane, applies the instance's admission policies and
// waits until they are enforced, then applies every object the instance renders (from
// generated/, as lsstgen sync would) and fails t for each one refused.
func startWithPolicies(t *testing.T, name string) (*testcluster.Cluster, *render.Result) {
	t.Helper()
	res := renderOf(t, name)
	root, err := manifest.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifest.ReadInstance(os.DirFS(root), manifest.InstanceDir(name))
	if err != nil {
		t.Fatal(err)
	}
	c := testcluster.Start(t)
	ctx := context.Background()

	// The policies first, so that everything after them meets them.
	var policies []manifest.Object
	for _, o := range objs {
		if strings.HasPrefix(o.GetKind(), "ValidatingAdmissionPolicy") {
			policies = append(policies, o)
		}
	}
	// Six policies hold everywhere; the development spaces' only where there are some.
	want := 12
	for _, ns := range res.Model.Namespaces {
		if ns.Aspect == "development" {
			want = 14
		}
	}
	if len(policies) != want {
		t.Fatalf("%s renders %d admission policies and bindings, want %d", name, len(policies), want)
	}
	rejected, err := testcluster.Apply(ctx, c.Admin(), policies, testcluster.ApplyOptions{FieldManager: "lsstgen"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rejected {
		t.Errorf("policy rejected: %s", r)
	}
	if t.Failed() {
		t.FailNow()
	}
	waitForPolicies(t, c.Admin())

	rejected, err = testcluster.Bootstrap(ctx, c.Admin(), res.Model.Secrets, objs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rejected {
		t.Errorf("%s: generated object refused with the policies in force: %s", name, r)
	}
	return c, res
}

// refuseAll creates each offender as its maker and fails t for each one admitted or
// refused without its rule's words.
func refuseAll(t *testing.T, c *testcluster.Cluster, m model.Model, offenders []offender) {
	t.Helper()
	for _, o := range offenders {
		t.Run(o.name, func(t *testing.T) {
			err := create(context.Background(), userConfig(t, c, m, o.as), o.object(t))
			if err == nil {
				t.Fatalf("%s admitted; want it refused by the admission policies", o.name)
			}
			for _, s := range o.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("refusal does not say %q:\n%v", s, err)
				}
			}
			if !strings.Contains(err.Error(), "ValidatingAdmissionPolicy") {
				t.Errorf("refused by something other than an admission policy: %v", err)
			}
		})
	}
}

// TestAdmissionPolicies applies pdac's admission policies to a real kube-apiserver, then
// every object pdac renders (all admitted), then each offender as the user who would make
// it: each is refused with a message naming its rule and what to change. Pods that the
// DaemonSet controller and the notebook's spawner create are admitted when they are the
// platform's and refused when they are not.
func TestAdmissionPolicies(t *testing.T) {
	c, res := startWithPolicies(t, "pdac")
	ctx := context.Background()
	refuseAll(t, c, res.Model, pdacOffenders)

	// The sync daemon keeps the policies: its ClusterRole, rendered from the kinds the
	// instance renders, lets it apply them.
	t.Run("sync-applies-policies", func(t *testing.T) {
		root, err := manifest.FindRoot(".")
		if err != nil {
			t.Fatal(err)
		}
		objs, err := manifest.ReadInstance(os.DirFS(root), manifest.InstanceDir("pdac"))
		if err != nil {
			t.Fatal(err)
		}
		var policies []manifest.Object
		for _, o := range objs {
			if strings.HasPrefix(o.GetKind(), "ValidatingAdmissionPolicy") {
				policies = append(policies, o)
			}
		}
		rejected, err := testcluster.Apply(ctx, c.AsServiceAccount("lsstgen-system", "lsstgen-sync"), policies, testcluster.ApplyOptions{FieldManager: "lsstgen"})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rejected {
			t.Errorf("the sync daemon may not apply: %s", r)
		}
	})

	// qserv's admin DaemonSet's pod, as its controller creates it, is admitted; the same pod
	// made by anyone else, even the break-glass group (the only one RBAC lets create pods
	// there), is not.
	t.Run("daemonset-pod", func(t *testing.T) {
		cs := kubernetes.NewForConfigOrDie(c.Admin())
		ds, err := cs.AppsV1().DaemonSets("qserv-os-admin").Get(ctx, "qserv-data-admin", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pod := func(name string) *unstructured.Unstructured {
			p := corev1.Pod{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ds.Namespace, Labels: ds.Spec.Template.Labels},
				Spec:       ds.Spec.Template.Spec,
			}
			yes := true
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: ds.Name, UID: ds.UID, Controller: &yes}}
			return toUnstructured(t, &p)
		}
		if err := create(ctx, c.AsServiceAccount("kube-system", "daemon-set-controller"), pod("qserv-data-admin-a")); err != nil {
			t.Errorf("the DaemonSet controller's pod of qserv-data-admin refused: %v", err)
		}
		err = create(ctx, userConfig(t, c, res.Model, "group:lsst-k8s-break-glass"), pod("qserv-data-admin-b"))
		if err == nil || !strings.Contains(err.Error(), "LSST-NOTES-009") {
			t.Errorf("a pod posing as qserv-data-admin's, made by a member of the break-glass group: err = %v, want LSST-NOTES-009", err)
		}
	})

	// The spawner's user pod is admitted; one of a foreign image is not.
	t.Run("user-pod", func(t *testing.T) {
		if res.Model.UserPod == nil {
			t.Fatal("pdac has no user pod")
		}
		p, err := model.UserPodFor(res.Model.UserPod, model.NotebookUser{Name: "jdoe", UID: 41234, GID: 2000})
		if err != nil {
			t.Fatal(err)
		}
		p.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}
		p.Namespace = "notebook-users"
		hub := c.AsServiceAccount("notebook", "hub")
		if err := create(ctx, hub, toUnstructured(t, p)); err != nil {
			t.Errorf("the spawner's user pod refused: %v", err)
		}
		p.Name += "-foreign"
		p.Spec.Containers[0].Image = "evil.example.com/lab:1.0"
		err = create(ctx, hub, toUnstructured(t, p))
		if err == nil || !strings.Contains(err.Error(), "LSST-SEC-009") || !strings.Contains(err.Error(), "evil.example.com/lab:1.0") {
			t.Errorf("a user pod of a foreign image: err = %v, want LSST-SEC-009 naming the image", err)
		}
	})

	// Warn instead of Deny: the offender is admitted, and the client is warned with the
	// same message (what an operator sees before switching a policy to Deny).
	t.Run("warn", func(t *testing.T) {
		dyn := dynamic.NewForConfigOrDie(c.Admin())
		patch := []byte(`{"spec":{"validationActions":["Warn"]}}`)
		if _, err := dyn.Resource(admissionBindings).Patch(ctx, "lsst-images", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		cfg := userConfig(t, c, res.Model, "admin:portal")
		warnings := &warningRecorder{}
		cfg.WarningHandler = warnings
		o := pdacOffenders[0]
		deadline := time.Now().Add(20 * time.Second)
		for {
			err := create(ctx, cfg, o.object(t))
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("still refused with the binding at Warn: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if got := strings.Join(warnings.texts, "\n"); !strings.Contains(got, "LSST-SEC-009") || !strings.Contains(got, "evil.example.com/tools/shell:1.0") {
			t.Errorf("admitted without the policy's warning; warnings:\n%s", got)
		}
	})
}

var admissionBindings = gvr("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings")

// waitForPolicies waits until the apiserver enforces the policies just applied: their
// informer takes a moment. It dry-runs a binding of cluster-admin, which every policy
// state but the enforced one admits.
func waitForPolicies(t *testing.T, admin *rest.Config) {
	t.Helper()
	var probe offender
	for _, o := range pdacOffenders {
		if o.name == "cluster-admin" {
			probe = o
		}
	}
	u := probe.object(t)
	u.SetName("probe")
	dyn := dynamic.NewForConfigOrDie(admin)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := dyn.Resource(gvr("rbac.authorization.k8s.io", "v1", "clusterrolebindings")).Create(context.Background(), u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil && strings.Contains(err.Error(), "LSST-SEC-005") {
			// The namespaced policies are read by the same informer; give it one more beat.
			time.Sleep(time.Second)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the admission policies are not enforced after 30s (last: %v)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// userConfig is the client of an offender's maker.
func userConfig(t *testing.T, c *testcluster.Cluster, m model.Model, as string) *rest.Config {
	t.Helper()
	kind, who, _ := strings.Cut(as, ":")
	switch kind {
	case "admin":
		ns, ok := m.Namespaces[who]
		if !ok || len(ns.Admins) == 0 {
			t.Fatalf("pdac has no admins of namespace %s", who)
		}
		return c.As("jdoe", ns.Admins[0])
	case "sa":
		ns, name, _ := strings.Cut(who, "/")
		return c.AsServiceAccount(ns, name)
	case "group":
		return c.As("jdoe", who)
	}
	t.Fatalf("unknown maker %q", as)
	return nil
}

// create creates u as cfg's user: the way kubectl create does, a plain POST.
func create(ctx context.Context, cfg *rest.Config, u *unstructured.Unstructured) error {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	gvr, err := gvrOf(u)
	if err != nil {
		return err
	}
	var ri dynamic.ResourceInterface = dyn.Resource(gvr)
	if ns := u.GetNamespace(); ns != "" {
		ri = dyn.Resource(gvr).Namespace(ns)
	}
	_, err = ri.Create(ctx, u, metav1.CreateOptions{})
	if apierrors.IsForbidden(err) && strings.Contains(err.Error(), "cannot create resource") {
		return fmt.Errorf("RBAC, not admission: %w", err)
	}
	return err
}

func gvr(group, version, resource string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: group, Version: version, Resource: resource}
}

func gvrOf(u *unstructured.Unstructured) (schema.GroupVersionResource, error) {
	gv := u.GroupVersionKind()
	resource := map[string]string{
		"Deployment": "deployments", "DaemonSet": "daemonsets", "Ingress": "ingresses",
		"ClusterRoleBinding": "clusterrolebindings", "ConfigMap": "configmaps", "Pod": "pods", "Service": "services",
		"PersistentVolume": "persistentvolumes", "PersistentVolumeClaim": "persistentvolumeclaims",
	}[gv.Kind]
	if resource == "" {
		return schema.GroupVersionResource{}, fmt.Errorf("no resource known for kind %s", gv.Kind)
	}
	return gvr(gv.Group, gv.Version, resource), nil
}

func toUnstructured(t *testing.T, v any) *unstructured.Unstructured {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := json.Unmarshal(data, &u.Object); err != nil {
		t.Fatal(err)
	}
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "status")
	return u
}

type warningRecorder struct {
	mu    sync.Mutex
	texts []string
}

func (w *warningRecorder) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.texts = append(w.texts, text)
}

// TestAdmissionParity: every offender the admission policies refuse that can come through
// the CUE is an object lsstgen validate reports, under the rule the policy's message
// names.
func TestAdmissionParity(t *testing.T) {
	parity(t, renderOf(t, "pdac"), pdacOffenders)
	parity(t, renderOf(t, "science-validation"), inwardOffenders(renderOf(t, "science-validation").Model))
}

func parity(t *testing.T, res *render.Result, offenders []offender) {
	n := 0
	for _, o := range offenders {
		if o.rule == "" {
			continue
		}
		n++
		t.Run(res.Instance+"/"+o.name, func(t *testing.T) {
			if !strings.Contains(strings.Join(o.says, " "), o.rule) {
				t.Fatalf("the policy's message for %s does not name %s", o.name, o.rule)
			}
			u := o.object(t)
			in := validate.FromResult(res)
			in.Objects = append(append([]*unstructured.Unstructured(nil), in.Objects...), u)
			id := manifest.ObjectID(u)
			var got []string
			for _, f := range validate.Validate([]validate.Instance{in}) {
				if f.Object == id {
					got = append(got, f.Rule)
					if f.Rule == o.rule {
						return
					}
				}
			}
			t.Errorf("validate reports %s for %s, want %s among them", got, id, o.rule)
		})
	}
	if n == 0 {
		t.Fatalf("%s: no offender with a validate rule", res.Instance)
	}
}

// inwardOffenders are the offenders of an inward-facing instance's exposure rules.
func inwardOffenders(m model.Model) []offender {
	host := "portal." + m.Instance.Domain
	ingress := func(name, annotations string) string {
		return fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: %s, namespace: portal%s}
spec:
  ingressClassName: nginx
  tls: [{hosts: [%s], secretName: portal-tls}]
  rules:
  - host: %s
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: firefly, port: {name: http}}}}]}
`, name, annotations, host, host)
	}
	return []offender{
		{name: "ingress-open", as: "admin:portal", rule: "LSST-NOTES-004",
			says: []string{"LSST-NOTES-004", "Ingress portal/open", "admits every address", "whitelist-source-range", strings.Join(m.Instance.InternalCIDRs, ",")},
			obj:  ingress("open", "")},
		{name: "ingress-wide", as: "admin:portal", rule: "LSST-NOTES-004",
			says: []string{"LSST-NOTES-004", "admits 0.0.0.0/0"},
			obj:  ingress("wide", ", annotations: {nginx.ingress.kubernetes.io/whitelist-source-range: 0.0.0.0/0}")},
		{name: "load-balancer", as: "admin:portal", rule: "LSST-NOTES-004",
			says: []string{"LSST-NOTES-004", "Service portal/lb is a LoadBalancer", "make it ClusterIP"},
			obj: `apiVersion: v1
kind: Service
metadata: {name: lb, namespace: portal}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app.kubernetes.io/name: firefly}
  ports: [{name: http, port: 80, targetPort: http}]
`},
	}
}

// TestAdmissionInward: on the inward-facing instance, an Ingress that admits more than the
// internal networks and a LoadBalancer Service are refused.
func TestAdmissionInward(t *testing.T) {
	c, res := startWithPolicies(t, "science-validation")
	refuseAll(t, c, res.Model, inwardOffenders(res.Model))
}

// TestAdmissionAdmitsGenerated: the other instances' objects are admitted with their
// policies in force.
func TestAdmissionAdmitsGenerated(t *testing.T) {
	for _, name := range []string{"chilean-dac", "commissioning", "us-dac"} {
		t.Run(name, func(t *testing.T) { startWithPolicies(t, name) })
	}
}

// TestAdmissionTwin: in a twin of pdac (real scheduler and controllers), with the policies
// applied before anything else, every workload rolls out: the pods the controllers create
// (qserv's privileged admin DaemonSet and the log forwarder with their host paths, the
// qserv StatefulSets, the Deployments and the registry's Job) are all admitted.
func TestAdmissionTwin(t *testing.T) {
	res := renderOf(t, "pdac")
	root, err := manifest.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifest.ReadInstance(os.DirFS(root), manifest.InstanceDir("pdac"))
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := testcluster.NodesFromModel(res.Model)
	if err != nil {
		t.Fatal(err)
	}
	tw := testcluster.StartTwin(t, nodes)
	ctx := t.Context()
	var policies []manifest.Object
	for _, o := range objs {
		if strings.HasPrefix(o.GetKind(), "ValidatingAdmissionPolicy") {
			policies = append(policies, o)
		}
	}
	rejected, err := testcluster.Apply(ctx, tw.Admin(), policies, testcluster.ApplyOptions{FieldManager: "lsstgen"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rejected {
		t.Fatalf("policy rejected: %s", r)
	}
	waitForPolicies(t, tw.Admin())
	rejected, err = testcluster.Bootstrap(ctx, tw.Admin(), res.Model.Secrets, objs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rejected {
		t.Errorf("bootstrap apply rejected: %s", r)
	}
	if err := testcluster.WaitConverged(ctx, tw.Admin(), objs, 3*time.Minute); err != nil {
		t.Fatalf("pdac does not converge with its admission policies in force: %v", err)
	}
}

// TestStagingImageSaysPromote: validate's finding for an image of the staging repository
// says how it gets run: promoted, by digest, to the vetted repository.
func TestStagingImageSaysPromote(t *testing.T) {
	res := renderOf(t, "pdac")
	in := validate.FromResult(res)
	in.Objects = append([]*unstructured.Unstructured(nil), in.Objects...)
	for i, o := range in.Objects {
		if manifest.ObjectID(o) == "Deployment/portal/firefly" {
			c := o.DeepCopy()
			containers, _, _ := unstructured.NestedSlice(c.Object, "spec", "template", "spec", "containers")
			containers[0].(map[string]any)["image"] = "staging.registry.pdac.lsst.example/ipac/firefly:2024.3.3"
			if err := unstructured.SetNestedSlice(c.Object, containers, "spec", "template", "spec", "containers"); err != nil {
				t.Fatal(err)
			}
			in.Objects[i] = c
		}
	}
	for _, f := range validate.Validate([]validate.Instance{in}) {
		if f.Rule == "LSST-SEC-009" && f.Object == "Deployment/portal/firefly" {
			if !strings.Contains(f.Message, "staging repository") || !strings.Contains(f.Message, "lsstgen registry promote") {
				t.Errorf("the finding does not say to promote the image: %s", f.Message)
			}
			return
		}
	}
	t.Error("no LSST-SEC-009 for an image of the staging repository")
}
