package manifest

// Labels every rendered object carries; sync sets them again on what it applies and
// prunes only objects that still carry both.
const (
	// LabelInstance names the instance an object belongs to.
	LabelInstance = "lsst.org/instance"
	// LabelManagedBy is set to ManagedBy on every object lsstgen renders or sync writes.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedBy is the value of LabelManagedBy.
	ManagedBy = "lsstgen"
	// LabelPrerelease names, on every object of a prerelease, the aspect it is a
	// prerelease of (instance.development.prerelease); plan lists them apart.
	LabelPrerelease = "lsst.org/prerelease"
)

// AnnotationSource on every rendered object names the instance folder it was rendered
// from (instances/<name>).
const AnnotationSource = "lsst.org/source"

// AnnotationPrune set to PruneDisabled on a live object keeps it when it leaves git. Set to
// PruneAllowed on a Namespace, PersistentVolume or PersistentVolumeClaim it lets sync's
// prune delete it: the instance's model renders it there for the kinds it allows
// (instance.sync.prune).
const (
	AnnotationPrune = "lsst.org/prune"
	PruneDisabled   = "disabled"
	PruneAllowed    = "allowed"
)

// AnnotationForce set to ForceEnabled on an object in git lets sync take fields that
// another server-side apply field manager owns.
const (
	AnnotationForce = "lsst.org/force"
	ForceEnabled    = "enabled"
)

// AnnotationRecreate set to RecreateEnabled on an object in git lets sync delete and
// recreate it when a commit changes one of its immutable fields.
const (
	AnnotationRecreate = "lsst.org/recreate"
	RecreateEnabled    = "enabled"
)

// AnnotationTier set to TierBootstrap on an object in git puts it in the bootstrap tier:
// objects only a cluster admin can make (the break-glass binding, the sync daemon's own
// RBAC). The operator applies them once as the break-glass group; sync reads and
// compares them, reporting a missing or drifted one, and never applies or prunes them.
const (
	AnnotationTier = "lsst.org/tier"
	TierBootstrap  = "bootstrap"
)
