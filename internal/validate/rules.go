package validate

// Rule describes one check: its id, family, severity and what it demands.
type Rule struct {
	ID       string
	Family   string
	Severity Severity
	// Summary says what the rule demands, in one sentence.
	Summary string
}

// Rule ids.
const (
	SchemaUnknownField    = "LSST-SCHEMA-001"
	SchemaWrongType       = "LSST-SCHEMA-002"
	SchemaMissingRequired = "LSST-SCHEMA-003"
	SchemaUnknownKind     = "LSST-SCHEMA-004"
	SchemaQuantity        = "LSST-SCHEMA-005"

	RefIngressService  = "LSST-REF-001"
	RefIngressPort     = "LSST-REF-002"
	RefServiceSelector = "LSST-REF-003"
	RefRoleBinding     = "LSST-REF-004"
	RefClaim           = "LSST-REF-005"
	RefPodVolume       = "LSST-REF-006"
	RefServiceAccount  = "LSST-REF-007"
	RefNetworkPolicyNS = "LSST-REF-008"
	RefNamespaceExists = "LSST-REF-009"
	RefSecretKey       = "LSST-REF-010"

	SecPodSecurity    = "LSST-SEC-001"
	SecNamespaceLevel = "LSST-SEC-002"
	SecInlineSecret   = "LSST-SEC-003"
	SecWildcardRole   = "LSST-SEC-004"
	SecClusterAdmin   = "LSST-SEC-005"
	SecDefaultDeny    = "LSST-SEC-006"
	SecIngressTLS     = "LSST-SEC-007"
	SecImagePinned    = "LSST-SEC-008"
	SecImageRegistry  = "LSST-SEC-009"
	SecResources      = "LSST-SEC-010"
	SecClientAddress  = "LSST-SEC-011"

	ImageFacts        = "LSST-IMG-001"
	ImageUser         = "LSST-IMG-002"
	ImageWrites       = "LSST-IMG-003"
	ImageCapabilities = "LSST-IMG-004"
	ImagePorts        = "LSST-IMG-005"
	ImageProbes       = "LSST-IMG-006"

	CapTotal            = "LSST-CAP-001"
	CapPlacement        = "LSST-CAP-002"
	CapQservLocalDisk   = "LSST-CAP-003"
	CapRegistryNode     = "LSST-CAP-004"
	CapLocalDisk        = "LSST-CAP-005"
	CapNodeClaimedTwice = "LSST-CAP-006"
	CapDevQuota         = "LSST-CAP-007"

	NotesGPFSNeedsLDAP    = "LSST-NOTES-001"
	NotesDatasetsReadOnly = "LSST-NOTES-002"
	NotesPublicAspects    = "LSST-NOTES-003"
	NotesInwardPrivate    = "LSST-NOTES-004"
	NotesNamespaceAdmin   = "LSST-NOTES-005"
	NotesLogForwarder     = "LSST-NOTES-006"
	NotesNotebookLogin    = "LSST-NOTES-007"
	NotesIngressDomain    = "LSST-NOTES-008"
	NotesHostAccess       = "LSST-NOTES-009"

	NetDeclaredAllowed  = "LSST-NET-001"
	NetUndeclaredDenied = "LSST-NET-002"
	NetPodNetworkBlock  = "LSST-NET-003"
	NetComponents       = "LSST-NET-004"

	PrivClusterAdmin    = "LSST-PRIV-001"
	PrivReadOnlySecrets = "LSST-PRIV-002"
	PrivBeyondNamespace = "LSST-PRIV-003"

	DevReach             = "LSST-DEV-001"
	DevSpace             = "LSST-DEV-002"
	DevPrereleaseStorage = "LSST-DEV-003"
)

// Rules lists every rule, in the order of the documentation table.
var Rules = []Rule{
	{SchemaUnknownField, "schema", Error, "Every field of every object is a field of its Kubernetes 1.37 API type (strict decoding through client-go's scheme): no unknown or duplicate fields."},
	{SchemaWrongType, "schema", Error, "Every value has its field's type (a string where a string is due, a list where a list is due, a valid quantity …)."},
	{SchemaMissingRequired, "schema", Error, "Every field the API type requires is present (metadata.name, a container's name, a port's number, a roleRef's kind …)."},
	{SchemaUnknownKind, "schema", Error, "Every object's apiVersion and kind name a type the Kubernetes 1.37 API serves."},
	{SchemaQuantity, "schema", Error, "Every quantity of every object (requests, limits, capacities, quotas …) is a string in the canonical form the apiserver stores: resource.ParseQuantity(x).String() == x (\"20\", not \"20000m\"), so that an apply never differs from what the cluster holds."},

	{RefIngressService, "references", Error, "Every Ingress backend names a Service of the Ingress's namespace."},
	{RefIngressPort, "references", Error, "Every Ingress backend's port (by name or number) is a port of that Service."},
	{RefServiceSelector, "references", Error, "Every Service with a selector selects at least one pod template (Deployment, StatefulSet, DaemonSet …) of its namespace."},
	{RefRoleBinding, "references", Error, "Every RoleBinding and ClusterRoleBinding refers to a Role of its namespace or a ClusterRole that exists (the built-in cluster-admin, admin, edit and view count as existing)."},
	{RefClaim, "references", Error, "Every PersistentVolumeClaim (volumeClaimTemplates included) names a PersistentVolume that exists and is reserved for it, or a StorageClass of the instance by name: a claim that names neither (no storageClassName) would wait for a default StorageClass, which the platform does not make."},
	{RefPodVolume, "references", Error, "Every pod volume (the secret and configMap sources of projected volumes included) and env reference names a ConfigMap, Secret or PersistentVolumeClaim that exists (out-of-band Secrets the instance lists count; optional references may be missing), and every volumeMount names a volume of the pod."},
	{RefServiceAccount, "references", Error, "Every pod's serviceAccountName and every ServiceAccount subject of a binding names a ServiceAccount that exists (\"default\" always does)."},
	{RefNetworkPolicyNS, "references", Error, "Every NetworkPolicy peer that selects a namespace by name names a namespace that exists (the instance's, or a built-in one such as kube-system)."},
	{RefNamespaceExists, "references", Error, "Every namespaced object's namespace is a Namespace of the instance (or a built-in one)."},
	{RefSecretKey, "references", Error, "Every key a pod reads (env secretKeyRef and configMapKeyRef, the items of secret, configMap and projected volumes) is one of the keys the instance lists for that out-of-band Secret, or a data or binaryData key of that ConfigMap (optional references may miss keys; the keys of a Secret rendered from git are not known there and are not checked)."},

	{SecPodSecurity, "security", Error, "Every pod template passes the Pod Security Standard its namespace declares (k8s.io/pod-security-admission's evaluator, latest version)."},
	{SecNamespaceLevel, "security", Error, "Every Namespace is declared by the instance's model and enforces (label pod-security.kubernetes.io/enforce) the level the model declares for it; a rendered Namespace the model does not declare is a finding, and its pods are held to restricted."},
	{SecInlineSecret, "security", Error, "No Secret carries data or stringData in git: Secrets are made out of band and only referenced. A Secret rendered empty for a component to fill at run time (the dashboard's CSRF, key-holder and certificate Secrets, which it may update but not create) holds nothing secret and is not an inline secret."},
	{SecWildcardRole, "security", Error, "No Role or ClusterRole of the platform grants \"*\" verbs, resources or apiGroups: namespace-admin roles spell out what they allow."},
	{SecClusterAdmin, "security", Error, "cluster-admin is bound (by a ClusterRoleBinding or RoleBinding) to the instance's break-glass group only."},
	{SecDefaultDeny, "security", Error, "Every namespace of the instance has a default-deny NetworkPolicy for both ingress and egress (empty podSelector, no rules)."},
	{SecIngressTLS, "security", Error, "Every Ingress host is covered by a TLS entry whose certificate Secret the instance lists among its out-of-band Secrets."},
	{SecImagePinned, "security", Error, "Every container image is pinned to a tag or digest, never :latest or no tag."},
	{SecImageRegistry, "security", Error, "Every container image is named by its real, fully qualified reference and comes from the instance's own registry (registry.<domain>, the hosted repository LSST CI pushes to) or from an upstream registry the instance mirrors (instance.registry.mirrors), which the nodes pull through the registry."},
	{SecResources, "security", Error, "Every container (init containers included) sets cpu, memory and ephemeral-storage requests and limits (ephemeral storage shares the nodes' local disks with the image cache and the local volumes)."},
	{SecClientAddress, "security", Error, "Every Service that takes traffic from outside the cluster (NodePort, LoadBalancer) keeps the client's address (externalTrafficPolicy Local), which the inward instances' allowlists and the NetworkPolicies' ipBlocks filter on."},

	{ImageFacts, "image", Error, "Every container's image is one whose facts the model holds (platform/images.cue): its numeric user and group, ports, writable paths, capabilities and health checks, each read from an upstream file."},
	{ImageUser, "image", Error, "Every container runs as its image's numeric user and group (runAsUser and runAsGroup, its own or its pod's; a numeric one at least for an image that runs as any user), and a pod that mounts a claim read-write sets fsGroup to the group of the image writing it."},
	{ImageWrites, "image", Error, "A container with a read-only root file system runs an image that can run so, and every path its image writes is (or lies below) one of its writable volume mounts."},
	{ImageCapabilities, "image", Error, "Every Linux capability a container's image needs is added (unless the container is privileged), and nothing beyond them."},
	{ImagePorts, "image", Error, "Every port a container declares, a Service targets, a probe asks or a NetworkPolicy allows to pods of the instance is one its pods' images listen on (by the facts' names and numbers)."},
	{ImageProbes, "image", Error, "Every long-running container (of a Deployment, StatefulSet, DaemonSet or ReplicaSet, sidecars included) has a readiness probe, and each probe it has asks one of its image's health checks: the same path, port and scheme, the same TCP port, or the same command."},

	{CapTotal, "capacity", Error, "The sum of the instance's cpu, memory and ephemeral-storage requests (replicas, one DaemonSet pod per matching node, and maxUsers notebook user pods) fits its nodes' allocatable capacity: cores and memory minus reservePerNode, local disks minus the image cache and the local volumes."},
	{CapPlacement, "capacity", Error, "A placement of every pod replica (notebook users included) over the instance's real nodes, honouring nodeSelector, required node affinity, required pod anti-affinity by hostname and tolerations of the modelled taints, and choosing among the nodes with room as the scheduler's default scoring does (least allocated), finds a node with room for each: cpu, memory and ephemeral storage (the node's local disks less the image cache and the local volumes on it)."},
	{CapQservLocalDisk, "capacity", Error, "qserv pods can run only on qserv nodes (role qserv-czar or qserv-worker) whose local disks, minus the image cache, hold the pod's claim."},
	{CapRegistryNode, "capacity", Error, "The registry runs on its dedicated node (instance.registry.node, role registry) and no other workload but node-wide DaemonSets can be scheduled there."},
	{CapLocalDisk, "capacity", Error, "The local PersistentVolumes on each node fit its local disks minus reservePerNode.imageCacheGB, and each names a node of the instance."},
	{CapNodeClaimedTwice, "capacity", Error, "No physical node is claimed by two instances (checked across the instances validated together)."},
	{CapDevQuota, "capacity", Error, "The development spaces' quotas (their requests of cpu, memory and ephemeral storage, together) fit what the nodes their pods may run on (those no role dedicates) have left once the placement has put every pod of the platform and the notebook's users at maxUsers there."},

	{NotesGPFSNeedsLDAP, "planning notes", Error, "Only the notebook's user pods mount GPFS home, project and scratch (claims of NFS PersistentVolumes of the site's GPFS other than /datasets, or inline NFS volumes of it): no rendered pod template does, and every JupyterHub config that gives user pods such a claim sets a pre_spawn_hook that looks the user up in LDAP and sets spawner.uid and spawner.gid from uidNumber and gidNumber. CILogon's UIDs do not match NCSA LDAP's, which own GPFS."},
	{NotesDatasetsReadOnly, "planning notes", Error, "/datasets is read-only everywhere: its PersistentVolumes are read-only NFS with ReadOnlyMany, and every claim, pod volume and mount of it is read-only."},
	{NotesPublicAspects, "planning notes", Error, "On a public instance all three aspects (api, portal, notebook) are enabled and reachable through an Ingress of their namespace under the instance's domain."},
	{NotesInwardPrivate, "planning notes", Error, "An inward-facing instance exposes nothing publicly: every Ingress admits only the internal networks, no NetworkPolicy admits traffic from outside them (an ingress rule without from admits every source, so it counts as admitting the outside), no Service is a LoadBalancer."},
	{NotesNamespaceAdmin, "planning notes", Error, "Every namespace has its 'admin' binding: RoleBinding namespace-admin to ClusterRole lsst-namespace-admin (or the model's adminRole for it, lsst-namespace-operator where the namespace's ServiceAccounts or pods reach beyond it) whose subjects are exactly the groups the instance names for it; no other binding grants lsst-namespace-admin, and no RoleBinding or ClusterRoleBinding grants Kubernetes' built-in admin ClusterRole (it may edit the namespace's RBAC), whatever its name."},
	{NotesLogForwarder, "planning notes", Error, "Where the instance forwards pod logs (logging.forward, its site's choice by default), a log forwarder (a DaemonSet of the logging namespace) can run on every node of the instance, whatever its role and taints; where it does not, none is rendered."},
	{NotesNotebookLogin, "planning notes", Error, "The notebook hub lets in the users of the instance's identity providers only, and with UIDs from LDAP only those of the directory's own (the hub.json its ConfigMap holds: allowed_idps, each stripping its domain; the uid source)."},
	{NotesIngressDomain, "planning notes", Error, "Every Ingress host (of its rules and of its TLS entries) is the instance's domain or a name under it, and every rule names a host: a rule without one serves every name the ingress controller is reached by."},
	{NotesHostAccess, "planning notes", Error, "Only qserv's admin DaemonSet (qserv-os-admin/qserv-data-admin) runs a privileged container or in the host's network, PID or IPC namespace, and its required node affinity keeps it on qserv nodes (role in the roles dedicated to qserv); only it and the DaemonSets of the logging namespace (the log forwarders) mount hostPath volumes. The admission policy lsst-host-access holds the same in the cluster, also in qserv's and logging's privileged namespaces, where LSST-SEC-001 lets anything pass."},

	{NetDeclaredAllowed, "flows", Error, "Every declared flow (platform/flows.cue) is allowed by the rendered NetworkPolicies, on each of its ports: the source's egress and the destination's ingress (internal/netpol), to an address of each of an outside network's CIDRs. Flows the nodes open (NFS mounts) are not governed by NetworkPolicy and are not checked."},
	{NetUndeclaredDenied, "flows", Error, "Every flow between two components (across namespaces, within one, and between two pods of one component) on a port the destination's containers name, that no flow declares, is denied by the rendered NetworkPolicies."},
	{NetPodNetworkBlock, "flows", Error, "No NetworkPolicy ipBlock admits addresses of the cluster's pod network (instance.kubernetes.podCIDR): network plugins apply ipBlocks to pods too, so such a block would admit pods no flow declares."},
	{NetComponents, "flows", Error, "Every pod template is selected by exactly one component of the flows in its namespace, and every component the templates render selects a pod template."},

	{PrivClusterAdmin, "privilege", Error, "Nobody but the instance's break-glass group reaches cluster-admin's power by any path the rendered RBAC and pod templates open (internal/privilege: escalate, bind, impersonate, tokens and Secrets, pods that run as a namespace's ServiceAccounts, exec, privileged or hostPath pods on a general node); the finding names the subject and its path."},
	{PrivReadOnlySecrets, "privilege", Error, "No read-only identity (the bastion groups, and every subject bound to ClusterRole lsst-readonly, such as the dashboard's viewer) reads a Secret's content by any path."},
	{PrivBeyondNamespace, "privilege", Error, "The groups a namespace-admin RoleBinding names reach, by any of their grants, nothing beyond the namespaces they administer: no cluster-admin, node root, ServiceAccount of another namespace, Secrets, pods or permissions elsewhere (reading cluster-scoped resources aside). qserv's OS admins (aspects.api.qserv.osAdmins) are root on the qserv nodes by the model's declaration, and qserv-os-admin is theirs: what that root reaches on those nodes — the ServiceAccounts and Secrets of every pod that runs or can be drawn there — must be of their namespaces too."},

	{DevReach, "development", Error, "What a development space's RoleBindings give its admins (and, through the pods they may run, its ServiceAccounts) reaches nothing outside the space: no platform namespace, other space, node or cluster-wide power. Their groups may administer platform namespaces besides, which LSST-PRIV-003 holds."},
	{DevSpace, "development", Error, "Every development space enforces the restricted Pod Security level; its ResourceQuota bounds pods and the requests and limits of cpu, memory and ephemeral storage, sets services.nodeports and services.loadbalancers to 0 and persistentvolumeclaims to the claims rendered, each of them a read-only claim of a read-only NFS volume (GPFS /datasets); its LimitRange gives containers default cpu and memory requests."},
	{DevPrereleaseStorage, "development", Error, "No volume a prerelease's claims may write (not a read-only NFS volume, not ReadOnlyMany only) is storage — an NFS export, or a local or host path on a node — that a claim of another namespace also uses: a prerelease shares no writable storage with the stable platform."},
}

// ruleByID finds a rule; every id used by a check is in Rules (a test asserts it).
func ruleByID(id string) Rule {
	for _, r := range Rules {
		if r.ID == id {
			return r
		}
	}
	return Rule{ID: id, Severity: Error}
}
