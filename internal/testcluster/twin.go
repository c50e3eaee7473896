package testcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// NodeSpec is one simulated node of a twin: what its kubelet would register.
type NodeSpec struct {
	Name string
	// Labels are the node's labels. The kubelet's own (kubernetes.io/hostname, os and arch)
	// are added when missing.
	Labels map[string]string
	// Taints are the node's taints.
	Taints []corev1.Taint
	// Capacity and Allocatable are the node's resources before and after what it keeps
	// for the system; the scheduler places pods against Allocatable.
	Capacity, Allocatable corev1.ResourceList
}

// TwinOptions configure a twin.
type TwinOptions struct {
	// Options configure the etcd and kube-apiserver under the twin. Its BinDir must also
	// hold TwinBinaries.
	Options
	// KWOKDir holds kwok and stages.yaml. Empty means FindKWOK(".").
	KWOKDir string
	// Nodes are created when the twin starts; AddNodes adds more later.
	Nodes []NodeSpec
}

// DefaultTwinOptions returns DefaultOptions' control plane, no nodes and KWOK found from
// the working directory.
func DefaultTwinOptions() TwinOptions {
	return TwinOptions{Options: DefaultOptions()}
}

// Twin is a control plane that runs workloads as a real cluster would, without running a
// container: etcd and kube-apiserver (the ServiceAccount admission plugin on, privileged
// pods allowed, as kubeadm sets it), kube-scheduler, kube-controller-manager with every
// default controller (service accounts and their tokens, volume binding, deployments,
// replica sets, stateful sets, daemon sets, jobs, garbage collection, namespaces, endpoint
// slices, node lifecycle, …), each controller with its own service account's credentials,
// and KWOK, which plays the kubelet of every node the twin creates: it registers the node
// Ready with the given resources, renews its lease, marks a bound pod Running and Ready at
// once, finishes a Job's pods and removes deleted pods. No container runs, no probe is
// executed, no volume is mounted and there is no pod network.
type Twin struct {
	*Cluster
	procs        []*process // in start order
	startTimeout time.Duration
	stopTimeout  time.Duration

	stopOnce sync.Once
	stopErr  error
}

// twinUsers are the identities of the twin's components: the scheduler and the
// controller-manager as the bootstrap RBAC policy names them, KWOK as an administrator.
var twinUsers = map[string]envtest.User{
	"kube-scheduler":          {Name: "system:kube-scheduler"},
	"kube-controller-manager": {Name: "system:kube-controller-manager"},
	"kwok":                    {Name: "kwok", Groups: []string{"system:masters"}},
}

// NewTwin starts a twin and creates opts.Nodes, waiting until every component is healthy,
// the controllers have given the default namespace its ServiceAccount and every node is
// Ready. The caller must call Stop.
func NewTwin(opts TwinOptions) (*Twin, error) {
	kubeDir, kwokDir, err := findTwinBinaries(".", opts.BinDir, opts.KWOKDir)
	if err != nil {
		return nil, err
	}
	copts := opts.Options
	copts.BinDir = kubeDir
	copts.APIServerArgs = maps.Clone(opts.APIServerArgs)
	if copts.APIServerArgs == nil {
		copts.APIServerArgs = map[string][]string{}
	}
	for name, values := range map[string][]string{
		// envtest turns ServiceAccount admission off, since nothing would create the
		// default ServiceAccount; here the controller-manager does, and a pod naming a
		// ServiceAccount that does not exist must be refused as a real cluster refuses it.
		"disable-admission-plugins": nil,
		// kubeadm sets it; qserv's admin DaemonSet is privileged.
		"allow-privileged": {"true"},
	} {
		if _, set := copts.APIServerArgs[name]; !set {
			copts.APIServerArgs[name] = values
		}
	}
	c, err := New(copts)
	if err != nil {
		return nil, err
	}
	t := &Twin{Cluster: c, startTimeout: opts.StartTimeout, stopTimeout: opts.StopTimeout}
	if err := t.start(kubeDir, kwokDir, opts.Output); err != nil {
		return nil, errors.Join(err, t.Stop())
	}
	ctx := context.Background()
	if err := t.waitDefaultServiceAccount(ctx); err != nil {
		return nil, errors.Join(err, t.Stop())
	}
	if err := t.AddNodes(ctx, opts.Nodes...); err != nil {
		return nil, errors.Join(err, t.Stop())
	}
	return t, nil
}

// start writes the components' kubeconfigs, starts them and waits until each is healthy.
func (t *Twin) start(kubeDir, kwokDir string, out io.Writer) error {
	dir := filepath.Join(t.tmp, "twin")
	bin := filepath.Join(t.tmp, "bin")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	api := t.env.ControlPlane.GetAPIServer()
	caFile := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(caFile, api.SecureServing.CA, 0o600); err != nil {
		return err
	}
	kubeconfigs := map[string]string{}
	for name, user := range twinUsers {
		u, err := t.env.ControlPlane.AddUser(user, nil)
		if err != nil {
			return fmt.Errorf("credentials for %s: %w", name, err)
		}
		kc, err := u.KubeConfig()
		if err != nil {
			return fmt.Errorf("kubeconfig for %s: %w", name, err)
		}
		kubeconfigs[name] = filepath.Join(dir, name+".kubeconfig")
		if err := os.WriteFile(kubeconfigs[name], kc, 0o600); err != nil {
			return err
		}
	}

	type component struct {
		name, path, scheme string
		args, env          []string
	}
	var comps []component
	for _, name := range TwinBinaries {
		args := []string{
			"--kubeconfig=" + kubeconfigs[name],
			"--leader-elect=false",
			"--bind-address=127.0.0.1",
			"--cert-dir=" + filepath.Join(dir, name+"-certs"),
		}
		if name == "kube-controller-manager" {
			args = append(args,
				"--controllers=*",
				"--use-service-account-credentials=true",
				"--service-account-private-key-file="+filepath.Join(api.CertDir, "sa-signer.key"),
				"--root-ca-file="+caFile,
			)
		}
		comps = append(comps, component{name: name, path: filepath.Join(kubeDir, name), scheme: "https", args: args})
	}
	// KWOK reads ~/.kwok/kwok.yaml when it exists: give it a folder of its own instead.
	comps = append(comps, component{name: "kwok", path: filepath.Join(kwokDir, "kwok"), scheme: "http",
		args: kwokArgs(kubeconfigs["kwok"], kwokDir), env: append(os.Environ(), "KWOK_WORKDIR="+filepath.Join(dir, "kwok"))})

	// Start them all, then wait for each: none needs another to come up.
	ports := map[string]bool{}
	for _, c := range comps {
		port, err := freePort()
		for err == nil && ports[port] {
			port, err = freePort()
		}
		if err != nil {
			return err
		}
		ports[port] = true
		flag := "--secure-port="
		if c.name == "kwok" {
			flag = "--server-address=127.0.0.1:"
		}
		path, err := guardedBinary(bin, c.path)
		if err != nil {
			return err
		}
		p, err := startProcess(c.name, path, append(c.args, flag+port), c.env, out)
		if err != nil {
			return err
		}
		p.health = c.scheme + "://127.0.0.1:" + port + "/healthz"
		t.procs = append(t.procs, p)
	}
	for _, p := range t.procs {
		if err := p.waitHealthy(context.Background(), t.startTimeout); err != nil {
			return err
		}
	}
	return nil
}

// waitDefaultServiceAccount waits until the controller-manager has created the default
// namespace's ServiceAccount: its controllers run with their own credentials.
func (t *Twin) waitDefaultServiceAccount(ctx context.Context) error {
	cs, err := kubernetes.NewForConfig(t.Admin())
	if err != nil {
		return err
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, t.startTimeout, true, func(ctx context.Context) (bool, error) {
		if err := t.Check(); err != nil {
			return false, err
		}
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("kube-controller-manager did not create ServiceAccount/default/default within %s: %w%s", t.startTimeout, err, t.procTail("kube-controller-manager"))
	}
	return nil
}

// AddNodes creates a Node for each spec, labelled for KWOK, and waits until KWOK has made
// every one Ready.
func (t *Twin) AddNodes(ctx context.Context, nodes ...NodeSpec) error {
	if len(nodes) == 0 {
		return nil
	}
	cs, err := kubernetes.NewForConfig(t.Admin())
	if err != nil {
		return err
	}
	for _, n := range nodes {
		obj, err := nodeObject(n)
		if err != nil {
			return err
		}
		if _, err := cs.CoreV1().Nodes().Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating Node/%s: %w", n.Name, err)
		}
	}
	for _, n := range nodes {
		var last string
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, t.startTimeout, true, func(ctx context.Context) (bool, error) {
			if err := t.Check(); err != nil {
				return false, err
			}
			got, err := cs.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return false, fmt.Errorf("Node/%s was deleted", n.Name)
			}
			if err != nil {
				last = err.Error()
				return false, nil
			}
			ready := nodeReady(got)
			last = "not Ready"
			return ready, nil
		})
		if err != nil {
			return fmt.Errorf("Node/%s not Ready within %s (%s): %w%s", n.Name, t.startTimeout, last, err, t.procTail("kwok"))
		}
	}
	return nil
}

// nodeObject is the Node a kubelet would register for n.
func nodeObject(n NodeSpec) (*corev1.Node, error) {
	if n.Name == "" {
		return nil, errors.New("a node spec without a name")
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods} {
		if _, ok := n.Allocatable[r]; !ok {
			return nil, fmt.Errorf("Node/%s: no allocatable %s", n.Name, r)
		}
	}
	labels := maps.Clone(n.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	for k, v := range map[string]string{
		corev1.LabelHostname:   n.Name,
		corev1.LabelOSStable:   "linux",
		corev1.LabelArchStable: runtime.GOARCH,
	} {
		if _, set := labels[k]; !set {
			labels[k] = v
		}
	}
	labels[KWOKNodeLabel] = KWOKNodeValue
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:   n.Name,
			Labels: labels,
			// KWOK's own convention, beside the label it is told to manage.
			Annotations: map[string]string{KWOKNodeLabel: KWOKNodeValue},
		},
		Spec: corev1.NodeSpec{Taints: slices.Clone(n.Taints)},
		Status: corev1.NodeStatus{
			Capacity:    n.Capacity.DeepCopy(),
			Allocatable: n.Allocatable.DeepCopy(),
		},
	}, nil
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Check returns an error naming every component of the twin that has stopped on its own,
// with the end of its output.
func (t *Twin) Check() error {
	var errs []error
	for _, p := range t.procs {
		if err := p.exited(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (t *Twin) procTail(name string) string {
	for _, p := range t.procs {
		if p.name == name {
			return p.outputTail()
		}
	}
	return ""
}

// Stop stops KWOK, the controller-manager and the scheduler, then the apiserver and etcd,
// and removes their files. It returns an error when a component had stopped on its own
// before. It is safe to call more than once; later calls return the first call's result.
func (t *Twin) Stop() error {
	t.stopOnce.Do(func() {
		var errs []error
		for _, p := range slices.Backward(t.procs) {
			if err := p.stop(t.stopTimeout); err != nil {
				errs = append(errs, err)
			}
		}
		errs = append(errs, t.Cluster.Stop())
		t.stopErr = errors.Join(errs...)
	})
	return t.stopErr
}

// StartTwin starts a twin with nodes for one test and stops it when the test and its
// subtests end, also when they fail or panic. Without binaries it skips the test, or fails
// it when LSSTGEN_REQUIRE_CLUSTER=1.
func StartTwin(t testing.TB, nodes []NodeSpec) *Twin {
	t.Helper()
	opts := DefaultTwinOptions()
	opts.Nodes = nodes
	tw, err := NewTwin(opts)
	if err != nil {
		handleStartError(t, err)
		return nil
	}
	t.Cleanup(func() {
		if err := tw.Stop(); err != nil {
			t.Errorf("stopping the twin: %v", err)
		}
	})
	return tw
}
