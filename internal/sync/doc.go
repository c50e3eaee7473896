// Package sync applies an instance's committed manifests (generated/<instance>/ at a git
// commit) to a cluster with server-side apply, keeps an inventory of what it applied in the
// cluster, and prunes what left git.
package sync
