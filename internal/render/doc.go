// Package render compiles the platform's CUE instances into Kubernetes manifests: it
// evaluates one instance (instances/<name>/ with schema/, platform/ and sites/), takes its
// objects and its model out of it, passes the objects through kustomize in process for the
// cross-cutting transforms (common labels and annotations, the registry rewrite of every
// image, content-hashed ConfigMaps), and writes them, one file per object, to
// generated/<name>/ atomically.
package render
