package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/load"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/model"
)

// EvalError is a CUE evaluation error of one instance. Its message lists every CUE error
// with its file:line:col relative to the repository root.
type EvalError struct {
	Instance string
	Root     string
	Err      error
}

func (e *EvalError) Error() string {
	details := strings.TrimRight(cueerrors.Details(e.Err, &cueerrors.Config{Cwd: e.Root}), "\n")
	return fmt.Sprintf("instance %s does not evaluate:\n%s", e.Instance, details)
}

func (e *EvalError) Unwrap() error { return e.Err }

// Instances lists the instance names under instances/: every folder holding .cue files,
// sorted.
func Instances(root string) ([]string, error) {
	dir := filepath.Join(root, manifest.InstancesDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing instances: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		cues, _ := filepath.Glob(filepath.Join(dir, e.Name(), "*.cue"))
		if len(cues) > 0 {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// loadMu serialises CUE loading, which is not safe for concurrent use.
var loadMu sync.Mutex

// evaluations counts CUE evaluations, for the tests of the render cache.
var evaluations atomic.Int64

// evaluated is what an instance's CUE gives: its objects as plain JSON values, and its
// model.
type evaluated struct {
	objects []map[string]any
	model   model.Model
	// nodeFiles are the files to install on the instance's nodes, by path under /etc.
	nodeFiles map[string]string
	// declared says where the platform declares the model's flows (flowSources).
	declared Sources
}

// evaluate loads and evaluates one instance with its own CUE context (CUE values are not
// safe for concurrent use), checks it, and takes its model and its objects out of it.
func evaluate(root, name string) (*evaluated, error) {
	evaluations.Add(1)
	v, err := loadInstance(root, name)
	if err != nil {
		return nil, err
	}
	if err := checkPrerequisites(v); err != nil {
		return nil, &EvalError{Instance: name, Root: root, Err: err}
	}
	if err := checkFlowNames(v); err != nil {
		return nil, &EvalError{Instance: name, Root: root, Err: err}
	}
	if err := validateInstance(root, name, v); err != nil {
		return nil, err
	}
	m, err := decodeModel(v)
	if err != nil {
		return nil, &EvalError{Instance: name, Root: root, Err: err}
	}
	if err := checkAdminNamespaces(v, m.Namespaces); err != nil {
		return nil, &EvalError{Instance: name, Root: root, Err: err}
	}
	if m.Instance.Name != name {
		return nil, fmt.Errorf("instance %s: instances/%s sets instance.name %q; the name must be the folder's", name, name, m.Instance.Name)
	}
	objs, err := extractObjects(v)
	if err != nil {
		if cerr := cueerrors.Error(nil); errors.As(err, &cerr) {
			return nil, &EvalError{Instance: name, Root: root, Err: err}
		}
		return nil, fmt.Errorf("instance %s: %w", name, err)
	}
	if err := checkAdmissionPolicies(v); err != nil {
		return nil, &EvalError{Instance: name, Root: root, Err: err}
	}
	var nodeFiles map[string]string
	if f := v.LookupPath(cue.ParsePath("nodeFiles")); f.Exists() {
		if err := f.Decode(&nodeFiles); err != nil {
			return nil, &EvalError{Instance: name, Root: root, Err: err}
		}
	}
	return &evaluated{objects: objs, model: m, nodeFiles: nodeFiles, declared: flowSources(root, v, m.Flows)}, nil
}

// loadInstance loads the package of instances/<name>/ (with the packages it imports:
// schema/, platform/, sites/) and builds it in a CUE context of its own.
func loadInstance(root, name string) (cue.Value, error) {
	ctx := cuecontext.New()
	cfg := &load.Config{Dir: root}
	loadMu.Lock()
	insts := load.Instances([]string{"./" + filepath.ToSlash(filepath.Join(manifest.InstancesDir, name))}, cfg)
	loadMu.Unlock()
	if len(insts) != 1 {
		return cue.Value{}, fmt.Errorf("instance %s: loading gave %d CUE instances, want 1", name, len(insts))
	}
	if err := insts[0].Err; err != nil {
		return cue.Value{}, &EvalError{Instance: name, Root: root, Err: err}
	}
	return ctx.BuildInstance(insts[0]), nil
}

// validateInstance validates the evaluated instance, the model first: a mistake there
// would otherwise be reported again, first, through every object built from it. Every
// value must be concrete; an error without a position is given the field's
// (withPositions).
func validateInstance(root, name string, v cue.Value) error {
	if iv := v.LookupPath(cue.ParsePath("instance")); iv.Exists() {
		if err := iv.Validate(cue.Concrete(true)); err != nil {
			src, _ := instanceSources(root, name)
			return &EvalError{Instance: name, Root: root, Err: withPositions(v, src, err)}
		}
	}
	if err := v.Err(); err != nil {
		return &EvalError{Instance: name, Root: root, Err: err}
	}
	if err := v.Validate(cue.Concrete(true)); err != nil {
		src, _ := instanceSources(root, name)
		return &EvalError{Instance: name, Root: root, Err: withPositions(v, src, err)}
	}
	return nil
}

// decodeModel decodes the model platform.#Platform gives beside the objects. A part that is
// absent (roles, in a revision older than the roles table; userPod without the notebook
// aspect) stays empty.
func decodeModel(v cue.Value) (model.Model, error) {
	var m model.Model
	for path, dst := range map[string]any{
		"instance":   &m.Instance,
		"namespaces": &m.Namespaces,
		"secrets":    &m.Secrets,
		"roles":      &m.Roles,
		"imageFacts": &m.Images,
		"userPod":    &m.UserPod,
		"components": &m.Components,
		"outside":    &m.Outside,
		"flows":      &m.Flows,
	} {
		f := v.LookupPath(cue.ParsePath(path))
		if !f.Exists() {
			continue
		}
		if err := f.Decode(dst); err != nil {
			return model.Model{}, err
		}
	}
	return m, nil
}

// extractObjects gives every object of `objects` (keyed by scope, kind and name) as a plain
// JSON value, in no particular order. A CUE error is returned as CUE gives it, so that the
// caller can print its positions.
func extractObjects(v cue.Value) ([]map[string]any, error) {
	objs := v.LookupPath(cue.ParsePath("objects"))
	if !objs.Exists() {
		return nil, fmt.Errorf("no objects: the instance package must embed platform.#Platform")
	}
	raw, err := objs.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var tree struct {
		Cluster    map[string]map[string]json.RawMessage            `json:"cluster"`
		Namespaced map[string]map[string]map[string]json.RawMessage `json:"namespaced"`
	}
	if err := json.Unmarshal(raw, &tree); err != nil {
		return nil, fmt.Errorf("objects: %w", err)
	}
	var out []map[string]any
	add := func(r json.RawMessage) error {
		var m map[string]any
		if err := json.Unmarshal(r, &m); err != nil {
			return err
		}
		out = append(out, m)
		return nil
	}
	for _, byName := range tree.Cluster {
		for _, r := range byName {
			if err := add(r); err != nil {
				return nil, err
			}
		}
	}
	for _, byKind := range tree.Namespaced {
		for _, byName := range byKind {
			for _, r := range byName {
				if err := add(r); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// withPositions gives every error that has no source position (CUE reports a missing
// required value as "incomplete value" without one) the position of the field's
// declaration, and says what to do.
func withPositions(v cue.Value, src Sources, err error) error {
	var out cueerrors.Error
	for _, e := range cueerrors.Errors(err) {
		if e.Position().IsValid() || len(e.InputPositions()) > 0 {
			out = cueerrors.Append(out, e)
			continue
		}
		path := e.Path()
		f := v.LookupPath(cue.MakePath(selectors(path)...))
		format, args := e.Msg()
		msg := fmt.Sprintf(format, args...)
		labels := make([]string, len(path))
		for i, p := range path {
			labels[i] = Label(p)
		}
		where := strings.Join(labels, ".")
		if strings.HasPrefix(msg, "incomplete value") {
			msg = "missing required value (" + msg + "): set it in the instance"
			if pos, ok := src.Lookup(where); ok {
				msg += fmt.Sprintf(", under %s:%d:%d", pos.Filename, pos.Line, pos.Column)
			}
		}
		out = cueerrors.Append(out, cueerrors.Newf(f.Pos(), "%s: %s", where, msg))
	}
	return out
}

func selectors(path []string) []cue.Selector {
	sels := make([]cue.Selector, 0, len(path))
	for _, p := range path {
		sels = append(sels, cue.ParsePath(Label(p)).Selectors()...)
	}
	return sels
}
