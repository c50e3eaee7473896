package sync

import (
	"context"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/lsst-dm/lsstgen/internal/gitsource"
	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/testcluster"
)

// largestInstance returns the instance of this repository's HEAD with the most objects and
// a folder holding its generated manifests, copied out of git.
func largestInstance(b *testing.B) (string, string, *Source) {
	b.Helper()
	root, err := manifest.FindRoot(".")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	repo := &gitsource.Repository{Location: root}
	commit, err := repo.Resolve(ctx, "HEAD")
	if err != nil {
		b.Fatal(err)
	}
	fsys, err := repo.FS(ctx, commit, manifest.GeneratedDir)
	if err != nil {
		b.Fatal(err)
	}
	entries, err := fs.ReadDir(fsys, manifest.GeneratedDir)
	if err != nil {
		b.Fatal(err)
	}
	best, most := "", 0
	for _, e := range entries {
		name := e.Name()
		objs, err := manifest.ReadInstance(fsys, manifest.InstanceDir(name))
		if err != nil {
			b.Fatal(err)
		}
		if len(objs) > most {
			best, most = name, len(objs)
		}
	}
	sub, err := fs.Sub(fsys, manifest.InstanceDir(best))
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(b.TempDir(), best)
	if err := os.CopyFS(dir, sub); err != nil {
		b.Fatal(err)
	}
	b.Logf("largest instance: %s, %d objects", best, most)
	return best, dir, &Source{Repo: root, Revision: commit}
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
