package validate

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

const ldapHook = `import ldap3

def ldap_ids(spawner):
    conn = ldap3.Connection(server, auto_bind=True)
    conn.search("ou=People", "(uid=x)", attributes=["uidNumber", "gidNumber"])
    entry = conn.entries[0]
    spawner.uid = int(entry.uidNumber.value)
    spawner.gid = int(entry.gidNumber.value)

`

func TestHubConfigLDAPIdentity(t *testing.T) {
	const vols = "c.KubeSpawner.namespace = \"notebook-users\"\nc.KubeSpawner.volumes = [{\"name\": \"h\", \"persistentVolumeClaim\": {\"claimName\": \"gpfs-home\"}}, {'name': 'd', 'persistentVolumeClaim': {'claimName': 'gpfs-datasets'}}]\n"
	tests := []struct {
		name, src, gap string
	}{
		{"ldap hook", vols + ldapHook + "c.KubeSpawner.pre_spawn_hook = ldap_ids\n", ""},
		{"Spawner hook, async, comment", vols + strings.Replace(ldapHook, "def ", "async def ", 1) + "c.Spawner.pre_spawn_hook = ldap_ids  # LDAP ids\n", ""},
		{"no hook", vols + ldapHook, "it sets no pre_spawn_hook"},
		{"fixed uid", vols + "c.KubeSpawner.uid = 1000\n", "it sets no pre_spawn_hook (every user pod runs as the fixed UID 1000)"},
		{"hook not defined", vols + "c.KubeSpawner.pre_spawn_hook = ids\n", "its pre_spawn_hook ids is not defined in the file"},
		{"hook without LDAP", vols + "def ids(spawner):\n    spawner.uid = 1000\n    spawner.gid = 1000\nc.KubeSpawner.pre_spawn_hook = ids\n", "its pre_spawn_hook ids does not look the user up in LDAP"},
		{"body ends at the next top-level line", vols + "def ids(spawner):\n    ldap3.Connection(s)\nspawner.uid = entry.uidNumber\nc.KubeSpawner.pre_spawn_hook = ids\n", "its pre_spawn_hook ids does not set spawner.uid from the LDAP entry's uidNumber"},
		{"gid not from LDAP", vols + strings.Replace(ldapHook, "int(entry.gidNumber.value)", "1000", 1) + "c.KubeSpawner.pre_spawn_hook = ldap_ids\n", "its pre_spawn_hook ldap_ids does not set spawner.gid from the LDAP entry's gidNumber"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := parseHubConfig(map[string]string{"jupyterhub_config.py": tc.src}, "jupyterhub_config.py")
			if diff := cmp.Diff([]string{"gpfs-home", "gpfs-datasets"}, h.claims); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
			if h.namespace != "notebook-users" {
				t.Errorf("namespace = %q, want notebook-users", h.namespace)
			}
			if got := h.ldapIdentityGap(); got != tc.gap {
				t.Errorf("ldapIdentityGap() = %q, want %q", got, tc.gap)
			}
		})
	}
}

// TestRealHubConfigsTakeLDAPIdentities: the rule reads the real instances' hub configs as
// meant - it finds their GPFS claims and their LDAP hook - so their passing is not for want
// of anything to check.
func TestRealHubConfigsTakeLDAPIdentities(t *testing.T) {
	seen := 0
	for _, in := range realInstances(t) {
		nb := in.Model.Instance.Aspects.Notebook
		if nb == nil || !(nb.Mounts["home"] || nb.Mounts["project"] || nb.Mounts["scratch"]) {
			continue
		}
		c := &checker{in: &in, idx: buildIndex(in.Objects)}
		claims := gpfsUserClaims(c)
		found := false
		for _, o := range c.idx.byKind["ConfigMap"] {
			cm, ok := o.typed.(*corev1.ConfigMap)
			if !ok {
				continue
			}
			for k, v := range cm.Data {
				if !isHubConfig(k, v) {
					continue
				}
				found = true
				h := parseHubConfig(cm.Data, k)
				var gpfs []string
				for _, cl := range h.claims {
					if claims[h.namespace+"/"+cl] != "" {
						gpfs = append(gpfs, cl)
					}
				}
				if len(gpfs) == 0 {
					t.Errorf("%s: %s/%s gives user pods no GPFS claim of %v; the rule would check nothing", in.Name, o.id, k, claims)
				}
				if gap := h.ldapIdentityGap(); gap != "" {
					t.Errorf("%s: %s/%s: %s", in.Name, o.id, k, gap)
				}
			}
		}
		if !found {
			t.Errorf("%s mounts GPFS in user pods but renders no hub config", in.Name)
		}
		seen++
	}
	if seen == 0 {
		t.Fatal("no real instance mounts GPFS home, project or scratch in user pods")
	}
}

// TestHubConfigReadsItsData: the settings a hub config reads from the JSON files beside it
// count: the claims and namespace of user-pod.json, hub.json's uid source, and an LDAP
// lookup made by a function the hook calls.
func TestHubConfigReadsItsData(t *testing.T) {
	const py = `c.KubeSpawner.volumes = user_pod["spec"]["volumes"]

def _lookup(name):
    conn = ldap3.Connection(server, auto_bind=True)
    uid = int(conn.entries[0].uidNumber.value)
    gid = int(conn.entries[0].gidNumber.value)
    return uid, gid

def _ids(name):
    return _lookup(name)

async def hook(spawner):
    u, g = _ids(spawner.user.name)
    spawner.uid = u
    spawner.gid = g

c.KubeSpawner.pre_spawn_hook = hook
`
	pod := `{"metadata": {"namespace": "notebook-users"}, "spec": {"volumes": [{"name": "home", "persistentVolumeClaim": {"claimName": "gpfs-home"}}]}}`
	tests := []struct {
		name string
		data map[string]string
		gap  string
	}{
		{"through the functions it calls", map[string]string{"c.py": py, "user-pod.json": pod, "hub.json": `{"users": {"uidSource": "ldap"}}`}, "its pre_spawn_hook hook does not set spawner.uid from the LDAP entry's uidNumber"},
		{"names assigned from the entry", map[string]string{"c.py": strings.NewReplacer("u, g = _ids", "uid, gid = _ids", "= u\n", "= uid\n", "= g\n", "= gid\n").Replace(py), "user-pod.json": pod}, ""},
		{"hub.json says cilogon", map[string]string{"c.py": py, "user-pod.json": pod, "hub.json": `{"users": {"uidSource": "cilogon"}}`}, "its hub.json takes user identities from cilogon, not ldap"},
		{"the called function does not reach LDAP", map[string]string{"c.py": strings.Replace(py, "ldap3.Connection", "directory", 1), "user-pod.json": pod}, "its pre_spawn_hook hook does not look the user up in LDAP"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := parseHubConfig(tc.data, "c.py")
			if diff := cmp.Diff([]string{"gpfs-home"}, h.claims); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
			if h.namespace != "notebook-users" {
				t.Errorf("namespace = %q, want notebook-users", h.namespace)
			}
			if got := h.ldapIdentityGap(); got != tc.gap {
				t.Errorf("ldapIdentityGap() = %q, want %q", got, tc.gap)
			}
		})
	}
}
