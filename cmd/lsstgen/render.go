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
		Short: "Compile the CUE instances into generated/<instance>/ (all instances by default)",
		Long: `render evaluates each instance under instances/ with the model (schema/), the
templates (platform/) and the sites' facts (sites/), applies the cross-cutting transforms
(labels, registry rewrite, hashed ConfigMaps) and replaces generated/<instance>/ with one
file per object and a kustomization.yaml.

Nothing is written unless every named instance renders. An instance whose inputs (its
files, the CUE module and lsstgen itself) are unchanged since the last render
is taken from .cache/render/ instead of being evaluated again; --no-cache evaluates all.`,
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
	cmd.Flags().IntVarP(&f.render.Concurrency, "jobs", "j", f.render.Concurrency, "instances evaluated at once (default: one per CPU)")
	return cmd
}
