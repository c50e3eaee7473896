package gitsource

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lsst-dm/lsstgen/internal/testrepo"
)

// newRepo makes a repository with two commits: the first holds a.txt, dir/b.txt and
// "with space/c.txt", the second changes a.txt. It returns the folder and both commits.
func newRepo(t *testing.T) (dir, first, second string) {
	t.Helper()
	dir = t.TempDir()
	testrepo.InitGit(t, dir)
	testrepo.WriteFile(t, dir, "a.txt", "one\n")
	testrepo.WriteFile(t, dir, "dir/b.txt", "b\n")
	testrepo.WriteFile(t, dir, "with space/c.txt", "c\n")
	first = testrepo.Commit(t, dir, "first")
	testrepo.Git(t, dir, "tag", "v1")
	testrepo.WriteFile(t, dir, "a.txt", "two\n")
	second = testrepo.Commit(t, dir, "second")
	return dir, first, second
}

// files lists every file of fsys with its content.
func files(t *testing.T, fsys fs.FS) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestResolve(t *testing.T) {
	dir, first, second := newRepo(t)
	r := &Repository{Location: dir}
	for _, tc := range []struct{ rev, want string }{
		{"", second}, {"HEAD", second}, {"main", second}, {"v1", first}, {first, first}, {first[:10], first}, {"HEAD~1", first},
	} {
		t.Run(tc.rev, func(t *testing.T) {
			got, err := r.Resolve(context.Background(), tc.rev)
			if err != nil || got != tc.want {
				t.Errorf("Resolve(%q) = %s, %v; want %s", tc.rev, got, err, tc.want)
			}
		})
	}
	for _, rev := range []string{"no-such-branch", "--all", "HEAD~9"} {
		t.Run(rev, func(t *testing.T) {
			_, err := r.Resolve(context.Background(), rev)
			var re *RevisionError
			if !errors.As(err, &re) || re.Revision != rev {
				t.Fatalf("Resolve(%q) error %v (%T), want a *RevisionError", rev, err, err)
			}
			if want := `"` + rev + `" does not name a commit in ` + dir; err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
		})
	}
}

// TestResolveNotARepository: a folder that is not a repository says so, with its path.
func TestResolveNotARepository(t *testing.T) {
	dir := t.TempDir()
	_, err := (&Repository{Location: dir}).Resolve(context.Background(), "HEAD")
	var oe *OpenError
	if !errors.As(err, &oe) || oe.Dir != dir || !strings.Contains(err.Error(), "repository does not exist") {
		t.Fatalf("error %v (%T), want an *OpenError naming %s", err, err, dir)
	}
}

// TestFS: the files of a commit, never the working tree's; only the paths asked for; a
// path the commit lacks is absent.
func TestFS(t *testing.T) {
	dir, first, second := newRepo(t)
	testrepo.WriteFile(t, dir, "a.txt", "uncommitted\n")
	testrepo.WriteFile(t, dir, "dir/new.txt", "uncommitted\n")
	r := &Repository{Location: dir}
	ctx := context.Background()
	tests := []struct {
		name   string
		commit string
		paths  []string
		want   map[string]string
	}{
		{"every file", first, nil, map[string]string{"a.txt": "one\n", "dir/b.txt": "b\n", "with space/c.txt": "c\n"}},
		{"one folder at the later commit", second, []string{"dir"}, map[string]string{"dir/b.txt": "b\n"}},
		{"a file and a folder with a space", second, []string{"a.txt", "with space"}, map[string]string{"a.txt": "two\n", "with space/c.txt": "c\n"}},
		{"a path the commit lacks beside one it holds", first, []string{"gone", "dir"}, map[string]string{"dir/b.txt": "b\n"}},
		{"only paths the commit lacks", first, []string{"gone", "dir/gone"}, map[string]string{}},
		{"a glob is a name", first, []string{"*.txt"}, map[string]string{}},
		{"overlapping paths", first, []string{"dir", "dir/b.txt", "./dir/"}, map[string]string{"dir/b.txt": "b\n"}},
		{"the root", first, []string{"."}, map[string]string{"a.txt": "one\n", "dir/b.txt": "b\n", "with space/c.txt": "c\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys, err := r.FS(ctx, tc.commit, tc.paths...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, files(t, fsys)); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			// What plan does with it: a copy on disk.
			out := t.TempDir()
			if err := os.CopyFS(out, fsys); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, files(t, os.DirFS(out))); diff != "" {
				t.Errorf("copied files (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := fs.Stat(mustFS(t, r, first, "dir"), "a.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a file not asked for: Stat error %v, want not exist", err)
	}
	if _, err := r.FS(ctx, strings.Repeat("0", 40), "dir"); err == nil || !strings.Contains(err.Error(), "reading commit 0000000000") {
		t.Errorf("FS of a commit that does not exist: %v", err)
	}
	var re *RevisionError
	if _, err := r.FS(ctx, "main", "dir"); !errors.As(err, &re) {
		t.Errorf("FS of a revision, not a commit: %v (%T), want a *RevisionError", err, err)
	}
}

func mustFS(t *testing.T, r *Repository, commit string, paths ...string) fs.FS {
	t.Helper()
	fsys, err := r.FS(context.Background(), commit, paths...)
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

// TestRemote: a remote is cloned bare into the cache folder, and each Update fetches what
// the remote gained since.
func TestRemote(t *testing.T) {
	dir, _, second := newRepo(t)
	ctx := context.Background()
	r := &Repository{Location: "file://" + dir, CacheDir: filepath.Join(t.TempDir(), "cache", "clone")}
	if !r.Remote() {
		t.Fatal("a file:// URL is not remote")
	}
	if err := r.Update(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r.CacheDir, "HEAD")); err != nil {
		t.Fatalf("no bare clone in the cache folder: %v", err)
	}
	if got, err := r.Resolve(ctx, "main"); err != nil || got != second {
		t.Errorf("Resolve after the clone = %s, %v; want %s", got, err, second)
	}
	testrepo.WriteFile(t, dir, "a.txt", "three\n")
	third := testrepo.Commit(t, dir, "third")
	if got, _ := r.Resolve(ctx, "main"); got != second {
		t.Errorf("Resolve before Update = %s, want %s still", got, second)
	}
	if err := r.Update(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Resolve(ctx, "main"); err != nil || got != third {
		t.Errorf("Resolve after the fetch = %s, %v; want %s", got, err, third)
	}
	if got := files(t, mustFS(t, r, third, "a.txt")); got["a.txt"] != "three\n" {
		t.Errorf("a.txt at %s = %q", third, got["a.txt"])
	}

	if err := (&Repository{Location: "file://" + dir}).Update(ctx); err == nil || !strings.Contains(err.Error(), "no cache folder") {
		t.Errorf("a remote without a cache folder: %v", err)
	}
	if _, err := (&Repository{Location: "file://" + dir}).Resolve(ctx, "main"); err == nil || !strings.Contains(err.Error(), "no cache folder") {
		t.Errorf("Resolve of a remote without a cache folder: %v", err)
	}
	bad := &Repository{Location: "file://" + filepath.Join(t.TempDir(), "nothing"), CacheDir: filepath.Join(t.TempDir(), "c")}
	err := bad.Update(ctx)
	var ae *AccessError
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), "cloning file://") || ae.Reason() != "repository" {
		t.Errorf("an unreachable remote: %v (%T), want an *AccessError from cloning, of the repository", err, err)
	}
	if _, statErr := os.Stat(bad.CacheDir); !errors.Is(statErr, fs.ErrNotExist) {
		t.Errorf("a failed clone left %s behind: %v", bad.CacheDir, statErr)
	}
	// A fetch that fails keeps its chain too.
	if err := os.WriteFile(filepath.Join(r.CacheDir, "config"), []byte("[remote \"origin\"]\n\turl = file:///nonexistent\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Update(ctx); !errors.As(err, &ae) || !strings.Contains(err.Error(), "fetching file://") {
		t.Errorf("a failed fetch: %v (%T), want an *AccessError from fetching", err, err)
	}
}

func TestRemoteOrLocal(t *testing.T) {
	for loc, want := range map[string]bool{
		"https://git.example.org/lsstgen.git": true,
		"file:///srv/git/lsstgen":             true,
		"git@github.com:lsst-dm/lsstgen.git":  true,
		"/srv/git/lsstgen":                    false,
		"../lsstgen":                          false,
	} {
		if got := (&Repository{Location: loc}).Remote(); got != want {
			t.Errorf("Remote(%q) = %v, want %v", loc, got, want)
		}
	}
}

// TestLocalUpdateDoesNothing: a local repository is read where it is.
func TestLocalUpdateDoesNothing(t *testing.T) {
	dir, _, _ := newRepo(t)
	cache := filepath.Join(t.TempDir(), "cache")
	if err := (&Repository{Location: dir, CacheDir: cache}).Update(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cache); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Update of a local repository made %s: %v", cache, err)
	}
}
