package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/lsst-dm/lsstgen/internal/nexus"
)

func newRegistryCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Work on an instance's Nexus registry",
		Long: `registry gathers what lsstgen does to an instance's local registry (Nexus Repository)
beside rendering it: provision makes a Nexus hold the instance's configuration.

Exit status: 0 (it prints its help), as its subcommands say otherwise.`,
		Example: `  lsstgen registry provision --url http://nexus.registry.svc:8081 --config /etc/lsstgen/registry.json`,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newRegistryProvisionCmd(stdout))
	return cmd
}

// provisionFlags are registry provision's flags.
type provisionFlags struct {
	url, config, user, passwordEnv string
	wait                           time.Duration
}

func newRegistryProvisionCmd(stdout io.Writer) *cobra.Command {
	f := &provisionFlags{user: "admin", passwordEnv: "NEXUS_ADMIN_PASSWORD", wait: nexus.DefaultOptions().Wait}
	cmd := &cobra.Command{
		Use:   "provision --url URL --config FILE",
		Short: "Make a Nexus hold the blob stores, repositories, realms, roles and users of a configuration",
		Long: `provision drives Nexus's REST API until Nexus holds what the configuration says: the
file blob stores, the docker hosted, proxy and group repositories, the active realms (in
order, NexusAuthenticatingRealm first), a role and a user for each pusher, and anonymous
read access to the repositories it names. Nexus has no file provisioning of its own: the
registry's Job runs this with the configuration platform/registry.cue renders
(registry.json in the ConfigMap nexus-provision).

It waits up to --wait for Nexus to accept writes, then reads each object: what is
missing is created, what differs is corrected, the rest is left alone. A second run
changes nothing. It prints what it created or updated.

It logs in as --user with the password in the environment variable --password-env; each
pusher's password is in the variable the configuration names.

Exit status: 0 when Nexus holds the configuration, 1 on an error (a bad configuration, a
password not set, Nexus not writable in time, a call Nexus refused: the error names it).`,
		Example: `  # what the registry's Job runs
  NEXUS_ADMIN_PASSWORD=… LSST_CI_PASSWORD=… \
    lsstgen registry provision --url http://nexus.registry.svc:8081 --config /etc/lsstgen/registry.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.url == "" || f.config == "" {
				return errors.New("registry provision needs --url (Nexus's address) and --config (the configuration file)")
			}
			cfg, err := nexus.LoadConfig(f.config)
			if err != nil {
				return err
			}
			password, ok := os.LookupEnv(f.passwordEnv)
			if !ok || password == "" {
				return fmt.Errorf("the environment variable %s (--password-env) that holds %s's password is not set", f.passwordEnv, f.user)
			}
			opts := nexus.DefaultOptions()
			opts.Wait = f.wait
			c := &nexus.Client{BaseURL: f.url, User: f.user, Password: password}
			report, err := nexus.Provision(cmd.Context(), c, cfg, opts)
			if report != nil {
				for _, a := range report.Actions {
					if a.Verb != "unchanged" {
						fmt.Fprintln(stdout, a)
					}
				}
			}
			if err != nil {
				return fmt.Errorf("provisioning %s: %w", f.url, err)
			}
			fmt.Fprintf(stdout, "%s holds the configuration: %d objects, %d created or updated\n", f.url, len(report.Actions), report.Changed())
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.url, "url", f.url, "the `URL` of Nexus, such as http://nexus.registry.svc:8081")
	fl.StringVar(&f.config, "config", f.config, "the configuration `FILE` (JSON)")
	fl.StringVar(&f.user, "user", f.user, "the Nexus `USER` to log in as")
	fl.StringVar(&f.passwordEnv, "password-env", f.passwordEnv, "the environment variable `NAME` that holds the user's password")
	fl.DurationVar(&f.wait, "wait", f.wait, "wait up to `DURATION` for Nexus to accept writes")
	return cmd
}
