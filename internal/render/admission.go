package render

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"cuelang.org/go/cue"
	cueerrors "cuelang.org/go/cue/errors"
	celgo "github.com/google/cel-go/cel"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/cel/environment"
)

// The CEL environment of ValidatingAdmissionPolicy is the apiserver's own
// (k8s.io/apiserver, the version go.mod pins with the other k8s.io modules): the base
// environment of the default compatibility version, with the admission variables (object,
// oldObject, request, params, namespaceObject, authorizer) and the policy's own
// `variables`. New expressions are compiled as the apiserver compiles an expression it is
// asked to store, so that what compiles here is what it accepts.
var (
	celBaseOnce sync.Once
	celBase     *environment.EnvSet
)

func celBaseEnv() *environment.EnvSet {
	celBaseOnce.Do(func() {
		celBase = environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion())
	})
	return celBase
}

// celExpression is one expression of a policy, with the types it must return.
type celExpression struct {
	name       string
	expression string
	returns    []*celgo.Type
}

func (e celExpression) GetExpression() string           { return e.expression }
func (e celExpression) ReturnTypes() []*celgo.Type      { return e.returns }
func (e celExpression) GetName() string                 { return e.name }
func (e celExpression) String() string                  { return e.expression }
func (e celExpression) withName(n string) celExpression { e.name = n; return e }

// checkAdmissionPolicies compiles every CEL expression of the instance's
// ValidatingAdmissionPolicies (objects.cluster.ValidatingAdmissionPolicy): variables, match
// conditions, validations and their message expressions, audit annotations. An expression
// that does not compile, or returns the wrong type, is an error at the CUE position of the
// field that wrote it, so that it stops the render instead of the apiserver refusing the
// policy when lsstgen sync applies it.
func checkAdmissionPolicies(v cue.Value) error {
	policies := v.LookupPath(cue.ParsePath("objects.cluster.ValidatingAdmissionPolicy"))
	if !policies.Exists() {
		return nil
	}
	it, err := policies.Fields()
	if err != nil {
		return err
	}
	var errs cueerrors.Error
	for it.Next() {
		name := it.Selector().Unquoted()
		pv := it.Value()
		raw, err := pv.LookupPath(cue.ParsePath("spec")).MarshalJSON()
		if err != nil {
			return err
		}
		var spec admissionregistrationv1.ValidatingAdmissionPolicySpec
		if err := json.Unmarshal(raw, &spec); err != nil {
			return cueerrors.Newf(pv.Pos(), "ValidatingAdmissionPolicy/%s: spec: %v", name, err)
		}
		for _, p := range compilePolicy(&spec) {
			f := pv.LookupPath(cue.MakePath(p.path...))
			pos := f.Pos()
			if !f.Exists() || !pos.IsValid() {
				pos = pv.Pos()
			}
			errs = cueerrors.Append(errs, cueerrors.Newf(pos, "ValidatingAdmissionPolicy/%s: %s does not compile in the apiserver's CEL environment: %s; correct the expression (platform/admission.cue)", name, p.field, p.message))
		}
	}
	if errs != nil {
		return errs
	}
	return nil
}

// celProblem is an expression of a policy that does not compile: the path of its field
// under the policy (for the CUE position), the field as the API names it, and why.
type celProblem struct {
	path    []cue.Selector
	field   string
	message string
}

// compilePolicy compiles a policy's expressions as the apiserver does when the policy is
// created (k8s.io/kubernetes pkg/apis/admissionregistration/validation): the variables in
// order, each seeing the ones before it, then the conditions with the variables.
func compilePolicy(spec *admissionregistrationv1.ValidatingAdmissionPolicySpec) []celProblem {
	compiler, err := plugincel.NewCompositedCompiler(celBaseEnv())
	if err != nil {
		return []celProblem{{field: "spec", message: err.Error()}}
	}
	hasParams := spec.ParamKind != nil
	withAuthz := plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true}
	noAuthz := plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: false}
	boolean := []*celgo.Type{celgo.BoolType}
	str := []*celgo.Type{celgo.StringType}

	var out []celProblem
	report := func(r plugincel.CompilationResult, field string, path ...cue.Selector) {
		if r.Error != nil {
			out = append(out, celProblem{path: path, field: field, message: strings.TrimSpace(r.Error.Detail)})
		}
	}
	sel := func(parts ...any) []cue.Selector {
		s := []cue.Selector{cue.Str("spec")}
		for _, p := range parts {
			switch p := p.(type) {
			case string:
				s = append(s, cue.Str(p))
			case int:
				s = append(s, cue.Index(p))
			}
		}
		return s
	}
	for i, vr := range spec.Variables {
		e := celExpression{expression: vr.Expression, returns: []*celgo.Type{celgo.AnyType}}.withName(vr.Name)
		report(compiler.CompileAndStoreVariable(e, withAuthz, environment.NewExpressions),
			fmt.Sprintf("spec.variables[%d] (%s)", i, vr.Name), sel("variables", i, "expression")...)
	}
	for i, mc := range spec.MatchConditions {
		report(compiler.CompileCELExpression(celExpression{expression: mc.Expression, returns: boolean}, withAuthz, environment.NewExpressions),
			fmt.Sprintf("spec.matchConditions[%d] (%s)", i, mc.Name), sel("matchConditions", i, "expression")...)
	}
	for i, vd := range spec.Validations {
		report(compiler.CompileCELExpression(celExpression{expression: vd.Expression, returns: boolean}, withAuthz, environment.NewExpressions),
			fmt.Sprintf("spec.validations[%d].expression", i), sel("validations", i, "expression")...)
		if vd.MessageExpression != "" {
			report(compiler.CompileCELExpression(celExpression{expression: vd.MessageExpression, returns: str}, noAuthz, environment.NewExpressions),
				fmt.Sprintf("spec.validations[%d].messageExpression", i), sel("validations", i, "messageExpression")...)
		}
	}
	for i, aa := range spec.AuditAnnotations {
		report(compiler.CompileCELExpression(celExpression{expression: aa.ValueExpression, returns: []*celgo.Type{celgo.StringType, celgo.NullType}}, withAuthz, environment.NewExpressions),
			fmt.Sprintf("spec.auditAnnotations[%d] (%s)", i, aa.Key), sel("auditAnnotations", i, "valueExpression")...)
	}
	return out
}
