// Package nexus provisions a Sonatype Nexus Repository through its REST API
// (/service/rest/v1): the blob stores, the docker repositories (hosted, one proxy per
// mirrored upstream, a group), the active security realms, the roles and users that may
// push or pull anonymously. A run is idempotent: it reads each object, creates what is
// missing, corrects what differs from the configuration and leaves the rest untouched, and
// reports what it did. Nexus has no file provisioning of its own; `lsstgen registry
// provision` runs this from a Job beside Nexus.
//
// It imports no other package of lsstgen.
package nexus
