package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"debug/elf"
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// repoRoot is the lsstgen checkout this module sits in.
const repoRoot = "../.."

// built is the image's binary, built once for the package's tests.
var built struct {
	once sync.Once
	opts BuildOptions
	data []byte
	path string
	err  error
}

// testBinary builds lsstgen as the image does, once, with the version v9.9.9-test.
func testBinary(t *testing.T) (BuildOptions, []byte, string) {
	t.Helper()
	built.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		if built.opts, built.err = DefaultBuildOptions(ctx, repoRoot); built.err != nil {
			return
		}
		built.opts.Version = "v9.9.9-test"
		dir, err := os.MkdirTemp("", "lsstgen-image-test-")
		if err != nil {
			built.err = err
			return
		}
		if built.path, built.err = BuildBinary(ctx, built.opts, dir); built.err != nil {
			return
		}
		built.data, built.err = os.ReadFile(built.path)
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.opts, built.data, built.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.path != "" {
		_ = os.RemoveAll(filepath.Dir(built.path))
	}
	os.Exit(code)
}

// TestReproducible builds the binary a second time and assembles both: the same commit
// gives the same binary and the same image digest, and the OCI layouts written from them
// are the same bytes. A different time gives a different digest: the digest is not
// blind to the inputs.
func TestReproducible(t *testing.T) {
	o, first, _ := testBinary(t)
	second, err := BuildBinary(context.Background(), o, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(second)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, data) {
		t.Fatalf("two builds of commit %s differ: %d and %d bytes", o.Commit, len(first), len(data))
	}
	a, err := Assemble(first, o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Assemble(data, o)
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Fatalf("digests differ: %s and %s", da, db)
	}
	t.Logf("digest %s, binary %d bytes", da, len(first))

	later := o
	later.Created = o.Created.Add(time.Second)
	c, err := Assemble(first, later)
	if err != nil {
		t.Fatal(err)
	}
	if dc, _ := c.Digest(); dc == da {
		t.Errorf("a different time gives the same digest %s", dc)
	}

	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	if err := WriteLayout(dirA, a, o.Version); err != nil {
		t.Fatal(err)
	}
	if err := WriteLayout(dirB, b, o.Version); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"index.json", "oci-layout", "blobs/sha256/" + da.Hex} {
		x, errA := os.ReadFile(filepath.Join(dirA, f))
		y, errB := os.ReadFile(filepath.Join(dirB, f))
		if errA != nil || errB != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between the layouts (%v, %v)", f, errA, errB)
		}
	}
	p, err := layout.FromPath(dirA)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Image(da); err != nil {
		t.Errorf("the layout does not hold %s: %v", da, err)
	}
	if err := WriteLayout(dirA, a, o.Version); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("writing into a layout already there: got %v, want not empty", err)
	}
}

// TestImageContents holds the image to the facts platform/images.cue records for lsstgen:
// user 65532:65532, the binary as entrypoint, static; and checks the CA bundle, the passwd
// entry, and the binary's own report of its version, commit and build ID.
func TestImageContents(t *testing.T) {
	o, data, bin := testBinary(t)
	img, err := Assemble(data, o)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532", cf.Config.User)
	}
	if got := strings.Join(cf.Config.Entrypoint, " "); got != "/usr/local/bin/lsstgen" {
		t.Errorf("entrypoint %q", got)
	}
	if cf.OS != "linux" || cf.Architecture != o.Arch || !cf.Created.Time.Equal(o.Created) {
		t.Errorf("platform %s/%s created %s, want linux/%s %s", cf.OS, cf.Architecture, cf.Created, o.Arch, o.Created)
	}
	if cf.Config.Labels["org.opencontainers.image.revision"] != o.Commit {
		t.Errorf("revision label %q, want %s", cf.Config.Labels["org.opencontainers.image.revision"], o.Commit)
	}

	hs, files, err := layerFiles(img)
	if err != nil {
		t.Fatal(err)
	}
	for p, h := range hs {
		if !h.ModTime.Equal(o.Created) {
			t.Errorf("%s: time %s, want the commit's %s", p, h.ModTime, o.Created)
		}
	}
	if h := hs[binaryPath]; h == nil || h.Mode != 0o755 || !bytes.Equal(files[binaryPath], data) {
		t.Errorf("%s missing, not executable or not the binary built", binaryPath)
	}
	if h := hs[cacheDir]; h == nil || h.Uid != uid || h.Gid != gid {
		t.Errorf("%s missing or not owned by %d:%d", cacheDir, uid, gid)
	}
	if !strings.Contains(string(files["etc/passwd"]), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd lacks the user 65532:\n%s", files["etc/passwd"])
	}
	n, rest := 0, files[caBundlePath]
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
			t.Errorf("CA bundle: certificate %d: %v", n, err)
		}
		n++
	}
	if n < 100 || len(bytes.TrimSpace(rest)) > 0 {
		t.Errorf("CA bundle: %d certificates, %d bytes left over; want the NSS roots", n, len(rest))
	}

	ef, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary is dynamically linked (program header %s)", p.Type)
		}
	}

	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("lsstgen version: %v\n%s", err, out)
	}
	id, err := exec.Command("go", "tool", "buildid", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"lsstgen v9.9.9-test\n", "commit:   " + o.Commit, "build ID: " + strings.TrimSpace(string(id)) + "\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("lsstgen version lacks %q:\n%s", want, out)
		}
	}
}

// TestPush pushes to a registry served on loopback and reads the image back by digest.
func TestPush(t *testing.T) {
	o, data, _ := testBinary(t)
	img, err := Assemble(data, o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	pinned, err := Push(context.Background(), img, u.Host+"/lsst-dm/lsstgen:"+o.Version, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if !strings.HasSuffix(pinned, "@"+want.String()) {
		t.Errorf("pushed %s, want the digest %s", pinned, want)
	}
	ref, err := name.ParseReference(pinned, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	got, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := got.Digest(); d != want {
		t.Errorf("the registry holds %s, want %s", d, want)
	}

	if _, err := Push(context.Background(), img, "Not A Reference"); err == nil {
		t.Error("pushing to a malformed reference: no error")
	}
	if _, err := Push(context.Background(), img, "127.0.0.1:1/lsst-dm/lsstgen:x", name.Insecure); err == nil || !strings.Contains(err.Error(), "push 127.0.0.1:1") {
		t.Errorf("pushing to a closed port: got %v", err)
	}
}

// TestBadInput: each wrong input fails with an error that names it.
func TestBadInput(t *testing.T) {
	ctx := context.Background()
	notGit := t.TempDir()
	if _, err := DefaultBuildOptions(ctx, notGit); err == nil || !strings.Contains(err.Error(), "git rev-parse HEAD") {
		t.Errorf("a folder outside git: got %v", err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	if _, err := DefaultBuildOptions(ctx, repoRoot); err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
		t.Errorf("a bad SOURCE_DATE_EPOCH: got %v", err)
	}
	if _, err := BuildBinary(ctx, BuildOptions{Repo: notGit}, t.TempDir()); err == nil || !strings.Contains(err.Error(), "version and commit") {
		t.Errorf("no version: got %v", err)
	}
	if _, err := BuildBinary(ctx, BuildOptions{Repo: notGit, Version: "v1", Commit: "abc", Arch: "amd64"}, t.TempDir()); err == nil || !strings.Contains(err.Error(), "go build ./cmd/lsstgen in "+notGit) {
		t.Errorf("a folder without lsstgen: got %v", err)
	}
	var stderr bytes.Buffer
	if err := run(ctx, []string{"-nosuchflag"}, &bytes.Buffer{}, &stderr); err == nil {
		t.Error("an unknown flag: no error")
	}
	if err := run(ctx, []string{"extra"}, &bytes.Buffer{}, &stderr); err == nil || !strings.Contains(err.Error(), "unexpected arguments") {
		t.Errorf("an argument: got %v", err)
	}
	if err := WriteTarball(filepath.Join(t.TempDir(), "x.tar"), nil, "Bad Tag"); err == nil || !strings.Contains(err.Error(), "tarball tag") {
		t.Errorf("a bad tarball tag: got %v", err)
	}
}

// TestModelFacts holds the facts platform/images.cue records for lsstgen's image to what
// this build puts in it: the user and group, and the cache folder among the paths it writes.
func TestModelFacts(t *testing.T) {
	data, err := os.ReadFile(repoRoot + "/platform/images.cue")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?ms)^\tlsstgen: \{\n(.*?)^\t\}\n`).FindSubmatch(data)
	if block == nil {
		t.Fatal("platform/images.cue: no images.lsstgen block")
	}
	for field, want := range map[string]string{
		`(?m)^\t\tuser:\s+(\S+)$`:       strconv.Itoa(uid),
		`(?m)^\t\tgroup:\s+(\S+)$`:      strconv.Itoa(gid),
		`(?m)^\t\trepository:\s+(\S+)$`: `"lsst-dm/lsstgen"`,
	} {
		m := regexp.MustCompile(field).FindSubmatch(block[1])
		if m == nil || string(m[1]) != want {
			t.Errorf("platform/images.cue images.lsstgen: %s gives %q, the image has %s", field, m, want)
		}
	}
	if !bytes.Contains(block[1], []byte(`"/`+cacheDir+`"`)) {
		t.Errorf("platform/images.cue images.lsstgen: writes lacks /%s, the folder the image makes for sync's cache", cacheDir)
	}
}
