package testcluster

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// ApplyOptions configure Apply.
type ApplyOptions struct {
	// DryRun applies everything but CustomResourceDefinitions and Namespaces with
	// dryRun=All. Those two are applied for real, since nothing else can be checked
	// without them: a custom resource needs its definition served and a namespaced
	// object its namespace.
	DryRun bool
	// FieldManager is the server-side apply field manager.
	FieldManager string
	// FailOnWarning, when not nil, turns an apiserver warning it accepts into a rejection
	// (for example Pod Security's "would violate PodSecurity" on a Deployment).
	FailOnWarning func(warning string) bool
}

// Rejection is an object the apiserver refused, or accepted with a warning that
// ApplyOptions.FailOnWarning marks.
type Rejection struct {
	File, ID string
	// Message quotes the apiserver.
	Message string
}

func (r Rejection) String() string {
	return fmt.Sprintf("%s: %s: %s", r.File, r.ID, r.Message)
}

// Stage returns the apply stage of a kind: 0 CustomResourceDefinitions and Namespaces,
// 1 cluster-scoped RBAC, classes and PersistentVolumes, 3 admission webhooks and
// APIServices (last, so they cannot intercept the rest), 2 everything else.
func Stage(kind string) int {
	switch kind {
	case "CustomResourceDefinition", "Namespace":
		return 0
	case "ClusterRole", "ClusterRoleBinding", "StorageClass", "IngressClass", "PriorityClass",
		"RuntimeClass", "PersistentVolume", "VolumeAttributesClass", "DeviceClass":
		return 1
	case "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
		"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
		"MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding", "APIService":
		return 3
	}
	return 2
}

// kindRank orders kinds within a stage the way installers do, so that an object comes
// after the ones it refers to.
var kindRank = []string{
	"CustomResourceDefinition", "Namespace",
	"PriorityClass", "StorageClass", "IngressClass", "RuntimeClass", "PersistentVolume",
	"ClusterRole", "ClusterRoleBinding",
	"ResourceQuota", "LimitRange", "NetworkPolicy", "ServiceAccount", "Secret", "ConfigMap",
	"Role", "RoleBinding", "PersistentVolumeClaim", "Service",
	"DaemonSet", "Pod", "ReplicaSet", "Deployment", "StatefulSet", "Job", "CronJob",
	"HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress",
}

func rank(kind string) int {
	if i := slices.Index(kindRank, kind); i >= 0 {
		return i
	}
	return len(kindRank)
}

// Order returns objs sorted into apply order: by Stage, then by kind, then as given.
func Order(objs []manifest.Object) []manifest.Object {
	out := slices.Clone(objs)
	slices.SortStableFunc(out, func(a, b manifest.Object) int {
		if d := Stage(a.GetKind()) - Stage(b.GetKind()); d != 0 {
			return d
		}
		return rank(a.GetKind()) - rank(b.GetKind())
	})
	return out
}

// Apply server-side applies objs to the apiserver of cfg in apply order (see Order), with
// strict field validation, and returns every object the apiserver refused, quoting it.
// The error is for failures that are not an object's fault (no connection, discovery).
func Apply(ctx context.Context, cfg *rest.Config, objs []manifest.Object, opts ApplyOptions) ([]Rejection, error) {
	a, err := newApplier(cfg, opts)
	if err != nil {
		return nil, err
	}
	var rejected []Rejection
	ordered := Order(objs)
	for i, o := range ordered {
		if i > 0 && Stage(ordered[i-1].GetKind()) == 0 && Stage(o.GetKind()) > 0 {
			if err := a.afterDefinitions(ctx, ordered[:i]); err != nil {
				return rejected, err
			}
		}
		dryRun := opts.DryRun && Stage(o.GetKind()) > 0
		if msg := a.apply(ctx, o, dryRun); msg != "" {
			rejected = append(rejected, Rejection{File: o.File, ID: o.ID(), Message: msg})
		}
	}
	return rejected, nil
}

type applier struct {
	opts     ApplyOptions
	dyn      dynamic.Interface
	mapper   *restmapper.DeferredDiscoveryRESTMapper
	warnings *warningRecorder
}

func newApplier(cfg *rest.Config, opts ApplyOptions) (*applier, error) {
	if opts.FieldManager == "" {
		return nil, fmt.Errorf("apply: no field manager")
	}
	cfg = rest.CopyConfig(cfg)
	w := &warningRecorder{}
	cfg.WarningHandlerWithContext = w
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	return &applier{opts: opts, dyn: dyn, mapper: mapper, warnings: w}, nil
}

// apply applies one object and returns the reason it was rejected, or "".
func (a *applier) apply(ctx context.Context, o manifest.Object, dryRun bool) string {
	gvk := o.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		a.mapper.Reset()
		m, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return fmt.Sprintf("the apiserver serves no %s: %v", gvk, err)
	}
	var ri dynamic.ResourceInterface = a.dyn.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if o.GetNamespace() == "" {
			return "namespaced object without metadata.namespace"
		}
		ri = a.dyn.Resource(m.Resource).Namespace(o.GetNamespace())
	} else if o.GetNamespace() != "" {
		return fmt.Sprintf("cluster-scoped object with metadata.namespace %q", o.GetNamespace())
	}
	data, err := json.Marshal(o.Object)
	if err != nil {
		return err.Error()
	}
	force := true
	po := metav1.PatchOptions{
		FieldManager:    a.opts.FieldManager,
		Force:           &force,
		FieldValidation: metav1.FieldValidationStrict,
	}
	if dryRun {
		po.DryRun = []string{metav1.DryRunAll}
	}
	a.warnings.reset()
	if _, err := ri.Patch(ctx, o.GetName(), types.ApplyPatchType, data, po); err != nil {
		return err.Error()
	}
	if a.opts.FailOnWarning != nil {
		var bad []string
		for _, w := range a.warnings.take() {
			if a.opts.FailOnWarning(w) {
				bad = append(bad, w)
			}
		}
		if len(bad) > 0 {
			return "accepted with warnings: " + strings.Join(bad, "; ")
		}
	}
	return ""
}

// afterDefinitions waits until the CustomResourceDefinitions among objs are established and
// makes the mapper see them.
func (a *applier) afterDefinitions(ctx context.Context, objs []manifest.Object) error {
	crds := a.dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	for _, o := range objs {
		if o.GetKind() != "CustomResourceDefinition" {
			continue
		}
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			got, err := crds.Get(ctx, o.GetName(), metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, nil // rejected, and reported; so will its custom resources be
			}
			if err != nil {
				return false, err
			}
			return established(got), nil
		})
		if err != nil {
			return fmt.Errorf("%s: %s not established: %w", o.File, o.ID(), err)
		}
	}
	a.mapper.Reset()
	return nil
}

func established(crd *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// warningRecorder keeps the warnings of the request in flight.
type warningRecorder struct {
	mu sync.Mutex
	w  []string
}

func (r *warningRecorder) HandleWarningHeaderWithContext(_ context.Context, _ int, _ string, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.w = append(r.w, text)
}

func (r *warningRecorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.w = nil
}

func (r *warningRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.w
	r.w = nil
	return w
}
