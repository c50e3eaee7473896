package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/lsst-dm/lsstgen/internal/testcluster"
)

// clusterFlags are cluster's flags.
type clusterFlags struct {
	kubeconfig string
	verbose    bool
}

func newClusterCmd(g *globalFlags, stdout io.Writer) *cobra.Command {
	f := &clusterFlags{}
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Run a local etcd and kube-apiserver for trying sync and kubectl by hand",
		Long: `cluster starts the test control plane (etcd and kube-apiserver ` + testcluster.Version + `, built by
` + testcluster.BuildCommand + `) on free loopback ports, writes an admin kubeconfig (to --kubeconfig-out, or
.cache/dev-cluster/kubeconfig in the repository) and waits. Ctrl-C stops it and removes
its data and the kubeconfig. There are no nodes and no controllers: objects are stored,
validated and authorized as on a real cluster, but no pod runs. The built-in admin, edit
and view roles are aggregated once at start, as kube-controller-manager would do.

Exit status: 0 when stopped by Ctrl-C, 1 when the binaries are missing or the control
plane does not start.`,
		Example: `  go run ./cmd/lsstgen-dev cluster

  # in another shell
  export KUBECONFIG=$PWD/.cache/dev-cluster/kubeconfig
  lsstgen sync --instance pdac --once
  lsstgen diff --instance pdac`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			root, err := g.root()
			if err != nil {
				return err
			}
			return runCluster(cmd.Context(), root, f, stdout, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&f.kubeconfig, "kubeconfig-out", "", "write the admin kubeconfig to `FILE` (default <repo>/.cache/dev-cluster/kubeconfig)")
	cmd.Flags().BoolVarP(&f.verbose, "verbose", "v", false, "copy etcd's and kube-apiserver's output to stderr")
	return cmd
}

func runCluster(ctx context.Context, root string, f *clusterFlags, stdout, stderr io.Writer) (err error) {
	bin, err := testcluster.FindBinaries(root)
	if err != nil {
		return err
	}
	kubeconfig := f.kubeconfig
	if kubeconfig == "" {
		kubeconfig = filepath.Join(root, ".cache", "dev-cluster", "kubeconfig")
	}
	if kubeconfig, err = filepath.Abs(kubeconfig); err != nil {
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
