package manifest

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"

	"sigs.k8s.io/yaml"
)

// KustomizationFile is the file of generated/<instance>/ that lists the others, so that
// `kubectl apply -k generated/<instance>` applies them, and that tells ReadInstance what
// the instance holds.
const KustomizationFile = "kustomization.yaml"

// ReadInstance reads every object of the instance folder dir of fsys: the files its
// kustomization.yaml lists under resources, in that order, each holding one or more
// documents (see Decode). Each Object's File is its path in fsys. The working tree
// (os.DirFS), a commit (gitsource) and an archive all read the same way.
func ReadInstance(fsys fs.FS, dir string) ([]Object, error) {
	kfile := path.Join(dir, KustomizationFile)
	b, err := fs.ReadFile(fsys, kfile)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", kfile, err)
	}
	j, err := yaml.YAMLToJSONStrict(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kfile, err)
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := json.Unmarshal(j, &k); err != nil {
		return nil, fmt.Errorf("%s: %w", kfile, err)
	}
	if len(k.Resources) == 0 {
		return nil, fmt.Errorf("%s lists no resources", kfile)
	}
	var objs []Object
	for _, r := range k.Resources {
		file := path.Join(dir, r)
		if !fs.ValidPath(file) {
			return nil, fmt.Errorf("%s lists %q, which leaves the repository", kfile, r)
		}
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, fmt.Errorf("%s (listed in %s): %w", file, kfile, err)
		}
		fileObjs, err := Decode(file, data)
		if err != nil {
			return nil, err
		}
		if len(fileObjs) == 0 {
			return nil, fmt.Errorf("%s (listed in %s) holds no object", file, kfile)
		}
		objs = append(objs, fileObjs...)
	}
	return objs, nil
}
