// Package plan compares the platform rendered at a git revision with the working tree and
// describes, per instance, the objects added, changed and removed, as Markdown for a pull
// request's reviewer.
package plan

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/lsst-dm/lsstgen/internal/render"
	"github.com/lsst-dm/lsstgen/internal/repo"
)

// Change is one object's difference between the base and the working tree.
type Change struct {
	// Action is "added", "changed" or "removed".
	Action string
	// Object is Kind/namespace/name.
	Object string
	// Fields are the changed fields of a changed object, as "path: old → new".
	Fields []string
}

// InstancePlan is what changes in one instance.
type InstancePlan struct {
	Instance string
	// New and Gone mark an instance that exists on one side only.
	New, Gone bool
	Changes   []Change
}

// Plan is the whole comparison.
type Plan struct {
	Base      string
	Commit    string
	Instances []InstancePlan
}

// Compute renders the inputs at base (read from git into a temporary folder; the working
// tree is not touched) and in the working tree at root, and compares them.
func Compute(root, base string, opts render.Options) (*Plan, error) {
	commit, err := git(root, "rev-parse", "--verify", "--quiet", base+"^{commit}")
	if err != nil {
		return nil, fmt.Errorf("base revision %q is not a commit of %s: %w", base, root, err)
	}
	commit = strings.TrimSpace(commit)
	dir, err := os.MkdirTemp("", "lsstgen-plan-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := extract(root, commit, dir); err != nil {
		return nil, err
	}
	var before []*render.Result
	if _, err := os.Stat(filepath.Join(dir, repo.Marker)); err == nil {
		if before, err = render.AllWith(dir, nil, opts); err != nil {
			return nil, fmt.Errorf("rendering the base %s: %w", base, err)
		}
	}
	after, err := render.AllWith(root, nil, opts)
	if err != nil {
		return nil, fmt.Errorf("rendering the working tree: %w", err)
	}
	p := Compare(before, after)
	p.Base, p.Commit = base, commit
	return p, nil
}

// Compare describes the differences between two sets of rendered instances.
func Compare(before, after []*render.Result) *Plan {
	b := map[string]*render.Result{}
	for _, r := range before {
		b[r.Instance] = r
	}
	a := map[string]*render.Result{}
	for _, r := range after {
		a[r.Instance] = r
	}
	names := map[string]bool{}
	for n := range a {
		names[n] = true
	}
	for n := range b {
		names[n] = true
	}
	p := &Plan{}
	for _, n := range sortedKeys(names) {
		ip := InstancePlan{Instance: n, New: b[n] == nil, Gone: a[n] == nil}
		ip.Changes = compareObjects(objects(b[n]), objects(a[n]))
		p.Instances = append(p.Instances, ip)
	}
	return p
}

func objects(r *render.Result) map[string]*unstructured.Unstructured {
	m := map[string]*unstructured.Unstructured{}
	if r == nil {
		return m
	}
	for _, u := range r.Objects {
		m[render.ObjectID(u)] = u
	}
	return m
}

func compareObjects(before, after map[string]*unstructured.Unstructured) []Change {
	ids := map[string]bool{}
	for id := range before {
		ids[id] = true
	}
	for id := range after {
		ids[id] = true
	}
	var out []Change
	for _, id := range sortedKeys(ids) {
		old, cur := before[id], after[id]
		switch {
		case old == nil:
			out = append(out, Change{Action: "added", Object: id})
		case cur == nil:
			out = append(out, Change{Action: "removed", Object: id})
		default:
			if fields := FieldDiff(old, cur); len(fields) > 0 {
				out = append(out, Change{Action: "changed", Object: id, Fields: fields})
			}
		}
	}
	return out
}

// FieldDiff lists the fields that differ between two versions of an object, one line each
// ("spec.replicas: 1 → 2"), sorted. The values of a Secret are never shown.
func FieldDiff(old, cur *unstructured.Unstructured) []string {
	a, b := map[string]string{}, map[string]string{}
	flatten("", old.Object, a)
	flatten("", cur.Object, b)
	secret := cur.GetKind() == "Secret" && cur.GetAPIVersion() == "v1"
	show := func(path, v string) string {
		if secret && (strings.HasPrefix(path, "data.") || strings.HasPrefix(path, "stringData.")) {
			return "(hidden)"
		}
		return v
	}
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var out []string
	for _, k := range sortedKeys(keys) {
		va, okA := a[k]
		vb, okB := b[k]
		switch {
		case !okA:
			out = append(out, fmt.Sprintf("%s: added %s", k, show(k, vb)))
		case !okB:
			out = append(out, fmt.Sprintf("%s: removed (was %s)", k, show(k, va)))
		case va != vb:
			out = append(out, fmt.Sprintf("%s: %s → %s", k, show(k, va), show(k, vb)))
		}
	}
	return out
}

// flatten maps every leaf of v to its path: maps by key, lists by index, multi-line
// strings by line so that a change in a configuration file shows as the lines it touches.
func flatten(prefix string, v any, out map[string]string) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			flatten(join(k), e, out)
		}
	case []any:
		for i, e := range v {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), e, out)
		}
	case string:
		if strings.Contains(v, "\n") {
			for i, line := range strings.Split(strings.TrimRight(v, "\n"), "\n") {
				out[fmt.Sprintf("%s#L%d", prefix, i+1)] = fmt.Sprintf("%q", line)
			}
			return
		}
		out[prefix] = fmt.Sprintf("%q", v)
	default:
		b, _ := json.Marshal(v)
		out[prefix] = string(b)
	}
}

// Markdown writes the plan for a pull request's summary.
func (p *Plan) Markdown(w io.Writer) error {
	var b strings.Builder
	short := p.Commit
	if len(short) > 12 {
		short = short[:12]
	}
	fmt.Fprintf(&b, "## lsstgen plan: `%s` (%s) → working tree\n\n", p.Base, short)
	for _, ip := range p.Instances {
		counts := map[string]int{}
		for _, c := range ip.Changes {
			counts[c.Action]++
		}
		label := ""
		switch {
		case ip.New:
			label = " (new instance)"
		case ip.Gone:
			label = " (instance removed)"
		}
		if len(ip.Changes) == 0 {
			fmt.Fprintf(&b, "- **%s**: no change\n", ip.Instance)
			continue
		}
		fmt.Fprintf(&b, "\n### %s%s: %d added, %d changed, %d removed\n\n", ip.Instance, label, counts["added"], counts["changed"], counts["removed"])
		for _, c := range ip.Changes {
			fmt.Fprintf(&b, "- %s `%s`\n", c.Action, c.Object)
			for _, f := range c.Fields {
				fmt.Fprintf(&b, "  - `%s`\n", strings.ReplaceAll(f, "`", "'"))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// extract writes the CUE inputs at commit into dir: every .cue file, which is the CUE
// module (cue.mod/, schema/, platform/, sites/) and instances/ whichever of those folders
// the commit has.
func extract(root, commit, dir string) error {
	cmd := exec.Command("git", "-C", root, "archive", "--format=tar", commit, "--", ":(glob)**/*.cue")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	data, err := cmd.Output()
	if err != nil {
		// A base that predates the CUE inputs has nothing to render.
		if strings.Contains(stderr.String(), "did not match any files") {
			return nil
		}
		return fmt.Errorf("git archive %s: %v: %s", commit, err, strings.TrimSpace(stderr.String()))
	}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading git archive of %s: %w", commit, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, filepath.Clean(dir)+string(filepath.Separator)) {
			return fmt.Errorf("git archive of %s: unexpected path %q", commit, h.Name)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			return err
		}
	}
}

func git(root string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", root}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if s := strings.TrimSpace(stderr.String()); s != "" {
			return "", fmt.Errorf("%v: %s", err, s)
		}
		return "", err
	}
	return string(out), nil
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
