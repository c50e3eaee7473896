package validate

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/lsst-dm/lsstgen/internal/model"
)

// The image rules: every container agrees with the facts of its image (the model's
// images, from platform/images.cue): the user and group it runs as, the paths it writes
// where its root file system is read-only, the capabilities it needs, the ports it listens
// on (as Services, probes and NetworkPolicies use them) and its health endpoints. An
// apiserver accepts a pod spec that breaks any of them; the pod then does not run (the
// kubelet refuses runAsNonRoot against a named user, the program cannot write or bind), or
// runs unprobed, or is unreachable.

// checkImages runs the image rules.
func checkImages(c *checker) {
	for _, p := range c.idx.pods {
		checkPodImages(c, p)
	}
	for _, o := range c.idx.byKind["Service"] {
		if svc, ok := o.typed.(*corev1.Service); ok {
			checkServiceTargets(c, o, svc)
		}
	}
	for _, o := range c.idx.byKind["NetworkPolicy"] {
		if np, ok := o.typed.(*networkingv1.NetworkPolicy); ok {
			checkPolicyPorts(c, o, np)
		}
	}
}

// imageOf is the facts of a container's image, or nil.
func (c *checker) imageOf(ct *corev1.Container) *model.Image {
	img, ok := c.in.Model.Images[ct.Image]
	if !ok {
		return nil
	}
	return &img
}

// longRunning says whether the pod's regular containers run until stopped: not a Job's or
// a CronJob's, nor a pod that does not restart.
func longRunning(p *pod) bool {
	switch p.obj.kind {
	case "Job", "CronJob":
		return false
	case "Pod":
		return p.spec.RestartPolicy == "" || p.spec.RestartPolicy == corev1.RestartPolicyAlways
	}
	return true
}

func checkPodImages(c *checker, p *pod) {
	for _, ct := range containers(p.spec) {
		img := c.imageOf(ct)
		if img == nil {
			c.report(ImageFacts, p.obj, "", "container %s runs %s, whose facts the model does not hold; pin it in platform/images.cue with its user, group, ports, writable paths, capabilities, health checks and the upstream files they come from", ct.Name, ct.Image)
			continue
		}
		checkUser(c, p, ct, img)
		checkWrites(c, p, ct, img)
		checkCapabilities(c, p, ct, img)
		checkContainerPorts(c, p, ct, img)
		// A regular container, or an init container that keeps running beside them.
		sidecar := ct.RestartPolicy != nil && *ct.RestartPolicy == corev1.ContainerRestartPolicyAlways
		checkProbes(c, p, ct, img, longRunning(p) && (isRegular(p.spec, ct) || sidecar))
	}
	checkFSGroup(c, p)
}

// isRegular says whether ct is one of the pod's regular containers (not an init one).
func isRegular(spec *corev1.PodSpec, ct *corev1.Container) bool {
	for i := range spec.Containers {
		if &spec.Containers[i] == ct {
			return true
		}
	}
	return false
}

// checkUser: the container runs as the image's numeric user and group (its own
// securityContext's, else the pod's).
func checkUser(c *checker, p *pod, ct *corev1.Container, img *model.Image) {
	user, group := runAs(p.spec, ct)
	if img.AnyUser {
		if user == nil {
			c.report(ImageUser, p.obj, "", "container %s runs %s, which runs as whichever user the pod gives it, but sets no numeric runAsUser; set one", ct.Name, ct.Image)
		}
		return
	}
	if img.User == nil || img.Group == nil {
		return
	}
	for _, x := range []struct {
		field string
		got   *int64
		want  int64
	}{{"runAsUser", user, *img.User}, {"runAsGroup", group, *img.Group}} {
		switch {
		case x.got == nil:
			c.report(ImageUser, p.obj, "", "container %s sets no %s, neither does its pod; its image %s runs as %d: set %s: %d (the kubelet cannot check runAsNonRoot against a user name)", ct.Name, x.field, ct.Image, x.want, x.field, x.want)
		case *x.got != x.want:
			c.report(ImageUser, p.obj, "", "container %s runs as %s %d but its image %s runs as %d, whose files it owns; set %s: %d", ct.Name, x.field, *x.got, ct.Image, x.want, x.field, x.want)
		}
	}
}

// runAs is the user and group a container runs as: its own securityContext's, else its
// pod's.
func runAs(spec *corev1.PodSpec, ct *corev1.Container) (user, group *int64) {
	if sc := spec.SecurityContext; sc != nil {
		user, group = sc.RunAsUser, sc.RunAsGroup
	}
	if sc := ct.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			user = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			group = sc.RunAsGroup
		}
	}
	return user, group
}

// checkFSGroup: a pod that mounts a claim read-write sets fsGroup to the group of the
// image writing it, so that the image's user may write the volume.
func checkFSGroup(c *checker, p *pod) {
	claims := map[string]bool{}
	for _, v := range p.spec.Volumes {
		if v.PersistentVolumeClaim != nil && !v.PersistentVolumeClaim.ReadOnly {
			claims[v.Name] = true
		}
	}
	for _, t := range p.claims {
		claims[t.Name] = true
	}
	var fsGroup *int64
	if sc := p.spec.SecurityContext; sc != nil {
		fsGroup = sc.FSGroup
	}
	for _, ct := range containers(p.spec) {
		img := c.imageOf(ct)
		if img == nil || img.AnyUser || img.Group == nil {
			continue
		}
		for _, m := range ct.VolumeMounts {
			if !claims[m.Name] || m.ReadOnly {
				continue
			}
			switch {
			case fsGroup == nil:
				c.report(ImageUser, p.obj, "", "container %s writes the claim of volume %s but the pod sets no fsGroup; set fsGroup: %d, the group of its image %s", ct.Name, m.Name, *img.Group, ct.Image)
			case *fsGroup != *img.Group:
				c.report(ImageUser, p.obj, "", "container %s writes the claim of volume %s, but the pod's fsGroup %d is not its image's group %d; set fsGroup: %d", ct.Name, m.Name, *fsGroup, *img.Group, *img.Group)
			}
		}
	}
}

// checkWrites: with a read-only root file system, every path the image writes is (or lies
// below) a writable volume; and the root is read-only only where the image can run so.
func checkWrites(c *checker, p *pod, ct *corev1.Container, img *model.Image) {
	sc := ct.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		return
	}
	if !img.ReadOnlyRootFilesystem {
		c.report(ImageWrites, p.obj, "", "container %s makes its root file system read-only, but its image %s cannot run so (it writes %s, some of which the image's own files hold); set readOnlyRootFilesystem: false", ct.Name, ct.Image, strings.Join(img.Writes, ", "))
		return
	}
	writable := writableMounts(p.spec, ct)
	for _, w := range img.Writes {
		if !slices.ContainsFunc(writable, func(m string) bool { return underPath(w, m) }) {
			c.report(ImageWrites, p.obj, "", "container %s's root file system is read-only, but its image %s writes %s, which no writable volume covers; mount one there (an emptyDir: #Writable does)", ct.Name, ct.Image, w)
		}
	}
}

// writableMounts lists the mount paths of a container's writable volumes: not mounted
// read-only, and of a kind that can be written (not a ConfigMap, Secret, downward API or
// projected volume, nor a claim or NFS export mounted read-only).
func writableMounts(spec *corev1.PodSpec, ct *corev1.Container) []string {
	vols := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		vols[v.Name] = v
	}
	var out []string
	for _, m := range ct.VolumeMounts {
		if m.ReadOnly {
			continue
		}
		if v, ok := vols[m.Name]; ok {
			switch {
			case v.ConfigMap != nil, v.Secret != nil, v.DownwardAPI != nil, v.Projected != nil:
				continue
			case v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ReadOnly, v.NFS != nil && v.NFS.ReadOnly:
				continue
			}
		}
		out = append(out, m.MountPath)
	}
	return out
}

// underPath says whether path is dir or lies below it.
func underPath(path, dir string) bool {
	dir = strings.TrimSuffix(dir, "/")
	return path == dir || strings.HasPrefix(path, dir+"/") || dir == ""
}

// checkCapabilities: every capability the image needs is added (unless the container is
// privileged, which has them all), and nothing beyond them.
func checkCapabilities(c *checker, p *pod, ct *corev1.Container, img *model.Image) {
	var added []string
	privileged := false
	if sc := ct.SecurityContext; sc != nil {
		privileged = sc.Privileged != nil && *sc.Privileged
		if sc.Capabilities != nil {
			for _, a := range sc.Capabilities.Add {
				added = append(added, strings.TrimPrefix(strings.ToUpper(string(a)), "CAP_"))
			}
		}
	}
	for _, need := range img.Capabilities {
		if !privileged && !slices.Contains(added, need) {
			c.report(ImageCapabilities, p.obj, "", "container %s does not add %s, which its image %s needs (dropping ALL removes it from the bounding set); add it to capabilities.add", ct.Name, need, ct.Image)
		}
	}
	for _, a := range added {
		if !slices.Contains(img.Capabilities, a) {
			c.report(ImageCapabilities, p.obj, "", "container %s adds %s, which its image %s does not need (its facts name %s); remove it", ct.Name, a, ct.Image, orNone(img.Capabilities))
		}
	}
}

func orNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}

// checkContainerPorts: every port a container declares is one its image listens on, by
// the name and number of the facts.
func checkContainerPorts(c *checker, p *pod, ct *corev1.Container, img *model.Image) {
	for _, cp := range ct.Ports {
		if cp.Name != "" {
			if n, ok := img.Ports[cp.Name]; !ok || n != cp.ContainerPort {
				c.report(ImagePorts, p.obj, "", "container %s declares port %s %d, but its image %s listens on %s; declare the image's ports by their names", ct.Name, cp.Name, cp.ContainerPort, ct.Image, portsText(img.Ports))
			}
			continue
		}
		if !slices.Contains(slices.Collect(maps.Values(img.Ports)), cp.ContainerPort) {
			c.report(ImagePorts, p.obj, "", "container %s declares port %d, but its image %s listens on %s", ct.Name, cp.ContainerPort, ct.Image, portsText(img.Ports))
		}
	}
}

// portsText prints an image's ports as name number, sorted by name.
func portsText(ports map[string]int32) string {
	if len(ports) == 0 {
		return "no port"
	}
	var out []string
	for _, n := range slices.Sorted(maps.Keys(ports)) {
		out = append(out, n+" "+strconv.Itoa(int(ports[n])))
	}
	return strings.Join(out, ", ")
}

// containerPort resolves a port of a container (a name of its ports, or a number) to a
// number its image listens on; ok is false when it is not one.
func containerPort(ct *corev1.Container, img *model.Image, port intstr.IntOrString) (int32, bool) {
	if port.Type == intstr.String {
		for _, cp := range ct.Ports {
			if cp.Name == port.StrVal {
				n, ok := img.Ports[cp.Name]
				return n, ok && n == cp.ContainerPort
			}
		}
		return 0, false
	}
	n := port.IntVal
	return n, slices.Contains(slices.Collect(maps.Values(img.Ports)), n)
}

// checkProbes: a long-running container has a readiness probe, and each probe it has asks
// one of its image's health checks (the same path, port and scheme, or the same command).
func checkProbes(c *checker, p *pod, ct *corev1.Container, img *model.Image, needsReadiness bool) {
	if ct.ReadinessProbe == nil && needsReadiness {
		what := "its image's readiness check"
		if len(img.Health) == 0 {
			what = "a readiness check, which its image's facts lack: add its health endpoint to platform/images.cue"
		}
		c.report(ImageProbes, p.obj, "", "long-running container %s has no readiness probe, so it gets traffic before it serves and keeps it when it stops serving; probe %s (#Container's #mode)", ct.Name, what)
	}
	for _, pr := range []struct {
		kind  string
		probe *corev1.Probe
		check func(model.Health) *model.HealthCheck
	}{
		{"readiness", ct.ReadinessProbe, func(h model.Health) *model.HealthCheck { return &h.Readiness }},
		{"liveness", ct.LivenessProbe, func(h model.Health) *model.HealthCheck { return h.Liveness }},
	} {
		if pr.probe == nil {
			continue
		}
		if port, ok := probePort(pr.probe); ok {
			if _, listens := containerPort(ct, img, port); !listens {
				c.report(ImagePorts, p.obj, "", "container %s's %s probe asks port %s, on which its image %s does not listen (%s)", ct.Name, pr.kind, port.String(), ct.Image, portsText(img.Ports))
				continue
			}
		}
		if len(img.Health) == 0 {
			if len(img.Ports) > 0 {
				c.report(ImageProbes, p.obj, "", "container %s has a %s probe, but its image %s's facts name no health check to compare it with; add them to platform/images.cue", ct.Name, pr.kind, ct.Image)
			}
			continue
		}
		matched := false
		var want []string
		for _, mode := range slices.Sorted(maps.Keys(img.Health)) {
			hc := pr.check(img.Health[mode])
			if hc == nil {
				continue
			}
			want = append(want, checkText(hc, img))
			if probeMatches(pr.probe, hc, ct, img) {
				matched = true
			}
		}
		if !matched {
			c.report(ImageProbes, p.obj, "", "container %s's %s probe %s is none of its image %s's %s checks (%s); probe what the image serves", ct.Name, pr.kind, probeText(pr.probe), ct.Image, pr.kind, orNone(want))
		}
	}
}

// probePort is the port a probe connects to, if it connects.
func probePort(p *corev1.Probe) (intstr.IntOrString, bool) {
	switch {
	case p.HTTPGet != nil:
		return p.HTTPGet.Port, true
	case p.TCPSocket != nil:
		return p.TCPSocket.Port, true
	case p.GRPC != nil:
		return intstr.FromInt32(p.GRPC.Port), true
	}
	return intstr.IntOrString{}, false
}

// probeMatches says whether a probe asks the health check hc of the container's image.
func probeMatches(p *corev1.Probe, hc *model.HealthCheck, ct *corev1.Container, img *model.Image) bool {
	if len(hc.Exec) > 0 {
		return p.Exec != nil && slices.Equal(p.Exec.Command, hc.Exec)
	}
	want, ok := img.Ports[hc.Port]
	if !ok {
		return false
	}
	if hc.Path == "" {
		if p.TCPSocket == nil {
			return false
		}
		n, ok := containerPort(ct, img, p.TCPSocket.Port)
		return ok && n == want
	}
	if p.HTTPGet == nil || p.HTTPGet.Path != hc.Path || uriScheme(string(p.HTTPGet.Scheme)) != uriScheme(hc.Scheme) {
		return false
	}
	n, ok := containerPort(ct, img, p.HTTPGet.Port)
	return ok && n == want
}

func uriScheme(s string) string {
	if s == "" {
		return string(corev1.URISchemeHTTP)
	}
	return strings.ToUpper(s)
}

// checkText prints a health check as a probe of it reads.
func checkText(hc *model.HealthCheck, img *model.Image) string {
	switch {
	case len(hc.Exec) > 0:
		return "exec " + strings.Join(hc.Exec, " ")
	case hc.Path == "":
		return fmt.Sprintf("tcp %s (%d)", hc.Port, img.Ports[hc.Port])
	}
	return fmt.Sprintf("%s GET %s on %s (%d)", uriScheme(hc.Scheme), hc.Path, hc.Port, img.Ports[hc.Port])
}

// probeText prints a probe.
func probeText(p *corev1.Probe) string {
	switch {
	case p.Exec != nil:
		return "exec " + strings.Join(p.Exec.Command, " ")
	case p.HTTPGet != nil:
		return fmt.Sprintf("%s GET %s on %s", uriScheme(string(p.HTTPGet.Scheme)), p.HTTPGet.Path, p.HTTPGet.Port.String())
	case p.TCPSocket != nil:
		return "tcp " + p.TCPSocket.Port.String()
	case p.GRPC != nil:
		return "grpc " + strconv.Itoa(int(p.GRPC.Port))
	}
	return "(no handler)"
}

// listensOn says whether a pod's containers listen on port (a container port's name, or a
// number one of their images listens on), judged by the facts; known is false when a
// container's image has none (IMG-001 reports it), and nothing can be said.
func (c *checker) listensOn(p *pod, port intstr.IntOrString) (listens, known bool) {
	for _, ct := range p.spec.Containers {
		img := c.imageOf(&ct)
		if img == nil {
			return false, false
		}
		if _, ok := containerPort(&ct, img, port); ok {
			return true, true
		}
	}
	return false, true
}

// podPorts prints the ports a pod's containers listen on, for messages.
func (c *checker) podPorts(p *pod) string {
	var out []string
	for _, ct := range p.spec.Containers {
		if img := c.imageOf(&ct); img != nil {
			out = append(out, portsText(img.Ports))
		}
	}
	return strings.Join(out, "; ")
}

// checkServiceTargets: every port a Service targets is one each pod it selects listens on.
func checkServiceTargets(c *checker, o *object, svc *corev1.Service) {
	if len(svc.Spec.Selector) == 0 {
		return
	}
	pods := c.idx.selectPods(o.ns, svc.Spec.Selector)
	for _, sp := range svc.Spec.Ports {
		target := sp.TargetPort
		if target.Type == intstr.Int && target.IntVal == 0 {
			target = intstr.FromInt32(sp.Port)
		}
		for _, p := range pods {
			if listens, known := c.listensOn(p, target); known && !listens {
				c.report(ImagePorts, o, "", "port %s targets %s, on which the pods of %s do not listen (their images: %s); target one of their ports", portLabel(sp), target.String(), p.obj.id, c.podPorts(p))
			}
		}
	}
}

func portLabel(sp corev1.ServicePort) string {
	if sp.Name != "" {
		return sp.Name
	}
	return strconv.Itoa(int(sp.Port))
}

// checkPolicyPorts: every port a NetworkPolicy admits in is one some pod it selects
// listens on, and every port it lets out to pods of the instance is one some of those
// pods listen on. Peers outside the instance (the site's networks, kube-system's DNS) are
// not judged.
func checkPolicyPorts(c *checker, o *object, np *networkingv1.NetworkPolicy) {
	targets := c.selectedPods(o.ns, &np.Spec.PodSelector)
	for i, r := range np.Spec.Ingress {
		c.policyPortsListened(o, fmt.Sprintf("ingress rule %d", i), r.Ports, targets)
	}
	for i, r := range np.Spec.Egress {
		if len(r.To) == 0 {
			continue
		}
		var dests []*pod
		outside := false
		for _, peer := range r.To {
			if peer.IPBlock != nil || peer.NamespaceSelector == nil && peer.PodSelector == nil {
				outside = true
				continue
			}
			namespaces := []string{o.ns}
			if peer.NamespaceSelector != nil {
				namespaces = c.selectedNamespaces(peer.NamespaceSelector)
				if len(namespaces) == 0 {
					outside = true // namespaces of the cluster's own (kube-system), not the instance's
					continue
				}
			}
			sel := peer.PodSelector
			if sel == nil {
				sel = &metav1.LabelSelector{}
			}
			for _, ns := range namespaces {
				dests = append(dests, c.selectedPods(ns, sel)...)
			}
		}
		if !outside {
			c.policyPortsListened(o, fmt.Sprintf("egress rule %d", i), r.Ports, dests)
		}
	}
}

// policyPortsListened reports each of a rule's ports none of pods listens on.
func (c *checker) policyPortsListened(o *object, rule string, ports []networkingv1.NetworkPolicyPort, pods []*pod) {
	if len(pods) == 0 {
		return
	}
	for _, pp := range ports {
		if pp.Port == nil || pp.EndPort != nil || (pp.Protocol != nil && *pp.Protocol != corev1.ProtocolTCP) {
			continue // every port, a range, or not TCP (DNS): the facts are TCP ports
		}
		any, known := false, true
		for _, p := range pods {
			l, k := c.listensOn(p, *pp.Port)
			any, known = any || l, known && k
		}
		if known && !any {
			var where []string
			for _, p := range pods {
				where = append(where, p.obj.id+" ("+c.podPorts(p)+")")
			}
			slices.Sort(where)
			c.report(ImagePorts, o, "", "%s allows port %s, on which none of the pods it concerns listens: %s; allow the ports their images listen on", rule, pp.Port.String(), strings.Join(slices.Compact(where), ", "))
		}
	}
}

// selectedPods are the pod templates of namespace ns a label selector selects.
func (c *checker) selectedPods(ns string, sel *metav1.LabelSelector) []*pod {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil
	}
	var out []*pod
	for _, p := range c.idx.podsByNS[ns] {
		if s.Matches(labels.Set(p.meta.Labels)) {
			out = append(out, p)
		}
	}
	return out
}

// selectedNamespaces are the instance's namespaces a namespace selector selects (by their
// labels, kubernetes.io/metadata.name included).
func (c *checker) selectedNamespaces(sel *metav1.LabelSelector) []string {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil
	}
	var out []string
	for _, o := range c.idx.byKind["Namespace"] {
		l := labels.Set{corev1.LabelMetadataName: o.name}
		for k, v := range o.u.GetLabels() {
			l[k] = v
		}
		if s.Matches(l) {
			out = append(out, o.name)
		}
	}
	slices.Sort(out)
	return out
}
