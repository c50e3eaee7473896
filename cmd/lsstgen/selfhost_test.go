package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/lsst-dm/lsstgen/internal/testrepo"
)

// TestSelfHostedDaemonArgs: every instance's own sync Deployment runs a command line this
// lsstgen accepts, for its own instance, serving the probes' endpoints.
func TestSelfHostedDaemonArgs(t *testing.T) {
	root := testrepo.Root(t)
	for _, inst := range []string{"pdac", "science-validation", "commissioning", "chilean-dac", "us-dac"} {
		t.Run(inst, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(root, "generated", inst, "lsstgen-system", "deployment-lsstgen-sync.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			var d appsv1.Deployment
			if err := yaml.UnmarshalStrict(data, &d); err != nil {
				t.Fatal(err)
			}
			c := d.Spec.Template.Spec.Containers[0]
			if c.Args[0] != "sync" {
				t.Fatalf("args %v do not run sync", c.Args)
			}
			cmd, _, err := newRootCmd(&bytes.Buffer{}, &bytes.Buffer{}).Find(c.Args[:1])
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.ParseFlags(c.Args[1:]); err != nil {
				t.Fatalf("lsstgen sync rejects the Deployment's args %v: %v", c.Args, err)
			}
			got := map[string]string{}
			for _, name := range []string{"instance", "metrics-addr", "leader-elect", "interval"} {
				got[name] = cmd.Flags().Lookup(name).Value.String()
			}
			want := map[string]string{"instance": inst, "metrics-addr": ":9090", "leader-elect": "true", "interval": "1m0s"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("flags (-want +got):\n%s", diff)
			}
			if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
				t.Errorf("probes %+v %+v, want /healthz and /readyz", c.LivenessProbe, c.ReadinessProbe)
			}
		})
	}
}
