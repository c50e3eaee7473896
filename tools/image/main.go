// Command image builds lsstgen's container image without a container engine: a static
// lsstgen binary of the checkout's commit, a CA bundle and a numeric non-root user
// (65532:65532) in one layer, every time in it the commit's, so that the same commit gives
// the same digest. It writes an OCI image layout, and optionally a tarball, and pushes it
// when asked.
//
//	cd tools/image && go run . -out ../../.bin/image
//	go run . -version v0.1.0 -push ghcr.io/lsst-dm/lsstgen:v0.1.0
//
// It is a module of its own so that lsstgen's go.mod stays free of go-containerregistry.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("image", flag.ContinueOnError)
	fl.SetOutput(stderr)
	repo := fl.String("repo", "", "the lsstgen checkout to build (default: the git repository of the working directory)")
	version := fl.String("version", "", "the release name linked in and labelled (default: the tag at HEAD, else v0.0.0-<commit>)")
	arch := fl.String("arch", "amd64", "GOARCH of the binary and the image")
	out := fl.String("out", "", "write an OCI image layout into this folder, which must not exist or be empty (default: <repo>/.bin/image)")
	tarFile := fl.String("tarball", "", "also write a docker-load tarball to this file, tagged with the first -push reference or ghcr.io/lsst-dm/lsstgen:<version>")
	push := fl.String("push", "", "push the image to these references, comma-separated (credentials from ~/.docker/config.json)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fl.Args())
	}
	if *repo == "" {
		top, err := gitOut(ctx, ".", "rev-parse", "--show-toplevel")
		if err != nil {
			return err
		}
		*repo = top
	}
	o, err := DefaultBuildOptions(ctx, *repo)
	if err != nil {
		return err
	}
	if *version != "" {
		o.Version = *version
	}
	o.Arch = *arch
	if dirty, err := gitOut(ctx, o.Repo, "status", "--porcelain", "--untracked-files=no"); err == nil && dirty != "" {
		fmt.Fprintf(stderr, "image: warning: %s has uncommitted changes: the image is not that of commit %s\n", o.Repo, o.Commit)
	}
	if *out == "" {
		*out = filepath.Join(o.Repo, ".bin", "image")
	}

	start := time.Now()
	tmp, err := os.MkdirTemp("", "lsstgen-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin, err := BuildBinary(ctx, o, tmp)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	img, err := Assemble(data, o)
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	if err := WriteLayout(*out, img, o.Version); err != nil {
		return err
	}
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	var compressed int64
	for _, l := range m.Layers {
		compressed += l.Size
	}
	fmt.Fprintf(stdout, "image %s commit %s linux/%s\ndigest %s\nbinary %d bytes, layer %d bytes compressed\nlayout %s\nbuilt in %s\n",
		o.Version, o.Commit, o.Arch, digest, len(data), compressed, *out, time.Since(start).Round(100*time.Millisecond))

	refs := []string{}
	for _, r := range strings.Split(*push, ",") {
		if r = strings.TrimSpace(r); r != "" {
			refs = append(refs, r)
		}
	}
	if *tarFile != "" {
		tag := "ghcr.io/lsst-dm/lsstgen:" + o.Version
		if len(refs) > 0 {
			tag = refs[0]
		}
		if err := WriteTarball(*tarFile, img, tag); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "tarball %s (%s)\n", *tarFile, tag)
	}
	var errs []error
	for _, r := range refs {
		pinned, err := Push(ctx, img, r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(stdout, "pushed %s\n", pinned)
	}
	return errors.Join(errs...)
}
