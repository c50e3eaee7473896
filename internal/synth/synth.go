// Package synth generates synthetic instances shaped like the real ones, in a copy of the
// repository's CUE module, for scale benchmarks of the compiler.
package synth

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// Name is the folder name of synthetic instance i.
func Name(i int) string { return fmt.Sprintf("syn-%03d", i) }

// Repo writes, into dst, the CUE module of the repository at root (manifest.ModuleDirs and
// the shared files of instances/, if any) and n synthetic instances named syn-000,
// syn-001, … at NCSA. Their sizes vary with i: one to six web services, one to three
// portal replicas, with or without the portal, two to four qserv workers and 10 to 200
// notebook users.
func Repo(root, dst string, n int) error {
	for _, dir := range manifest.ModuleDirs() {
		if err := os.CopyFS(filepath.Join(dst, dir), os.DirFS(filepath.Join(root, dir))); err != nil {
			return err
		}
	}
	shared, _ := filepath.Glob(filepath.Join(root, manifest.InstancesDir, "*.cue"))
	for _, f := range shared {
		if err := copyFile(f, filepath.Join(dst, manifest.InstancesDir, filepath.Base(f))); err != nil {
			return err
		}
	}
	for i := range n {
		if err := WriteInstance(dst, i, ""); err != nil {
			return err
		}
	}
	return nil
}

// WriteInstance writes synthetic instance i into the repository at dst; extra is appended
// to its file (a change for incremental benchmarks).
func WriteInstance(dst string, i int, extra string) error {
	p := filepath.Join(dst, manifest.InstancesDir, Name(i), "instance.cue")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(Instance(i)+extra), 0o644)
}

// Instance is the CUE of synthetic instance i.
func Instance(i int) string {
	var b strings.Builder
	name := Name(i)
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("package instance\n\nimport \"github.com/lsst-dm/lsstgen/platform\"\n\nplatform.#Platform\n\n")
	w("instance: {\n")
	w("\tname: %q\n\tdescription: \"synthetic instance %d\"\n\tsite: \"ncsa\"\n\texposure: \"public\"\n", name, i)
	w("\tdomain: \"%s.lsst.example\"\n", name)
	// Nodes: a registry, a czar, 2-4 workers, 2-3 general nodes, from the NCSA inventory.
	workers := 2 + i%3
	general := 2 + i%2
	roles := []string{"registry", "qserv-czar"}
	for range workers {
		roles = append(roles, "qserv-worker")
	}
	for range general {
		roles = append(roles, "general")
	}
	w("\tnodes: {\n")
	for j, r := range roles {
		w("\t\t\"lsst-kub%03d\": role: %q\n", 1+(i+j)%20, r)
	}
	w("\t}\n")
	w("\taspects: {\n\t\tapi: {\n\t\t\tqserv: {dataGiB: %d, czar: {cpuMillis: 4000, memoryMiB: 32768}, worker: {cpuMillis: 8000, memoryMiB: 65536}, osAdmins: [\"lsst-qserv-admins\"]}\n", 500+100*(i%10))
	w("\t\t\tservices: {\n")
	for s := range 1 + i%6 {
		w("\t\t\t\t\"svc-%d\": {image: platform.images.datalink, replicas: %d, resources: {cpuMillis: 250, memoryMiB: 512}, mountsDatasets: %v}\n", s, 1+s%3, s == 0)
	}
	w("\t\t\t}\n\t\t}\n")
	if i%4 != 3 {
		w("\t\tportal: {firefly: {replicas: %d, resources: {cpuMillis: 1000, memoryMiB: 4096}}, suit: {replicas: 1, resources: {cpuMillis: 250, memoryMiB: 512}}}\n", 1+i%3)
	}
	// The hub's database is on the first general node.
	hubNode := 1 + (i+len(roles)-general)%20
	w("\t\tnotebook: {\n\t\t\thub: {resources: {cpuMillis: 500, memoryMiB: 1024}, node: \"lsst-kub%03d\"}\n\t\t\tproxy: resources: {cpuMillis: 200, memoryMiB: 256}\n", hubNode)
	w("\t\t\tuser: {cpuMillis: 250, memoryGiB: 2, limitCPUMillis: 2000, limitMemoryGiB: 8}\n\t\t\tmaxUsers: %d\n\t\t}\n\t}\n", 10+(i*37)%190)
	w("\taccess: {defaultAdmins: [\"lsst-%s-admins\"], bastionGroups: [\"lsst-bastion-users\"], breakGlassGroup: \"lsst-k8s-break-glass\"}\n", name)
	w("\tingress: resources: {cpuMillis: 500, memoryMiB: 512}\n")
	w("\tstorage: gpfs: {home: capacityGiB: 1024, project: capacityGiB: 1024, scratch: capacityGiB: 1024, datasets: capacityGiB: %d}\n", 10240*(1+i%5))
	w("\tlogging: {\n\t\telk: {indexPrefix: \"lsst-%s\", user: \"forwarder\", password: {name: \"elk-credentials\", key: \"password\"}}\n", name)
	w("\t\tforwarder: resources: {cpuMillis: 100, memoryMiB: 128}\n\t}\n")
	w("\tregistry: {node: \"lsst-kub%03d\", storageGiB: 512, cacheGiB: 256, resources: {cpuMillis: 1000, memoryMiB: 4096}, ciPushCredentials: {name: \"nexus-ci-push\", key: \"password\"}}\n", 1+i%20)
	w("\tuserMapping: {\n\t\toauth: {clientId: \"cilogon:/client_id/%s\", clientSecret: {name: \"cilogon-client\", key: \"client-secret\"}}\n", name)
	w("\t\tuidSource: \"ldap\"\n\t\tldap: {bindDN: \"uid=lookup,ou=People,dc=ncsa\", bind: {name: \"ldap-bind\", key: \"password\"}}\n\t}\n")
	w("\tsync: repo: \"https://git.lsst.example/lsst-dm/lsstgen.git\"\n")
	w("}\n")
	return b.String()
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}
