package manifest

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
)

// Marker is the file whose presence identifies the repository root: the CUE module that
// holds the model and the instances.
const Marker = ModuleDir + "/module.cue"

// Well-known folders, relative to the repository root.
const (
	// ModuleDir is the CUE module's own folder.
	ModuleDir = "cue.mod"
	// SchemaDir holds the CUE model's types and constraints.
	SchemaDir = "schema"
	// PlatformDir holds the CUE templates that turn a model into Kubernetes objects.
	PlatformDir = "platform"
	// SitesDir holds the CUE facts of each site.
	SitesDir = "sites"
	// InstancesDir holds one folder of CUE values per instance.
	InstancesDir = "instances"
	// GeneratedDir holds one folder of rendered manifests per instance.
	GeneratedDir = "generated"
)

// ModuleDirs returns the folders of the CUE module that every instance's evaluation reads
// besides its own folder: cue.mod/, schema/, platform/ and sites/. Each call returns a new
// slice.
func ModuleDirs() []string {
	return []string{ModuleDir, SchemaDir, PlatformDir, SitesDir}
}

// InputDirs returns the folders whose files the CUE evaluation of an instance reads: what
// a copy of the repository (at a base commit for plan, in a test, for a benchmark) must
// hold to render. Each call returns a new slice.
func InputDirs() []string {
	return append(ModuleDirs(), InstancesDir)
}

// InstanceDir is generated/<instance>, the folder of an instance's manifests, relative to
// the repository root and slash-separated (an fs.FS path).
func InstanceDir(instance string) string {
	return path.Join(GeneratedDir, instance)
}

// FindRoot walks upward from dir until it finds a folder holding Marker, and returns it as
// an absolute path.
func FindRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, filepath.FromSlash(Marker))); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no lsstgen repository at or above %s (looked for %s); run from inside the repository or pass -C DIR", abs, Marker)
		}
	}
}
