package templates

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/sonoivu/vanthu/internal/render/sheet"
	"github.com/sonoivu/vanthu/internal/vntext"
)

// workbook is one loaded Excel template with its sample data.
type workbook struct {
	xlsx   []byte
	sample sheet.Data
	sheets []string // sheet names, for listings
}

// loadSheets reads every sheets/<name>.xlsx and its <name>.sample.json,
// checks that every placeholder of the workbook is a name the sample
// provides, and fills it with the sample: a clerk's restyled copy with a
// misspelt {{.Nmae}} is refused here, naming the sheet and cell.
func (s *Set) loadSheets(override fs.FS) ([]string, []error) {
	files, err := fs.Glob(defaults, "sheets/*.xlsx")
	if err != nil {
		return nil, []error{err}
	}
	var known []string
	var errs []error
	for _, file := range files {
		name := strings.TrimSuffix(path.Base(file), ".xlsx")
		sampleFile := "sheets/" + name + ".sample.json"
		known = append(known, file, sampleFile)
		xlsx, err := s.readFile(file, override)
		if err != nil {
			errs = append(errs, fmt.Errorf("templates: %w", err))
			continue
		}
		raw, err := s.readFile(sampleFile, override)
		if err != nil {
			errs = append(errs, fmt.Errorf("templates: %s has no sample data %s: %w", file, sampleFile, err))
			continue
		}
		sample, err := ParseSheetInput([]byte(raw))
		if err != nil {
			errs = append(errs, fmt.Errorf("templates: %s: %w", sampleFile, err))
			continue
		}
		wb := &workbook{xlsx: []byte(xlsx), sample: sample}
		if err := sheet.Check(wb.xlsx, fieldNames(sample)); err != nil {
			errs = append(errs, fmt.Errorf("templates: %s: %s", file, ProblemText(err, "")))
			continue
		}
		if wb.sheets, err = sheet.Names(wb.xlsx); err != nil {
			errs = append(errs, fmt.Errorf("templates: %s: %w", file, err))
			continue
		}
		if _, err := sheet.Fill(context.Background(), wb.xlsx, sample); err != nil {
			errs = append(errs, fmt.Errorf("templates: %s with its sample data: %s", file, ProblemText(err, "")))
			continue
		}
		s.xlsx[name] = wb
	}
	return known, errs
}

// fieldNames lists the names sample data provides, in sheet.Check's form:
// "Name" for a value, ".Field" for a record field.
func fieldNames(d sheet.Data) map[string]bool {
	known := map[string]bool{}
	for k := range d.Values {
		known[k] = true
	}
	for _, recs := range d.Rows {
		for _, r := range recs {
			for k := range r {
				known["."+k] = true
			}
		}
	}
	return known
}

// ParseSheetInput decodes the data an Excel template is filled with:
//
//	{"values": {"Number": "02/CT-UBND"}, "rows": {"": [{"Name": "Sở Y tế", "SentAt": "2026-11-25T09:00:00+07:00"}]}}
//
// "rows" is keyed by sheet name ("" for every sheet without its own key).
// Strings that are dates (2006-01-02) or RFC 3339 times become Excel dates
// in Vietnam's time zone, an empty string an empty cell, and numbers stay
// numbers; other strings are text, even when they start with "=".
func ParseSheetInput(b []byte) (sheet.Data, error) {
	var raw struct {
		Values map[string]any              `json:"values"`
		Rows   map[string][]map[string]any `json:"rows"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return sheet.Data{}, fmt.Errorf("input: %w (want {\"values\": {...}, \"rows\": {\"sheet name\": [{...}]}})", err)
	}
	d := sheet.Data{Values: map[string]any{}, Rows: map[string][]map[string]any{}}
	for k, v := range raw.Values {
		d.Values[k] = sheetValue(v)
	}
	for name, recs := range raw.Rows {
		out := make([]map[string]any, len(recs))
		for i, r := range recs {
			out[i] = make(map[string]any, len(r))
			for k, v := range r {
				out[i][k] = sheetValue(v)
			}
		}
		d.Rows[vntext.NFC(name)] = out
	}
	return d, nil
}

// sheetValue converts one decoded JSON value into what sheet.Fill types.
func sheetValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case string:
		if x == "" {
			return nil
		}
		if t, err := toTime(x); err == nil {
			return t
		}
		return x
	}
	return v
}

// Sheets names the Excel templates, sorted.
func (s *Set) Sheets() []string {
	out := make([]string, 0, len(s.xlsx))
	for n := range s.xlsx {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (s *Set) workbook(name string) (*workbook, error) {
	wb, ok := s.xlsx[name]
	if !ok {
		return nil, fmt.Errorf("templates: no Excel template %q (known: %s)", name, strings.Join(s.Sheets(), ", "))
	}
	return wb, nil
}

// SheetNames lists the worksheets of an Excel template, in order.
func (s *Set) SheetNames(name string) ([]string, error) {
	wb, err := s.workbook(name)
	if err != nil {
		return nil, err
	}
	return wb.sheets, nil
}

// SheetSample returns the realistic sample data shipped with an Excel
// template.
func (s *Set) SheetSample(name string) (sheet.Data, error) {
	wb, err := s.workbook(name)
	if err != nil {
		return sheet.Data{}, err
	}
	return wb.sample, nil
}

// FillSheet fills the Excel template name with d (sheet.Fill): for up to
// tens of thousands of records.
func (s *Set) FillSheet(ctx context.Context, name string, d sheet.Data) ([]byte, error) {
	wb, err := s.workbook(name)
	if err != nil {
		return nil, err
	}
	return sheet.Fill(ctx, wb.xlsx, d)
}

// StreamSheet writes the Excel template name filled with d to w through
// excelize's stream writer (sheet.Stream): for 100,000 records and more.
func (s *Set) StreamSheet(ctx context.Context, name string, d sheet.Data, w io.Writer) error {
	wb, err := s.workbook(name)
	if err != nil {
		return err
	}
	return sheet.Stream(ctx, wb.xlsx, d, w)
}
