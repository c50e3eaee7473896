package validate

import (
	"strings"

	"github.com/lsst-dm/lsstgen/internal/render"
)

// sourcePath says which field of the instance an object comes from, as a render.Sources
// path: the aspect, service, workload or setting of schema/ that renders it. Findings use
// it to point at the instance line to change; Sources.Lookup falls back to the nearest
// ancestor written in the instance's files.
func sourcePath(in *Instance, o *object) string {
	const I = "instance"
	L := render.Label
	switch o.ns {
	case "qserv":
		switch o.name {
		case "qserv-czar":
			return I + ".aspects.api.qserv.czar"
		case "qserv-worker":
			return I + ".aspects.api.qserv.worker"
		}
		if o.kind == "RoleBinding" && o.name == "qserv-os-admin" {
			return I + ".aspects.api.qserv.osAdmins"
		}
		return I + ".aspects.api.qserv"
	case "qserv-os-admin":
		// qserv's OS admins' namespace, binding and DaemonSet exist for the admins listed.
		return I + ".aspects.api.qserv.osAdmins"
	case "api":
		if in.Model.Instance.Aspects.API != nil {
			if _, ok := in.Sources[I+".aspects.api.services."+L(o.name)]; ok {
				return I + ".aspects.api.services." + L(o.name)
			}
		}
		return I + ".aspects.api"
	case "portal":
		if o.name == "firefly" || o.name == "suit" {
			return I + ".aspects.portal." + o.name
		}
		return I + ".aspects.portal"
	case "portal-prerelease":
		p := I + ".development.prerelease.portal"
		if o.name == "firefly" || o.name == "suit" {
			return p + "." + o.name
		}
		return p
	case "notebook":
		if o.name == "hub" || o.name == "proxy" {
			return I + ".aspects.notebook." + o.name
		}
		return I + ".aspects.notebook"
	case "notebook-users":
		return I + ".aspects.notebook.user"
	case "ingress":
		return I + ".ingress"
	case "registry":
		return I + ".registry"
	case "logging":
		if o.kind == "DaemonSet" {
			return I + ".logging.forwarder"
		}
		return I + ".logging"
	case "dashboard":
		return I + ".access.dashboard"
	case "lsstgen-system":
		return I + ".sync"
	case "":
		return clusterSourcePath(in, o)
	}
	if p := devTeamPath(in, o.ns); p != "" {
		return p
	}
	return I
}

// devTeamPath is where the development space ns is declared, or "" when ns is none.
func devTeamPath(in *Instance, ns string) string {
	team, ok := strings.CutPrefix(ns, "dev-")
	if !ok {
		return ""
	}
	p := "instance.development.teams." + render.Label(team)
	if _, ok := in.Sources[p]; !ok {
		return ""
	}
	return p
}

func clusterSourcePath(in *Instance, o *object) string {
	const I = "instance"
	switch {
	case o.kind == "ClusterRoleBinding" && o.name == "break-glass":
		return I + ".access.breakGlassGroup"
	case o.kind == "ClusterRoleBinding" && o.name == "bastion-users":
		return I + ".access.bastionGroups"
	case o.kind == "Namespace":
		// Where the namespace's own objects come from.
		return sourcePath(in, &object{kind: "Namespace", ns: o.name})
	case o.kind == "PersistentVolume" && strings.HasPrefix(o.name, "gpfs-"):
		vol, _, _ := strings.Cut(strings.TrimPrefix(o.name, "gpfs-"), "-")
		return I + ".storage.gpfs." + render.Label(vol)
	case o.kind == "PersistentVolume" && strings.HasPrefix(o.name, "qserv-data-"):
		return I + ".nodes." + render.Label(strings.TrimPrefix(o.name, "qserv-data-"))
	case o.kind == "PersistentVolume" && strings.HasPrefix(o.name, "nexus-"):
		return I + ".registry"
	case strings.HasPrefix(o.name, "lsstgen-sync"):
		return I + ".sync"
	case strings.Contains(o.name, "ingress"):
		return I + ".ingress"
	case strings.Contains(o.name, "log-forwarder"):
		return I + ".logging"
	case o.kind == "ClusterRole" || o.kind == "ClusterRoleBinding":
		return I + ".access"
	}
	return I
}

// adminsPath is where the admins of namespace ns are written: its own entry under
// access.admins, or access.defaultAdmins.
func adminsPath(in *Instance, ns string) string {
	if p := devTeamPath(in, ns); p != "" {
		return p + ".admins"
	}
	p := "instance.access.admins." + render.Label(ns)
	if _, ok := in.Sources[p]; ok {
		return p
	}
	return "instance.access.defaultAdmins"
}

// nodePath is where node n is claimed.
func nodePath(n string) string { return "instance.nodes." + render.Label(n) }

// writtenPath is the Sources path of o when the instance's files write it directly under
// objects (objects.cluster.<Kind>.<name> or objects.namespaced.<ns>.<Kind>.<name>), or "".
func writtenPath(in *Instance, o *object) string {
	L := render.Label
	p := "objects.cluster." + L(o.kind) + "." + L(o.name)
	if o.ns != "" {
		p = "objects.namespaced." + L(o.ns) + "." + L(o.kind) + "." + L(o.name)
	}
	if _, ok := in.Sources[p]; ok {
		return p
	}
	return ""
}
