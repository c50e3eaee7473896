package render

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/model"
)

// CacheDir is where `lsstgen render` keeps rendered instances between runs, relative to
// the repository root (ignored by git).
const CacheDir = ".cache/render"

// cacheFormat is bumped when the layout of a cache entry changes.
const cacheFormat = "lsstgen-render-cache-1"

// The cache key of an instance is a hash of everything its output depends on: the
// generator itself (the running executable, so a changed lsstgen never reuses an entry),
// the CUE module (manifest.ModuleDirs, and the .cue files the instance package picks up from the
// root and instances/ folders) and the instance's own folder. An entry is therefore either
// exactly what a full render would give, or absent.

var (
	generatorOnce sync.Once
	generatorSum  string
	generatorErr  error
)

// generatorFingerprint identifies the running executable's content, once per process: the
// Go build ID the toolchain stores in it (a hash of everything it was built from), or, where
// the executable has none that can be read, a hash of the whole file.
func generatorFingerprint() (string, error) {
	generatorOnce.Do(func() {
		exe, err := os.Executable()
		if err != nil {
			generatorErr = err
			return
		}
		if id, ok := goBuildID(exe); ok {
			generatorSum = "go-build-id:" + id
			return
		}
		f, err := os.Open(exe)
		if err != nil {
			generatorErr = err
			return
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			generatorErr = err
			return
		}
		generatorSum = "sha256:" + hex.EncodeToString(h.Sum(nil))
	})
	return generatorSum, generatorErr
}

// goBuildID reads the Go build ID note of an ELF executable.
func goBuildID(exe string) (string, bool) {
	f, err := elf.Open(exe)
	if err != nil {
		return "", false
	}
	defer f.Close()
	sec := f.Section(".note.go.buildid")
	if sec == nil {
		return "", false
	}
	data, err := sec.Data()
	// The note: name size, description size, type (4 bytes each), "Go\x00\x00", the ID.
	if err != nil || len(data) < 16 || string(data[12:14]) != "Go" {
		return "", false
	}
	n := int(f.ByteOrder.Uint32(data[4:8]))
	if n == 0 || 16+n > len(data) {
		return "", false
	}
	return string(data[16 : 16+n]), true
}

// sharedKey hashes the inputs every instance shares.
func sharedKey(root string) (string, error) {
	gen, err := generatorFingerprint()
	if err != nil {
		return "", fmt.Errorf("render cache: %w", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", cacheFormat, gen)
	for _, dir := range manifest.ModuleDirs() {
		if err := hashTree(h, root, dir); err != nil {
			return "", err
		}
	}
	// .cue files directly in the root and in instances/ are unified into every instance.
	for _, dir := range []string{".", manifest.InstancesDir} {
		files, _ := filepath.Glob(filepath.Join(root, dir, "*.cue"))
		sort.Strings(files)
		for _, f := range files {
			if err := hashFile(h, root, f); err != nil {
				return "", err
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// instanceKey adds the instance's own folder to the shared key.
func instanceKey(root, shared, name string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", shared, name)
	if err := hashTree(h, root, filepath.Join(manifest.InstancesDir, name)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashTree hashes every file below dir. A folder that does not exist adds nothing: it
// cannot change what the instance renders to.
func hashTree(h hash.Hash, root, dir string) error {
	return filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == filepath.Join(root, dir) && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		return hashFile(h, root, p)
	})
}

func hashFile(h hash.Hash, root, p string) error {
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	rel, _ := filepath.Rel(root, p)
	fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(rel), len(data))
	h.Write(data)
	return nil
}

// cacheEntry is a Result as stored; Objects are read back from Files (the node files are
// not objects).
type cacheEntry struct {
	Instance string            `json:"instance"`
	Files    map[string]string `json:"files"`
	Model    model.Model       `json:"model"`
	Sources  Sources           `json:"sources"`
}

// cacheLoad returns the cached result for key, or false. A damaged entry is a miss.
func cacheLoad(dir, key string) (*Result, bool) {
	data, err := os.ReadFile(filepath.Join(dir, key+".json"))
	if err != nil {
		return nil, false
	}
	var e cacheEntry
	if err := json.Unmarshal(data, &e); err != nil || e.Files[manifest.KustomizationFile] == "" {
		return nil, false
	}
	r := &Result{Instance: e.Instance, Files: map[string][]byte{}, Model: e.Model, Sources: e.Sources}
	paths := make([]string, 0, len(e.Files))
	for p, b := range e.Files {
		r.Files[p] = []byte(b)
		if p != manifest.KustomizationFile && !manifest.IsNodeFile(p) {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		u, err := parseObject(p, r.Files[p])
		if err != nil {
			return nil, false
		}
		r.Objects = append(r.Objects, u)
	}
	return r, true
}

// cacheStore writes an entry atomically (a temporary file renamed into place).
func cacheStore(dir, key string, r *Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	e := cacheEntry{Instance: r.Instance, Files: map[string]string{}, Model: r.Model, Sources: r.Sources}
	for p, b := range r.Files {
		e.Files[p] = string(b)
	}
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-"+key+"-")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, key+".json")); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}

// cachePrune removes every entry but those of keep: after a render of every instance, the
// cache holds exactly the current instances.
func cachePrune(dir string, keep []string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if key, ok := strings.CutSuffix(e.Name(), ".json"); !ok || !slices.Contains(keep, key) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
