package render

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// Options control how instances are rendered.
type Options struct {
	// Concurrency bounds how many instances are evaluated at once, each with its own CUE
	// context. Zero or less means one per CPU.
	Concurrency int
	// CacheDir, when set, keeps each rendered instance keyed by the content of its inputs
	// and the generator, so an unchanged instance is not evaluated again.
	CacheDir string
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
	names, err := resolve(root, names)
	if err != nil {
		return nil, err
	}
	results := make([]*Result, len(names))
	_, err = each(root, names, opts, func(i int, r *Result) error {
		results[i] = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// resolve checks the names against instances/, or lists every instance when there are none.
func resolve(root string, names []string) ([]string, error) {
	known, err := Instances(root)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return known, nil
	}
	for _, n := range names {
		if !slices.Contains(known, n) {
			return nil, fmt.Errorf("unknown instance %q: instances/ holds %v; add instances/%s/ to create it", n, known, n)
		}
	}
	return names, nil
}

// each renders the instances with at most opts.Concurrency at once and hands each result
// to fn (called concurrently). It returns the cache keys it used and every instance's
// error, joined.
func each(root string, names []string, opts Options, fn func(i int, r *Result) error) ([]string, error) {
	workers := opts.Concurrency
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	shared := ""
	if opts.CacheDir != "" {
		var err error
		if shared, err = sharedKey(root); err != nil {
			return nil, err
		}
	}
	keys := make([]string, len(names))
	errs := make([]error, len(names))
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r, key, err := cachedInstance(root, n, shared, opts.CacheDir)
			keys[i] = key
			if err == nil {
				err = fn(i, r)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	return keys, errors.Join(errs...)
}

// cachedInstance renders one instance, through the cache when cacheDir is set, and
// returns the cache key it used.
func cachedInstance(root, name, shared, cacheDir string) (*Result, string, error) {
	if cacheDir == "" {
		r, err := Instance(root, name)
		return r, "", err
	}
	key, err := instanceKey(root, shared, name)
	if err != nil {
		return nil, "", err
	}
	if r, ok := cacheLoad(cacheDir, key); ok && r.Instance == name {
		return r, key, nil
	}
	r, err := Instance(root, name)
	if err != nil {
		return nil, key, err
	}
	// A cache that cannot be written only costs time.
	_ = cacheStore(cacheDir, key, r)
	return r, key, nil
}

// Summary is what Generate reports of one instance.
type Summary struct {
	Instance string
	Objects  int
}

// Generate renders the named instances (every instance when names is empty) and replaces
// their generated/ folders with exactly the rendered files. It stages each instance on
// disk beside its folder as soon as it is rendered, so that memory is bounded by the
// concurrency, not by the number of instances, and swaps the folders in by rename once
// every instance has rendered: a reader sees an old folder or a new one, never a mix, and
// nothing in generated/ changes unless every instance renders. When every instance is
// rendered, folders of instances that no longer exist are removed.
func Generate(root string, names []string, opts Options) ([]Summary, error) {
	all := len(names) == 0
	names, err := resolve(root, names)
	if err != nil {
		return nil, err
	}
	gen := filepath.Join(root, manifest.GeneratedDir)
	if err := os.MkdirAll(gen, 0o755); err != nil {
		return nil, err
	}
	staged := make([]string, len(names))
	summaries := make([]Summary, len(names))
	keys, err := each(root, names, opts, func(i int, r *Result) error {
		summaries[i] = Summary{Instance: r.Instance, Objects: len(r.Objects)}
		if same(filepath.Join(gen, r.Instance), r.Files) {
			return nil // already exactly this: nothing to write
		}
		dir, err := stage(gen, r)
		staged[i] = dir
		return err
	})
	if err != nil {
		removeAll(staged)
		return nil, err
	}
	if err := install(gen, names, staged, all); err != nil {
		return nil, err
	}
	if all && opts.CacheDir != "" {
		cachePrune(opts.CacheDir, keys)
	}
	return summaries, nil
}

// install swaps each staged folder (where there is one) in as generated/<name>/, and with
// prune removes the folders of instances not named. On failure it removes what is still
// staged.
func install(gen string, names, staged []string, prune bool) error {
	for i, n := range names {
		if staged[i] == "" {
			continue
		}
		if err := swap(gen, n, staged[i]); err != nil {
			removeAll(staged[i:])
			return err
		}
	}
	if !prune {
		return nil
	}
	return pruneInstances(gen, names)
}

func removeAll(dirs []string) {
	for _, d := range dirs {
		if d != "" {
			os.RemoveAll(d)
		}
	}
}

// stage writes a result's files into a new folder beside generated/<instance>/ and returns
// it (also when writing fails, so the caller can remove it).
func stage(gen string, r *Result) (string, error) {
	dir, err := os.MkdirTemp(gen, ".staging-"+r.Instance+"-")
	if err != nil {
		return "", err
	}
	for rel, data := range r.Files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return dir, err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return dir, fmt.Errorf("writing generated/%s/%s: %w", r.Instance, rel, err)
		}
	}
	return dir, nil
}

// same reports whether dir holds exactly files, byte for byte, and nothing else.
func same(dir string, files map[string][]byte) bool {
	have, err := ReadTree(dir)
	if err != nil || len(have) != len(files) {
		return false
	}
	for p, want := range files {
		if got, ok := have[p]; !ok || !bytes.Equal(got, want) {
			return false
		}
	}
	return true
}

// ReadTree reads every file below dir into a map keyed by its slash-separated path
// relative to dir, as Result.Files is. A dir that does not exist reads as empty.
func ReadTree(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == dir {
				return filepath.SkipDir
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	return files, nil
}

// pruneInstances removes the folders of generated/ that belong to no instance in keep.
func pruneInstances(gen string, keep []string) error {
	entries, err := os.ReadDir(gen)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() && !slices.Contains(keep, e.Name()) {
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
