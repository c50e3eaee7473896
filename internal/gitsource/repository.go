package gitsource

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Repository is a git repository: a local one, read where it is, or a remote one, cloned
// (bare) into CacheDir and fetched by Update.
type Repository struct {
	// Location is a local path to a git repository, or a URL git can clone.
	Location string
	// CacheDir holds the bare clone of a remote Location. Unused for a local one.
	CacheDir string
}

// Remote reports whether Location names a remote (a URL, or scp-like user@host:path)
// rather than a local path.
func (r *Repository) Remote() bool {
	l := r.Location
	return strings.Contains(l, "://") || (strings.Contains(l, "@") && strings.Contains(l, ":"))
}

// dir is the repository git commands run in: Location, or the clone in CacheDir.
func (r *Repository) dir() (string, error) {
	if !r.Remote() {
		return r.Location, nil
	}
	if r.CacheDir == "" {
		return "", fmt.Errorf("repository %s is remote and no cache folder is set", r.Location)
	}
	return r.CacheDir, nil
}

// Update brings the clone of a remote repository up to date with it: a bare clone into
// CacheDir the first time, a fetch of every branch and tag (pruning those gone) after. It
// does nothing for a local repository.
func (r *Repository) Update(ctx context.Context) error {
	dir, err := r.dir()
	if err != nil || !r.Remote() {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return err
		}
		if _, err := git(ctx, "", "clone", "--bare", "--quiet", r.Location, dir); err != nil {
			return fmt.Errorf("cloning %s: %w", r.Location, err)
		}
		return nil
	}
	if _, err := git(ctx, dir, "fetch", "--quiet", "--prune", "--force", "origin",
		"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"); err != nil {
		return fmt.Errorf("fetching %s: %w", r.Location, err)
	}
	return nil
}

// RevisionError is a revision that names no commit of the repository.
type RevisionError struct {
	Revision, Location string
}

func (e *RevisionError) Error() string {
	return fmt.Sprintf("%q does not name a commit in %s", e.Revision, e.Location)
}

// Resolve returns the full hash of the commit revision (a branch, tag, hash, HEAD~1, …)
// names; empty means HEAD. A remote repository is read as its clone was last updated. A
// revision that names no commit is a *RevisionError; a folder that is not a repository, a
// *CommandError.
func (r *Repository) Resolve(ctx context.Context, revision string) (string, error) {
	if revision == "" {
		revision = "HEAD"
	}
	dir, err := r.dir()
	if err != nil {
		return "", err
	}
	out, err := git(ctx, dir, "rev-parse", "--verify", "--quiet", "--end-of-options", revision+"^{commit}")
	var ce *CommandError
	if errors.As(err, &ce) && ce.exitCode() == 1 && ce.Stderr == "" {
		return "", &RevisionError{Revision: revision, Location: r.Location}
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// FS returns the files under paths (slash-separated, relative to the repository root;
// every file when there are none) at commit, as a read-only fs.FS whose paths are the
// repository's. A path the commit does not hold is simply absent.
func (r *Repository) FS(ctx context.Context, commit string, paths ...string) (fs.FS, error) {
	dir, err := r.dir()
	if err != nil {
		return nil, err
	}
	if len(paths) > 0 {
		// git archive refuses a path that matches nothing: keep the ones the commit holds.
		out, err := git(ctx, dir, append([]string{"ls-tree", "-z", "--name-only", commit, "--"}, paths...)...)
		if err != nil {
			return nil, fmt.Errorf("listing %s at %s: %w", strings.Join(paths, ", "), commit, err)
		}
		paths = strings.FieldsFunc(string(out), func(r rune) bool { return r == 0 })
		if len(paths) == 0 {
			return emptyFS()
		}
	}
	// A zip archive, stored uncompressed, is an fs.FS as the standard library reads it.
	data, err := git(ctx, dir, append([]string{"archive", "--format=zip", "-0", commit, "--"}, paths...)...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", commit, err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("reading the archive of %s: %w", commit, err)
	}
	return zr, nil
}

// emptyFS is a tree without files: an empty zip archive.
func emptyFS() (fs.FS, error) {
	var b bytes.Buffer
	if err := zip.NewWriter(&b).Close(); err != nil {
		return nil, err
	}
	return zip.NewReader(bytes.NewReader(b.Bytes()), int64(b.Len()))
}
