package testcluster

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/lsst-dm/lsstgen/internal/model"
)

// checkDevelopmentSpaces works in each development space of the instance as one of its
// admins would, with kubectl: a Deployment that sets no resources and mounts /datasets
// runs (the LimitRange gives it requests the quota accepts) on nodes no role dedicates;
// what the space forbids is refused by the apiserver — a privileged pod (Pod Security), a
// claim and a node port (the quota), a pod above the quota, /datasets written (the
// admission policy), reading the platform's namespaces (RBAC). It removes what it made,
// so that the capacity checks after it see the nodes as the instance leaves them.
func checkDevelopmentSpaces(t *testing.T, tw *Twin, m model.Model) {
	spaces := slices.Sorted(func(yield func(string) bool) {
		for name, n := range m.Namespaces {
			if n.Aspect == "development" && !yield(name) {
				return
			}
		}
	})
	if len(spaces) > 0 {
		defer t.Run("at quota with the notebook's users", func(t *testing.T) {
			checkSpacesAtQuotaWithUsers(t, tw, m, spaces)
		})
	}
	for _, ns := range spaces {
		t.Run(ns, func(t *testing.T) {
			admins := m.Namespaces[ns].Admins
			cs := kubernetes.NewForConfigOrDie(tw.As("developer-of-"+ns, admins[0]))
			ctx := t.Context()
			image := m.Instance.Registry.Host + "/lsst-dm/dev-probe:0.1.0"

			d := devDeployment(ns, image, false)
			if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
				t.Fatalf("the space's admin cannot deploy in %s: %v", ns, err)
			}
			t.Cleanup(func() { removeDevDeployment(t, tw, ns, d.Name) })
			pods := waitDevPods(ctx, t, tw, ns, int(*d.Spec.Replicas))
			for _, p := range pods {
				role := m.Instance.Nodes[p.Spec.NodeName].Role
				if m.Roles[role].DedicatedTo != "" {
					t.Errorf("pod %s/%s runs on %s, a node of role %s dedicated to %s", ns, p.Name, p.Spec.NodeName, role, m.Roles[role].DedicatedTo)
				}
				if r := p.Spec.Containers[0].Resources.Requests; r.Cpu().IsZero() || r.Memory().IsZero() {
					t.Errorf("pod %s/%s got no default requests from the space's LimitRange: %v", ns, p.Name, r)
				}
			}

			refused := func(what string, err error, want func(error) bool, text string) {
				t.Helper()
				switch {
				case err == nil:
					t.Errorf("%s in %s was accepted", what, ns)
				case !want(err) || !strings.Contains(err.Error(), text):
					t.Errorf("%s in %s was refused for another reason than %q: %v", what, ns, text, err)
				}
			}
			_, err := cs.CoreV1().Pods(ns).Create(ctx, devPod(ns, image, func(p *corev1.Pod) {
				p.Spec.Containers[0].SecurityContext.Privileged = ptr.To(true)
				p.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
			}), metav1.CreateOptions{})
			refused("a privileged pod", err, apierrors.IsForbidden, "violates PodSecurity")

			_, err = cs.CoreV1().Pods(ns).Create(ctx, devPod(ns, image, func(p *corev1.Pod) {
				big := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1000")}
				p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: big, Limits: big}
			}), metav1.CreateOptions{})
			refused("a pod above the quota", err, apierrors.IsForbidden, "maximum cpu usage")

			_, err = cs.AppsV1().Deployments(ns).Create(ctx, devDeployment(ns, image, true), metav1.CreateOptions{})
			refused("a Deployment writing /datasets", err, apierrors.IsForbidden, "LSST-NOTES-002")

			_, err = cs.CoreV1().PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{
				ObjectMeta: metav1.ObjectMeta{Name: "scratch"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					StorageClassName: ptr.To("local-disk"),
					Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
				},
			}, metav1.CreateOptions{})
			refused("a claim", err, apierrors.IsForbidden, "exceeded quota")

			_, err = cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Name: "exposed"},
				Spec: corev1.ServiceSpec{
					Type:     corev1.ServiceTypeNodePort,
					Selector: map[string]string{"app": "dev-probe"},
					Ports:    []corev1.ServicePort{{Port: 8080}},
				},
			}, metav1.CreateOptions{})
			refused("a NodePort Service", err, apierrors.IsForbidden, "exceeded quota")

			// Every namespace but the space and those the model makes its group admin of.
			for _, other := range slices.Sorted(maps.Keys(m.Namespaces)) {
				if other == ns || slices.Contains(m.Namespaces[other].Admins, admins[0]) {
					continue
				}
				_, err = cs.CoreV1().Pods(other).List(ctx, metav1.ListOptions{})
				refused("listing the pods of "+other, err, apierrors.IsForbidden, "cannot list")
			}
		})
	}
}

// checkSpacesAtQuotaWithUsers: every development space filled to its quota's requests
// and the notebook's users at maxUsers schedule together, as LSST-CAP-007 holds that they
// fit what the nodes no role dedicates spare once the platform is placed. Each space gets
// a Deployment of devFillPods pods, each asking a devFillPods-th of the quota. What it made
// is deleted again.
func checkSpacesAtQuotaWithUsers(t *testing.T, tw *Twin, m model.Model, spaces []string) {
	ctx := t.Context()
	cfg := tw.Admin()
	cfg.QPS, cfg.Burst = 200, 400
	admin := kubernetes.NewForConfigOrDie(cfg)
	image := m.Instance.Registry.Host + "/lsst-dm/dev-probe:0.1.0"
	for _, ns := range spaces {
		q, err := admin.CoreV1().ResourceQuotas(ns).Get(ctx, "development", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		share := func(name corev1.ResourceName) resource.Quantity {
			v := q.Spec.Hard[name]
			if name == corev1.ResourceLimitsCPU || name == corev1.ResourceRequestsCPU {
				return *resource.NewMilliQuantity(v.MilliValue()/devFillPods, resource.DecimalSI)
			}
			return *resource.NewQuantity(v.Value()/devFillPods, resource.BinarySI)
		}
		d := devDeployment(ns, image, false)
		d.Name = "quota-fill"
		d.Spec.Selector.MatchLabels = map[string]string{"app": "quota-fill"}
		d.Spec.Template.Labels = map[string]string{"app": "quota-fill"}
		d.Spec.Replicas = ptr.To[int32](devFillPods)
		d.Spec.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{
			Requests: corev1.ResourceList{
				corev1.ResourceCPU:              share(corev1.ResourceRequestsCPU),
				corev1.ResourceMemory:           share(corev1.ResourceRequestsMemory),
				corev1.ResourceEphemeralStorage: share(corev1.ResourceRequestsEphemeralStorage),
			},
			Limits: corev1.ResourceList{
				corev1.ResourceCPU:              share(corev1.ResourceLimitsCPU),
				corev1.ResourceMemory:           share(corev1.ResourceLimitsMemory),
				corev1.ResourceEphemeralStorage: share(corev1.ResourceLimitsEphemeralStorage),
			},
		}
		cs := kubernetes.NewForConfigOrDie(tw.As("developer-of-"+ns, m.Namespaces[ns].Admins[0]))
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatalf("filling %s to its quota: %v", ns, err)
		}
		t.Cleanup(func() { removeDevDeployment(t, tw, ns, d.Name) })
		waitDevPods(ctx, t, tw, ns, devFillPods)
	}
	nb := m.Instance.Aspects.Notebook
	if nb == nil {
		return
	}
	t.Cleanup(func() {
		bg := context.Background()
		if err := admin.CoreV1().Pods(userNamespace).DeleteCollection(bg, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			t.Error(err)
		}
		if err := wait.PollUntilContextTimeout(bg, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			l, err := admin.CoreV1().Pods(userNamespace).List(ctx, metav1.ListOptions{})
			return err == nil && len(l.Items) == 0, err
		}); err != nil {
			t.Errorf("the user pods did not go: %v", err)
		}
	})
	createUserPods(ctx, t, admin, m, 0, nb.MaxUsers)
	if out := scheduled(ctx, t, admin); out.bound != nb.MaxUsers {
		t.Errorf("with every development space at its quota, %d of maxUsers %d user pods scheduled; Pending: %v", out.bound, nb.MaxUsers, out.pending)
	}
}

// devFillPods is how many pods share a development space's quota when it is filled.
const devFillPods = 4

// devPod is a pod that passes the restricted level, changed by edit.
func devPod(ns, image string, edit func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "probe-", Namespace: ns},
		Spec:       devPodSpec(image, false),
	}
	edit(p)
	return p
}

func devPodSpec(image string, writeDatasets bool) corev1.PodSpec {
	return corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr.To(true),
			RunAsUser:      ptr.To[int64](65532),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{{
			Name:  "probe",
			Image: image,
			SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr.To(false),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			},
			VolumeMounts: []corev1.VolumeMount{{Name: "datasets", MountPath: "/datasets", ReadOnly: !writeDatasets}},
		}},
		Volumes: []corev1.Volume{{Name: "datasets", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "gpfs-datasets", ReadOnly: !writeDatasets},
		}}},
	}
}

func devDeployment(ns, image string, writeDatasets bool) *appsv1.Deployment {
	name := "dev-probe"
	if writeDatasets {
		name = "dev-probe-writer"
	}
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       devPodSpec(image, writeDatasets),
			},
		},
	}
}

// waitDevPods waits for n running pods in ns, and returns them.
func waitDevPods(ctx context.Context, t *testing.T, tw *Twin, ns string, n int) []corev1.Pod {
	t.Helper()
	cs := kubernetes.NewForConfigOrDie(tw.Admin())
	var pods []corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		pods = pods[:0]
		for _, p := range l.Items {
			if p.Status.Phase == corev1.PodRunning && p.Spec.NodeName != "" {
				pods = append(pods, p)
			}
		}
		return len(pods) == n, nil
	})
	if err != nil {
		ev, _ := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		var why []string
		for _, e := range ev.Items {
			why = append(why, e.InvolvedObject.Kind+"/"+e.InvolvedObject.Name+": "+e.Reason+": "+e.Message)
		}
		t.Fatalf("%d of %d pods of the space's Deployment run in %s: %v; events: %s", len(pods), n, ns, err, strings.Join(why, "; "))
	}
	return pods
}

// removeDevDeployment deletes the Deployment and waits for its pods to go.
func removeDevDeployment(t *testing.T, tw *Twin, ns, name string) {
	cs := kubernetes.NewForConfigOrDie(tw.Admin())
	ctx := context.Background()
	if err := cs.AppsV1().Deployments(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)}); err != nil && !apierrors.IsNotFound(err) {
		t.Error(err)
		return
	}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		return err == nil && len(l.Items) == 0, err
	})
	if err != nil {
		t.Errorf("the pods of %s/%s did not go: %v", ns, name, err)
	}
}
