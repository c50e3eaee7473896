package main

import (
	"encoding/json"
	"strings"

	"errors"
	"fmt"
	"io"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/nexus"
)

func newRegistryCmd(g *globalFlags, stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Work on an instance's Nexus registry",
		Long: `registry gathers what lsstgen does to an instance's local registry (Nexus Repository)
beside rendering it: provision makes a Nexus hold the instance's configuration; promote
copies a vetted image from the staging repository to the one the platform pulls from.

Exit status: 0 (it prints its help), as its subcommands say otherwise.`,
		Example: `  lsstgen registry provision --url http://nexus.registry.svc:8081 --config /etc/lsstgen/registry.json`,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newRegistryProvisionCmd(stdout))
	cmd.AddCommand(newRegistryPromoteCmd(g, stdout))
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

// promoteFlags are registry promote's flags.
type promoteFlags struct {
	instance, url, passwordEnv string
}

func newRegistryPromoteCmd(g *globalFlags, stdout io.Writer) *cobra.Command {
	f := &promoteFlags{passwordEnv: "LSST_PROMOTER_PASSWORD"}
	cmd := &cobra.Command{
		Use:   "promote --instance NAME --url URL NAME[:TAG]@sha256:DIGEST",
		Short: "Copy an image, by digest, from the staging repository to the vetted one",
		Long: `promote is the one way an image LSST CI pushed reaches the pods of the platform: it
copies the image NAME@DIGEST (and TAG, if given) from the instance's staging repository,
where CI pushes, to its vetted repository, which registry.<domain> serves, through the
registry API Nexus serves for each repository. It checks what the instance's model asks
(instance.registry.promotion, read from generated/<instance>/): the image is pinned by
digest, staging holds it, and, where signatures are required, its cosign signature (the
tag sha256-<hex>.sig) is in staging too and is copied with it. A digest the vetted
repository holds already is not copied again.

It logs in as the promoter (the model's promotion user) with the password in the
environment variable --password-env, and prints one JSON line: time, user, image, digest,
repositories, signature and result (promoted, already vetted, refused), to keep as the log
of what was vetted when and by whom.

Exit status: 0 when the image is in the vetted repository; 1 when the checks refused it
(the line says why, nothing is copied) or Nexus could not be read or written.`,
		Example: `  LSST_PROMOTER_PASSWORD=… lsstgen registry promote --instance pdac \
    --url https://registry.pdac.lsst.example lsst-sqre/sciplat-lab:w_2026_47@sha256:…`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.instance == "" || f.url == "" {
				return errors.New("registry promote needs --instance (whose model says what to check) and --url (Nexus's address)")
			}
			root, err := g.root()
			if err != nil {
				return err
			}
			cfg, err := instanceRegistryConfig(root, f.instance)
			if err != nil {
				return err
			}
			if cfg.Promotion == nil {
				return fmt.Errorf("instance %s's registry has no promotion (registry.json has no promotion)", f.instance)
			}
			password, ok := os.LookupEnv(f.passwordEnv)
			if !ok || password == "" {
				return fmt.Errorf("the environment variable %s (--password-env) that holds %s's password is not set", f.passwordEnv, cfg.Promotion.User)
			}
			p := &nexus.Promoter{BaseURL: f.url, User: cfg.Promotion.User, Password: password, Config: *cfg.Promotion}
			rec, err := p.Promote(cmd.Context(), args[0])
			if rec != nil {
				line, merr := json.Marshal(rec)
				if merr != nil {
					return merr
				}
				fmt.Fprintln(stdout, string(line))
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.instance, "instance", "", "the instance whose registry it is (a folder of generated/)")
	fl.StringVar(&f.url, "url", "", "the `URL` of Nexus, such as http://nexus.registry.svc:8081")
	fl.StringVar(&f.passwordEnv, "password-env", f.passwordEnv, "the environment variable `NAME` that holds the promoter's password")
	return cmd
}

// instanceRegistryConfig is the registry configuration generated/<instance>/ holds (the
// ConfigMap nexus-provision's registry.json).
func instanceRegistryConfig(root, instance string) (*nexus.Config, error) {
	objs, err := manifest.ReadInstance(os.DirFS(root), manifest.InstanceDir(instance))
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		if o.GetKind() == "ConfigMap" && o.GetNamespace() == "registry" && strings.HasPrefix(o.GetName(), "nexus-provision") {
			data, _, _ := unstructured.NestedString(o.Object, "data", "registry.json")
			cfg, err := nexus.ParseConfig([]byte(data))
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %s: %w", o.File, o.Line, manifest.ObjectID(o.Unstructured), err)
			}
			return cfg, nil
		}
	}
	return nil, fmt.Errorf("generated/%s has no registry configuration (ConfigMap registry/nexus-provision)", instance)
}
