// Package privilege computes, from rendered RBAC objects and pod templates, what each
// subject (User, Group, ServiceAccount) can reach in a Kubernetes 1.37 cluster, and the
// shortest path that gets it there.
//
// # Input
//
// Analyze takes Objects — typed API objects (rbacv1, corev1, appsv1, batchv1) that Collect
// builds from typed or unstructured objects — and a World: what the objects do not say
// about the cluster. The World holds the built-in ClusterRoles the objects may refer to
// (DefaultWorld: cluster-admin, admin, edit, view and the system:aggregate-to-* roles, as
// kube-apiserver v1.37.2 bootstraps them, in builtin_clusterroles.yaml), the break-glass
// groups, the node pools (labels and taints), the namespaces every cluster has
// (default, kube-system, …) and the Pod Security level of unlabelled namespaces.
//
// # Model
//
// A subject's reach is the fixpoint of the edges in edges.go, each documented with the
// Kubernetes fact it rests on. Starting from "acts as S", bindings give RBAC permissions;
// permissions give further powers: run pods in a namespace (and with them use its
// ServiceAccounts and mount its Secrets), exec into running pods, read Secrets (and the
// ServiceAccount tokens among them), request tokens, bind or escalate roles, impersonate,
// reach the kubelet; and a pod with host access gives root on the nodes it lands on.
// Each round of the fixpoint derives only from facts of earlier rounds, and a step follows
// the premise reached last (the others are listed beside it), so every power is explained
// by a path as short as its derivation is deep.
//
// A namespace's Pod Security level is its enforce label (the World's default when
// unlabelled); who may update the namespace may relabel it, and a request for namespace N
// carries namespace N, so a RoleBinding in N that grants update on namespaces, or "*",
// is enough. A ServiceAccount token Secret among the objects gives its ServiceAccount to
// whoever reads it; token Secrets made out of band are not seen.
//
// What counts as cluster-admin's power (a Power of kind KindClusterAdmin):
//   - every verb on every resource of every group, cluster-wide;
//   - membership of system:masters (it bypasses authorization), also by impersonation;
//   - impersonating any user or any group without a resourceNames restriction;
//   - binding cluster-admin (or any role holding "*" on "*") with a ClusterRoleBinding,
//     or escalating a ClusterRole that a ClusterRoleBinding binds to the subject;
//   - root on a general node (see below), or on any node while able to change node taints;
//   - writing mutating admission webhooks or policies; issuing client certificates
//     through the kube-apiserver-client signer.
//
// # Node root and its scope
//
// A pod that fails one of Pod Security baseline's host-isolation checks (privileged
// containers, host namespaces, hostPath volumes, added capabilities, Windows host
// process; the checks of k8s.io/pod-security-admission) is root on its node. Who creates
// such a pod chooses spec.nodeName, which bypasses the scheduler and its taints, so a
// subject who may run privileged pods is root on every node pool. Who execs into an
// existing privileged pod is root only where that pod's template may be scheduled: the
// pools whose labels match its nodeSelector and required node affinity and whose taints it
// tolerates.
//
// Root on a node gives the kubelet's credentials. The Node authorizer lets them request a
// token for the ServiceAccount, and read the Secrets, of any pod bound to that node; a
// node may relabel itself (NodeRestriction forbids only node-restriction.kubernetes.io/
// and unknown kubernetes.io labels) but not change its taints. So root on a pool reaches
// the ServiceAccounts and Secrets of every pod template that tolerates the pool's
// NoSchedule and NoExecute taints and whose restricted-label requirements the pool meets.
// A pool without such taints is general: any pod may be placed there, including the
// cluster's own DaemonSets (CNI, kube-proxy) that the objects do not describe, so root on
// a general pool counts as cluster-admin. With no pools in the World, all nodes form one
// general pool, AllNodes.
//
// # What is not modelled
//
// Bootstrap bindings of the apiserver (they bind system: identities and give every
// authenticated user discovery and self-reviews only); non-resource URLs; admission
// policies other than Pod Security (a ValidatingAdmissionPolicy that forbids a pod is not
// seen); Pod Security exemptions; custom resources' scope (an unknown resource counts as
// namespaced); the controllers a custom resource drives. Creating or updating a role or
// binding without escalate or bind gains nothing (the apiserver asks for the permissions
// it grants), so it is not followed.
//
// Which pod host access counts as root is the conservative reading of baseline: a
// read-only or narrow hostPath volume counts like any other.
package privilege
