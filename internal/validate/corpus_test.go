package validate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/model"
	"github.com/lsst-dm/lsstgen/internal/render"
	"github.com/lsst-dm/lsstgen/internal/testrepo"
)

// corpusDir holds the bad inputs, one txtar file a case:
//
//	the comment: what the case breaks, and "instances: NAME…" (the first is the one the
//	sections below change; default pdac)
//	-- instances/<name>/<file>.cue --  an extra CUE file of an instance package
//	-- replace --    lines "FILE: OLD => NEW", each replacing text in a copied CUE file
//	-- patch --      lines "Kind/ns/name OP /json/pointer [JSON]" (OP add, replace, remove)
//	                 or "Kind/ns/name delete", applied to the rendered objects
//	-- objects.yaml --  objects added to (or replacing) the rendered ones, read as a
//	                 manifest file named objects.yaml
//	-- model.json --    a JSON merge patch of the instance's model
//	-- want --       lines "RULE FILE:LINE", "RULE FILE:/text/" (the first line holding
//	                 text) or "RULE -" (no position): the exact set of findings
const corpusDir = "../../testdata/validate"

// corpusCase is one parsed case.
type corpusCase struct {
	name      string
	instances []string
	cueFiles  map[string][]byte
	replace   []string
	patch     []string
	objects   []byte
	model     []byte
	want      []string
}

func loadCorpus(t testing.TB) []*corpusCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no cases in %s", corpusDir)
	}
	var out []*corpusCase
	for _, f := range files {
		a, err := txtar.ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := parseCase(strings.TrimSuffix(filepath.Base(f), ".txtar"), a)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, c)
	}
	return out
}

func parseCase(name string, a *txtar.Archive) (*corpusCase, error) {
	c := &corpusCase{name: name, instances: []string{"pdac"}, cueFiles: map[string][]byte{}}
	for _, l := range strings.Split(string(a.Comment), "\n") {
		if v, ok := strings.CutPrefix(l, "instances:"); ok {
			c.instances = strings.Fields(v)
		}
	}
	for _, f := range a.Files {
		switch {
		case strings.HasPrefix(f.Name, "instances/") && strings.HasSuffix(f.Name, ".cue"):
			c.cueFiles[f.Name] = f.Data
		case f.Name == "replace":
			c.replace = lines(f.Data)
		case f.Name == "patch":
			c.patch = lines(f.Data)
		case f.Name == "objects.yaml":
			c.objects = f.Data
		case f.Name == "model.json":
			c.model = f.Data
		case f.Name == "want":
			c.want = lines(f.Data)
		default:
			return nil, fmt.Errorf("unknown section %q", f.Name)
		}
	}
	if len(c.want) == 0 {
		return nil, fmt.Errorf("no want section: every case names the findings it must produce")
	}
	return c, nil
}

func lines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// build gives the case's instances and the root their positions refer to.
func (c *corpusCase) build(t testing.TB) ([]Instance, string) {
	t.Helper()
	root := repoRoot(t)
	var ins []Instance
	if len(c.cueFiles) > 0 || len(c.replace) > 0 {
		root = testrepo.Copy(t, c.instances...)
		for name, data := range c.cueFiles {
			if err := os.WriteFile(filepath.Join(root, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range c.replace {
			file, rest, ok := strings.Cut(r, ": ")
			old, repl, ok2 := strings.Cut(rest, " => ")
			if !ok || !ok2 {
				t.Fatalf("replace line %q is not FILE: OLD => NEW", r)
			}
			p := filepath.Join(root, file)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), old) {
				t.Fatalf("replace: %s does not hold %q", file, old)
			}
			if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, repl, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		results, err := render.All(root, c.instances)
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		for _, r := range results {
			ins = append(ins, FromResult(r))
		}
	} else {
		byName := map[string]Instance{}
		for _, in := range realInstances(t) {
			byName[in.Name] = in
		}
		for _, n := range c.instances {
			in, ok := byName[n]
			if !ok {
				t.Fatalf("no instance %q", n)
			}
			ins = append(ins, in)
		}
	}
	base := &ins[0]
	for _, p := range c.patch {
		if err := applyPatchLine(base, p); err != nil {
			t.Fatalf("patch %q: %v", p, err)
		}
	}
	if len(c.objects) > 0 {
		objs, err := manifest.Decode("objects.yaml", c.objects)
		var dup *manifest.DuplicateKeyError
		switch {
		case errors.As(err, &dup):
			base.Duplicates = append(base.Duplicates, dup)
		case err != nil:
			t.Fatalf("objects.yaml: %v", err)
		}
		for _, u := range manifest.Unstructured(objs) {
			if i := findObject(base, manifest.ObjectID(u)); i >= 0 {
				base.Objects[i] = u
			} else {
				base.Objects = append(base.Objects, u)
			}
		}
	}
	if len(c.model) > 0 {
		cur, err := json.Marshal(base.Model)
		if err != nil {
			t.Fatal(err)
		}
		merged, err := jsonpatch.MergePatch(cur, c.model)
		if err != nil {
			t.Fatalf("model.json: %v", err)
		}
		base.Model = model.Model{}
		if err := json.Unmarshal(merged, &base.Model); err != nil {
			t.Fatalf("model.json: %v", err)
		}
	}
	return ins, root
}

// findObject finds an object by Kind/namespace/name, where the name may be a pattern of
// path.Match (ConfigMap/registry/nexus-repositories-* for a hashed ConfigMap).
func findObject(in *Instance, id string) int {
	for i, u := range in.Objects {
		if ok, _ := path.Match(id, manifest.ObjectID(u)); ok {
			return i
		}
	}
	return -1
}

// applyPatchLine applies "Kind/ns/name OP /pointer [JSON]" or "Kind/ns/name delete".
func applyPatchLine(in *Instance, line string) error {
	f := strings.SplitN(line, " ", 4)
	if len(f) < 2 {
		return fmt.Errorf("want ID OP [PATH [VALUE]]")
	}
	i := findObject(in, f[0])
	if i < 0 {
		return fmt.Errorf("no object %s", f[0])
	}
	if f[1] == "delete" {
		in.Objects = append(in.Objects[:i:i], in.Objects[i+1:]...)
		return nil
	}
	if len(f) < 3 {
		return fmt.Errorf("want ID OP PATH [VALUE]")
	}
	op := map[string]any{"op": f[1], "path": f[2]}
	if len(f) == 4 {
		var v any
		if err := json.Unmarshal([]byte(f[3]), &v); err != nil {
			return fmt.Errorf("value: %w", err)
		}
		op["value"] = v
	}
	pb, _ := json.Marshal([]any{op})
	patch, err := jsonpatch.DecodePatch(pb)
	if err != nil {
		return err
	}
	doc, err := json.Marshal(in.Objects[i].Object)
	if err != nil {
		return err
	}
	out, err := patch.Apply(doc)
	if err != nil {
		return err
	}
	m := map[string]any{}
	if err := json.Unmarshal(out, &m); err != nil {
		return err
	}
	in.Objects[i] = &unstructured.Unstructured{Object: m}
	return nil
}

var wantRE = regexp.MustCompile(`^(LSST-[A-Z]+-\d{3}) (-|(\S+?):(\d+|/.+/))$`)

// resolveWant turns a want line into "RULE FILE:LINE" or "RULE -".
func resolveWant(t testing.TB, root, w string) string {
	t.Helper()
	m := wantRE.FindStringSubmatch(w)
	if m == nil {
		t.Fatalf("want line %q is not RULE FILE:LINE, RULE FILE:/text/ or RULE -", w)
	}
	if m[2] == "-" {
		return m[1] + " -"
	}
	file, at := m[3], m[4]
	if _, err := strconv.Atoi(at); err == nil {
		return m[1] + " " + file + ":" + at
	}
	text := at[1 : len(at)-1]
	b, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, text) {
			return fmt.Sprintf("%s %s:%d", m[1], file, i+1)
		}
	}
	t.Fatalf("want %q: no line of %s holds %q", w, file, text)
	return ""
}

// gotLines are the findings as distinct "RULE FILE:LINE" or "RULE -" lines, sorted.
func gotLines(fs []Finding) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range fs {
		l := f.Rule + " -"
		if f.Pos != nil {
			l = fmt.Sprintf("%s %s:%d", f.Rule, f.Pos.File, f.Pos.Line)
		}
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// TestCorpus: each bad input produces exactly the findings it names, each with a message.
func TestCorpus(t *testing.T) {
	for _, c := range loadCorpus(t) {
		t.Run(c.name, func(t *testing.T) {
			ins, root := c.build(t)
			var want []string
			for _, w := range c.want {
				want = append(want, resolveWant(t, root, w))
			}
			sort.Strings(want)
			fs := Validate(ins)
			if diff := cmp.Diff(want, gotLines(fs)); diff != "" {
				for _, f := range fs {
					t.Log(f)
				}
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			for _, f := range fs {
				if strings.TrimSpace(f.Message) == "" || f.Instance == "" {
					t.Errorf("finding without message or instance: %+v", f)
				}
			}
		})
	}
}

// TestCorpusCoversEveryRule: every rule is produced by at least one case.
func TestCorpusCoversEveryRule(t *testing.T) {
	covered := map[string]int{}
	for _, c := range loadCorpus(t) {
		for _, w := range c.want {
			covered[strings.Fields(w)[0]]++
		}
	}
	for _, r := range Rules {
		if covered[r.ID] == 0 {
			t.Errorf("no case in %s produces %s", corpusDir, r.ID)
		}
	}
}
