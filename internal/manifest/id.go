package manifest

import (
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ClusterDir is the folder of generated/<instance>/ that holds cluster-scoped objects
// ("_" cannot start a namespace's name, so it never meets a namespace's folder).
const ClusterDir = "_cluster"

// NodeDir is the folder of generated/<instance>/ that holds files to install on every node
// of the instance (the container runtime's registry mirrors), by their path under /etc.
// They are not Kubernetes objects: kustomization.yaml does not list them, and the readers
// of an instance's objects never open them.
const NodeDir = "_node"

// IsNodeFile says whether rel, a slash-separated path inside generated/<instance>/, is one
// of the node files under NodeDir.
func IsNodeFile(rel string) bool {
	return strings.HasPrefix(rel, NodeDir+"/")
}

// FormatID is Kind/namespace/name, or Kind/name when namespace is empty: how lsstgen
// names an object in messages, logs and findings.
func FormatID(kind, namespace, name string) string {
	if namespace != "" {
		return kind + "/" + namespace + "/" + name
	}
	return kind + "/" + name
}

// ObjectID is the object's Kind/namespace/name, or Kind/name for a cluster-scoped object.
func ObjectID(u *unstructured.Unstructured) string {
	return FormatID(u.GetKind(), u.GetNamespace(), u.GetName())
}

// ObjectPath is where an object's file lives inside generated/<instance>/, slash-separated:
// <namespace>/<kind>-<name>.yaml, or _cluster/<kind>-<name>.yaml for a cluster-scoped
// object.
func ObjectPath(u *unstructured.Unstructured) string {
	dir := u.GetNamespace()
	if dir == "" {
		dir = ClusterDir
	}
	return path.Join(dir, strings.ToLower(u.GetKind())+"-"+u.GetName()+".yaml")
}
