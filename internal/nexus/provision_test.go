package nexus_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lsst-dm/lsstgen/internal/nexus"
	"github.com/lsst-dm/lsstgen/internal/nexus/nexustest"
)

// config is a registry's configuration as platform/registry.cue renders it, in small.
const config = `{
  "blobStores": [{"name": "cache", "path": "cache"}],
  "hosted": [{"name": "docker-hosted", "blobStore": "default", "writePolicy": "ALLOW_ONCE"}],
  "proxies": [
    {"name": "docker-proxy-docker.io", "blobStore": "cache", "remoteUrl": "https://registry-1.docker.io", "indexType": "HUB"},
    {"name": "docker-proxy-quay.io", "blobStore": "cache", "remoteUrl": "https://quay.io", "indexType": "REGISTRY"}
  ],
  "groups": [{"name": "docker-group", "blobStore": "default", "members": ["docker-hosted", "docker-proxy-docker.io", "docker-proxy-quay.io"]}],
  "realms": ["NexusAuthenticatingRealm", "DockerToken"],
  "anonymousRead": ["docker-hosted", "docker-group", "docker-proxy-docker.io", "docker-proxy-quay.io"],
  "pushers": [{"user": "lsst-ci", "passwordEnv": "LSST_CI_PASSWORD", "repositories": ["docker-hosted"]}]
}`

func setup(t *testing.T) (*nexustest.Fake, *nexus.Client, *nexus.Config, nexus.Options) {
	t.Helper()
	fake, srv := nexustest.New(t, "admin-secret")
	cfg, err := nexus.ParseConfig([]byte(config))
	if err != nil {
		t.Fatal(err)
	}
	opts := nexus.Options{Wait: 5 * time.Second, Poll: time.Millisecond, LookupEnv: func(k string) (string, bool) {
		if k == "LSST_CI_PASSWORD" {
			return "ci-secret", true
		}
		return "", false
	}}
	return fake, &nexus.Client{BaseURL: srv.URL, User: "admin", Password: "admin-secret"}, cfg, opts
}

func run(t *testing.T, c *nexus.Client, cfg *nexus.Config, opts nexus.Options) *nexus.Report {
	t.Helper()
	r, err := nexus.Provision(context.Background(), c, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func verbs(r *nexus.Report, verb string) []string {
	var out []string
	for _, a := range r.Actions {
		if a.Verb == verb {
			out = append(out, a.Object)
		}
	}
	return out
}

// TestProvisionCreatesThenChangesNothing: the first run against a fresh Nexus creates every
// object and sets the realms and anonymous access, with exactly the writes needed; the
// second run reads everything and writes nothing.
func TestProvisionCreatesThenChangesNothing(t *testing.T) {
	fake, c, cfg, opts := setup(t)
	fake.NotWritable = 3 // Nexus still starting: the run waits.
	r := run(t, c, cfg, opts)
	wantCreated := []string{
		"blob store cache", "hosted repository docker-hosted", "proxy repository docker-proxy-docker.io",
		"proxy repository docker-proxy-quay.io", "group repository docker-group",
		"role lsst-anonymous-read", "role lsst-ci-push", "user lsst-ci",
	}
	if d := cmp.Diff(wantCreated, verbs(r, "created")); d != "" {
		t.Errorf("created (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"realms", "anonymous access", "user anonymous"}, verbs(r, "updated")); d != "" {
		t.Errorf("updated (-want +got):\n%s", d)
	}
	writes := nexustest.Writes(fake.Calls())
	wantWrites := []string{
		"POST /service/rest/v1/blobstores/file",
		"POST /service/rest/v1/repositories/docker/hosted",
		"POST /service/rest/v1/repositories/docker/proxy",
		"POST /service/rest/v1/repositories/docker/proxy",
		"POST /service/rest/v1/repositories/docker/group",
		"PUT /service/rest/v1/security/realms/active",
		"POST /service/rest/v1/security/roles",
		"POST /service/rest/v1/security/roles",
		"POST /service/rest/v1/security/users",
		"PUT /service/rest/v1/security/anonymous",
		"PUT /service/rest/v1/security/users/anonymous",
	}
	if d := cmp.Diff(wantWrites, writes); d != "" {
		t.Errorf("writes of the first run (-want +got):\n%s", d)
	}

	// What Nexus now holds.
	fake.Lock()
	if d := cmp.Diff([]string{"NexusAuthenticatingRealm", "DockerToken"}, fake.Realms); d != "" {
		t.Errorf("realms (-want +got):\n%s", d)
	}
	if fake.Anonymous["enabled"] != true || fake.Users["lsst-ci"].Password != "ci-secret" {
		t.Errorf("anonymous %v, lsst-ci's password %q", fake.Anonymous, fake.Users["lsst-ci"].Password)
	}
	if got := fake.Repositories["docker-hosted"]["storage"].(map[string]any)["writePolicy"]; got != "ALLOW_ONCE" {
		t.Errorf("docker-hosted's write policy %v", got)
	}
	if got := fake.Users["anonymous"].Fields["roles"]; !cmp.Equal(got, []any{"lsst-anonymous-read"}) {
		t.Errorf("anonymous's roles %v", got)
	}
	fake.Unlock()

	r = run(t, c, cfg, opts)
	if w := nexustest.Writes(fake.Calls()); len(w) > 0 || r.Changed() != 0 {
		t.Errorf("the second run wrote %v and reports %d changes: %v", w, r.Changed(), r.Actions)
	}
	if n := len(verbs(r, "unchanged")); n != 11 {
		t.Errorf("the second run found %d objects unchanged, want 11: %v", n, r.Actions)
	}
}

// TestProvisionCorrectsDrift: what an admin changed by hand is put back, and only that.
func TestProvisionCorrectsDrift(t *testing.T) {
	fake, c, cfg, opts := setup(t)
	run(t, c, cfg, opts)
	fake.Calls()

	fake.Lock()
	fake.Repositories["docker-proxy-quay.io"]["proxy"].(map[string]any)["remoteUrl"] = "https://quay.example"
	fake.Realms = []string{"DockerToken", "NexusAuthenticatingRealm"}
	fake.Roles["lsst-ci-push"]["privileges"] = []any{"nx-repository-view-docker-docker-group-add"}
	fake.Users["lsst-ci"].Password = "changed"
	fake.Anonymous["enabled"] = false
	fake.Unlock()

	r := run(t, c, cfg, opts)
	want := []string{
		"updated proxy repository docker-proxy-quay.io (proxy.remoteUrl)",
		"updated realms ([DockerToken NexusAuthenticatingRealm] → [NexusAuthenticatingRealm DockerToken])",
		"updated role lsst-ci-push (privileges)",
		"updated user lsst-ci (password)",
		"updated anonymous access (enabled true)",
	}
	var got []string
	for _, a := range r.Actions {
		if a.Verb != "unchanged" {
			got = append(got, a.String())
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("corrections (-want +got):\n%s", d)
	}
	wantWrites := []string{
		"PUT /service/rest/v1/repositories/docker/proxy/docker-proxy-quay.io",
		"PUT /service/rest/v1/security/realms/active",
		"PUT /service/rest/v1/security/roles/lsst-ci-push",
		"PUT /service/rest/v1/security/users/lsst-ci/change-password",
		"PUT /service/rest/v1/security/anonymous",
	}
	if d := cmp.Diff(wantWrites, nexustest.Writes(fake.Calls())); d != "" {
		t.Errorf("writes (-want +got):\n%s", d)
	}
	fake.Lock()
	defer fake.Unlock()
	if fake.Users["lsst-ci"].Password != "ci-secret" || fake.Repositories["docker-proxy-quay.io"]["proxy"].(map[string]any)["remoteUrl"] != "https://quay.io" {
		t.Error("the drift was not corrected in Nexus")
	}
}

// TestProvisionErrors: a wrong admin password, a failing Nexus, a Nexus that never becomes
// writable and an unset password each stop the run with an error that names the call or
// the cause, and write nothing after it.
func TestProvisionErrors(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(f *nexustest.Fake, c *nexus.Client, opts *nexus.Options)
		want   []string
		status int
	}{
		{"wrong admin password", func(f *nexustest.Fake, c *nexus.Client, _ *nexus.Options) { c.Password = "guess" },
			[]string{"GET /service/rest/v1/blobstores/file/cache", "401", "admin password"}, http.StatusUnauthorized},
		{"Nexus fails", func(f *nexustest.Fake, _ *nexus.Client, _ *nexus.Options) {
			f.Fail["POST /service/rest/v1/repositories/docker/proxy"] = http.StatusInternalServerError
		}, []string{"creating proxy repository docker-proxy-docker.io", "POST /service/rest/v1/repositories/docker/proxy", "500", "nexus.log"}, http.StatusInternalServerError},
		{"never writable", func(f *nexustest.Fake, _ *nexus.Client, o *nexus.Options) {
			f.NotWritable = 1 << 30
			o.Wait = 20 * time.Millisecond
		}, []string{"did not accept writes within 20ms", "GET /service/rest/v1/status/writable", "503"}, http.StatusServiceUnavailable},
		{"password unset", func(_ *nexustest.Fake, _ *nexus.Client, o *nexus.Options) {
			o.LookupEnv = func(string) (string, bool) { return "", false }
		}, []string{"pusher lsst-ci", "LSST_CI_PASSWORD", "not set"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake, c, cfg, opts := setup(t)
			tc.break_(fake, c, &opts)
			_, err := nexus.Provision(context.Background(), c, cfg, opts)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if tc.status != 0 {
				var ae *nexus.APIError
				if !asAPIError(err, &ae) || ae.Status != tc.status {
					t.Errorf("error %v is not an APIError with status %d", err, tc.status)
				}
			}
			writes := nexustest.Writes(fake.Calls())
			if tc.name == "Nexus fails" {
				// The blob store and the hosted repository were created before the failure.
				if len(writes) != 3 || writes[2] != "POST /service/rest/v1/repositories/docker/proxy" {
					t.Errorf("writes %v, want the blob store, the hosted repository and the failed proxy", writes)
				}
			} else if len(writes) > 0 {
				t.Errorf("wrote %v", writes)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct{ name, edit, want string }{
		{"unknown field", `"realms"=>"realmz"`, `unknown field "realmz"`},
		{"authenticating realm not first", `["NexusAuthenticatingRealm", "DockerToken"]=>["DockerToken", "NexusAuthenticatingRealm"]`, "the first must be NexusAuthenticatingRealm"},
		{"unknown group member", `"docker-proxy-quay.io"]}]=>"docker-proxy-gcr.io"]}]`, `member "docker-proxy-gcr.io" is not another configured repository`},
		{"unknown blob store", `"blobStore": "cache", "remoteUrl": "https://quay.io"=>"blobStore": "kash", "remoteUrl": "https://quay.io"`, `uses blob store "kash"`},
		{"bad write policy", `"ALLOW_ONCE"=>"ONCE"`, `writePolicy "ONCE"`},
		{"remote not https", `"https://quay.io"=>"http://quay.io"`, `remoteUrl "http://quay.io"`},
		{"pusher of an unknown repository", `"repositories": ["docker-hosted"]=>"repositories": ["docker-staging"]`, `pusher "lsst-ci": "docker-staging"`},
		{"repository twice", `{"name": "docker-proxy-quay.io"=>{"name": "docker-hosted"`, `repository "docker-hosted" is configured twice`},
		{"not JSON", `{=>[`, "not a registry configuration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old, new, _ := strings.Cut(tc.edit, "=>")
			if !strings.Contains(config, old) {
				t.Fatalf("the configuration has no %q", old)
			}
			_, err := nexus.ParseConfig([]byte(strings.Replace(config, old, new, 1)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
	if _, err := nexus.LoadConfig("testdata/none.json"); err == nil || !strings.Contains(err.Error(), "reading the configuration") {
		t.Errorf("a missing file: %v", err)
	}
}

// TestProvisionPusherReads: a pusher's reads are repositories it may pull from and never
// push to: the promoter reads staging and pushes to the vetted repository.
func TestProvisionPusherReads(t *testing.T) {
	fake, c, _, opts := setup(t)
	cfg, err := nexus.ParseConfig([]byte(`{
  "hosted": [{"name": "docker-hosted", "blobStore": "default", "writePolicy": "ALLOW_ONCE"},
             {"name": "docker-staging", "blobStore": "default", "writePolicy": "ALLOW"}],
  "realms": ["NexusAuthenticatingRealm", "DockerToken"],
  "pushers": [{"user": "lsst-promoter", "passwordEnv": "LSST_CI_PASSWORD", "repositories": ["docker-hosted"], "reads": ["docker-staging"]}]
}`))
	if err != nil {
		t.Fatal(err)
	}
	run(t, c, cfg, opts)
	fake.Lock()
	defer fake.Unlock()
	var got []string
	for _, p := range fake.Roles["lsst-promoter-push"]["privileges"].([]any) {
		got = append(got, p.(string))
	}
	want := []string{
		"nx-repository-view-docker-docker-hosted-read", "nx-repository-view-docker-docker-hosted-browse",
		"nx-repository-view-docker-docker-hosted-add", "nx-repository-view-docker-docker-hosted-edit",
		"nx-repository-view-docker-docker-staging-read", "nx-repository-view-docker-docker-staging-browse",
	}
	slices.Sort(want)
	slices.Sort(got)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("the promoter's privileges (-want +got):\n%s", d)
	}
	if _, err := nexus.ParseConfig([]byte(`{"realms": ["NexusAuthenticatingRealm"], "pushers": [{"user": "p", "passwordEnv": "P", "repositories": [], "reads": ["nowhere"]}]}`)); err == nil || !strings.Contains(err.Error(), `"nowhere" is not a configured repository`) {
		t.Errorf("a read of an unknown repository: %v", err)
	}
}
