// Package manifest is the vocabulary every other package of lsstgen speaks about rendered
// objects and the repository that holds them: an object's id (Kind/namespace/name) and its
// file in generated/<instance>/, the labels and annotations lsstgen writes and reads, the
// repository root and its well-known folders, decoding YAML or JSON manifests into objects
// (a key written twice is refused, with the file and line), reading an instance folder
// from any fs.FS (the working tree, a git commit, an archive), and the field diff of two
// versions of an object with Secrets masked.
//
// It imports no other package of lsstgen.
package manifest
