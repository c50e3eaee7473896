package validate

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/model"
	"github.com/lsst-dm/lsstgen/internal/privilege"
	"github.com/lsst-dm/lsstgen/internal/render"
)

// Instance is what the checks see of one rendered instance: its objects, its model and
// where its CUE fields are written.
type Instance struct {
	Name    string
	Objects []*unstructured.Unstructured
	// Duplicates are documents of the instance's manifest files that manifest.Decode
	// refused for writing a key twice, when the objects were read from files rather than
	// rendered: each is an LSST-SCHEMA-001 finding at its file and line.
	Duplicates []*manifest.DuplicateKeyError
	Model      model.Model
	Sources    render.Sources
}

// FromResult takes the parts of a render result the checks use.
func FromResult(r *render.Result) Instance {
	return Instance{Name: r.Instance, Objects: r.Objects, Model: r.Model, Sources: r.Sources}
}

// Validate runs every rule on each instance, and the cross-instance rules on them all
// together, and returns the findings sorted by instance, object and rule.
func Validate(instances []Instance) []Finding {
	var out []Finding
	for i := range instances {
		out = append(out, validateOne(&instances[i])...)
	}
	out = append(out, checkNodesClaimedOnce(instances)...)
	sortFindings(out)
	return out
}

// validateOne runs the per-instance rules.
func validateOne(in *Instance) []Finding {
	c := &checker{in: in, idx: buildIndex(in.Objects)}
	checkSchema(c)
	checkReferences(c)
	checkSecurity(c)
	checkImages(c)
	checkCapacity(c)
	checkNotes(c)
	checkFlows(c)
	checkPrivilege(c)
	checkDevelopment(c)
	return c.findings
}

// checker holds one instance's index and collects its findings.
type checker struct {
	in       *Instance
	idx      *index
	findings []Finding

	// privObjs and privErr are the objects as the privilege analysis reads them, collected
	// once for the rules that analyse them (privilegeObjects).
	privObjs *privilege.Objects
	privErr  error
}

// report adds a finding of rule about o (nil for the instance as a whole), positioned where
// o is written when the instance's files write it, else at the instance field path when
// one is given, else at the field o comes from.
func (c *checker) report(rule string, o *object, path string, format string, args ...any) {
	f := Finding{
		Rule:     rule,
		Severity: ruleByID(rule).Severity,
		Instance: c.in.Name,
		Message:  fmt.Sprintf(format, args...),
	}
	if o != nil {
		f.Object = o.id
		// An object written in the instance's own files is pointed at there.
		if p := writtenPath(c.in, o); p != "" {
			path = p
		} else if path == "" {
			path = sourcePath(c.in, o)
		}
	}
	if path != "" {
		f.Pos = c.at(path)
	}
	c.findings = append(c.findings, f)
}

// at is the position of an instance field path, or of its nearest written ancestor.
func (c *checker) at(path string) *Position {
	return lookup(c.in.Sources, path)
}

func lookup(s render.Sources, path string) *Position {
	if s == nil {
		return nil
	}
	p, ok := s.Lookup(path)
	if !ok {
		return nil
	}
	return &Position{File: p.Filename, Line: p.Line, Column: p.Column}
}
