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
and in the working tree, and prints per instance, as Markdown, the objects added, changed
and removed, with the fields each change touches:

    ## lsstgen plan: ` + "`HEAD`" + ` (1846f7b39322) → working tree

    - **chilean-dac**: no change
    - **commissioning**: no change

    ### pdac: 1 added, 1 changed, 0 removed

    - changed ` + "`Deployment/portal/firefly`" + `
      - ` + "`spec.replicas: 1 → 2`" + `
    - added ` + "`PodDisruptionBudget/portal/firefly`" + `

A change inside a configuration file shows the lines it touches
(data.fluent-bit.conf#L12: … → …). Secret values are never shown. The GitHub workflow
writes the plan to every pull request's job summary.

Exit status: 0 when the plan is printed, whatever it holds; 1 when REV does not resolve or
either side does not render.`,
		Example: `  # what this branch changes against main
  lsstgen plan --base origin/main

  # what the last commit changed
  lsstgen plan --base HEAD~1

  # in a GitHub workflow
  lsstgen plan --base "origin/$GITHUB_BASE_REF" >> "$GITHUB_STEP_SUMMARY"`,
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
	cmd.Flags().IntVarP(&f.render.Concurrency, "jobs", "j", 0, "instances evaluated at once; 0 means one per CPU")
	_ = cmd.MarkFlagRequired("base")
	return cmd
}
