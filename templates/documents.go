package templates

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/render"
	"github.com/sonoivu/vanthu/internal/vntext"
)

// Frame is a document's frame (the Decree 30 boxes around the body) as
// template sample data and `vanthu render --data` files carry it.
type Frame struct {
	ParentAgency string `json:"parent_agency"`
	Agency       string `json:"agency"`
	Number       string `json:"number"`
	Place        string `json:"place"`
	Date         string `json:"date"` // 2006-01-02
	// NoDateLine leaves out the place-and-date line of the header, as the
	// minutes (biên bản, Decree 30 form 1.9) do; the date is still the
	// document's date.
	NoDateLine      bool     `json:"no_date_line"`
	TypeName        string   `json:"type_name"`
	Subject         string   `json:"subject"`
	Urgency         string   `json:"urgency"`
	KinhGui         []string `json:"kinh_gui"`
	SignerAuthority string   `json:"signer_authority"`
	SignerTitle     string   `json:"signer_title"`
	SignerName      string   `json:"signer_name"`
	Recipients      []string `json:"recipients"`
	DrafterCode     string   `json:"drafter_code"`
	AddressLine     string   `json:"address_line"`
}

// Input is what a document template renders: the frame and the data its
// body placeholders read.
type Input struct {
	Document Frame          `json:"document"`
	Data     map[string]any `json:"data"`
}

// ParseInput decodes an input file. Unknown frame fields are refused, so a
// misspelt "signer_nmae" is reported instead of silently leaving a blank.
// Numbers stay exact (json.Number) for the number formatting functions.
func ParseInput(b []byte) (Input, error) {
	var raw struct {
		Document json.RawMessage `json:"document"`
		Data     json.RawMessage `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return Input{}, fmt.Errorf("input: %w (want {\"document\": {...}, \"data\": {...}})", err)
	}
	var in Input
	if len(raw.Document) > 0 {
		dd := json.NewDecoder(bytes.NewReader(raw.Document))
		dd.DisallowUnknownFields()
		if err := dd.Decode(&in.Document); err != nil {
			return Input{}, fmt.Errorf("input: document: %w", err)
		}
	}
	if len(raw.Data) > 0 {
		dd := json.NewDecoder(bytes.NewReader(raw.Data))
		dd.UseNumber()
		if err := dd.Decode(&in.Data); err != nil {
			return Input{}, fmt.Errorf("input: data: %w", err)
		}
	}
	return in, nil
}

// document is one loaded body template with its sample input.
type document struct {
	tmpl   *texttemplate.Template
	sample Input
}

// loadDocuments parses every documents/<name>.md.tmpl and its
// <name>.sample.json, and renders each template with its sample: a
// placeholder the sample does not provide, or a function misused, is found
// here, at load time, with the file and line.
func (s *Set) loadDocuments(override fs.FS) ([]string, []error) {
	names, err := fs.Glob(defaults, "documents/*.md.tmpl")
	if err != nil {
		return nil, []error{err}
	}
	var known []string
	var errs []error
	for _, file := range names {
		name := strings.TrimSuffix(path.Base(file), ".md.tmpl")
		sampleFile := "documents/" + name + ".sample.json"
		known = append(known, file, sampleFile)
		src, err := s.readFile(file, override)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		t, err := texttemplate.New(file).Funcs(Funcs()).Option("missingkey=error").Parse(vntext.NFC(src))
		if err != nil {
			errs = append(errs, fmt.Errorf("templates: %w", err))
			continue
		}
		raw, err := s.readFile(sampleFile, override)
		if err != nil {
			errs = append(errs, fmt.Errorf("templates: %s has no sample data %s: %w", file, sampleFile, err))
			continue
		}
		sample, err := ParseInput([]byte(vntext.NFC(raw)))
		if err != nil {
			errs = append(errs, fmt.Errorf("templates: %s: %w", sampleFile, err))
			continue
		}
		d := &document{tmpl: t, sample: sample}
		if _, err := d.body(sample.Data); err != nil {
			errs = append(errs, fmt.Errorf("templates: %s with its sample data: %w", file, err))
			continue
		}
		s.docs[name] = d
		// The frame and the expanded body must pass the renderer's checks
		// (required fields, well-formed Markdown tables) now, not when a
		// clerk first issues a document.
		doc, err := s.Document(name, sample)
		if err == nil {
			err = doc.Validate()
		}
		if err != nil {
			delete(s.docs, name)
			errs = append(errs, fmt.Errorf("templates: %s with its sample data %s: %s", file, sampleFile, ProblemText(err, doc.Body)))
		}
	}
	return known, errs
}

// ProblemText formats a validation error for someone editing a template:
// the message, then one line per problem. A problem on a line of the body
// quotes that line, because the line number counts lines of the body after
// the template was expanded, which may differ from the template's own.
func ProblemText(err error, body string) string {
	ps := vanthu.ProblemsOf(err)
	if len(ps) == 0 {
		return err.Error()
	}
	lines := strings.Split(body, "\n")
	var b strings.Builder
	b.WriteString(vanthu.ErrorMessageOf(err))
	for _, p := range ps {
		b.WriteString("\n  ")
		if p.Field != "" {
			b.WriteString(p.Field)
		}
		if p.Field == "body" && p.Line > 0 && p.Line <= len(lines) {
			fmt.Fprintf(&b, ", dòng %d của nội dung đã điền dữ liệu «%s»", p.Line, strings.TrimSpace(lines[p.Line-1]))
		} else if p.Line > 0 {
			fmt.Fprintf(&b, ", dòng %d", p.Line)
		}
		b.WriteString(": " + p.Message)
	}
	return b.String()
}

// Documents names the document templates, sorted.
func (s *Set) Documents() []string {
	out := make([]string, 0, len(s.docs))
	for n := range s.docs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Sample returns the realistic sample input shipped with a document
// template.
func (s *Set) Sample(name string) (Input, error) {
	d, ok := s.docs[name]
	if !ok {
		return Input{}, fmt.Errorf("templates: no document template %q (known: %s)", name, strings.Join(s.Documents(), ", "))
	}
	return d.sample, nil
}

// Body renders a document template's Markdown body with data. String values
// are escaped for Markdown first: what a clerk typed is text, so a "*" or a
// "|" in a unit's name must not turn into emphasis or break a table.
func (s *Set) Body(name string, data map[string]any) (string, error) {
	d, ok := s.docs[name]
	if !ok {
		return "", fmt.Errorf("templates: no document template %q (known: %s)", name, strings.Join(s.Documents(), ", "))
	}
	return d.body(data)
}

func (d *document) body(data map[string]any) (string, error) {
	var b bytes.Buffer
	if err := d.tmpl.Execute(&b, escapeData(data)); err != nil {
		return "", fmt.Errorf("templates: %w", err)
	}
	return b.String(), nil
}

var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"<", `\<`, ">", `\>`, "|", `\|`, "~", `\~`, "#", `\#`,
	"\r\n", " ", "\n", " ", "\r", " ",
)

// escapeData copies data with every string NFC-normalised and escaped for
// Markdown; numbers and dates pass through for the formatting functions.
func escapeData(v any) any {
	switch x := v.(type) {
	case string:
		if looksLikeDate(x) {
			return x // the date functions parse it; escaping would spoil RFC 3339
		}
		return mdEscaper.Replace(vntext.NFC(x))
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = escapeData(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = escapeData(e)
		}
		return out
	case []string:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = mdEscaper.Replace(vntext.NFC(e))
		}
		return out
	}
	return v
}

// looksLikeDate reports a string the date functions would accept. Such a
// string holds no Markdown (digits, '-', ':', 'T', '+', 'Z').
func looksLikeDate(s string) bool {
	_, err := toTime(s)
	return err == nil
}

// Document expands the body template name with in.Data and maps the frame
// onto the renderer's document, ready for render.PDF.
func (s *Set) Document(name string, in Input) (render.Document, error) {
	body, err := s.Body(name, in.Data)
	if err != nil {
		return render.Document{}, err
	}
	f := in.Document
	var date time.Time
	if f.Date != "" {
		if date, err = time.ParseInLocation("2006-01-02", f.Date, vanthu.Location); err != nil {
			return render.Document{}, vanthu.Invalid("Ngày văn bản không hợp lệ.", vanthu.Problem{Field: "document.date", Message: "cần dạng 2006-01-02, nhận được " + f.Date})
		}
	}
	return render.Document{
		ParentAgency: f.ParentAgency, Agency: f.Agency, Number: f.Number, Place: f.Place, Date: date,
		NoDateLine: f.NoDateLine, TypeName: f.TypeName, Subject: f.Subject, Urgency: render.Urgency(f.Urgency),
		KinhGui: f.KinhGui, Body: body, SignerAuthority: f.SignerAuthority, SignerTitle: f.SignerTitle,
		SignerName: f.SignerName, Recipients: f.Recipients, DrafterCode: f.DrafterCode, AddressLine: f.AddressLine,
	}, nil
}
