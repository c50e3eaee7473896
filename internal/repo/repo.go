// Package repo finds the lsstgen repository root and names its well-known folders.
package repo

import (
	"fmt"
	"os"
	"path/filepath"
)

// Marker is the file whose presence identifies the repository root: the CUE module that
// holds schema/ and instances/.
const Marker = "cue.mod/module.cue"

// Well-known folders, relative to the repository root.
const (
	SchemaDir    = "schema"
	InstancesDir = "instances"
	GeneratedDir = "generated"
)

// FindRoot walks upward from dir until it finds a folder holding Marker, and returns it as
// an absolute path.
func FindRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, Marker)); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no lsstgen repository at or above %s (looked for %s); run from inside the repository or pass -C DIR", abs, Marker)
		}
	}
}
