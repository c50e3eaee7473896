// Command lsstgen-dev holds the tools for working on lsstgen by hand that need the test
// control plane (internal/testcluster): `lsstgen-dev cluster` runs a local etcd and
// kube-apiserver to try sync and kubectl against, or with --instance NAME a twin shaped
// like that instance (scheduler, controllers and simulated nodes), which --apply
// bootstraps.
//
// They live apart from lsstgen so that the production binary links neither the test
// control plane nor controller-runtime's envtest nor the testing package
// (docs/architecture.md):
//
//	go run ./cmd/lsstgen-dev cluster
//	go run ./cmd/lsstgen-dev cluster --instance pdac --apply
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// globalFlags are the flags every command shares.
type globalFlags struct {
	chdir string
}

// root returns the repository root from -C or the working directory.
func (g *globalFlags) root() (string, error) {
	dir := g.chdir
	if dir == "" {
		dir = "."
	}
	return manifest.FindRoot(dir)
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "lsstgen-dev",
		Short:         "Tools for working on lsstgen by hand, on the test control plane",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVarP(&g.chdir, "chdir", "C", "", "run as if started in `DIR`")
	root.AddCommand(newClusterCmd(g, stdout))
	return root
}

// run executes the command line and returns the process exit status, printing any error
// once, on stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "lsstgen-dev:", err)
		return 1
	}
	return 0
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
