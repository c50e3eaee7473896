package render_test

import (
	"strings"
	"testing"

	"github.com/lsst-dm/lsstgen/internal/render"
	"github.com/lsst-dm/lsstgen/internal/testrepo"
)

// TestImageDigest: an image whose digest is recorded is named tag@digest by every
// container that runs it (and its facts are found under that reference); a digest that is
// not a sha256 one is refused at the line that sets it.
func TestImageDigest(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	root := testrepo.Copy(t, "pdac")
	testrepo.WriteFile(t, root, "instances/pdac/zz.cue", "package instance\n\ninstance: sync: image: digest: \""+digest+"\"\n")
	r, err := render.Instance(root, "pdac")
	if err != nil {
		t.Fatal(err)
	}
	want := "ghcr.io/lsst-dm/lsstgen:v0.1.0@" + digest
	deploy := string(r.Files["lsstgen-system/deployment-lsstgen-sync.yaml"])
	if !strings.Contains(deploy, "image: "+want+"\n") {
		t.Errorf("the sync Deployment does not run %s:\n%s", want, deploy)
	}
	if _, ok := r.Model.Images[want]; !ok {
		t.Errorf("the model holds no facts for %s", want)
	}

	testrepo.WriteFile(t, root, "instances/pdac/zz.cue", "package instance\n\ninstance: sync: image: digest: \"sha256:abc\"\n")
	_, err = render.Instance(root, "pdac")
	if err == nil || !strings.Contains(err.Error(), "instances/pdac/zz.cue:3:") || !strings.Contains(err.Error(), "digest") {
		t.Errorf("a short digest: err = %v, want an error at instances/pdac/zz.cue:3 about the digest", err)
	}
}
