package check

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/render"
)

// Change is how a committed file differs from the fresh render.
type Change string

// Changes.
const (
	// Missing: the render has the file, generated/ does not.
	Missing Change = "missing"
	// Extra: generated/ has the file (or instance folder), the render does not.
	Extra Change = "extra"
	// Changed: both have the file with different contents.
	Changed Change = "changed"
)

// Stale is one file of generated/ that is not what the render gives.
type Stale struct {
	Instance string
	// Path is the file's path inside generated/<instance>/, slash-separated; empty when
	// the whole instance folder is extra.
	Path string
	// Object is the Kind/namespace/name the file holds, when it holds one object.
	Object string
	Change Change
	// Diff shows a changed file's difference, "(-generated +rendered)".
	Diff string
}

// String names the stale file and what is wrong with it, with its diff indented below.
func (s Stale) String() string {
	where := filepath.ToSlash(filepath.Join(manifest.GeneratedDir, s.Instance, s.Path))
	if s.Path == "" {
		where += "/"
	}
	line := fmt.Sprintf("%s: %s", where, s.Change)
	if s.Object != "" {
		line += " (" + s.Object + ")"
	}
	if s.Diff == "" {
		return line
	}
	return line + "\n" + indent(strings.TrimRight(s.Diff, "\n"), "    ")
}

// Compare reports the differences between generated/ under root and results. When all is
// set (every instance was rendered), folders of generated/ that no instance renders are
// reported as extra too. The report is sorted by instance and path.
func Compare(root string, results []*render.Result, all bool) ([]Stale, error) {
	gen := filepath.Join(root, manifest.GeneratedDir)
	var out []Stale
	rendered := map[string]bool{}
	for _, r := range results {
		rendered[r.Instance] = true
		s, err := compareInstance(filepath.Join(gen, r.Instance), r)
		if err != nil {
			return nil, err
		}
		out = append(out, s...)
	}
	if all {
		entries, err := os.ReadDir(gen)
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		for _, e := range entries {
			if !rendered[e.Name()] {
				st := Stale{Instance: e.Name(), Change: Extra}
				if !e.IsDir() {
					st = Stale{Path: e.Name(), Change: Extra}
				}
				out = append(out, st)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Instance != out[j].Instance {
			return out[i].Instance < out[j].Instance
		}
		return out[i].Path < out[j].Path
	})
	return out, nil
}

func compareInstance(dir string, r *render.Result) ([]Stale, error) {
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("%s is a file; it must be the instance's folder of manifests: remove it and run lsstgen render", dir)
	}
	committed, err := render.ReadTree(dir)
	if err != nil {
		return nil, err
	}
	var out []Stale
	for p, want := range r.Files {
		got, ok := committed[p]
		switch {
		case !ok:
			out = append(out, Stale{Instance: r.Instance, Path: p, Object: objectID(p, want), Change: Missing})
		case !bytes.Equal(got, want):
			out = append(out, Stale{Instance: r.Instance, Path: p, Object: objectID(p, want), Change: Changed, Diff: diffFile(p, got, want)})
		}
	}
	for p, got := range committed {
		if _, ok := r.Files[p]; !ok {
			out = append(out, Stale{Instance: r.Instance, Path: p, Object: objectID(p, got), Change: Extra})
		}
	}
	return out, nil
}

// objectID is the Kind/namespace/name of the one object the file p holds, or "" (a node
// file holds none).
func objectID(p string, b []byte) string {
	if manifest.IsNodeFile(p) {
		return ""
	}
	objs, err := manifest.Decode("", b)
	if err != nil || len(objs) != 1 {
		return ""
	}
	return objs[0].ID()
}

// diffFile is Diff, line by line for a node file (TOML, not YAML).
func diffFile(p string, got, want []byte) string {
	if manifest.IsNodeFile(p) {
		return "(-generated +rendered)\n" + cmp.Diff(strings.Split(string(got), "\n"), strings.Split(string(want), "\n"))
	}
	return Diff(got, want)
}

// Diff shows how got (committed) differs from want (rendered), "(-generated +rendered)":
// field by field when both are YAML objects that differ in content, else line by line.
func Diff(got, want []byte) string {
	var g, w map[string]any
	if yaml.Unmarshal(got, &g) == nil && yaml.Unmarshal(want, &w) == nil && g != nil && w != nil {
		if d := cmp.Diff(g, w); d != "" {
			return "(-generated +rendered)\n" + d
		}
	}
	return "(-generated +rendered)\n" + cmp.Diff(strings.Split(string(got), "\n"), strings.Split(string(want), "\n"))
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
