package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/render"
	"github.com/sonoivu/vanthu/templates"
)

// templatesCmd lists or checks the templates: `vanthu templates list` and
// `vanthu templates check [DIR]`, which loads DIR's overrides over the
// defaults (loading renders every mail and fills every Excel template with
// its sample data) and lays out every document template as a PDF.
func templatesCmd(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "check") {
		return errors.New("usage: vanthu templates list | vanthu templates check [DIR]")
	}
	dir := getenv("VANTHU_TEMPLATES_DIR")
	if args[0] == "check" && len(args) > 1 {
		dir = args[1]
	}
	set, err := templates.Load(dir)
	if err != nil {
		return err
	}
	if args[0] == "list" {
		for _, n := range set.Documents() {
			in, _ := set.Sample(n)
			fmt.Fprintf(out, "%-15s PDF   %s\n", n, strings.TrimSpace(in.Document.TypeName+" "+in.Document.Subject))
		}
		for _, n := range set.Sheets() {
			names, _ := set.SheetNames(n)
			fmt.Fprintf(out, "%-15s XLSX  %s\n", n, strings.Join(names, ", "))
		}
		for _, n := range set.Mails() {
			m, _ := set.Mail(n, must(set.MailSample(n)))
			fmt.Fprintf(out, "%-15s MAIL  %s\n", "mail/"+n, m.Subject)
		}
		return nil
	}
	for _, n := range set.Documents() {
		if err := ctx.Err(); err != nil {
			return err
		}
		in, _ := set.Sample(n)
		d, err := set.Document(n, in)
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		if _, err := render.PDF(d); err != nil {
			return fmt.Errorf("documents/%s.md.tmpl: %s", n, templates.ProblemText(err, d.Body))
		}
	}
	where := "built-in templates"
	if dir != "" {
		where = dir + " over the built-in templates"
	}
	fmt.Fprintf(out, "%d document, %d Excel and %d mail templates OK (%s); overridden: %s\n",
		len(set.Documents()), len(set.Sheets()), len(set.Mails()), where, orNone(set.Overridden))
	return nil
}

// must drops the error of a lookup that cannot fail: the name came from
// the set's own listing.
func must[T any](v T, _ error) T { return v }

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// streamAbove is the record count from which `vanthu render` writes an
// Excel file with the stream writer instead of filling it in memory.
const streamAbove = 20000

// renderCmd renders one template offline: `vanthu render --template NAME
// (--data FILE | --sample) -o FILE`, for previews and for clerks checking
// an edited template. The output's extension picks the kind: .pdf for a
// document, .xlsx for an Excel template, .html or .txt for a mail
// ("mail/NAME").
func renderCmd(ctx context.Context, args []string, getenv func(string) string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("vanthu render", flag.ContinueOnError)
	fs.SetOutput(errOut)
	name := fs.String("template", "", "template name (see 'vanthu templates list')")
	data := fs.String("data", "", "JSON input: {\"document\": {...}, \"data\": {...}} for a document, {\"values\": {...}, \"rows\": {...}} for an Excel template")
	sample := fs.Bool("sample", false, "use the template's bundled sample data")
	output := fs.String("o", "", "output file (.pdf, .xlsx, or .html/.txt for a mail template)")
	dir := fs.String("templates-dir", getenv("VANTHU_TEMPLATES_DIR"), "directory overriding the built-in templates")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *name == "":
		return errors.New("render: --template is required")
	case *output == "":
		return errors.New("render: -o FILE is required")
	case (*data == "") == !*sample:
		return errors.New("render: give exactly one of --data FILE or --sample")
	}
	set, err := templates.Load(*dir)
	if err != nil {
		return err
	}
	var input []byte
	if !*sample {
		if input, err = os.ReadFile(*data); err != nil {
			return fmt.Errorf("render: %w", err)
		}
	}
	ext := strings.ToLower(filepath.Ext(*output))
	var b []byte
	switch {
	case slices.Contains(set.Documents(), *name) && ext == ".pdf":
		b, err = renderDocument(set, *name, input)
	case slices.Contains(set.Sheets(), *name) && ext == ".xlsx":
		b, err = renderSheet(ctx, set, *name, input)
	case strings.HasPrefix(*name, "mail/") && slices.Contains(set.Mails(), strings.TrimPrefix(*name, "mail/")) && (ext == ".html" || ext == ".txt"):
		b, err = renderMail(set, strings.TrimPrefix(*name, "mail/"), input, ext)
	default:
		return fmt.Errorf("render: no template %q writes %s files; documents (.pdf): %s; Excel (.xlsx): %s; mail (.html, .txt): mail/%s",
			*name, ext, strings.Join(set.Documents(), ", "), strings.Join(set.Sheets(), ", "), strings.Join(set.Mails(), ", mail/"))
	}
	if err != nil {
		if *data != "" {
			return fmt.Errorf("render: %s: %w", *data, err)
		}
		return fmt.Errorf("render: %w", err)
	}
	if err := os.WriteFile(*output, b, 0o644); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	fmt.Fprintf(out, "%s: %d bytes\n", *output, len(b))
	return nil
}

// renderDocument lays out a document template as PDF; nil input means the
// template's sample.
func renderDocument(set *templates.Set, name string, input []byte) ([]byte, error) {
	in, err := set.Sample(name)
	if err != nil {
		return nil, err
	}
	if input != nil {
		if in, err = templates.ParseInput(input); err != nil {
			return nil, err
		}
	}
	d, err := set.Document(name, in)
	if err != nil {
		return nil, err
	}
	pdf, err := render.PDF(d)
	if vanthu.ProblemsOf(err) != nil {
		return nil, errors.New(templates.ProblemText(err, d.Body))
	}
	return pdf, err
}

// renderSheet fills an Excel template; nil input means the template's
// sample. Large inputs go through the stream writer.
func renderSheet(ctx context.Context, set *templates.Set, name string, input []byte) ([]byte, error) {
	d, err := set.SheetSample(name)
	if err != nil {
		return nil, err
	}
	if input != nil {
		if d, err = templates.ParseSheetInput(input); err != nil {
			return nil, err
		}
	}
	n := 0
	for _, rs := range d.Rows {
		n += len(rs)
	}
	if n <= streamAbove {
		return set.FillSheet(ctx, name, d)
	}
	var buf bytes.Buffer
	if err := set.StreamSheet(ctx, name, d, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// renderMail renders a mail template's HTML body, or its subject and text
// body; nil input means the template's sample.
func renderMail(set *templates.Set, name string, input []byte, ext string) ([]byte, error) {
	data, err := set.MailSample(name)
	if err != nil {
		return nil, err
	}
	if input != nil {
		data = nil // decoding into the sample's map would change the set
		dec := json.NewDecoder(bytes.NewReader(input))
		dec.UseNumber()
		if err := dec.Decode(&data); err != nil {
			return nil, fmt.Errorf("input: %w", err)
		}
	}
	m, err := set.Mail(name, data)
	if err != nil {
		return nil, err
	}
	if ext == ".html" {
		return []byte(m.HTML), nil
	}
	return []byte("Tiêu đề: " + m.Subject + "\n\n" + m.Text), nil
}

// explain lists a validation error's problems, one per line.
func explain(err error) error {
	if ps := vanthu.ProblemsOf(err); len(ps) > 0 {
		return problemsError(vanthu.ErrorMessageOf(err), ps)
	}
	return err
}
