package sync

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/lsst-dm/lsstgen/internal/gitsource"
	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// Source is a git repository and a revision to follow. The repository is a local path or,
// for anything that looks like a URL, a remote that is cloned (bare) into CacheDir and
// fetched at each Fetch.
type Source struct {
	// Repo is a local path to a git repository or a URL git can clone.
	Repo string
	// Revision is a branch, tag or commit; empty means HEAD.
	Revision string
	// CacheDir holds the bare clone of a remote Repo. Unused for a local path.
	CacheDir string
	// Credentials reach a remote Repo (a token, or an SSH key and known_hosts; a CA).
	Credentials gitsource.Credentials
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

func (s *Source) revision() string {
	if s.Revision == "" {
		return "HEAD"
	}
	return s.Revision
}

// Fetch brings a remote repository's clone up to date, resolves the revision and reads the
// instance's manifests (generated/<instance>/) at that commit from the git object store,
// never from a working tree.
func (s *Source) Fetch(ctx context.Context, instance string) (*Snapshot, error) {
	repo := &gitsource.Repository{Location: s.Repo, CacheDir: s.CacheDir, Credentials: s.Credentials}
	if err := repo.Update(ctx); err != nil {
		return nil, err
	}
	commit, err := repo.Resolve(ctx, s.revision())
	if err != nil {
		var re *gitsource.RevisionError
		if errors.As(err, &re) {
			return nil, &SourceError{Revision: s.revision(), Err: err}
		}
		return nil, err
	}
	objs, err := readAt(ctx, repo, commit, instance)
	if err != nil {
		return nil, &SourceError{Revision: s.revision(), Commit: commit, Instance: instance, Err: err}
	}
	return &Snapshot{Instance: instance, Commit: commit, Objects: objs}, nil
}

// readAt reads generated/<instance>/ at commit as kubectl apply -k would list it.
func readAt(ctx context.Context, repo *gitsource.Repository, commit, instance string) ([]*unstructured.Unstructured, error) {
	if instance == "" || strings.ContainsAny(instance, `/\`) || instance == "." || instance == ".." {
		return nil, fmt.Errorf("%q is not an instance name", instance)
	}
	dir := manifest.InstanceDir(instance)
	fsys, err := repo.FS(ctx, commit, dir)
	if err != nil {
		return nil, err
	}
	if fi, err := fs.Stat(fsys, dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("the commit has no %s/ (is the instance rendered and committed?)", dir)
	}
	objs, err := manifest.ReadInstance(fsys, dir)
	if err != nil {
		return nil, err
	}
	return manifest.Unstructured(objs), nil
}
