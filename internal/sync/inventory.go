package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// Keys of the inventory ConfigMap's data.
const (
	// InventoryObjects lists the objects the last successful cycle applied (JSON).
	InventoryObjects = "objects"
	// InventoryCommit is the commit the last successful cycle applied.
	InventoryCommit = "commit"
	// InventoryPending lists objects a cycle started to apply and has not committed: the
	// objects of a cycle that failed or was killed, which the next cycle must still prune.
	InventoryPending = "pending"
	// InventoryPendingCommit is the commit of the pending objects.
	InventoryPendingCommit = "pendingCommit"
	// InventoryPendingWriter is the writer (Options.Writer) that recorded them.
	InventoryPendingWriter = "pendingWriter"
)

// Entry is one object in an inventory.
type Entry struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	// Writer and Commit, on a pending entry only, say which writer (Options.Writer)
	// recorded it and for which commit: a pending entry outlives the cycle that added it
	// when that cycle fails, and the next writer, perhaps another, still prunes it.
	Writer string `json:"writer,omitempty"`
	Commit string `json:"commit,omitempty"`
}

// bare returns e without the pending entry's writer and commit.
func (e Entry) bare() Entry { e.Writer, e.Commit = "", ""; return e }

func entryOf(o *unstructured.Unstructured) Entry {
	return Entry{APIVersion: o.GetAPIVersion(), Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName()}
}

// key identifies the object whatever the version it is served at.
func (e Entry) key() string {
	return schema.FromAPIVersionAndKind(e.APIVersion, e.Kind).GroupKind().String() + "/" + e.Namespace + "/" + e.Name
}

// String returns Kind/namespace/name, or Kind/name for a cluster-scoped object.
func (e Entry) String() string { return manifest.FormatID(e.Kind, e.Namespace, e.Name) }

func (e Entry) object() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(e.APIVersion)
	u.SetKind(e.Kind)
	u.SetNamespace(e.Namespace)
	u.SetName(e.Name)
	return u
}

// entrySet is a set of entries by key.
type entrySet map[string]Entry

func (s entrySet) add(es ...Entry) {
	for _, e := range es {
		s[e.key()] = e
	}
}

// sorted returns the entries ordered by key.
func (s entrySet) sorted() []Entry {
	out := make([]Entry, 0, len(s))
	for _, e := range s {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key() < out[j].key() })
	return out
}

// subsetOf reports whether every entry of s is in t.
func (s entrySet) subsetOf(t entrySet) bool {
	for k := range s {
		if _, ok := t[k]; !ok {
			return false
		}
	}
	return true
}

func (s entrySet) equal(t entrySet) bool { return len(s) == len(t) && s.subsetOf(t) }

// Inventory is what sync recorded in the cluster for an instance.
type Inventory struct {
	Commit        string
	Objects       entrySet
	PendingCommit string
	PendingWriter string
	Pending       entrySet

	cm *corev1.ConfigMap // nil when there is none yet
}

// InventoryName is the name of the ConfigMap holding an instance's inventory.
func InventoryName(instance string) string { return "lsstgen-inventory-" + instance }

// all returns the committed and pending entries together.
func (inv *Inventory) all() entrySet {
	s := entrySet{}
	for _, e := range inv.Objects {
		s.add(e)
	}
	for _, e := range inv.Pending {
		s.add(e)
	}
	return s
}

// loadInventory reads the instance's inventory; none yet is an empty one.
func (s *Syncer) loadInventory(ctx context.Context) (*Inventory, error) {
	cm := &corev1.ConfigMap{}
	err := s.client.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: InventoryName(s.opts.Instance)}, cm)
	if apierrors.IsNotFound(err) {
		return &Inventory{Objects: entrySet{}, Pending: entrySet{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the inventory %s/%s: %w", s.opts.Namespace, InventoryName(s.opts.Instance), err)
	}
	inv := &Inventory{Commit: cm.Data[InventoryCommit], PendingCommit: cm.Data[InventoryPendingCommit],
		PendingWriter: cm.Data[InventoryPendingWriter], cm: cm}
	if inv.Objects, err = decodeEntries(cm.Data[InventoryObjects]); err != nil {
		return nil, fmt.Errorf("inventory %s/%s, %s: %w", cm.Namespace, cm.Name, InventoryObjects, err)
	}
	if inv.Pending, err = decodeEntries(cm.Data[InventoryPending]); err != nil {
		return nil, fmt.Errorf("inventory %s/%s, %s: %w", cm.Namespace, cm.Name, InventoryPending, err)
	}
	return inv, nil
}

func decodeEntries(s string) (entrySet, error) {
	set := entrySet{}
	if strings.TrimSpace(s) == "" {
		return set, nil
	}
	var es []Entry
	if err := json.Unmarshal([]byte(s), &es); err != nil {
		return nil, err
	}
	for _, e := range es {
		if e.APIVersion == "" || e.Kind == "" || e.Name == "" {
			return nil, fmt.Errorf("entry %+v lacks apiVersion, kind or name", e)
		}
	}
	set.add(es...)
	return set, nil
}

func encodeEntries(s entrySet) string {
	b, err := json.MarshalIndent(s.sorted(), "", " ")
	if err != nil {
		panic(err) // strings only
	}
	return string(b) + "\n"
}

// saveInventory writes inv, creating the namespace and ConfigMap on first use. The update
// carries the resourceVersion read, so two writers cannot silently overwrite each other.
func (s *Syncer) saveInventory(ctx context.Context, inv *Inventory) error {
	objects := entrySet{}
	for _, e := range inv.Objects {
		objects.add(e.bare())
	}
	data := map[string]string{
		InventoryCommit:  inv.Commit,
		InventoryObjects: encodeEntries(objects),
	}
	if len(inv.Pending) > 0 {
		data[InventoryPending] = encodeEntries(inv.Pending)
		data[InventoryPendingCommit] = inv.PendingCommit
		data[InventoryPendingWriter] = inv.PendingWriter
	}
	name := InventoryName(s.opts.Instance)
	if inv.cm == nil {
		if err := s.ensureNamespace(ctx); err != nil {
			return err
		}
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Name:      name,
				Namespace: s.opts.Namespace,
				Labels:    map[string]string{manifest.LabelManagedBy: manifest.ManagedBy, manifest.LabelInstance: s.opts.Instance},
			},
			Data: data,
		}
		if err := s.client.Create(ctx, cm, client.FieldOwner(FieldManager)); err != nil {
			return fmt.Errorf("creating the inventory %s/%s: %w", s.opts.Namespace, name, err)
		}
		inv.cm = cm
		return nil
	}
	cm := inv.cm.DeepCopy()
	cm.Data = data
	if err := s.client.Update(ctx, cm, client.FieldOwner(FieldManager)); err != nil {
		return fmt.Errorf("updating the inventory %s/%s: %w", s.opts.Namespace, name, err)
	}
	inv.cm = cm
	return nil
}

// ensureNamespace makes the inventory's namespace when it is missing. It looks first: the
// rendered daemon's ServiceAccount may read Namespaces but not create them (they are the
// bootstrap tier's), and its namespace exists, since the daemon runs in it.
func (s *Syncer) ensureNamespace(ctx context.Context) error {
	var existing corev1.Namespace
	err := s.client.Get(ctx, client.ObjectKey{Name: s.opts.Namespace}, &existing)
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading namespace %s of the inventory: %w", s.opts.Namespace, err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   s.opts.Namespace,
		Labels: map[string]string{manifest.LabelManagedBy: manifest.ManagedBy},
	}}
	if err := s.client.Create(ctx, ns, client.FieldOwner(FieldManager)); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s for the inventory: %w", s.opts.Namespace, err)
	}
	return nil
}
