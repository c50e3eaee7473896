package render

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"

	"github.com/lsst-dm/lsstgen/internal/repo"
)

// Options control how instances are rendered.
type Options struct {
	// Concurrency bounds how many instances are evaluated at once, each with its own CUE
	// context. Zero or less means one per CPU.
	Concurrency int
}

// DefaultOptions renders one instance per CPU at a time.
func DefaultOptions() Options {
	return Options{Concurrency: runtime.GOMAXPROCS(0)}
}

// All renders the named instances in memory, or every instance when names is empty, with
// DefaultOptions. An unknown name is an error that lists the known ones. Nothing is written.
func All(root string, names []string) ([]*Result, error) {
	return AllWith(root, names, DefaultOptions())
}

// AllWith is All with options. The results are in the order of names (sorted when every
// instance is rendered), whatever the concurrency.
func AllWith(root string, names []string, opts Options) ([]*Result, error) {
	known, err := Instances(root)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		names = known
	}
	for _, n := range names {
		if !slices.Contains(known, n) {
			return nil, fmt.Errorf("unknown instance %q: instances/ holds %v; add instances/%s/ to create it", n, known, n)
		}
	}
	workers := opts.Concurrency
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	results := make([]*Result, len(names))
	errs := make([]error, len(names))
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i], errs[i] = Instance(root, n)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return results, nil
}

// Write replaces generated/<instance>/ of each result with exactly the result's files. Each
// instance's folder is written beside the old one and swapped in by rename, so a reader
// sees the old folder or the new one, never a mix, and a failed write leaves the old one.
// When prune is set (a render of every instance), folders of instances that no longer
// exist are removed.
func Write(root string, results []*Result, prune bool) error {
	gen := filepath.Join(root, repo.GeneratedDir)
	if err := os.MkdirAll(gen, 0o755); err != nil {
		return err
	}
	// Stage every instance first: a failure here leaves generated/ untouched.
	staged := map[string]string{}
	cleanup := func() {
		for _, dir := range staged {
			os.RemoveAll(dir)
		}
	}
	for _, r := range results {
		dir, err := os.MkdirTemp(gen, ".staging-"+r.Instance+"-")
		if err != nil {
			cleanup()
			return err
		}
		staged[r.Instance] = dir
		for rel, data := range r.Files {
			p := filepath.Join(dir, filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				cleanup()
				return err
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				cleanup()
				return fmt.Errorf("writing %s: %w", rel, err)
			}
		}
	}
	// Swap each in.
	for _, r := range results {
		if err := swap(gen, r.Instance, staged[r.Instance]); err != nil {
			cleanup()
			return err
		}
		delete(staged, r.Instance)
	}
	if !prune {
		return nil
	}
	keep := map[string]bool{}
	for _, r := range results {
		keep[r.Instance] = true
	}
	entries, err := os.ReadDir(gen)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() && !keep[e.Name()] {
			if err := os.RemoveAll(filepath.Join(gen, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// swap moves staged into gen/name, keeping the old folder until the new one is in place.
func swap(gen, name, staged string) error {
	final := filepath.Join(gen, name)
	old := ""
	if _, err := os.Stat(final); err == nil {
		d, err := os.MkdirTemp(gen, ".old-"+name+"-")
		if err != nil {
			return err
		}
		old = filepath.Join(d, name)
		if err := os.Rename(final, old); err != nil {
			os.RemoveAll(d)
			return err
		}
	}
	if err := os.Rename(staged, final); err != nil {
		if old != "" {
			// Put the old folder back.
			_ = os.Rename(old, final)
			os.RemoveAll(filepath.Dir(old))
		}
		return fmt.Errorf("replacing %s: %w", final, err)
	}
	if old != "" {
		return os.RemoveAll(filepath.Dir(old))
	}
	return nil
}

