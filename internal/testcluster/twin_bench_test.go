package testcluster

import (
	"os"
	"testing"
	"time"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/render"
)

// BenchmarkTwinConverge measures, for each instance of generated/, how long a twin shaped by
// its model takes to start (etcd, apiserver, scheduler, controller-manager, KWOK and its
// nodes Ready), to be bootstrapped as README.md tells operators, and to converge, and
// stops it. One iteration is one twin; run it with -benchtime 1x:
//
//	LSSTGEN_REQUIRE_CLUSTER=1 go test -run '^$' -bench TwinConverge -benchtime 1x ./internal/testcluster
func BenchmarkTwinConverge(b *testing.B) {
	root, err := manifest.FindRoot(".")
	if err != nil {
		b.Fatal(err)
	}
	fsys := os.DirFS(root)
	for _, name := range generatedInstances(b, fsys) {
		b.Run(name, func(b *testing.B) {
			res, err := render.Instance(root, name)
			if err != nil {
				b.Fatal(err)
			}
			objs, err := manifest.ReadInstance(fsys, manifest.InstanceDir(name))
			if err != nil {
				b.Fatal(err)
			}
			nodes, err := NodesFromModel(res.Model)
			if err != nil {
				b.Fatal(err)
			}
			var up, applied, converged, stopped time.Duration
			for b.Loop() {
				start := time.Now()
				opts := DefaultTwinOptions()
				opts.Nodes = nodes
				tw, err := NewTwin(opts)
				if err != nil {
					handleStartError(b, err)
					return
				}
				t1 := time.Now()
				rejected, err := Bootstrap(b.Context(), tw.Admin(), res.Model.Secrets, objs)
				if err != nil || len(rejected) > 0 {
					tw.Stop()
					b.Fatalf("bootstrap: %v %v", rejected, err)
				}
				t2 := time.Now()
				if err := WaitConverged(b.Context(), tw.Admin(), objs, convergeTimeout); err != nil {
					tw.Stop()
					b.Fatal(err)
				}
				t3 := time.Now()
				if err := tw.Stop(); err != nil {
					b.Fatal(err)
				}
				up += t1.Sub(start)
				applied += t2.Sub(t1)
				converged += t3.Sub(t2)
				stopped += time.Since(t3)
			}
			n := float64(b.N)
			b.ReportMetric(up.Seconds()/n, "s-up/op")
			b.ReportMetric(applied.Seconds()/n, "s-apply/op")
			b.ReportMetric(converged.Seconds()/n, "s-converge/op")
			b.ReportMetric(stopped.Seconds()/n, "s-stop/op")
		})
	}
}
