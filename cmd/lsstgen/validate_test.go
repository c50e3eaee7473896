package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lsst-dm/lsstgen/internal/testrepo"
	"github.com/lsst-dm/lsstgen/internal/validate"
)

// TestValidateCommand runs lsstgen validate on the real instances and on a copy with too
// many notebook users, in each format.
func TestValidateCommand(t *testing.T) {
	bad := testrepo.Copy(t)
	p := filepath.Join(bad, "instances", "pdac", "instance.cue")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, bytes.Replace(b, []byte("maxUsers: 40"), []byte("maxUsers: 400"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := testrepo.Copy(t, "pdac")
	testrepo.WriteFile(t, broken, "instances/pdac/zz_case.cue", "package instance\n\ninstance: {\n")
	real := testrepo.Root(t)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string // regular expressions, each matching a line of stdout
		stderr string
	}{{
		name:   "real instances pass",
		args:   []string{"-C", real, "validate"},
		stdout: []string{`^0 errors, 0 warnings$`},
	}, {
		name:   "real instance as json",
		args:   []string{"-C", real, "validate", "--format", "json", "pdac"},
		stdout: []string{`^\[\]$`},
	}, {
		name: "text",
		args: []string{"-C", bad, "validate", "pdac"},
		code: 1,
		stdout: []string{
			`^instances/pdac/instance\.cue:\d+:\d+: error LSST-CAP-001 \[pdac\]: the instance requests .* cpu`,
			`^instances/pdac/instance\.cue:\d+:\d+: error LSST-CAP-002 \[pdac\] Pod/notebook-users/\(user pods\): user pod \d+ of 400 .*lower maxUsers`,
			`^\d+ errors, 0 warnings$`,
		},
		stderr: "lsstgen: validate: ",
	}, {
		name: "github",
		args: []string{"-C", bad, "validate", "--format", "github", "pdac"},
		code: 1,
		stdout: []string{
			`^::error file=instances/pdac/instance\.cue,line=\d+,col=\d+,title=LSST-CAP-001::\[pdac\] the instance requests`,
			`^::error file=instances/pdac/instance\.cue,line=\d+,col=\d+,title=LSST-CAP-002::\[pdac\] Pod/notebook-users/\(user pods\): user pod`,
		},
		stderr: "error findings",
	}, {
		name:   "other instances of the bad copy pass",
		args:   []string{"-C", bad, "validate", "us-dac"},
		stdout: []string{`^0 errors, 0 warnings$`},
	}, {
		name:   "an instance that does not render",
		args:   []string{"-C", broken, "validate"},
		code:   1,
		stderr: "instances/pdac/zz_case.cue:3",
	}, {
		name:   "unknown format",
		args:   []string{"-C", real, "validate", "--format", "sarif"},
		code:   1,
		stderr: `unknown --format "sarif": use text, json or github`,
	}, {
		name:   "unknown instance",
		args:   []string{"-C", real, "validate", "lsst-dac"},
		code:   1,
		stderr: `unknown instance "lsst-dac"`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.code, stderr.String())
			}
			lines := strings.Split(stdout.String(), "\n")
			for _, re := range tc.stdout {
				found := false
				for _, l := range lines {
					found = found || regexp.MustCompile(re).MatchString(l)
				}
				if !found {
					t.Errorf("no line of stdout matches %s; stdout:\n%s", re, stdout.String())
				}
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr %q does not hold %q", stderr.String(), tc.stderr)
			}
			if tc.code != 0 && strings.Count(stderr.String(), "lsstgen:") != 1 {
				t.Errorf("the error is not printed exactly once: %q", stderr.String())
			}
		})
	}
}

// TestPrinters: each format of the same findings.
func TestPrinters(t *testing.T) {
	fs := []validate.Finding{
		{Rule: "LSST-SEC-008", Severity: validate.Error, Instance: "pdac", Object: "Deployment/portal/firefly", Message: "image \"x:latest\" is not pinned; 100% sure,\nfix it", Pos: &validate.Position{File: "instances/pdac/instance.cue", Line: 41, Column: 4}},
		{Rule: "LSST-CAP-006", Severity: validate.Warning, Instance: "us-dac", Message: "no position"},
	}
	tests := []struct {
		format string
		want   string
	}{{
		format: "text",
		want: "instances/pdac/instance.cue:41:4: error LSST-SEC-008 [pdac] Deployment/portal/firefly: image \"x:latest\" is not pinned; 100% sure,\nfix it\n" +
			"warning LSST-CAP-006 [us-dac]: no position\n" +
			"1 errors, 1 warnings\n",
	}, {
		format: "github",
		want: "::error file=instances/pdac/instance.cue,line=41,col=4,title=LSST-SEC-008::[pdac] Deployment/portal/firefly: image \"x:latest\" is not pinned; 100%25 sure,%0Afix it\n" +
			"::warning title=LSST-CAP-006::[us-dac] no position\n",
	}}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			print, err := findingPrinter(tc.format)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := print(&out, fs); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, out.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		var out bytes.Buffer
		if err := printJSON(&out, fs); err != nil {
			t.Fatal(err)
		}
		var got []validate.Finding
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(fs, got); diff != "" {
			t.Errorf("json round trip (-want +got):\n%s", diff)
		}
	})
	t.Run("property escapes", func(t *testing.T) {
		if diff := cmp.Diff("a%3Ab%2Cc%25", ghProperty("a:b,c%")); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}
