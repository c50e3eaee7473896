package render

import (
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
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
// managed-by) and annotations, and ConfigMaps that hold data generated with a content hash
// in their names (and every reference to them rewritten), so that a changed configuration
// rolls its pods. Images are left as the templates name them: their real, fully qualified references (the
// nodes pull upstream images through the instance's registry as a mirror).
func transform(instance string, objects []map[string]any) ([]*unstructured.Unstructured, error) {
	fs := filesys.MakeFsInMemory()
	k := types.Kustomization{
		TypeMeta: types.TypeMeta{APIVersion: kustomizationFormat, Kind: types.KustomizationKind},
		Labels: []types.Label{{
			Pairs:            map[string]string{manifest.LabelManagedBy: manifest.ManagedBy, manifest.LabelInstance: instance},
			IncludeTemplates: true,
		}},
		CommonAnnotations: map[string]string{manifest.AnnotationSource: manifest.InstancesDir + "/" + instance},
	}

	for i, obj := range objects {
		u := &unstructured.Unstructured{Object: obj}
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
