package validate

import (
	"fmt"
	"sort"
)

// Severity says whether a finding stops a change (Error) or only informs (Warning).
type Severity string

// Severities.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Position is a place in the repository's files: a CUE file, or a manifest file.
type Position struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column,omitempty"`
}

// String is file:line:col, or file:line without a column.
func (p Position) String() string {
	if p.Column > 0 {
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Finding is one rule's verdict on one object of one instance.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Instance string   `json:"instance"`
	// Object is Kind/namespace/name, or Kind/name for a cluster-scoped object; empty when
	// the finding is about the instance as a whole.
	Object  string `json:"object,omitempty"`
	Message string `json:"message"`
	// Pos is the source position that caused the finding, when it can be traced: a line of
	// the instance's CUE files, or of a manifest file the objects were read from.
	Pos *Position `json:"pos,omitempty"`
}

// String is the finding on one line: position, severity, rule, instance, object, message.
func (f Finding) String() string {
	s := ""
	if f.Pos != nil {
		s = f.Pos.String() + ": "
	}
	s += fmt.Sprintf("%s %s [%s]", f.Severity, f.Rule, f.Instance)
	if f.Object != "" {
		s += " " + f.Object
	}
	return s + ": " + f.Message
}

// ErrorCount is the number of findings that are errors.
func ErrorCount(fs []Finding) int {
	n := 0
	for _, f := range fs {
		if f.Severity == Error {
			n++
		}
	}
	return n
}

// sortFindings orders findings by instance, object, rule and message, so output is stable.
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Instance != b.Instance {
			return a.Instance < b.Instance
		}
		if a.Object != b.Object {
			return a.Object < b.Object
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Message < b.Message
	})
}
