package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/render"
	"github.com/lsst-dm/lsstgen/internal/sync"
	"github.com/lsst-dm/lsstgen/internal/testcluster"
	"github.com/lsst-dm/lsstgen/internal/testrepo"
)

// TestSyncReplicasInTheTwin runs the daemon as an instance deploys it, in a twin shaped
// like pdac whose controllers make pods and whose nodes run them: two `lsstgen sync`
// processes with leader election, the health wait on, authenticated with a token of the
// instance's sync ServiceAccount (not as an administrator). The leader's cycles succeed
// (the wait does not hang on the daemon's own Deployment) and both replicas are ready (the
// standby because it can take over); the leader killed, the standby takes the Lease and
// its own cycles succeed. Then, against the twin's controllers, a Deployment pruned from git
// takes its pods with it, and a Namespace the model lets go, pruned by the operator's sync,
// is finalized.
func TestSyncReplicasInTheTwin(t *testing.T) {
	const instance = "pdac"
	bin := lsstgenBinary(t)
	dir := testrepo.Copy(t, instance)
	testrepo.InitGit(t, dir)
	testrepo.Commit(t, dir, "pdac")
	res, err := render.Instance(dir, instance)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifest.ReadInstance(os.DirFS(dir), manifest.InstanceDir(instance))
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := testcluster.NodesFromModel(res.Model)
	if err != nil {
		t.Fatal(err)
	}
	tw := testcluster.StartTwin(t, nodes)
	ctx := t.Context()
	// The operator's bootstrap, as README says: then the daemon keeps the cluster.
	rejected, err := testcluster.Bootstrap(ctx, tw.Admin(), res.Model.Secrets, objs)
	if err != nil {
		t.Fatal(err)
	}
	if len(rejected) > 0 {
		t.Fatalf("bootstrap rejected: %v", rejected)
	}
	if err := testcluster.WaitConverged(ctx, tw.Admin(), objs, 3*time.Minute); err != nil {
		t.Fatal(err)
	}

	admin := kubernetes.NewForConfigOrDie(tw.Admin())
	kubeconfig := syncAccountKubeconfig(t, tw, admin)
	type replica struct {
		id, addr string
		cmd      *exec.Cmd
		out      *lockedOutput
	}
	start := func(id string) *replica {
		t.Helper()
		r := &replica{id: id, addr: freeAddr(t), out: &lockedOutput{}}
		r.cmd = exec.Command(bin, "sync", "--instance", instance, "--repo", dir, "--kubeconfig", kubeconfig,
			"--cache-dir", t.TempDir(), "--interval", "5s", "--health-timeout", "90s",
			"--self-deployment", "lsstgen-sync", "--leader-elect", "--leader-id", id, "--metrics-addr", r.addr)
		r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
		if err := r.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = r.cmd.Process.Kill()
			_ = r.cmd.Wait()
			if t.Failed() {
				t.Logf("%s's log:\n%s", r.id, tail(r.out.String(), 40))
			}
		})
		return r
	}
	readyz := func(r *replica) (int, string) {
		resp, err := http.Get("http://" + r.addr + "/readyz")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	holder := func() string {
		l, err := admin.CoordinationV1().Leases(sync.DefaultNamespace).Get(ctx, sync.LeaseName(instance), metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}
	// waitFor polls until cond holds or the deadline passes, then says what it saw.
	waitFor := func(what string, d time.Duration, cond func() (bool, string)) {
		t.Helper()
		deadline := time.Now().Add(d)
		for {
			ok, seen := cond()
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not after %v; last seen: %s", what, d, seen)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}

	began := time.Now()
	a, b := start("replica-a"), start("replica-b")
	byID := map[string]*replica{a.id: a, b.id: b}
	var leader, standby *replica
	waitFor("both replicas ready, one leading after a cycle with the health wait", 3*time.Minute, func() (bool, string) {
		h := holder()
		l, ok := byID[h]
		if !ok {
			return false, fmt.Sprintf("Lease held by %q", h)
		}
		leader, standby = l, a
		if l == a {
			standby = b
		}
		lc, lb := readyz(leader)
		sc, sb := readyz(standby)
		return lc == 200 && lb == "ok" && sc == 200 && strings.HasPrefix(sb, "standby"),
			fmt.Sprintf("leader %s /readyz %d %q; standby %s /readyz %d %q", leader.id, lc, lb, standby.id, sc, sb)
	})

	t.Logf("%s leads and synced, %s stands by, both ready, %v after they started", leader.id, standby.id, time.Since(began).Round(time.Second))

	// The leader dies without releasing its Lease: the standby takes over when the Lease
	// expires, and is ready again once a cycle of its own has succeeded.
	killed := time.Now()
	if err := leader.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = leader.cmd.Wait()
	waitFor("the standby taking over and syncing", 2*time.Minute, func() (bool, string) {
		h := holder()
		c, body := readyz(standby)
		return h == standby.id && c == 200 && body == "ok", fmt.Sprintf("Lease held by %q; %s /readyz %d %q", h, standby.id, c, body)
	})
	t.Logf("%s took over and synced %v after %s was killed", standby.id, time.Since(killed).Round(time.Second), leader.id)
	if !strings.Contains(standby.out.String(), `"msg":"leading"`) {
		t.Errorf("%s took the Lease but never logged that it leads", standby.id)
	}

	// Pruning against real controllers. A Deployment that leaves git is deleted and the
	// garbage collector takes its ReplicaSet and pods.
	kust := filepath.Join(dir, manifest.InstanceDir(instance), manifest.KustomizationFile)
	editResources := func(drop string, add ...string) {
		t.Helper()
		b, err := os.ReadFile(kust)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		if drop != "" {
			if !strings.Contains(text, "- "+drop+"\n") {
				t.Fatalf("%s does not list %s", kust, drop)
			}
			text = strings.Replace(text, "- "+drop+"\n", "", 1)
		}
		for _, a := range add {
			text += "- " + a + "\n"
		}
		if err := os.WriteFile(kust, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pods := func(ns, selector string) int {
		l, err := admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			t.Fatal(err)
		}
		return len(l.Items)
	}
	if pods("portal", "app.kubernetes.io/name=suit") == 0 {
		t.Fatal("no pod of Deployment/portal/suit before its prune: the test would prove nothing")
	}
	editResources("portal/deployment-suit.yaml")
	testrepo.Commit(t, dir, "drop suit")
	waitFor("Deployment/portal/suit pruned and its pods gone", time.Minute, func() (bool, string) {
		_, err := admin.AppsV1().Deployments("portal").Get(ctx, "suit", metav1.GetOptions{})
		n := pods("portal", "app.kubernetes.io/name=suit")
		return apierrors.IsNotFound(err) && n == 0, fmt.Sprintf("get: %v; %d pods", err, n)
	})

	// A Namespace the model lets go (lsst.org/prune=allowed) is deleted when it leaves git,
	// and the namespace controller finalizes it: its objects go, then it does. Namespaces
	// are the bootstrap tier's, which the daemon's ServiceAccount may not write: the
	// break-glass operator runs this sync (`lsstgen sync --once` as an administrator), with
	// the daemon stopped so that one writer runs.
	_ = standby.cmd.Process.Signal(syscall.SIGTERM)
	_ = standby.cmd.Wait()
	adminKubeconfig := filepath.Join(t.TempDir(), "admin-kubeconfig")
	if err := os.WriteFile(adminKubeconfig, tw.KubeConfig(), 0o600); err != nil {
		t.Fatal(err)
	}
	syncOnce := func() {
		t.Helper()
		out, err := exec.Command(bin, "sync", "--once", "--instance", instance, "--repo", dir, "--kubeconfig", adminKubeconfig,
			"--cache-dir", t.TempDir(), "--health-timeout", "60s", "--self-deployment", "lsstgen-sync").CombinedOutput()
		if err != nil {
			t.Fatalf("lsstgen sync --once as the operator: %v\n%s", err, tail(string(out), 30))
		}
	}
	testrepo.WriteFile(t, dir, filepath.Join(manifest.InstanceDir(instance), "scratch", "namespace-scratch.yaml"),
		"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: scratch\n  annotations:\n    "+manifest.AnnotationPrune+": "+manifest.PruneAllowed+"\n")
	testrepo.WriteFile(t, dir, filepath.Join(manifest.InstanceDir(instance), "scratch", "configmap-notes.yaml"),
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\n  namespace: scratch\ndata:\n  a: b\n")
	editResources("", "scratch/namespace-scratch.yaml", "scratch/configmap-notes.yaml")
	testrepo.Commit(t, dir, "add scratch")
	syncOnce()
	waitFor("ConfigMap/scratch/notes applied", time.Minute, func() (bool, string) {
		_, err := admin.CoreV1().ConfigMaps("scratch").Get(ctx, "notes", metav1.GetOptions{})
		return err == nil, fmt.Sprint(err)
	})
	editResources("scratch/namespace-scratch.yaml")
	editResources("scratch/configmap-notes.yaml")
	testrepo.Commit(t, dir, "drop scratch")
	syncOnce()
	waitFor("Namespace/scratch pruned and finalized", time.Minute, func() (bool, string) {
		ns, err := admin.CoreV1().Namespaces().Get(ctx, "scratch", metav1.GetOptions{})
		if err == nil {
			return false, fmt.Sprintf("phase %s", ns.Status.Phase)
		}
		return apierrors.IsNotFound(err), err.Error()
	})
}

// syncAccountKubeconfig writes a kubeconfig that authenticates as the instance's sync
// ServiceAccount, with a token the apiserver issues for it.
func syncAccountKubeconfig(t *testing.T, tw *testcluster.Twin, admin kubernetes.Interface) string {
	t.Helper()
	exp := int64(3600)
	tok, err := admin.CoreV1().ServiceAccounts(sync.DefaultNamespace).CreateToken(t.Context(), "lsstgen-sync",
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("a token for ServiceAccount/%s/lsstgen-sync: %v", sync.DefaultNamespace, err)
	}
	cfg := tw.Admin()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["twin"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["lsstgen-sync"] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	kc.Contexts["twin"] = &clientcmdapi.Context{Cluster: "twin", AuthInfo: "lsstgen-sync"}
	kc.CurrentContext = "twin"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
