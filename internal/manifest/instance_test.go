package manifest

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func mapFS(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for name, body := range files {
		m[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return m
}

func TestReadInstance(t *testing.T) {
	files := map[string]string{
		"generated/i/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- b.yaml\n- sub/a.yaml\n",
		"generated/i/b.yaml":             configMap("b") + "---\n" + configMap("c"),
		"generated/i/sub/a.yaml":         configMap("a"),
		"generated/i/unlisted.yaml":      configMap("z"),
		// A node file (containerd's registry mirror) is not an object: never read.
		"generated/i/_node/containerd/certs.d/docker.io/hosts.toml": "server = \"https://registry-1.docker.io\"\n",
	}
	want := []string{"generated/i/b.yaml:1 ConfigMap/ns/b", "generated/i/b.yaml:7 ConfigMap/ns/c", "generated/i/sub/a.yaml:1 ConfigMap/ns/a"}
	// The same reader for an in-memory tree and the working tree.
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, fsys := range map[string]fs.FS{"map": mapFS(files), "dir": os.DirFS(dir)} {
		t.Run(name, func(t *testing.T) {
			objs, err := ReadInstance(fsys, InstanceDir("i"))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range objs {
				got = append(got, o.File+":"+strconv.Itoa(o.Line)+" "+o.ID())
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			if u := Unstructured(objs); len(u) != 3 || u[2] != objs[2].Unstructured {
				t.Errorf("Unstructured gave %d objects", len(u))
			}
		})
	}
}

func TestReadInstanceErrors(t *testing.T) {
	k := "resources:\n- a.yaml\n"
	tests := []struct {
		name  string
		files map[string]string
		want  string
		is    any
	}{
		{"no kustomization.yaml", map[string]string{"d/a.yaml": configMap("a")}, "reading d/kustomization.yaml", fs.ErrNotExist},
		{"kustomization.yaml not YAML", map[string]string{"d/kustomization.yaml": "resources: [\n"}, "d/kustomization.yaml", nil},
		{"kustomization.yaml with a key twice", map[string]string{"d/kustomization.yaml": k + "resources:\n- b.yaml\n", "d/a.yaml": configMap("a")}, "already set", nil},
		{"no resources", map[string]string{"d/kustomization.yaml": "kind: Kustomization\n"}, "d/kustomization.yaml lists no resources", nil},
		{"listed file missing", map[string]string{"d/kustomization.yaml": k}, "d/a.yaml (listed in d/kustomization.yaml)", fs.ErrNotExist},
		{"a resource outside the tree", map[string]string{"d/kustomization.yaml": "resources:\n- ../../x.yaml\n"}, `lists "../../x.yaml", which leaves the repository`, nil},
		{"a file without objects", map[string]string{"d/kustomization.yaml": k, "d/a.yaml": "# nothing\n"}, "d/a.yaml (listed in d/kustomization.yaml) holds no object", nil},
		{"a bad document", map[string]string{"d/kustomization.yaml": k, "d/a.yaml": configMap("a") + "---\nkind: x\n"}, "d/a.yaml:7: document 2 has no apiVersion", ErrNoIdentity},
		{"a duplicate key", map[string]string{"d/kustomization.yaml": k, "d/a.yaml": configMap("a") + "data:\n  x: 1\n  x: 2\n"}, `d/a.yaml:8: ConfigMap/ns/a sets "data.x" twice`, new(*DuplicateKeyError)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := ReadInstance(mapFS(tc.files), "d")
			if err == nil {
				t.Fatalf("accepted: %d objects", len(objs))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
			switch is := tc.is.(type) {
			case error:
				if !errors.Is(err, is) {
					t.Errorf("error %v is not %v", err, is)
				}
			case **DuplicateKeyError:
				if !errors.As(err, is) {
					t.Errorf("error %T is not a *DuplicateKeyError", err)
				}
			}
		})
	}
}

// BenchmarkReadInstance reads the committed generated/pdac, as sync does each cycle:
//
//	go test -run '^$' -bench ReadInstance -benchmem ./internal/manifest
func BenchmarkReadInstance(b *testing.B) {
	root, err := FindRoot(".")
	if err != nil {
		b.Fatal(err)
	}
	fsys := os.DirFS(root)
	for b.Loop() {
		if _, err := ReadInstance(fsys, InstanceDir("pdac")); err != nil {
			b.Fatal(err)
		}
	}
}
