package testcluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/mod/modfile"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// Version is the Kubernetes version of the test control plane. It agrees with the
// k8s.io/kubernetes requirement in tools/kube/go.mod, which names the folder the binaries
// are built into.
const Version = "v1.37.2"

// Environment variables that steer where the binaries come from and what happens without them.
const (
	// EnvBinDir names a folder holding kube-apiserver, etcd and kubectl, used instead of
	// the repository's .bin/kube-<Version>/.
	EnvBinDir = "LSSTGEN_KUBE_BIN"
	// EnvRequire, set to 1, turns a skip for missing binaries into a test failure.
	EnvRequire = "LSSTGEN_REQUIRE_CLUSTER"
)

// BuildCommand is the command that builds the binaries, relative to the repository root.
const BuildCommand = "tools/kube/build.sh"

// Binaries are the executables a control plane needs; all three live in one folder.
var Binaries = []string{"kube-apiserver", "etcd", "kubectl"}

// ErrNoBinaries is wrapped by FindBinaries' error when the folder or one of the binaries
// is missing, as opposed to the repository root not being found.
var ErrNoBinaries = errors.New("control plane binaries not built")

// BinDir returns the folder the build script writes the binaries into for the repository
// rooted at root.
func BinDir(root string) string {
	return filepath.Join(root, ".bin", "kube-"+Version)
}

// FindBinaries returns the folder holding the control plane binaries: $LSSTGEN_KUBE_BIN if
// set, otherwise BinDir of the repository found at or above dir. It checks that every one
// of Binaries is there and executable.
func FindBinaries(dir string) (string, error) {
	bin := os.Getenv(EnvBinDir)
	from := "$" + EnvBinDir
	if bin == "" {
		root, err := findRoot(dir)
		if err != nil {
			return "", err
		}
		bin = BinDir(root)
		from = "the repository"
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return "", err
	}
	if err := checkExecutables(abs, from, BuildCommand, Binaries...); err != nil {
		return "", err
	}
	return abs, nil
}

// checkExecutables returns an error wrapping ErrNoBinaries, naming dir, where it came from
// and the command that builds them, unless every one of names is an executable file in dir.
func checkExecutables(dir, from, build string, names ...string) error {
	for _, b := range names {
		fi, err := os.Stat(filepath.Join(dir, b))
		if err != nil {
			return fmt.Errorf("%s (folder from %s): %w: %s is missing; run %s", dir, from, ErrNoBinaries, b, build)
		}
		if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return fmt.Errorf("%s (folder from %s): %w: %s is not an executable file; run %s", dir, from, ErrNoBinaries, b, build)
		}
	}
	return nil
}

// findRoot finds the repository root with manifest.FindRoot, falling back to the folder that
// holds the main module's go.mod.
func findRoot(dir string) (string, error) {
	root, err := manifest.FindRoot(dir)
	if err == nil {
		return root, nil
	}
	abs, aerr := filepath.Abs(dir)
	if aerr != nil {
		return "", aerr
	}
	for d := abs; ; d = filepath.Dir(d) {
		if b, rerr := os.ReadFile(filepath.Join(d, "go.mod")); rerr == nil && isMainModule(b) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", err
		}
	}
}

// isMainModule reports whether a go.mod declares the main lsstgen module (not tools/kube).
func isMainModule(gomod []byte) bool {
	return modfile.ModulePath(gomod) == "github.com/lsst-dm/lsstgen"
}
