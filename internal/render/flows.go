package render

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"cuelang.org/go/cue"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"

	"github.com/lsst-dm/lsstgen/internal/model"
)

// flowIDRE is the shape of a flow's name: "FROM -> TO" (schema.#FlowID).
var flowIDRE = regexp.MustCompile(`^[-a-z0-9/]+ -> [-a-z0-9/]+$`)

// checkFlowNames reports every declared flow whose name, ends or ports name nothing the
// model has, once per flow and at the flow's declaration. CUE reports such a flow as
// undefined fields where platform/flows.cue resolves it, and again at every policy built
// from it, without naming the line that declares it. A model whose components or outside
// networks do not evaluate is left to CUE's own errors, and so is a flow whose component
// is missing because its workload does not evaluate.
func checkFlowNames(v cue.Value) error {
	flows := v.LookupPath(cue.ParsePath("flows"))
	if !flows.Exists() {
		return nil
	}
	var comps map[string]map[string]model.Component
	if err := v.LookupPath(cue.ParsePath("components")).Decode(&comps); err != nil {
		return nil
	}
	var outside map[string]model.Outside
	if err := v.LookupPath(cue.ParsePath("outside")).Decode(&outside); err != nil {
		return nil
	}
	it, err := flows.Fields()
	if err != nil {
		return nil
	}
	var errs cueerrors.Error
	for it.Next() {
		id := it.Selector().Unquoted()
		if problems := flowProblems(v, id, it.Value(), comps, outside); len(problems) > 0 {
			pos := declaredAt(it.Value())
			if p, ok := reachesAt(v, id); ok {
				pos = p
			}
			errs = cueerrors.Append(errs, cueerrors.Newf(pos, "flows.%s: %s", Label(id), strings.Join(problems, "; ")))
		}
	}
	return errs
}

// flowProblems lists what is wrong with the names of flow id.
func flowProblems(v cue.Value, id string, f cue.Value, comps map[string]map[string]model.Component, outside map[string]model.Outside) []string {
	if !flowIDRE.MatchString(id) {
		return []string{`a flow is named "FROM -> TO" (one space each side of the arrow)`}
	}
	from, to, _ := strings.Cut(id, " -> ")
	var problems []string
	if from != model.EndNodes {
		if p := endProblem(v, from, comps, outside); p != "" {
			problems = append(problems, p)
		}
	}
	if p := endProblem(v, to, comps, outside); p != "" {
		return append(problems, p)
	}
	if ns, name, ok := strings.Cut(to, "/"); ok {
		if c, ok := comps[ns][name]; ok && len(c.Ports) == 0 {
			// CUE would say only that the flow's ports list is empty.
			return append(problems, fmt.Sprintf("%s opens no port: its containers name none, so nothing can connect to it", to))
		}
	}
	list, err := f.LookupPath(cue.ParsePath("ports")).List()
	if err != nil {
		return problems // CUE says what is wrong with the ports
	}
	ns, name, isComponent := strings.Cut(to, "/")
	if _, ok := comps[ns][name]; isComponent && !ok {
		return problems // its workload does not evaluate: CUE says why
	}
	for list.Next() {
		p := list.Value()
		switch s, err := p.String(); {
		case err == nil && !isComponent:
			problems = append(problems, fmt.Sprintf("port %q: %s is an outside network, whose ports are numbers", s, to))
		case err == nil:
			if _, ok := comps[ns][name].Ports[s]; !ok {
				problems = append(problems, fmt.Sprintf("port %q is not a port of %s (its containers name %s)", s, to, quoted(keys(comps[ns][name].Ports))))
			}
		case isComponent:
			if n, err := p.Int64(); err == nil {
				problems = append(problems, fmt.Sprintf("port %d: name a port of %s by the name its container gives it (%s)", n, to, quoted(keys(comps[ns][name].Ports))))
			}
		}
	}
	return problems
}

// workloadKinds are the kinds whose objects are components.
var workloadKinds = []string{"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}

// endProblem says what is wrong with one end's name, or "".
func endProblem(v cue.Value, end string, comps map[string]map[string]model.Component, outside map[string]model.Outside) string {
	if ns, name, ok := strings.Cut(end, "/"); ok {
		if _, ok := comps[ns][name]; ok {
			return ""
		}
		for _, kind := range workloadKinds {
			if v.LookupPath(cue.MakePath(cue.Str("objects"), cue.Str("namespaced"), cue.Str(ns), cue.Str(kind), cue.Str(name))).Exists() {
				return "" // the workload is there but does not evaluate: CUE says why
			}
		}
		if len(comps[ns]) == 0 {
			return fmt.Sprintf("no component %s: namespace %s has none (components are in %s)", end, ns, quoted(keys(comps)))
		}
		return fmt.Sprintf("no component %s: namespace %s has %s", end, ns, quoted(keys(comps[ns])))
	}
	if _, ok := outside[end]; ok {
		return ""
	}
	return fmt.Sprintf("%s is neither a component (namespace/name) nor an outside network (%s)", end, quoted(keys(outside)))
}

// reachesAt is, for a flow a development space's reaches declares
// ("dev-<team>/workloads -> TO", platform/development.cue), the instance's line that names
// TO there.
func reachesAt(v cue.Value, id string) (token.Pos, bool) {
	from, to, _ := strings.Cut(id, " -> ")
	team, ok := strings.CutPrefix(strings.TrimSuffix(from, "/workloads"), "dev-")
	if !ok || !strings.HasSuffix(from, "/workloads") {
		return token.NoPos, false
	}
	list, err := v.LookupPath(cue.MakePath(cue.Str("instance"), cue.Str("development"), cue.Str("teams"), cue.Str(team), cue.Str("reaches"))).List()
	if err != nil {
		return token.NoPos, false
	}
	for list.Next() {
		if s, err := list.Value().String(); err == nil && s == to {
			return list.Value().Pos(), list.Value().Pos().IsValid()
		}
	}
	return token.NoPos, false
}

// declaredAt is where a flow is declared: its why, which only the declaration writes (the
// schema constrains it without a value), else the flow's own position.
func declaredAt(f cue.Value) token.Pos {
	_, conjuncts := f.LookupPath(cue.ParsePath("why")).Expr()
	for _, c := range conjuncts {
		if _, err := c.String(); err == nil && c.Pos().IsValid() {
			return c.Pos()
		}
	}
	return f.Pos()
}

// flowSources says where each flow of the model is declared, as Sources paths
// `flows."FROM -> TO"`: the line that writes its why, or for a development space's
// reaches the instance's line that names its destination. A flow whose position cannot be
// told is left out.
func flowSources(root string, v cue.Value, flows map[string]model.Flow) Sources {
	src := Sources{}
	for id := range flows {
		at := declaredAt(v.LookupPath(cue.MakePath(cue.Str("flows"), cue.Str(id))))
		if p, ok := reachesAt(v, id); ok {
			at = p
		}
		pos := at.Position()
		if !pos.IsValid() {
			continue
		}
		if rel, err := filepath.Rel(root, pos.Filename); err == nil {
			pos.Filename = filepath.ToSlash(rel)
		}
		src["flows."+Label(id)] = pos
	}
	return src
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func quoted(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
