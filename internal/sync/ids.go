package sync

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// objectID returns Kind/namespace/name, or Kind/name for a cluster-scoped object.
func objectID(o *unstructured.Unstructured) string {
	if ns := o.GetNamespace(); ns != "" {
		return o.GetKind() + "/" + ns + "/" + o.GetName()
	}
	return o.GetKind() + "/" + o.GetName()
}
