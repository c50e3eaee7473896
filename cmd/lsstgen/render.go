package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/lsst-dm/lsstgen/internal/render"
)

func newRenderCmd(g *globalOptions, stdout io.Writer) *cobra.Command {
	opts := render.DefaultOptions()
	cmd := &cobra.Command{
		Use:   "render [INSTANCE...]",
		Short: "Compile the CUE instances into generated/<instance>/ (all instances by default)",
		Long: `render evaluates schema/ with each instance under instances/, applies the
cross-cutting transforms (labels, registry rewrite, hashed ConfigMaps) and replaces
generated/<instance>/ with one file per object and a kustomization.yaml.

Nothing is written unless every named instance renders.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			root, err := g.root()
			if err != nil {
				return err
			}
			results, err := render.AllWith(root, args, opts)
			if err != nil {
				return err
			}
			if err := render.Write(root, results, len(args) == 0); err != nil {
				return err
			}
			for _, r := range results {
				fmt.Fprintf(stdout, "rendered %s: %d objects in generated/%s/\n", r.Instance, len(r.Objects), r.Instance)
			}
			return nil
		},
	}
	cmd.Flags().IntVarP(&opts.Concurrency, "jobs", "j", opts.Concurrency, "instances evaluated at once (default: one per CPU)")
	return cmd
}
