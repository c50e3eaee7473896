package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lsst-dm/lsstgen/internal/testrepo"
)

// TestCheckCommand: current generated/ passes; a stale one is listed, with exit status 1.
func TestCheckCommand(t *testing.T) {
	root := testrepo.Copy(t)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-C", root, "check"}, &stdout, &stderr); code != 0 {
		t.Fatalf("check of a fresh copy: exit %d, stderr %s, stdout %s", code, stderr.String(), stdout.String())
	}
	if !strings.Contains(stdout.String(), "generated/ is current") {
		t.Errorf("stdout %q does not say generated/ is current", stdout.String())
	}

	// Make it stale three ways.
	gen := filepath.Join(root, "generated")
	firefly := filepath.Join(gen, "pdac", "portal", "deployment-firefly.yaml")
	b, err := os.ReadFile(firefly)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(firefly, bytes.Replace(b, []byte("replicas: 1"), []byte("replicas: 2"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(gen, "us-dac", "portal", "deployment-suit.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(gen, "commissioning", "stray.yaml"), []byte("x: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"-C", root, "check"}, &stdout, &stderr); code != 1 {
		t.Fatalf("check of a stale copy: exit %d, want 1", code)
	}
	for _, want := range []string{
		"generated/commissioning/stray.yaml: extra",
		"generated/pdac/portal/deployment-firefly.yaml: changed (Deployment/portal/firefly)",
		"-generated +rendered",
		"generated/us-dac/portal/deployment-suit.yaml: missing (Deployment/portal/suit)",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout does not hold %q:\n%s", want, stdout.String())
		}
	}
	if !strings.Contains(stderr.String(), "generated/ is stale: 3 files") {
		t.Errorf("stderr %q does not say 3 stale files", stderr.String())
	}
	if code := run(context.Background(), []string{"-C", root, "check", "pdac"}, &stdout, &stderr); code != 1 {
		t.Errorf("check with an argument: exit %d, want 1", code)
	}
}

// TestCheckRenderError: an instance that does not render is reported, not compared.
func TestCheckRenderError(t *testing.T) {
	root := testrepo.Copy(t, "pdac")
	testrepo.WriteFile(t, root, "instances/pdac/zz_case.cue", "package instance\n\ninstance: site: \"la-serena\"\n")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-C", root, "check"}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "instances/pdac/zz_case.cue:3") || stdout.Len() != 0 {
		t.Errorf("stderr %q should name the CUE error; stdout %q should be empty", stderr.String(), stdout.String())
	}
}
