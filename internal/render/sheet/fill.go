package sheet

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/sonoivu/vanthu/internal/vntext"
)

// templateCell is one cell of a template sheet as read before filling.
type templateCell struct {
	col     int
	text    cellText // nil when the cell has no placeholder
	value   string   // raw text when there is no placeholder
	style   int
	formula string
}

// templateSheet is what Fill and Stream need to know about one sheet.
type templateSheet struct {
	name   string
	width  int              // number of columns in use
	rows   [][]templateCell // rows[r-1]: every column 1..width
	marked int              // 1-based repeated row, 0 when none
	height float64          // custom height of the repeated row, 0 if none
}

// readTemplate opens a template and parses every sheet. It reports
// malformed placeholders and duplicate repeated rows as EInvalid, like
// Check, so that a broken template never produces half a workbook.
func readTemplate(tmpl []byte) (*excelize.File, []*templateSheet, error) {
	if err := Check(tmpl, nil); err != nil {
		return nil, nil, err
	}
	f, err := excelize.OpenReader(bytes.NewReader(tmpl))
	if err != nil {
		return nil, nil, fmt.Errorf("open template: %w", err)
	}
	var sheets []*templateSheet
	for _, name := range f.GetSheetList() {
		ts, err := readSheet(f, name)
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		sheets = append(sheets, ts)
	}
	return f, sheets, nil
}

func readSheet(f *excelize.File, name string) (*templateSheet, error) {
	values, err := f.GetRows(name, excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, fmt.Errorf("read sheet %q: %w", name, err)
	}
	ts := &templateSheet{name: name}
	for _, row := range values {
		ts.width = max(ts.width, len(row))
	}
	ts.rows = make([][]templateCell, len(values))
	for r := range values {
		cells := make([]templateCell, ts.width)
		for c := range cells {
			ref, _ := excelize.CoordinatesToCellName(c+1, r+1)
			tc := templateCell{col: c + 1}
			if c < len(values[r]) {
				tc.value = values[r][c]
			}
			if tc.style, err = f.GetCellStyle(name, ref); err != nil {
				return nil, fmt.Errorf("read style of %s!%s: %w", name, ref, err)
			}
			if tc.formula, err = f.GetCellFormula(name, ref); err != nil {
				return nil, fmt.Errorf("read formula of %s!%s: %w", name, ref, err)
			}
			if tc.formula == "" && strings.Contains(tc.value, "{{") {
				tc.text, _ = parseText(tc.value) // Check has validated it
				if tc.text.hasField() {
					ts.marked = r + 1
				}
			}
			cells[c] = tc
		}
		ts.rows[r] = cells
	}
	if ts.marked > 0 {
		props, err := f.GetSheetProps(name)
		if err != nil {
			return nil, fmt.Errorf("read sheet properties of %q: %w", name, err)
		}
		h, err := f.GetRowHeight(name, ts.marked)
		if err != nil {
			return nil, fmt.Errorf("read row height of %q: %w", name, err)
		}
		def := 15.0
		if props.DefaultRowHeight != nil {
			def = *props.DefaultRowHeight
		}
		if h != def {
			ts.height = h
		}
	}
	return ts, nil
}

// lookup returns the value for a placeholder, and whether it exists.
func lookup(s segment, d Data, rec map[string]any, index int) (any, bool) {
	if s.field {
		if v, ok := rec[s.name]; ok {
			return v, true
		}
		if s.name == builtinSTT && index > 0 {
			return index, true
		}
		return nil, false
	}
	v, ok := d.Values[s.name]
	return v, ok
}

// render returns the text of a cell with its placeholders replaced.
func render(t cellText, d Data, rec map[string]any, index int) string {
	var b strings.Builder
	for _, s := range t {
		if s.name == "" {
			b.WriteString(s.lit)
			continue
		}
		if v, ok := lookup(s, d, rec, index); ok {
			b.WriteString(formatText(v))
		}
	}
	return vntext.NFC(b.String())
}

// formatText renders a value inside a longer text, Vietnamese style.
func formatText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case time.Time:
		if v.IsZero() {
			return ""
		}
		if v.Hour() == 0 && v.Minute() == 0 && v.Second() == 0 {
			return v.Format("02/01/2006")
		}
		return v.Format("15:04 02/01/2006")
	case *time.Time:
		if v == nil {
			return ""
		}
		return formatText(*v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'f', -1, 32)
	case bool:
		if v {
			return "Có"
		}
		return "Không"
	case fmt.Stringer:
		return v.String()
	default:
		return fmt.Sprint(v)
	}
}

// typed converts a placeholder value into what excelize writes as a typed
// cell: numbers, bools and times are kept, everything else becomes an NFC
// string. nil means an empty cell.
func typed(v any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, bool:
		return v
	case time.Time:
		if v.IsZero() {
			return nil
		}
		return v
	case *time.Time:
		if v == nil || v.IsZero() {
			return nil
		}
		return *v
	case string:
		return vntext.NFC(v)
	default:
		return vntext.NFC(formatText(v))
	}
}

// excelEpoch is day 0 of Excel's 1900 date system as used after February
// 1900 (Excel counts a 29 February 1900 that never was).
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

// excelSerial returns the Excel date serial of t's wall clock, and false for
// dates Excel cannot show.
func excelSerial(t time.Time) (float64, bool) {
	wall := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	if wall.Year() < 1900 || wall.Year() > 9999 || wall.Before(time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC)) {
		return 0, false
	}
	return float64(wall.Sub(excelEpoch)) / float64(24*time.Hour), true
}

// setTyped writes a typed value. Strings go through SetCellStr so that text
// starting with "=" is never taken as a formula.
func setTyped(f *excelize.File, sheet, ref string, style int, v any) error {
	switch v := typed(v).(type) {
	case nil:
		return f.SetCellDefault(sheet, ref, "")
	case string:
		return f.SetCellStr(sheet, ref, v)
	case time.Time:
		// excelize's SetCellValue replaces the cell's number format with
		// its own date format; the template's format must win.
		serial, ok := excelSerial(v)
		if style == 0 || !ok {
			return f.SetCellValue(sheet, ref, v)
		}
		return f.SetCellFloat(sheet, ref, serial, -1, 64)
	default:
		return f.SetCellValue(sheet, ref, v)
	}
}

// recordValue is the value a cell of the repeated row takes for rec
// (index is its 1-based number), typed as Stream writes it: nil for a
// formula, an empty cell, or a placeholder without a record.
func recordValue(tc templateCell, d Data, rec map[string]any, index int) any {
	switch {
	case tc.formula != "":
		return nil
	case tc.text != nil:
		if rec == nil {
			return nil
		}
		if s, ok := tc.text.single(); ok {
			v, _ := lookup(s, d, rec, index)
			return typed(v)
		}
		return render(tc.text, d, rec, index)
	case tc.value != "":
		return vntext.NFC(tc.value)
	}
	return nil
}

// fillCell writes one template cell with data.
func fillCell(f *excelize.File, sheet, ref string, tc templateCell, d Data, rec map[string]any, index int) error {
	if s, ok := tc.text.single(); ok {
		v, _ := lookup(s, d, rec, index)
		return setTyped(f, sheet, ref, tc.style, v)
	}
	return f.SetCellStr(sheet, ref, render(tc.text, d, rec, index))
}

// Fill fills a template with data and returns the workbook. It suits up to
// tens of thousands of records; use Stream beyond that. A malformed
// template is reported as EInvalid.
func Fill(ctx context.Context, tmpl []byte, d Data) ([]byte, error) {
	f, sheets, err := readTemplate(tmpl)
	if err != nil {
		return nil, err
	}
	if d, err = d.collect(ctx); err != nil {
		f.Close()
		return nil, err
	}
	defer f.Close()
	type block struct {
		sheet         string
		marked, count int
	}
	var blocks []block
	computed := make([]map[int]bool, len(sheets))
	for i, ts := range sheets {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		count, cols, err := fillSheet(ctx, f, ts, d)
		if err != nil {
			return nil, err
		}
		computed[i] = cols
		if ts.marked > 0 {
			blocks = append(blocks, block{ts.name, ts.marked, count})
		}
	}
	for _, b := range blocks {
		widenCharts(f, vntext.NFC(b.sheet), b.marked, b.count, false)
	}
	// Cached values come last: a total may depend on another sheet.
	for i, ts := range sheets {
		if err := cacheTotals(f, ts, d, computed[i]); err != nil {
			return nil, err
		}
	}
	if err := setFullCalc(f); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := f.Write(&out); err != nil {
		return nil, fmt.Errorf("write workbook: %w", err)
	}
	return out.Bytes(), nil
}

// setFullCalc asks Excel and LibreOffice to recalculate every formula when
// the workbook is opened, since totals now cover rows the template did not
// have.
func setFullCalc(f *excelize.File) error {
	on := true
	if err := f.SetCalcProps(&excelize.CalcPropsOptions{FullCalcOnLoad: &on}); err != nil {
		return fmt.Errorf("set calculation properties: %w", err)
	}
	return nil
}

// fillSheet fills one sheet and returns how many rows the repeated row
// became (at least 1 when there is a repeated row), and the columns of the
// repeated row whose formulas got their values here.
func fillSheet(ctx context.Context, f *excelize.File, ts *templateSheet, d Data) (int, map[int]bool, error) {
	name := ts.name
	recs := d.records(name)
	count := max(len(recs), 1)
	// Values outside the repeated row first, while rows keep their template
	// numbers.
	for r, row := range ts.rows {
		if r+1 == ts.marked {
			continue
		}
		for _, tc := range row {
			if tc.text == nil {
				continue
			}
			ref, _ := excelize.CoordinatesToCellName(tc.col, r+1)
			if err := fillCell(f, name, ref, tc, d, nil, 0); err != nil {
				return 0, nil, fmt.Errorf("fill %s!%s: %w", name, ref, err)
			}
		}
	}
	if ts.marked == 0 {
		return 0, nil, nil
	}
	m := ts.marked
	tmplRow := ts.rows[m-1]
	if count > 1 {
		// One insertion for the whole block: excelize moves everything
		// below, including formulas and drawings, in a single pass.
		if err := f.InsertRows(name, m+1, count-1); err != nil {
			return 0, nil, fmt.Errorf("insert %d rows in %q: %w", count-1, name, err)
		}
		for _, tc := range tmplRow {
			if tc.style == 0 {
				continue
			}
			from, _ := excelize.CoordinatesToCellName(tc.col, m+1)
			to, _ := excelize.CoordinatesToCellName(tc.col, m+count-1)
			if err := f.SetCellStyle(name, from, to, tc.style); err != nil {
				return 0, nil, fmt.Errorf("copy style to %s!%s:%s: %w", name, from, to, err)
			}
		}
		if ts.height > 0 {
			for r := m + 1; r < m+count; r++ {
				if err := f.SetRowHeight(name, r, ts.height); err != nil {
					return 0, nil, fmt.Errorf("set row height in %q: %w", name, err)
				}
			}
		}
	}
	// The formulas over their own row (rates) get their values as Stream
	// gives them, memoised by the cells they read; cacheTotals skips them.
	// When they read another formula of the row (=D5/D$20), whose value
	// is not at hand here, cacheTotals computes them all in the workbook.
	calc, err := newRowCalc(ts, m)
	if err != nil {
		return 0, nil, err
	}
	if calc.readsFormula(tmplRow) {
		calc.close()
		calc = nil
	}
	defer calc.close()
	var computed map[int]bool
	if calc != nil {
		computed = make(map[int]bool, len(calc.cols))
		for _, c := range calc.cols {
			computed[c] = true
		}
	}
	cells := make([]excelize.Cell, ts.width)
	for i := range count {
		if i%1000 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, nil, err
			}
		}
		var rec map[string]any
		if i < len(recs) {
			rec = recs[i]
		}
		r := m + i
		for _, tc := range tmplRow {
			ref, _ := excelize.CoordinatesToCellName(tc.col, r)
			var err error
			switch {
			case tc.formula != "":
				if i > 0 && !computed[tc.col] {
					err = f.SetCellFormula(name, ref, copyFormula(tc.formula, i))
				}
			case tc.text != nil:
				if rec == nil {
					err = f.SetCellDefault(name, ref, "")
				} else {
					err = fillCell(f, name, ref, tc, d, rec, i+1)
				}
			case tc.value != "" && i > 0:
				err = f.SetCellStr(name, ref, vntext.NFC(tc.value))
			}
			if err != nil {
				return 0, nil, fmt.Errorf("fill %s!%s: %w", name, ref, err)
			}
		}
		if calc == nil {
			continue
		}
		for c, tc := range tmplRow {
			cells[c] = excelize.Cell{Formula: tc.formula, Value: recordValue(tc, d, rec, i+1)}
		}
		if err := calc.compute(cells); err != nil {
			return 0, nil, err
		}
		for _, c := range calc.cols {
			ref, _ := excelize.CoordinatesToCellName(c, r)
			if err := setComputed(f, name, ref, copyFormula(tmplRow[c-1].formula, i), cells[c-1].Value); err != nil {
				return 0, nil, err
			}
		}
	}
	// Widen totals. Rows below the block have already moved with
	// InsertRows; only ranges ending on the repeated row remain.
	last := len(ts.rows) + count - 1
	for r := 1; r <= last; r++ {
		if r >= m && r < m+count {
			continue
		}
		for c := 1; c <= ts.width; c++ {
			ref, _ := excelize.CoordinatesToCellName(c, r)
			fm, err := f.GetCellFormula(name, ref)
			if err != nil {
				return 0, nil, fmt.Errorf("read formula of %s!%s: %w", name, ref, err)
			}
			if fm == "" {
				continue
			}
			if wide := widenBlock(fm, vntext.NFC(name), true, m, count, false); wide != fm {
				if err := f.SetCellFormula(name, ref, wide); err != nil {
					return 0, nil, fmt.Errorf("widen formula of %s!%s: %w", name, ref, err)
				}
			}
		}
	}
	return count, computed, nil
}

// setComputed writes formula at ref with v, when a number, as its cached
// value.
func setComputed(f *excelize.File, sheet, ref, formula string, v any) error {
	if num, ok := v.(float64); ok {
		// SetCellFloat drops the formula; SetCellFormula then puts it
		// back and keeps the value as the cached result.
		if err := f.SetCellFloat(sheet, ref, num, -1, 64); err != nil {
			return fmt.Errorf("cache value of %s!%s: %w", sheet, ref, err)
		}
	}
	if err := f.SetCellFormula(sheet, ref, formula); err != nil {
		return fmt.Errorf("fill formula of %s!%s: %w", sheet, ref, err)
	}
	return nil
}

// cacheTotals stores the computed value of every numeric formula next to
// the formula, totals and the repeated rows' other formulas alike, for
// readers that do not recalculate. computed lists the columns of the
// repeated row that fillSheet gave their values.
func cacheTotals(f *excelize.File, ts *templateSheet, d Data, computed map[int]bool) error {
	name := ts.name
	count := 0
	if ts.marked > 0 {
		count = max(len(d.records(name)), 1)
	}
	last := len(ts.rows) + max(count-1, 0)
	for r := 1; r <= last; r++ {
		// In the repeated rows only the template's formula columns can
		// hold one.
		inBlock := ts.marked > 0 && r >= ts.marked && r < ts.marked+count
		for c := 1; c <= ts.width; c++ {
			if inBlock && (ts.rows[ts.marked-1][c-1].formula == "" || computed[c]) {
				continue
			}
			ref, _ := excelize.CoordinatesToCellName(c, r)
			fm, err := f.GetCellFormula(name, ref)
			if err != nil || fm == "" {
				continue
			}
			v, err := f.CalcCellValue(name, ref, excelize.Options{RawCellValue: true})
			if err != nil {
				continue // unsupported function: Excel computes it on open
			}
			num, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			// SetCellFloat drops the formula; SetCellFormula then puts it
			// back and keeps the value as the cached result.
			if err := f.SetCellFloat(name, ref, num, -1, 64); err != nil {
				return fmt.Errorf("cache value of %s!%s: %w", name, ref, err)
			}
			if err := f.SetCellFormula(name, ref, fm); err != nil {
				return fmt.Errorf("restore formula of %s!%s: %w", name, ref, err)
			}
		}
	}
	return nil
}
