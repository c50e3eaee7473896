package testcluster

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := findRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestVersionAgreesWithBuild keeps Version, which names the folder the tests look in, equal
// to the version tools/kube builds.
func TestVersionAgreesWithBuild(t *testing.T) {
	gomod := filepath.Join(repoRoot(t), "tools", "kube", "go.mod")
	b, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse(gomod, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Require {
		if r.Mod.Path == "k8s.io/kubernetes" {
			if r.Mod.Version != Version {
				t.Fatalf("%s requires k8s.io/kubernetes %s, Version is %s", gomod, r.Mod.Version, Version)
			}
			return
		}
	}
	t.Fatalf("%s does not require k8s.io/kubernetes", gomod)
}

func TestBuildScriptUsage(t *testing.T) {
	cmd := exec.Command(filepath.Join(repoRoot(t), BuildCommand), "--bogus")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), "usage:") {
		t.Fatalf("build.sh --bogus: %v, %q; want exit 2 and usage", err, stderr.String())
	}
}

// TestBuildScriptDoesNothingWhenBuilt proves the script only prints the folder when the
// binaries are there (it would take minutes otherwise).
func TestBuildScriptDoesNothingWhenBuilt(t *testing.T) {
	root := repoRoot(t)
	t.Setenv(EnvBinDir, BinDir(root))
	NeedBinaries(t)
	before, err := os.Stat(filepath.Join(BinDir(root), "kube-apiserver"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(root, BuildCommand)).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != BinDir(root) {
		t.Errorf("build.sh printed %q, want %q", got, BinDir(root))
	}
	after, err := os.Stat(filepath.Join(BinDir(root), "kube-apiserver"))
	if err != nil || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("build.sh touched the built kube-apiserver: %v", err)
	}
}
