package validate

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/render"
	"github.com/lsst-dm/lsstgen/internal/testrepo"
)

// TestLogForwardingOff: an instance that does not forward pod logs (logging.forward false,
// its logging block otherwise gone) renders no forwarder, no logging namespace, no ELK
// Secret or outside network, and validates without a finding; LSST-NOTES-006 does not ask
// for a forwarder there.
func TestLogForwardingOff(t *testing.T) {
	const name = "commissioning"
	dir := testrepo.Copy(t, name)
	file := filepath.Join(dir, manifest.InstancesDir, name, "instance.cue")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)\n\tlogging: \{\n.*?\n\t\}\n`)
	if !block.Match(b) {
		t.Fatalf("%s has no logging block to replace", file)
	}
	b = block.ReplaceAll(b, []byte("\n\tlogging: forward: false\n"))
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := render.Instance(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	if res.Model.Instance.Logging.Forward {
		t.Fatal("the model says the instance forwards logs")
	}
	for _, u := range res.Objects {
		if u.GetNamespace() == "logging" || (u.GetKind() == "Namespace" && u.GetName() == "logging") || u.GetName() == "lsst-log-forwarder" {
			t.Errorf("%s is rendered without log forwarding", manifest.ObjectID(u))
		}
	}
	if _, ok := res.Model.Secrets["logging"]; ok {
		t.Errorf("the model still lists Secrets of namespace logging: %v", res.Model.Secrets["logging"])
	}
	if _, ok := res.Model.Outside["elk"]; ok {
		t.Error("the flows still name the ELK stack as an outside network")
	}
	for _, f := range Validate([]Instance{FromResult(res)}) {
		t.Errorf("finding: %s", f)
	}
}
