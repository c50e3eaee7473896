package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

func newDiffCmd(g *globalFlags, stdout io.Writer) *cobra.Command {
	f := &syncFlags{}
	cmd := &cobra.Command{
		Use:   "diff --instance NAME [--repo PATH|URL] [--revision REF]",
		Short: "Print what a sync would change in the cluster; exit 2 when it would change something",
		Long: `diff runs a sync cycle as a dry run: every object of ` + "`generated/<instance>/`" + ` at the commit is
dry-run applied and compared with the cluster, and the prune is worked out, but nothing is
written. It prints one line per object that would be created, configured, deleted or left
in place (a configured one with the fields that differ, as .path: cluster -> git, a Secret's
values masked). It reports every prune: sync's --max-prune-share does not apply here.

Exit status: 0 when nothing would change, 2 when anything would, 1 on an error.`,
		Example: `  # what a sync of main would change in the cluster of the current kubeconfig
  lsstgen diff --instance pdac --revision main

  # in a script: act only when the cluster differs from git
  if ! lsstgen diff --instance pdac --revision main; then …; fi`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.dryRun = true
			s, src, err := f.syncer(g, io.Discard)
			if err != nil {
				return err
			}
			res, err := s.Cycle(cmd.Context(), src)
			if res != nil {
				for _, c := range res.Changes {
					if c.Action == "unchanged" {
						continue
					}
					line := fmt.Sprintf("%-10s %s", c.Action, c.Object)
					if c.Reason != "" {
						line += " (" + c.Reason + ")"
					}
					if len(c.Fields) > 0 {
						line += ": " + strings.Join(c.Fields, "; ")
					}
					fmt.Fprintln(stdout, line)
				}
			}
			if err != nil {
				return fmt.Errorf("diff of %s: %w", f.instance, err)
			}
			if res.Changed() {
				return &exitError{code: 2}
			}
			fmt.Fprintf(stdout, "%s at %s: no changes\n", f.instance, shortCommit(res.Commit))
			return nil
		},
	}
	f.addSourceFlags(cmd)
	f.maxPrune = 1 // diff reports every prune; the share is enforced by sync
	return cmd
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}
