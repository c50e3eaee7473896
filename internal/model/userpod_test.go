package model_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/lsst-dm/lsstgen/internal/model"
)

// userPod is a user pod of the shape platform/notebook.cue exports, cut short.
const userPod = `{
  "apiVersion": "v1", "kind": "Pod",
  "metadata": {"namespace": "notebook-users", "labels": {"lsst.org/instance": "pdac"}},
  "spec": {
    "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
    "initContainers": [{"name": "nss", "image": "lab:1", "command": ["/bin/sh", "-c", "true"]}],
    "containers": [{"name": "notebook", "image": "lab:1",
      "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": true}}]
  }
}`

func template(t *testing.T) *corev1.Pod {
	t.Helper()
	var p corev1.Pod
	if err := json.Unmarshal([]byte(userPod), &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

func env(vars []corev1.EnvVar) map[string]string {
	m := map[string]string{}
	for _, v := range vars {
		m[v.Name] = v.Value
	}
	return m
}

// TestUserPodFor: the user's identity lands where KubeSpawner puts the hook's settings,
// the passwd and group entries are the user's, and the template is left as it was.
func TestUserPodFor(t *testing.T) {
	tmpl := template(t)
	before := tmpl.DeepCopy()
	u := model.NotebookUser{Name: "jdoe", UID: 41234, GID: 2000, Groups: []model.NotebookGroup{
		{Name: "lsst_users", GID: 3000}, {Name: "jdoe", GID: 2000}, {Name: "Bad Name", GID: 3100}, {Name: "lsst_users", GID: 3000},
	}}
	p, err := model.UserPodFor(tmpl, u)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, tmpl); diff != "" {
		t.Errorf("UserPodFor changed the template (-before +after):\n%s", diff)
	}
	if p.Name != "jupyter-jdoe" {
		t.Errorf("name %q, want jupyter-jdoe", p.Name)
	}
	sc := p.Spec.SecurityContext
	got := []any{*sc.RunAsUser, *sc.RunAsGroup, *sc.FSGroup, sc.SupplementalGroups, *sc.RunAsNonRoot}
	if diff := cmp.Diff([]any{int64(41234), int64(2000), int64(2000), []int64{3000, 3100}, true}, got); diff != "" {
		t.Errorf("pod securityContext runAsUser, runAsGroup, fsGroup, supplementalGroups, runAsNonRoot (-want +got):\n%s", diff)
	}
	lab := p.Spec.Containers[0]
	if *lab.SecurityContext.RunAsUser != 41234 || *lab.SecurityContext.RunAsGroup != 2000 || lab.WorkingDir != "/home/jdoe" {
		t.Errorf("notebook container: runAsUser %d, runAsGroup %d, workingDir %q", *lab.SecurityContext.RunAsUser, *lab.SecurityContext.RunAsGroup, lab.WorkingDir)
	}
	if diff := cmp.Diff(map[string]string{"HOME": "/home/jdoe", "USER": "jdoe"}, env(lab.Env)); diff != "" {
		t.Errorf("notebook env (-want +got):\n%s", diff)
	}
	wantNSS := map[string]string{
		"NSS_PASSWD": "jdoe:x:41234:2000::/home/jdoe:/bin/bash",
		"NSS_GROUP":  "jdoe:x:2000:\nlsst_users:x:3000:jdoe",
		"NSS_HOME":   "/home/jdoe",
	}
	if diff := cmp.Diff(wantNSS, env(p.Spec.InitContainers[0].Env)); diff != "" {
		t.Errorf("nss env (-want +got):\n%s", diff)
	}
}

// TestUserPodForRefuses: a name that kept its identity provider's domain, and a root
// identity, get no pod, as in the hub.
func TestUserPodForRefuses(t *testing.T) {
	for _, tt := range []struct {
		u    model.NotebookUser
		want string
	}{
		{model.NotebookUser{Name: "jdoe@gmail.com", UID: 1000, GID: 1000}, `"jdoe@gmail.com" is not an account name`},
		{model.NotebookUser{Name: "Jdoe", UID: 1000, GID: 1000}, "is not an account name"},
		{model.NotebookUser{Name: "", UID: 1000, GID: 1000}, "is not an account name"},
		{model.NotebookUser{Name: "root", UID: 0, GID: 0}, "root has uid 0 and gid 0: a notebook server never runs as root"},
		{model.NotebookUser{Name: "jdoe", UID: 1000, GID: 0}, "never runs as root"},
	} {
		_, err := model.UserPodFor(template(t), tt.u)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("UserPodFor(%+v) = %v, want an error saying %q", tt.u, err, tt.want)
		}
	}
}
