package testcluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// KWOKVersion is the version of KWOK the twin runs. It agrees with the sigs.k8s.io/kwok
// requirement in tools/kwok/go.mod, which names the folder KWOK is built into.
const KWOKVersion = "v0.8.0"

// EnvKWOKDir names a folder holding kwok and stages.yaml, used instead of the repository's
// .bin/kwok-<KWOKVersion>/.
const EnvKWOKDir = "LSSTGEN_KWOK_BIN"

// KWOKBuildCommand builds KWOK and its stages, relative to the repository root.
const KWOKBuildCommand = "tools/kwok/build.sh"

// TwinBinaries are the executables the twin needs beside Binaries, in the same folder.
var TwinBinaries = []string{"kube-scheduler", "kube-controller-manager"}

// kwokStages is the file beside kwok holding the Stages it plays nodes and pods with
// (written by KWOKBuildCommand from KWOK's module).
const kwokStages = "stages.yaml"

// Nodes the twin creates carry this label, and KWOK manages only nodes that do: a node
// that does not is left alone, as a real node would be by a KWOK run beside it.
const (
	KWOKNodeLabel = "kwok.x-k8s.io/node"
	KWOKNodeValue = "fake"
)

// KWOKDir returns the folder KWOKBuildCommand writes KWOK into for the repository rooted
// at root.
func KWOKDir(root string) string {
	return filepath.Join(root, ".bin", "kwok-"+KWOKVersion)
}

// FindKWOK returns the folder holding kwok and its stages: $LSSTGEN_KWOK_BIN if set,
// otherwise KWOKDir of the repository found at or above dir. A missing or unusable file is
// an error wrapping ErrNoBinaries.
func FindKWOK(dir string) (string, error) {
	bin := os.Getenv(EnvKWOKDir)
	from := "$" + EnvKWOKDir
	if bin == "" {
		root, err := findRoot(dir)
		if err != nil {
			return "", err
		}
		bin = KWOKDir(root)
		from = "the repository"
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return "", err
	}
	if err := checkExecutables(abs, from, KWOKBuildCommand, "kwok"); err != nil {
		return "", err
	}
	fi, err := os.Stat(filepath.Join(abs, kwokStages))
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
		return "", fmt.Errorf("%s (folder from %s): %w: %s is missing or empty; run %s", abs, from, ErrNoBinaries, kwokStages, KWOKBuildCommand)
	}
	return abs, nil
}

// findTwinBinaries returns the folder of the control plane binaries, the twin's included,
// and the folder of KWOK.
func findTwinBinaries(dir, kubeDir, kwokDir string) (string, string, error) {
	if kubeDir == "" {
		var err error
		if kubeDir, err = FindBinaries(dir); err != nil {
			return "", "", err
		}
	}
	if err := checkExecutables(kubeDir, "the control plane's folder", BuildCommand, TwinBinaries...); err != nil {
		return "", "", err
	}
	if kwokDir == "" {
		var err error
		if kwokDir, err = FindKWOK(dir); err != nil {
			return "", "", err
		}
	}
	return kubeDir, kwokDir, nil
}

// kwokArgs are KWOK's flags: the stages built beside it, only the twin's nodes managed,
// node leases renewed as a kubelet does (the heartbeat stage refreshes conditions rarely),
// pod IPs from a range wide enough for any instance. Its server (for /healthz) is given a
// loopback address with --server-address.
func kwokArgs(kubeconfig, kwokDir string) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--config=" + filepath.Join(kwokDir, kwokStages),
		"--manage-all-nodes=false",
		"--manage-nodes-with-label-selector=" + KWOKNodeLabel + "=" + KWOKNodeValue,
		"--node-lease-duration-seconds=" + strconv.Itoa(40),
		"--cidr=10.128.0.0/12",
	}
}
