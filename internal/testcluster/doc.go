// Package testcluster starts a real etcd and kube-apiserver, built by tools/kube/build.sh,
// for tests and for `lsstgen-dev cluster`. Its own tests apply the generated manifests to
// it (dry run, RBAC, self-hosting).
//
// The control plane runs on free loopback ports in a temporary directory, with RBAC
// authorization and the apiserver's default admission plugins (Pod Security included). A
// test starts one with Start(t), or shares one per package through Shared in TestMain; both
// stop everything they started when the test ends, fails or panics, and skip the test with
// a clear message when the binaries have not been built, unless LSSTGEN_REQUIRE_CLUSTER=1.
//
// A twin (NewTwin, StartTwin) adds kube-scheduler, kube-controller-manager and KWOK (built
// by tools/kwok/build.sh), and nodes given as NodeSpecs, for an instance from its model by
// NodesFromModel: workloads are scheduled, their pods created (and admitted or refused by
// Pod Security), claims bound and pods marked Running, but no container runs, no probe is
// executed and there is no pod network. Bootstrap applies an instance as an operator
// would; CheckConvergence and WaitConverged say what has not converged, and why.
package testcluster
