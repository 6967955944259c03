package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/render"
	"github.com/sonoivu/vanthu/templates"
)

// templatesCmd lists or checks the templates: `vanthu templates list` and
// `vanthu templates check [DIR]`, which loads DIR's overrides over the
// defaults and renders every document template with its sample data.
func templatesCmd(args []string, getenv func(string) string, out io.Writer) error {
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
			fmt.Fprintf(out, "%-10s PDF   %s\n", n, in.Document.TypeName+" "+in.Document.Subject)
		}
		return nil
	}
	for _, n := range set.Documents() {
		in, _ := set.Sample(n)
		d, err := documentFrom(set, n, in)
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		if _, err := render.PDF(d); err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
	}
	where := "built-in templates"
	if dir != "" {
		where = dir + " over the built-in templates"
	}
	fmt.Fprintf(out, "%d document templates OK (%s); overridden: %s\n", len(set.Documents()), where, orNone(set.Overridden))
	return nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// renderCmd renders one template offline: `vanthu render --template NAME
// (--data FILE | --sample) -o FILE`, for previews and for clerks checking
// an edited template.
func renderCmd(ctx context.Context, args []string, getenv func(string) string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("vanthu render", flag.ContinueOnError)
	fs.SetOutput(errOut)
	name := fs.String("template", "", "template name (see 'vanthu templates list')")
	data := fs.String("data", "", "JSON input: {\"document\": {...}, \"data\": {...}}")
	sample := fs.Bool("sample", false, "use the template's bundled sample data")
	output := fs.String("o", "", "output file (.pdf)")
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
	if ext := strings.ToLower(filepath.Ext(*output)); ext != ".pdf" {
		return fmt.Errorf("render: -o %s: template %q writes .pdf", *output, *name)
	}
	set, err := templates.Load(*dir)
	if err != nil {
		return err
	}
	in, err := set.Sample(*name)
	if err != nil {
		return err
	}
	if !*sample {
		b, err := os.ReadFile(*data)
		if err != nil {
			return fmt.Errorf("render: %w", err)
		}
		if in, err = templates.ParseInput(b); err != nil {
			return fmt.Errorf("render: %s: %w", *data, err)
		}
	}
	d, err := documentFrom(set, *name, in)
	if err != nil {
		return err
	}
	pdf, err := render.PDF(d)
	if err != nil {
		return explain(err)
	}
	if err := os.WriteFile(*output, pdf, 0o644); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	fmt.Fprintf(out, "%s: %d bytes\n", *output, len(pdf))
	return nil
}

// documentFrom expands the body template and maps the frame onto the
// renderer's document.
func documentFrom(set *templates.Set, name string, in templates.Input) (render.Document, error) {
	body, err := set.Body(name, in.Data)
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
		TypeName: f.TypeName, Subject: f.Subject, Urgency: render.Urgency(f.Urgency), KinhGui: f.KinhGui,
		Body: body, SignerAuthority: f.SignerAuthority, SignerTitle: f.SignerTitle, SignerName: f.SignerName,
		Recipients: f.Recipients, DrafterCode: f.DrafterCode, AddressLine: f.AddressLine,
	}, nil
}

// explain lists a validation error's problems, one per line.
func explain(err error) error {
	if ps := vanthu.ProblemsOf(err); len(ps) > 0 {
		return problemsError(vanthu.ErrorMessageOf(err), ps)
	}
	return err
}
