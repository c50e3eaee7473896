package testcluster

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// Object is one manifest read from a generated folder, with the file it came from.
type Object struct {
	// File is the file's path as passed to ReadInstance joined with its resources entry.
	File string
	*unstructured.Unstructured
}

// ID returns Kind/namespace/name, or Kind/name for a cluster-scoped object.
func (o Object) ID() string { return manifest.ObjectID(o.Unstructured) }

// Instances returns the instance folders under generatedDir (each holding a
// kustomization.yaml), sorted. Finding none is an error, so that nothing passes vacuously.
func Instances(generatedDir string) ([]string, error) {
	entries, err := os.ReadDir(generatedDir)
	if err != nil {
		return nil, fmt.Errorf("reading generated manifests: %w", err)
	}
	var dirs []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		d := filepath.Join(generatedDir, e.Name())
		if _, err := os.Stat(filepath.Join(d, "kustomization.yaml")); err == nil {
			dirs = append(dirs, d)
		}
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("%s holds no instance (no <instance>/kustomization.yaml); run lsstgen render", generatedDir)
	}
	sort.Strings(dirs)
	return dirs, nil
}

// ReadInstance reads every object of one instance folder: the files its kustomization.yaml
// lists under resources, in that order, each holding one or more YAML documents.
func ReadInstance(dir string) ([]Object, error) {
	kfile := filepath.Join(dir, "kustomization.yaml")
	b, err := os.ReadFile(kfile)
	if err != nil {
		return nil, err
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("%s: %w", kfile, err)
	}
	if len(k.Resources) == 0 {
		return nil, fmt.Errorf("%s lists no resources", kfile)
	}
	var objs []Object
	for _, r := range k.Resources {
		file := filepath.Join(dir, r)
		fileObjs, err := readFile(file)
		if err != nil {
			return nil, fmt.Errorf("%s (listed in %s): %w", file, kfile, err)
		}
		objs = append(objs, fileObjs...)
	}
	return objs, nil
}

func readFile(file string) ([]Object, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var objs []Object
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, err
		}
		if m == nil {
			continue // an empty document
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("document %d has no apiVersion, kind or metadata.name", len(objs)+1)
		}
		objs = append(objs, Object{File: file, Unstructured: u})
	}
	if len(objs) == 0 {
		return nil, errors.New("holds no object")
	}
	return objs, nil
}
