package validate

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/lsst-dm/lsstgen/internal/model"
	"github.com/lsst-dm/lsstgen/internal/render"
)

// BenchmarkValidateAll validates the five real instances together.
//
//	go test ./internal/validate -run '^$' -bench . -benchmem
func BenchmarkValidateAll(b *testing.B) {
	ins := realInstances(b)
	b.ResetTimer()
	for b.Loop() {
		if fs := Validate(ins); ErrorCount(fs) > 0 {
			b.Fatalf("real instances have findings: %v", fs[0])
		}
	}
}

// BenchmarkSynthetic validates a synthetic instance of n objects, spread over 20
// namespaces, to show that the checks grow linearly with the number of objects.
func BenchmarkSynthetic(b *testing.B) {
	base := pdacInstance(b)
	for _, n := range []int{1000, 2500, 5000} {
		in := synthetic(base, n)
		b.Run(fmt.Sprintf("objects=%d", len(in.Objects)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if fs := Validate([]Instance{in}); ErrorCount(fs) > 0 {
					b.Fatalf("synthetic instance has findings: %v", fs[0])
				}
			}
		})
	}
}

// TestSyntheticIsClean: the benchmark's instance passes every rule, so that the benchmark
// measures the checks' normal path.
func TestSyntheticIsClean(t *testing.T) {
	in := synthetic(pdacInstance(t), 500)
	for _, f := range Validate([]Instance{in}) {
		t.Error(f)
	}
}

// synthetic builds an instance of pdac's model with about n objects in 20 namespaces:
// pdac's logging namespace and its flows; each namespace has its Namespace, default-deny,
// admin binding and one component of the flows (its apps); then units of a
// Deployment, its Service, ConfigMap, ServiceAccount and PersistentVolumeClaim.
func synthetic(base *render.Result, n int) Instance {
	const namespaces = 20
	m := base.Model
	m.Namespaces = map[string]model.Namespace{}
	generalNodes := map[string]any{}
	for k, v := range m.Roles["general"].Labels {
		generalNodes[k] = v
	}
	var objs []*unstructured.Unstructured
	add := func(m map[string]any) { objs = append(objs, &unstructured.Unstructured{Object: m}) }
	meta := func(ns, name string) map[string]any { return map[string]any{"name": name, "namespace": ns} }
	add(map[string]any{"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": map[string]any{"name": "local-disk"}, "provisioner": "kubernetes.io/no-provisioner"})
	add(map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": map[string]any{"name": NamespaceAdminRole},
		"rules": []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"pods"}, "verbs": []any{"get"}}}})
	// pdac's log forwarder, which every instance runs on every node, with its flows; one
	// component per synthetic namespace (its apps), which talks to nothing.
	m.Namespaces["logging"] = base.Model.Namespaces["logging"]
	m.Components = map[string]map[string]model.Component{
		"logging":     base.Model.Components["logging"],
		"kube-system": base.Model.Components["kube-system"],
	}
	m.Flows = map[string]model.Flow{}
	for id, f := range base.Model.Flows {
		if f.Src.Namespace == "logging" {
			m.Flows[id] = f
		}
	}
	appLabels := map[string]string{"app.kubernetes.io/part-of": "synthetic"}
	for _, u := range base.Objects {
		if u.GetKind() == "RoleBinding" && u.GetName() == "lsstgen-sync-writes" {
			continue // the sync daemon's, which the synthetic instance does not run
		}
		if u.GetNamespace() == "logging" || (u.GetKind() == "Namespace" && u.GetName() == "logging") ||
			(u.GetKind() == "ClusterRole" && u.GetName() == "lsst-namespace-operator") {
			if u.GetKind() == "DaemonSet" {
				// pdac shares its nodes between two forwarders (the qserv nodes have their own
				// in qserv-os-admin, which the synthetic instance does not have): here the
				// logging one runs on every node.
				u = u.DeepCopy()
				unstructured.RemoveNestedField(u.Object, "spec", "template", "spec", "affinity")
				if err := unstructured.SetNestedSlice(u.Object, []any{map[string]any{"operator": "Exists"}}, "spec", "template", "spec", "tolerations"); err != nil {
					panic(err)
				}
			}
			objs = append(objs, u)
		}
	}
	for k := 0; k < namespaces; k++ {
		ns := fmt.Sprintf("synth-%02d", k)
		m.Namespaces[ns] = model.Namespace{Name: ns, Aspect: "platform", PodSecurity: "restricted", Admins: []string{"lsst-synth-admins"}}
		m.Components[ns] = map[string]model.Component{"apps": {Namespace: ns, Name: "apps", PodLabels: appLabels, Origin: model.OriginRendered,
			Ports: map[string]model.ComponentPort{"http": {Name: "http", Port: 8080, Protocol: "TCP"}}}}
		add(map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns, "labels": map[string]any{"pod-security.kubernetes.io/enforce": "restricted"}}})
		add(map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta(ns, "default-deny"),
			"spec": map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress", "Egress"}}})
		add(map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta(ns, "namespace-admin"),
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NamespaceAdminRole},
			"subjects": []any{map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "lsst-synth-admins"}}})
	}
	for i := 0; len(objs) < n; i++ {
		ns := fmt.Sprintf("synth-%02d", i%namespaces)
		name := fmt.Sprintf("app-%05d", i)
		labels := map[string]any{"app.kubernetes.io/name": name}
		add(map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(ns, name)})
		add(map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(ns, name), "data": map[string]any{"k": "v"}})
		add(map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta(ns, name),
			"spec": map[string]any{"accessModes": []any{"ReadWriteOnce"}, "storageClassName": "local-disk", "resources": map[string]any{"requests": map[string]any{"storage": "1Gi"}}}})
		add(map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": meta(ns, name),
			"spec": map[string]any{"selector": labels, "ports": []any{map[string]any{"name": "http", "port": 8080, "targetPort": "http"}}}})
		add(map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(ns, name), "spec": map[string]any{
			"replicas": 1,
			"selector": map[string]any{"matchLabels": labels},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "synthetic"}},
				"spec": map[string]any{
					"serviceAccountName": name,
					"nodeSelector":       generalNodes,
					"securityContext":    map[string]any{"runAsNonRoot": true, "fsGroup": 1000, "seccompProfile": map[string]any{"type": "RuntimeDefault"}},
					// datalinker, as its image's facts say it runs.
					"containers": []any{map[string]any{
						"name":           "app",
						"image":          "ghcr.io/lsst-sqre/datalinker:4.2.0",
						"ports":          []any{map[string]any{"name": "http", "containerPort": 8080}},
						"readinessProbe": map[string]any{"httpGet": map[string]any{"path": "/", "port": "http"}},
						"resources": map[string]any{
							"requests": map[string]any{"cpu": "1m", "memory": "1Mi", "ephemeral-storage": "1Mi"},
							"limits":   map[string]any{"cpu": "10m", "memory": "16Mi", "ephemeral-storage": "16Mi"},
						},
						"securityContext": map[string]any{"allowPrivilegeEscalation": false, "capabilities": map[string]any{"drop": []any{"ALL"}},
							"runAsUser": 1000, "runAsGroup": 1000, "readOnlyRootFilesystem": true},
						"volumeMounts": []any{map[string]any{"name": "config", "mountPath": "/config"}, map[string]any{"name": "data", "mountPath": "/data"},
							map[string]any{"name": "tmp", "mountPath": "/tmp"}},
					}},
					"volumes": []any{
						map[string]any{"name": "config", "configMap": map[string]any{"name": name}},
						map[string]any{"name": "data", "persistentVolumeClaim": map[string]any{"claimName": name}},
						map[string]any{"name": "tmp", "emptyDir": map[string]any{}},
					},
				},
			},
		}})
	}
	// No notebook, no registry workload: only the synthetic objects are placed.
	m.Instance.Aspects.Notebook = nil
	m.Instance.Exposure = ""
	m.Instance.Registry.Node = ""
	return Instance{Name: "synthetic", Objects: objs, Model: m, Sources: base.Sources}
}
