package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	gosync "sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/lsst-dm/lsstgen/internal/sync"
	"github.com/lsst-dm/lsstgen/internal/testcluster"
)

// built is the lsstgen binary, built once for the package's tests that run it as a process.
var built struct {
	once gosync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// lsstgenBinary returns the path of lsstgen built from this package with go build, with
// the test hooks compiled in.
func lsstgenBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "lsstgen-bin-"); built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "lsstgen")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		// The test hooks (sync.EnvPauseBeforeInventoryCommit) exist only in a test build.
		out, err := exec.CommandContext(ctx, "go", "build", "-tags", sync.TestHooksTag, "-o", built.path, ".").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// TestSyncKilledBeforeInventoryCommit kills `lsstgen sync --once` with SIGKILL after it
// applied a commit adding ConfigMap late and before it committed the inventory; the next
// commit removes late again, and the next run must prune it (known only as pending) and
// nothing else.
func TestSyncKilledBeforeInventoryCommit(t *testing.T) {
	stopBeforeInventoryCommit(t, syscall.SIGKILL)
}

// TestSyncTerminatedBeforeInventoryCommit: the same with SIGTERM, which stops the cycle
// gracefully: lsstgen exits by itself, non-zero (the cycle did not finish), leaving the
// inventory with the applied objects pending, and the next run converges.
func TestSyncTerminatedBeforeInventoryCommit(t *testing.T) {
	stopBeforeInventoryCommit(t, syscall.SIGTERM)
}

func stopBeforeInventoryCommit(t *testing.T, sig syscall.Signal) {
	c := testcluster.Start(t)
	bin := lsstgenBinary(t)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, c.KubeConfig(), 0o600); err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(c.Admin())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r := newSyncTestRepo(t)
	lsstgen := func(env ...string) *exec.Cmd {
		cmd := exec.Command(bin, "sync", "--once", "--instance", "cli", "--repo", r.dir, "--kubeconfig", kubeconfig, "--health-timeout", "30s")
		cmd.Env = append(os.Environ(), env...)
		return cmd
	}
	runOK := func() {
		t.Helper()
		cmd := lsstgen()
		done := make(chan error, 1)
		var out []byte
		go func() {
			var err error
			out, err = cmd.CombinedOutput()
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("lsstgen sync --once: %v\n%s", err, out)
			}
		case <-time.After(2 * time.Minute):
			_ = cmd.Process.Kill()
			t.Fatal("lsstgen sync --once did not finish in 2 minutes")
		}
	}
	inventory := func() (commit, objects, pending string) {
		t.Helper()
		cm, err := cs.CoreV1().ConfigMaps(sync.DefaultNamespace).Get(ctx, sync.InventoryName("cli"), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm.Data[sync.InventoryCommit], cm.Data[sync.InventoryObjects], cm.Data[sync.InventoryPending]
	}
	exists := func(name string) bool {
		t.Helper()
		_, err := cs.CoreV1().ConfigMaps("cli-ns").Get(ctx, name, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		return err == nil
	}

	first := r.commit("a", "b", "c", "d")
	runOK()

	// The run that is killed: it applies late, records it as pending, and pauses just
	// before the inventory commit.
	r.commit("a", "b", "c", "d", "late")
	marker := filepath.Join(t.TempDir(), "paused")
	cmd := lsstgen(sync.EnvPauseBeforeInventoryCommit + "=" + marker)
	var killedOut lockedOutput
	cmd.Stdout, cmd.Stderr = &killedOut, &killedOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	deadline := time.After(2 * time.Minute)
	for paused := false; !paused; {
		select {
		case err := <-waited:
			t.Fatalf("lsstgen exited (%v) before pausing at the inventory commit:\n%s", err, killedOut.String())
		case <-deadline:
			t.Fatalf("lsstgen did not pause at the inventory commit in 2 minutes:\n%s", killedOut.String())
		case <-time.After(50 * time.Millisecond):
			_, err := os.Stat(marker)
			paused = err == nil
		}
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waited:
		ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
		switch {
		case !ok:
			t.Fatalf("lsstgen ended with %v", err)
		case sig == syscall.SIGKILL && (!ws.Signaled() || ws.Signal() != syscall.SIGKILL):
			t.Fatalf("lsstgen ended with %v, want killed by SIGKILL", err)
		case sig == syscall.SIGTERM && (ws.Signaled() || ws.ExitStatus() == 0):
			t.Fatalf("lsstgen ended with %v after SIGTERM, want a graceful non-zero exit:\n%s", err, killedOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("lsstgen did not stop within 30s of %v", sig)
	}
	if !exists("late") {
		t.Fatal("ConfigMap late was not applied before the kill")
	}
	if commit, _, pending := inventory(); commit != first || pending == "" {
		t.Fatalf("inventory after the kill: commit %s, pending %q; want %s with late pending", commit, pending, first)
	}
	before := map[string]string{}
	for _, name := range []string{"a", "b", "c", "d"} {
		cm, err := cs.CoreV1().ConfigMaps("cli-ns").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		before[name] = cm.ResourceVersion
	}

	// git drops late again; the next run prunes it, and only it.
	fixed := r.commit("a", "b", "c", "d")
	runOK()
	if exists("late") {
		t.Error("ConfigMap late, applied by the killed run and removed from git, was not pruned")
	}
	for _, name := range []string{"a", "b", "c", "d"} {
		cm, err := cs.CoreV1().ConfigMaps("cli-ns").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("ConfigMap %s: %v", name, err)
			continue
		}
		if cm.ResourceVersion != before[name] {
			t.Errorf("ConfigMap %s was written by the run after the kill", name)
		}
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, "cli-ns", metav1.GetOptions{}); err != nil {
		t.Errorf("Namespace cli-ns: %v", err)
	}
	commit, objects, pending := inventory()
	if commit != fixed || pending != "" {
		t.Errorf("inventory commit %s pending %q, want %s and nothing pending", commit, pending, fixed)
	}
	var entries []sync.Entry
	if err := json.Unmarshal([]byte(objects), &entries); err != nil {
		t.Fatalf("inventory objects %q: %v", objects, err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.String())
	}
	wantObjects := []string{"ConfigMap/cli-ns/a", "ConfigMap/cli-ns/b", "ConfigMap/cli-ns/c", "ConfigMap/cli-ns/d", "Namespace/cli-ns"}
	if diff := cmp.Diff(wantObjects, got); diff != "" {
		t.Errorf("inventory objects (-want +got):\n%s", diff)
	}
}

// lockedOutput collects a process's output, safe to read while it runs.
type lockedOutput struct {
	mu gosync.Mutex
	b  []byte
}

func (l *lockedOutput) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedOutput) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}
