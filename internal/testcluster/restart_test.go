package testcluster

import (
	"context"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// TestRestartAPIServer stops the apiserver with etcd left running, checks that it no longer
// answers, and starts it again: the same config reaches it and the data is still there.
func TestRestartAPIServer(t *testing.T) {
	c := Start(t)
	cfg := c.Admin()
	cfg.Timeout = 5 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "survivor", Namespace: "default"}, Data: map[string]string{"k": "v"}}
	if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	host := c.Host()

	if err := c.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "survivor", metav1.GetOptions{}); err == nil {
		t.Fatal("the apiserver still answers after StopAPIServer")
	}

	// While stopped, something else takes its port: the start fails and says so.
	u, err := url.Parse(host)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", u.Host)
	if err != nil {
		t.Fatalf("the stopped apiserver's port is not free: %v", err)
	}
	err = c.StartAPIServer()
	_ = ln.Close()
	if err == nil || !strings.Contains(err.Error(), "starting kube-apiserver again") {
		t.Fatalf("start on a taken port: error = %v, want a failure to start", err)
	}

	if err := c.StartAPIServer(); err != nil {
		t.Fatal(err)
	}
	if c.Host() != host {
		t.Errorf("host after the restart = %s, want %s", c.Host(), host)
	}
	got, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "survivor", metav1.GetOptions{})
	if err != nil || got.Data["k"] != "v" {
		t.Fatalf("after the restart: %v, %v; want the ConfigMap created before", got, err)
	}

	// RestartAPIServer does both in one call.
	start := time.Now()
	if err := c.RestartAPIServer(); err != nil {
		t.Fatal(err)
	}
	t.Logf("restart took %v", time.Since(start))
	if _, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "survivor", metav1.GetOptions{}); err != nil {
		t.Errorf("after RestartAPIServer: %v", err)
	}
}
