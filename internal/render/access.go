package render

import (
	"path/filepath"
	"strings"

	"cuelang.org/go/cue"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// checkAdminNamespaces reports every namespace access.admins names that the instance does
// not render: a misspelt or retired name would leave its groups without the access meant
// for them, and nothing else would say so. It runs once the instance evaluates: while any
// part of it does not, the namespaces that part renders are missing for that reason, which
// CUE's own errors give.
func checkAdminNamespaces(v cue.Value) error {
	var rendered map[string]any
	if err := v.LookupPath(cue.ParsePath("namespaces")).Decode(&rendered); err != nil {
		return nil
	}
	admins := v.LookupPath(cue.ParsePath("instance.access.admins"))
	it, err := admins.Fields()
	if err != nil {
		return nil
	}
	var errs cueerrors.Error
	for it.Next() {
		ns := it.Selector().Unquoted()
		if _, ok := rendered[ns]; ok {
			continue
		}
		errs = cueerrors.Append(errs, cueerrors.Newf(writtenAt(it.Value()),
			"instance.access.admins.%s: the instance renders no namespace %s (it renders %s): correct the name, or remove it",
			Label(ns), ns, quoted(keys(rendered))))
	}
	if errs == nil {
		return nil
	}
	return errs
}

// writtenAt is where an instance's file writes a value: the first of its conjuncts, or of
// its list's elements, that a file under instances/ holds; else the value's own position.
func writtenAt(f cue.Value) token.Pos {
	inInstance := func(p token.Pos) bool {
		return p.IsValid() && strings.Contains(filepath.ToSlash(p.Filename()), "/"+manifest.InstancesDir+"/")
	}
	_, conjuncts := f.Expr()
	for _, c := range conjuncts {
		if inInstance(c.Pos()) {
			return c.Pos()
		}
	}
	if list, err := f.List(); err == nil {
		for list.Next() {
			if p := list.Value().Pos(); inInstance(p) {
				return p
			}
		}
	}
	return f.Pos()
}
