package synth_test

import (
	"strconv"
	"testing"

	"github.com/lsst-dm/lsstgen/internal/render"
	"github.com/lsst-dm/lsstgen/internal/synth"
	"github.com/lsst-dm/lsstgen/internal/testrepo"
)

// TestSyntheticInstancesRender: every shape the generator makes renders, and sizes vary.
func TestSyntheticInstancesRender(t *testing.T) {
	dst := t.TempDir()
	if err := synth.Repo(testrepo.Root(t), dst, 12); err != nil {
		t.Fatal(err)
	}
	rs, err := render.All(dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 12 {
		t.Fatalf("%d instances rendered, want 12", len(rs))
	}
	sizes := map[int]bool{}
	for _, r := range rs {
		sizes[len(r.Objects)] = true
		if len(r.Objects) < 100 {
			t.Errorf("%s has %d objects; shaped like the real ones means well over 100", r.Instance, len(r.Objects))
		}
	}
	if len(sizes) < 4 {
		t.Errorf("only %d distinct sizes among 12 instances: %v", len(sizes), sizes)
	}
}

// BenchmarkRenderScale renders 5 and 25 synthetic instances; ns/instance should stay flat
// (linear growth in instances).
func BenchmarkRenderScale(b *testing.B) {
	for _, n := range []int{5, 25} {
		dst := b.TempDir()
		if err := synth.Repo(testrepo.Root(b), dst, n); err != nil {
			b.Fatal(err)
		}
		b.Run("instances="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := render.Generate(dst, nil, render.DefaultOptions()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/instance")
		})
	}
}
