package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lsst-dm/lsstgen/internal/render"
	"github.com/lsst-dm/lsstgen/internal/validate"
)

// validateFlags are validate's flags.
type validateFlags struct {
	format string
}

func newValidateCmd(g *globalFlags, stdout io.Writer) *cobra.Command {
	f := &validateFlags{format: "text"}
	cmd := &cobra.Command{
		Use:   "validate [INSTANCE...]",
		Short: "Run every rule on the rendered instances (all by default)",
		Long: `validate renders the instances in memory and runs every rule on their objects and
models (hardware, namespaces, access, out-of-band Secrets): schema, references, security,
capacity and placement, and the planning notes' own rules; docs/rules.md lists them and
what they assume. Every instance is rendered, so that the cross-instance rules see them
all; findings are printed for the named INSTANCEs only (all by default).

A finding carries the rule id, its severity, the instance, the object
(Kind/namespace/name), a message that says what to change and, where it can be traced,
the CUE position that caused it.

--format text prints one finding a line and a count, json an array of findings, github
GitHub Actions annotations on the CUE line that caused each finding.

Exit status: 0 when there is no error finding (warnings do not count), 1 when there is
one, or on an error.`,
		Example: `  lsstgen validate

  # one instance's findings, as JSON
  lsstgen validate pdac --format json

  # in a GitHub workflow: annotations on the pull request's CUE lines
  lsstgen validate --format github`,
		RunE: func(cmd *cobra.Command, args []string) error {
			print, err := findingPrinter(f.format)
			if err != nil {
				return err
			}
			root, err := g.root()
			if err != nil {
				return err
			}
			all, err := render.Instances(root)
			if err != nil {
				return err
			}
			for _, n := range args {
				if !slices.Contains(all, n) {
					return fmt.Errorf("unknown instance %q: instances/ holds %v", n, all)
				}
			}
			results, err := render.All(root, nil)
			if err != nil {
				return err
			}
			ins := make([]validate.Instance, 0, len(results))
			for _, r := range results {
				ins = append(ins, validate.FromResult(r))
			}
			findings := filterInstances(validate.Validate(ins), args)
			if err := print(stdout, findings); err != nil {
				return err
			}
			if n := validate.ErrorCount(findings); n > 0 {
				return fmt.Errorf("validate: %d error findings", n)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&f.format, "format", f.format, "output `FORMAT`: text, json or github")
	return cmd
}

func filterInstances(fs []validate.Finding, names []string) []validate.Finding {
	if len(names) == 0 {
		return fs
	}
	keep := map[string]bool{}
	for _, n := range names {
		keep[n] = true
	}
	out := []validate.Finding{}
	for _, f := range fs {
		if keep[f.Instance] {
			out = append(out, f)
		}
	}
	return out
}

type printer func(w io.Writer, fs []validate.Finding) error

func findingPrinter(format string) (printer, error) {
	switch format {
	case "text":
		return printText, nil
	case "json":
		return printJSON, nil
	case "github":
		return printGitHub, nil
	}
	return nil, fmt.Errorf("unknown --format %q: use text, json or github", format)
}

func printText(w io.Writer, fs []validate.Finding) error {
	for _, f := range fs {
		if _, err := fmt.Fprintln(w, f); err != nil {
			return err
		}
	}
	errs := validate.ErrorCount(fs)
	_, err := fmt.Fprintf(w, "%d errors, %d warnings\n", errs, len(fs)-errs)
	return err
}

func printJSON(w io.Writer, fs []validate.Finding) error {
	if fs == nil {
		fs = []validate.Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(fs)
}

// printGitHub prints GitHub Actions workflow commands: one ::error or ::warning annotation
// a finding, on its CUE source line when it has one.
func printGitHub(w io.Writer, fs []validate.Finding) error {
	for _, f := range fs {
		var props []string
		if f.Pos != nil {
			props = append(props, "file="+ghProperty(f.Pos.File), fmt.Sprintf("line=%d", f.Pos.Line))
			if f.Pos.Column > 0 {
				props = append(props, fmt.Sprintf("col=%d", f.Pos.Column))
			}
		}
		props = append(props, "title="+ghProperty(f.Rule))
		msg := "[" + f.Instance + "] "
		if f.Object != "" {
			msg += f.Object + ": "
		}
		msg += f.Message
		if _, err := fmt.Fprintf(w, "::%s %s::%s\n", f.Severity, strings.Join(props, ","), ghData(msg)); err != nil {
			return err
		}
	}
	return nil
}

// ghData escapes a workflow command's message.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// ghProperty escapes a workflow command's property value.
func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
