package model

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// HomePrefix is the folder of the notebook users' home directories (hub.json's
// users.homePrefix): a user's HOME and working directory are HomePrefix/<name>.
const HomePrefix = "/home"

// accountName is the shape of a name the hub looks up (jupyterhub_config.py's _ACCOUNT):
// a POSIX account name. A CILogon name that kept its "@domain" is not one.
var accountName = regexp.MustCompile(`^[a-z_][a-z0-9_.-]{0,31}$`)

// NotebookUser is one notebook user's identity as the hub's pre_spawn_hook finds it: the
// name the instance's identity provider asserts (its domain stripped) and the uid, gid and
// groups the directory holds for it.
type NotebookUser struct {
	Name   string
	UID    int64
	GID    int64
	Groups []NotebookGroup
}

// NotebookGroup is a group of a notebook user: its name and gid.
type NotebookGroup struct {
	Name string
	GID  int64
}

// UserPodFor returns the pod the hub's spawner creates for u from the instance's user pod
// (Model.UserPod, which it does not change), as jupyterhub_config.py's pre_spawn_hook and
// KubeSpawner's make_pod make it: named jupyter-<name> ("_" and "." made "-"; KubeSpawner
// escapes such a name its own way); runAsUser and runAsGroup on the pod and on the
// notebook container, fsGroup the user's gid, supplementalGroups the user's other groups; HOME, USER and the working directory HomePrefix/<name>; and the
// nss init container's NSS_PASSWD, NSS_GROUP and NSS_HOME, the /etc/passwd and /etc/group
// entries it writes before the image's own. JupyterHub's own JUPYTERHUB_* environment is
// left out. Like the hook, it refuses a name that is not an account name and a uid or gid
// that is not positive.
func UserPodFor(template *corev1.Pod, u NotebookUser) (*corev1.Pod, error) {
	if !accountName.MatchString(u.Name) {
		return nil, fmt.Errorf("%q is not an account name: the hub gives it no notebook server", u.Name)
	}
	if u.UID <= 0 || u.GID <= 0 {
		return nil, fmt.Errorf("%s has uid %d and gid %d: a notebook server never runs as root", u.Name, u.UID, u.GID)
	}
	pod := template.DeepCopy()
	pod.Name = "jupyter-" + strings.NewReplacer("_", "-", ".", "-").Replace(u.Name)
	home := HomePrefix + "/" + u.Name

	sc := pod.Spec.SecurityContext
	if sc == nil {
		sc = &corev1.PodSecurityContext{}
		pod.Spec.SecurityContext = sc
	}
	sc.RunAsUser, sc.RunAsGroup, sc.FSGroup = &u.UID, &u.GID, &u.GID
	var supplemental []int64
	groups := slices.Clone(u.Groups)
	slices.SortFunc(groups, func(a, b NotebookGroup) int {
		if a.GID != b.GID {
			return int(a.GID - b.GID)
		}
		return strings.Compare(a.Name, b.Name)
	})
	groups = slices.Compact(groups)
	var groupLines []string
	for _, g := range groups {
		if g.GID > 0 && g.GID != u.GID && !slices.Contains(supplemental, g.GID) {
			supplemental = append(supplemental, g.GID)
		}
		if !accountName.MatchString(g.Name) {
			continue
		}
		member := u.Name
		if g.GID == u.GID {
			member = ""
		}
		groupLines = append(groupLines, fmt.Sprintf("%s:x:%d:%s", g.Name, g.GID, member))
	}
	slices.Sort(supplemental)
	if len(supplemental) > 0 {
		sc.SupplementalGroups = supplemental
	}

	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		if c.Name != "notebook" {
			continue
		}
		if c.SecurityContext == nil {
			c.SecurityContext = &corev1.SecurityContext{}
		}
		c.SecurityContext.RunAsUser, c.SecurityContext.RunAsGroup = &u.UID, &u.GID
		c.WorkingDir = home
		c.Env = append(c.Env, corev1.EnvVar{Name: "HOME", Value: home}, corev1.EnvVar{Name: "USER", Value: u.Name})
	}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if c.Name != "nss" {
			continue
		}
		c.Env = append(c.Env,
			corev1.EnvVar{Name: "NSS_PASSWD", Value: fmt.Sprintf("%s:x:%d:%d::%s:/bin/bash", u.Name, u.UID, u.GID, home)},
			corev1.EnvVar{Name: "NSS_GROUP", Value: strings.Join(groupLines, "\n")},
			corev1.EnvVar{Name: "NSS_HOME", Value: home},
		)
	}
	return pod, nil
}
