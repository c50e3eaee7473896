package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/lsst-dm/lsstgen/internal/testcluster"
	"github.com/lsst-dm/lsstgen/internal/testrepo"
)

// syncTestRepo is a git repository holding generated/cli/ with a Namespace and ConfigMaps.
type syncTestRepo struct {
	t   *testing.T
	dir string
}

func newSyncTestRepo(t *testing.T) *syncTestRepo {
	r := &syncTestRepo{t: t, dir: t.TempDir()}
	testrepo.InitGit(t, r.dir)
	return r
}

func (r *syncTestRepo) git(args ...string) string {
	r.t.Helper()
	return testrepo.Git(r.t, r.dir, args...)
}

// commit writes generated/cli/ with the Namespace cli-ns and one ConfigMap per name.
func (r *syncTestRepo) commit(configMaps ...string) string {
	r.t.Helper()
	dir := filepath.Join(r.dir, "generated", "cli")
	if err := os.RemoveAll(dir); err != nil {
		r.t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.t.Fatal(err)
	}
	files := map[string]string{"namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: cli-ns\n"}
	k := "resources:\n- namespace.yaml\n"
	for _, name := range configMaps {
		files["cm-"+name+".yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: cli-ns\ndata:\n  k: v\n"
		k += "- cm-" + name + ".yaml\n"
	}
	files["kustomization.yaml"] = k
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	r.git("add", "-A")
	r.git("commit", "--quiet", "-m", "cli")
	return r.git("rev-parse", "HEAD")
}

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// jsonLines decodes JSON log lines, failing on any other line.
func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("stdout line %q is not JSON: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestSyncAndDiffCommands(t *testing.T) {
	c := testcluster.Start(t)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, c.KubeConfig(), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newSyncTestRepo(t)
	first := r.commit("a", "b", "c", "d", "e")
	base := []string{"--instance", "cli", "--repo", r.dir, "--kubeconfig", kubeconfig}
	syncOnce := append([]string{"sync", "--once"}, base...)
	diff := append([]string{"diff"}, base...)

	t.Run("diff before the first sync", func(t *testing.T) {
		code, out, errOut := runCmd(t, diff...)
		if code != 2 || !strings.Contains(out, "created    ConfigMap/cli-ns/a") || !strings.Contains(out, "created    Namespace/cli-ns") {
			t.Errorf("exit %d, stdout %q, stderr %q; want 2 and the creations", code, out, errOut)
		}
	})
	t.Run("dry run", func(t *testing.T) {
		code, out, errOut := runCmd(t, append(syncOnce, "--dry-run")...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		for _, l := range jsonLines(t, out) {
			if l["dry_run"] != true {
				t.Errorf("line without dry_run: %v", l)
			}
		}
		code, _, _ = runCmd(t, diff...)
		if code != 2 {
			t.Errorf("diff after a dry run: exit %d, want 2 (nothing was applied)", code)
		}
	})
	t.Run("first sync", func(t *testing.T) {
		code, out, errOut := runCmd(t, syncOnce...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var objects int
		var cycle map[string]any
		for _, l := range jsonLines(t, out) {
			switch l["msg"] {
			case "object":
				objects++
			case "cycle":
				cycle = l
			}
		}
		if objects != 6 || cycle == nil || cycle["commit"] != first || cycle["created"] != float64(6) {
			t.Errorf("%d object lines and cycle line %v, want 6 and commit %s:\n%s", objects, cycle, first, out)
		}
	})
	t.Run("diff after the sync", func(t *testing.T) {
		code, out, errOut := runCmd(t, diff...)
		if code != 0 || !strings.Contains(out, "no changes") {
			t.Errorf("exit %d, stdout %q, stderr %q; want 0 and no changes", code, out, errOut)
		}
	})
	t.Run("second sync logs no object", func(t *testing.T) {
		code, out, errOut := runCmd(t, syncOnce...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		for _, l := range jsonLines(t, out) {
			if l["msg"] != "cycle" {
				t.Errorf("unexpected line %v", l)
			}
		}
	})
	t.Run("diff names the fields edited by hand", func(t *testing.T) {
		cs, err := kubernetes.NewForConfig(c.Admin())
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		cm, err := cs.CoreV1().ConfigMaps("cli-ns").Get(ctx, "a", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.Data["k"] = "edited"
		if _, err := cs.CoreV1().ConfigMaps("cli-ns").Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := runCmd(t, diff...)
		if code != 2 || !strings.Contains(out, `configured ConfigMap/cli-ns/a: data.k: "edited" → "v"`) {
			t.Errorf("exit %d, stdout %q, stderr %q; want 2 and the field", code, out, errOut)
		}
		if code, _, errOut := runCmd(t, syncOnce...); code != 0 {
			t.Fatalf("sync after the hand edit: exit %d: %s", code, errOut)
		}
	})
	t.Run("bad revision fails", func(t *testing.T) {
		code, _, errOut := runCmd(t, append(syncOnce, "--revision", "nope")...)
		if code == 0 || !strings.Contains(errOut, "sync of cli failed") || !strings.Contains(errOut, "nope") {
			t.Errorf("exit %d, stderr %q; want non-zero naming the revision", code, errOut)
		}
	})
	t.Run("oversized prune fails", func(t *testing.T) {
		r.commit("a")
		code, out, errOut := runCmd(t, diff...)
		if code != 2 || strings.Count(out, "deleted") != 4 {
			t.Errorf("diff: exit %d, stdout %q, stderr %q; want 2 and 4 deletions", code, out, errOut)
		}
		code, _, errOut = runCmd(t, syncOnce...)
		if code == 0 || !strings.Contains(errOut, "prune refused") {
			t.Errorf("exit %d, stderr %q; want a refused prune", code, errOut)
		}
		code, _, errOut = runCmd(t, append(syncOnce, "--force-prune")...)
		if code != 0 {
			t.Errorf("with --force-prune: exit %d, stderr %q", code, errOut)
		}
		code, out, _ = runCmd(t, diff...)
		if code != 0 {
			t.Errorf("diff after the forced prune: exit %d, stdout %q", code, out)
		}
	})
	t.Run("another writer holds the Lease", func(t *testing.T) {
		// A daemon of the instance leads: --once waits its bound, fails naming the
		// holder, and applies nothing (the commit below would create ConfigMap b).
		cs := kubernetes.NewForConfigOrDie(c.Admin())
		holder, seconds := "lsstgen-sync-7d9f-abcde", int32(3600)
		now := metav1.NewMicroTime(time.Now())
		lease := &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: "lsstgen-system", Name: "lsstgen-sync-cli"},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &seconds, AcquireTime: &now, RenewTime: &now},
		}
		// The earlier runs left the Lease released (no holder): the daemon takes it over.
		_ = cs.CoordinationV1().Leases("lsstgen-system").Delete(context.Background(), lease.Name, metav1.DeleteOptions{})
		if _, err := cs.CoordinationV1().Leases("lsstgen-system").Create(context.Background(), lease, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		defer func() {
			_ = cs.CoordinationV1().Leases("lsstgen-system").Delete(context.Background(), lease.Name, metav1.DeleteOptions{})
		}()
		r.commit("a", "b")
		code, _, errOut := runCmd(t, append(syncOnce, "--lease-wait", "2s")...)
		if code == 0 || !strings.Contains(errOut, "held by "+holder) || !strings.Contains(errOut, "applied nothing") {
			t.Errorf("exit %d, stderr %q; want non-zero naming the Lease's holder", code, errOut)
		}
		if _, err := cs.CoreV1().ConfigMaps("cli-ns").Get(context.Background(), "b", metav1.GetOptions{}); err == nil {
			t.Error("ConfigMap/cli-ns/b was applied while another writer held the Lease")
		}
		code, _, errOut = runCmd(t, append(syncOnce, "--lease-wait", "0s")...)
		if code == 0 || !strings.Contains(errOut, "not positive") {
			t.Errorf("--lease-wait 0s: exit %d, stderr %q; want a refusal", code, errOut)
		}
	})
}

func TestSyncCommandErrors(t *testing.T) {
	r := newSyncTestRepo(t)
	r.commit("a")
	missing := filepath.Join(t.TempDir(), "missing")
	empty := filepath.Join(t.TempDir(), "empty")
	keyFile := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nnot read before known_hosts\n-----END OPENSSH PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no instance", []string{"sync", "--once", "--repo", r.dir}, `"instance" not set`},
		{"kubeconfig missing", []string{"sync", "--once", "--instance", "cli", "--repo", r.dir, "--kubeconfig", missing}, "loading the kubeconfig"},
		{"diff kubeconfig missing", []string{"diff", "--instance", "cli", "--repo", r.dir, "--kubeconfig", missing}, "loading the kubeconfig"},
		{"bad share", []string{"sync", "--once", "--instance", "cli", "--repo", r.dir, "--kubeconfig", writeKubeconfig(t), "--max-prune-share", "2"}, "not between 0 and 1"},
		{"no repository", []string{"-C", t.TempDir(), "sync", "--once", "--instance", "cli", "--kubeconfig", writeKubeconfig(t)}, ""},
		{"bad metrics address", []string{"sync", "--once", "--instance", "cli", "--repo", r.dir, "--kubeconfig", writeKubeconfig(t), "--metrics-addr", "nowhere:x"}, "--metrics-addr"},
		{"no interval", []string{"sync", "--instance", "cli", "--repo", r.dir, "--kubeconfig", writeKubeconfig(t), "--interval", "0"}, "interval 0s is not positive"},
		{"token file missing", []string{"sync", "--once", "--instance", "cli", "--repo", "https://git.example.org/x.git", "--kubeconfig", writeKubeconfig(t), "--git-token-file", missing}, "reading --git-token-file"},
		{"token file empty", []string{"sync", "--once", "--instance", "cli", "--repo", "https://git.example.org/x.git", "--kubeconfig", writeKubeconfig(t), "--git-token-file", empty}, "--git-token-file " + empty + " is empty"},
		{"CA file missing", []string{"sync", "--once", "--instance", "cli", "--repo", "https://git.example.org/x.git", "--kubeconfig", writeKubeconfig(t), "--git-ca-file", missing}, "reading --git-ca-file"},
		{"known_hosts missing", []string{"sync", "--once", "--instance", "cli", "--repo", "git@git.example.org:x.git", "--kubeconfig", writeKubeconfig(t), "--git-ssh-key-file", keyFile, "--git-known-hosts-file", missing}, "reading --git-known-hosts-file"},
		{"webhook with --once", []string{"sync", "--once", "--instance", "cli", "--repo", r.dir, "--kubeconfig", writeKubeconfig(t), "--webhook-addr", ":0", "--webhook-secret-file", keyFile}, "makes no sense with --once"},
		{"webhook without a secret", []string{"sync", "--instance", "cli", "--repo", r.dir, "--kubeconfig", writeKubeconfig(t), "--webhook-addr", "127.0.0.1:0"}, "needs --webhook-secret-file"},
		{"webhook with an empty secret", []string{"sync", "--instance", "cli", "--repo", r.dir, "--kubeconfig", writeKubeconfig(t), "--webhook-addr", "127.0.0.1:0", "--webhook-secret-file", empty}, "secret is empty"},
		{"webhook Service without the pod's address", []string{"sync", "--instance", "cli", "--repo", r.dir, "--kubeconfig", writeKubeconfig(t), "--webhook-addr", ":9091", "--webhook-service", "hook", "--pod-ip", ""}, "needs this pod's address"},
		{"webhook Service without a port", []string{"sync", "--instance", "cli", "--repo", r.dir, "--kubeconfig", writeKubeconfig(t), "--webhook-service", "hook", "--pod-ip", "10.0.0.1"}, "needs --webhook-addr with a port"},
		{"key without known_hosts", []string{"sync", "--once", "--instance", "cli", "--repo", "git@git.example.org:x.git", "--kubeconfig", writeKubeconfig(t), "--git-ssh-key-file", keyFile}, "needs known_hosts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, tc.args...)
			if code != 1 || !strings.Contains(errOut, tc.want) || errOut == "" {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, errOut, tc.want)
			}
		})
	}
}

// writeKubeconfig writes a kubeconfig naming an apiserver that is not there.
func writeKubeconfig(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "kubeconfig")
	const kc = `apiVersion: v1
kind: Config
clusters:
- name: none
  cluster:
    server: https://127.0.0.1:1
contexts:
- name: none
  context:
    cluster: none
    user: none
current-context: none
users:
- name: none
  user:
    token: x
`
	if err := os.WriteFile(f, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestSyncDaemonCommand(t *testing.T) {
	c := testcluster.Start(t)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, c.KubeConfig(), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newSyncTestRepo(t)
	r.commit("a")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"sync", "--instance", "cli", "--repo", r.dir, "--kubeconfig", kubeconfig,
		"--interval", "500ms", "--leader-id", "test-replica", "--metrics-addr", "127.0.0.1:0"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d after the context ended: %s", code, stderr.String())
	}
	var leading, cycles, metrics int
	for _, l := range jsonLines(t, stdout.String()) {
		switch l["msg"] {
		case "serving metrics":
			metrics++
		case "leading":
			leading++
			if l["identity"] != "test-replica" {
				t.Errorf("leading line %v, want identity test-replica", l)
			}
		case "cycle":
			cycles++
		}
	}
	if metrics != 1 {
		t.Errorf("no line saying where metrics are served:\n%s", stdout.String())
	}
	if leading != 1 || cycles < 2 {
		t.Errorf("%d leading lines and %d cycles in 4s at 500ms, want 1 and several:\n%s", leading, cycles, stdout.String())
	}
}

func TestWebhookBranch(t *testing.T) {
	for rev, want := range map[string]string{
		"main": "main", "refs/heads/release": "release", "HEAD": "", "": "",
		"refs/tags/v1": "", "0123456789abcdef0123456789abcdef01234567": "", "deadbeef": "",
	} {
		if got := webhookBranch(rev); got != want {
			t.Errorf("webhookBranch(%q) = %q, want %q", rev, got, want)
		}
	}
}
