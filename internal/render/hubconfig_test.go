package render_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"github.com/lsst-dm/lsstgen/internal/model"
	"github.com/lsst-dm/lsstgen/internal/render"
	"github.com/lsst-dm/lsstgen/internal/testrepo"
)

// The hub's configuration is Python that only JupyterHub runs, so these tests run it: each
// instance's rendered jupyterhub_config.py is parsed by python3, then executed by
// testdata/hubconfig/harness.py as JupyterHub's config loader would, with stand-ins for
// JupyterHub's config object, ldap3 and a spawner. What it configures is checked against
// the instance's model: who may log in, where the database lives, the pod KubeSpawner is
// told to make, and what the pre_spawn_hook does for each kind of user.

// python3 is the interpreter the tests run the configuration with.
func python3(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatal("no python3 on PATH or at /usr/bin/python3: the hub's configuration cannot be checked")
	return ""
}

// hubConfig is the data of an instance's rendered ConfigMap notebook/hub-config-<hash>.
func hubConfig(t *testing.T, r *render.Result) map[string]string {
	t.Helper()
	for _, o := range r.Objects {
		if o.GetKind() == "ConfigMap" && o.GetNamespace() == "notebook" && strings.HasPrefix(o.GetName(), "hub-config-") {
			data, _, err := unstructured.NestedStringMap(o.Object, "data")
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
	}
	t.Fatalf("%s renders no ConfigMap notebook/hub-config-<hash>", r.Instance)
	return nil
}

// harnessOut is what harness.py prints.
type harnessOut struct {
	Settings    map[string]map[string]json.RawMessage `json:"settings"`
	Spawns      map[string]spawnOut                   `json:"spawns"`
	Searches    [][2]string                           `json:"searches"`
	Connections []struct {
		URL      string `json:"url"`
		UseSSL   bool   `json:"useSSL"`
		User     string `json:"user"`
		Password string `json:"password"`
	} `json:"connections"`
}

// spawnOut is a spawner after the pre_spawn_hook ran, or the error the spawn fails with.
type spawnOut struct {
	Error              string             `json:"error"`
	UID                *int64             `json:"uid"`
	GID                *int64             `json:"gid"`
	FSGID              *int64             `json:"fs_gid"`
	SupplementalGIDs   []int64            `json:"supplemental_gids"`
	PodSecurityContext map[string]any     `json:"pod_security_context"`
	WorkingDir         string             `json:"working_dir"`
	Environment        map[string]string  `json:"environment"`
	InitContainers     []corev1.Container `json:"init_containers"`
}

// The directory the hook is run against: one user of each kind.
var hookCases = map[string]any{
	"directory": map[string]any{
		"jdoe":  []any{map[string]int{"uidNumber": 41234, "gidNumber": 2000}},
		"twice": []any{map[string]int{"uidNumber": 5001, "gidNumber": 5001}, map[string]int{"uidNumber": 5002, "gidNumber": 5002}},
		"rooty": []any{map[string]int{"uidNumber": 0, "gidNumber": 0}},
	},
	"groups": map[string]any{
		"jdoe": []any{[]any{"lsst_users", 3000}, []any{"jdoe", 2000}, []any{"Not A Name", 3100}},
	},
	"users": []string{"jdoe", "nobody", "twice", "rooty", "jdoe@gmail.com", "Jdoe"},
}

// jdoe is the identity the directory holds for jdoe.
var jdoe = model.NotebookUser{Name: "jdoe", UID: 41234, GID: 2000, Groups: []model.NotebookGroup{
	{Name: "lsst_users", GID: 3000}, {Name: "jdoe", GID: 2000}, {Name: "Not A Name", GID: 3100},
}}

// runHubConfig writes the ConfigMap's files to a folder, parses the configuration with
// python3 and runs it with the harness.
func runHubConfig(t *testing.T, data map[string]string) harnessOut {
	t.Helper()
	py := python3(t)
	dir := t.TempDir()
	for _, k := range []string{"jupyterhub_config.py", "hub.json", "user-pod.json"} {
		if data[k] == "" {
			t.Fatalf("the hub's ConfigMap has no %s", k)
		}
		if err := os.WriteFile(filepath.Join(dir, k), []byte(data[k]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	parse := exec.Command(py, "-c", "import ast,sys; ast.parse(sys.stdin.read(), 'jupyterhub_config.py')")
	parse.Stdin = strings.NewReader(data["jupyterhub_config.py"])
	if out, err := parse.CombinedOutput(); err != nil {
		t.Fatalf("jupyterhub_config.py is not Python: %v\n%s", err, out)
	}
	cases, err := json.Marshal(hookCases)
	if err != nil {
		t.Fatal(err)
	}
	casesFile := filepath.Join(dir, "cases.json")
	if err := os.WriteFile(casesFile, cases, 0o644); err != nil {
		t.Fatal(err)
	}
	harness, err := filepath.Abs(filepath.Join("testdata", "hubconfig", "harness.py"))
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	run := exec.Command(py, harness, dir, casesFile)
	run.Stdout, run.Stderr = &stdout, &stderr
	if err := run.Run(); err != nil {
		t.Fatalf("running jupyterhub_config.py: %v\n%s", err, stderr.String())
	}
	var out harnessOut
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("harness output: %v\n%s", err, stdout.String())
	}
	return out
}

// setting decodes one configured trait into v, failing t when it is not set.
func (h harnessOut) setting(t *testing.T, section, trait string, v any) {
	t.Helper()
	raw, ok := h.Settings[section][trait]
	if !ok {
		t.Fatalf("c.%s.%s is not set", section, trait)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("c.%s.%s: %v", section, trait, err)
	}
}

// TestHubConfig runs every instance's hub configuration.
func TestHubConfig(t *testing.T) {
	root := testrepo.Root(t)
	results, err := render.All(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range results {
		if r.Model.Instance.Aspects.Notebook == nil {
			continue
		}
		n++
		t.Run(r.Instance, func(t *testing.T) {
			out := runHubConfig(t, hubConfig(t, r))
			checkLogin(t, r.Model, out)
			checkDatabase(t, r, out)
			checkSpawnerPod(t, r.Model, out)
			checkHook(t, r.Model, out)
		})
	}
	if n == 0 {
		t.Fatal("no instance has the notebook aspect: nothing was checked")
	}
}

// checkLogin: CILogon is the authenticator; allowed_idps holds exactly the instance's
// identity providers (with uidSource ldap, exactly its directory's own), each stripping its
// domain and allowing its users; and nothing else allows anybody.
func checkLogin(t *testing.T, m model.Model, out harnessOut) {
	t.Helper()
	var class string
	out.setting(t, "JupyterHub", "authenticator_class", &class)
	if class != "cilogon" {
		t.Errorf("authenticator_class %q, want cilogon", class)
	}
	um := m.Instance.UserMapping
	want := map[string]any{}
	for id, p := range um.IdentityProviders {
		want[id] = map[string]any{
			"username_derivation": map[string]any{"username_claim": p.UsernameClaim, "action": "strip_idp_domain", "domain": p.Domain},
			"allow_all":           true,
		}
	}
	if um.UIDSource == "ldap" {
		if um.LDAP == nil || um.LDAP.IdentityProvider.EntityID == "" {
			t.Fatal("uidSource ldap without the directory's identity provider in the model")
		}
		if ids := slices.Collect(maps.Keys(um.IdentityProviders)); len(ids) != 1 || ids[0] != um.LDAP.IdentityProvider.EntityID {
			t.Errorf("uidSource ldap, yet the identity providers are %v, not only the directory's %s", ids, um.LDAP.IdentityProvider.EntityID)
		}
	}
	var got map[string]any
	out.setting(t, "CILogonOAuthenticator", "allowed_idps", &got)
	if len(want) == 0 {
		t.Fatal("the model lists no identity provider")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("allowed_idps (-want +got):\n%s", diff)
	}
	for section, traits := range out.Settings {
		for _, trait := range []string{"allow_all", "allowed_users", "admin_users", "allow_existing_users", "blocked_users"} {
			if _, ok := traits[trait]; ok {
				t.Errorf("c.%s.%s is set: only allowed_idps decides who logs in", section, trait)
			}
		}
	}
}

// checkDatabase: the database is sqlite under /srv/jupyterhub, which the hub mounts from
// its claim, bound to a local volume of a general node the hub runs on; --upgrade-db is
// passed; hub and proxy are replaced, never rolled.
func checkDatabase(t *testing.T, r *render.Result, out harnessOut) {
	t.Helper()
	var url string
	out.setting(t, "JupyterHub", "db_url", &url)
	if url != "sqlite:////srv/jupyterhub/jupyterhub.sqlite" {
		t.Errorf("db_url %q, want sqlite under /srv/jupyterhub", url)
	}
	objs := map[string]*unstructured.Unstructured{}
	for _, o := range r.Objects {
		objs[o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName()] = o
	}
	hub := objs["Deployment/notebook/hub"]
	if hub == nil {
		t.Fatal("no Deployment/notebook/hub")
	}
	for _, name := range []string{"hub", "proxy"} {
		d := objs["Deployment/notebook/"+name]
		if s, _, _ := unstructured.NestedString(d.Object, "spec", "strategy", "type"); s != "Recreate" {
			t.Errorf("Deployment/notebook/%s strategy %q, want Recreate", name, s)
		}
	}
	spec, _, _ := unstructured.NestedMap(hub.Object, "spec", "template", "spec")
	var ps corev1.PodSpec
	if err := runtimeFromMap(spec, &ps); err != nil {
		t.Fatal(err)
	}
	claim := ""
	for _, v := range ps.Volumes {
		for _, m := range ps.Containers[0].VolumeMounts {
			if m.Name == v.Name && m.MountPath == "/srv/jupyterhub" && v.PersistentVolumeClaim != nil {
				claim = v.PersistentVolumeClaim.ClaimName
			}
		}
	}
	if claim == "" {
		t.Fatal("the hub mounts no PersistentVolumeClaim at /srv/jupyterhub")
	}
	pvc := objs["PersistentVolumeClaim/notebook/"+claim]
	if pvc == nil {
		t.Fatalf("the hub's claim %s is not rendered", claim)
	}
	pvName, _, _ := unstructured.NestedString(pvc.Object, "spec", "volumeName")
	pv := objs["PersistentVolume//"+pvName]
	if pv == nil {
		t.Fatalf("the hub's claim names volume %q, which is not rendered", pvName)
	}
	if _, ok, _ := unstructured.NestedMap(pv.Object, "spec", "local"); !ok {
		t.Errorf("PersistentVolume %s is not a local volume (sqlite must not be on NFS)", pvName)
	}
	terms, _, _ := unstructured.NestedSlice(pv.Object, "spec", "nodeAffinity", "required", "nodeSelectorTerms")
	wantNode := ps.NodeSelector[corev1.LabelHostname]
	if wantNode == "" || r.Model.Instance.Nodes[wantNode].Role != "general" {
		t.Errorf("the hub runs on %q, not on one general node of the instance", wantNode)
	}
	if b, _ := json.Marshal(terms); !strings.Contains(string(b), `"values":["`+wantNode+`"]`) {
		t.Errorf("PersistentVolume %s is on %s, the hub on %s", pvName, b, wantNode)
	}
	if ps.SecurityContext == nil || ps.SecurityContext.FSGroup == nil {
		t.Error("the hub's pod sets no fsGroup: its user cannot write the database volume")
	}
	if !slices.Contains(ps.Containers[0].Args, "--upgrade-db") {
		t.Errorf("the hub's args %v lack --upgrade-db", ps.Containers[0].Args)
	}
}

// runtimeFromMap decodes a JSON-shaped map into v.
func runtimeFromMap(m map[string]any, v any) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// kubeSpawnerPod is the pod KubeSpawner's make_pod makes of the configured settings and of
// a spawner's per-user values (kubespawner/objects.py: uid and gid on the container,
// fs_gid and supplemental_gids on the pod, each updated by container_security_context and
// pod_security_context; restartPolicy OnFailure; container "notebook", port
// "notebook-port"). Labels are extra_labels only; JupyterHub's own environment is left out.
func kubeSpawnerPod(t *testing.T, out harnessOut, s spawnOut) *corev1.Pod {
	t.Helper()
	var (
		pod                              corev1.Pod
		image                            string
		cmd                              []string
		port                             int32
		ape                              bool
		csc, psc                         map[string]any
		cpuReq, cpuLim                   float64
		memReq, memLim                   int64
		extraReq, extraLim               map[string]string
		automount                        bool
		volumes                          []corev1.Volume
		mounts                           []corev1.VolumeMount
		tolerations                      []corev1.Toleration
		initContainers                   []corev1.Container
		nodeSelector, labels             map[string]string
		namespace, serviceAccount, class string
	)
	out.setting(t, "JupyterHub", "spawner_class", &class)
	if class != "kubernetes" {
		t.Fatalf("spawner_class %q, want kubernetes", class)
	}
	for trait, v := range map[string]any{
		"namespace": &namespace, "extra_labels": &labels, "service_account": &serviceAccount,
		"automount_service_account_token": &automount, "node_selector": &nodeSelector,
		"tolerations": &tolerations, "pod_security_context": &psc, "volumes": &volumes,
		"init_containers": &initContainers, "image": &image, "cmd": &cmd, "port": &port,
		"allow_privilege_escalation": &ape, "container_security_context": &csc,
		"volume_mounts": &mounts, "cpu_guarantee": &cpuReq, "cpu_limit": &cpuLim,
		"mem_guarantee": &memReq, "mem_limit": &memLim, "extra_resource_guarantees": &extraReq,
		"extra_resource_limits": &extraLim,
	} {
		out.setting(t, "KubeSpawner", trait, v)
	}
	podSC := map[string]any{}
	if s.FSGID != nil {
		podSC["fsGroup"] = *s.FSGID
	}
	if len(s.SupplementalGIDs) > 0 {
		podSC["supplementalGroups"] = s.SupplementalGIDs
	}
	if s.PodSecurityContext != nil {
		psc = s.PodSecurityContext
	}
	maps.Copy(podSC, psc)
	ctSC := map[string]any{"allowPrivilegeEscalation": ape}
	if s.UID != nil {
		ctSC["runAsUser"] = *s.UID
	}
	if s.GID != nil {
		ctSC["runAsGroup"] = *s.GID
	}
	maps.Copy(ctSC, csc)
	if s.InitContainers != nil {
		initContainers = s.InitContainers
	}
	req := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewMilliQuantity(int64(cpuReq*1000+0.5), resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(memReq, resource.BinarySI),
	}
	for k, v := range extraReq {
		req[corev1.ResourceName(k)] = resource.MustParse(v)
	}
	lim := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewMilliQuantity(int64(cpuLim*1000+0.5), resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(memLim, resource.BinarySI),
	}
	for k, v := range extraLim {
		lim[corev1.ResourceName(k)] = resource.MustParse(v)
	}
	lab := corev1.Container{
		Name:         "notebook",
		Image:        image,
		Args:         cmd,
		WorkingDir:   s.WorkingDir,
		Ports:        []corev1.ContainerPort{{Name: "notebook-port", ContainerPort: port}},
		VolumeMounts: mounts,
		Resources:    corev1.ResourceRequirements{Requests: req, Limits: lim},
	}
	for _, k := range slices.Sorted(maps.Keys(s.Environment)) {
		lab.Env = append(lab.Env, corev1.EnvVar{Name: k, Value: s.Environment[k]})
	}
	if err := runtimeFromMap(ctSC, &lab.SecurityContext); err != nil {
		t.Fatal(err)
	}
	pod.APIVersion, pod.Kind = "v1", "Pod"
	pod.Namespace, pod.Labels = namespace, labels
	pod.Spec = corev1.PodSpec{
		ServiceAccountName:           serviceAccount,
		AutomountServiceAccountToken: &automount,
		RestartPolicy:                corev1.RestartPolicyOnFailure,
		NodeSelector:                 nodeSelector,
		Volumes:                      volumes,
		InitContainers:               initContainers,
		Containers:                   []corev1.Container{lab},
	}
	if len(tolerations) > 0 {
		pod.Spec.Tolerations = tolerations
	}
	if err := runtimeFromMap(podSC, &pod.Spec.SecurityContext); err != nil {
		t.Fatal(err)
	}
	return &pod
}

// quantitiesEqual compares resource lists by value ("2Gi" equals "2147483648").
var quantitiesEqual = cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })

// checkSpawnerPod: the settings KubeSpawner is given make exactly the exported user pod,
// which passes the restricted Pod Security Standard of notebook-users; no string KubeSpawner
// formats with str.format holds a brace.
func checkSpawnerPod(t *testing.T, m model.Model, out harnessOut) {
	t.Helper()
	if m.UserPod == nil {
		t.Fatal("the model exports no userPod")
	}
	got := kubeSpawnerPod(t, out, spawnOut{})
	if diff := cmp.Diff(m.UserPod, got, quantitiesEqual); diff != "" {
		t.Errorf("the pod KubeSpawner makes of the settings is not the exported userPod (-userPod +KubeSpawner):\n%s", diff)
	}
	checkRestricted(t, "the user pod", m.UserPod)
	for _, v := range stringsOf(t, []any{m.UserPod.Spec.InitContainers, m.UserPod.Spec.Volumes, m.UserPod.Spec.Containers[0].VolumeMounts}) {
		if strings.ContainsAny(v, "{}") {
			t.Errorf("a string of the user pod's init containers, volumes or mounts holds a brace, which KubeSpawner's str.format would take for a field: %q", v)
		}
	}
}

// stringsOf lists every string value of v as JSON gives it.
func stringsOf(t *testing.T, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case string:
			out = append(out, x)
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(tree)
	return out
}

// checkRestricted fails t when pod does not pass the restricted Pod Security Standard.
func checkRestricted(t *testing.T, what string, pod *corev1.Pod) {
	t.Helper()
	e, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	res := policy.AggregateCheckResults(e.EvaluatePod(api.LevelVersion{Level: api.LevelRestricted, Version: api.LatestVersion()}, &pod.ObjectMeta, &pod.Spec))
	if !res.Allowed {
		t.Errorf("%s would violate the restricted Pod Security Standard: %s", what, res.ForbiddenDetail())
	}
}

// checkHook: the pre_spawn_hook gives jdoe the pod model.UserPodFor describes (and the
// init script writes jdoe's entries first); a name LDAP holds no single entry for, a root
// identity and a name that is not an account name get no pod, the last without an LDAP
// search.
func checkHook(t *testing.T, m model.Model, out harnessOut) {
	t.Helper()
	um := m.Instance.UserMapping
	if um.UIDSource == "ldap" {
		wantErr := map[string]string{
			"nobody":         "nobody has 0 entries under " + um.LDAP.UserBase,
			"twice":          "twice has 2 entries under " + um.LDAP.UserBase,
			"rooty":          "rooty has uid 0 and gid 0: a notebook server never runs as root",
			"jdoe@gmail.com": "'jdoe@gmail.com' is not an account name of this site",
			"Jdoe":           "'Jdoe' is not an account name of this site",
		}
		for name, want := range wantErr {
			if got := out.Spawns[name].Error; !strings.Contains(got, want) {
				t.Errorf("spawn of %s: error %q, want one saying %q", name, got, want)
			}
		}
		for _, s := range out.Searches {
			if strings.Contains(s[1], "@") || strings.Contains(s[1], "Jdoe") {
				t.Errorf("LDAP was searched for %s under %s: a name that is not an account name reaches the directory", s[1], s[0])
			}
		}
		for _, c := range out.Connections {
			if c.URL != um.LDAP.URL || !c.UseSSL || c.User != um.LDAP.BindDN || c.Password != "bind-password" {
				t.Errorf("LDAP connection %+v, want %s over TLS as %s with LDAP_BIND_PASSWORD", c, um.LDAP.URL, um.LDAP.BindDN)
			}
		}
	}
	s := out.Spawns["jdoe"]
	if s.Error != "" {
		t.Fatalf("spawn of jdoe failed: %s", s.Error)
	}
	user := jdoe
	if um.UIDSource != "ldap" {
		user = model.NotebookUser{Name: "jdoe", UID: 1000, GID: 1000, Groups: []model.NotebookGroup{{Name: "notebook", GID: 1000}}}
	}
	want, err := model.UserPodFor(m.UserPod, user)
	if err != nil {
		t.Fatal(err)
	}
	got := kubeSpawnerPod(t, out, s)
	got.Name = want.Name // KubeSpawner names it; the hook does not.
	if diff := cmp.Diff(want, got, quantitiesEqual); diff != "" {
		t.Errorf("jdoe's pod from the hook is not UserPodFor's (-UserPodFor +hook):\n%s", diff)
	}
	checkRestricted(t, "jdoe's pod", got)
	for _, v := range stringsOf(t, []any{got.Spec.InitContainers, got.Spec.Containers[0].Env, got.Spec.Containers[0].WorkingDir}) {
		if strings.ContainsAny(v, "{}") {
			t.Errorf("a per-user string of jdoe's pod holds a brace, which KubeSpawner's str.format would take for a field: %q", v)
		}
	}
	runNSS(t, got)
}

// runNSS runs the pod's nss init container's command with /bin/sh over an image /etc of
// its own, and wants the user's entries first, then the image's; and the command without
// the hub's environment to fail.
func runNSS(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	var nss *corev1.Container
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == "nss" {
			nss = &pod.Spec.InitContainers[i]
		}
	}
	if nss == nil || len(nss.Command) != 6 || nss.Command[0] != "/bin/sh" || nss.Command[4] != "/etc" || nss.Command[5] != "/nss" {
		t.Fatalf("nss init container %+v: want /bin/sh -c SCRIPT nss /etc /nss", nss)
	}
	dir := t.TempDir()
	etc, out := filepath.Join(dir, "etc"), filepath.Join(dir, "nss")
	for _, d := range []string{etc, out} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	imagePasswd := "root:x:0:0:root:/root:/bin/bash\njdoe:x:1000:1000::/home/jdoe:/bin/bash\n"
	imageGroup := "root:x:0:\nusers:x:100:\n"
	for name, data := range map[string]string{"passwd": imagePasswd, "group": imageGroup} {
		if err := os.WriteFile(filepath.Join(etc, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"PATH=" + os.Getenv("PATH")}
	home := ""
	for _, e := range nss.Env {
		v := e.Value
		if e.Name == "NSS_HOME" {
			v = filepath.Join(dir, "home", "jdoe")
			home = v
		}
		env = append(env, e.Name+"="+v)
	}
	cmd := exec.Command("/bin/sh", "-c", nss.Command[2], nss.Command[3], etc, out)
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nss script: %v\n%s", err, b)
	}
	get := func(name string) string {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	vars := map[string]string{}
	for _, e := range nss.Env {
		vars[e.Name] = e.Value
	}
	if got, want := get("passwd"), vars["NSS_PASSWD"]+"\n"+imagePasswd; got != want {
		t.Errorf("passwd written:\n%s\nwant:\n%s", got, want)
	}
	wantGroup := imageGroup
	if vars["NSS_GROUP"] != "" {
		wantGroup = vars["NSS_GROUP"] + "\n" + imageGroup
	}
	if got := get("group"); got != wantGroup {
		t.Errorf("group written:\n%s\nwant:\n%s", got, wantGroup)
	}
	if strings.Contains(nss.Command[2], "NSS_HOME") {
		if st, err := os.Stat(home); err != nil || !st.IsDir() {
			t.Errorf("the nss script made no home directory %s: %v", home, err)
		}
	}
	bare := exec.Command("/bin/sh", "-c", nss.Command[2], nss.Command[3], etc, t.TempDir())
	bare.Env = []string{"PATH=" + os.Getenv("PATH")}
	if err := bare.Run(); err == nil {
		t.Error("the nss script succeeds without the hub's NSS_PASSWD: a pod spawned without the hook would start with the image's identity")
	}
}

// TestHubConfigCILogonUIDs runs the configuration of an instance that mounts no GPFS path
// and so takes no UIDs from LDAP: it lets in the identity providers it lists, never looks
// anybody up, and gives everybody one unprivileged identity and an emptyDir home.
func TestHubConfigCILogonUIDs(t *testing.T) {
	root := testrepo.Copy(t, "pdac")
	p := filepath.Join(root, "instances", "pdac", "instance.cue")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	ldap := "\t\tuidSource: \"ldap\"\n\t\tldap: {\n\t\t\tbindDN: \"uid=lsst-k8s-lookup,ou=People,dc=ncsa,dc=illinois,dc=edu\"\n\t\t\tbind: {name: \"ldap-bind\", key: \"password\"}\n\t\t}\n"
	if !bytes.Contains(data, []byte(ldap)) {
		t.Fatalf("instances/pdac/instance.cue has no LDAP mapping to replace:\n%s", data)
	}
	testrepo.WriteFile(t, root, "instances/pdac/instance.cue", strings.Replace(string(data), ldap, "\t\tuidSource: \"cilogon\"\n", 1))
	testrepo.WriteFile(t, root, "instances/pdac/zz_case.cue", `package instance

instance: aspects: notebook: mounts: {home: false, project: false, scratch: false}
instance: userMapping: identityProviders: {
	"https://accounts.google.com": {usernameClaim: "email", domain: "gmail.com"}
	"urn:mace:incommon:uiuc.edu": {domain: "illinois.edu"}
}
`)
	r, err := render.Instance(root, "pdac")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(r.Model.Instance.UserMapping.IdentityProviders); got != 2 {
		t.Fatalf("the model lists %d identity providers, want the 2 the case writes", got)
	}
	out := runHubConfig(t, hubConfig(t, r))
	checkLogin(t, r.Model, out)
	checkSpawnerPod(t, r.Model, out)
	checkHook(t, r.Model, out)
	if len(out.Searches)+len(out.Connections) > 0 {
		t.Errorf("without uidSource ldap the hook still asked LDAP: %v %v", out.Connections, out.Searches)
	}
	if got := out.Spawns["jdoe@gmail.com"].Error; !strings.Contains(got, "is not an account name") {
		t.Errorf("spawn of jdoe@gmail.com: error %q, want the account name refusal", got)
	}
}
