package testcluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// Problem is one thing that keeps an applied instance from having converged in a twin.
type Problem struct {
	// ID is the object concerned, Kind/namespace/name.
	ID string
	// Node is the node concerned, if any.
	Node string
	// Reason says what is wrong, quoting the scheduler, a controller or the apiserver.
	Reason string
}

func (p Problem) String() string {
	if p.Node != "" {
		return fmt.Sprintf("%s on node %s: %s", p.ID, p.Node, p.Reason)
	}
	return p.ID + ": " + p.Reason
}

// NotConvergedError is WaitConverged's error: what was still wrong when time ran out.
type NotConvergedError struct {
	Timeout  time.Duration
	Problems []Problem
}

func (e *NotConvergedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "not converged within %s, %d problems:", e.Timeout, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.String())
	}
	return b.String()
}

// WaitConverged calls CheckConvergence every second until it finds nothing wrong, and
// returns a *NotConvergedError with the last problems found when timeout passes first.
func WaitConverged(ctx context.Context, cfg *rest.Config, objs []manifest.Object, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		problems, err := CheckConvergence(ctx, cfg, objs)
		if err != nil {
			return err
		}
		if len(problems) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return &NotConvergedError{Timeout: timeout, Problems: problems}
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), &NotConvergedError{Timeout: timeout, Problems: problems})
		case <-time.After(time.Second):
		}
	}
}

// CheckConvergence looks once at what the controllers, the scheduler and the nodes made of
// objs, an instance as applied, and returns what is not (yet) as it should be, sorted:
//   - a Deployment, StatefulSet or DaemonSet of objs that is not rolled out, with its
//     controller's last FailedCreate event; a DaemonSet that runs on no node;
//   - a pod in the instance's namespaces that is not Running and Ready, with the
//     scheduler's reason when it is unscheduled (its PodScheduled condition and its last
//     FailedScheduling event);
//   - a pod referring to a Secret or ConfigMap (or a key of one) that does not exist,
//     which a kubelet would not start (the twin's nodes run no container, so this is
//     checked here);
//   - a claim in those namespaces not Bound, Bound to another volume than its
//     spec.volumeName in objs, or Bound to a node-local volume on another node than the
//     pod that uses it;
//   - any FailedCreate event in those namespaces saying a pod violates its namespace's Pod
//     Security level, which no retry can mend.
//
// The error is for failures to ask the apiserver.
func CheckConvergence(ctx context.Context, cfg *rest.Config, objs []manifest.Object) ([]Problem, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	s := &convergence{ctx: ctx, cs: cs, claimVolume: map[string]string{}}
	namespaces := map[string]bool{}
	for _, o := range objs {
		if o.GetNamespace() != "" {
			namespaces[o.GetNamespace()] = true
		}
		if o.GetKind() == "Namespace" {
			namespaces[o.GetName()] = true
		}
		if o.GetKind() == "PersistentVolumeClaim" {
			if v, _, _ := unstructured.NestedString(o.Object, "spec", "volumeName"); v != "" {
				s.claimVolume[o.GetNamespace()+"/"+o.GetName()] = v
			}
		}
	}
	if err := s.load(slices.Sorted(maps.Keys(namespaces))); err != nil {
		return nil, err
	}
	for _, o := range objs {
		if err := s.workload(o); err != nil {
			return nil, err
		}
	}
	s.pods()
	s.claims()
	s.podSecurity()
	slices.SortFunc(s.problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Node, b.Node), cmp.Compare(a.Reason, b.Reason))
	})
	return slices.Compact(s.problems), nil
}

// convergence is one look at the cluster.
type convergence struct {
	ctx         context.Context
	cs          kubernetes.Interface
	claimVolume map[string]string // namespace/claim → the volume objs bind it to

	podList   []corev1.Pod
	claimList []corev1.PersistentVolumeClaim
	volumes   map[string]*corev1.PersistentVolume
	secrets   map[string]map[string]bool // namespace/name → keys
	configs   map[string]map[string]bool
	events    []corev1.Event
	rsets     []appsv1.ReplicaSet
	problems  []Problem
}

func (s *convergence) add(id, node, format string, args ...any) {
	s.problems = append(s.problems, Problem{ID: id, Node: node, Reason: fmt.Sprintf(format, args...)})
}

// load lists what the checks read, once.
func (s *convergence) load(namespaces []string) error {
	ctx, list := s.ctx, metav1.ListOptions{}
	s.secrets, s.configs = map[string]map[string]bool{}, map[string]map[string]bool{}
	for _, ns := range namespaces {
		pods, err := s.cs.CoreV1().Pods(ns).List(ctx, list)
		if err != nil {
			return fmt.Errorf("listing pods of %s: %w", ns, err)
		}
		s.podList = append(s.podList, pods.Items...)
		claims, err := s.cs.CoreV1().PersistentVolumeClaims(ns).List(ctx, list)
		if err != nil {
			return fmt.Errorf("listing claims of %s: %w", ns, err)
		}
		s.claimList = append(s.claimList, claims.Items...)
		secrets, err := s.cs.CoreV1().Secrets(ns).List(ctx, list)
		if err != nil {
			return fmt.Errorf("listing Secrets of %s: %w", ns, err)
		}
		for _, x := range secrets.Items {
			keys := map[string]bool{}
			for k := range x.Data {
				keys[k] = true
			}
			for k := range x.StringData {
				keys[k] = true
			}
			s.secrets[ns+"/"+x.Name] = keys
		}
		configs, err := s.cs.CoreV1().ConfigMaps(ns).List(ctx, list)
		if err != nil {
			return fmt.Errorf("listing ConfigMaps of %s: %w", ns, err)
		}
		for _, x := range configs.Items {
			keys := map[string]bool{}
			for k := range x.Data {
				keys[k] = true
			}
			for k := range x.BinaryData {
				keys[k] = true
			}
			s.configs[ns+"/"+x.Name] = keys
		}
		events, err := s.cs.CoreV1().Events(ns).List(ctx, list)
		if err != nil {
			return fmt.Errorf("listing events of %s: %w", ns, err)
		}
		s.events = append(s.events, events.Items...)
		rsets, err := s.cs.AppsV1().ReplicaSets(ns).List(ctx, list)
		if err != nil {
			return fmt.Errorf("listing ReplicaSets of %s: %w", ns, err)
		}
		s.rsets = append(s.rsets, rsets.Items...)
	}
	pvs, err := s.cs.CoreV1().PersistentVolumes().List(ctx, list)
	if err != nil {
		return fmt.Errorf("listing PersistentVolumes: %w", err)
	}
	s.volumes = map[string]*corev1.PersistentVolume{}
	for i := range pvs.Items {
		s.volumes[pvs.Items[i].Name] = &pvs.Items[i]
	}
	return nil
}

// lastEvent returns "Reason: message" of the latest event about kind namespace/name with
// one of reasons, or "".
func (s *convergence) lastEvent(kind, namespace, name string, reasons ...string) string {
	var last *corev1.Event
	for i := range s.events {
		e := &s.events[i]
		o := e.InvolvedObject
		if o.Kind != kind || o.Namespace != namespace || o.Name != name || !slices.Contains(reasons, e.Reason) {
			continue
		}
		if last == nil || eventTime(e).After(eventTime(last)) {
			last = e
		}
	}
	if last == nil {
		return ""
	}
	return last.Reason + ": " + eventMessage(last)
}

// eventMessage is an event's message without the prefix the event recorder adds when it
// folds similar events into one.
func eventMessage(e *corev1.Event) string {
	return strings.TrimPrefix(e.Message, "(combined from similar events): ")
}

func eventTime(e *corev1.Event) time.Time {
	for _, t := range []time.Time{e.LastTimestamp.Time, e.EventTime.Time, e.FirstTimestamp.Time, e.CreationTimestamp.Time} {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// withEvent appends an event to a reason when there is one.
func withEvent(reason, event string) string {
	if event == "" {
		return reason
	}
	return reason + "; last " + event
}

// workload checks that a Deployment, StatefulSet or DaemonSet of objs is rolled out, in the
// sense of `kubectl rollout status`.
func (s *convergence) workload(o manifest.Object) error {
	ns, name, id := o.GetNamespace(), o.GetName(), o.ID()
	apps := s.cs.AppsV1()
	switch o.GetKind() {
	case "Deployment":
		d, err := apps.Deployments(ns).Get(s.ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			s.add(id, "", "does not exist")
			return nil
		} else if err != nil {
			return err
		}
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		st := d.Status
		if st.ObservedGeneration >= d.Generation && st.UpdatedReplicas == want && st.Replicas == want && st.AvailableReplicas == want {
			return nil
		}
		event := ""
		for _, rs := range s.rsets {
			if metav1.IsControlledBy(&rs, d) {
				if e := s.lastEvent("ReplicaSet", ns, rs.Name, "FailedCreate"); e != "" {
					event = "ReplicaSet/" + ns + "/" + rs.Name + " " + e
				}
			}
		}
		for _, c := range st.Conditions {
			if c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue && event == "" {
				event = "ReplicaFailure: " + c.Message
			}
		}
		s.add(id, "", "%s", withEvent(fmt.Sprintf("not rolled out: %d of %d replicas updated, %d available", st.UpdatedReplicas, want, st.AvailableReplicas), event))
	case "StatefulSet":
		ss, err := apps.StatefulSets(ns).Get(s.ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			s.add(id, "", "does not exist")
			return nil
		} else if err != nil {
			return err
		}
		want := int32(1)
		if ss.Spec.Replicas != nil {
			want = *ss.Spec.Replicas
		}
		st := ss.Status
		rolling := ss.Spec.UpdateStrategy.Type != appsv1.OnDeleteStatefulSetStrategyType
		if st.ObservedGeneration >= ss.Generation && st.ReadyReplicas == want && st.AvailableReplicas == want &&
			(!rolling || (st.UpdatedReplicas == want && st.CurrentRevision == st.UpdateRevision)) {
			return nil
		}
		s.add(id, "", "%s", withEvent(fmt.Sprintf("not rolled out: %d of %d replicas ready, %d updated", st.ReadyReplicas, want, st.UpdatedReplicas),
			s.lastEvent("StatefulSet", ns, name, "FailedCreate")))
	case "DaemonSet":
		ds, err := apps.DaemonSets(ns).Get(s.ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			s.add(id, "", "does not exist")
			return nil
		} else if err != nil {
			return err
		}
		st := ds.Status
		if st.ObservedGeneration < ds.Generation {
			s.add(id, "", "not yet seen by its controller")
			return nil
		}
		if st.DesiredNumberScheduled == 0 {
			s.add(id, "", "runs on no node: no node matches its node selection and tolerations")
			return nil
		}
		if st.UpdatedNumberScheduled == st.DesiredNumberScheduled && st.NumberAvailable == st.DesiredNumberScheduled && st.NumberMisscheduled == 0 {
			return nil
		}
		s.add(id, "", "%s", withEvent(fmt.Sprintf("not rolled out: %d of %d pods updated, %d available, %d on nodes they should not be on",
			st.UpdatedNumberScheduled, st.DesiredNumberScheduled, st.NumberAvailable, st.NumberMisscheduled),
			s.lastEvent("DaemonSet", ns, name, "FailedCreate", "FailedPlacement")))
	}
	return nil
}

// pods checks every pod runs, and that what it refers to exists.
func (s *convergence) pods() {
	for i := range s.podList {
		p := &s.podList[i]
		id := "Pod/" + p.Namespace + "/" + p.Name
		node := p.Spec.NodeName
		if p.DeletionTimestamp != nil {
			s.add(id, node, "is being deleted")
			continue
		}
		switch {
		case node == "":
			reason := "Pending, not scheduled"
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue && c.Message != "" {
					reason += ": " + c.Message
				}
			}
			s.add(id, "", "%s", withEvent(reason, s.lastEvent("Pod", p.Namespace, p.Name, "FailedScheduling")))
		case p.Status.Phase == corev1.PodSucceeded:
			// a finished Job's pod
		case p.Status.Phase != corev1.PodRunning:
			s.add(id, node, "%s on its node", cmp.Or(string(p.Status.Phase), "no phase"))
		case !podReady(p):
			s.add(id, node, "Running but not Ready")
		}
		s.references(id, p)
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// references reports every Secret and ConfigMap, or key of one, that pod p needs and that
// does not exist: a kubelet would not start its containers.
func (s *convergence) references(id string, p *corev1.Pod) {
	ns, node := p.Namespace, p.Spec.NodeName
	need := func(kind, name, key string, optional *bool) {
		if optional != nil && *optional {
			return
		}
		have := s.secrets
		if kind == "ConfigMap" {
			have = s.configs
		}
		keys, ok := have[ns+"/"+name]
		switch {
		case !ok:
			s.add(id, node, "refers to %s/%s/%s, which does not exist: a kubelet would not start it", kind, ns, name)
		case key != "" && !keys[key]:
			s.add(id, node, "refers to key %q of %s/%s/%s, which it does not have: a kubelet would not start it", key, kind, ns, name)
		}
	}
	for _, v := range p.Spec.Volumes {
		if v.Secret != nil {
			need("Secret", v.Secret.SecretName, "", v.Secret.Optional)
			for _, k := range v.Secret.Items {
				need("Secret", v.Secret.SecretName, k.Key, v.Secret.Optional)
			}
		}
		if v.ConfigMap != nil {
			need("ConfigMap", v.ConfigMap.Name, "", v.ConfigMap.Optional)
			for _, k := range v.ConfigMap.Items {
				need("ConfigMap", v.ConfigMap.Name, k.Key, v.ConfigMap.Optional)
			}
		}
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if src.Secret != nil {
					need("Secret", src.Secret.Name, "", src.Secret.Optional)
					for _, k := range src.Secret.Items {
						need("Secret", src.Secret.Name, k.Key, src.Secret.Optional)
					}
				}
				if src.ConfigMap != nil {
					need("ConfigMap", src.ConfigMap.Name, "", src.ConfigMap.Optional)
					for _, k := range src.ConfigMap.Items {
						need("ConfigMap", src.ConfigMap.Name, k.Key, src.ConfigMap.Optional)
					}
				}
			}
		}
	}
	for _, c := range slices.Concat(p.Spec.InitContainers, p.Spec.Containers) {
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				need("Secret", e.SecretRef.Name, "", e.SecretRef.Optional)
			}
			if e.ConfigMapRef != nil {
				need("ConfigMap", e.ConfigMapRef.Name, "", e.ConfigMapRef.Optional)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				need("Secret", r.Name, r.Key, r.Optional)
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				need("ConfigMap", r.Name, r.Key, r.Optional)
			}
		}
	}
}

// claims checks every claim is Bound to the volume intended for it.
func (s *convergence) claims() {
	users := map[string][]*corev1.Pod{} // namespace/claim → pods using it
	for i := range s.podList {
		p := &s.podList[i]
		for _, v := range p.Spec.Volumes {
			if v.PersistentVolumeClaim != nil {
				k := p.Namespace + "/" + v.PersistentVolumeClaim.ClaimName
				users[k] = append(users[k], p)
			}
		}
	}
	for _, c := range s.claimList {
		id := "PersistentVolumeClaim/" + c.Namespace + "/" + c.Name
		key := c.Namespace + "/" + c.Name
		if c.Status.Phase != corev1.ClaimBound {
			s.add(id, "", "%s", withEvent(fmt.Sprintf("%s, not Bound", cmp.Or(string(c.Status.Phase), "no phase")),
				s.lastEvent("PersistentVolumeClaim", c.Namespace, c.Name, "ProvisioningFailed", "FailedBinding", "WaitForFirstConsumer", "WaitForPodScheduled")))
			continue
		}
		if want := s.claimVolume[key]; want != "" && c.Spec.VolumeName != want {
			s.add(id, "", "Bound to PersistentVolume/%s, but the instance binds it to PersistentVolume/%s", c.Spec.VolumeName, want)
		}
		pv := s.volumes[c.Spec.VolumeName]
		if pv == nil {
			s.add(id, "", "Bound to PersistentVolume/%s, which does not exist", c.Spec.VolumeName)
			continue
		}
		hosts := volumeHosts(pv)
		if hosts == nil {
			continue
		}
		for _, p := range users[key] {
			if p.Spec.NodeName != "" && !slices.Contains(hosts, p.Spec.NodeName) {
				s.add(id, p.Spec.NodeName, "Bound to PersistentVolume/%s, local to %s, but used by Pod/%s/%s on another node",
					pv.Name, strings.Join(hosts, ", "), p.Namespace, p.Name)
			}
		}
	}
}

// volumeHosts returns the hostnames a node-local volume is pinned to by its required node
// affinity on kubernetes.io/hostname, or nil for a volume reachable from any node.
func volumeHosts(pv *corev1.PersistentVolume) []string {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return nil
	}
	var hosts []string
	for _, term := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		for _, e := range term.MatchExpressions {
			if e.Key == corev1.LabelHostname && e.Operator == corev1.NodeSelectorOpIn {
				hosts = append(hosts, e.Values...)
			}
		}
	}
	return hosts
}

// IsPodSecurityRejection reports whether an event or error message says Pod Security
// admission refused a pod.
func IsPodSecurityRejection(msg string) bool {
	return strings.Contains(msg, "violates PodSecurity")
}

// podSecurity reports every controller that could not create a pod because it violates
// its namespace's Pod Security level, with its latest such event.
func (s *convergence) podSecurity() {
	latest := map[corev1.ObjectReference]*corev1.Event{}
	for i := range s.events {
		e := &s.events[i]
		if e.Reason != "FailedCreate" || !IsPodSecurityRejection(e.Message) {
			continue
		}
		o := e.InvolvedObject
		key := corev1.ObjectReference{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
		if l := latest[key]; l == nil || eventTime(e).After(eventTime(l)) {
			latest[key] = e
		}
	}
	for o, e := range latest {
		s.add(o.Kind+"/"+o.Namespace+"/"+o.Name, "", "FailedCreate: %s", eventMessage(e))
	}
}
