package validate

import (
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// object is one rendered object with its identity and, when it decodes, its typed form.
type object struct {
	u                  *unstructured.Unstructured
	kind, ns, name, id string
	typed              runtime.Object
	decodeErr          error    // a non-strict decoding error: the object has no typed form
	strictErrs         []string // unknown or duplicate fields; the typed form still exists
	missing            []string // required fields that are absent
}

type key struct{ kind, ns, name string }

// pod is one pod template of a workload: how many replicas it runs and its spec.
type pod struct {
	obj  *object
	meta *metav1.ObjectMeta
	spec *corev1.PodSpec
	// replicas is the number of pods; a DaemonSet's is decided by placement.
	replicas int
	daemon   bool
	claims   []corev1.PersistentVolumeClaim // a StatefulSet's volumeClaimTemplates
}

// index holds an instance's objects, indexed once by kind, namespace and name, and its pod
// templates indexed by namespace and label, so that every reference check is a lookup.
type index struct {
	all        []*object
	byKey      map[key]*object
	byKind     map[string][]*object
	namespaces map[string]bool
	pods       []*pod
	// podsByLabel maps namespace + "\x00" + key=value to the pods whose labels hold it.
	podsByLabel map[string][]*pod
	podsByNS    map[string][]*pod
}

func buildIndex(objs []*unstructured.Unstructured) *index {
	idx := &index{
		byKey:       make(map[key]*object, len(objs)),
		byKind:      map[string][]*object{},
		namespaces:  map[string]bool{},
		podsByLabel: map[string][]*pod{},
		podsByNS:    map[string][]*pod{},
	}
	for _, u := range objs {
		if u == nil {
			continue
		}
		o := &object{u: u, kind: u.GetKind(), ns: u.GetNamespace(), name: u.GetName(), id: manifest.ObjectID(u)}
		decode(o)
		idx.all = append(idx.all, o)
		idx.byKey[key{o.kind, o.ns, o.name}] = o
		idx.byKind[o.kind] = append(idx.byKind[o.kind], o)
		if o.kind == "Namespace" {
			idx.namespaces[o.name] = true
		}
		if p := podOf(o); p != nil {
			idx.pods = append(idx.pods, p)
			idx.podsByNS[o.ns] = append(idx.podsByNS[o.ns], p)
			for k, v := range p.meta.Labels {
				lk := o.ns + "\x00" + k + "=" + v
				idx.podsByLabel[lk] = append(idx.podsByLabel[lk], p)
			}
		}
	}
	return idx
}

// get finds an object by kind, namespace and name.
func (x *index) get(kind, ns, name string) *object { return x.byKey[key{kind, ns, name}] }

// selectPods returns the pods of namespace ns whose labels hold every pair of sel.
func (x *index) selectPods(ns string, sel map[string]string) []*pod {
	if len(sel) == 0 {
		return nil
	}
	// Start from the rarest pair's candidates.
	var cands []*pod
	first := true
	for k, v := range sel {
		c := x.podsByLabel[ns+"\x00"+k+"="+v]
		if first || len(c) < len(cands) {
			cands, first = c, false
		}
	}
	var out []*pod
	for _, p := range cands {
		if labelsMatch(sel, p.meta.Labels) {
			out = append(out, p)
		}
	}
	return out
}

func labelsMatch(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// podOf gives the pod template of a workload, from its typed form.
func podOf(o *object) *pod {
	switch t := o.typed.(type) {
	case *corev1.Pod:
		return &pod{obj: o, meta: &t.ObjectMeta, spec: &t.Spec, replicas: 1}
	case *appsv1.Deployment:
		return &pod{obj: o, meta: &t.Spec.Template.ObjectMeta, spec: &t.Spec.Template.Spec, replicas: replicas(t.Spec.Replicas)}
	case *appsv1.StatefulSet:
		return &pod{obj: o, meta: &t.Spec.Template.ObjectMeta, spec: &t.Spec.Template.Spec, replicas: replicas(t.Spec.Replicas), claims: t.Spec.VolumeClaimTemplates}
	case *appsv1.ReplicaSet:
		return &pod{obj: o, meta: &t.Spec.Template.ObjectMeta, spec: &t.Spec.Template.Spec, replicas: replicas(t.Spec.Replicas)}
	case *appsv1.DaemonSet:
		return &pod{obj: o, meta: &t.Spec.Template.ObjectMeta, spec: &t.Spec.Template.Spec, daemon: true}
	case *batchv1.Job:
		n := 1
		if t.Spec.Parallelism != nil {
			n = int(*t.Spec.Parallelism)
		}
		return &pod{obj: o, meta: &t.Spec.Template.ObjectMeta, spec: &t.Spec.Template.Spec, replicas: n}
	case *batchv1.CronJob:
		return &pod{obj: o, meta: &t.Spec.JobTemplate.Spec.Template.ObjectMeta, spec: &t.Spec.JobTemplate.Spec.Template.Spec, replicas: 1}
	}
	return nil
}

// replicas is a workload's replica count; Kubernetes defaults a missing one to 1.
func replicas(r *int32) int {
	if r == nil {
		return 1
	}
	if *r < 0 {
		return 0
	}
	return int(*r)
}

// containers lists a pod's init and regular containers.
func containers(spec *corev1.PodSpec) []*corev1.Container {
	out := make([]*corev1.Container, 0, len(spec.InitContainers)+len(spec.Containers))
	for i := range spec.InitContainers {
		out = append(out, &spec.InitContainers[i])
	}
	for i := range spec.Containers {
		out = append(out, &spec.Containers[i])
	}
	return out
}

// builtinNamespaces exist in every cluster.
var builtinNamespaces = map[string]bool{"default": true, "kube-system": true, "kube-public": true, "kube-node-lease": true}

// namespaceExists: a Namespace of the instance, or a built-in one.
func (x *index) namespaceExists(ns string) bool { return x.namespaces[ns] || builtinNamespaces[ns] }

// sortedNamespaces lists the instance's Namespace objects' names.
func (x *index) sortedNamespaces() []string {
	out := make([]string, 0, len(x.namespaces))
	for n := range x.namespaces {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// byNamespaceKind are the objects of one kind in namespace ns, in the order they were read.
func (x *index) byNamespaceKind(ns, kind string) []*object {
	var out []*object
	for _, o := range x.byKind[kind] {
		if o.ns == ns {
			out = append(out, o)
		}
	}
	return out
}
