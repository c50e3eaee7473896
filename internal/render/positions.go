package render

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// Sources maps a field path of an instance's own CUE files (such as
// "instance.aspects.notebook.maxUsers" or `instance.nodes."lsst-kub003".role`) to where it
// is written, relative to the repository root, and each declared flow
// (`flows."notebook/hub -> apiserver"`) to where platform/ declares it. Checks use it to
// point a finding at the line that caused it.
type Sources map[string]token.Position

// Lookup returns the position of path, or of its nearest ancestor written in the instance's
// files, and whether one was found.
func (s Sources) Lookup(path string) (token.Position, bool) {
	for p := path; p != ""; {
		if pos, ok := s[p]; ok {
			return pos, true
		}
		i := lastSelector(p)
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return token.Position{}, false
}

// lastSelector is the index of the dot before the last selector of path, skipping dots
// inside quoted labels; -1 when there is none.
func lastSelector(path string) int {
	inQuote := false
	for i := len(path) - 1; i >= 0; i-- {
		switch path[i] {
		case '"':
			inQuote = !inQuote
		case '.':
			if !inQuote {
				return i
			}
		}
	}
	return -1
}

// Label renders one selector of a Sources path: an identifier as is, anything else quoted.
func Label(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) < 0 && !(s[0] >= '0' && s[0] <= '9') {
		return s
	}
	return strconv.Quote(s)
}

// instanceSources parses instances/<name>/*.cue (not evaluating them) and records where
// each field is written.
func instanceSources(root, name string) (Sources, error) {
	files, err := filepath.Glob(filepath.Join(root, manifest.InstancesDir, name, "*.cue"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	src := Sources{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		rel, err := filepath.Rel(root, f)
		if err != nil {
			rel = f
		}
		file, err := parser.ParseFile(filepath.ToSlash(rel), data)
		if err != nil {
			return nil, err
		}
		walkDecls(src, "", file.Decls)
	}
	return src, nil
}

func walkDecls(src Sources, prefix string, decls []ast.Decl) {
	for _, d := range decls {
		f, ok := d.(*ast.Field)
		if !ok {
			continue
		}
		name, ok := labelName(f.Label)
		if !ok {
			continue
		}
		p := Label(name)
		if prefix != "" {
			p = prefix + "." + p
		}
		if _, seen := src[p]; !seen {
			src[p] = f.Pos().Position()
		}
		if s, ok := f.Value.(*ast.StructLit); ok {
			walkDecls(src, p, s.Elts)
		}
	}
}

func labelName(l ast.Label) (string, bool) {
	switch l := l.(type) {
	case *ast.Ident:
		return l.Name, true
	case *ast.BasicLit:
		if l.Kind == token.STRING {
			s, err := strconv.Unquote(l.Value)
			return s, err == nil
		}
	}
	return "", false
}

// writtenAt is where an instance's file writes a value: the first of its conjuncts, or of
// its list's elements, that a file under instances/ holds; else the value's own position.
func writtenAt(f cue.Value) token.Pos {
	inInstance := func(p token.Pos) bool {
		return p.IsValid() && strings.Contains(filepath.ToSlash(p.Filename()), "/"+manifest.InstancesDir+"/")
	}
	_, conjuncts := f.Expr()
	for _, c := range conjuncts {
		if inInstance(c.Pos()) {
			return c.Pos()
		}
	}
	if list, err := f.List(); err == nil {
		for list.Next() {
			if p := list.Value().Pos(); inInstance(p) {
				return p
			}
		}
	}
	return f.Pos()
}
