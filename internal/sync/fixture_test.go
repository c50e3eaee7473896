package sync

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/testrepo"
)

// fixture is a small instance: a Namespace and a few objects in it, keyed by file name.
func fixture(instance, ns string) map[string]string {
	labels := fmt.Sprintf("  labels:\n    app.kubernetes.io/managed-by: lsstgen\n    lsst.org/instance: %s\n", instance)
	return map[string]string{
		"namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + ns + "\n" + labels,
		"configmap-settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: " + ns + "\n" + labels +
			"data:\n  mode: test\n",
		"configmap-extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: " + ns + "\n" + labels +
			"data:\n  a: b\n",
		"serviceaccount-web.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n  namespace: " + ns + "\n" + labels,
		"service-web.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: " + ns + "\n" + labels +
			"spec:\n  selector:\n    app: web\n  ports:\n  - port: 80\n    targetPort: 8080\n",
		"deployment-web.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: " + ns + "\n" + labels +
			`spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      serviceAccountName: web
      containers:
      - name: web
        image: registry.example.org/web:1.0
        ports:
        - containerPort: 8080
`,
	}
}

// gitRepo is a git repository in a temporary folder.
type gitRepo struct {
	t   testing.TB
	dir string
}

func newGitRepo(t testing.TB) *gitRepo {
	t.Helper()
	r := &gitRepo{t: t, dir: t.TempDir()}
	testrepo.InitGit(t, r.dir)
	return r
}

func (r *gitRepo) git(args ...string) string {
	r.t.Helper()
	return testrepo.Git(r.t, r.dir, args...)
}

// writeInstance replaces generated/<instance>/ with files and a kustomization.yaml listing
// them, without committing.
func (r *gitRepo) writeInstance(instance string, files map[string]string) {
	r.t.Helper()
	dir := filepath.Join(r.dir, manifest.GeneratedDir, instance)
	if err := os.RemoveAll(dir); err != nil {
		r.t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.t.Fatal(err)
	}
	var names []string
	for name, content := range files {
		names = append(names, name)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	sort.Strings(names)
	k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
	for _, n := range names {
		k += "- " + n + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// commit commits everything in the repository and returns the commit.
func (r *gitRepo) commit(msg string) string {
	r.t.Helper()
	return testrepo.Commit(r.t, r.dir, msg)
}

// commitInstance writes an instance and commits it.
func (r *gitRepo) commitInstance(instance string, files map[string]string) string {
	r.t.Helper()
	r.writeInstance(instance, files)
	return r.commit("instance " + instance)
}

func without(files map[string]string, drop ...string) map[string]string {
	out := make(map[string]string, len(files))
	for k, v := range files {
		out[k] = v
	}
	for _, d := range drop {
		delete(out, d)
	}
	return out
}

func with(files map[string]string, name, content string) map[string]string {
	out := without(files)
	out[name] = content
	return out
}
