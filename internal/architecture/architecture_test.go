package architecture

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

const module = "github.com/lsst-dm/lsstgen"

// pkg is what go list says of a package.
type pkg struct {
	ImportPath     string
	Imports        []string
	GoFiles        []string
	IgnoredGoFiles []string
}

// goList runs go list -json with args in the repository and decodes its packages.
func goList(t *testing.T, args ...string) []pkg {
	t.Helper()
	root, err := manifest.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return pkgs
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
}

// rel is a package's path in the module ("internal/sync"), or "" for another module's.
func rel(importPath string) string {
	r, ok := strings.CutPrefix(importPath, module+"/")
	if !ok {
		return ""
	}
	return r
}

// rule reads the table of docs/architecture.md: each package's path in the module and
// the short names of the packages it may import.
func rule(t *testing.T) map[string][]string {
	t.Helper()
	root, err := manifest.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	allowed := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cells := strings.Split(sc.Text(), "|")
		if len(cells) != 6 || !strings.HasPrefix(strings.TrimSpace(cells[2]), "`") {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[2]), "`")
		var may []string
		for _, m := range strings.Split(cells[4], ",") {
			if m = strings.TrimSpace(m); m != "" && m != "—" {
				may = append(may, m)
			}
		}
		allowed[name] = may
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(allowed) < 10 {
		t.Fatalf("docs/architecture.md's table names %d packages; the test cannot read it", len(allowed))
	}
	return allowed
}

// TestImportsFollowTheTable: every package of the module has a row in
// docs/architecture.md, and imports only the lsstgen packages its row names.
func TestImportsFollowTheTable(t *testing.T) {
	allowed := rule(t)
	for _, p := range goList(t, "./...") {
		name := rel(p.ImportPath)
		if name == "internal/architecture" {
			continue
		}
		may, ok := allowed[name]
		if !ok {
			t.Errorf("%s has no row in docs/architecture.md: give it a layer and what it may import", name)
			continue
		}
		for _, imp := range p.Imports {
			if r := rel(imp); r != "" && !slices.Contains(may, path.Base(r)) {
				t.Errorf("%s imports %s; docs/architecture.md allows only %v", name, r, may)
			}
		}
	}
}

// deps lists the packages a package links, transitively, itself included.
func deps(t *testing.T, pattern string) []string {
	t.Helper()
	var out []string
	for _, p := range goList(t, "-deps", pattern) {
		out = append(out, p.ImportPath)
	}
	if len(out) == 0 {
		t.Fatalf("go list -deps %s listed nothing", pattern)
	}
	return out
}

// TestForbiddenDependencies holds the rule's transitive parts: manifest, gitsource, model, netpol and nexus link
// no other lsstgen package, sync no render and no testcluster, and the lsstgen binary no
// test harness at all.
func TestForbiddenDependencies(t *testing.T) {
	for _, tc := range []struct {
		pkg       string
		forbidden func(dep string) bool
		why       string
	}{
		{"./internal/manifest", func(d string) bool { return rel(d) != "" && rel(d) != "internal/manifest" }, "manifest imports no other package of lsstgen"},
		{"./internal/gitsource", func(d string) bool { return rel(d) != "" && rel(d) != "internal/gitsource" }, "gitsource imports no other package of lsstgen"},
		{"./internal/model", func(d string) bool { return rel(d) != "" && rel(d) != "internal/model" }, "model imports no other package of lsstgen"},
		{"./internal/netpol", func(d string) bool { return rel(d) != "" && rel(d) != "internal/netpol" }, "netpol imports no other package of lsstgen"},
		{"./internal/nexus", func(d string) bool { return rel(d) != "" && rel(d) != "internal/nexus" }, "nexus imports no other package of lsstgen"},
		{"./internal/sync", func(d string) bool { return d == module+"/internal/render" || d == module+"/internal/testcluster" }, "sync imports neither render nor testcluster"},
		{"./cmd/lsstgen", func(d string) bool {
			return d == "testing" || strings.HasPrefix(d, "testing/") ||
				strings.HasPrefix(d, "sigs.k8s.io/controller-runtime/pkg/envtest") ||
				strings.HasPrefix(d, module+"/internal/test") || d == module+"/internal/synth" || d == module+"/internal/nexus/nexustest"
		}, "the lsstgen binary links no testing package, no envtest and no test support"},
	} {
		t.Run(tc.pkg, func(t *testing.T) {
			for _, d := range deps(t, tc.pkg) {
				if tc.forbidden(d) {
					t.Errorf("%s links %s: %s (docs/architecture.md)", tc.pkg, d, tc.why)
				}
			}
		})
	}
}

// TestTestHooksOnlyInTestBuilds: the file that turns the sync pause hook on from the
// environment is left out of a build without the tag, and compiled in with it.
func TestTestHooksOnlyInTestBuilds(t *testing.T) {
	const file = "testhooks_env.go"
	plain := goList(t, "./internal/sync")
	tagged := goList(t, "-tags", "lsstgen_testhooks", "./internal/sync")
	if len(plain) != 1 || len(tagged) != 1 {
		t.Fatalf("go list gave %d and %d packages", len(plain), len(tagged))
	}
	if slices.Contains(plain[0].GoFiles, file) || !slices.Contains(plain[0].IgnoredGoFiles, file) {
		t.Errorf("a plain build of internal/sync compiles %s (files %v)", file, plain[0].GoFiles)
	}
	if !slices.Contains(tagged[0].GoFiles, file) {
		t.Errorf("a build with -tags lsstgen_testhooks leaves out %s", file)
	}
}
