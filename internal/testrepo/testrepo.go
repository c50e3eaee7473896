// Package testrepo makes throwaway copies of the lsstgen repository's CUE inputs for tests
// that must change an instance or break it without touching the real one.
package testrepo

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// Root finds the real repository root from the test's working directory.
func Root(t testing.TB) string {
	t.Helper()
	root, err := manifest.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// Copy copies the CUE module (manifest.InputDirs) with the named instances only (all when
// none are named), and generated/ of those instances, into a new temporary folder, and
// returns it.
func Copy(t testing.TB, instances ...string) string {
	t.Helper()
	src := Root(t)
	dst := t.TempDir()
	for _, dir := range manifest.InputDirs() {
		if dir != manifest.InstancesDir {
			copyTree(t, src, dst, dir)
		}
	}
	if len(instances) == 0 {
		copyTree(t, src, dst, manifest.InstancesDir)
		copyTree(t, src, dst, manifest.GeneratedDir)
		return dst
	}
	// Files directly in instances/ are shared by every instance package.
	entries, err := os.ReadDir(filepath.Join(src, manifest.InstancesDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			copyFile(t, filepath.Join(src, manifest.InstancesDir, e.Name()), filepath.Join(dst, manifest.InstancesDir, e.Name()))
		}
	}
	for _, name := range instances {
		copyTree(t, src, dst, filepath.Join(manifest.InstancesDir, name))
		if _, err := os.Stat(filepath.Join(src, manifest.GeneratedDir, name)); err == nil {
			copyTree(t, src, dst, filepath.Join(manifest.GeneratedDir, name))
		}
	}
	return dst
}

// WriteFile writes a file below root, making its folders.
func WriteFile(t testing.TB, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Snapshot reads every file below dir into a map keyed by slash-separated relative path.
func Snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(data)
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}

// copyTree copies the folder rel of src to the same place in dst.
func copyTree(t testing.TB, src, dst, rel string) {
	t.Helper()
	if err := os.CopyFS(filepath.Join(dst, rel), os.DirFS(filepath.Join(src, rel))); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Git runs git in dir and returns its trimmed output, failing the test on an error.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// InitGit makes dir a git repository on branch main with a test identity.
func InitGit(t testing.TB, dir string) {
	t.Helper()
	Git(t, dir, "init", "--quiet", "--initial-branch=main")
	Git(t, dir, "config", "user.email", "test@example.org")
	Git(t, dir, "config", "user.name", "test")
	Git(t, dir, "config", "commit.gpgsign", "false")
}

// Commit stages everything in dir and commits it, returning the commit's hash.
func Commit(t testing.TB, dir, message string) string {
	t.Helper()
	Git(t, dir, "add", "-A")
	Git(t, dir, "commit", "--quiet", "--allow-empty", "-m", message)
	return Git(t, dir, "rev-parse", "HEAD")
}
