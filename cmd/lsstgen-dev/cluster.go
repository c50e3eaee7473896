package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/render"
	"github.com/lsst-dm/lsstgen/internal/testcluster"
)

// clusterFlags are cluster's flags.
type clusterFlags struct {
	kubeconfig string
	verbose    bool
	instance   string
	apply      bool
	timeout    time.Duration
}

func newClusterCmd(g *globalFlags, stdout io.Writer) *cobra.Command {
	f := &clusterFlags{}
	cmd := &cobra.Command{
		Use:   "cluster [--instance NAME [--apply]]",
		Short: "Run a local control plane, or a twin of an instance, for trying sync and kubectl by hand",
		Long: `cluster starts the test control plane (etcd and kube-apiserver ` + testcluster.Version + `, built by
` + testcluster.BuildCommand + `) on free loopback ports, writes an admin kubeconfig (to --kubeconfig-out, or
.cache/dev-cluster/kubeconfig in the repository) and waits. Ctrl-C stops it and removes
its data and the kubeconfig. There are no nodes and no controllers: objects are stored,
validated and authorized as on a real cluster, but no pod runs. The built-in admin, edit
and view roles are aggregated once at start, as kube-controller-manager would do.

With --instance NAME it starts a twin of that instance instead: the control plane with
kube-scheduler, kube-controller-manager and KWOK (built by ` + testcluster.KWOKBuildCommand + `), and one node
per node of the instance's model, with its hardware less reservePerNode as allocatable,
and its role's labels and taints. Pods are scheduled and created, claims bound, and KWOK
marks each bound pod Running, but no container runs, no probe is executed, no volume is
mounted and there is no pod network.

With --apply it then bootstraps the instance as README.md tells operators: each namespace
holding an out-of-band Secret of the model, those Secrets with placeholder values, and a
server-side apply of generated/NAME; and it waits (up to --timeout) until every workload
has rolled out, every pod runs and every claim is Bound, so that
'kubectl get pods -A -o wide' shows where everything runs.

Exit status: 0 when stopped by Ctrl-C, 1 when the binaries are missing, the control plane
or twin does not start, the apiserver refuses an object of generated/NAME, or the instance
does not converge in time (what has not is listed).`,
		Example: `  go run ./cmd/lsstgen-dev cluster

  # in another shell
  export KUBECONFIG=$PWD/.cache/dev-cluster/kubeconfig
  lsstgen sync --instance pdac --once
  lsstgen diff --instance pdac

  # a twin of pdac, bootstrapped: where does everything run?
  go run ./cmd/lsstgen-dev cluster --instance pdac --apply
  kubectl get pods -A -o wide`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.apply && f.instance == "" {
				return errors.New("--apply needs --instance NAME: it applies that instance's generated/NAME")
			}
			root, err := g.root()
			if err != nil {
				return err
			}
			if f.instance != "" {
				return runTwin(cmd.Context(), root, f, stdout, cmd.ErrOrStderr())
			}
			return runCluster(cmd.Context(), root, f, stdout, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&f.kubeconfig, "kubeconfig-out", "", "write the admin kubeconfig to `FILE` (default <repo>/.cache/dev-cluster/kubeconfig)")
	cmd.Flags().BoolVarP(&f.verbose, "verbose", "v", false, "copy the output of the control plane's processes to stderr")
	cmd.Flags().StringVar(&f.instance, "instance", "", "start a twin shaped like instance `NAME`: its nodes from the model, with scheduler, controllers and KWOK")
	cmd.Flags().BoolVar(&f.apply, "apply", false, "bootstrap the instance in the twin as operators do (placeholder Secrets, server-side apply of generated/NAME) and wait until it converges")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 3*time.Minute, "with --apply, how long to wait for the instance to converge")
	return cmd
}

// kubeconfigPath is where the admin kubeconfig goes, absolute.
func kubeconfigPath(root string, f *clusterFlags) (string, error) {
	if f.kubeconfig == "" {
		return filepath.Join(root, ".cache", "dev-cluster", "kubeconfig"), nil
	}
	return filepath.Abs(f.kubeconfig)
}

func runCluster(ctx context.Context, root string, f *clusterFlags, stdout, stderr io.Writer) (err error) {
	bin, err := testcluster.FindBinaries(root)
	if err != nil {
		return err
	}
	kubeconfig, err := kubeconfigPath(root, f)
	if err != nil {
		return err
	}
	opts := testcluster.DefaultOptions()
	opts.BinDir = bin
	if f.verbose {
		opts.Output = stderr
	}
	fmt.Fprintf(stdout, "starting etcd and kube-apiserver %s from %s\n", testcluster.Version, bin)
	c, err := testcluster.New(opts)
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(stdout, "stopping etcd and kube-apiserver")
		if serr := c.Stop(); serr != nil {
			err = errors.Join(err, fmt.Errorf("stopping the dev cluster: %w", serr))
		}
	}()
	if err := testcluster.AggregateClusterRoles(ctx, c.Admin()); err != nil {
		return err
	}
	if err := writeFileAtomic(kubeconfig, c.KubeConfig()); err != nil {
		return fmt.Errorf("writing the kubeconfig: %w", err)
	}
	defer os.Remove(kubeconfig)

	fmt.Fprintf(stdout, `kube-apiserver is serving at %s (no nodes, no controllers)
admin kubeconfig: %s

  export KUBECONFIG=%s
  kubectl get ns                       # or %s
  lsstgen sync --instance pdac --once

Ctrl-C stops it and removes its data and the kubeconfig.
`, c.Host(), kubeconfig, kubeconfig, filepath.Join(bin, "kubectl"))

	<-ctx.Done()
	return nil
}

// runTwin starts a twin shaped like f.instance's model, bootstraps the instance when
// f.apply, and serves until ctx ends.
func runTwin(ctx context.Context, root string, f *clusterFlags, stdout, stderr io.Writer) (err error) {
	names, err := render.Instances(root)
	if err != nil {
		return err
	}
	if !slices.Contains(names, f.instance) {
		return fmt.Errorf("no instance %q under %s/; the instances are %s", f.instance, manifest.InstancesDir, strings.Join(names, ", "))
	}
	bin, err := testcluster.FindBinaries(root)
	if err != nil {
		return err
	}
	kwok, err := testcluster.FindKWOK(root)
	if err != nil {
		return err
	}
	kubeconfig, err := kubeconfigPath(root, f)
	if err != nil {
		return err
	}
	// A twin takes seconds to start: fail before it when the kubeconfig has nowhere to go.
	if err := os.MkdirAll(filepath.Dir(kubeconfig), 0o755); err != nil {
		return fmt.Errorf("writing the kubeconfig: %w", err)
	}
	res, err := render.Instance(root, f.instance)
	if err != nil {
		return err
	}
	nodes, err := testcluster.NodesFromModel(res.Model)
	if err != nil {
		return err
	}
	var objs []manifest.Object
	if f.apply {
		// What operators apply: the committed generated/NAME, not a fresh render.
		if objs, err = manifest.ReadInstance(os.DirFS(root), manifest.InstanceDir(f.instance)); err != nil {
			return fmt.Errorf("%w (run 'lsstgen render %s')", err, f.instance)
		}
	}

	opts := testcluster.DefaultTwinOptions()
	opts.BinDir, opts.KWOKDir, opts.Nodes = bin, kwok, nodes
	if f.verbose {
		opts.Output = stderr
	}
	fmt.Fprintf(stdout, "starting a twin of %s: etcd, kube-apiserver, kube-scheduler and kube-controller-manager %s from %s, KWOK %s from %s, %d nodes\n",
		f.instance, testcluster.Version, bin, testcluster.KWOKVersion, kwok, len(nodes))
	start := time.Now()
	tw, err := testcluster.NewTwin(opts)
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(stdout, "stopping the twin")
		if serr := tw.Stop(); serr != nil {
			err = errors.Join(err, fmt.Errorf("stopping the twin: %w", serr))
		}
	}()
	fmt.Fprintf(stdout, "up in %.1fs; nodes:\n", time.Since(start).Seconds())
	for _, n := range nodes {
		fmt.Fprintf(stdout, "  %-16s role %-14s %s\n", n.Name, res.Model.Instance.Nodes[n.Name].Role, taintsText(n.Taints))
	}
	if err := writeFileAtomic(kubeconfig, tw.KubeConfig()); err != nil {
		return fmt.Errorf("writing the kubeconfig: %w", err)
	}
	defer os.Remove(kubeconfig)

	if f.apply {
		secrets := 0
		for _, byName := range res.Model.Secrets {
			secrets += len(byName)
		}
		fmt.Fprintf(stdout, "bootstrapping %s: %d out-of-band Secrets with placeholder values, then a server-side apply of %s/ (%d objects)\n",
			f.instance, secrets, manifest.InstanceDir(f.instance), len(objs))
		applied := time.Now()
		rejected, err := testcluster.Bootstrap(ctx, tw.Admin(), res.Model.Secrets, objs)
		if err != nil {
			return err
		}
		if len(rejected) > 0 {
			var lines []string
			for _, r := range rejected {
				lines = append(lines, "  "+r.String())
			}
			return fmt.Errorf("the apiserver refused %d objects of %s:\n%s", len(rejected), manifest.InstanceDir(f.instance), strings.Join(lines, "\n"))
		}
		if err := testcluster.WaitConverged(ctx, tw.Admin(), objs, f.timeout); err != nil {
			return fmt.Errorf("%s: %w", f.instance, err)
		}
		fmt.Fprintf(stdout, "%s converged in %.1fs: every workload rolled out, every pod Running, every claim Bound\n", f.instance, time.Since(applied).Seconds())
	}

	var roleKeys []string
	for _, r := range res.Model.Roles {
		for k := range r.Labels {
			if !slices.Contains(roleKeys, k) {
				roleKeys = append(roleKeys, k)
			}
		}
	}
	slices.Sort(roleKeys)
	fmt.Fprintf(stdout, `kube-apiserver is serving at %s (a twin of %s: no container runs, no probe is executed, no volume is mounted, no pod network)
admin kubeconfig: %s

  export KUBECONFIG=%s
  kubectl get nodes -L %s
  kubectl get pods -A -o wide          # or %s

Ctrl-C stops it and removes its data and the kubeconfig.
`, tw.Host(), f.instance, kubeconfig, kubeconfig, strings.Join(roleKeys, ","), filepath.Join(bin, "kubectl"))

	<-ctx.Done()
	return nil
}

// taintsText prints taints as key=value:effect, or "no taint".
func taintsText(taints []corev1.Taint) string {
	if len(taints) == 0 {
		return "no taint"
	}
	var out []string
	for _, t := range taints {
		out = append(out, t.ToString())
	}
	return "taint " + strings.Join(out, ", ")
}

// writeFileAtomic writes data to path (mode 0600, parents created) through a temporary
// file and a rename.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
