package render_test

import (
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pelletier/go-toml/v2"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/render"
	"github.com/lsst-dm/lsstgen/internal/testrepo"
)

var update = flag.Bool("update", false, "rewrite generated/ from the instances (the golden files)")

// TestGolden renders the five real instances and compares every byte with the committed
// generated/, which is the golden output. -update rewrites it.
func TestGolden(t *testing.T) {
	root := testrepo.Root(t)
	results, err := render.All(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"chilean-dac", "commissioning", "pdac", "science-validation", "us-dac"}
	var got []string
	for _, r := range results {
		got = append(got, r.Instance)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("instances (-want +got):\n%s", diff)
	}
	if *update {
		if err := render.Write(root, results, true); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range results {
		t.Run(r.Instance, func(t *testing.T) {
			golden := testrepo.Snapshot(t, filepath.Join(root, manifest.GeneratedDir, r.Instance))
			rendered := map[string]string{}
			for p, b := range r.Files {
				rendered[p] = string(b)
			}
			if diff := cmp.Diff(golden, rendered); diff != "" {
				t.Errorf("generated/%s is stale (-committed +rendered); run `go run ./cmd/lsstgen render`:\n%s", r.Instance, diff)
			}
			if len(r.Objects) < 100 {
				t.Errorf("%s renders %d objects; every instance has well over 100", r.Instance, len(r.Objects))
			}
		})
	}
}

// TestKustomizationBuilds: kustomize (what `kubectl apply -k` runs) builds every committed
// generated/<instance>/ into exactly the rendered objects.
func TestKustomizationBuilds(t *testing.T) {
	root := testrepo.Root(t)
	results, err := render.All(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(root, manifest.GeneratedDir, r.Instance))
		if err != nil {
			t.Fatalf("kustomize build generated/%s: %v", r.Instance, err)
		}
		var want []string
		for _, u := range r.Objects {
			want = append(want, u.GetKind()+"."+u.GroupVersionKind().Group+"|"+u.GetNamespace()+"|"+u.GetName())
		}
		var got []string
		for _, res := range m.Resources() {
			got = append(got, res.GetKind()+"."+res.GetGvk().Group+"|"+res.GetNamespace()+"|"+res.GetName())
		}
		sort.Strings(got)
		sort.Strings(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("kustomize build of generated/%s (-rendered +built):\n%s", r.Instance, diff)
		}
	}
}

// TestDeterministic renders twice and wants the same bytes, and every file to carry the
// generated-code header.
func TestDeterministic(t *testing.T) {
	root := testrepo.Root(t)
	a, err := render.All(root, []string{"pdac", "commissioning"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := render.All(root, []string{"pdac", "commissioning"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if diff := cmp.Diff(a[i].Files, b[i].Files); diff != "" {
			t.Errorf("%s: two renders differ (-first +second):\n%s", a[i].Instance, diff)
		}
		for p, data := range a[i].Files {
			if !strings.HasPrefix(string(data), render.Header) {
				t.Errorf("%s/%s lacks the header %q", a[i].Instance, p, render.Header)
			}
		}
	}
}

// TestParallelEqualsSerial: evaluating instances concurrently gives exactly the serial
// output, in the same order.
func TestParallelEqualsSerial(t *testing.T) {
	root := testrepo.Root(t)
	serial, err := render.AllWith(root, nil, render.Options{Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	parallel, err := render.AllWith(root, nil, render.Options{Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(serial) != len(parallel) {
		t.Fatalf("serial gave %d instances, parallel %d", len(serial), len(parallel))
	}
	for i := range serial {
		if serial[i].Instance != parallel[i].Instance {
			t.Errorf("result %d: serial %s, parallel %s", i, serial[i].Instance, parallel[i].Instance)
		}
		if diff := cmp.Diff(serial[i].Files, parallel[i].Files); diff != "" {
			t.Errorf("%s: parallel render differs (-serial +parallel):\n%s", serial[i].Instance, diff)
		}
	}
}

// TestTransforms checks what kustomize adds: labels, the registry rewrite, hashed
// ConfigMaps (those holding data) and the rewritten references to them.
func TestTransforms(t *testing.T) {
	root := testrepo.Root(t)
	rs, err := render.All(root, []string{"pdac"})
	if err != nil {
		t.Fatal(err)
	}
	r := rs[0]
	var hubConfig string
	for _, u := range r.Objects {
		id := manifest.ObjectID(u)
		if got := u.GetLabels()[manifest.LabelInstance]; got != "pdac" {
			t.Errorf("%s: label %s = %q, want pdac", id, manifest.LabelInstance, got)
		}
		if got := u.GetLabels()[manifest.LabelManagedBy]; got != manifest.ManagedBy {
			t.Errorf("%s: label %s = %q, want %s", id, manifest.LabelManagedBy, got, manifest.ManagedBy)
		}
		if u.GetKind() == "ConfigMap" && strings.HasPrefix(u.GetName(), "hub-config-") {
			hubConfig = u.GetName()
		}
	}
	if hubConfig == "" || len(hubConfig) != len("hub-config-")+10 {
		t.Fatalf("no content-hashed hub-config ConfigMap (got %q)", hubConfig)
	}
	// An empty ConfigMap, which a program finds by name, keeps its name.
	if _, ok := r.Files["dashboard/configmap-kubernetes-dashboard-settings.yaml"]; !ok {
		t.Errorf("the dashboard's empty settings ConfigMap is not rendered under its own name")
	}
	dep := string(r.Files["notebook/deployment-hub.yaml"])
	if !strings.Contains(dep, "name: "+hubConfig) {
		t.Errorf("deployment-hub does not reference the hashed ConfigMap %s:\n%s", hubConfig, dep)
	}
	// Images are the templates' real references: no rewrite to the instance's registry.
	if !strings.Contains(dep, "image: quay.io/jupyterhub/k8s-hub:4.0.0") {
		t.Errorf("deployment-hub's image is not the upstream reference quay.io/jupyterhub/k8s-hub:4.0.0:\n%s", dep)
	}
}

// hostsFile is what containerd reads of a hosts.toml (its remotes/docker/config package):
// the upstream server and the hosts tried before it.
type hostsFile struct {
	Server string `toml:"server"`
	Host   map[string]struct {
		Capabilities []string `toml:"capabilities"`
		OverridePath bool     `toml:"override_path"`
	} `toml:"host"`
}

// TestNodeFiles: each instance renders, under _node/, one containerd hosts.toml per
// upstream its registry mirrors, which a TOML parser (the one containerd uses) reads as a
// mirror of the instance's registry with the upstream as fallback; kustomization.yaml
// does not list them, and the instance's objects read back without them.
func TestNodeFiles(t *testing.T) {
	root := testrepo.Root(t)
	results, err := render.All(root, []string{"pdac", "commissioning"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		reg := r.Model.Instance.Registry
		if len(reg.Mirrors) < 4 {
			t.Fatalf("%s mirrors %d upstreams, want docker.io, registry.k8s.io, quay.io and ghcr.io at least", r.Instance, len(reg.Mirrors))
		}
		var nodeFiles []string
		for p := range r.Files {
			if manifest.IsNodeFile(p) {
				nodeFiles = append(nodeFiles, p)
			}
		}
		if len(nodeFiles) != len(reg.Mirrors) {
			t.Errorf("%s: %d node files %v, want one per mirror (%d)", r.Instance, len(nodeFiles), nodeFiles, len(reg.Mirrors))
		}
		for upstream, m := range reg.Mirrors {
			p := "_node/containerd/certs.d/" + upstream + "/hosts.toml"
			data, ok := r.Files[p]
			if !ok {
				t.Errorf("%s: no %s", r.Instance, p)
				continue
			}
			if !strings.HasPrefix(string(data), render.Header) {
				t.Errorf("%s: %s lacks the generated header", r.Instance, p)
			}
			var h hostsFile
			if err := toml.Unmarshal(data, &h); err != nil {
				t.Errorf("%s: %s is not TOML: %v", r.Instance, p, err)
				continue
			}
			mirror := "https://" + reg.Host + "/repository/" + m.Repository + "/v2"
			host, ok := h.Host[mirror]
			switch {
			case h.Server != m.Remote:
				t.Errorf("%s: %s server %q, want the upstream %s", r.Instance, p, h.Server, m.Remote)
			case len(h.Host) != 1 || !ok:
				t.Errorf("%s: %s hosts %v, want only %s", r.Instance, p, h.Host, mirror)
			case !host.OverridePath || !cmp.Equal(host.Capabilities, []string{"pull", "resolve"}):
				t.Errorf("%s: %s host %+v, want capabilities pull and resolve and override_path", r.Instance, p, host)
			}
		}
		if k := string(r.Files[manifest.KustomizationFile]); strings.Contains(k, manifest.NodeDir) {
			t.Errorf("%s: kustomization.yaml lists node files:\n%s", r.Instance, k)
		}
		objs, err := manifest.ReadInstance(os.DirFS(filepath.Join(root, manifest.GeneratedDir)), r.Instance)
		if err != nil || len(objs) != len(r.Objects) {
			t.Errorf("%s: reading the committed folder gave %d objects and %v, want %d", r.Instance, len(objs), err, len(r.Objects))
		}
	}
}

// TestRemovedObjectDisappears renders, removes an object from the model, renders again and
// wants its file gone from generated/ and from kustomization.yaml.
func TestRemovedObjectDisappears(t *testing.T) {
	root := testrepo.Copy(t, "pdac")
	render1(t, root, "pdac")
	const gone = "dashboard/deployment-dashboard.yaml"
	if _, err := os.Stat(filepath.Join(root, "generated/pdac", gone)); err != nil {
		t.Fatalf("first render: %v", err)
	}
	testrepo.WriteFile(t, root, "instances/pdac/zz_no_dashboard.cue", "package instance\n\ninstance: access: dashboard: false\n")
	render1(t, root, "pdac")
	files := testrepo.Snapshot(t, filepath.Join(root, "generated/pdac"))
	for p := range files {
		if strings.HasPrefix(p, "dashboard/") || strings.Contains(p, "dashboard-viewer") {
			t.Errorf("%s is still in generated/pdac after the dashboard was removed", p)
		}
	}
	if strings.Contains(files["kustomization.yaml"], "dashboard") {
		t.Errorf("kustomization.yaml still lists the dashboard:\n%s", files["kustomization.yaml"])
	}
	if _, ok := files["portal/deployment-firefly.yaml"]; !ok {
		t.Errorf("the rest of the instance went with it: portal/deployment-firefly.yaml is missing")
	}
}

// TestRemovedInstanceDisappears: rendering every instance removes generated/ folders of
// instances that no longer exist, and leaves no staging folders behind.
func TestRemovedInstanceDisappears(t *testing.T) {
	root := testrepo.Copy(t, "pdac")
	testrepo.WriteFile(t, root, "generated/retired/_cluster/namespace-old.yaml", "# old\n")
	rs, err := render.All(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := render.Write(root, rs, true); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(root, "generated"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"pdac"}, names); diff != "" {
		t.Errorf("generated/ (-want +got):\n%s", diff)
	}
}

// TestFailedRenderLeavesGeneratedUntouched breaks one of two instances and wants neither
// instance's generated/ folder changed.
func TestFailedRenderLeavesGeneratedUntouched(t *testing.T) {
	root := testrepo.Copy(t, "pdac", "us-dac")
	render1(t, root, "pdac", "us-dac")
	before := testrepo.Snapshot(t, filepath.Join(root, "generated"))
	// A valid change to pdac and a broken us-dac: nothing may be written.
	testrepo.WriteFile(t, root, "instances/pdac/zz_change.cue", "package instance\n\ninstance: access: dashboard: false\n")
	testrepo.WriteFile(t, root, "instances/us-dac/zz_broken.cue", "package instance\n\ninstance: aspects: notebook: maxUsers: \"many\"\n")
	if _, err := render.All(root, nil); err == nil {
		t.Fatal("render of a broken instance succeeded")
	}
	after := testrepo.Snapshot(t, filepath.Join(root, "generated"))
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("generated/ changed by a failed render (-before +after):\n%s", diff)
	}
}

// TestWriteFailureKeepsOldFolder: when the new folder cannot be put in place, the old one
// stays as it was.
func TestWriteFailureKeepsOldFolder(t *testing.T) {
	root := testrepo.Copy(t, "pdac")
	render1(t, root, "pdac")
	before := testrepo.Snapshot(t, filepath.Join(root, "generated"))
	rs, err := render.All(root, []string{"pdac"})
	if err != nil {
		t.Fatal(err)
	}
	// A file name that cannot be created (a folder in its place) fails the staging write.
	rs[0].Files["_cluster"] = []byte("not a folder")
	if err := render.Write(root, rs, false); err == nil {
		t.Fatal("Write succeeded with an impossible file set")
	}
	after := testrepo.Snapshot(t, filepath.Join(root, "generated"))
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("generated/ changed by a failed write (-before +after):\n%s", diff)
	}
}

func render1(t *testing.T, root string, names ...string) {
	t.Helper()
	rs, err := render.All(root, names)
	if err != nil {
		t.Fatal(err)
	}
	if err := render.Write(root, rs, false); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkRenderAll renders the five real instances in memory, as `lsstgen render` does
// before writing: one at a time, and one per CPU.
func BenchmarkRenderAll(b *testing.B) {
	root := testrepo.Root(b)
	for _, c := range []int{1, 0} {
		name := "serial"
		if c == 0 {
			name = "parallel"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := render.AllWith(root, nil, render.Options{Concurrency: c}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestInstanceShapeErrors: an instance package that does not embed platform.#Platform, and
// one whose instance.name is not its folder's, are refused with what to do.
func TestInstanceShapeErrors(t *testing.T) {
	root := testrepo.Copy(t, "pdac")
	testrepo.WriteFile(t, root, "instances/bare/instance.cue", "package instance\n\ninstance: name: \"bare\"\n")
	data, err := os.ReadFile(filepath.Join(root, "instances/pdac/instance.cue"))
	if err != nil {
		t.Fatal(err)
	}
	testrepo.WriteFile(t, root, "instances/pdac-copy/instance.cue", string(data))
	placeholders, err := os.ReadFile(filepath.Join(root, "instances/pdac/placeholders.cue"))
	if err != nil {
		t.Fatal(err)
	}
	testrepo.WriteFile(t, root, "instances/pdac-copy/placeholders.cue", string(placeholders))
	for name, want := range map[string]string{
		"bare":      "instance bare: no objects: the instance package must embed platform.#Platform",
		"pdac-copy": `instance pdac-copy: instances/pdac-copy sets instance.name "pdac"; the name must be the folder's`,
	} {
		if _, err := render.Instance(root, name); err == nil || err.Error() != want {
			t.Errorf("render of %s: err = %v, want %q", name, err, want)
		}
	}
}

// TestFlowSources: every declared flow of an instance is positioned at its declaration in
// platform/flows.cue, the line that writes its why.
func TestFlowSources(t *testing.T) {
	root := testrepo.Root(t)
	r, err := render.Instance(root, "pdac")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Model.Flows) < 20 {
		t.Fatalf("pdac declares %d flows; it has well over 20", len(r.Model.Flows))
	}
	data, err := os.ReadFile(filepath.Join(root, "platform/flows.cue"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	instanceFile, err := os.ReadFile(filepath.Join(root, "instances/pdac/instance.cue"))
	if err != nil {
		t.Fatal(err)
	}
	instanceLines := strings.Split(string(instanceFile), "\n")
	reaches := 0
	for id := range r.Model.Flows {
		pos, ok := r.Sources["flows."+render.Label(id)]
		if !ok {
			t.Errorf("flow %q has no position", id)
			continue
		}
		// A development space's reaches: at the instance's line that names the destination.
		if from, to, _ := strings.Cut(id, " -> "); strings.HasPrefix(from, "dev-") && to != "kube-system/dns" {
			reaches++
			if pos.Filename != "instances/pdac/instance.cue" || pos.Line < 1 || pos.Line > len(instanceLines) || !strings.Contains(instanceLines[pos.Line-1], "reaches:") || !strings.Contains(instanceLines[pos.Line-1], `"`+to+`"`) {
				t.Errorf("flow %q is positioned at %s, not at the instance's reaches that names %s", id, pos, to)
			}
			continue
		}
		if pos.Filename != "platform/flows.cue" || pos.Line < 1 || pos.Line > len(lines) || !strings.Contains(lines[pos.Line-1], "why:") {
			t.Errorf("flow %q is positioned at %s, not at a line of platform/flows.cue that writes its why", id, pos)
		}
	}
	if reaches == 0 {
		t.Error("pdac declares no flow by a development space's reaches")
	}
	pos := r.Sources[`flows."notebook/hub -> cilogon"`]
	if !strings.Contains(lines[pos.Line-1], `"notebook/hub -> cilogon"`) {
		t.Errorf("flow notebook/hub -> cilogon is positioned at %s: %q", pos, lines[pos.Line-1])
	}
}

// TestFlowNameErrors: a flow whose name, ends or ports name nothing the model has is one
// error, at the line that declares it, saying what exists.
func TestFlowNameErrors(t *testing.T) {
	root := testrepo.Copy(t, "pdac")
	for _, tc := range []struct{ flow, want string }{
		{`"notebook/hub -> notebook/nope": {ports: ["http"], why: "x"}`, `flows."notebook/hub -> notebook/nope": no component notebook/nope: namespace notebook has hub, proxy`},
		{`"nobody/x -> apiserver": {ports: [6443], why: "x"}`, `no component nobody/x: namespace nobody has none (components are in api, dashboard,`},
		{`"notebook/hub -> nowhere": {ports: [1], why: "x"}`, `nowhere is neither a component (namespace/name) nor an outside network (apiserver, cilogon,`},
		{`"notebook/hub->cilogon": {ports: [443], why: "x"}`, `a flow is named "FROM -> TO"`},
		{`"notebook/proxy -> portal/suit": {ports: ["htp", 8080], why: "x"}`, `port "htp" is not a port of portal/suit (its containers name http); port 8080: name a port of portal/suit by the name its container gives it (http)`},
		{`"notebook/proxy -> cilogon": {ports: ["https"], why: "x"}`, `port "https": cilogon is an outside network, whose ports are numbers`},
	} {
		testrepo.WriteFile(t, root, "instances/pdac/zz.cue", "package instance\n\nflows: "+tc.flow+"\n")
		_, err := render.Instance(root, "pdac")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "instances/pdac/zz.cue:3:") || strings.Count(err.Error(), "\n") > 2 {
			t.Errorf("flow %s: err = %v\nwant one error at instances/pdac/zz.cue:3 saying %q", tc.flow, err, tc.want)
		}
	}
	// A component missing because its workload does not evaluate is CUE's to explain, not
	// a misnamed flow.
	testrepo.WriteFile(t, root, "instances/pdac/zz.cue", "package instance\n\nobjects: namespaced: portal: Deployment: firefly: spec: replica: 2\n")
	_, err := render.Instance(root, "pdac")
	if err == nil || !strings.Contains(err.Error(), "Deployment.firefly.spec.replica: field not allowed") || strings.Contains(err.Error(), "no component") || strings.Contains(err.Error(), "is not a port of") {
		t.Errorf("a Deployment that does not evaluate: err = %v\nwant CUE's error, and no flow named wrongly", err)
	}
}
