package gitsource

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Repository is a git repository: a local one, read where it is, or a remote one, cloned
// (bare) into CacheDir and fetched by Update.
type Repository struct {
	// Location is a local path to a git repository (or a folder in one), or a URL:
	// https://, ssh:// or scp-like user@host:path, file://.
	Location string
	// CacheDir holds the bare clone of a remote Location. Unused for a local one.
	CacheDir string
	// Credentials reach a remote Location; the zero value is anonymous.
	Credentials Credentials
}

// Remote reports whether Location names a remote (a URL, or scp-like user@host:path)
// rather than a local path.
func (r *Repository) Remote() bool {
	l := r.Location
	return strings.Contains(l, "://") || (strings.Contains(l, "@") && strings.Contains(l, ":"))
}

// OpenError is a local repository, or a remote's clone, that cannot be opened.
type OpenError struct {
	Dir string
	Err error
}

func (e *OpenError) Error() string {
	return fmt.Sprintf("opening the git repository %s: %v", e.Dir, e.Err)
}

func (e *OpenError) Unwrap() error { return e.Err }

// open opens Location, or the clone of a remote in CacheDir.
func (r *Repository) open() (*git.Repository, error) {
	dir := r.Location
	if r.Remote() {
		if r.CacheDir == "" {
			return nil, fmt.Errorf("repository %s is remote and no cache folder is set", r.Location)
		}
		dir = r.CacheDir
	}
	// A folder inside a working tree, and a linked worktree, read like git does.
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: !r.Remote(), EnableDotGitCommonDir: true})
	if err != nil {
		return nil, &OpenError{Dir: dir, Err: err}
	}
	return repo, nil
}

// refSpecs are what a clone keeps of the remote: every branch and tag, as the remote has
// them (a bare mirror of heads and tags).
var refSpecs = []config.RefSpec{"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"}

// Update brings the clone of a remote repository up to date with it: a bare clone into
// CacheDir the first time, a fetch of every branch and tag (pruning those gone) after. It
// does nothing for a local repository. A failure to reach the remote is an *AccessError;
// a failed first clone leaves no cache folder behind.
func (r *Repository) Update(ctx context.Context) error {
	if !r.Remote() {
		return nil
	}
	if r.CacheDir == "" {
		return fmt.Errorf("repository %s is remote and no cache folder is set", r.Location)
	}
	auth, err := r.Credentials.auth(r.Location)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(r.CacheDir, "HEAD")); errors.Is(err, fs.ErrNotExist) {
		// Cloned beside the cache folder and renamed: a clone cut short is never taken
		// for one.
		if err := os.MkdirAll(filepath.Dir(r.CacheDir), 0o755); err != nil {
			return err
		}
		tmp, err := os.MkdirTemp(filepath.Dir(r.CacheDir), ".clone-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		repo, err := git.PlainInit(tmp, true)
		if err != nil {
			return err
		}
		if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{r.Location}, Fetch: refSpecs}); err != nil {
			return err
		}
		if err := r.fetch(ctx, repo, auth); err != nil {
			return &AccessError{Op: "cloning", Location: r.Location, Err: err}
		}
		if err := setHead(repo); err != nil {
			return err
		}
		if err := os.Rename(tmp, r.CacheDir); err != nil {
			return fmt.Errorf("moving the clone of %s into %s: %w", r.Location, r.CacheDir, err)
		}
		return nil
	}
	repo, err := r.open()
	if err != nil {
		return err
	}
	if err := r.fetch(ctx, repo, auth); err != nil {
		return &AccessError{Op: "fetching", Location: r.Location, Err: err}
	}
	return setHead(repo)
}

func (r *Repository) fetch(ctx context.Context, repo *git.Repository, auth authMethod) error {
	err := repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: "origin",
		RefSpecs:   refSpecs,
		Auth:       auth,
		CABundle:   r.Credentials.CABundle,
		Tags:       git.NoTags, // the refspecs bring the tags
		Prune:      true,
		Force:      true,
	})
	if errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil
	}
	return err
}

// setHead points HEAD of a bare clone at the branch the remote's HEAD names when the
// clone has it (main or master otherwise), so that an empty revision means the remote's
// default branch.
func setHead(repo *git.Repository) error {
	target := plumbing.ReferenceName("")
	if rem, err := repo.Remote("origin"); err == nil {
		if refs, err := rem.List(&git.ListOptions{}); err == nil {
			for _, ref := range refs {
				if ref.Name() == plumbing.HEAD && ref.Type() == plumbing.SymbolicReference {
					target = ref.Target()
				}
			}
		}
	}
	for _, name := range []plumbing.ReferenceName{target, plumbing.NewBranchReferenceName("main"), plumbing.NewBranchReferenceName("master")} {
		if name == "" {
			continue
		}
		if _, err := repo.Reference(name, false); err == nil {
			return repo.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, name))
		}
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

// Resolve returns the full hash of the commit revision (a branch, tag, hash or its prefix,
// HEAD~1, …) names; empty means HEAD. A remote repository is read as its clone was last
// updated. A revision that names no commit is a *RevisionError; a folder that is not a
// repository, an *OpenError.
func (r *Repository) Resolve(ctx context.Context, revision string) (string, error) {
	if revision == "" {
		revision = "HEAD"
	}
	repo, err := r.open()
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(revision, "-") {
		return "", &RevisionError{Revision: revision, Location: r.Location}
	}
	h, err := repo.ResolveRevision(plumbing.Revision(revision))
	if err != nil {
		return "", &RevisionError{Revision: revision, Location: r.Location}
	}
	c, err := commitAt(repo, *h)
	if err != nil {
		return "", &RevisionError{Revision: revision, Location: r.Location}
	}
	return c.Hash.String(), nil
}

// commitAt is the commit h names, through an annotated tag.
func commitAt(repo *git.Repository, h plumbing.Hash) (*object.Commit, error) {
	if t, err := repo.TagObject(h); err == nil {
		return t.Commit()
	}
	return repo.CommitObject(h)
}

// FS returns the files under paths (slash-separated, relative to the repository root;
// every file when there are none) at commit, as a read-only fs.FS whose paths are the
// repository's. A path the commit does not hold is simply absent; a path is a name, never
// a pattern.
func (r *Repository) FS(ctx context.Context, commit string, paths ...string) (fs.FS, error) {
	repo, err := r.open()
	if err != nil {
		return nil, err
	}
	if !plumbing.IsHash(commit) {
		return nil, &RevisionError{Revision: commit, Location: r.Location}
	}
	c, err := repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		return nil, fmt.Errorf("reading commit %s of %s: %w", commit, r.Location, err)
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("reading the tree of %s: %w", commit, err)
	}
	// A zip archive, stored uncompressed, is an fs.FS as the standard library reads it.
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	modified := c.Committer.When
	added := map[string]bool{} // paths may overlap ("dir", "dir/a")
	add := func(name string, f *object.File) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !f.Mode.IsFile() || added[name] {
			return nil
		}
		added[name] = true
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store, Modified: modified})
		if err != nil {
			return err
		}
		rd, err := f.Reader()
		if err != nil {
			return err
		}
		defer rd.Close()
		_, err = io.Copy(w, rd)
		return err
	}
	// Each path's own subtree is walked, not the whole tree: generated/<instance> is a
	// small part of the repository.
	walk := func(prefix string, t *object.Tree) error {
		return t.Files().ForEach(func(f *object.File) error { return add(path.Join(prefix, f.Name), f) })
	}
	if len(paths) == 0 {
		err = walk("", tree)
	}
	seen := map[string]bool{}
	for _, p := range paths {
		p = strings.Trim(path.Clean(p), "/")
		if p == "." || p == "" {
			err = walk("", tree)
			break
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		if sub, serr := tree.Tree(p); serr == nil {
			if err = walk(p, sub); err != nil {
				break
			}
			continue
		}
		if f, ferr := tree.File(p); ferr == nil {
			if err = add(p, f); err != nil {
				break
			}
		}
		// A path the commit does not hold is simply absent.
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s at %s: %w", strings.Join(paths, ", "), commit, err)
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return zip.NewReader(bytes.NewReader(b.Bytes()), int64(b.Len()))
}
