package testcluster

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
)

// Start starts a control plane for one test and stops it when the test and its subtests
// end, also when they fail or panic. Without binaries it skips the test, or fails it when
// LSSTGEN_REQUIRE_CLUSTER=1.
func Start(t testing.TB) *Cluster {
	t.Helper()
	c, err := New(DefaultOptions())
	if err != nil {
		handleStartError(t, err)
		return nil
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stopping the test control plane: %v", err)
		}
	})
	return c
}

// Shared is one control plane for all the tests of a package, started by the first test
// that asks for it and stopped when the package's tests end:
//
//	var cluster testcluster.Shared
//
//	func TestMain(m *testing.M) { os.Exit(cluster.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		c := cluster.Get(t)
//		…
//	}
//
// Tests that do not call Get do not pay for a control plane. If a test panics, the test
// binary dies without returning to Main; the processes then die with it (see New).
type Shared struct {
	once sync.Once
	c    *Cluster
	err  error
}

// Main runs the package's tests and stops the control plane if one was started. It returns
// the exit code for os.Exit; a failure to stop makes it non-zero.
func (s *Shared) Main(m *testing.M) int {
	code := m.Run()
	if s.c != nil {
		if err := s.c.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping the test control plane: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Get returns the shared control plane, starting it on first use. Without binaries it skips
// the test, or fails it when LSSTGEN_REQUIRE_CLUSTER=1; any other start failure fails it.
func (s *Shared) Get(t testing.TB) *Cluster {
	t.Helper()
	s.once.Do(func() { s.c, s.err = New(DefaultOptions()) })
	if s.err != nil {
		handleStartError(t, s.err)
		return nil
	}
	return s.c
}

// handleStartError skips or fails t for a control plane that did not start.
func handleStartError(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, ErrNoBinaries) && os.Getenv(EnvRequire) != "1" {
		t.Skipf("no test control plane: %v (set %s=1 to make this a failure)", err, EnvRequire)
		return
	}
	t.Fatalf("no test control plane: %v", err)
}

// NeedBinaries returns the folder of the control plane binaries for a test that runs them
// itself. Without them it skips the test, or fails it when LSSTGEN_REQUIRE_CLUSTER=1.
func NeedBinaries(t testing.TB) string {
	t.Helper()
	dir, err := FindBinaries(".")
	if err != nil {
		handleStartError(t, err)
	}
	return dir
}

// NeedTwin returns the folders of the control plane binaries, the twin's included, and of
// KWOK, for a test that starts a twin itself. Without them it skips the test, or fails it
// when LSSTGEN_REQUIRE_CLUSTER=1.
func NeedTwin(t testing.TB) (kube, kwok string) {
	t.Helper()
	kube, kwok, err := findTwinBinaries(".", "", "")
	if err != nil {
		handleStartError(t, err)
	}
	return kube, kwok
}
