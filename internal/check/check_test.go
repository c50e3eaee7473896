package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/render"
)

// row is what a test compares of a Stale: everything but the diff's exact text.
type row struct {
	Instance, Path, Object string
	Change                 Change
	DiffHas                bool
}

func rows(ss []Stale, diffHas string) []row {
	var out []row
	for _, s := range ss {
		out = append(out, row{s.Instance, s.Path, s.Object, s.Change, diffHas != "" && strings.Contains(s.Diff, diffHas)})
	}
	return out
}

func TestCompare(t *testing.T) {
	src, err := manifest.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	results, err := render.All(src, []string{"pdac"})
	if err != nil {
		t.Fatal(err)
	}
	const firefly = "portal/deployment-firefly.yaml"
	const dockerHosts = "_node/containerd/certs.d/docker.io/hosts.toml"
	tests := []struct {
		name    string
		mutate  func(t *testing.T, gen string)
		diffHas string
		want    []row
	}{
		{name: "current", mutate: func(*testing.T, string) {}},
		{
			name:   "missing object file",
			mutate: func(t *testing.T, gen string) { must(t, os.Remove(filepath.Join(gen, "pdac", firefly))) },
			want:   []row{{"pdac", firefly, "Deployment/portal/firefly", Missing, false}},
		},
		{
			name: "stray file",
			mutate: func(t *testing.T, gen string) {
				must(t, os.WriteFile(filepath.Join(gen, "pdac", "portal", "notes.txt"), []byte("hand-made\n"), 0o644))
			},
			want: []row{{"pdac", "portal/notes.txt", "", Extra, false}},
		},
		{
			name: "stray object",
			mutate: func(t *testing.T, gen string) {
				must(t, os.WriteFile(filepath.Join(gen, "pdac", "portal", "configmap-x.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: portal\n"), 0o644))
			},
			want: []row{{"pdac", "portal/configmap-x.yaml", "ConfigMap/portal/x", Extra, false}},
		},
		{
			name: "changed object",
			mutate: func(t *testing.T, gen string) {
				edit(t, filepath.Join(gen, "pdac", firefly), "replicas: 1", "replicas: 4")
			},
			diffHas: "replicas",
			want:    []row{{"pdac", firefly, "Deployment/portal/firefly", Changed, true}},
		},
		{
			name: "changed node file",
			mutate: func(t *testing.T, gen string) {
				edit(t, filepath.Join(gen, "pdac", dockerHosts), "override_path = true", "override_path = false")
			},
			diffHas: "override_path = false",
			want:    []row{{"pdac", dockerHosts, "", Changed, true}},
		},
		{
			name:   "missing node file",
			mutate: func(t *testing.T, gen string) { must(t, os.Remove(filepath.Join(gen, "pdac", dockerHosts))) },
			want:   []row{{"pdac", dockerHosts, "", Missing, false}},
		},
		{
			name: "stray node file",
			mutate: func(t *testing.T, gen string) {
				p := filepath.Join(gen, "pdac", "_node/containerd/certs.d/gcr.io/hosts.toml")
				must(t, os.MkdirAll(filepath.Dir(p), 0o755))
				must(t, os.WriteFile(p, []byte("server = \"https://gcr.io\"\n"), 0o644))
			},
			want: []row{{"pdac", "_node/containerd/certs.d/gcr.io/hosts.toml", "", Extra, false}},
		},
		{
			name: "changed header only",
			mutate: func(t *testing.T, gen string) {
				edit(t, filepath.Join(gen, "pdac", firefly), "DO NOT EDIT.", "DO NOT EDIT")
			},
			diffHas: "DO NOT EDIT",
			want:    []row{{"pdac", firefly, "Deployment/portal/firefly", Changed, true}},
		},
		{
			name: "stale kustomization",
			mutate: func(t *testing.T, gen string) {
				edit(t, filepath.Join(gen, "pdac", manifest.KustomizationFile), "- "+firefly+"\n", "")
			},
			diffHas: firefly,
			want:    []row{{"pdac", manifest.KustomizationFile, "", Changed, true}},
		},
		{
			name: "instance folder nobody renders",
			mutate: func(t *testing.T, gen string) {
				must(t, os.MkdirAll(filepath.Join(gen, "old-dac"), 0o755))
				must(t, os.WriteFile(filepath.Join(gen, "old-dac", "kustomization.yaml"), []byte("resources: []\n"), 0o644))
			},
			want: []row{{"old-dac", "", "", Extra, false}},
		},
		{
			name:   "instance never rendered to generated/",
			mutate: func(t *testing.T, gen string) { must(t, os.RemoveAll(filepath.Join(gen, "pdac"))) },
			want:   nil, // filled below: every file missing
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			gen := filepath.Join(root, manifest.GeneratedDir)
			must(t, os.CopyFS(filepath.Join(gen, "pdac"), os.DirFS(filepath.Join(src, manifest.GeneratedDir, "pdac"))))
			tc.mutate(t, gen)
			got, err := Compare(root, results, true)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if tc.name == "instance never rendered to generated/" {
				if len(got) != len(results[0].Files) {
					t.Fatalf("got %d stale files, want all %d missing", len(got), len(results[0].Files))
				}
				for _, s := range got {
					if s.Change != Missing {
						t.Errorf("%s: %s, want missing", s.Path, s.Change)
					}
				}
				return
			}
			if diff := cmp.Diff(want, rows(got, tc.diffHas)); diff != "" {
				for _, s := range got {
					t.Log(s)
				}
				t.Errorf("stale (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCompareUnreadable: a generated/ that cannot be read is an error, not "current".
func TestCompareUnreadable(t *testing.T) {
	root := t.TempDir()
	gen := filepath.Join(root, manifest.GeneratedDir)
	must(t, os.MkdirAll(gen, 0o755))
	// generated/pdac is a file where a folder is due.
	must(t, os.WriteFile(filepath.Join(gen, "pdac"), []byte("x"), 0o644))
	r := &render.Result{Instance: "pdac", Files: map[string][]byte{"kustomization.yaml": []byte("x")}}
	if _, err := Compare(root, []*render.Result{r}, true); err == nil {
		t.Fatal("Compare succeeded on an unreadable generated/pdac")
	}
}

func TestStaleString(t *testing.T) {
	tests := []struct {
		in   Stale
		want string
	}{
		{Stale{Instance: "pdac", Path: "a/b.yaml", Object: "ConfigMap/a/b", Change: Missing}, "generated/pdac/a/b.yaml: missing (ConfigMap/a/b)"},
		{Stale{Instance: "old", Change: Extra}, "generated/old/: extra"},
		{Stale{Instance: "pdac", Path: "k.yaml", Change: Changed, Diff: "-a\n+b\n"}, "generated/pdac/k.yaml: changed\n    -a\n    +b"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.in.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func edit(t *testing.T, file, old, repl string) {
	t.Helper()
	b, err := os.ReadFile(file)
	must(t, err)
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not hold %q", file, old)
	}
	must(t, os.WriteFile(file, []byte(strings.Replace(string(b), old, repl, 1)), 0o644))
}
