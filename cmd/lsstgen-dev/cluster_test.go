package main

import (
	"bytes"
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/lsst-dm/lsstgen/internal/testcluster"
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
