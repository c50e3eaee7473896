package render

import (
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

const (
	kustomizationDir    = "/lsstgen"
	kustomizationFormat = "kustomize.config.k8s.io/v1beta1"
)

// krustyMu serialises kustomize runs: krusty keeps global state.
var krustyMu sync.Mutex

// transform passes one instance's objects through kustomize: common labels (instance,
// managed-by) and annotations, every container image moved to the instance's registry,
// ConfigMaps that hold data generated with a content hash in their names (and every
// reference to them rewritten), so that a changed configuration rolls its pods.
func transform(instance, registry string, objects []map[string]any) ([]*unstructured.Unstructured, error) {
	fs := filesys.MakeFsInMemory()
	k := types.Kustomization{
		TypeMeta: types.TypeMeta{APIVersion: kustomizationFormat, Kind: types.KustomizationKind},
		Labels: []types.Label{{
			Pairs:            map[string]string{manifest.LabelManagedBy: manifest.ManagedBy, manifest.LabelInstance: instance},
			IncludeTemplates: true,
		}},
		CommonAnnotations: map[string]string{manifest.AnnotationSource: manifest.InstancesDir + "/" + instance},
	}

	images := map[string]bool{}
	for i, obj := range objects {
		u := &unstructured.Unstructured{Object: obj}
		collectImages(u, images)
		// A ConfigMap without data carries no configuration to roll pods with: it is there
		// for a program to fill and find by name (the dashboard's settings), so it keeps
		// its name.
		if u.GetKind() == "ConfigMap" && u.GetAPIVersion() == "v1" && hasData(u) {
			args, err := configMapArgs(fs, u)
			if err != nil {
				return nil, err
			}
			k.ConfigMapGenerator = append(k.ConfigMapGenerator, args)
			continue
		}
		data, err := json.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", manifest.ObjectID(u), err)
		}
		name := fmt.Sprintf("r%04d.json", i)
		if err := fs.WriteFile(path.Join(kustomizationDir, name), data); err != nil {
			return nil, err
		}
		k.Resources = append(k.Resources, name)
	}
	for _, name := range slices.Sorted(maps.Keys(images)) {
		k.Images = append(k.Images, types.Image{Name: name, NewName: registry + "/" + upstreamPath(name)})
	}

	kdata, err := yaml.Marshal(k)
	if err != nil {
		return nil, err
	}
	if err := fs.WriteFile(path.Join(kustomizationDir, manifest.KustomizationFile), kdata); err != nil {
		return nil, err
	}

	krustyMu.Lock()
	rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, kustomizationDir)
	krustyMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("instance %s: kustomize: %w", instance, err)
	}
	out := make([]*unstructured.Unstructured, 0, rm.Size())
	for _, r := range rm.Resources() {
		m, err := r.Map()
		if err != nil {
			return nil, fmt.Errorf("instance %s: kustomize output %s: %w", instance, r.CurId(), err)
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out, nil
}

// hasData reports whether a ConfigMap holds data or binaryData.
func hasData(u *unstructured.Unstructured) bool {
	data, _, _ := unstructured.NestedFieldNoCopy(u.Object, "data")
	bin, _, _ := unstructured.NestedFieldNoCopy(u.Object, "binaryData")
	d, _ := data.(map[string]any)
	b, _ := bin.(map[string]any)
	return len(d) > 0 || len(b) > 0
}

// configMapArgs turns a ConfigMap into a configMapGenerator entry whose files hold its data.
func configMapArgs(fs filesys.FileSystem, u *unstructured.Unstructured) (types.ConfigMapArgs, error) {
	data, _, err := unstructured.NestedStringMap(u.Object, "data")
	if err != nil {
		return types.ConfigMapArgs{}, fmt.Errorf("%s: data: %w", manifest.ObjectID(u), err)
	}
	args := types.ConfigMapArgs{GeneratorArgs: types.GeneratorArgs{
		Namespace: u.GetNamespace(),
		Name:      u.GetName(),
		Behavior:  "create",
		Options: &types.GeneratorOptions{
			Labels:      u.GetLabels(),
			Annotations: u.GetAnnotations(),
		},
	}}
	for _, key := range slices.Sorted(maps.Keys(data)) {
		p := path.Join("configmaps", u.GetNamespace(), u.GetName(), key)
		if err := fs.WriteFile(path.Join(kustomizationDir, p), []byte(data[key])); err != nil {
			return args, err
		}
		args.FileSources = append(args.FileSources, key+"="+p)
	}
	return args, nil
}

// collectImages adds the tag-less image names of every container of a workload.
func collectImages(u *unstructured.Unstructured, into map[string]bool) {
	for _, list := range podContainerPaths(u) {
		cs, _, _ := unstructured.NestedSlice(u.Object, list...)
		for _, c := range cs {
			m, ok := c.(map[string]any)
			if !ok {
				continue
			}
			if img, ok := m["image"].(string); ok {
				into[imageName(img)] = true
			}
		}
	}
}

// podContainerPaths gives the paths of the container lists of a workload's pod template.
func podContainerPaths(u *unstructured.Unstructured) [][]string {
	var spec []string
	switch u.GetKind() {
	case "Pod":
		spec = []string{"spec"}
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job":
		spec = []string{"spec", "template", "spec"}
	case "CronJob":
		spec = []string{"spec", "jobTemplate", "spec", "template", "spec"}
	default:
		return nil
	}
	return [][]string{append(append([]string{}, spec...), "initContainers"), append(append([]string{}, spec...), "containers")}
}

// imageName strips the tag or digest from an image reference.
func imageName(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

// upstreamPath drops the registry host from an image name: the instance's registry serves
// every upstream under the same path.
func upstreamPath(name string) string {
	if i := strings.Index(name, "/"); i > 0 {
		first := name[:i]
		if strings.ContainsAny(first, ".:") || first == "localhost" {
			return name[i+1:]
		}
	}
	return name
}
