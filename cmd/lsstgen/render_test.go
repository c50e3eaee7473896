package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lsst-dm/lsstgen/internal/testrepo"
)

// TestRenderErrors: each class of bad input is reported with every error's file:line:col
// relative to the repository root, exit status 1, and nothing written.
func TestRenderErrors(t *testing.T) {
	// The schema's rule that GPFS needs LDAP's UIDs, by its line.
	gpfsNeedsLDAP := "schema/instance.cue:" + lineOf(t, "schema/instance.cue", `userMapping: uidSource: "ldap"`) + ":"
	tests := []struct {
		name string
		// file is added to instances/pdac/ as zz_case.cue, unless empty.
		file string
		// edit replaces old with new in instances/pdac/instance.cue, unless old is empty.
		old, new string
		args     []string
		want     []string
		// deny are texts stderr must not hold.
		deny []string
	}{{
		name: "syntax error",
		file: "package instance\n\ninstance: {\n\taspects: x\n",
		want: []string{"expected '}', found 'EOF'", "instances/pdac/zz_case.cue:4:"},
	}, {
		name: "conflict",
		file: "package instance\n\ninstance: site: \"la-serena\"\n",
		want: []string{`instance.site: conflicting values "la-serena" and "ncsa"`, "instances/pdac/instance.cue:12:15", "instances/pdac/zz_case.cue:3:17"},
	}, {
		name: "unknown field",
		file: "package instance\n\ninstance: aspects: portal: firefly: replicsa: 2\n",
		want: []string{"instance.aspects.portal.firefly.replicsa: field not allowed", "instances/pdac/zz_case.cue:3:37"},
	}, {
		name: "unknown field in a Kubernetes object",
		file: "package instance\n\nobjects: namespaced: portal: Deployment: firefly: spec: replica: 2\n",
		want: []string{"objects.namespaced.portal.Deployment.firefly.spec.replica: field not allowed", "instances/pdac/zz_case.cue:3:57"},
	}, {
		name: "missing required value",
		old:  "maxUsers: 40", new: "",
		want: []string{"instance.aspects.notebook.maxUsers: missing required value", "schema/instance.cue:", "under instances/pdac/instance.cue:"},
	}, {
		name: "wrong type",
		file: "package instance\n\ninstance: aspects: portal: firefly: replicas: \"two\"\n",
		want: []string{`conflicting values 1 and "two" (mismatched types int and string)`, "instances/pdac/zz_case.cue:3:47"},
	}, {
		name: "node not in the inventory",
		file: "package instance\n\ninstance: nodes: \"lsst-kub099\": role: \"general\"\n",
		want: []string{`instance.nodes."lsst-kub099": field not allowed`, "instances/pdac/zz_case.cue:3:18"},
	}, {
		name: "a development space's container default above its quota",
		file: "package instance\n\ninstance: development: teams: sqre: container: memoryMiB: 40000\n",
		want: []string{"instance.development.teams.sqre.container.memoryMiB: invalid value 40000 (out of bound <=32768)", "instances/pdac/zz_case.cue:3:"},
	}, {
		name: "a development space's quota below the containers' default cpu",
		old:  "quota: {cpuMillis: 8000,", new: "quota: {cpuMillis: 200,",
		want: []string{"instance.development.teams.sqre.container.cpuMillis: missing required value (incomplete value >=10 & <=200 & int): set it in the instance", "under instances/pdac/instance.cue:"},
	}, {
		name: "a development space's ephemeral-storage default above its quota",
		file: "package instance\n\ninstance: development: teams: dax: container: ephemeralStorageMiB: 30000\n",
		want: []string{"instance.development.teams.dax.container.ephemeralStorageMiB: invalid value 30000 (out of bound <=20480)", "instances/pdac/zz_case.cue:3:"},
	}, {
		name: "a development space reaching no component of the platform",
		old:  `reaches: ["api/tap"]`, new: `reaches: ["api/nope"]`,
		want: []string{`flows."dev-dax/workloads -> api/nope": no component api/nope: namespace api has cutout, datalink, tap`, "instances/pdac/instance.cue:" + lineOf(t, "instances/pdac/instance.cue", `reaches: ["api/tap"]`) + ":14"},
	}, {
		name: "a development space reaching another",
		old:  `reaches: ["api/tap"]`, new: `reaches: ["api/tap", "dev-sqre/workloads"]`,
		want: []string{`instance.development.teams.dax.reaches.1: invalid value "dev-sqre/workloads" (out of bound !~"^dev-")`, "instances/pdac/instance.cue:" + lineOf(t, "instances/pdac/instance.cue", `reaches: ["api/tap"]`) + ":", "schema/development.cue:" + lineOf(t, "schema/development.cue", `reaches: [...#ComponentName`) + ":"},
	}, {
		name: "a development space reaching a component that opens no port",
		old:  `reaches: ["api/tap"]`, new: `reaches: ["qserv-os-admin/qserv-data-admin"]`,
		want: []string{`flows."dev-dax/workloads -> qserv-os-admin/qserv-data-admin": qserv-os-admin/qserv-data-admin opens no port`, "instances/pdac/instance.cue:" + lineOf(t, "instances/pdac/instance.cue", `reaches: ["api/tap"]`) + ":14"},
	}, {
		name: "a development space administered by the break-glass group",
		old:  `admins: ["lsst-dax-devs"]`, new: `admins: ["lsst-k8s-break-glass"]`,
		want: []string{`invalid value "lsst-k8s-break-glass" (out of bound !="lsst-k8s-break-glass")`, "instances/pdac/instance.cue:" + lineOf(t, "instances/pdac/instance.cue", `admins: ["lsst-dax-devs"]`) + ":", "schema/instance.cue:" + lineOf(t, "schema/instance.cue", `development: teams: [_]: admins:`) + ":"},
	}, {
		name: "forwarding switched off with the ELK endpoint left in",
		old:  "\tlogging: {\n", new: "\tlogging: {forward: false\n",
		want: []string{"instance.logging.elk: conflicting values", "logging.forward is false, so nothing is forwarded: remove logging.elk", "logging.forward is false, so no forwarder runs: remove logging.forwarder", "instances/pdac/instance.cue:" + lineOf(t, "instances/pdac/instance.cue", "\t\telk: {") + ":"},
	}, {
		name: "admins of a namespace the instance does not render",
		file: "package instance\n\ninstance: access: admins: notbook: [\"lsst-sqre\"]\n",
		want: []string{"instance.access.admins.notbook: the instance renders no namespace notbook (it renders api, dashboard,", "correct the name, or remove it", "instances/pdac/zz_case.cue:3:27"},
	}, {
		name: "a mistake in the notebook is reported as itself, not as its namespaces' admins",
		old:  "maxUsers: 40", new: "maxUsers: 0",
		want: []string{"instance.aspects.notebook.maxUsers: invalid value 0 (out of bound >=1)"},
		deny: []string{"access.admins"},
	}, {
		name: "a mistake in the portal is reported as itself, not as its prerelease's",
		old:  "firefly: {replicas: 1, resources: {cpuMillis: 2000", new: "firefly: {replicas: 0, resources: {cpuMillis: 2000",
		want: []string{"instance.aspects.portal.firefly.replicas: invalid value 0 (out of bound >=1)"},
		deny: []string{"prerelease"},
	}, {
		name: "internal networks on a public instance",
		file: "package instance\n\ninstance: internalCIDRs: [\"10.0.0.0/8\"]\n",
		want: []string{`instance.internalCIDRs: invalid value ["10.0.0.0/8"] (does not satisfy list.MaxItems(0))`, "instances/pdac/zz_case.cue:3:", "schema/instance.cue:" + lineOf(t, "schema/instance.cue", "internalCIDRs: list.MaxItems(0)") + ":"},
	}, {
		name: "GPFS home with CILogon UIDs",
		old:  `uidSource: "ldap"`, new: `uidSource: "cilogon"`,
		want: []string{`instance.userMapping.uidSource: conflicting values "ldap" and "cilogon"`, gpfsNeedsLDAP, "instances/pdac/instance.cue:" + lineOf(t, "instances/pdac/instance.cue", `uidSource: "ldap"`) + ":14"},
	}, {
		name: "another identity provider's users mapped to LDAP",
		file: "package instance\n\ninstance: userMapping: identityProviders: \"https://accounts.google.com\": {usernameClaim: \"email\", domain: \"gmail.com\"}\n",
		want: []string{`instance.userMapping.identityProviders."https://accounts.google.com"`, "conflicting values", "sites/ncsa.cue:", "instances/pdac/zz_case.cue:3:"},
	}, {
		name: "the hub's database on a qserv node",
		old:  `node: "lsst-kub006"`, new: `node: "lsst-kub002"`,
		want: []string{`instance.aspects.notebook.hub.node: conflicting values "lsst-kub006" and "lsst-kub002"`, "instances/pdac/instance.cue:47:11"},
	}, {
		name: "unknown site",
		old:  `site:        "ncsa"`, new: `site:        "mars"`,
		want: []string{`instance.site: conflicting values "ncsa" and "mars"`, `instance.site: conflicting values "la-serena" and "mars"`, "instances/pdac/instance.cue:12:15"},
	}, {
		name: "site fact written in the instance",
		file: "package instance\n\ninstance: logging: elk: host: \"elk.example\"\n",
		want: []string{`instance.logging.elk.host: conflicting values "elk.ncsa.example" and "elk.example"`, "sites/ncsa.cue:", "instances/pdac/zz_case.cue:3:31"},
	}, {
		name: "resources in the wrong unit",
		file: "package instance\n\ninstance: aspects: portal: suit: resources: memory: \"512Mi\"\n",
		want: []string{"instance.aspects.portal.suit.resources.memory: field not allowed", "instances/pdac/zz_case.cue:3:45"},
	}, {
		name: "an SSH key for an https:// repository",
		file: "package instance\n\ninstance: sync: credentials: {secret: \"lsstgen-git\", kind: \"ssh\"}\n",
		want: []string{"instance.sync.credentials.#anSSHKeyNeedsAnSSHRepo", `invalid value "https://git.lsst.example/lsst-dm/lsstgen.git"`, "instances/pdac/placeholders.cue:11:"},
	}, {
		name: "unknown instance",
		args: []string{"render", "pdca"},
		want: []string{`unknown instance "pdca"`, "[pdac]"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := testrepo.Copy(t, "pdac")
			before := testrepo.Snapshot(t, filepath.Join(root, "generated"))
			if len(before) == 0 {
				t.Fatal("the copy has no generated/pdac to protect")
			}
			if tt.file != "" {
				testrepo.WriteFile(t, root, "instances/pdac/zz_case.cue", tt.file)
			}
			if tt.old != "" {
				p := filepath.Join(root, "instances/pdac/instance.cue")
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Contains(data, []byte(tt.old)) {
					t.Fatalf("instance.cue has no %q to edit", tt.old)
				}
				testrepo.WriteFile(t, root, "instances/pdac/instance.cue", strings.Replace(string(data), tt.old, tt.new, 1))
			}
			args := tt.args
			if args == nil {
				args = []string{"render"}
			}
			wantRenderFails(t, root, before, args, tt.want, tt.deny)
		})
	}
}

// TestPrereleaseNeedsTheAspect: a portal prerelease on an instance that runs no portal
// (commissioning) is refused at the instance's line, saying why, and writes nothing.
func TestPrereleaseNeedsTheAspect(t *testing.T) {
	root := testrepo.Copy(t, "commissioning")
	before := testrepo.Snapshot(t, filepath.Join(root, "generated"))
	testrepo.WriteFile(t, root, "instances/commissioning/zz_case.cue", `package instance

import "github.com/lsst-dm/lsstgen/platform"

instance: development: prerelease: portal: {
	firefly: image: platform.images.firefly
	suit: image:    platform.images.suit
}
`)
	wantRenderFails(t, root, before, []string{"render", "commissioning"}, []string{
		"instance.development.prerelease.portal: a portal prerelease runs beside the instance's portal, and this instance has no aspects.portal: enable the portal, or remove the prerelease",
		"instances/commissioning/zz_case.cue:5:",
	}, nil)
}

// TestForwardingNeedsTheSitesELK: an instance that forwards pod logs on a site that does
// not (and so names no ELK stack) is refused, saying what to give or set, and writes
// nothing.
func TestForwardingNeedsTheSitesELK(t *testing.T) {
	root := testrepo.Copy(t, "pdac")
	before := testrepo.Snapshot(t, filepath.Join(root, "generated"))
	site := filepath.Join(root, "sites/ncsa.cue")
	data, err := os.ReadFile(site)
	if err != nil {
		t.Fatal(err)
	}
	elk := regexp.MustCompile(`(?s)\n\telk: \{.*?\n\t\}\n`)
	if !elk.Match(data) {
		t.Fatal("sites/ncsa.cue has no elk block to remove")
	}
	testrepo.WriteFile(t, root, "sites/ncsa.cue", elk.ReplaceAllString(string(data), "\n\tlogs: forward: false\n"))
	testrepo.WriteFile(t, root, "instances/pdac/zz_case.cue", "package instance\n\ninstance: logging: forward: true\n")
	wantRenderFails(t, root, before, []string{"render", "pdac"}, []string{
		"instance.logging: the instance forwards pod logs, but its site names no ELK stack: give the site an elk (host, cidr) in sites/, or set logging.forward: false",
		"instances/pdac/instance.cue:" + lineOf(t, "instances/pdac/instance.cue", "\t\telk: {") + ":",
	}, nil)
}

// wantRenderFails runs lsstgen with args in the copy at root and wants it to fail once,
// with exit status 1, an error that holds every text of want and none of deny and names
// paths relative to the repository, and generated/ as it was (before).
func wantRenderFails(t *testing.T, root string, before map[string]string, args, want, deny []string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), append([]string{"-C", root}, args...), &stdout, &stderr); code != 1 {
		t.Errorf("exit status %d, want 1; stderr:\n%s", code, stderr.String())
	}
	for _, w := range want {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
		}
	}
	for _, d := range deny {
		if strings.Contains(stderr.String(), d) {
			t.Errorf("stderr holds %q:\n%s", d, stderr.String())
		}
	}
	if strings.Contains(stderr.String(), root) {
		t.Errorf("stderr names the absolute folder %s instead of paths relative to the repository root:\n%s", root, stderr.String())
	}
	if n := strings.Count(stderr.String(), "lsstgen:"); n != 1 {
		t.Errorf("the error is printed %d times, want once:\n%s", n, stderr.String())
	}
	if diff := cmp.Diff(before, testrepo.Snapshot(t, filepath.Join(root, "generated"))); diff != "" {
		t.Errorf("generated/ changed (-before +after):\n%s", diff)
	}
}

// TestRenderWritesAndReports renders a copy and wants the summary line and the files.
func TestRenderWritesAndReports(t *testing.T) {
	root := testrepo.Copy(t, "pdac")
	if err := os.RemoveAll(filepath.Join(root, "generated")); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-C", filepath.Join(root, "schema"), "render"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "rendered pdac: ") {
		t.Errorf("stdout lacks the summary:\n%s", stdout.String())
	}
	if _, err := os.Stat(filepath.Join(root, "generated/pdac/kustomization.yaml")); err != nil {
		t.Error(err)
	}
}

// TestNoRepository: outside a repository the command says so and how to fix it.
func TestNoRepository(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-C", t.TempDir(), "render"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "no lsstgen repository") || !strings.Contains(stderr.String(), "-C DIR") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr.String())
	}
}

// lineOf is the number of the first line of the repository's file holding text.
func lineOf(t *testing.T, file, text string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testrepo.Root(t), file))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, text) {
			return strconv.Itoa(i + 1)
		}
	}
	t.Fatalf("no line of %s holds %q", file, text)
	return ""
}

// TestRenderSyncCredentials: an instance that names its repository's credentials and a
// webhook renders the daemon with the Secrets mounted read-only and the flags that read
// them, the webhook's Service, Ingress, flow and the leader's right to its EndpointSlice,
// lists the Secrets among those made out of band, and validates with no finding.
func TestRenderSyncCredentials(t *testing.T) {
	root := testrepo.Copy(t, "pdac")
	testrepo.WriteFile(t, root, "instances/pdac/zz_case.cue",
		"package instance\n\ninstance: sync: credentials: {secret: \"lsstgen-git\", kind: \"token\", ca: true}\n"+
			"instance: sync: webhook: secret: \"lsstgen-webhook\"\n")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-C", root, "render", "pdac"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	data, err := os.ReadFile(filepath.Join(root, "generated/pdac/lsstgen-system/deployment-lsstgen-sync.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"--git-token-file=/etc/lsstgen/git/token", "--git-ca-file=/etc/lsstgen/git/ca.crt",
		"secretName: lsstgen-git", "defaultMode: 292", "mountPath: /etc/lsstgen/git", "readOnly: true",
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the daemon's Deployment lacks %q:\n%s", want, data)
		}
	}
	if strings.Contains(string(data), "--git-ssh-key-file") {
		t.Error("a token's Deployment passes an SSH key")
	}
	for _, want := range []string{"--webhook-addr=:9091", "--webhook-secret-file=/etc/lsstgen/webhook/secret", "--webhook-service=lsstgen-sync-webhook",
		"fieldPath: status.podIP", "secretName: lsstgen-webhook", "containerPort: 9091"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the daemon's Deployment lacks %q", want)
		}
	}
	for file, wants := range map[string][]string{
		"generated/pdac/lsstgen-system/service-lsstgen-sync-webhook.yaml": {"port: 9091"},
		"generated/pdac/lsstgen-system/ingress-lsstgen-sync-webhook.yaml": {"host: sync.pdac.lsst.example", "path: /hooks/github", "name: lsstgen-sync-webhook"},
		"generated/pdac/lsstgen-system/role-lsstgen-sync.yaml":            {"endpointslices"},
	} {
		b, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Error(err)
			continue
		}
		for _, want := range wants {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s lacks %q:\n%s", file, want, b)
			}
		}
		if strings.Contains(file, "service-") && strings.Contains(string(b), "selector") {
			t.Errorf("the webhook's Service has a selector: the standby would get pushes\n%s", b)
		}
	}
	// The Secret is listed among those made out of band, or validate's reference rules
	// would find the volume pointing at nothing.
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"-C", root, "validate", "pdac"}, &stdout, &stderr); code != 0 {
		t.Errorf("validate of the instance with credentials: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
}
