// Package gitsource reads a commit of a git repository as an fs.FS: it resolves a revision
// to a commit, keeps a bare clone of a remote repository in a cache folder up to date, and
// gives the files under some paths at a commit, read from git's object store and never from
// a working tree. plan and sync read the repository only through it.
//
// git runs in process (github.com/go-git/go-git/v5), so the daemon's image needs no git
// binary: HTTPS with a token and a custom CA, SSH with a deploy key and known_hosts, and
// file:// remotes. A failure to reach the remote is an *AccessError that says which part
// failed (DNS, TLS, authentication, the repository, the network).
package gitsource
