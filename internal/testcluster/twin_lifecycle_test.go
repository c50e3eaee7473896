package testcluster

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/modfile"
)

// TestTwinStop proves Stop stops every process and removes the twin's files, reports a
// component that died on its own, and returns the same result when called again.
func TestTwinStop(t *testing.T) {
	NeedTwin(t)
	tw, err := NewTwin(DefaultTwinOptions())
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = tw.Stop()
		}
	})
	urls := []string{tw.Host(), tw.env.ControlPlane.Etcd.URL.String()}
	var kwok *process
	for _, p := range tw.procs {
		urls = append(urls, p.health)
		if p.name == "kwok" {
			kwok = p
		}
	}
	assertUp(t, urls)
	if err := tw.Check(); err != nil {
		t.Fatalf("Check of a running twin: %v", err)
	}
	// Each component leads a process group of its own, so that Ctrl-C in a terminal,
	// which signals the foreground group, reaches only the process that started them.
	for _, p := range tw.procs {
		pid := p.cmd.Process.Pid
		if pgid, err := syscall.Getpgid(pid); err != nil || pgid != pid || pgid == syscall.Getpgrp() {
			t.Errorf("%s (pid %d) is in process group %d (%v); want its own", p.name, pid, pgid, err)
		}
	}

	if err := kwok.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-kwok.done
	if err := tw.Check(); err == nil || !strings.Contains(err.Error(), "kwok exited") {
		t.Errorf("Check after KWOK died = %v, want it to say kwok exited", err)
	}

	err = tw.Stop()
	stopped = true
	if err == nil || !strings.Contains(err.Error(), "kwok exited") {
		t.Errorf("Stop = %v, want it to report that kwok had exited", err)
	}
	assertGone(t, urls, 0)
	if _, serr := os.Stat(tw.tmp); !errors.Is(serr, os.ErrNotExist) {
		t.Errorf("%s is still there after Stop: %v", tw.tmp, serr)
	}
	if again := tw.Stop(); again == nil || again.Error() != err.Error() {
		t.Errorf("second Stop = %v, want the first result %v", again, err)
	}
}

// TestNewTwinReportsFailedStart: a component that does not start is an error quoting its
// output, and the processes started before it are stopped and their files removed.
func TestNewTwinReportsFailedStart(t *testing.T) {
	kube, kwok := NeedTwin(t)
	dir := t.TempDir()
	for _, b := range append(Binaries, "kube-controller-manager") {
		if err := os.Symlink(filepath.Join(kube, b), filepath.Join(dir, b)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "kube-scheduler"), []byte("#!/bin/sh\necho 'scheduler: boom' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	opts := DefaultTwinOptions()
	opts.BinDir, opts.KWOKDir = dir, kwok
	tw, err := NewTwin(opts)
	if err == nil {
		tw.Stop()
		t.Fatal("NewTwin started a twin with a failing kube-scheduler")
	}
	if !strings.Contains(err.Error(), "kube-scheduler exited") || !strings.Contains(err.Error(), "scheduler: boom") {
		t.Errorf("error %v does not say the scheduler exited or quote its output", err)
	}
	left, rerr := os.ReadDir(tmp)
	if rerr != nil || len(left) != 0 {
		t.Errorf("NewTwin left %v in its temporary folder (%v)", left, rerr)
	}
}

// TestFindTwinBinaries: the twin's binaries missing is ErrNoBinaries (so tests skip unless
// required), naming the file and the command that builds it.
func TestFindTwinBinaries(t *testing.T) {
	kube := fakeBinaries(t, "exit 0")
	full := fakeBinaries(t, "exit 0")
	for _, b := range TwinBinaries {
		if err := os.WriteFile(filepath.Join(full, b), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	kwok := t.TempDir()
	if err := os.WriteFile(filepath.Join(kwok, "kwok"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	noStages := t.TempDir()
	if err := os.WriteFile(filepath.Join(noStages, "kwok"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(kwok, kwokStages), []byte("kind: Stage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, kube, kwok, want string
	}{
		{"all there", full, kwok, ""},
		{"no scheduler", kube, kwok, "kube-scheduler is missing; run " + BuildCommand},
		{"no kwok", full, t.TempDir(), "kwok is missing; run " + KWOKBuildCommand},
		{"no stages", full, noStages, kwokStages + " is missing or empty; run " + KWOKBuildCommand},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvBinDir, tc.kube)
			t.Setenv(EnvKWOKDir, tc.kwok)
			gotKube, gotKWOK, err := findTwinBinaries(".", "", "")
			if tc.want == "" {
				if err != nil || gotKube != tc.kube || gotKWOK != tc.kwok {
					t.Fatalf("findTwinBinaries = %q, %q, %v", gotKube, gotKWOK, err)
				}
				return
			}
			if !errors.Is(err, ErrNoBinaries) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrNoBinaries saying %q", err, tc.want)
			}
		})
	}
}

// TestKWOKVersionAgreesWithBuild keeps KWOKVersion, which names the folder the tests look
// in, equal to the version tools/kwok builds.
func TestKWOKVersionAgreesWithBuild(t *testing.T) {
	gomod := filepath.Join(repoRoot(t), "tools", "kwok", "go.mod")
	b, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse(gomod, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Require {
		if r.Mod.Path == "sigs.k8s.io/kwok" {
			if r.Mod.Version != KWOKVersion {
				t.Fatalf("%s requires sigs.k8s.io/kwok %s, KWOKVersion is %s", gomod, r.Mod.Version, KWOKVersion)
			}
			return
		}
	}
	t.Fatalf("%s does not require sigs.k8s.io/kwok", gomod)
}

func TestKWOKBuildScriptUsage(t *testing.T) {
	cmd := exec.Command(filepath.Join(repoRoot(t), KWOKBuildCommand), "--bogus")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), "usage:") {
		t.Fatalf("build.sh --bogus: %v, %q; want exit 2 and usage", err, stderr.String())
	}
}

// TestKWOKBuildScriptDoesNothingWhenBuilt proves the script only prints the folder when
// KWOK and its stages are there.
func TestKWOKBuildScriptDoesNothingWhenBuilt(t *testing.T) {
	root := repoRoot(t)
	t.Setenv(EnvKWOKDir, KWOKDir(root))
	if _, err := FindKWOK("."); err != nil {
		handleStartError(t, err)
	}
	files := []string{filepath.Join(KWOKDir(root), "kwok"), filepath.Join(KWOKDir(root), kwokStages)}
	var before []time.Time
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		before = append(before, fi.ModTime())
	}
	out, err := exec.Command(filepath.Join(root, KWOKBuildCommand)).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != KWOKDir(root) {
		t.Errorf("build.sh printed %q, want %q", got, KWOKDir(root))
	}
	for i, f := range files {
		fi, err := os.Stat(f)
		if err != nil || !fi.ModTime().Equal(before[i]) {
			t.Errorf("build.sh touched %s: %v", f, err)
		}
	}
}
