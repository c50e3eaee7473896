package render

import (
	"os"
	"path/filepath"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// Evaluations counts CUE evaluations so that tests can tell a cache hit from a miss.
var Evaluations = &evaluations

// GeneratorFingerprint exposes the generator's identity in cache keys.
var GeneratorFingerprint = generatorFingerprint

// Write replaces generated/<instance>/ of each result with exactly the result's files, as
// Generate does for the instances it renders: each instance's folder is written beside the
// old one and swapped in by rename, so a reader sees the old folder or the new one, never a
// mix, and a failed write leaves the old one. When prune is set (a render of every
// instance), folders of instances that no longer exist are removed.
func Write(root string, results []*Result, prune bool) error {
	gen := filepath.Join(root, manifest.GeneratedDir)
	if err := os.MkdirAll(gen, 0o755); err != nil {
		return err
	}
	names := make([]string, len(results))
	staged := make([]string, len(results))
	for i, r := range results {
		names[i] = r.Instance
		dir, err := stage(gen, r)
		staged[i] = dir
		if err != nil {
			removeAll(staged)
			return err
		}
	}
	return install(gen, names, staged, prune)
}

// CheckAdmissionPolicies exposes the CEL check of an instance's admission policies.
var CheckAdmissionPolicies = checkAdmissionPolicies

// LoadInstance exposes the CUE load of one instance.
var LoadInstance = loadInstance
