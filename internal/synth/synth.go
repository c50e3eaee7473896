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

// Repo writes, into dst, the CUE module of the repository at root (manifest.InputDirs but
// instances/, and the shared files of instances/) and n synthetic instances named syn-000, syn-001, …
// Their sizes vary with i: one to six web services, one to three portal replicas, with or
// without the portal, two to four qserv workers and 10 to 200 notebook users.
func Repo(root, dst string, n int) error {
	for _, dir := range manifest.InputDirs() {
		if dir == manifest.InstancesDir {
			continue
		}
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
	w("package instance\n\nimport \"github.com/lsst-dm/lsstgen/schema\"\n\nschema.#Platform\n\n")
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
	w("\taspects: {\n\t\tapi: {\n\t\t\tqserv: {dataGB: %d, czar: {cpu: \"4\", memory: \"32Gi\"}, worker: {cpu: \"8\", memory: \"64Gi\"}, osAdmins: [\"lsst-qserv-admins\"]}\n", 500+100*(i%10))
	w("\t\t\tservices: {\n")
	for s := range 1 + i%6 {
		w("\t\t\t\t\"svc-%d\": {image: \"lsstdax/svc-%d:1.0.%d\", replicas: %d, resources: {cpu: \"250m\", memory: \"512Mi\"}, mountsDatasets: %v}\n", s, s, i%7, 1+s%3, s == 0)
	}
	w("\t\t\t}\n\t\t}\n")
	if i%4 != 3 {
		w("\t\tportal: {firefly: {replicas: %d, resources: {cpu: \"1\", memory: \"4Gi\"}}, suit: {replicas: 1, resources: {cpu: \"250m\", memory: \"512Mi\"}}}\n", 1+i%3)
	}
	w("\t\tnotebook: {\n\t\t\thub: resources: {cpu: \"500m\", memory: \"1Gi\"}\n\t\t\tproxy: resources: {cpu: \"200m\", memory: \"256Mi\"}\n")
	w("\t\t\tuser: {cpuMillis: 250, memoryGi: 2, limitCPUMillis: 2000, limitMemoryGi: 8}\n\t\t\tmaxUsers: %d\n\t\t}\n\t}\n", 10+(i*37)%190)
	w("\taccess: {defaultAdmins: [\"lsst-%s-admins\"], bastionGroups: [\"lsst-bastion-users\"], breakGlassGroup: \"lsst-k8s-break-glass\"}\n", name)
	w("\tingress: resources: {cpu: \"500m\", memory: \"512Mi\"}\n")
	w("\tstorage: gpfs: {server: \"gpfs-nfs.ncsa.example\", home: capacityGi: 1024, project: capacityGi: 1024, scratch: capacityGi: 1024, datasets: capacityGi: %d}\n", 10240*(1+i%5))
	w("\tlogging: {\n\t\telk: {host: \"elk.ncsa.example\", cidr: \"192.0.2.0/28\", indexPrefix: \"lsst-%s\", user: \"forwarder\", password: {name: \"elk-credentials\", key: \"password\"}}\n", name)
	w("\t\tforwarder: resources: {cpu: \"100m\", memory: \"128Mi\"}\n\t}\n")
	w("\tregistry: {node: \"lsst-kub%03d\", storageGi: 512, cacheGi: 256, resources: {cpu: \"1\", memory: \"4Gi\"}, ciPushCredentials: {name: \"nexus-ci-push\", key: \"password\"}}\n", 1+i%20)
	w("\tuserMapping: {\n\t\toauth: {clientId: \"cilogon:/client_id/%s\", clientSecret: {name: \"cilogon-client\", key: \"client-secret\"}}\n", name)
	w("\t\tuidSource: \"ldap\"\n\t\tldap: {url: \"ldaps://ldap.ncsa.example\", cidr: \"192.0.2.16/28\", userBase: \"ou=People,dc=ncsa\", groupBase: \"ou=Groups,dc=ncsa\", bindDN: \"uid=lookup,ou=People,dc=ncsa\", bind: {name: \"ldap-bind\", key: \"password\"}}\n\t}\n")
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
