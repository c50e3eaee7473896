// Package testcluster starts a real etcd and kube-apiserver, built by tools/kube/build.sh,
// for tests and for `lsstgen-dev cluster`. Its own tests apply the generated manifests to
// it (dry run, RBAC, self-hosting).
//
// The control plane runs on free loopback ports in a temporary directory, with RBAC
// authorization and the apiserver's default admission plugins (Pod Security included). A
// test starts one with Start(t), or shares one per package through Shared in TestMain; both
// stop everything they started when the test ends, fails or panics, and skip the test with
// a clear message when the binaries have not been built, unless LSSTGEN_REQUIRE_CLUSTER=1.
package testcluster
