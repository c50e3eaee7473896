package model

import (
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// Model is an instance's model, for the checks that need more than the objects: the
// hardware and the node roles above all.
type Model struct {
	Instance   Instance                              `json:"instance"`
	Namespaces map[string]Namespace                  `json:"namespaces"`
	Secrets    map[string]map[string]OutOfBandSecret `json:"secrets"`
	// Roles are the node roles by name (schema.#Roles).
	Roles map[string]Role `json:"roles"`
	// Images are the facts of every image the instance's containers run, by the reference
	// a container names (platform.#Platform's imageFacts).
	Images map[string]Image `json:"imageFacts"`
	// UserPod is the pod the notebook hub's spawner creates for every user, as far as it is
	// the same for all (platform.#Platform's userPod; the hub reads it from user-pod.json
	// in its ConfigMap); nil without the notebook aspect. UserPodFor fills in one user.
	UserPod *corev1.Pod `json:"userPod,omitempty"`
	// Components are the workloads the flows name, by namespace and name
	// (schema.#Component, platform/flows.cue).
	Components map[string]map[string]Component `json:"components"`
	// Outside are the networks outside the pod network that flows reach or come from, by
	// name (schema.#Outside).
	Outside map[string]Outside `json:"outside"`
	// Flows are the declared flows by their id, "FROM -> TO" (schema.#Flow), resolved.
	Flows map[string]Flow `json:"flows"`
}

// Instance mirrors schema.#Instance (the fields the checks use), its site's facts filled in.
type Instance struct {
	Name           string          `json:"name"`
	Description    string          `json:"description"`
	Site           string          `json:"site"`
	Exposure       string          `json:"exposure"`
	Domain         string          `json:"domain"`
	InternalCIDRs  []string        `json:"internalCIDRs"`
	Nodes          map[string]Node `json:"nodes"`
	ReservePerNode Reserve         `json:"reservePerNode"`
	Aspects        Aspects         `json:"aspects"`
	Access         Access          `json:"access"`
	Registry       Registry        `json:"registry"`
	UserMapping    UserMapping     `json:"userMapping"`
	Logging        Logging         `json:"logging"`
	Storage        Storage         `json:"storage"`
	Kubernetes     Kubernetes      `json:"kubernetes"`
}

// Kubernetes is the network layout of the instance's cluster (its site's).
type Kubernetes struct {
	// ControlPlaneCIDRs hold the apiserver's endpoints.
	ControlPlaneCIDRs []string `json:"controlPlaneCIDRs"`
	APIServerPort     int      `json:"apiserverPort"`
	PodCIDR           string   `json:"podCIDR"`
	ServiceCIDR       string   `json:"serviceCIDR"`
}

// Node is one physical node claimed by the instance (schema.#Machine), with its role.
type Node struct {
	Name string `json:"name"`
	Site string `json:"site"`
	Role string `json:"role"`
	CPU  struct {
		Sockets        int     `json:"sockets"`
		CoresPerSocket int     `json:"coresPerSocket"`
		ClockGHz       float64 `json:"clockGHz"`
	} `json:"cpu"`
	MemoryGiB    int     `json:"memoryGiB"`
	Disks        []Disk  `json:"disks"`
	NetworkGbps  float64 `json:"networkGbps"`
	Cores        int     `json:"cores"`
	LocalDiskGiB int     `json:"localDiskGiB"`
}

// Disk is one kind of local disk in a node.
type Disk struct {
	Count   int    `json:"count"`
	SizeGiB int    `json:"sizeGiB"`
	Kind    string `json:"kind"`
}

// Reserve is what each node keeps for the system before pods.
type Reserve struct {
	CPUMillis     int `json:"cpuMillis"`
	MemoryGiB     int `json:"memoryGiB"`
	ImageCacheGiB int `json:"imageCacheGiB"`
}

// Aspects are the enabled aspects; a nil one is not enabled.
type Aspects struct {
	API      *API      `json:"api,omitempty"`
	Portal   *struct{} `json:"portal,omitempty"`
	Notebook *Notebook `json:"notebook,omitempty"`
}

// API is the api aspect's model.
type API struct {
	Qserv struct {
		DataGiB  int      `json:"dataGiB"`
		OSAdmins []string `json:"osAdmins"`
	} `json:"qserv"`
}

// Notebook is the notebook aspect's model.
type Notebook struct {
	MaxUsers int `json:"maxUsers"`
	User     struct {
		CPUMillis int `json:"cpuMillis"`
		MemoryGiB int `json:"memoryGiB"`
		// NodeSelector selects the nodes user pods run on.
		NodeSelector map[string]string `json:"nodeSelector"`
	} `json:"user"`
	Mounts map[string]bool `json:"mounts"`
}

// Access is who may do what.
type Access struct {
	DefaultAdmins   []string            `json:"defaultAdmins"`
	Admins          map[string][]string `json:"admins"`
	BastionGroups   []string            `json:"bastionGroups"`
	BreakGlassGroup string              `json:"breakGlassGroup"`
	Dashboard       bool                `json:"dashboard"`
}

// Registry is the instance's local container registry.
type Registry struct {
	Host       string `json:"host"`
	Node       string `json:"node"`
	StorageGiB int    `json:"storageGiB"`
	CacheGiB   int    `json:"cacheGiB"`
	// Mirrors are the upstream registries it proxies, by the host an image names.
	Mirrors map[string]Mirror `json:"mirrors"`
}

// Mirror is an upstream registry the instance's registry proxies (schema.#Mirror).
type Mirror struct {
	Remote     string `json:"remote"`
	IndexType  string `json:"indexType"`
	Repository string `json:"repository"`
}

// Image is one image and the facts a pod spec must agree with (schema.#Image).
type Image struct {
	// Ref is the fully qualified reference: Registry/repository:tag.
	Ref string `json:"ref"`
	// Registry is the host the image is pulled from.
	Registry string `json:"registry"`
	// Hosted: LSST CI pushes the image to the instance's own registry.
	Hosted bool `json:"hosted"`
	// AnyUser: the image runs as whichever user the pod gives it; User and Group are then
	// nil.
	AnyUser bool   `json:"anyUser"`
	User    *int64 `json:"user,omitempty"`
	Group   *int64 `json:"group,omitempty"`
	// Ports are the TCP ports the image listens on, by name.
	Ports map[string]int32 `json:"ports"`
	// Writes are the paths the program writes.
	Writes []string `json:"writes"`
	// ReadOnlyRootFilesystem: the image runs with a read-only root once Writes are volumes.
	ReadOnlyRootFilesystem bool `json:"readOnlyRootFilesystem"`
	// Capabilities are the Linux capabilities the program needs.
	Capabilities []string `json:"capabilities"`
	// Health holds the probes of each mode the image runs in.
	Health map[string]Health `json:"health"`
}

// Health is how the kubelet tells that an image's program is alive and ready.
type Health struct {
	Readiness HealthCheck  `json:"readiness"`
	Liveness  *HealthCheck `json:"liveness,omitempty"`
}

// HealthCheck is one probe: an HTTP GET of Path on Port, a TCP connect to Port (no Path),
// or a command (Exec).
type HealthCheck struct {
	Port   string   `json:"port,omitempty"`
	Path   string   `json:"path,omitempty"`
	Scheme string   `json:"scheme,omitempty"`
	Exec   []string `json:"exec,omitempty"`
}

// UserMapping says who may log in to the notebook and where user pods' UIDs and GIDs come
// from.
type UserMapping struct {
	UIDSource string `json:"uidSource"`
	// IdentityProviders are the only CILogon identity providers whose users may log in,
	// by entity ID.
	IdentityProviders map[string]IdentityProvider `json:"identityProviders"`
	// LDAP is the directory the UIDs come from (the site's), with uidSource ldap.
	LDAP *LDAP `json:"ldap,omitempty"`
}

// IdentityProvider is a CILogon identity provider and how a username is made of its
// users' claim (user@domain becomes user).
type IdentityProvider struct {
	EntityID      string `json:"entityID"`
	UsernameClaim string `json:"usernameClaim"`
	Domain        string `json:"domain"`
}

// LDAP is the directory notebook users' UIDs and GIDs come from.
type LDAP struct {
	URL       string `json:"url"`
	UserBase  string `json:"userBase"`
	GroupBase string `json:"groupBase"`
	BindDN    string `json:"bindDN"`
	// IdentityProvider is the one whose users are the directory's users.
	IdentityProvider IdentityProvider `json:"identityProvider"`
}

// Logging is the log forwarding model.
type Logging struct {
	// Forward: the instance forwards pod logs (its site's choice unless it makes its own);
	// without it there is no forwarder and no ELK endpoint.
	Forward bool `json:"forward"`
	ELK     struct {
		Host string `json:"host"`
		Port int    `json:"port"`
	} `json:"elk"`
}

// Storage is the GPFS model.
type Storage struct {
	GPFS struct {
		Server string `json:"server"`
	} `json:"gpfs"`
}

// Namespace mirrors schema.#NamespaceSpec.
type Namespace struct {
	Name        string   `json:"name"`
	Aspect      string   `json:"aspect"`
	PodSecurity string   `json:"podSecurity"`
	Admins      []string `json:"admins"`
	// AdminRole is the ClusterRole of its RoleBinding namespace-admin.
	AdminRole string `json:"adminRole"`
}

// OutOfBandSecret is a Secret the platform references and operators create.
type OutOfBandSecret struct {
	Keys    []string `json:"keys"`
	Purpose string   `json:"purpose"`
}

// Role mirrors schema.#NodeRole: what a node of the role carries and what a pod needs to
// run on it.
type Role struct {
	Name string `json:"name"`
	// DedicatedTo names the workload the role's nodes are reserved for ("" for none).
	DedicatedTo string `json:"dedicatedTo,omitempty"`
	// Labels are the labels every node of the role carries besides its hostname; a pod
	// selects the role's nodes with them.
	Labels map[string]string `json:"labels"`
	// Taints are the taints every node of the role carries.
	Taints []corev1.Taint `json:"taints"`
	// Tolerations are what a pod needs to run on the role's nodes.
	Tolerations []corev1.Toleration `json:"tolerations"`
}

// NodeLabels are the labels of node name of the instance: its role's and its hostname.
func (m *Model) NodeLabels(name string) map[string]string {
	labels := map[string]string{corev1.LabelHostname: name}
	if n, ok := m.Instance.Nodes[name]; ok {
		maps.Copy(labels, m.Roles[n.Role].Labels)
	}
	return labels
}

// RolesDedicatedTo lists the names of the roles whose nodes are reserved for workload,
// sorted.
func (m *Model) RolesDedicatedTo(workload string) []string {
	var out []string
	for name, r := range m.Roles {
		if r.DedicatedTo == workload {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Component is a workload as the flows see it: the pods PodLabels select in Namespace and
// the ports they listen on.
type Component struct {
	Namespace string            `json:"namespace"`
	Name      string            `json:"name"`
	PodLabels map[string]string `json:"podLabels"`
	// Ports are the component's container ports by name.
	Ports map[string]ComponentPort `json:"ports"`
	// Origin is "rendered" (a workload of the objects), "spawned" (pods another component
	// creates at run time) or "cluster" (the cluster's own add-ons, such as its DNS).
	Origin string `json:"origin"`
}

// The origins of a component.
const (
	OriginRendered = "rendered"
	OriginSpawned  = "spawned"
	OriginCluster  = "cluster"
)

// ID is the component's name as flows write it: namespace/name.
func (c Component) ID() string { return c.Namespace + "/" + c.Name }

// ComponentPort is one container port of a component.
type ComponentPort struct {
	Name     string `json:"name"`
	Port     int32  `json:"port"`
	Protocol string `json:"protocol"`
}

// Outside is a network outside the pod network: the addresses of its CIDRs but those of
// Except.
type Outside struct {
	Name   string   `json:"name"`
	CIDRs  []string `json:"cidrs"`
	Except []string `json:"except"`
	About  string   `json:"about"`
}

// Flow is one declared flow: From opens connections to To on each of Ports.
type Flow struct {
	// From and To are the ends as declared: a component's namespace/name, an outside
	// network's name, or "nodes".
	From string `json:"from"`
	To   string `json:"to"`
	// Src and Dst are the ends resolved.
	Src FlowEnd `json:"src"`
	Dst FlowEnd `json:"dst"`
	// Ports are the destination ports, resolved (a component's carry their names).
	Ports []FlowPort `json:"resolvedPorts"`
	// Why says what the flow is for.
	Why string `json:"why"`
}

// The kinds of a flow's end.
const (
	EndComponent = "component"
	EndOutside   = "outside"
	EndNodes     = "nodes"
)

// FlowEnd is one end of a flow: a component, an outside network or the nodes. Its fields
// carry no omitempty, so that the model round-trips through JSON (the render cache)
// unchanged.
type FlowEnd struct {
	Kind string `json:"kind"`
	// Namespace, Component and PodLabels name a component.
	Namespace string            `json:"namespace"`
	Component string            `json:"component"`
	PodLabels map[string]string `json:"podLabels"`
	// Outside, CIDRs and Except name an outside network.
	Outside string   `json:"outside"`
	CIDRs   []string `json:"cidrs"`
	Except  []string `json:"except"`
}

// String is the end as flows write it.
func (e FlowEnd) String() string {
	switch e.Kind {
	case EndComponent:
		return e.Namespace + "/" + e.Component
	case EndOutside:
		return e.Outside
	}
	return e.Kind
}

// FlowPort is one destination port of a flow.
type FlowPort struct {
	Port     int32  `json:"port"`
	Protocol string `json:"protocol"`
	// Name is the destination container's name for the port ("" for an outside network).
	Name string `json:"name,omitempty"`
}
