// Command lsstgen compiles the LSST Data Facility's CUE model of the Rubin Science Platform
// into Kubernetes manifests, checks them, and keeps clusters in step with them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// exitError carries a specific exit status up to main (for example 2 from `diff` when there
// are changes). Its message, if any, is printed like any other error.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

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
		Use:   "lsstgen",
		Short: "Compile, check and sync the LSST Data Facility's Kubernetes platform",
		Long: `lsstgen compiles the LSST Data Facility's CUE model of the Rubin Science Platform into
Kubernetes manifests committed under generated/, checks them, shows what a change does, and
keeps clusters in step with them.

Every command finds the repository root upward from the working directory, or from -C DIR,
and prints an error once, on stderr, prefixed "lsstgen:".

Exit status: 0 on success, 1 on an error (a stale generated/ and an error finding
included), 2 from diff when a sync would change something.`,
		Example: `  # after editing an instance: render, check the rules, see what changes
  lsstgen render
  lsstgen validate
  lsstgen plan --base origin/main

  # from outside the repository
  lsstgen -C ~/src/lsstgen check`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVarP(&g.chdir, "chdir", "C", "", "run as if started in `DIR`")
	for _, c := range commands(g, stdout, stderr) {
		root.AddCommand(c)
	}
	return root
}

// commands lists every subcommand; each lives in its own file.
func commands(g *globalFlags, stdout, stderr io.Writer) []*cobra.Command {
	return []*cobra.Command{
		newRenderCmd(g, stdout),
		newCheckCmd(g, stdout),
		newValidateCmd(g, stdout),
		newPlanCmd(g, stdout),
		newSyncCmd(g, stdout),
		newDiffCmd(g, stdout),
		newRegistryCmd(g, stdout),
		newVersionCmd(stdout),
	}
}

// run executes the command line and returns the process exit status, printing any error
// once, on stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	code := 1
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintln(stderr, "lsstgen:", msg)
	}
	return code
}

func main() {
	// Rendering allocates heavily and briefly (CUE evaluation, kustomize); collecting less
	// often saves a fifth of the CPU time, and memory stays bounded by the concurrency.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
