package model

// Model is an instance's model as the CUE gives it, for the checks that need more than the
// objects: the hardware above all.
type Model struct {
	Instance   Instance                              `json:"instance"`
	Namespaces map[string]Namespace                  `json:"namespaces"`
	Secrets    map[string]map[string]OutOfBandSecret `json:"secrets"`
}

// Instance mirrors schema.#Instance (the fields the checks use).
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

// Node is one physical node claimed by the instance, with its role.
type Node struct {
	Name string `json:"name"`
	Site string `json:"site"`
	Role string `json:"role"`
	CPU  struct {
		Sockets        int     `json:"sockets"`
		CoresPerSocket int     `json:"coresPerSocket"`
		ClockGHz       float64 `json:"clockGHz"`
	} `json:"cpu"`
	MemoryGB    int     `json:"memoryGB"`
	Disks       []Disk  `json:"disks"`
	NetworkGbps float64 `json:"networkGbps"`
	Cores       int     `json:"cores"`
	LocalDiskGB int     `json:"localDiskGB"`
}

// Disk is one kind of local disk in a node.
type Disk struct {
	Count  int    `json:"count"`
	SizeGB int    `json:"sizeGB"`
	Kind   string `json:"kind"`
}

// Reserve is what each node keeps for the system before pods.
type Reserve struct {
	CPUMillis    int `json:"cpuMillis"`
	MemoryGB     int `json:"memoryGB"`
	ImageCacheGB int `json:"imageCacheGB"`
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
		DataGB   int      `json:"dataGB"`
		OSAdmins []string `json:"osAdmins"`
	} `json:"qserv"`
}

// Notebook is the notebook aspect's model.
type Notebook struct {
	MaxUsers int `json:"maxUsers"`
	User     struct {
		CPUMillis int `json:"cpuMillis"`
		MemoryGi  int `json:"memoryGi"`
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
	Host      string `json:"host"`
	Node      string `json:"node"`
	StorageGi int    `json:"storageGi"`
	CacheGi   int    `json:"cacheGi"`
}

// UserMapping says where user pods' UIDs and GIDs come from.
type UserMapping struct {
	UIDSource string `json:"uidSource"`
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
