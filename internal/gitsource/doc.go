// Package gitsource reads a commit of a git repository as an fs.FS: it resolves a revision
// to a commit, keeps a bare clone of a remote repository in a cache folder up to date, and
// gives the files under some paths at a commit, read from git's object store and never from
// a working tree. plan and sync read the repository only through it.
//
// Today it runs the git command; the API leaves room for another transport (go-git, say)
// behind the same methods.
package gitsource
