package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/lsst-dm/lsstgen/internal/gitsource"
	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/sync"
)

// syncFlags are sync's flags; diff uses the ones that select what to compare.
type syncFlags struct {
	instance       string
	repo           string
	revision       string
	cacheDir       string
	kubeconfig     string
	namespace      string
	once           bool
	interval       time.Duration
	dryRun         bool
	maxPrune       float64
	forcePrune     bool
	pruneKinds     bool
	stageTimeout   time.Duration
	health         time.Duration
	selfDeployment string
	leaderElect    bool
	leaderID       string
	leaseWait      time.Duration
	metricsAddr    string
	git            gitFlags
	webhook        webhookFlags
}

// webhookFlags configure the receiver of GitHub push events.
type webhookFlags struct {
	addr, secretFile, service, podIP string
	minGap                           time.Duration
}

// gitFlags say how to reach a remote --repo: files of a Secret the daemon mounts.
type gitFlags struct {
	username, tokenFile, sshKeyFile, caFile string
	knownHostsFiles                         []string
}

// credentials reads the files the flags name.
func (g gitFlags) credentials() (gitsource.Credentials, error) {
	var c gitsource.Credentials
	read := func(flag, file string) ([]byte, error) {
		if file == "" {
			return nil, nil
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("reading --%s: %w", flag, err)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			return nil, fmt.Errorf("--%s %s is empty", flag, file)
		}
		return b, nil
	}
	token, err := read("git-token-file", g.tokenFile)
	if err != nil {
		return c, err
	}
	c.Token = string(bytes.TrimSpace(token))
	c.Username = g.username
	if c.SSHKey, err = read("git-ssh-key-file", g.sshKeyFile); err != nil {
		return c, err
	}
	for _, f := range g.knownHostsFiles {
		if _, err := read("git-known-hosts-file", f); err != nil {
			return c, err
		}
	}
	c.KnownHostsFiles = g.knownHostsFiles
	if c.CABundle, err = read("git-ca-file", g.caFile); err != nil {
		return c, err
	}
	return c, nil
}

func newSyncCmd(g *globalFlags, stdout io.Writer) *cobra.Command {
	f := &syncFlags{}
	cmd := &cobra.Command{
		Use:   "sync --instance NAME [--repo PATH|URL] [--revision REF] [--once] [--interval D] [--dry-run]",
		Short: "Server-side apply an instance's committed manifests to a cluster, and keep it there",
		Long: `sync resolves REF in the git repository to a commit, reads ` + "`generated/<instance>/`" + ` at that
commit (never the working tree, never CUE) and server-side applies it as field manager
` + sync.FieldManager + `: Namespaces, CRDs and cluster roles first, then classes, then the rest; objects
that do not differ from the cluster are not written. What it applied is recorded in the
ConfigMap ` + "`" + sync.InventoryName("<instance>") + "`" + ` in --namespace, with the commit. Objects that
left git are pruned after a successful apply, unless annotated
` + manifest.AnnotationPrune + `=` + manifest.PruneDisabled + `, a Namespace, PersistentVolume or PersistentVolumeClaim not
annotated ` + manifest.AnnotationPrune + `=` + manifest.PruneAllowed + ` by the instance's model (see --prune-protected-kinds),
or more than --max-prune-share of the inventory (see --force-prune). An object whose fields
another apply manager owns is skipped and fails the cycle, unless annotated
` + manifest.AnnotationForce + `=` + manifest.ForceEnabled + ` in git.

After apply and prune it waits up to --health-timeout for the commit's objects to be ready
(a Deployment rolled out, …) and fails the cycle when they are not.

--repo is a local path (default: the repository lsstgen runs in) or a URL, cloned bare
into --cache-dir and fetched at each cycle; --revision is a branch, tag or commit.

With --once it runs one cycle; otherwise it runs a cycle every --interval, which also
restores objects changed by hand, until stopped, and only while it holds the instance's
Lease (--leader-elect); on SIGTERM it releases the Lease. A failed cycle is retried sooner,
with backoff. --once takes the same Lease for its cycle, so two writers never apply or
prune at once: while a daemon of the instance leads (or another --once runs) it waits up to
--lease-wait, then fails and changes nothing; scale the daemon's Deployment to 0 to run a
cycle by hand. A dry run takes no Lease. Logs are JSON on stdout: a line per cycle and per changed object.
--metrics-addr serves Prometheus metrics, /healthz and /readyz. docs/sync.md tells the
cycle, the logs and the metrics in full.

Exit status: with --once, 0 when the cycle succeeded and 1 when it failed; without it, 0
when stopped by a signal and 1 on an error that ends the loop.`,
		Example: `  # one cycle, for CI or cron
  lsstgen sync --instance pdac --repo /srv/lsstgen --revision main --once --kubeconfig ~/.kube/pdac

  # what would change, without changing anything
  lsstgen sync --instance pdac --revision main --once --dry-run

  # the loop: a cycle every minute, which also puts back hand edits, run only by the
  # replica holding the Lease lsstgen-system/lsstgen-sync-pdac
  lsstgen sync --instance pdac --repo https://github.com/lsst-dm/lsstgen.git --revision main --interval 1m --metrics-addr :9090`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, src, err := f.syncer(g, stdout)
			if err != nil {
				return err
			}
			if f.metricsAddr != "" {
				stop, err := serveMetrics(cmd.Context(), s, f.metricsAddr, stdout)
				if err != nil {
					return err
				}
				defer stop()
			}
			if f.webhook.addr != "" {
				if f.once {
					return errors.New("--webhook-addr is for the daemon: it makes no sense with --once")
				}
				stop, err := serveWebhook(cmd.Context(), s, f, stdout)
				if err != nil {
					return err
				}
				defer stop()
			}
			if f.once {
				var err error
				if f.leaderElect {
					_, err = s.Once(cmd.Context(), src, sync.DefaultLeaderOptions(f.identity()), f.leaseWait)
				} else {
					_, err = s.Cycle(cmd.Context(), src)
				}
				if err != nil {
					return fmt.Errorf("sync of %s failed: %w", f.instance, err)
				}
				return nil
			}
			if !f.leaderElect {
				return s.Run(cmd.Context(), src, f.interval)
			}
			return s.RunLeader(cmd.Context(), src, f.interval, sync.DefaultLeaderOptions(f.identity()))
		},
	}
	f.addSourceFlags(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&f.once, "once", false, "run one cycle and exit; non-zero exit when it fails")
	fl.DurationVar(&f.interval, "interval", time.Minute, "time between cycles when not --once")
	fl.BoolVar(&f.leaderElect, "leader-elect", true, "apply only while holding the Lease "+sync.LeaseName("<instance>")+" in --namespace, so that one writer applies at a time (--once holds it for its cycle)")
	fl.StringVar(&f.leaderID, "leader-id", "", "this writer's name in the Lease and in the inventory's pending entries (default: host name and process id)")
	fl.DurationVar(&f.leaseWait, "lease-wait", time.Minute, "with --once, how long to wait for the Lease another writer holds before failing")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus /metrics, /healthz and /readyz on `ADDR` (host:port)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "report what would change and change nothing")
	fl.Float64Var(&f.maxPrune, "max-prune-share", sync.DefaultOptions("").MaxPruneShare, "largest `SHARE` (0 to 1) of the inventory one cycle may prune")
	fl.BoolVar(&f.forcePrune, "force-prune", false, "prune even more than --max-prune-share")
	fl.DurationVar(&f.health, "health-timeout", sync.DefaultOptions("").HealthTimeout, "how long to wait for the commit's objects to be ready (kstatus) before the cycle fails; 0 does not wait")
	fl.StringVar(&f.selfDeployment, "self-deployment", "", "the daemon's own Deployment `NAME` in --namespace, left out of the health wait (it rolls out only as its replicas turn ready)")
	fl.StringVar(&f.webhook.addr, "webhook-addr", "", "receive GitHub push events on `ADDR` (host:port, path "+sync.WebhookPath+"): a verified push to --revision starts a cycle at once")
	fl.StringVar(&f.webhook.secretFile, "webhook-secret-file", "", "`FILE` holding the webhook's secret, which verifies each request's X-Hub-Signature-256")
	fl.DurationVar(&f.webhook.minGap, "webhook-min-gap", 10*time.Second, "least time between two cycles the webhook starts")
	fl.StringVar(&f.webhook.service, "webhook-service", "", "the webhook's Service `NAME` in --namespace, whose EndpointSlice the leader points at itself")
	fl.StringVar(&f.webhook.podIP, "pod-ip", os.Getenv("POD_IP"), "this pod's `IP`, published for --webhook-service while it leads (default $POD_IP)")
	fl.BoolVar(&f.pruneKinds, "prune-protected-kinds", false, "also prune Namespaces, PersistentVolumes and PersistentVolumeClaims that left git, whatever the instance's model allows")
	return cmd
}

// addSourceFlags adds the flags that say which commit of which instance goes to which cluster.
func (f *syncFlags) addSourceFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.instance, "instance", "", "the instance to sync (a folder of generated/)")
	fl.StringVar(&f.repo, "repo", "", "git repository, a `PATH` or URL (default: the repository lsstgen runs in)")
	fl.StringVar(&f.revision, "revision", "HEAD", "branch, tag or commit to apply")
	fl.StringVar(&f.cacheDir, "cache-dir", "", "where a remote --repo is cloned (default: the user cache folder)")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig `FILE` (default: $KUBECONFIG, ~/.kube/config, or in-cluster)")
	fl.StringVar(&f.namespace, "namespace", sync.DefaultNamespace, "namespace of the inventory ConfigMap")
	fl.DurationVar(&f.stageTimeout, "stage-timeout", time.Minute, "how long to wait for Namespaces, CRDs and classes to be ready")
	fl.StringVar(&f.git.tokenFile, "git-token-file", "", "`FILE` holding a token for an https:// --repo (basic authentication, the token as the password)")
	fl.StringVar(&f.git.username, "git-username", "", "user name sent with the token (default \"git\")")
	fl.StringVar(&f.git.sshKeyFile, "git-ssh-key-file", "", "`FILE` holding a private key (a deploy key) for an ssh:// or user@host:path --repo")
	fl.StringSliceVar(&f.git.knownHostsFiles, "git-known-hosts-file", nil, "known_hosts `FILE` with the SSH server's host keys (required with --git-ssh-key-file)")
	fl.StringVar(&f.git.caFile, "git-ca-file", "", "PEM `FILE` of CAs trusted, beside the system's, for an https:// --repo")
	_ = cmd.MarkFlagRequired("instance")
}

// identity is this writer's name in the Lease and the inventory: --leader-id, or the host
// name and process id.
func (f *syncFlags) identity() string {
	if f.leaderID != "" {
		return f.leaderID
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// syncer builds the Syncer and Source the flags describe; logs go to logOut.
func (f *syncFlags) syncer(g *globalFlags, logOut io.Writer) (*sync.Syncer, *sync.Source, error) {
	repoPath := f.repo
	if repoPath == "" {
		root, err := g.root()
		if err != nil {
			return nil, nil, err
		}
		repoPath = root
	}
	cacheDir := f.cacheDir
	if cacheDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		cacheDir = filepath.Join(base, "lsstgen", "sync", f.instance)
	}
	creds, err := f.git.credentials()
	if err != nil {
		return nil, nil, err
	}
	src := &sync.Source{Repo: repoPath, Revision: f.revision, CacheDir: cacheDir, Credentials: creds}
	if err := (&gitsource.Repository{Location: repoPath, Credentials: creds}).CheckCredentials(); err != nil {
		return nil, nil, fmt.Errorf("--repo %s: %w", repoPath, err)
	}
	cfg, err := restConfig(f.kubeconfig)
	if err != nil {
		return nil, nil, err
	}
	opts := sync.DefaultOptions(f.instance)
	opts.Namespace = f.namespace
	opts.DryRun = f.dryRun
	opts.MaxPruneShare = f.maxPrune
	opts.ForcePrune = f.forcePrune
	opts.PruneProtectedKinds = f.pruneKinds
	opts.WaitTimeout = f.stageTimeout
	opts.HealthTimeout = f.health
	opts.SelfDeployment = f.selfDeployment
	opts.Writer = f.identity()
	if f.webhook.service != "" {
		_, port, err := net.SplitHostPort(f.webhook.addr)
		n, perr := strconv.ParseInt(port, 10, 32)
		switch {
		case f.webhook.addr == "" || err != nil || perr != nil || n <= 0:
			return nil, nil, fmt.Errorf("--webhook-service needs --webhook-addr with a port, such as :9091")
		case net.ParseIP(f.webhook.podIP) == nil:
			return nil, nil, fmt.Errorf("--webhook-service needs this pod's address: --pod-ip or $POD_IP (the downward API's status.podIP), not %q", f.webhook.podIP)
		}
		opts.WebhookEndpoint = &sync.WebhookEndpoint{Service: f.webhook.service, IP: f.webhook.podIP, Port: int32(n)}
	}
	logger := sync.Logger(logOut)
	// controller-runtime's client, under ssa, logs through its own logger: send it to ours.
	ctrllog.SetLogger(logr.FromSlogHandler(logger.Handler()))
	s, err := sync.New(cfg, logger, opts)
	if err != nil {
		return nil, nil, err
	}
	return s, src, nil
}

// restConfig loads the kubeconfig file, or $KUBECONFIG, ~/.kube/config, or the in-cluster
// configuration, in that order.
func restConfig(kubeconfig string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		if kubeconfig == "" && clientcmd.IsEmptyConfig(err) {
			return nil, errors.New("no cluster configured: pass --kubeconfig, set KUBECONFIG, or run in a pod")
		}
		return nil, fmt.Errorf("loading the kubeconfig: %w", err)
	}
	cfg.UserAgent = "lsstgen"
	return cfg, nil
}

// serveMetrics serves s's metrics and probes on addr until the returned stop is called.
func serveMetrics(ctx context.Context, s *sync.Syncer, addr string, logOut io.Writer) (stop func(), err error) {
	m := sync.NewMetrics()
	s.SetMetrics(m)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	srv := &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	sync.Logger(logOut).Info("serving metrics", "addr", ln.Addr().String())
	return func() {
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}, nil
}

// serveWebhook serves the receiver of GitHub push events on --webhook-addr: its asks start
// cycles of s, its bad signatures leave Events and count in s's metrics.
func serveWebhook(ctx context.Context, s *sync.Syncer, f *syncFlags, logOut io.Writer) (stop func(), err error) {
	if f.webhook.secretFile == "" {
		return nil, errors.New("--webhook-addr needs --webhook-secret-file: an unverified push could make the daemon busy")
	}
	secret, err := os.ReadFile(f.webhook.secretFile)
	if err != nil {
		return nil, fmt.Errorf("reading --webhook-secret-file: %w", err)
	}
	logger := sync.Logger(logOut)
	w, err := sync.NewWebhook(bytes.TrimSpace(secret), webhookBranch(f.revision), f.webhook.minGap, logger)
	if err != nil {
		return nil, fmt.Errorf("--webhook-secret-file %s: %w", f.webhook.secretFile, err)
	}
	w.SetMetrics(s.Metrics())
	w.OnRejected(func(reason string) { s.WebhookRejected(context.WithoutCancel(ctx), reason) })
	s.SetWebhook(w)
	ln, err := net.Listen("tcp", f.webhook.addr)
	if err != nil {
		return nil, fmt.Errorf("--webhook-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle(sync.WebhookPath, w)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	logger.Info("serving the webhook", "addr", ln.Addr().String(), "path", sync.WebhookPath, "branch", webhookBranch(f.revision))
	return func() {
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}, nil
}

// webhookBranch is the branch whose pushes start a cycle: the revision when it names a
// branch; "" (any push) for HEAD, a tag or a commit, which no push to a branch changes
// but which a push may have moved (a tag).
func webhookBranch(revision string) string {
	if revision == "" || revision == "HEAD" || strings.HasPrefix(revision, "refs/tags/") || isHexCommit(revision) {
		return ""
	}
	return strings.TrimPrefix(revision, "refs/heads/")
}

func isHexCommit(s string) bool {
	if len(s) < 7 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}
