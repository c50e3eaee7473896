package main

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// markdownLink is an inline Markdown link or image: the target is the first group.
var markdownLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestDocLinks: every relative link of README.md and docs/ names a file of the repository,
// and every #fragment a heading of the page it points to.
func TestDocLinks(t *testing.T) {
	pages := []string{"../../README.md"}
	err := filepath.WalkDir("../../docs", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
			pages = append(pages, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range pages {
		links, err := relativeLinks(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range links {
			target, fragment, _ := strings.Cut(l.target, "#")
			path := page
			if target != "" {
				path = filepath.Join(filepath.Dir(page), target)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s:%d: link %s: %v", page, l.line, l.target, err)
				continue
			}
			if fragment == "" {
				continue
			}
			anchors, err := headingAnchors(path)
			if err != nil {
				t.Fatal(err)
			}
			if !anchors[fragment] {
				t.Errorf("%s:%d: link %s: %s has no heading #%s", page, l.line, l.target, path, fragment)
			}
		}
	}
}

type docLink struct {
	line   int
	target string
}

// relativeLinks returns the links of a Markdown page that stay in the repository (no
// scheme), outside fenced code blocks.
func relativeLinks(page string) ([]docLink, error) {
	var links []docLink
	err := eachProseLine(page, func(n int, line string) {
		for _, m := range markdownLink.FindAllStringSubmatch(line, -1) {
			if !strings.Contains(m[1], "://") && !strings.HasPrefix(m[1], "mailto:") {
				links = append(links, docLink{n, m[1]})
			}
		}
	})
	return links, err
}

// headingAnchors returns the fragments GitHub gives a page's headings: lower case, spaces
// to hyphens, punctuation other than hyphens and underscores dropped.
func headingAnchors(page string) (map[string]bool, error) {
	anchors := map[string]bool{}
	err := eachProseLine(page, func(_ int, line string) {
		text, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " ")
		if !ok || !strings.HasPrefix(line, "#") {
			return
		}
		var b strings.Builder
		for _, r := range strings.ToLower(text) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
				b.WriteRune(r)
			}
		}
		anchors[b.String()] = true
	})
	return anchors, err
}

// eachProseLine calls fn with each line of a Markdown file outside fenced code blocks.
func eachProseLine(page string, fn func(n int, line string)) error {
	f, err := os.Open(page)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	fenced := false
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			fn(n, line)
		}
	}
	return sc.Err()
}
