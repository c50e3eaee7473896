package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/nexus"
	"github.com/lsst-dm/lsstgen/internal/nexus/nexustest"
	"github.com/lsst-dm/lsstgen/internal/render"
	"github.com/lsst-dm/lsstgen/internal/testrepo"
)

// TestRegistryProvision runs lsstgen registry provision against a fake Nexus: the first
// run prints what it created, the second that nothing changed; bad input and a refused
// password end with status 1 and an error that says what to do.
func TestRegistryProvision(t *testing.T) {
	fake, srv := nexustest.New(t, "admin-secret")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "registry.json")
	if err := os.WriteFile(cfg, []byte(`{
  "hosted": [{"name": "docker-hosted", "blobStore": "default", "writePolicy": "ALLOW_ONCE"}],
  "realms": ["NexusAuthenticatingRealm", "DockerToken"],
  "anonymousRead": ["docker-hosted"],
  "pushers": [{"user": "lsst-ci", "passwordEnv": "TEST_CI_PASSWORD", "repositories": ["docker-hosted"]}]
}`), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"realms": ["DockerToken"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_ADMIN_PASSWORD", "admin-secret")
	t.Setenv("TEST_WRONG_PASSWORD", "guess")
	t.Setenv("TEST_CI_PASSWORD", "ci-secret")
	base := []string{"registry", "provision", "--url", srv.URL, "--password-env", "TEST_ADMIN_PASSWORD", "--wait", "1s"}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"first run", append(base, "--config", cfg), 0,
			[]string{"created hosted repository docker-hosted", "updated realms", "created user lsst-ci", "holds the configuration: 7 objects, 7 created or updated"}, ""},
		{"second run", append(base, "--config", cfg), 0,
			[]string{"holds the configuration: 7 objects, 0 created or updated"}, ""},
		{"no url", []string{"registry", "provision", "--config", cfg}, 1, nil, "needs --url"},
		{"no config file", append(base, "--config", filepath.Join(dir, "none.json")), 1, nil, "reading the configuration"},
		{"bad config", append(base, "--config", bad), 1, nil, "the first must be NexusAuthenticatingRealm"},
		{"password unset", []string{"registry", "provision", "--url", srv.URL, "--config", cfg, "--password-env", "TEST_UNSET"}, 1, nil, "TEST_UNSET (--password-env) that holds admin's password is not set"},
		{"password refused", []string{"registry", "provision", "--url", srv.URL, "--config", cfg, "--password-env", "TEST_WRONG_PASSWORD"}, 1, nil, "GET /service/rest/v1/repositories/docker/hosted/docker-hosted: 401"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout.String(), stderr.String())
			}
			for _, w := range tc.stdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			if tc.stderr != "" && !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr.String())
			}
		})
	}
	fake.Lock()
	defer fake.Unlock()
	if fake.Users["lsst-ci"] == nil || fake.Users["lsst-ci"].Password != "ci-secret" {
		t.Error("the fake Nexus has no user lsst-ci with its password")
	}
}

// TestRenderedRegistry: every instance's rendered registry.json is a configuration
// registry provision accepts, with a proxy repository for each upstream the instance
// mirrors (the same the nodes' hosts.toml name), and provisions a fake Nexus; the Job runs
// it against the Nexus Service's port with both passwords; the Ingresses in front of
// Nexus's one port lift the body size limit.
func TestRenderedRegistry(t *testing.T) {
	results, err := render.All(testrepo.Root(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		t.Run(r.Instance, func(t *testing.T) {
			byID := map[string]*unstructured.Unstructured{}
			var cm *unstructured.Unstructured
			for _, u := range r.Objects {
				byID[manifest.ObjectID(u)] = u
				if u.GetKind() == "ConfigMap" && u.GetNamespace() == "registry" && strings.HasPrefix(u.GetName(), "nexus-provision-") {
					cm = u
				}
			}
			if cm == nil {
				t.Fatal("no ConfigMap registry/nexus-provision-*")
			}
			data, _, _ := unstructured.NestedString(cm.Object, "data", "registry.json")
			cfg, err := nexus.ParseConfig([]byte(data))
			if err != nil {
				t.Fatalf("registry.json: %v", err)
			}
			mirrors := r.Model.Instance.Registry.Mirrors
			if len(cfg.Proxies) != len(mirrors) {
				t.Errorf("%d proxy repositories, %d mirrors", len(cfg.Proxies), len(mirrors))
			}
			for _, p := range cfg.Proxies {
				found := false
				for _, m := range mirrors {
					found = found || (m.Repository == p.Name && m.Remote == p.RemoteURL)
				}
				if !found {
					t.Errorf("proxy repository %+v is no mirror of the model", p)
				}
			}

			// The vetted path: what CI pushes to staging is pulled by nothing until promoted.
			pr := cfg.Promotion
			if pr == nil || pr.From != "docker-staging" || pr.To != "docker-hosted" || pr.User != "lsst-promoter" {
				t.Fatalf("promotion %+v, want docker-staging → docker-hosted by lsst-promoter", pr)
			}
			if slices.Contains(cfg.AnonymousRead, pr.From) || slices.ContainsFunc(cfg.Groups, func(g nexus.GroupRepository) bool { return slices.Contains(g.Members, pr.From) }) {
				t.Error("the staging repository can be pulled without promotion (anonymous read or a group member)")
			}
			for _, p := range cfg.Pushers {
				switch {
				case p.User == "lsst-ci" && !slices.Equal(p.Repositories, []string{pr.From}):
					t.Errorf("LSST CI pushes to %v, want staging only", p.Repositories)
				case p.User == pr.User && !slices.Equal(p.Repositories, []string{pr.To}):
					t.Errorf("the promoter pushes to %v, want the vetted repository only", p.Repositories)
				case p.User != "lsst-ci" && p.User != pr.User && slices.Contains(p.Repositories, pr.To):
					t.Errorf("%s may push to the vetted repository", p.User)
				}
			}
			if byID["Ingress/registry/registry-staging"] == nil {
				t.Error("no Ingress for the staging repository, where CI pushes")
			}

			job := byID["Job/registry/nexus-provision"]
			if job == nil {
				t.Fatal("no Job registry/nexus-provision")
			}
			var js batchv1.Job
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(job.Object, &js); err != nil {
				t.Fatal(err)
			}
			ct := js.Spec.Template.Spec.Containers[0]
			wantArgs := []string{"registry", "provision", "--url=http://nexus.registry.svc:8081", "--config=/etc/lsstgen/registry.json"}
			if !slices.Equal(ct.Args, wantArgs) {
				t.Errorf("the Job runs %v, want %v", ct.Args, wantArgs)
			}
			var envs []string
			for _, e := range ct.Env {
				envs = append(envs, e.Name)
			}
			for _, p := range cfg.Pushers {
				if !slices.Contains(envs, p.PasswordEnv) {
					t.Errorf("the Job has no %s for pusher %s (it has %v)", p.PasswordEnv, p.User, envs)
				}
			}
			if !slices.Contains(envs, "NEXUS_ADMIN_PASSWORD") || js.Spec.Template.Spec.Volumes[0].ConfigMap.Name != cm.GetName() {
				t.Errorf("the Job lacks the admin password or the configuration: env %v, volumes %+v", envs, js.Spec.Template.Spec.Volumes)
			}
			var ports []int64
			if svc := byID["Service/registry/nexus"]; svc != nil {
				list, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
				for _, p := range list {
					n, _, _ := unstructured.NestedInt64(p.(map[string]any), "port")
					ports = append(ports, n)
				}
			}
			if !slices.Equal(ports, []int64{8081}) {
				t.Errorf("Service registry/nexus serves %v, want 8081 only", ports)
			}
			for _, name := range []string{"registry", "registry-v2"} {
				ing := byID["Ingress/registry/"+name]
				if ing == nil {
					t.Fatalf("no Ingress registry/%s", name)
				}
				if a := ing.GetAnnotations(); a["nginx.ingress.kubernetes.io/proxy-body-size"] != "0" || a["nginx.ingress.kubernetes.io/proxy-request-buffering"] != "off" {
					t.Errorf("Ingress %s keeps a body limit or buffering: %v", name, a)
				}
			}

			// What the Job would do, against a fake Nexus: create, then nothing.
			fake, srv := nexustest.New(t, "admin-secret")
			opts := nexus.Options{Wait: time.Second, Poll: time.Millisecond, LookupEnv: func(string) (string, bool) { return "ci-secret", true }}
			c := &nexus.Client{BaseURL: srv.URL, User: "admin", Password: "admin-secret"}
			for i, want := range []bool{true, false} {
				rep, err := nexus.Provision(context.Background(), c, cfg, opts)
				if err != nil {
					t.Fatalf("run %d: %v", i+1, err)
				}
				if changed := rep.Changed() > 0 && len(nexustest.Writes(fake.Calls())) > 0; changed != want {
					t.Errorf("run %d changed %d objects; want changes: %v", i+1, rep.Changed(), want)
				}
			}
		})
	}
}

// TestRegistryPromoteCommand: registry promote reads the instance's promotion from
// generated/, and refuses, with status 1 and a JSON line saying why, what it must not
// copy; bad input says what is missing. (The copy itself is tested in internal/nexus.)
func TestRegistryPromoteCommand(t *testing.T) {
	t.Setenv("TEST_PROMOTER_PASSWORD", "pw")
	root := testrepo.Root(t)
	base := []string{"-C", root, "registry", "promote", "--url", "http://127.0.0.1:1", "--password-env", "TEST_PROMOTER_PASSWORD"}
	code, out, errOut := runCmd(t, append(base, "--instance", "pdac", "lsst-sqre/sciplat-lab:w_2026_47")...)
	if code != 1 || !strings.Contains(out, `"result":"refused"`) || !strings.Contains(out, `"user":"lsst-promoter"`) || !strings.Contains(errOut, "not pinned by digest") {
		t.Errorf("a tag: exit %d, stdout %q, stderr %q; want 1, a refused record and the reason", code, out, errOut)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no instance", append(base, "x@sha256:"+strings.Repeat("0", 64)), "needs --instance"},
		{"unknown instance", append(base, "--instance", "nowhere", "x@sha256:"+strings.Repeat("0", 64)), "nowhere"},
		{"no password", []string{"-C", root, "registry", "promote", "--url", "http://127.0.0.1:1", "--password-env", "TEST_UNSET_PASSWORD", "--instance", "pdac", "x@sha256:" + strings.Repeat("0", 64)}, "TEST_UNSET_PASSWORD"},
		{"Nexus not there", append(base, "--instance", "pdac", "x@sha256:"+strings.Repeat("0", 64)), "reading x@sha256:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, tc.args...)
			if code != 1 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 saying %q", code, errOut, tc.want)
			}
		})
	}
}
