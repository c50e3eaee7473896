package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	yamlv3 "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// Object is one object read from a manifest file, with the place it was written.
type Object struct {
	// File is the file's name as the reader was given it (for ReadInstance, its path in
	// the fs.FS).
	File string
	// Line is the line of File where the object's document starts (its first line that is
	// neither blank nor a comment).
	Line int
	*unstructured.Unstructured
}

// ID is the object's Kind/namespace/name, or Kind/name for a cluster-scoped object.
func (o Object) ID() string { return ObjectID(o.Unstructured) }

// Unstructured returns the objects without their places.
func Unstructured(objs []Object) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		out[i] = o.Unstructured
	}
	return out
}

// DecodeError is a document of a manifest file that is not one Kubernetes object.
type DecodeError struct {
	File string
	// Line is where the document starts; a YAML syntax error in Err names its own line,
	// counted in the file too.
	Line int
	// Document is the document's number in the file, from 1.
	Document int
	Err      error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("%s:%d: document %d %v", e.File, e.Line, e.Document, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Reasons a DecodeError gives.
var (
	// ErrNoIdentity: the document lacks apiVersion, kind or metadata.name.
	ErrNoIdentity = errors.New("has no apiVersion, kind or metadata.name; every document must be one Kubernetes object")
	// ErrNotMapping: the document is a list or a scalar.
	ErrNotMapping = errors.New("is not a mapping; every document must be one Kubernetes object (apiVersion, kind, metadata, …)")
)

// DuplicateKeyError is a document that writes one key twice in a mapping. YAML forbids it,
// and a lenient reader would silently keep one of the two values, so the document is
// refused.
type DuplicateKeyError struct {
	File string
	// Line is the line of the second occurrence of the key, First the line of the first.
	Line, First int
	// Key is the key's path in the document: "spec.replicas", "spec.containers[0].image".
	Key string
	// Object is the document's Kind/namespace/name, as far as it can be read; "" when it
	// has none.
	Object string
}

func (e *DuplicateKeyError) Error() string {
	what := "the document"
	if e.Object != "" {
		what = e.Object
	}
	return fmt.Sprintf("%s:%d: %s sets %s twice (first at line %d); a reader would keep only one of the values: remove the other",
		e.File, e.Line, what, strconv.Quote(e.Key), e.First)
}

// Decode reads the YAML (or JSON, which is YAML) documents of a manifest file, one
// Kubernetes object each; file names the data in errors and in each Object. Empty
// documents are skipped. A document that writes a key twice is refused with a
// *DuplicateKeyError; one that is not valid YAML, not a mapping, or lacks apiVersion, kind
// or metadata.name with a *DecodeError. Numbers are int64 or float64, as the Kubernetes
// JSON decoder gives them.
func Decode(file string, data []byte) ([]Object, error) {
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var out []Object
	for i, d := range docs {
		u, err := decodeDocument(file, i+1, d)
		if err != nil {
			return nil, err
		}
		if u != nil {
			out = append(out, Object{File: file, Line: d.line, Unstructured: u})
		}
	}
	return out, nil
}

// document is one document of a file: its bytes and the file line it starts on.
type document struct {
	data []byte
	// first is the line of data's first byte, line the line of its first line that is
	// neither blank nor a comment (first when there is none).
	first, line int
}

// splitDocuments cuts data at the lines that are a document separator: "---" alone or
// followed by a comment, as Kubernetes' own YAML reader does. A separator followed by
// content is refused, since the YAML parser would then read the first document only.
func splitDocuments(data []byte) ([]document, error) {
	var docs []document
	cur := document{first: 1}
	start := 0
	for off, n := 0, 1; off < len(data); n++ {
		next := len(data)
		if i := bytes.IndexByte(data[off:], '\n'); i >= 0 {
			next = off + i + 1
		}
		line := data[off:next]
		trimmed := bytes.TrimSpace(line)
		switch {
		case bytes.HasPrefix(line, []byte("---")) && (len(trimmed) == 3 || trimmed[3] == '#' || trimmed[3] == ' ' || trimmed[3] == '\t'):
			if rest := bytes.TrimSpace(trimmed[3:]); len(rest) > 0 && rest[0] != '#' {
				return nil, fmt.Errorf("line %d: a document separator followed by content; put the content on the next line", n)
			}
			cur.data = data[start:off]
			docs = append(docs, cur)
			cur = document{first: n + 1}
			start = next
		case cur.line == 0 && len(trimmed) > 0 && trimmed[0] != '#':
			cur.line = n
		}
		off = next
	}
	cur.data = data[start:]
	docs = append(docs, cur)
	for i := range docs {
		if docs[i].line == 0 {
			docs[i].line = docs[i].first
		}
	}
	return docs, nil
}

// decodeDocument reads one document; an empty one gives nil.
func decodeDocument(file string, n int, d document) (*unstructured.Unstructured, error) {
	src := d.data
	if d.first > 1 {
		// Leading newlines make the parsers count lines as the file does.
		src = append(bytes.Repeat([]byte{'\n'}, d.first-1), d.data...)
	}
	j, strictErr := yaml.YAMLToJSONStrict(src)
	if strictErr != nil {
		lenient, err := yaml.YAMLToJSON(src)
		if err != nil {
			return nil, &DecodeError{File: file, Line: d.line, Document: n, Err: fmt.Errorf("is not valid YAML: %w", err)}
		}
		// The strict parse refuses what the lenient one reads: a key written twice.
		if dup := findDuplicateKey(src); dup != nil {
			dup.File = file
			if u, err := toObject(lenient); err == nil && u != nil {
				dup.Object = ObjectID(u)
			}
			return nil, dup
		}
		return nil, &DecodeError{File: file, Line: d.line, Document: n, Err: fmt.Errorf("is not valid YAML: %w", strictErr)}
	}
	u, err := toObject(j)
	if err != nil {
		return nil, &DecodeError{File: file, Line: d.line, Document: n, Err: err}
	}
	return u, nil
}

// toObject turns a document's JSON into an object; "null" (an empty document) gives nil.
func toObject(j []byte) (*unstructured.Unstructured, error) {
	if bytes.Equal(bytes.TrimSpace(j), []byte("null")) {
		return nil, nil
	}
	var m map[string]any
	if err := utiljson.Unmarshal(j, &m); err != nil {
		return nil, ErrNotMapping
	}
	u := &unstructured.Unstructured{Object: m}
	if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
		return u, ErrNoIdentity
	}
	return u, nil
}

// findDuplicateKey returns the first key (by line) written twice in one mapping of the
// document, or nil. It reads the document's node tree, which keeps every key with its
// line; aliases are not followed.
func findDuplicateKey(src []byte) *DuplicateKeyError {
	var root yamlv3.Node
	if err := yamlv3.Unmarshal(src, &root); err != nil {
		return nil
	}
	var found *DuplicateKeyError
	var walk func(n *yamlv3.Node, path string)
	walk = func(n *yamlv3.Node, path string) {
		switch n.Kind {
		case yamlv3.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yamlv3.SequenceNode:
			for i, c := range n.Content {
				walk(c, path+"["+strconv.Itoa(i)+"]")
			}
		case yamlv3.MappingNode:
			seen := map[string]*yamlv3.Node{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				if k.Kind == yamlv3.ScalarNode && k.Value != "<<" {
					id := k.ShortTag() + "\x00" + k.Value
					if first, dup := seen[id]; dup {
						if found == nil || k.Line < found.Line {
							found = &DuplicateKeyError{Line: k.Line, First: first.Line, Key: p}
						}
					} else {
						seen[id] = k
					}
				}
				walk(v, p)
			}
		}
	}
	walk(&root, "")
	return found
}
