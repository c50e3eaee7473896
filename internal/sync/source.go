package sync

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// GeneratedDir is the folder, relative to the repository root, that holds one folder of
// rendered manifests per instance.
const GeneratedDir = "generated"

// Source is a git repository and a revision to follow. The repository is a local path or,
// for anything that looks like a URL, a remote that is cloned (bare) into CacheDir and
// fetched at each Resolve.
type Source struct {
	// Repo is a local path to a git repository or a URL git can clone.
	Repo string
	// Revision is a branch, tag or commit; empty means HEAD.
	Revision string
	// CacheDir holds the bare clone of a remote Repo. Unused for a local path.
	CacheDir string
}

// Snapshot is one instance's manifests read at one commit.
type Snapshot struct {
	Instance string
	Commit   string
	Objects  []*unstructured.Unstructured
}

// SourceError is a commit that cannot be synced: the revision does not resolve, the
// instance is missing at that commit or its manifests do not parse.
type SourceError struct {
	Revision, Commit, Instance string
	Err                        error
}

func (e *SourceError) Error() string {
	at := e.Revision
	if e.Commit != "" {
		at = fmt.Sprintf("%s (%s)", e.Revision, short(e.Commit))
	}
	if e.Instance == "" {
		return fmt.Sprintf("revision %s refused: %v", at, e.Err)
	}
	return fmt.Sprintf("instance %s at %s refused: %v", e.Instance, at, e.Err)
}

func (e *SourceError) Unwrap() error { return e.Err }

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

// isRemote reports whether repo names a remote rather than a local path.
func isRemote(repo string) bool {
	return strings.Contains(repo, "://") || (strings.Contains(repo, "@") && strings.Contains(repo, ":"))
}

// gitDir returns the repository git commands run in, cloning or fetching a remote first.
func (s *Source) gitDir(ctx context.Context) (string, error) {
	if !isRemote(s.Repo) {
		return s.Repo, nil
	}
	if s.CacheDir == "" {
		return "", fmt.Errorf("repository %s is remote and no cache folder is set", s.Repo)
	}
	if _, err := os.Stat(filepath.Join(s.CacheDir, "HEAD")); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(s.CacheDir), 0o755); err != nil {
			return "", err
		}
		if _, err := git(ctx, "", "clone", "--bare", "--quiet", s.Repo, s.CacheDir); err != nil {
			return "", fmt.Errorf("cloning %s: %w", s.Repo, err)
		}
		return s.CacheDir, nil
	}
	if _, err := git(ctx, s.CacheDir, "fetch", "--quiet", "--prune", "--force", "origin",
		"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"); err != nil {
		return "", fmt.Errorf("fetching %s: %w", s.Repo, err)
	}
	return s.CacheDir, nil
}

// Resolve returns the commit the revision names now.
func (s *Source) Resolve(ctx context.Context) (string, error) {
	dir, err := s.gitDir(ctx)
	if err != nil {
		return "", err
	}
	return s.resolveIn(ctx, dir)
}

func (s *Source) revision() string {
	if s.Revision == "" {
		return "HEAD"
	}
	return s.Revision
}

func (s *Source) resolveIn(ctx context.Context, dir string) (string, error) {
	out, err := git(ctx, dir, "rev-parse", "--verify", "--end-of-options", s.revision()+"^{commit}")
	if err != nil {
		return "", &SourceError{Revision: s.revision(), Err: fmt.Errorf("does not name a commit in %s: %w", s.Repo, err)}
	}
	return strings.TrimSpace(string(out)), nil
}

// Fetch resolves the revision and reads the instance's manifests at that commit from the
// git object store, never from a working tree.
func (s *Source) Fetch(ctx context.Context, instance string) (*Snapshot, error) {
	dir, err := s.gitDir(ctx)
	if err != nil {
		return nil, err
	}
	commit, err := s.resolveIn(ctx, dir)
	if err != nil {
		return nil, err
	}
	objs, err := readAt(ctx, dir, commit, instance)
	if err != nil {
		return nil, &SourceError{Revision: s.revision(), Commit: commit, Instance: instance, Err: err}
	}
	return &Snapshot{Instance: instance, Commit: commit, Objects: objs}, nil
}

// readAt extracts generated/<instance>/ at commit into a temporary folder with git archive
// and reads it as kubectl apply -k would list it.
func readAt(ctx context.Context, dir, commit, instance string) ([]*unstructured.Unstructured, error) {
	if instance == "" || strings.ContainsAny(instance, `/\`) || instance == "." || instance == ".." {
		return nil, fmt.Errorf("%q is not an instance name", instance)
	}
	prefix := path.Join(GeneratedDir, instance)
	tree, err := git(ctx, dir, "ls-tree", "-d", "--name-only", commit, "--", prefix)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(string(tree)) != prefix {
		return nil, fmt.Errorf("the commit has no %s/ (is the instance rendered and committed?)", prefix)
	}
	archive, err := git(ctx, dir, "archive", "--format=tar", commit, "--", prefix)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "lsstgen-sync-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := untar(bytes.NewReader(archive), tmp); err != nil {
		return nil, fmt.Errorf("extracting %s: %w", prefix, err)
	}
	read, err := manifest.ReadInstance(os.DirFS(tmp), prefix)
	if err != nil {
		return nil, err
	}
	return manifest.Unstructured(read), nil
}

// untar writes the regular files and folders of a tar stream under dir.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.FromSlash(path.Clean(h.Name))
		if !filepath.IsLocal(name) {
			return fmt.Errorf("archive entry %q leaves the folder", h.Name)
		}
		target := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}

// git runs git in dir and returns its standard output; a failure carries git's stderr.
func git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return nil, fmt.Errorf("git %s: %w", args[0], err)
		}
		return nil, fmt.Errorf("git %s: %s", args[0], msg)
	}
	return out, nil
}
