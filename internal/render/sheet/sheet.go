// Package sheet fills Excel workbooks from .xlsx templates that a clerk can
// open and restyle in Excel or LibreOffice without touching code.
//
// # Template convention
//
// A template is an ordinary .xlsx workbook. Its cells may contain
// placeholders written between double braces:
//
//   - {{Name}} is replaced by Data.Values["Name"] wherever it appears in a
//     cell's text, e.g. "BÁO CÁO QUÝ {{Quarter}} NĂM {{Year}}". When a cell
//     holds exactly one placeholder and nothing else, the cell receives the
//     typed value: numbers stay numbers, time.Time becomes an Excel date
//     (formatted by the cell's own number format; the zero time leaves the
//     cell empty), bool becomes a boolean.
//   - {{.Field}} (note the dot) is a record field. The row holding record
//     fields is the sheet's repeated row: it is written once per record of
//     Data.Rows[sheet name] (or Data.Rows[""] when the sheet has no entry of
//     its own), or of Data.Sources[sheet name], which feeds them one at a
//     time. A sheet has at most one repeated row. {{.STT}} is the 1-based
//     record number unless the record has its own "STT".
//
// Names are ASCII letters, digits and underscores, starting with a letter or
// underscore; spaces inside the braces are allowed ("{{ Year }}"). A missing
// value or field leaves the placeholder empty; use Check to reject templates
// that use names the caller does not provide.
//
// The repeated row keeps its look: every inserted row gets the same cell
// styles (borders, number formats, fonts) and height as the template row.
// Cells of the repeated row that hold a formula instead of a placeholder
// (e.g. a rate =E5/D5) are copied to every record row with their references
// to the repeated row moved to the new row.
//
// Totals: formulas outside the repeated row whose ranges end on the repeated
// row, e.g. =SUM(C5:C5) or =COUNTIF(H5:H5,"Có"), are widened to cover every
// record row (C5:C1004 for 1,000 records); references below the repeated row
// move down with the rows. Chart series that refer to the repeated row the
// same way (e.g. 'Biểu 1'!$C$5:$C$5) are widened too. The workbook is marked
// to recalculate fully when opened, and Fill also stores the computed value
// of each such formula so that readers which do not recalculate see the
// right numbers. Formulas of the repeated row that refer only to their own
// row (a rate =IF(E5>0,F5/E5,0)) get their value for every record too, and
// so do formulas of a totals row that refer only to that row.
//
// Record text is always written as a string cell, never as a formula, even
// when it starts with "=", "+", "-" or "@". All text is normalised to NFC.
// Times are written with the wall clock of their own location: convert them
// to the office's time zone first.
//
// Limits: merged cells in the repeated row are not repeated; formulas on
// other sheets that point at a repeated row are not widened. Stream does not
// move pictures, conditional formats or data validations that sit below the
// repeated row; there, SUM, COUNT and COUNTA totals over one column of the
// records and formulas over their own row get a stored value, other totals
// (COUNTIF) are left for the spreadsheet to compute on opening.
package sheet

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/sonoivu/vanthu"
)

// Data is what a template is filled with.
type Data struct {
	// Values replace {{Name}} placeholders on every sheet.
	Values map[string]any
	// Rows holds the records for each sheet's repeated row, keyed by sheet
	// name; the key "" serves every sheet that has no entry of its own.
	Rows map[string][]map[string]any
	// Sources feed a sheet's records one at a time instead of Rows, keyed
	// by sheet name (a source wins over Rows for its sheet). Stream writes
	// each record as it comes, so that a sheet of 100,000 records is never
	// held in memory; Fill collects them first. The rows above the
	// repeated row of such a sheet must not refer to the records, since
	// their number is known only at the end.
	Sources map[string]RowSource
}

// RowSource calls yield with each record of a sheet in order, and stops
// with yield's error when it returns one. A record map may be reused by
// the source once yield returns.
type RowSource func(ctx context.Context, yield func(map[string]any) error) error

// records returns the records for a sheet held in Rows.
func (d Data) records(sheet string) []map[string]any {
	if rs, ok := d.Rows[sheet]; ok {
		return rs
	}
	return d.Rows[""]
}

// collect returns d with every source of sheets drained into Rows, for
// Fill.
func (d Data) collect(ctx context.Context) (Data, error) {
	if len(d.Sources) == 0 {
		return d, nil
	}
	out := d
	out.Rows = make(map[string][]map[string]any, len(d.Rows)+len(d.Sources))
	for k, v := range d.Rows {
		out.Rows[k] = v
	}
	for name, src := range d.Sources {
		var recs []map[string]any
		err := src(ctx, func(r map[string]any) error {
			recs = append(recs, maps.Clone(r))
			return nil
		})
		if err != nil {
			return Data{}, fmt.Errorf("read the records of %q: %w", name, err)
		}
		if recs == nil {
			recs = []map[string]any{}
		}
		out.Rows[name] = recs
	}
	out.Sources = nil
	return out, nil
}

// builtinSTT is the record field that numbers records from 1.
const builtinSTT = "STT"

// segment is a piece of a cell's text: a literal, or a placeholder.
type segment struct {
	lit   string
	name  string // placeholder name without braces or dot; "" for a literal
	field bool   // {{.Field}}: a record field
	raw   string // the placeholder as written, for messages
}

// cellText is a parsed cell text.
type cellText []segment

// hasField reports whether the text holds a record field.
func (t cellText) hasField() bool {
	for _, s := range t {
		if s.field {
			return true
		}
	}
	return false
}

// single returns the only placeholder when the text is exactly one.
func (t cellText) single() (segment, bool) {
	if len(t) == 1 && t[0].name != "" {
		return t[0], true
	}
	return segment{}, false
}

// parseError describes a malformed placeholder. msg is Vietnamese, for the
// clerk who edits the template.
type parseError struct{ msg string }

func (e *parseError) Error() string { return e.msg }

// parseText splits a cell's text into literals and placeholders.
func parseText(s string) (cellText, error) {
	var out cellText
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			if s != "" {
				out = append(out, segment{lit: s})
			}
			return out, nil
		}
		if i > 0 {
			out = append(out, segment{lit: s[:i]})
		}
		rest := s[i+2:]
		j := strings.Index(rest, "}}")
		if k := strings.Index(rest, "{{"); j < 0 || (k >= 0 && k < j) {
			return nil, &parseError{msg: fmt.Sprintf("dấu %q chưa được đóng bằng \"}}\"", "{{"+firstLine(rest, 20))}
		}
		raw := "{{" + rest[:j] + "}}"
		inner := strings.TrimSpace(rest[:j])
		field := strings.HasPrefix(inner, ".")
		name := strings.TrimPrefix(inner, ".")
		if !validName(name) {
			return nil, &parseError{msg: fmt.Sprintf("trường %q không hợp lệ: tên chỉ gồm chữ cái không dấu, chữ số và dấu gạch dưới", raw)}
		}
		out = append(out, segment{name: name, field: field, raw: raw})
		s = rest[j+2:]
	}
}

// firstLine shortens s for an error message.
func firstLine(s string, n int) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "…"
	}
	return s
}

// validName reports whether s is a placeholder name.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Check validates a template: every placeholder is well formed, each sheet
// has at most one repeated row, and, when known is not nil, every name is
// known. {{Name}} needs known["Name"]; {{.Field}} needs known[".Field"] or
// known["Field"]; {{.STT}} is always known. The returned *vanthu.Error
// (EInvalid) has one Problem per fault, its Field naming the place as
// "Sheet!B3".
func Check(tmpl []byte, known map[string]bool) error {
	f, err := excelize.OpenReader(bytes.NewReader(tmpl))
	if err != nil {
		return &vanthu.Error{Code: vanthu.EInvalid, Message: "Tệp mẫu không phải là tệp Excel (.xlsx) hợp lệ.", Err: fmt.Errorf("open template: %w", err)}
	}
	defer f.Close()
	var problems []vanthu.Problem
	for _, name := range f.GetSheetList() {
		rows, err := f.GetRows(name, excelize.Options{RawCellValue: true})
		if err != nil {
			return fmt.Errorf("read template sheet %q: %w", name, err)
		}
		marked := 0
		for r, row := range rows {
			for c, v := range row {
				if !strings.Contains(v, "{{") {
					continue
				}
				ref, _ := excelize.CoordinatesToCellName(c+1, r+1)
				at := name + "!" + ref
				t, err := parseText(v)
				if err != nil {
					problems = append(problems, vanthu.Problem{Field: at, Message: err.Error()})
					continue
				}
				for _, s := range t {
					if s.name == "" || known == nil {
						continue
					}
					ok := known[s.name] && !s.field
					if s.field {
						ok = s.name == builtinSTT || known["."+s.name] || known[s.name]
					}
					if !ok {
						problems = append(problems, vanthu.Problem{Field: at, Message: fmt.Sprintf("trường %q không có trong dữ liệu", s.raw)})
					}
				}
				if t.hasField() {
					switch {
					case marked == 0:
						marked = r + 1
					case marked != r+1:
						problems = append(problems, vanthu.Problem{Field: at, Message: fmt.Sprintf("mỗi trang chỉ được có một dòng lặp ({{.Tên}}), dòng %d đã là dòng lặp", marked)})
					}
				}
			}
		}
	}
	if len(problems) > 0 {
		return vanthu.Invalid("Mẫu Excel không hợp lệ.", problems...)
	}
	return nil
}

// Names lists the worksheets of a workbook, in order.
func Names(xlsx []byte) ([]string, error) {
	f, err := excelize.OpenReader(bytes.NewReader(xlsx))
	if err != nil {
		return nil, &vanthu.Error{Code: vanthu.EInvalid, Message: "Tệp mẫu không phải là tệp Excel (.xlsx) hợp lệ.", Err: fmt.Errorf("open template: %w", err)}
	}
	defer f.Close()
	return f.GetSheetList(), nil
}
