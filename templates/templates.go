// Package templates holds the default document and mail templates, embedded
// in the binary, and loads them with overrides from a directory a clerk can
// edit. Every template is parsed when the set is loaded, so a broken one is
// refused at start-up with its file name and line, never at send time.
package templates

import (
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	texttemplate "text/template"
)

//go:embed mail documents sheets
var defaults embed.FS

// Set is a loaded, validated set of templates.
type Set struct {
	text map[string]*texttemplate.Template // mail/<name>.subject.tmpl, mail/<name>.txt.tmpl
	html map[string]*htmltemplate.Template // mail/<name>.html.tmpl
	docs map[string]*document              // documents/<name>.md.tmpl with its sample
	mail map[string]map[string]any         // mail/<name>.sample.json
	xlsx map[string]*workbook              // sheets/<name>.xlsx with its sample
	// Overridden lists the templates replaced from the override directory.
	Overridden []string
}

// Load parses the embedded defaults, each replaced by the file of the same
// relative path under dir when dir is not empty and has it. Files in dir
// that match no default are reported as errors: a typo in a file name would
// otherwise silently keep the default.
func Load(dir string) (*Set, error) {
	s := &Set{
		text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{},
		docs: map[string]*document{}, mail: map[string]map[string]any{}, xlsx: map[string]*workbook{},
	}
	var override fs.FS
	if dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("templates: override directory %q is not a readable directory", dir)
		}
		override = os.DirFS(dir)
	}
	known := map[string]bool{}
	var errs []error
	for _, load := range []func(fs.FS) ([]string, []error){s.loadMail, s.loadDocuments, s.loadSheets} {
		names, es := load(override)
		errs = append(errs, es...)
		for _, n := range names {
			known[n] = true
		}
	}
	if override != nil {
		var extra []string
		for _, d := range []string{"mail", "documents", "sheets"} {
			more, _ := fs.Glob(override, d+"/*")
			extra = append(extra, more...)
		}
		for _, e := range extra {
			if !known[e] {
				errs = append(errs, fmt.Errorf("templates: %s in %s matches no template (known: %s)", e, dir, strings.Join(sortedKeys(known), ", ")))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// readFile reads a template file, from the override directory when it has
// it, and notes an override in s.Overridden.
func (s *Set) readFile(name string, override fs.FS) (string, error) {
	src, from, err := read(name, override)
	if err != nil {
		return "", err
	}
	if from != "" {
		s.Overridden = append(s.Overridden, from)
	}
	return src, nil
}

func read(name string, override fs.FS) (src, from string, err error) {
	if override != nil {
		b, err := fs.ReadFile(override, name)
		if err == nil {
			return string(b), name, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", "", fmt.Errorf("templates: read override %s: %w", name, err)
		}
	}
	b, err := defaults.ReadFile(name)
	return string(b), "", err
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, path.Base(k))
	}
	sort.Strings(out)
	return out
}
