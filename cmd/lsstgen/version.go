package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version and commit are set at link time by the image build (tools/image):
//
//	-ldflags "-X main.version=v0.1.0 -X main.commit=<sha>"
//
// Unset, they come from the module's build information (go build stamps vcs.revision and
// vcs.modified when run in a git checkout with -buildvcs=true).
var (
	version string
	commit  string
)

// versionInfo is what `lsstgen version` prints.
type versionInfo struct {
	// Version is the release (main.version), else the main module's version from the
	// build information ("(devel)" for a plain go build).
	Version string
	// Commit is the git commit built (main.commit, else vcs.revision), "" when unknown.
	Commit string
	// Modified is vcs.modified: the working tree had uncommitted changes.
	Modified bool
	// GoVersion is the toolchain that built the binary; Platform is GOOS/GOARCH.
	GoVersion, Platform string
	// BuildID is the Go build ID `go tool buildid` reports for the binary, read from the
	// running executable's file; BuildIDErr says why it could not be read.
	BuildID    string
	BuildIDErr error
}

// currentVersion gathers the running binary's versionInfo.
func currentVersion() versionInfo {
	v := versionInfo{Version: version, Commit: commit, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if v.Commit == "" {
					v.Commit = s.Value
				}
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if v.Version == "" {
		v.Version = "(devel)"
	}
	exe, err := os.Executable()
	if err == nil {
		v.BuildID, err = readBuildID(exe)
	}
	v.BuildIDErr = err
	return v
}

// write prints v, one fact a line.
func (v versionInfo) write(w io.Writer) error {
	c := v.Commit
	switch {
	case c == "":
		c = "unknown (built without -buildvcs and without -X main.commit)"
	case v.Modified:
		c += " (with uncommitted changes)"
	}
	id := v.BuildID
	if v.BuildIDErr != nil {
		id = "unknown: " + v.BuildIDErr.Error()
	}
	_, err := fmt.Fprintf(w, "lsstgen %s\ncommit:   %s\ngo:       %s %s\nbuild ID: %s\n",
		v.Version, c, v.GoVersion, v.Platform, id)
	return err
}

func newVersionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print lsstgen's version, commit and Go build ID",
		Long: `version prints the release lsstgen was built as, the git commit it was built from (marked
when the working tree had uncommitted changes), the Go toolchain and platform, and the Go
build ID of the binary, the same one "go tool buildid" reports, read from the running
executable.

A release build (tools/image) sets the version and commit at link time; a plain go build
reports the module's build information: "(devel)", and the commit only when built with
-buildvcs=true in a git checkout.

Exit status: 0; 1 only when stdout cannot be written (a build ID that cannot be read is
printed as unknown, with the reason).`,
		Example: `  lsstgen version

  # inside the image
  kubectl -n lsstgen-system exec deploy/lsstgen-sync -- /lsstgen version`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return currentVersion().write(stdout)
		},
	}
}

// buildIDMarker opens the build ID the Go linker writes at the start of the text segment
// of executables that are not ELF (on ELF it is a note instead).
var buildIDMarker = []byte("\xff Go build ID: \"")

// readBuildID returns the Go build ID of the executable at path, as `go tool buildid`
// does: the ELF note "Go" of type 4 in section .note.go.buildid, or for other formats
// the quoted string after buildIDMarker in the file's first 32 KiB.
func readBuildID(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if ef, err := elf.NewFile(f); err == nil {
		sec := ef.Section(".note.go.buildid")
		if sec == nil {
			return "", fmt.Errorf("%s: no .note.go.buildid section", path)
		}
		data, err := sec.Data()
		if err != nil {
			return "", fmt.Errorf("%s: reading .note.go.buildid: %w", path, err)
		}
		return parseGoNote(data, ef.ByteOrder)
	}
	head := make([]byte, 32<<10)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	head = head[:n]
	i := bytes.Index(head, buildIDMarker)
	if i < 0 {
		return "", fmt.Errorf("%s: no Go build ID in the file's first 32 KiB", path)
	}
	rest := head[i+len(buildIDMarker):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return "", fmt.Errorf("%s: unterminated Go build ID", path)
	}
	return string(rest[:j]), nil
}

// parseGoNote reads the Go build ID from an ELF note: name size, description size and
// type (4, the Go build ID), the name "Go\x00\x00", then the ID.
func parseGoNote(data []byte, order binary.ByteOrder) (string, error) {
	if len(data) < 16 {
		return "", fmt.Errorf(".note.go.buildid: %d bytes, too short for a note", len(data))
	}
	namesz, descsz, typ := order.Uint32(data), order.Uint32(data[4:]), order.Uint32(data[8:])
	const goBuildIDNote = 4
	if namesz != 4 || typ != goBuildIDNote || !bytes.Equal(data[12:16], []byte("Go\x00\x00")) {
		return "", fmt.Errorf(".note.go.buildid: not a Go build ID note (name size %d, type %d)", namesz, typ)
	}
	if uint64(len(data)) < 16+uint64(descsz) {
		return "", fmt.Errorf(".note.go.buildid: description of %d bytes overruns the section", descsz)
	}
	return string(data[16 : 16+descsz]), nil
}
