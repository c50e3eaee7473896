// Command syncbench times `lsstgen sync --once` beside `kubectl apply --server-side -k` on
// fresh apiservers (the test control plane), as a user runs each: whole processes, one
// instance's generated/ (us-dac by default, the largest). It prints the median of each
// and the two ratios the sync daemon is held to: first sync ÷ kubectl, and no-op sync ÷
// no-op kubectl.
//
//	go build -o .bin/lsstgen ./cmd/lsstgen && go run ./hack/syncbench [-instance us-dac] [-runs 3]
//
// kubectl applies everything; sync applies all but the bootstrap tier, which kubectl
// applies first, untimed, as the operator does once (README, bootstrap), and which sync
// then only reads.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/testcluster"
)

func main() {
	instance := flag.String("instance", "us-dac", "the instance whose generated/ is applied")
	runs := flag.Int("runs", 3, "fresh apiservers per measure")
	lsstgen := flag.String("lsstgen", ".bin/lsstgen", "the lsstgen binary")
	flag.Parse()
	ctrllog.SetLogger(logr.Discard()) // the test control plane's client logs nothing here
	if err := run(*instance, *runs, *lsstgen); err != nil {
		fmt.Fprintln(os.Stderr, "syncbench:", err)
		os.Exit(1)
	}
}

type times struct{ first, noop []time.Duration }

func run(instance string, runs int, lsstgen string) error {
	root, err := manifest.FindRoot(".")
	if err != nil {
		return err
	}
	bin, err := testcluster.FindBinaries(root)
	if err != nil {
		return err
	}
	kubectl := filepath.Join(bin, "kubectl")
	dir := filepath.Join(root, manifest.InstanceDir(instance))
	boot, err := bootstrapTier(root, instance)
	if err != nil {
		return err
	}
	defer os.RemoveAll(boot)
	var kc, sy times
	for i := range runs {
		for _, tool := range []string{"kubectl", "sync"} {
			c, err := testcluster.New(testcluster.Options{BinDir: bin, StartTimeout: time.Minute, StopTimeout: 30 * time.Second})
			if err != nil {
				return err
			}
			kubeconfig := filepath.Join(os.TempDir(), fmt.Sprintf("syncbench-%d-%s.kubeconfig", i, tool))
			if err := os.WriteFile(kubeconfig, c.KubeConfig(), 0o600); err != nil {
				return err
			}
			var cmd func() *exec.Cmd
			switch tool {
			case "kubectl":
				cmd = func() *exec.Cmd {
					return exec.Command(kubectl, "--kubeconfig", kubeconfig, "apply", "--server-side", "--field-manager=lsstgen", "-k", dir)
				}
			case "sync":
				if err := quiet(exec.Command(kubectl, "--kubeconfig", kubeconfig, "apply", "--server-side", "--field-manager=lsstgen", "-f", boot, "--recursive")); err != nil {
					c.Stop()
					return fmt.Errorf("bootstrap tier: %w", err)
				}
				cache := filepath.Join(os.TempDir(), fmt.Sprintf("syncbench-cache-%d", i))
				cmd = func() *exec.Cmd {
					return exec.Command(lsstgen, "-C", root, "sync", "--once", "--instance", instance, "--kubeconfig", kubeconfig,
						"--health-timeout", "0", "--cache-dir", cache)
				}
			}
			first, err := timed(cmd())
			if err == nil {
				var noop time.Duration
				noop, err = timed(cmd())
				t := &kc
				if tool == "sync" {
					t = &sy
				}
				t.first = append(t.first, first)
				t.noop = append(t.noop, noop)
				fmt.Printf("run %d %-7s first %6.2fs  no-op %6.2fs\n", i+1, tool, first.Seconds(), noop.Seconds())
			}
			c.Stop()
			os.Remove(kubeconfig)
			if err != nil {
				return fmt.Errorf("%s: %w", tool, err)
			}
		}
	}
	kf, kn, sf, sn := median(kc.first), median(kc.noop), median(sy.first), median(sy.noop)
	fmt.Printf("\n%s, median of %d fresh apiservers:\n", instance, runs)
	fmt.Printf("  kubectl apply --server-side -k: first %.2fs, no-op %.2fs\n", kf.Seconds(), kn.Seconds())
	fmt.Printf("  lsstgen sync --once:            first %.2fs, no-op %.2fs\n", sf.Seconds(), sn.Seconds())
	fmt.Printf("  first sync ÷ kubectl = %.2f (target < 1)\n", sf.Seconds()/kf.Seconds())
	fmt.Printf("  no-op sync ÷ kubectl = %.2f (target < 0.5)\n", sn.Seconds()/kn.Seconds())
	return nil
}

// bootstrapTier copies the instance's bootstrap-tier manifests into a folder of their own.
func bootstrapTier(root, instance string) (string, error) {
	out, err := os.MkdirTemp("", "syncbench-bootstrap-")
	if err != nil {
		return "", err
	}
	objs, err := manifest.ReadInstance(os.DirFS(root), manifest.InstanceDir(instance))
	if err != nil {
		return "", err
	}
	n := 0
	for _, o := range objs {
		if o.GetAnnotations()[manifest.AnnotationTier] != manifest.TierBootstrap {
			continue
		}
		b, err := o.MarshalJSON()
		if err != nil {
			return "", err
		}
		n++
		if err := os.WriteFile(filepath.Join(out, fmt.Sprintf("%03d.json", n)), b, 0o644); err != nil {
			return "", err
		}
	}
	if n == 0 {
		return "", fmt.Errorf("%s has no bootstrap-tier object", instance)
	}
	return out, nil
}

func timed(cmd *exec.Cmd) (time.Duration, error) {
	start := time.Now()
	err := quiet(cmd)
	return time.Since(start), err
}

func quiet(cmd *exec.Cmd) error {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args[:3], " "), err, tail(out.String()))
	}
	return nil
}

func tail(s string) string {
	if len(s) > 3000 {
		return "…" + s[len(s)-3000:]
	}
	return s
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
