package main

import (
	"bytes"
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/render"
	"github.com/lsst-dm/lsstgen/internal/testcluster"
	"github.com/lsst-dm/lsstgen/internal/testrepo"
)

// signalWriter is a goroutine-safe buffer that closes ready when the command prints the
// export line.
type signalWriter struct {
	mu    sync.Mutex
	b     bytes.Buffer
	once  sync.Once
	ready chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.b.Write(p)
	if strings.Contains(w.b.String(), "export KUBECONFIG=") {
		w.once.Do(func() { close(w.ready) })
	}
	return n, err
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func TestDevCluster(t *testing.T) {
	testcluster.NeedBinaries(t)
	kubeconfig := filepath.Join(t.TempDir(), "sub", "kubeconfig")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &signalWriter{ready: make(chan struct{})}
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"cluster", "--kubeconfig-out", kubeconfig}, out, &stderr) }()

	select {
	case <-out.ready:
	case code := <-done:
		t.Fatalf("cluster exited with %d before it was up:\n%s\n%s", code, out, stderr.String())
	case <-time.After(90 * time.Second):
		t.Fatalf("cluster not up after 90 s:\n%s", out)
	}
	for _, want := range []string{"admin kubeconfig: " + kubeconfig, "export KUBECONFIG=" + kubeconfig, "kubectl get ns", "lsstgen sync --instance pdac --once"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	nss, err := cs.CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("the written kubeconfig does not work: %v", err)
	}
	if len(nss.Items) == 0 {
		t.Fatal("no namespaces listed")
	}
	// The aggregated built-in roles hold rules, as on a real cluster.
	view, err := cs.RbacV1().ClusterRoles().Get(t.Context(), "view", metav1.GetOptions{})
	if err != nil || len(view.Rules) == 0 {
		t.Errorf("ClusterRole view is not aggregated: %v, %d rules", err, len(view.Rules))
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("cluster exited with %d after Ctrl-C:\n%s", code, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("cluster did not stop within 60 s of Ctrl-C")
	}
	if _, err := os.Stat(kubeconfig); !os.IsNotExist(err) {
		t.Errorf("kubeconfig left behind after stop: %v", err)
	}
	u, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	if conn, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
		conn.Close()
		t.Errorf("kube-apiserver still serves at %s after stop", u.Host)
	}
}

func TestDevClusterWithoutBinaries(t *testing.T) {
	t.Setenv(testcluster.EnvBinDir, t.TempDir())
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"cluster"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), testcluster.BuildCommand) {
		t.Fatalf("exit %d, stderr %q; want 1 and a hint to run %s", code, stderr.String(), testcluster.BuildCommand)
	}
}

func TestDevClusterUnwritableKubeconfig(t *testing.T) {
	testcluster.NeedBinaries(t)
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"cluster", "--kubeconfig-out", filepath.Join(file, "kubeconfig")}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "writing the kubeconfig") {
		t.Fatalf("exit %d, stderr %q; want 1 and the kubeconfig error", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "stopping etcd and kube-apiserver") {
		t.Errorf("the control plane was not stopped after the error:\n%s", stdout.String())
	}
}

// TestDevClusterTwinApply runs `cluster --instance commissioning --apply` (the smallest
// instance), and through the kubeconfig it writes checks that the nodes are the model's,
// with their roles' labels and taints, that every pod of the instance is Running on a node
// of the role the model intends (qserv on the nodes dedicated to qserv, the registry on
// the registry node, the log forwarder everywhere, everything else on nodes dedicated to
// nothing), and that Ctrl-C stops the twin and removes the kubeconfig.
func TestDevClusterTwinApply(t *testing.T) {
	testcluster.NeedTwin(t)
	const instance = "commissioning"
	root, err := manifest.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	res, err := render.Instance(root, instance)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Model

	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &signalWriter{ready: make(chan struct{})}
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"cluster", "--instance", instance, "--apply", "--kubeconfig-out", kubeconfig}, out, &stderr)
	}()
	select {
	case <-out.ready:
	case code := <-done:
		t.Fatalf("cluster exited with %d before it was up:\n%s\n%s", code, out, stderr.String())
	case <-time.After(4 * time.Minute):
		t.Fatalf("the twin not up and converged after 4 min:\n%s", out)
	}
	for _, want := range []string{
		"starting a twin of " + instance, "bootstrapping " + instance, instance + " converged in",
		"export KUBECONFIG=" + kubeconfig, "kubectl get pods -A -o wide", "kubectl get nodes -L lsst.org/role",
		"no container runs, no probe is executed, no volume is mounted, no pod network",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(cfg)
	nodes, err := cs.CoreV1().Nodes().List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("the written kubeconfig does not work: %v", err)
	}
	roleOf := map[string]string{}
	for _, n := range nodes.Items {
		want, ok := m.Instance.Nodes[n.Name]
		if !ok {
			t.Errorf("Node/%s is not a node of %s", n.Name, instance)
			continue
		}
		roleOf[n.Name] = want.Role
		for k, v := range m.NodeLabels(n.Name) {
			if n.Labels[k] != v {
				t.Errorf("Node/%s has label %s=%q, want %q", n.Name, k, n.Labels[k], v)
			}
		}
		if diff := cmp.Diff(m.Roles[want.Role].Taints, n.Spec.Taints, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Node/%s taints (-want +got):\n%s", n.Name, diff)
		}
	}
	if len(roleOf) != len(m.Instance.Nodes) {
		t.Errorf("%d nodes of %s in the twin, the model has %d", len(roleOf), instance, len(m.Instance.Nodes))
	}

	pods, err := cs.CoreV1().Pods("").List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	onNode := map[string]int{}
	for _, p := range pods.Items {
		id, node := p.Namespace+"/"+p.Name, p.Spec.NodeName
		// A Job's pod runs to completion (the registry's provisioning); every other pod
		// keeps running.
		job := slices.ContainsFunc(p.OwnerReferences, func(r metav1.OwnerReference) bool { return r.Kind == "Job" })
		if p.Status.Phase != corev1.PodRunning && (!job || p.Status.Phase != corev1.PodSucceeded) {
			t.Errorf("Pod/%s is %s on node %q, want Running (Succeeded for a Job's pod)", id, p.Status.Phase, node)
			continue
		}
		onNode[node]++
		role := m.Roles[roleOf[node]]
		switch p.Namespace {
		case "logging":
		case "qserv", "registry", "qserv-os-admin":
			// qserv's OS admins' shell runs on the qserv nodes, in a namespace of its own.
			want := strings.TrimSuffix(p.Namespace, "-os-admin")
			if role.DedicatedTo != want {
				t.Errorf("Pod/%s runs on node %s of role %q, not one dedicated to %s", id, node, role.Name, want)
			}
		default:
			if role.DedicatedTo != "" {
				t.Errorf("Pod/%s runs on node %s of role %q, dedicated to %s", id, node, role.Name, role.DedicatedTo)
			}
		}
	}
	if len(pods.Items) < 20 {
		t.Errorf("only %d pods in the twin of %s", len(pods.Items), instance)
	}
	for name := range m.Instance.Nodes {
		if onNode[name] == 0 {
			t.Errorf("no pod runs on node %s (the log forwarder runs on every node)", name)
		}
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("cluster exited with %d after Ctrl-C:\n%s", code, stderr.String())
		}
	case <-time.After(90 * time.Second):
		t.Fatal("the twin did not stop within 90 s of Ctrl-C")
	}
	if !strings.Contains(out.String(), "stopping the twin") {
		t.Errorf("output does not say the twin stopped:\n%s", out)
	}
	if _, err := os.Stat(kubeconfig); !os.IsNotExist(err) {
		t.Errorf("kubeconfig left behind after stop: %v", err)
	}
	u, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	if conn, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
		conn.Close()
		t.Errorf("kube-apiserver still serves at %s after stop", u.Host)
	}
}

// TestDevClusterFlagErrors: --apply without an instance, and an instance that does not
// exist, are refused before anything starts, naming what to do.
func TestDevClusterFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"apply without instance", []string{"cluster", "--apply"}, "--apply needs --instance NAME"},
		{"unknown instance", []string{"cluster", "--instance", "nowhere"}, `no instance "nowhere" under instances/; the instances are chilean-dac, commissioning, pdac, science-validation, us-dac`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tc.args, &stdout, &stderr)
			if code != 1 || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, stderr.String(), tc.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("something started: %s", stdout.String())
			}
		})
	}
}

// TestDevClusterTwinWithoutKWOK: a twin without KWOK built is refused, naming the command
// that builds it.
func TestDevClusterTwinWithoutKWOK(t *testing.T) {
	testcluster.NeedBinaries(t)
	t.Setenv(testcluster.EnvKWOKDir, t.TempDir())
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"cluster", "--instance", "pdac"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), testcluster.KWOKBuildCommand) {
		t.Fatalf("exit %d, stderr %q; want 1 and a hint to run %s", code, stderr.String(), testcluster.KWOKBuildCommand)
	}
}

// TestDevClusterTwinRefusesBeforeStarting: a kubeconfig that cannot be written and an
// instance whose generated/ folder is missing are errors before the twin starts.
func TestDevClusterTwinRefusesBeforeStarting(t *testing.T) {
	_, kwok := testcluster.NeedTwin(t)
	t.Setenv(testcluster.EnvKWOKDir, kwok) // the copy has no .bin/
	repo := testrepo.Copy(t, "commissioning")
	if err := os.RemoveAll(filepath.Join(repo, manifest.InstanceDir("commissioning"))); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unwritable kubeconfig", []string{"cluster", "--instance", "pdac", "--kubeconfig-out", filepath.Join(file, "kubeconfig")}, "writing the kubeconfig"},
		{"no generated folder", []string{"-C", repo, "cluster", "--instance", "commissioning", "--apply"}, "generated/commissioning/kustomization.yaml"},
		{"no generated folder, what to do", []string{"-C", repo, "cluster", "--instance", "commissioning", "--apply"}, "(run 'lsstgen render commissioning')"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tc.args, &stdout, &stderr)
			if code != 1 || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, stderr.String(), tc.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("the twin was started: %s", stdout.String())
			}
		})
	}
}

// TestDevClusterTwinApplyFailures: an object of generated/NAME the apiserver refuses is an
// error naming its file, its id and the apiserver's words; an instance that has not
// converged within --timeout is an error listing what has not; either way the twin is
// stopped and the kubeconfig removed.
func TestDevClusterTwinApplyFailures(t *testing.T) {
	_, kwok := testcluster.NeedTwin(t)
	t.Setenv(testcluster.EnvKWOKDir, kwok) // the copy has no .bin/
	const instance = "commissioning"
	dir := manifest.InstanceDir(instance)
	refused := testrepo.Copy(t, instance)
	testrepo.WriteFile(t, refused, dir+"/notebook/deployment-bogus.yaml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: bogus, namespace: notebook}
spec:
  replicas: 1
  selector: {matchLabels: {app: bogus}}
  template:
    metadata: {labels: {app: bogus}}
    spec:
      containers: [{name: main, image: example.org/bogus:1, noSuchField: true}]
`)
	kfile := filepath.Join(refused, filepath.FromSlash(dir), manifest.KustomizationFile)
	k, err := os.ReadFile(kfile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kfile, append(k, []byte("- notebook/deployment-bogus.yaml\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"refused", []string{"-C", refused, "cluster", "--instance", instance, "--apply"},
			[]string{"the apiserver refused 1 objects of generated/commissioning:", dir + "/notebook/deployment-bogus.yaml: Deployment/notebook/bogus:", "noSuchField"}},
		{"not converged", []string{"cluster", "--instance", instance, "--apply", "--timeout", "1ns"},
			// What has not converged yet 1ns after the apply depends on the machine's speed;
			// that something is listed does not.
			[]string{"commissioning: not converged within 1ns", " problems:\n  - "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), append(tc.args, "--kubeconfig-out", kubeconfig), &stdout, &stderr)
			if code != 1 {
				t.Fatalf("exit %d, want 1:\n%s\n%s", code, stdout.String(), stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
			if !strings.Contains(stdout.String(), "stopping the twin") {
				t.Errorf("the twin was not stopped after the error:\n%s", stdout.String())
			}
			if _, err := os.Stat(kubeconfig); !os.IsNotExist(err) {
				t.Errorf("kubeconfig left behind: %v", err)
			}
		})
	}
}
