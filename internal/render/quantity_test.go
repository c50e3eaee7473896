package render_test

import (
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/load"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/lsst-dm/lsstgen/internal/testrepo"
)

// format fills the formatter def of platform/quantity.cue with amount and returns its out.
func format(t *testing.T, platform cue.Value, def, input string, amount int64) string {
	t.Helper()
	out := platform.LookupPath(cue.ParsePath(def)).FillPath(cue.MakePath(cue.Def(input)), amount).LookupPath(cue.ParsePath("out"))
	s, err := out.String()
	if err != nil {
		t.Fatalf("%s of %d: %v", def, amount, err)
	}
	return s
}

// TestQuantityFormatters: #CPU, #Memory and #GiB print exactly what the apiserver stores for
// the amount (resource.Quantity's canonical form).
func TestQuantityFormatters(t *testing.T) {
	root := testrepo.Root(t)
	insts := load.Instances([]string{"./platform"}, &load.Config{Dir: root})
	if err := insts[0].Err; err != nil {
		t.Fatal(err)
	}
	platform := cuecontext.New().BuildInstance(insts[0])
	if err := platform.Err(); err != nil {
		t.Fatal(err)
	}
	for _, m := range []int64{0, 1, 50, 100, 250, 999, 1000, 1001, 1500, 2000, 8000, 12000, 20000, 100000, 999000, 999999,
		1000 * 1000, 1500 * 1000, 2000 * 1000, 1600 * 1000, 999 * 1000 * 1000, 999999999} {
		want := resource.NewMilliQuantity(m, resource.DecimalSI).String()
		if got := format(t, platform, "#CPU", "millis", m); got != want {
			t.Errorf("#CPU of %d millicores = %q, want %q", m, got, want)
		}
	}
	for _, mib := range []int64{0, 1, 64, 128, 512, 1000, 1024, 1536, 2048, 4096, 65536, 98304, 1 << 20, 3 << 20, 1 << 30, 5<<30 + 1024} {
		want := resource.NewQuantity(mib<<20, resource.BinarySI).String()
		if got := format(t, platform, "#Memory", "mib", mib); got != want {
			t.Errorf("#Memory of %d MiB = %q, want %q", mib, got, want)
		}
	}
	for _, gib := range []int64{0, 1, 80, 200, 1024, 1500, 10240, 102400, 512000, 1 << 20} {
		want := resource.NewQuantity(gib<<30, resource.BinarySI).String()
		if got := format(t, platform, "#GiB", "gib", gib); got != want {
			t.Errorf("#GiB of %d GiB = %q, want %q", gib, got, want)
		}
	}
	if _, err := platform.LookupPath(cue.ParsePath("#CPU")).FillPath(cue.MakePath(cue.Def("millis")), 1000*1000*1000).LookupPath(cue.ParsePath("out")).String(); err == nil {
		t.Error("#CPU accepted a million cores, which it cannot print canonically")
	}
}
