package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// The image's user: the numeric non-root user and group platform/images.cue records for
// lsstgen (the one distroless images call nonroot).
const (
	uid = 65532
	gid = 65532
)

// Paths inside the image.
const (
	binaryPath   = "usr/local/bin/lsstgen"
	caBundlePath = "etc/ssl/certs/ca-certificates.crt"
	// cacheDir is sync's --cache-dir in the rendered Deployment, writable by the user
	// even without a volume.
	cacheDir = "var/cache/lsstgen"
)

// BuildOptions say what to build: the repository checkout, the release name, the commit
// and the time every file and the image carry.
type BuildOptions struct {
	// Repo is the root of the lsstgen checkout to build.
	Repo string
	// Version is the release (a tag such as v0.1.0), linked in as main.version.
	Version string
	// Commit is the git commit built, linked in as main.commit and recorded in the
	// image's labels.
	Commit string
	// Created is the time of every file and of the image: the commit's time (as
	// SOURCE_DATE_EPOCH), never the time of the build, so that the digest depends only
	// on the commit.
	Created time.Time
	// Arch is the GOARCH of the binary and the image (the OS is linux).
	Arch string
	// Source is the repository the image's org.opencontainers.image.source label names.
	Source string
}

// DefaultBuildOptions reads the commit, its time and the release name from the git
// checkout at repo: SOURCE_DATE_EPOCH, when set, overrides the commit's time, and the
// version is the tag at the commit, else "v0.0.0-<short commit>".
func DefaultBuildOptions(ctx context.Context, repo string) (BuildOptions, error) {
	o := BuildOptions{Repo: repo, Arch: "amd64", Source: "https://github.com/lsst-dm/lsstgen"}
	var err error
	if o.Commit, err = gitOut(ctx, repo, "rev-parse", "HEAD"); err != nil {
		return o, err
	}
	epoch := os.Getenv("SOURCE_DATE_EPOCH")
	if epoch == "" {
		if epoch, err = gitOut(ctx, repo, "log", "-1", "--format=%ct", "HEAD"); err != nil {
			return o, err
		}
	}
	sec, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		return o, fmt.Errorf("SOURCE_DATE_EPOCH %q: not a Unix time in seconds: %w", epoch, err)
	}
	o.Created = time.Unix(sec, 0).UTC()
	if tag, err := gitOut(ctx, repo, "describe", "--tags", "--exact-match", "HEAD"); err == nil {
		o.Version = tag
	} else {
		o.Version = "v0.0.0-" + o.Commit[:12]
	}
	return o, nil
}

func gitOut(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s in %s: %v: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// BuildBinary builds ./cmd/lsstgen of o.Repo into dir as a static, reproducible binary:
// no cgo, -trimpath, the version and commit linked in, symbols and DWARF left out (the Go
// build ID stays), and the module's VCS information stamped. It returns the binary's path.
func BuildBinary(ctx context.Context, o BuildOptions, dir string) (string, error) {
	if o.Version == "" || o.Commit == "" {
		return "", errors.New("build: the version and commit must be set")
	}
	out := filepath.Join(dir, "lsstgen")
	ldflags := fmt.Sprintf("-s -w -X main.version=%s -X main.commit=%s", o.Version, o.Commit)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=true",
		"-ldflags", ldflags, "-o", out, "./cmd/lsstgen")
	cmd.Dir = o.Repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+o.Arch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/lsstgen in %s: %v\n%s", o.Repo, err, b)
	}
	return out, nil
}

// file is one entry of the image's only layer.
type file struct {
	path     string // without a leading slash; a directory's ends in none either
	mode     int64
	dir      bool
	uid, gid int
	data     []byte
}

// caBundle returns the root certificates of golang.org/x/crypto/x509roots/fallback (the
// NSS trust store at the version go.sum pins) as PEM. Roots NSS trusts only for
// certificates issued before a date are left out: a PEM file cannot carry that limit.
func caBundle() ([]byte, int) {
	var b bytes.Buffer
	n := 0
	for r := range bundle.Roots() {
		if r.Constraint != nil {
			continue
		}
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate})
		n++
	}
	return b.Bytes(), n
}

// files lists the layer's contents: the binary, the CA bundle, the user's passwd and
// group entries, its home, the cache folder and /tmp.
func files(binary []byte) []file {
	ca, _ := caBundle()
	return []file{
		{path: "etc", dir: true, mode: 0o755},
		{path: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{path: "etc/passwd", mode: 0o644, data: []byte(
			"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{path: "etc/ssl", dir: true, mode: 0o755},
		{path: "etc/ssl/certs", dir: true, mode: 0o755},
		{path: caBundlePath, mode: 0o644, data: ca},
		{path: "home", dir: true, mode: 0o755},
		{path: "home/nonroot", dir: true, mode: 0o700, uid: uid, gid: gid},
		{path: "tmp", dir: true, mode: 0o1777},
		{path: "usr", dir: true, mode: 0o755},
		{path: "usr/local", dir: true, mode: 0o755},
		{path: "usr/local/bin", dir: true, mode: 0o755},
		{path: binaryPath, mode: 0o755, data: binary},
		{path: "var", dir: true, mode: 0o755},
		{path: "var/cache", dir: true, mode: 0o755},
		{path: cacheDir, dir: true, mode: 0o755, uid: uid, gid: gid},
	}
}

// layerTar writes fs as a tar stream in path order, every entry with the time t and
// numeric owners only, so that the same files give the same bytes.
func layerTar(fs []file, t time.Time) ([]byte, error) {
	sort.Slice(fs, func(i, j int) bool { return fs[i].path < fs[j].path })
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range fs {
		h := &tar.Header{Name: f.path, Mode: f.mode, Uid: f.uid, Gid: f.gid, ModTime: t, Format: tar.FormatPAX}
		if f.dir {
			h.Typeflag, h.Name = tar.TypeDir, f.path+"/"
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", f.path, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", f.path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Assemble makes the OCI image of binary: one layer (files), run as uid:gid with the
// binary as its entrypoint, labelled with the version, commit and source, every time in
// it o.Created.
func Assemble(binary []byte, o BuildOptions) (v1.Image, error) {
	raw, err := layerTar(files(binary), o.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil },
		tarball.WithCompressionLevel(gzip.DefaultCompression), tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	created := v1.Time{Time: o.Created}
	img, err := mutate.ConfigFile(mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1),
		&v1.ConfigFile{
			Architecture: o.Arch,
			OS:           "linux",
			Created:      created,
			RootFS:       v1.RootFS{Type: "layers"},
			Config: v1.Config{
				User:       fmt.Sprintf("%d:%d", uid, gid),
				Entrypoint: []string{"/" + binaryPath},
				WorkingDir: "/home/nonroot",
				Env: []string{
					"PATH=/usr/local/bin:/usr/bin:/bin",
					"HOME=/home/nonroot",
					"SSL_CERT_FILE=/" + caBundlePath,
				},
				Labels: map[string]string{
					"org.opencontainers.image.source":   o.Source,
					"org.opencontainers.image.version":  o.Version,
					"org.opencontainers.image.revision": o.Commit,
					"org.opencontainers.image.created":  o.Created.Format(time.RFC3339),
					"org.opencontainers.image.title":    "lsstgen",
				},
			},
		})
	if err != nil {
		return nil, err
	}
	return mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: created, CreatedBy: "tools/image " + o.Version, Comment: "lsstgen, CA bundle, nonroot user"},
	})
}

// WriteLayout writes img into a new OCI image layout at dir (which must not exist, or be
// empty), tagged with the version in index.json's ref.name annotation.
func WriteLayout(dir string, img v1.Image, version string) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s: not empty; remove it or name another folder", dir)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	return p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": version}))
}

// WriteTarball writes img as a `docker load`/`crane push` tarball tagged ref.
func WriteTarball(file string, img v1.Image, ref string) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("tarball tag %q: %w", ref, err)
	}
	return tarball.WriteToFile(file, tag, img)
}

// Push writes img to the registry as ref, with the credentials of the Docker config
// (~/.docker/config.json, as docker login and the registry login actions write it).
func Push(ctx context.Context, img v1.Image, ref string, opts ...name.Option) (string, error) {
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return "", fmt.Errorf("push: %q: %w", ref, err)
	}
	if err := remote.Write(r, img, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return r.Context().Digest(d.String()).String(), nil
}

// layerFiles lists the paths of img's layer with their headers, for tests and -list.
func layerFiles(img v1.Image) (map[string]*tar.Header, map[string][]byte, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, nil, err
	}
	hs, data := map[string]*tar.Header{}, map[string][]byte{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			return nil, nil, err
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				rc.Close()
				return nil, nil, err
			}
			p := path.Clean(h.Name)
			hs[p] = h
			if h.Typeflag == tar.TypeReg {
				if data[p], err = io.ReadAll(tr); err != nil {
					rc.Close()
					return nil, nil, err
				}
			}
		}
		rc.Close()
	}
	return hs, data, nil
}
