package sync

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lsst-dm/lsstgen/internal/repo"
	"github.com/lsst-dm/lsstgen/internal/testcluster"
)

// largestInstance returns the instance of this repository's HEAD with the most objects and
// a folder holding its generated manifests, extracted from git.
func largestInstance(b *testing.B) (string, string, *Source) {
	b.Helper()
	root, err := repo.FindRoot(".")
	if err != nil {
		b.Fatal(err)
	}
	src := &Source{Repo: root, Revision: "HEAD"}
	out, err := git(context.Background(), root, "ls-tree", "-d", "--name-only", "HEAD", "--", GeneratedDir+"/")
	if err != nil {
		b.Fatal(err)
	}
	best, most := "", 0
	for _, dir := range strings.Fields(string(out)) {
		name := filepath.Base(dir)
		snap, err := src.Fetch(context.Background(), name)
		if err != nil {
			b.Fatal(err)
		}
		if len(snap.Objects) > most {
			best, most = name, len(snap.Objects)
		}
	}
	archive, err := git(context.Background(), root, "archive", "--format=tar", "HEAD", "--", GeneratedDir+"/"+best)
	if err != nil {
		b.Fatal(err)
	}
	tmp := b.TempDir()
	if err := untar(bytes.NewReader(archive), tmp); err != nil {
		b.Fatal(err)
	}
	b.Logf("largest instance: %s, %d objects", best, most)
	return best, filepath.Join(tmp, GeneratedDir, best), src
}

// BenchmarkSync times the first and a no-op sync of the largest instance, beside kubectl
// apply --server-side -k of the same manifests, each on a fresh control plane:
//
//	LSSTGEN_REQUIRE_CLUSTER=1 go test -run '^$' -bench Sync -benchtime 2x ./internal/sync
//
// docs/performance.md holds the last figures.
func BenchmarkSync(b *testing.B) {
	bin := testcluster.NeedBinaries(b)
	instance, dir, src := largestInstance(b)
	snap, err := src.Fetch(context.Background(), instance)
	if err != nil {
		b.Fatal(err)
	}

	lsstgen := func(c *testcluster.Cluster) func() {
		opts := DefaultOptions(instance)
		opts.HealthTimeout = 0 // nothing becomes ready without controllers; kubectl does not wait either
		s, err := New(c.Admin(), Logger(io.Discard), opts)
		if err != nil {
			b.Fatal(err)
		}
		return func() {
			if _, err := s.Sync(context.Background(), snap); err != nil {
				b.Fatal(err)
			}
		}
	}
	kubectl := func(c *testcluster.Cluster) func() {
		kubeconfig := filepath.Join(b.TempDir(), "kubeconfig")
		if err := os.WriteFile(kubeconfig, c.KubeConfig(), 0o600); err != nil {
			b.Fatal(err)
		}
		return func() {
			cmd := exec.Command(filepath.Join(bin, "kubectl"), "--kubeconfig", kubeconfig, "apply", "--server-side",
				"--field-manager", "kubectl-bench", "-k", dir)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("kubectl: %v\n%s", err, out)
			}
		}
	}
	for _, tool := range []struct {
		name  string
		apply func(*testcluster.Cluster) func()
	}{{"lsstgen", lsstgen}, {"kubectl", kubectl}} {
		for _, kind := range []string{"first", "noop"} {
			b.Run(kind+"/"+tool.name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					func() {
						c := mustStart(b)
						defer func() {
							if err := c.Stop(); err != nil {
								b.Error(err)
							}
						}()
						apply := tool.apply(c)
						if kind == "noop" {
							apply()
						}
						b.StartTimer()
						apply()
						b.StopTimer()
					}()
				}
			})
		}
	}
}

// mustStart starts a fresh control plane outside the timer.
func mustStart(b *testing.B) *testcluster.Cluster {
	b.Helper()
	c, err := testcluster.New(testcluster.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	return c
}
