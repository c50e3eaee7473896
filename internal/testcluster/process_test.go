package testcluster

import (
	"bufio"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// envHelper makes the test binary a child process of the tests below: "panic" runs
// TestPanicHelper, "hang" starts a control plane and waits to be killed.
const envHelper = "LSSTGEN_TESTCLUSTER_HELPER"

func helperMain(m *testing.M) int {
	switch os.Getenv(envHelper) {
	case "hang":
		c, err := New(DefaultOptions())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		printUp(c)
		select {}
	case "hang-twin":
		tw, err := NewTwin(DefaultTwinOptions())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		printUp(tw.Cluster, tw.procs...)
		select {}
	}
	return m.Run()
}

// printUp prints "up" and the URLs the processes of a control plane serve.
func printUp(c *Cluster, procs ...*process) {
	urls := []string{c.Host(), c.env.ControlPlane.Etcd.URL.String()}
	for _, p := range procs {
		urls = append(urls, p.health)
	}
	fmt.Println("up " + strings.Join(urls, " "))
}

// TestPanicHelper runs only as TestStopsWhenATestPanics' child.
func TestPanicHelper(t *testing.T) {
	if os.Getenv(envHelper) != "panic" {
		t.Skip("runs only as the child process of TestStopsWhenATestPanics")
	}
	printUp(Start(t))
	panic("deliberate panic")
}

// TestStopsWhenATestPanics proves Start's cleanup stops the processes of a panicking test.
func TestStopsWhenATestPanics(t *testing.T) {
	NeedBinaries(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestPanicHelper$", "-test.v")
	cmd.Env = append(os.Environ(), envHelper+"=panic")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "deliberate panic") {
		t.Fatalf("the child did not panic (err %v):\n%s", err, out)
	}
	assertGone(t, upLine(t, string(out)), 0)
}

// TestStopsWhenKilled proves the processes die with a process killed before it could stop
// them (kill -9, a test binary's timeout).
func TestStopsWhenKilled(t *testing.T) {
	NeedBinaries(t)
	killChild(t, "hang", 2)
}

// TestTwinStopsWhenKilled proves the same of a twin's processes: scheduler,
// controller-manager and KWOK die with the apiserver and etcd.
func TestTwinStopsWhenKilled(t *testing.T) {
	if _, _, err := findTwinBinaries(".", "", ""); err != nil {
		handleStartError(t, err)
	}
	killChild(t, "hang-twin", 5)
}

// killChild runs this test binary as a child that starts a control plane of the kind helper
// names and prints the URLs of its processes, checks the n URLs serve, kills the child and
// checks they stop serving.
func killChild(t *testing.T, helper string, n int) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	// A killed child cannot remove its temporary files; keep them where the test cleans up.
	cmd.Env = append(os.Environ(), envHelper+"="+helper, "TMPDIR="+t.TempDir())
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the child's output: %v", err)
	}
	hosts := upLine(t, line)
	if len(hosts) != n {
		t.Fatalf("the child printed %d URLs, want %d: %s", len(hosts), n, line)
	}
	assertUp(t, hosts)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	assertGone(t, hosts, 10*time.Second)
}

func upLine(t *testing.T, out string) []string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "up" {
			return f[1:]
		}
	}
	t.Fatalf("no \"up\" line in the child's output:\n%s", out)
	return nil
}

func hostPort(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Host
}

func assertUp(t *testing.T, urls []string) {
	t.Helper()
	for _, u := range urls {
		conn, err := net.DialTimeout("tcp", hostPort(t, u), time.Second)
		if err != nil {
			t.Fatalf("%s is not serving while the child runs: %v", u, err)
		}
		conn.Close()
	}
}

// assertGone fails t unless nothing listens at urls within wait.
func assertGone(t *testing.T, urls []string, wait time.Duration) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for _, u := range urls {
		for {
			conn, err := net.DialTimeout("tcp", hostPort(t, u), time.Second)
			if err != nil {
				break
			}
			conn.Close()
			if time.Now().After(deadline) {
				t.Fatalf("%s still serves after its owner died", u)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// TestRBACEnforced proves the apiserver authorizes with RBAC: the admin may list
// namespaces, an unbound user may not.
func TestRBACEnforced(t *testing.T) {
	c := shared.Get(t)
	ctx := t.Context()
	admin := kubernetes.NewForConfigOrDie(c.Admin())
	if _, err := admin.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("admin cannot list namespaces: %v", err)
	}
	nobody := kubernetes.NewForConfigOrDie(c.As("nobody", "nobodies"))
	_, err := nobody.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("an unbound user listing namespaces got %v, want Forbidden", err)
	}
	sa := kubernetes.NewForConfigOrDie(c.AsServiceAccount("default", "nobody"))
	_, err = sa.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "system:serviceaccount:default:nobody") {
		t.Fatalf("an unbound service account listing secrets got %v, want Forbidden naming it", err)
	}
}
