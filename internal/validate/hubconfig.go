package validate

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// hubConfig is what the GPFS rule reads from a JupyterHub configuration (jupyterhub_config.py
// and the JSON files beside it in its ConfigMap, which it may read its settings from) that
// configures KubeSpawner: the claims it gives user pods, the namespace they run in, and
// where their UIDs come from.
type hubConfig struct {
	// namespace is c.KubeSpawner.namespace, or the namespace of a pod the JSON files
	// describe; "" when neither says.
	namespace string
	// claims are the claimName values the files write, in order: the PersistentVolumeClaims
	// the spawner mounts in user pods.
	claims []string
	// hook is the function c.KubeSpawner.pre_spawn_hook (or c.Spawner.pre_spawn_hook) names,
	// "" when none.
	hook string
	// hookBody is the indented body of def hook(...), "" when the file does not define it;
	// reach is that body and the bodies of the file's functions it calls, transitively.
	hookBody, reach string
	// fixedUID is the value of c.KubeSpawner.uid (or c.Spawner.uid), "" when not set.
	fixedUID string
	// uidSource is users.uidSource of a hub.json beside the file, "" without one.
	uidSource string
}

var (
	hubNamespaceRE = regexp.MustCompile(`(?m)^c\.KubeSpawner\.namespace\s*=\s*["']([^"']+)["']`)
	hubJSONNSRE    = regexp.MustCompile(`"namespace"\s*:\s*"([^"]+)"`)
	hubClaimRE     = regexp.MustCompile(`["']claimName["']\s*:\s*["']([^"']+)["']`)
	hubHookRE      = regexp.MustCompile(`(?m)^c\.(?:Kube)?Spawner\.pre_spawn_hook\s*=\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:#.*)?$`)
	hubFixedUIDRE  = regexp.MustCompile(`(?m)^c\.(?:Kube)?Spawner\.uid\s*=\s*(\S+)`)
	pyCallRE       = regexp.MustCompile(`\b([A-Za-z_][A-Za-z0-9_]*)\s*[(,]`)
)

// isHubConfig says whether a ConfigMap value is a JupyterHub configuration of KubeSpawner.
func isHubConfig(key, value string) bool {
	return strings.HasSuffix(key, ".py") && strings.Contains(value, "c.KubeSpawner.")
}

// parseHubConfig reads the jupyterhub_config.py of a ConfigMap's data under key, and the
// JSON files beside it. It reads the assignments the platform's template writes, at the
// start of a line, not Python at large.
func parseHubConfig(data map[string]string, key string) hubConfig {
	src := data[key]
	var h hubConfig
	if m := hubNamespaceRE.FindStringSubmatch(src); m != nil {
		h.namespace = m[1]
	}
	texts := []string{src}
	for _, k := range slices.Sorted(maps.Keys(data)) {
		if strings.HasSuffix(k, ".json") {
			texts = append(texts, data[k])
			if m := hubJSONNSRE.FindStringSubmatch(data[k]); m != nil && h.namespace == "" {
				h.namespace = m[1]
			}
		}
	}
	for _, t := range texts {
		for _, m := range hubClaimRE.FindAllStringSubmatch(t, -1) {
			if !slices.Contains(h.claims, m[1]) {
				h.claims = append(h.claims, m[1])
			}
		}
	}
	if j, ok := data["hub.json"]; ok {
		var hub struct {
			Users struct {
				UIDSource string `json:"uidSource"`
			} `json:"users"`
		}
		if json.Unmarshal([]byte(j), &hub) == nil {
			h.uidSource = hub.Users.UIDSource
		}
	}
	if m := hubFixedUIDRE.FindStringSubmatch(src); m != nil {
		h.fixedUID = m[1]
	}
	if m := hubHookRE.FindStringSubmatch(src); m != nil {
		h.hook = m[1]
		h.hookBody = pythonFuncBody(src, h.hook)
		h.reach = pythonReach(src, h.hook)
	}
	return h
}

// pythonReach is the body of the top-level function name of src and those of the
// top-level functions it names, transitively.
func pythonReach(src, name string) string {
	seen := map[string]bool{}
	var bodies []string
	var walk func(string)
	walk = func(fn string) {
		if seen[fn] {
			return
		}
		seen[fn] = true
		b := pythonFuncBody(src, fn)
		if b == "" {
			return
		}
		bodies = append(bodies, b)
		for _, m := range pyCallRE.FindAllStringSubmatch(b, -1) {
			walk(m[1])
		}
	}
	walk(name)
	return strings.Join(bodies, "\n")
}

// pythonFuncBody is the body of the top-level function name of src: the lines after its
// def line that are blank or indented.
func pythonFuncBody(src, name string) string {
	def := regexp.MustCompile(`(?m)^(?:async\s+)?def\s+` + regexp.QuoteMeta(name) + `\s*\(.*$`)
	loc := def.FindStringIndex(src)
	if loc == nil {
		return ""
	}
	var body []string
	for _, l := range strings.Split(src[loc[1]:], "\n")[1:] {
		if strings.TrimSpace(l) != "" && l[0] != ' ' && l[0] != '\t' {
			break
		}
		body = append(body, l)
	}
	return strings.Join(body, "\n")
}

// setsFrom says whether the hook sets spawner.<field> from an LDAP entry's attr: directly
// (spawner.uid = int(entry.uidNumber.value)) or through a name that its reach assigns
// from attr (uid = int(entry.uidNumber.value); … spawner.uid = uid).
func (h hubConfig) setsFrom(field, attr string) bool {
	set := regexp.MustCompile(`(?m)^\s*spawner\.` + field + `\s*=\s*(.*)$`)
	from := regexp.MustCompile(`(?m)^\s*([A-Za-z_][A-Za-z0-9_]*(?:\s*,\s*[A-Za-z_][A-Za-z0-9_]*)*)\s*=.*\b` + attr + `\b`)
	var names []string
	for _, m := range from.FindAllStringSubmatch(h.reach, -1) {
		for _, n := range strings.Split(m[1], ",") {
			names = append(names, strings.TrimSpace(n))
		}
	}
	for _, m := range set.FindAllStringSubmatch(h.hookBody, -1) {
		if strings.Contains(m[1], attr) {
			return true
		}
		for _, n := range names {
			if regexp.MustCompile(`\b` + regexp.QuoteMeta(n) + `\b`).MatchString(m[1]) {
				return true
			}
		}
	}
	return false
}

// ldapIdentityGap says why the spawner does not take each user's UID and GID from LDAP,
// or "" when it does: a hub.json beside the file, if any, says uidSource ldap, and a
// pre_spawn_hook that looks the user up in LDAP (itself or through the functions it calls)
// sets spawner.uid from uidNumber and spawner.gid from gidNumber.
func (h hubConfig) ldapIdentityGap() string {
	fixed := ""
	if h.fixedUID != "" {
		fixed = " (every user pod runs as the fixed UID " + h.fixedUID + ")"
	}
	switch {
	case h.uidSource != "" && h.uidSource != "ldap":
		return "its hub.json takes user identities from " + h.uidSource + ", not ldap" + fixed
	case h.hook == "":
		return "it sets no pre_spawn_hook" + fixed
	case h.hookBody == "":
		return "its pre_spawn_hook " + h.hook + " is not defined in the file" + fixed
	case !strings.Contains(strings.ToLower(h.reach), "ldap"):
		return "its pre_spawn_hook " + h.hook + " does not look the user up in LDAP" + fixed
	case !h.setsFrom("uid", "uidNumber"):
		return "its pre_spawn_hook " + h.hook + " does not set spawner.uid from the LDAP entry's uidNumber" + fixed
	case !h.setsFrom("gid", "gidNumber"):
		return "its pre_spawn_hook " + h.hook + " does not set spawner.gid from the LDAP entry's gidNumber" + fixed
	}
	return ""
}
