package render

import (
	"cuelang.org/go/cue"
	cueerrors "cuelang.org/go/cue/errors"

	"github.com/lsst-dm/lsstgen/internal/model"
)

// checkAdminNamespaces reports every namespace access.admins names that the instance does
// not render: a misspelt or retired name would leave its groups without the access meant
// for them, and nothing else would say so. It runs once the instance evaluates: while any
// part of it does not, the namespaces that part renders are missing for that reason, which
// CUE's own errors give. rendered are the model's namespaces, decoded once.
func checkAdminNamespaces(v cue.Value, rendered map[string]model.Namespace) error {
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
	return errs
}
