package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestVersionCommand runs the built binary's `version` and holds its build ID equal to
// what `go tool buildid` reads from the same file.
func TestVersionCommand(t *testing.T) {
	bin := lsstgenBinary(t)
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("lsstgen version: %v\n%s", err, out)
	}
	want, err := exec.Command("go", "tool", "buildid", bin).Output()
	if err != nil {
		t.Fatalf("go tool buildid: %v", err)
	}
	id := strings.TrimSpace(string(want))
	if id == "" {
		t.Fatal("go tool buildid printed nothing")
	}
	for _, line := range []string{
		"lsstgen (devel)\n",
		"go:       " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n",
		"build ID: " + id + "\n",
	} {
		if !strings.Contains(string(out), line) {
			t.Errorf("lsstgen version lacks %q:\n%s", line, out)
		}
	}
}

func TestVersionWrite(t *testing.T) {
	for name, tc := range map[string]struct {
		v    versionInfo
		want string
	}{
		"release": {
			v:    versionInfo{Version: "v0.1.0", Commit: "0123abcd", GoVersion: "go1.26.8", Platform: "linux/amd64", BuildID: "a/b/c/d"},
			want: "lsstgen v0.1.0\ncommit:   0123abcd\ngo:       go1.26.8 linux/amd64\nbuild ID: a/b/c/d\n",
		},
		"modified, no build ID": {
			v:    versionInfo{Version: "(devel)", Commit: "0123abcd", Modified: true, GoVersion: "go1.26.8", Platform: "linux/amd64", BuildIDErr: os.ErrNotExist},
			want: "lsstgen (devel)\ncommit:   0123abcd (with uncommitted changes)\ngo:       go1.26.8 linux/amd64\nbuild ID: unknown: file does not exist\n",
		},
		"no commit": {
			v:    versionInfo{Version: "(devel)", GoVersion: "go1.26.8", Platform: "linux/amd64", BuildID: "x"},
			want: "lsstgen (devel)\ncommit:   unknown (built without -buildvcs and without -X main.commit)\ngo:       go1.26.8 linux/amd64\nbuild ID: x\n",
		},
	} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.v.write(&b); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}

// TestReadBuildIDErrors gives readBuildID files that hold no build ID, and parseGoNote
// notes that are not Go's.
func TestReadBuildIDErrors(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := readBuildID(plain); err == nil || !strings.Contains(err.Error(), "no Go build ID") {
		t.Errorf("a shell script: got %v, want no Go build ID", err)
	}
	unterminated := filepath.Join(dir, "unterminated")
	if err := os.WriteFile(unterminated, append([]byte("xx"), buildIDMarker...), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := readBuildID(unterminated); err == nil || !strings.Contains(err.Error(), "unterminated") {
		t.Errorf("an unterminated ID: got %v", err)
	}
	marked := filepath.Join(dir, "marked")
	if err := os.WriteFile(marked, append(append([]byte("xx"), buildIDMarker...), []byte("abc/def\"\n")...), 0o755); err != nil {
		t.Fatal(err)
	}
	if id, err := readBuildID(marked); err != nil || id != "abc/def" {
		t.Errorf("a marked file: got %q, %v, want abc/def", id, err)
	}
	if _, err := readBuildID(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file: no error")
	}

	le := binary.LittleEndian
	note := func(namesz, descsz, typ uint32, name, desc string) []byte {
		b := le.AppendUint32(nil, namesz)
		b = le.AppendUint32(b, descsz)
		b = le.AppendUint32(b, typ)
		return append(append(b, name...), desc...)
	}
	if id, err := parseGoNote(note(4, 3, 4, "Go\x00\x00", "a/b"), le); err != nil || id != "a/b" {
		t.Errorf("a Go note: got %q, %v", id, err)
	}
	for name, data := range map[string][]byte{
		"short":      []byte("Go"),
		"GNU note":   note(4, 3, 3, "GNU\x00", "a/b"),
		"wrong type": note(4, 3, 1, "Go\x00\x00", "a/b"),
		"overrun":    note(4, 30, 4, "Go\x00\x00", "a/b"),
	} {
		if _, err := parseGoNote(data, le); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
