package testcluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeBinaries writes the three binaries as shell scripts with body into a new folder.
func fakeBinaries(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	for _, b := range Binaries {
		if err := os.WriteFile(filepath.Join(dir, b), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFindBinaries(t *testing.T) {
	good := fakeBinaries(t, "exit 0")
	missing := t.TempDir()
	notExec := fakeBinaries(t, "exit 0")
	if err := os.Chmod(filepath.Join(notExec, "etcd"), 0o644); err != nil {
		t.Fatal(err)
	}
	isDir := fakeBinaries(t, "exit 0")
	if err := os.Remove(filepath.Join(isDir, "kubectl")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(isDir, "kubectl"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, env, wantErr string
	}{
		{"override", good, ""},
		{"missing", missing, "kube-apiserver is missing; run tools/kube/build.sh"},
		{"not executable", notExec, "etcd is not an executable file"},
		{"directory", isDir, "kubectl is not an executable file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvBinDir, tc.env)
			got, err := FindBinaries(".")
			if tc.wantErr == "" {
				if err != nil || got != tc.env {
					t.Fatalf("FindBinaries = %q, %v; want %q", got, err, tc.env)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrNoBinaries) || !strings.Contains(err.Error(), "$"+EnvBinDir) {
				t.Fatalf("FindBinaries error %v; want ErrNoBinaries saying %q and naming $%s", err, tc.wantErr, EnvBinDir)
			}
		})
	}
}

func TestFindBinariesFromRoot(t *testing.T) {
	t.Setenv(EnvBinDir, "")
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module github.com/lsst-dm/lsstgen\n\ngo 1.26.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(root, "tools", "kube")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	// tools/kube's own go.mod must not be taken for the root.
	if err := os.WriteFile(filepath.Join(sub, "go.mod"), []byte("module github.com/lsst-dm/lsstgen/tools/kube\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := FindBinaries(sub)
	want := BinDir(root)
	if !errors.Is(err, ErrNoBinaries) || !strings.Contains(err.Error(), want) {
		t.Fatalf("FindBinaries error %v; want ErrNoBinaries naming %s", err, want)
	}
	if err := os.MkdirAll(want, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, b := range Binaries {
		if err := os.WriteFile(filepath.Join(want, b), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := FindBinaries(sub); err != nil || got != want {
		t.Fatalf("FindBinaries = %q, %v; want %q", got, err, want)
	}
}

func TestFindBinariesNoRepository(t *testing.T) {
	t.Setenv(EnvBinDir, "")
	_, err := FindBinaries(t.TempDir())
	if err == nil || errors.Is(err, ErrNoBinaries) || !strings.Contains(err.Error(), "no lsstgen repository") {
		t.Fatalf("FindBinaries error %v; want the repository not found", err)
	}
}

// TestNewReportsFailedStart proves a control plane that does not come up is an error that
// quotes the processes' output, and leaves nothing behind.
func TestNewReportsFailedStart(t *testing.T) {
	dir := fakeBinaries(t, "echo 'etcd: boom' >&2; exit 1")
	opts := DefaultOptions()
	opts.BinDir = dir
	opts.StartTimeout = 5 * time.Second
	c, err := New(opts)
	if err == nil {
		c.Stop()
		t.Fatal("New started a control plane from failing binaries")
	}
	if !strings.Contains(err.Error(), "etcd: boom") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("error %v does not quote the output or name the folder", err)
	}
}

// tbRecorder records what handleStartError does to a test.
type tbRecorder struct {
	testing.TB
	skipped, fatal string
}

func (r *tbRecorder) Helper()                      {}
func (r *tbRecorder) Skipf(f string, args ...any)  { r.skipped = fmt.Sprintf(f, args...) }
func (r *tbRecorder) Fatalf(f string, args ...any) { r.fatal = fmt.Sprintf(f, args...) }

func TestHandleStartError(t *testing.T) {
	missing := fmt.Errorf("x: %w", ErrNoBinaries)
	other := errors.New("port in use")
	for _, tc := range []struct {
		name, require string
		err           error
		skip, fail    bool
	}{
		{"missing binaries skip", "", missing, true, false},
		{"missing binaries fail when required", "1", missing, false, true},
		{"other errors fail", "", other, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvRequire, tc.require)
			r := &tbRecorder{TB: t}
			handleStartError(r, tc.err)
			if (r.skipped != "") != tc.skip || (r.fatal != "") != tc.fail {
				t.Fatalf("skipped %q, failed %q; want skip %v, fail %v", r.skipped, r.fatal, tc.skip, tc.fail)
			}
			if tc.skip && !strings.Contains(r.skipped, EnvRequire+"=1") {
				t.Errorf("skip message %q does not say how to require the cluster", r.skipped)
			}
		})
	}
}
