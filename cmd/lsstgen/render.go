package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/lsst-dm/lsstgen/internal/render"
)

// renderFlags are render's flags.
type renderFlags struct {
	noCache bool
	render  render.Options
}

func newRenderCmd(g *globalFlags, stdout io.Writer) *cobra.Command {
	f := &renderFlags{render: render.DefaultOptions()}
	cmd := &cobra.Command{
		Use:   "render [INSTANCE...]",
		Short: "Compile the CUE instances into generated/ (all instances by default)",
		Long: `render evaluates each instance under instances/ (all of them, or the INSTANCEs named)
with the model (schema/), the platform's templates (platform/) and its site's facts
(sites/), applies the cross-cutting transforms (labels, registry rewrite, hashed
ConfigMaps) and replaces
` + "`generated/<instance>/`" + ` with one file per object and a kustomization.yaml. A full render
also removes the folders of generated/ whose instance is gone.

Instances are evaluated concurrently, one per CPU unless -j says otherwise; the output is
the same bytes whatever the concurrency. An instance whose inputs (its files, the CUE it is
evaluated with, the CUE module and lsstgen itself) are unchanged since the last render is
taken from .cache/render/ instead of being evaluated again; --no-cache evaluates all.

A CUE error is printed with its file:line:col relative to the repository root, every one
of them, and nothing is written unless every instance renders.

Exit status: 0 when every instance rendered, 1 on any error (nothing written).`,
		Example: `  # every instance
  lsstgen render

  # one instance, evaluated even if cached
  lsstgen render pdac --no-cache

  # one instance at a time, on a busy machine
  lsstgen render -j 1`,
		RunE: func(cmd *cobra.Command, args []string) error {
			root, err := g.root()
			if err != nil {
				return err
			}
			o := f.render
			if f.noCache {
				o.CacheDir = ""
			} else {
				o.CacheDir = filepath.Join(root, render.CacheDir)
			}
			summaries, err := render.Generate(root, args, o)
			if err != nil {
				return err
			}
			for _, s := range summaries {
				fmt.Fprintf(stdout, "rendered %s: %d objects in generated/%s/\n", s.Instance, s.Objects, s.Instance)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&f.noCache, "no-cache", false, "evaluate every instance, ignoring "+render.CacheDir)
	cmd.Flags().IntVarP(&f.render.Concurrency, "jobs", "j", 0, "instances evaluated at once; 0 means one per CPU")
	return cmd
}
