package render

import (
	"cuelang.org/go/cue"
	cueerrors "cuelang.org/go/cue/errors"
)

// checkPrerequisites reports a part of an instance that needs another which is absent: a
// prerelease of an aspect the instance does not run, or forwarding pod logs from a site
// that names no ELK stack. CUE would say only that the templates reference an optional
// field. It tells absent from failing: a part that is written but does not evaluate is
// left to CUE's own errors, which name the real mistake.
func checkPrerequisites(v cue.Value) error {
	var errs cueerrors.Error
	instance := v.LookupPath(cue.ParsePath("instance"))
	aspects := instance.LookupPath(cue.ParsePath("aspects"))
	if pre := instance.LookupPath(cue.ParsePath("development.prerelease.portal")); pre.Exists() &&
		aspects.Err() == nil && !aspects.LookupPath(cue.ParsePath("portal")).Exists() {
		errs = cueerrors.Append(errs, cueerrors.Newf(writtenAt(pre),
			"instance.development.prerelease.portal: a portal prerelease runs beside the instance's portal, and this instance has no aspects.portal: enable the portal, or remove the prerelease"))
	}
	site := instance.LookupPath(cue.MakePath(cue.Def("#site")))
	if forward, err := instance.LookupPath(cue.ParsePath("logging.forward")).Bool(); err == nil && forward &&
		site.Err() == nil && !site.LookupPath(cue.ParsePath("elk")).Exists() {
		// (logging.elk exists wherever forwarding is on: the schema asks for it)
		errs = cueerrors.Append(errs, cueerrors.Newf(writtenAt(instance.LookupPath(cue.ParsePath("logging.elk"))),
			"instance.logging: the instance forwards pod logs, but its site names no ELK stack: give the site an elk (host, cidr) in sites/, or set logging.forward: false"))
	}
	return errs
}
