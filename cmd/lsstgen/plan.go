package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/lsst-dm/lsstgen/internal/plan"
	"github.com/lsst-dm/lsstgen/internal/render"
)

type planOptions struct {
	base   string
	render render.Options
}

func newPlanCmd(g *globalOptions, stdout io.Writer) *cobra.Command {
	o := planOptions{render: render.DefaultOptions()}
	cmd := &cobra.Command{
		Use:   "plan --base REV",
		Short: "Show, per instance, what the working tree changes against REV, as Markdown",
		Long: `plan renders the CUE inputs at REV (read from git; the working tree is not touched)
and in the working tree, and prints per instance the objects added, changed and removed,
with the fields each change touches. Secret values are never shown.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			root, err := g.root()
			if err != nil {
				return err
			}
			p, err := plan.Compute(cmd.Context(), root, o.base, o.render)
			if err != nil {
				return err
			}
			return p.Markdown(stdout)
		},
	}
	cmd.Flags().StringVar(&o.base, "base", "", "the git revision to compare with (a branch, tag or commit)")
	cmd.Flags().IntVarP(&o.render.Concurrency, "jobs", "j", o.render.Concurrency, "instances evaluated at once")
	_ = cmd.MarkFlagRequired("base")
	return cmd
}
