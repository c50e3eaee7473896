package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/lsst-dm/lsstgen/internal/check"
	"github.com/lsst-dm/lsstgen/internal/render"
)

func newCheckCmd(g *globalFlags, stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Render every instance in memory and compare with the committed generated/",
		Long: `check renders every instance in memory, as render would, and compares the result with
generated/ file by file: a file the render makes that generated/ lacks is missing, a file
(or instance folder) of generated/ the render does not make is extra, and a file whose
contents differ is changed, shown with a field-by-field diff (-generated +rendered).

Exit status: 0 when generated/ is current, 1 when anything is stale (run lsstgen render
and commit generated/) or an instance does not render.`,
		Example: `  lsstgen check

  # in CI, after checking out the pull request
  go run ./cmd/lsstgen check`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			root, err := g.root()
			if err != nil {
				return err
			}
			results, err := render.All(root, nil)
			if err != nil {
				return err
			}
			stale, err := check.Compare(root, results, true)
			if err != nil {
				return err
			}
			for _, s := range stale {
				fmt.Fprintln(stdout, s)
			}
			if len(stale) > 0 {
				return fmt.Errorf("generated/ is stale: %d files differ from the render; run lsstgen render and commit generated/", len(stale))
			}
			fmt.Fprintf(stdout, "generated/ is current: %d instances\n", len(results))
			return nil
		},
	}
}
