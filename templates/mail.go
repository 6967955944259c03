package templates

import (
	"bytes"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"path"
	"sort"
	"strings"
	texttemplate "text/template"

	"github.com/sonoivu/vanthu/internal/vntext"
)

// mailParts are the files of one mail template, mail/<name><part>.
var mailParts = []string{".subject.tmpl", ".txt.tmpl", ".html.tmpl", ".sample.json"}

// loadMail parses every mail template: a subject, a text and an HTML body,
// and the sample data they are rendered with at load time, so that a
// placeholder the sample lacks is refused here with its file and line.
func (s *Set) loadMail(override fs.FS) ([]string, []error) {
	files, err := fs.Glob(defaults, "mail/*.subject.tmpl")
	if err != nil {
		return nil, []error{err}
	}
	var known []string
	var errs []error
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".subject.tmpl")
		ok := true
		var sample map[string]any
		for _, part := range mailParts {
			file := "mail/" + name + part
			known = append(known, file)
			src, err := s.readFile(file, override)
			if err != nil {
				errs = append(errs, fmt.Errorf("templates: %w", err))
				ok = false
				continue
			}
			src = vntext.NFC(src)
			switch part {
			case ".html.tmpl":
				t, err := htmltemplate.New(file).Funcs(htmltemplate.FuncMap(Funcs())).Option("missingkey=error").Parse(src)
				if err != nil {
					errs = append(errs, fmt.Errorf("templates: %w", err))
					ok = false
					continue
				}
				s.html[file] = t
			case ".sample.json":
				dec := json.NewDecoder(strings.NewReader(src))
				dec.UseNumber()
				if err := dec.Decode(&sample); err != nil {
					errs = append(errs, fmt.Errorf("templates: %s: %w", file, err))
					ok = false
				}
			default:
				t, err := texttemplate.New(file).Funcs(Funcs()).Option("missingkey=error").Parse(src)
				if err != nil {
					errs = append(errs, fmt.Errorf("templates: %w", err))
					ok = false
					continue
				}
				s.text[file] = t
			}
		}
		if !ok {
			continue
		}
		if _, err := s.Mail(name, sample); err != nil {
			errs = append(errs, fmt.Errorf("templates: mail %q with its sample data mail/%s.sample.json: %w", name, name, err))
			continue
		}
		s.mail[name] = sample
	}
	return known, errs
}

// Mails names the mail templates, sorted.
func (s *Set) Mails() []string {
	out := make([]string, 0, len(s.mail))
	for n := range s.mail {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// MailSample returns the sample data shipped with a mail template. It
// documents the fields the template reads.
func (s *Set) MailSample(name string) (map[string]any, error) {
	d, ok := s.mail[name]
	if !ok {
		return nil, fmt.Errorf("templates: no mail template %q (known: %s)", name, strings.Join(s.Mails(), ", "))
	}
	return d, nil
}

// Mail is a rendered e-mail body.
type Mail struct {
	Subject, Text, HTML string
}

// Mail renders the mail template name (e.g. "directive") with data. The
// subject's white space is collapsed to single spaces: a header is one line.
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
