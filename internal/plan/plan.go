// Package plan compares the platform rendered at a git revision with the working tree and
// describes, per instance, the objects added, changed and removed, as Markdown for a pull
// request's reviewer.
package plan

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/lsst-dm/lsstgen/internal/gitsource"
	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/render"
)

// Change is one object's difference between the base and the working tree.
type Change struct {
	// Action is "added", "changed" or "removed".
	Action string
	// Object is Kind/namespace/name.
	Object string
	// Fields are the changed fields of a changed object, as "path: old → new".
	Fields []string
	// Prerelease is the aspect the object is a prerelease of (its label
	// lsst.org/prerelease), "" for the stable platform.
	Prerelease string
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

// Compute renders the inputs at base (read from git's object store; the working tree is
// not touched) and in the working tree at root, and compares them.
func Compute(ctx context.Context, root, base string, opts render.Options) (*Plan, error) {
	repo := &gitsource.Repository{Location: root}
	commit, err := repo.Resolve(ctx, base)
	if err != nil {
		return nil, fmt.Errorf("base revision: %w", err)
	}
	inputs, err := repo.FS(ctx, commit, manifest.InputDirs()...)
	if err != nil {
		return nil, fmt.Errorf("reading the base %s: %w", base, err)
	}
	// CUE loads from disk: the base's inputs go into a temporary folder.
	dir, err := os.MkdirTemp("", "lsstgen-plan-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := os.CopyFS(dir, inputs); err != nil {
		return nil, fmt.Errorf("copying the base %s: %w", base, err)
	}
	var before []*render.Result
	// A base that predates the CUE module has nothing to render.
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(manifest.Marker))); err == nil {
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
	p := &Plan{}
	for _, n := range sortedUnion(a, b) {
		ip := InstancePlan{Instance: n, New: b[n] == nil, Gone: a[n] == nil}
		ip.Changes = append(compareObjects(objects(b[n]), objects(a[n])), compareNodeFiles(nodeFiles(b[n]), nodeFiles(a[n]))...)
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
		m[manifest.ObjectID(u)] = u
	}
	return m
}

// nodeFiles are an instance's files to install on its nodes, by their path under /etc.
func nodeFiles(r *render.Result) map[string][]byte {
	m := map[string][]byte{}
	if r == nil {
		return m
	}
	for p, b := range r.Files {
		if manifest.IsNodeFile(p) {
			m[strings.TrimPrefix(p, manifest.NodeDir+"/")] = b
		}
	}
	return m
}

// compareNodeFiles reports each node file added, removed or changed, named "node file
// /etc/<path>": the operators install them on every node by hand.
func compareNodeFiles(before, after map[string][]byte) []Change {
	var out []Change
	for _, p := range sortedUnion(before, after) {
		old, had := before[p]
		cur, has := after[p]
		c := Change{Object: "node file /etc/" + p}
		switch {
		case !had:
			c.Action = "added"
		case !has:
			c.Action = "removed"
		case !bytes.Equal(old, cur):
			c.Action = "changed"
		default:
			continue
		}
		out = append(out, c)
	}
	return out
}

func compareObjects(before, after map[string]*unstructured.Unstructured) []Change {
	var out []Change
	for _, id := range sortedUnion(before, after) {
		old, cur := before[id], after[id]
		switch {
		case old == nil:
			out = append(out, Change{Action: "added", Object: id, Prerelease: prerelease(cur)})
		case cur == nil:
			out = append(out, Change{Action: "removed", Object: id, Prerelease: prerelease(old)})
		default:
			if fields := manifest.FieldDiff(old, cur, manifest.DiffOptions{}); len(fields) > 0 {
				pre := prerelease(cur)
				if pre == "" {
					pre = prerelease(old)
				}
				out = append(out, Change{Action: "changed", Object: id, Fields: fields, Prerelease: pre})
			}
		}
	}
	return out
}

// prerelease is the aspect o is a prerelease of, or "".
func prerelease(o *unstructured.Unstructured) string {
	return o.GetLabels()[manifest.LabelPrerelease]
}

// Markdown writes the plan for a pull request's summary: per instance, the stable
// platform's changes, then each prerelease's apart (a reviewer reads the candidate's
// changes as such, not as the stable aspect's).
func (p *Plan) Markdown(w io.Writer) error {
	var b strings.Builder
	short := p.Commit
	if len(short) > 12 {
		short = short[:12]
	}
	fmt.Fprintf(&b, "## lsstgen plan: `%s` (%s) → working tree\n\n", p.Base, short)
	for _, ip := range p.Instances {
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
		byTrack := map[string][]Change{}
		for _, c := range ip.Changes {
			byTrack[c.Prerelease] = append(byTrack[c.Prerelease], c)
		}
		fmt.Fprintf(&b, "\n### %s%s: %s\n\n", ip.Instance, label, counts(byTrack[""]))
		writeChanges(&b, byTrack[""])
		for _, aspect := range slices.Sorted(maps.Keys(byTrack)) {
			if aspect == "" {
				continue
			}
			fmt.Fprintf(&b, "\n#### %s: prerelease of the %s aspect: %s\n\n", ip.Instance, aspect, counts(byTrack[aspect]))
			writeChanges(&b, byTrack[aspect])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// counts says how many of cs are added, changed and removed.
func counts(cs []Change) string {
	n := map[string]int{}
	for _, c := range cs {
		n[c.Action]++
	}
	return fmt.Sprintf("%d added, %d changed, %d removed", n["added"], n["changed"], n["removed"])
}

func writeChanges(b *strings.Builder, cs []Change) {
	for _, c := range cs {
		fmt.Fprintf(b, "- %s `%s`\n", c.Action, c.Object)
		for _, f := range c.Fields {
			fmt.Fprintf(b, "  - `%s`\n", strings.ReplaceAll(f, "`", "'"))
		}
	}
}

// sortedUnion returns the keys of a and b, sorted, each once.
func sortedUnion[V any](a, b map[string]V) []string {
	keys := slices.AppendSeq(slices.Collect(maps.Keys(a)), maps.Keys(b))
	slices.Sort(keys)
	return slices.Compact(keys)
}
