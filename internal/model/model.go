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
	ELK struct {
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
