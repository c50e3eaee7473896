package testcluster

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Options configure a control plane.
type Options struct {
	// BinDir holds kube-apiserver, etcd and kubectl. Empty means FindBinaries(".").
	BinDir string
	// StartTimeout bounds the start of each process; StopTimeout bounds its graceful
	// stop, after which it is killed.
	StartTimeout, StopTimeout time.Duration
	// Output, when not nil, receives the processes' stdout and stderr. Otherwise the last
	// part of the apiserver's and etcd's output is kept and quoted when a start fails.
	Output io.Writer
	// APIServerArgs are extra kube-apiserver flags, name without dashes to values; they
	// override the defaults. A name with no values is not passed at all.
	APIServerArgs map[string][]string
}

// DefaultOptions returns the options tests use: binaries found from the working directory,
// 60 s to start and 20 s to stop.
func DefaultOptions() Options {
	return Options{StartTimeout: 60 * time.Second, StopTimeout: 20 * time.Second}
}

// Cluster is a running etcd and kube-apiserver.
type Cluster struct {
	env    *envtest.Environment
	admin  *rest.Config
	tmp    string
	output *tailBuffer

	stopOnce sync.Once
	stopErr  error
}

// New starts etcd and kube-apiserver on free loopback ports with RBAC authorization, and
// waits until the apiserver serves. The caller must call Stop.
func New(opts Options) (*Cluster, error) {
	bin := opts.BinDir
	if bin == "" {
		var err error
		if bin, err = FindBinaries("."); err != nil {
			return nil, err
		}
	}
	tmp, err := os.MkdirTemp("", "lsstgen-testcluster-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{tmp: tmp}
	if c.env, err = c.environment(bin, opts); err != nil {
		_ = os.RemoveAll(tmp)
		return nil, err
	}
	if err := c.start(bin); err != nil {
		return nil, err
	}
	return c, nil
}

// environment configures envtest to run the binaries of bin, each through guardedBinary,
// with every file of the processes in c.tmp.
func (c *Cluster) environment(bin string, opts Options) (*envtest.Environment, error) {
	paths, err := guardedBinaries(filepath.Join(c.tmp, "bin"), bin)
	if err != nil {
		return nil, err
	}
	out := opts.Output
	if out == nil {
		c.output = &tailBuffer{max: 16 << 10}
		out = c.output
	}
	useExisting := false
	env := &envtest.Environment{
		// Never talk to whatever cluster USE_EXISTING_CLUSTER would pick up.
		UseExistingCluster:       &useExisting,
		BinaryAssetsDirectory:    bin,
		ControlPlaneStartTimeout: opts.StartTimeout,
		ControlPlaneStopTimeout:  opts.StopTimeout,
	}
	env.ControlPlane.KubectlPath = paths["kubectl"]
	api := env.ControlPlane.GetAPIServer()
	api.Path = paths["kube-apiserver"]
	api.Out, api.Err = out, out
	api.CertDir = filepath.Join(c.tmp, "certs")
	args := api.Configure()
	// envtest already defaults to RBAC; say so explicitly, so that a change of default
	// can never leave tests running against an AlwaysAllow apiserver.
	args.Set("authorization-mode", "RBAC")
	for name, values := range opts.APIServerArgs {
		if len(values) == 0 {
			args.Disable(name)
			continue
		}
		args.Set(name, values...)
	}
	env.ControlPlane.Etcd = &envtest.Etcd{Path: paths["etcd"], Out: out, Err: out, DataDir: filepath.Join(c.tmp, "etcd")}
	// Keep the processes' files in c.tmp, so Stop removes them all, whatever envtest does.
	for _, d := range []string{env.ControlPlane.Etcd.DataDir, api.CertDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, err
		}
	}
	return env, nil
}

// guardedBinaries writes into dir a guardedBinary of each of Binaries in bin, and returns
// their paths by name.
func guardedBinaries(dir, bin string) (map[string]string, error) {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	paths := map[string]string{}
	for _, b := range Binaries {
		p, err := guardedBinary(dir, filepath.Join(bin, b))
		if err != nil {
			return nil, err
		}
		paths[b] = p
	}
	return paths, nil
}

// start starts etcd and kube-apiserver and keeps the admin's config. On failure it stops
// whatever started, removes c.tmp, and quotes the processes' last output.
func (c *Cluster) start(bin string) error {
	cfg, err := c.env.Start()
	if err != nil {
		_ = c.env.Stop()
		_ = os.RemoveAll(c.tmp)
		return fmt.Errorf("starting etcd and kube-apiserver from %s: %w%s", bin, err, c.outputTail())
	}
	c.admin = cfg
	return nil
}

// Admin returns a fresh copy of the config of a cluster administrator (group
// system:masters), which may also impersonate anyone.
func (c *Cluster) Admin() *rest.Config {
	return rest.CopyConfig(c.admin)
}

// As returns a config that acts as user, a member of groups, by impersonation through the
// admin. The apiserver adds system:authenticated, as it does for every real user.
func (c *Cluster) As(user string, groups ...string) *rest.Config {
	cfg := c.Admin()
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	return cfg
}

// AsServiceAccount returns a config that acts as the service account namespace/name, with
// the groups the apiserver gives service accounts.
func (c *Cluster) AsServiceAccount(namespace, name string) *rest.Config {
	return c.As("system:serviceaccount:"+namespace+":"+name,
		"system:serviceaccounts", "system:serviceaccounts:"+namespace)
}

// KubeConfig returns a kubeconfig file's content for the admin, certificates embedded.
func (c *Cluster) KubeConfig() []byte {
	return c.env.KubeConfig
}

// Host returns the apiserver's URL.
func (c *Cluster) Host() string {
	return c.admin.Host
}

// Stop stops the apiserver and etcd and removes their files. It is safe to call more
// than once; later calls return the first call's result.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		c.stopErr = c.env.Stop()
		if err := os.RemoveAll(c.tmp); err != nil {
			c.stopErr = errors.Join(c.stopErr, err)
		}
	})
	return c.stopErr
}

// outputTail returns the kept end of the processes' output for an error message.
func (c *Cluster) outputTail() string {
	if c.output == nil || c.output.Len() == 0 {
		return ""
	}
	return "\n--- last output of etcd and kube-apiserver ---\n" + c.output.String()
}

// guardedBinary returns a path that runs bin so that the kernel kills it when the process
// that started it dies, however it dies (a panicking test binary, a test timeout, kill -9
// of lsstgen-dev cluster). On Linux with setpriv(1) that is a small script in dir;
// elsewhere bin.
func guardedBinary(dir, bin string) (string, error) {
	setpriv, err := exec.LookPath("setpriv")
	if runtime.GOOS != "linux" || err != nil {
		return bin, nil
	}
	script := filepath.Join(dir, filepath.Base(bin))
	body := fmt.Sprintf("#!/bin/sh\nexec %s --pdeathsig KILL -- %s \"$@\"\n", shellQuote(setpriv), shellQuote(bin))
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		return "", err
	}
	return script, nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.b)
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
