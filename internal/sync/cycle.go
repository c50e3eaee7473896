package sync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/fluxcd/pkg/ssa"
)

// Result is what one cycle did, or in a dry run would do.
type Result struct {
	Instance string
	Commit   string
	DryRun   bool
	// Changes lists every object applied, pruned or deliberately left in place, in order.
	Changes []Change
}

// Changed reports whether the cycle created, configured or deleted anything.
func (r *Result) Changed() bool {
	for _, c := range r.Changes {
		if c.Action != string(ssa.UnchangedAction) && c.Action != string(ssa.SkippedAction) {
			return true
		}
	}
	return false
}

// counts returns the number of changes by action.
func (r *Result) counts() map[string]int {
	n := map[string]int{}
	for _, c := range r.Changes {
		n[c.Action]++
	}
	return n
}

// Sync makes the cluster hold snap: it records the objects as pending in the inventory
// when there are new ones, applies them, and only when every apply succeeded prunes the
// inventory's objects that left git and commits the inventory with snap's commit. A cycle
// that changes nothing writes nothing, the inventory included.
func (s *Syncer) Sync(ctx context.Context, snap *Snapshot) (*Result, error) {
	res := &Result{Instance: s.opts.Instance, Commit: snap.Commit, DryRun: s.opts.DryRun}
	if snap.Instance != s.opts.Instance {
		return res, fmt.Errorf("snapshot of instance %s given to the sync of %s", snap.Instance, s.opts.Instance)
	}
	snap, bootstrap := splitBootstrap(snap)
	objs, desired, err := s.prepare(snap)
	if err != nil {
		return res, err
	}
	inv, err := s.loadInventory(ctx)
	if err != nil {
		return res, err
	}
	prior := inv.all() // what earlier cycles applied or may have applied
	if !s.opts.DryRun && !desired.subsetOf(inv.Objects) {
		writer := cmp.Or(s.opts.Writer, "unknown")
		for _, e := range desired.sorted() {
			if _, ok := inv.Pending[e.key()]; !ok {
				e.Writer, e.Commit = writer, snap.Commit
				inv.Pending.add(e)
			}
		}
		inv.PendingCommit = snap.Commit
		inv.PendingWriter = writer
		if err := s.saveInventory(ctx, inv); err != nil {
			return res, fmt.Errorf("recording the pending inventory, nothing applied: %w", err)
		}
	}

	objs, skipped, conflictErr, dry := s.withoutConflicts(ctx, objs)
	s.record(res, snap.Commit, skipped...)

	before := s.liveObjects(ctx, objs)
	commitObjs := objs // all of them are waited on, unchanged or not
	var unchanged []Change
	if !s.opts.DryRun {
		objs, unchanged = settled(objs, dry, before)
		s.record(res, snap.Commit, unchanged...)
	}
	var changes []Change
	if s.opts.DryRun {
		changes, err = s.diff(ctx, objs)
	} else {
		changes, err = s.apply(ctx, objs)
	}
	withFields(changes, objs, before)
	for i := range changes {
		changes[i].Drift = changes[i].Action == string(ssa.ConfiguredAction) && inv.Commit == snap.Commit
	}
	s.record(res, snap.Commit, changes...)
	if err != nil {
		return res, fmt.Errorf("apply failed, nothing pruned: %w", err)
	}

	bootChanges, bootErr := s.checkBootstrap(ctx, bootstrap)
	s.record(res, snap.Commit, bootChanges...)
	if bootErr != nil {
		return res, fmt.Errorf("nothing pruned: %w", bootErr)
	}
	// A bootstrap-tier object an earlier commit had sync apply stays: it is never pruned.
	kept := entrySet{}
	for _, o := range bootstrap {
		kept.add(entryOf(o))
	}
	known := inv.all()
	candidates := entrySet{}
	for k, e := range known {
		_, inGit := desired[k]
		_, boot := kept[k]
		if !inGit && !boot {
			candidates.add(e)
		}
	}
	// The share is of the confirmed inventory, what a successful cycle applied: pending
	// entries are objects a failed cycle may or may not have created, and must not widen
	// what one cycle may delete.
	pruned, remaining, pruneErr := s.prune(ctx, candidates, len(inv.Objects))
	s.record(res, snap.Commit, pruned...)
	if s.opts.DryRun {
		return res, joinConflict(pruneErr, conflictErr)
	}

	if hook := beforeInventoryCommit; hook != nil {
		if err := hook(ctx); err != nil {
			return res, errors.Join(pruneErr, err)
		}
	}
	// An object skipped for a conflict was not applied: it is recorded only if an earlier
	// cycle had applied it.
	notApplied := map[string]bool{}
	for _, c := range skipped {
		notApplied[c.Object] = true
	}
	next := entrySet{}
	for _, e := range desired {
		if _, before := prior[e.key()]; notApplied[e.String()] && !before {
			continue
		}
		next.add(e)
	}
	next.add(remaining.sorted()...)
	if !next.equal(inv.Objects) || inv.Commit != snap.Commit || len(inv.Pending) > 0 {
		inv.Objects, inv.Commit = next, snap.Commit
		inv.Pending, inv.PendingCommit, inv.PendingWriter = entrySet{}, "", ""
		if err := s.saveInventory(ctx, inv); err != nil {
			return res, errors.Join(pruneErr, fmt.Errorf("committing the inventory: %w", err))
		}
	}
	return res, joinConflict(errors.Join(pruneErr, s.waitHealthy(ctx, commitObjs)), conflictErr)
}

// joinConflict adds a conflict, if any, to err.
func joinConflict(err error, conflict *ConflictError) error {
	if conflict == nil {
		return err
	}
	return errors.Join(err, conflict)
}

// record adds changes to res and logs each one that is not "unchanged".
func (s *Syncer) record(res *Result, commit string, changes ...Change) {
	for _, c := range changes {
		res.Changes = append(res.Changes, c)
		if c.Action == string(ssa.UnchangedAction) {
			continue
		}
		attrs := []any{"instance", s.opts.Instance, "commit", commit, "object", c.Object, "action", c.Action, "dry_run", s.opts.DryRun}
		if c.Reason != "" {
			attrs = append(attrs, "reason", c.Reason)
		}
		if c.Drift {
			attrs = append(attrs, "drift", true)
		}
		if len(c.Fields) > 0 {
			attrs = append(attrs, "fields", c.Fields)
		}
		s.log.Info("object", attrs...)
	}
}

// Cycle fetches the source's commit and syncs it, logging one line for the cycle. A
// commit the source refuses changes nothing in the cluster: what was applied stays.
func (s *Syncer) Cycle(ctx context.Context, src *Source) (*Result, error) {
	start := time.Now()
	res := &Result{Instance: s.opts.Instance, DryRun: s.opts.DryRun}
	snap, err := src.Fetch(ctx, s.opts.Instance)
	if err == nil {
		res, err = s.Sync(ctx, snap)
	}
	attrs := []any{"instance", s.opts.Instance, "revision", src.revision(), "commit", res.Commit, "dry_run", s.opts.DryRun,
		"duration_ms", time.Since(start).Milliseconds()}
	for action, n := range res.counts() {
		attrs = append(attrs, action, n)
	}
	s.metrics.observe(res, time.Since(start), err)
	if err != nil {
		s.log.Error("cycle failed", append(attrs, "error", err.Error())...)
		s.failureEvents(ctx, res, err)
		return res, err
	}
	s.log.Info("cycle", attrs...)
	return res, nil
}

// Logger returns a JSON logger writing to w.
func Logger(w interface{ Write([]byte) (int, error) }) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, nil))
}
