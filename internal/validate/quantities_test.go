package validate

import (
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// TestNonCanonical finds quantities through the Go type, wherever they are (a container's
// requests in a list, a volume's sizeLimit behind a pointer, a PersistentVolume's capacity
// map), and only those: a number that is not a quantity (replicas) is left alone.
func TestNonCanonical(t *testing.T) {
	const pod = `
spec:
  containers:
  - name: a
    resources:
      requests: {cpu: "1000m", memory: "512Mi", ephemeral-storage: 1073741824}
      limits: {cpu: "2", memory: "1024Mi"}
  volumes:
  - name: tmp
    emptyDir: {sizeLimit: "1Gi"}
  - name: big
    emptyDir: {sizeLimit: "2048Mi"}
`
	var raw map[string]any
	if err := yaml.Unmarshal([]byte(pod), &raw); err != nil {
		t.Fatal(err)
	}
	got := nonCanonical(raw, reflect.TypeOf(&corev1.Pod{}), "")
	want := []quantity{ // in the order of PodSpec's fields: volumes first
		{"spec.volumes[1].emptyDir.sizeLimit", `"2048Mi"`, "2Gi"},
		{"spec.containers[0].resources.limits.memory", `"1024Mi"`, "1Gi"},
		{"spec.containers[0].resources.requests.cpu", `"1000m"`, "1"},
		{"spec.containers[0].resources.requests.ephemeral-storage", "the number 1073741824", "1073741824"},
	}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(quantity{})); d != "" {
		t.Errorf("non-canonical quantities (-want +got):\n%s", d)
	}

	const pv = `
spec:
  capacity: {storage: "10240Gi"}
  local: {path: /data}
`
	raw = nil
	if err := yaml.Unmarshal([]byte(pv), &raw); err != nil {
		t.Fatal(err)
	}
	got = nonCanonical(raw, reflect.TypeOf(&corev1.PersistentVolume{}), "")
	if len(got) != 1 || got[0].canonical != "10Ti" {
		t.Errorf("PersistentVolume capacity 10240Gi: got %+v, want one finding with 10Ti", got)
	}
}
