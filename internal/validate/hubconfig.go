package validate

import (
	"regexp"
	"slices"
	"strings"
)

// hubConfig is what the GPFS rule reads from a JupyterHub configuration file
// (jupyterhub_config.py) that configures KubeSpawner: the claims it gives user pods, the
// namespace they run in, and where their UIDs come from.
type hubConfig struct {
	// namespace is c.KubeSpawner.namespace, "" when the file does not set it.
	namespace string
	// claims are the claimName values the file writes, in order: the PersistentVolumeClaims
	// the spawner mounts in user pods.
	claims []string
	// hook is the function c.KubeSpawner.pre_spawn_hook (or c.Spawner.pre_spawn_hook) names,
	// "" when none.
	hook string
	// hookBody is the indented body of def hook(...), "" when the file does not define it.
	hookBody string
	// fixedUID is the value of c.KubeSpawner.uid (or c.Spawner.uid), "" when not set.
	fixedUID string
}

var (
	hubNamespaceRE = regexp.MustCompile(`(?m)^c\.KubeSpawner\.namespace\s*=\s*["']([^"']+)["']`)
	hubClaimRE     = regexp.MustCompile(`["']claimName["']\s*:\s*["']([^"']+)["']`)
	hubHookRE      = regexp.MustCompile(`(?m)^c\.(?:Kube)?Spawner\.pre_spawn_hook\s*=\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:#.*)?$`)
	hubFixedUIDRE  = regexp.MustCompile(`(?m)^c\.(?:Kube)?Spawner\.uid\s*=\s*(\S+)`)
	hubUIDFromLDAP = regexp.MustCompile(`spawner\.uid\s*=.*\buidNumber\b`)
	hubGIDFromLDAP = regexp.MustCompile(`spawner\.gid\s*=.*\bgidNumber\b`)
)

// isHubConfig says whether a ConfigMap value is a JupyterHub configuration of KubeSpawner.
func isHubConfig(key, value string) bool {
	return strings.HasSuffix(key, ".py") && strings.Contains(value, "c.KubeSpawner.")
}

// parseHubConfig reads a jupyterhub_config.py. It reads the assignments the platform's
// template writes, at the start of a line, not Python at large.
func parseHubConfig(src string) hubConfig {
	var h hubConfig
	if m := hubNamespaceRE.FindStringSubmatch(src); m != nil {
		h.namespace = m[1]
	}
	for _, m := range hubClaimRE.FindAllStringSubmatch(src, -1) {
		if !slices.Contains(h.claims, m[1]) {
			h.claims = append(h.claims, m[1])
		}
	}
	if m := hubFixedUIDRE.FindStringSubmatch(src); m != nil {
		h.fixedUID = m[1]
	}
	if m := hubHookRE.FindStringSubmatch(src); m != nil {
		h.hook = m[1]
		h.hookBody = pythonFuncBody(src, h.hook)
	}
	return h
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

// ldapIdentityGap says why the spawner does not take each user's UID and GID from LDAP,
// or "" when it does: a pre_spawn_hook whose body looks the user up in LDAP and sets
// spawner.uid from uidNumber and spawner.gid from gidNumber.
func (h hubConfig) ldapIdentityGap() string {
	fixed := ""
	if h.fixedUID != "" {
		fixed = " (every user pod runs as the fixed UID " + h.fixedUID + ")"
	}
	switch {
	case h.hook == "":
		return "it sets no pre_spawn_hook" + fixed
	case h.hookBody == "":
		return "its pre_spawn_hook " + h.hook + " is not defined in the file" + fixed
	case !strings.Contains(strings.ToLower(h.hookBody), "ldap"):
		return "its pre_spawn_hook " + h.hook + " does not look the user up in LDAP" + fixed
	case !hubUIDFromLDAP.MatchString(h.hookBody):
		return "its pre_spawn_hook " + h.hook + " does not set spawner.uid from the LDAP entry's uidNumber" + fixed
	case !hubGIDFromLDAP.MatchString(h.hookBody):
		return "its pre_spawn_hook " + h.hook + " does not set spawner.gid from the LDAP entry's gidNumber" + fixed
	}
	return ""
}
