package validate

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/render"
	"github.com/lsst-dm/lsstgen/internal/testrepo"
)

var (
	pdacOnce sync.Once
	pdac     *render.Result
	pdacErr  error
)

// pdacInstance renders pdac once per process: the model and sources the fuzzed manifests
// are validated with.
func pdacInstance(t testing.TB) *render.Result {
	t.Helper()
	root := repoRoot(t)
	pdacOnce.Do(func() {
		rs, err := render.All(root, []string{"pdac"})
		if err == nil {
			pdac = rs[0]
		}
		pdacErr = err
	})
	if pdacErr != nil {
		t.Fatal(pdacErr)
	}
	return pdac
}

// FuzzManifest feeds YAML to the manifest decoder and what it reads (a refused duplicate
// key included) to every rule, with pdac's model: no input may panic or hang.
//
//	go test ./internal/validate -run '^$' -fuzz '^FuzzManifest$' -fuzztime 20s
func FuzzManifest(f *testing.F) {
	for _, c := range loadCorpus(f) {
		if len(c.objects) > 0 {
			f.Add(c.objects)
		}
	}
	for _, p := range []string{"portal/deployment-firefly.yaml", "qserv/statefulset-qserv-worker.yaml", "logging/daemonset-fluent-bit.yaml", "portal/ingress-portal.yaml", "_cluster/persistentvolume-gpfs-datasets-pdac-portal.yaml"} {
		b, err := os.ReadFile(filepath.Join(repoRoot(f), "generated", "pdac", filepath.FromSlash(p)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x, namespace: portal}\nspec: {replicas: 2147483647, template: {spec: {containers: [{name: c, image: x}]}}}\n"))
	base := pdacInstance(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		in := Instance{Name: "pdac", Model: base.Model, Sources: base.Sources}
		objs, err := manifest.Decode("fuzz.yaml", data)
		var dup *manifest.DuplicateKeyError
		switch {
		case errors.As(err, &dup):
			in.Duplicates = []*manifest.DuplicateKeyError{dup}
		case err != nil:
			return
		}
		in.Objects = manifest.Unstructured(objs)
		for _, fd := range Validate([]Instance{in}) {
			if fd.Rule == "" || fd.Message == "" {
				t.Fatalf("finding without rule or message: %+v", fd)
			}
		}
	})
}

// FuzzInstance adds fuzzed CUE source to a copy of pdac's instance package, renders it and
// validates what renders: a bad file must be a render error or findings, never a panic.
//
//	go test ./internal/validate -run '^$' -fuzz '^FuzzInstance$' -fuzztime 20s
func FuzzInstance(f *testing.F) {
	for _, c := range loadCorpus(f) {
		for name, data := range c.cueFiles {
			if filepath.Dir(name) == "instances/pdac" {
				f.Add(data)
			}
		}
	}
	f.Add([]byte("package instance\n\ninstance: aspects: notebook: maxUsers: 4000\n"))
	f.Add([]byte("package instance\n\ninstance: nodes: \"lsst-kub099\": role: \"general\"\n"))
	f.Add([]byte("package instance\n\ninstance: {\n"))
	root := testrepo.Copy(f, "pdac")
	file := filepath.Join(root, "instances", "pdac", "zz_fuzz.cue")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		rs, err := render.All(root, []string{"pdac"})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("render error without a message")
			}
			return
		}
		Validate([]Instance{FromResult(rs[0])})
	})
}
