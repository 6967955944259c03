// Package templates holds the default document and mail templates, embedded
// in the binary, and loads them with overrides from a directory a clerk can
// edit. Every template is parsed when the set is loaded, so a broken one is
// refused at start-up with its file name and line, never at send time.
package templates

import (
	"bytes"
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

	"github.com/sonoivu/vanthu/internal/vntext"
)

//go:embed mail documents
var defaults embed.FS

// Set is a loaded, validated set of templates.
type Set struct {
	text map[string]*texttemplate.Template // mail/<name>.subject.tmpl, mail/<name>.txt.tmpl
	html map[string]*htmltemplate.Template // mail/<name>.html.tmpl
	docs map[string]*document              // documents/<name>.md.tmpl with its sample
	// Overridden lists the templates replaced from the override directory.
	Overridden []string
}

// Load parses the embedded defaults, each replaced by the file of the same
// relative path under dir when dir is not empty and has it. Files in dir
// that match no default are reported as errors: a typo in a file name would
// otherwise silently keep the default.
func Load(dir string) (*Set, error) {
	s := &Set{text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}, docs: map[string]*document{}}
	var override fs.FS
	if dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("templates: override directory %q is not a readable directory", dir)
		}
		override = os.DirFS(dir)
	}
	names, err := fs.Glob(defaults, "mail/*.tmpl")
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	var errs []error
	for _, name := range names {
		known[name] = true
		src, from, err := read(name, override)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if from != "" {
			s.Overridden = append(s.Overridden, from)
		}
		src = vntext.NFC(src)
		if strings.HasSuffix(name, ".html.tmpl") {
			t, err := htmltemplate.New(name).Funcs(htmltemplate.FuncMap(Funcs())).Option("missingkey=error").Parse(src)
			if err != nil {
				errs = append(errs, fmt.Errorf("templates: %w", err))
				continue
			}
			s.html[name] = t
		} else {
			t, err := texttemplate.New(name).Funcs(Funcs()).Option("missingkey=error").Parse(src)
			if err != nil {
				errs = append(errs, fmt.Errorf("templates: %w", err))
				continue
			}
			s.text[name] = t
		}
	}
	docNames, docErrs := s.loadDocuments(override)
	errs = append(errs, docErrs...)
	for _, n := range docNames {
		known[n] = true
	}
	if override != nil {
		extra, _ := fs.Glob(override, "mail/*")
		more, _ := fs.Glob(override, "documents/*")
		extra = append(extra, more...)
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

// Mail is a rendered e-mail body.
type Mail struct {
	Subject, Text, HTML string
}

// Mail renders the mail template name (e.g. "test") with data.
func (s *Set) Mail(name string, data any) (Mail, error) {
	var m Mail
	subj, ok1 := s.text["mail/"+name+".subject.tmpl"]
	txt, ok2 := s.text["mail/"+name+".txt.tmpl"]
	htm, ok3 := s.html["mail/"+name+".html.tmpl"]
	if !ok1 || !ok2 || !ok3 {
		return m, fmt.Errorf("templates: no mail template %q", name)
	}
	var b bytes.Buffer
	if err := subj.Execute(&b, data); err != nil {
		return m, fmt.Errorf("templates: %w", err)
	}
	m.Subject = strings.Join(strings.Fields(b.String()), " ")
	b.Reset()
	if err := txt.Execute(&b, data); err != nil {
		return m, fmt.Errorf("templates: %w", err)
	}
	m.Text = b.String()
	b.Reset()
	if err := htm.Execute(&b, data); err != nil {
		return m, fmt.Errorf("templates: %w", err)
	}
	m.HTML = b.String()
	return m, nil
}
