package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/lsst-dm/lsstgen/internal/plan"
	"github.com/lsst-dm/lsstgen/internal/render"
)

// planFlags are plan's flags.
type planFlags struct {
	base   string
	render render.Options
}

func newPlanCmd(g *globalFlags, stdout io.Writer) *cobra.Command {
	f := &planFlags{render: render.DefaultOptions()}
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
			p, err := plan.Compute(cmd.Context(), root, f.base, f.render)
			if err != nil {
				return err
			}
			return p.Markdown(stdout)
		},
	}
	cmd.Flags().StringVar(&f.base, "base", "", "the git revision to compare with (a branch, tag or commit)")
	cmd.Flags().IntVarP(&f.render.Concurrency, "jobs", "j", f.render.Concurrency, "instances evaluated at once")
	_ = cmd.MarkFlagRequired("base")
	return cmd
}
