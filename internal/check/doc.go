// Package check compares a fresh in-memory render of the instances with the manifests
// committed under generated/, and reports every file that is missing, extra or changed.
package check
