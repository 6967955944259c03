package sheet

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/vntext"
)

// Stream fills a template like Fill but writes the sheets that have a
// repeated row through excelize's stream writer, so that 100,000 records
// and more fit in little memory. The rows above the repeated row are copied
// with their styles, heights and merged cells; the records follow; the rows
// below (totals) are copied moved down, their formulas widened over the
// records. SUM, COUNT and COUNTA totals over one column of the records get
// their value stored with the formula, and so do formulas that read only
// their own row, in the records (rates) and below them (the rate of the
// totals). A sheet with a source in d.Sources takes its records from it,
// one at a time.
func Stream(ctx context.Context, tmpl []byte, d Data, w io.Writer) error {
	f, sheets, err := readTemplate(tmpl)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, ts := range sheets {
		if err := ctx.Err(); err != nil {
			return err
		}
		if ts.marked == 0 {
			if _, _, err := fillSheet(ctx, f, ts, d); err != nil {
				return err
			}
			continue
		}
		count, err := streamSheet(ctx, f, ts, d)
		if err != nil {
			return err
		}
		widenCharts(f, vntext.NFC(ts.name), ts.marked, count, true)
	}
	if err := setFullCalc(f); err != nil {
		return err
	}
	if err := f.Write(w); err != nil {
		return fmt.Errorf("write workbook: %w", err)
	}
	return nil
}

// columnTotals accumulates what SUM, COUNT and COUNTA of one column of the
// records would give.
type columnTotals struct {
	sum      float64
	numbers  int
	nonEmpty int
}

func (t *columnTotals) add(v any) {
	switch v := v.(type) {
	case nil:
		return
	case int:
		t.sum += float64(v)
		t.numbers++
	case int8:
		t.sum += float64(v)
		t.numbers++
	case int16:
		t.sum += float64(v)
		t.numbers++
	case int32:
		t.sum += float64(v)
		t.numbers++
	case int64:
		t.sum += float64(v)
		t.numbers++
	case uint:
		t.sum += float64(v)
		t.numbers++
	case uint8:
		t.sum += float64(v)
		t.numbers++
	case uint16:
		t.sum += float64(v)
		t.numbers++
	case uint32:
		t.sum += float64(v)
		t.numbers++
	case uint64:
		t.sum += float64(v)
		t.numbers++
	case float32:
		t.sum += float64(v)
		t.numbers++
	case float64:
		t.sum += v
		t.numbers++
	case time.Time:
		t.numbers++ // Excel's COUNT counts dates; SUM of dates is meaningless
	case string:
		if v == "" {
			return
		}
	}
	t.nonEmpty++
}

// simpleTotal matches SUM/COUNT/COUNTA over a one-column range.
var simpleTotal = regexp.MustCompile(`^(SUM|COUNT|COUNTA)\(\$?([A-Z]{1,3})\$?([0-9]+):\$?([A-Z]{1,3})\$?([0-9]+)\)$`)

// streamSheet writes one sheet with a repeated row through a stream writer
// and returns the number of record rows.
func streamSheet(ctx context.Context, f *excelize.File, ts *templateSheet, d Data) (int, error) {
	name, m := ts.name, ts.marked
	recs := d.records(name)
	src := d.Sources[name]
	// Rows above are written before the records; with a source their
	// number is not known yet.
	count := max(len(recs), 1)
	merges, err := f.GetMergeCells(name, true)
	if err != nil {
		return 0, fmt.Errorf("read merged cells of %q: %w", name, err)
	}
	heights := make([]float64, len(ts.rows))
	props, err := f.GetSheetProps(name)
	if err != nil {
		return 0, fmt.Errorf("read sheet properties of %q: %w", name, err)
	}
	def := 15.0
	if props.DefaultRowHeight != nil {
		def = *props.DefaultRowHeight
	}
	for r := range ts.rows {
		h, err := f.GetRowHeight(name, r+1)
		if err != nil {
			return 0, fmt.Errorf("read row height of %q: %w", name, err)
		}
		if h != def {
			heights[r] = h
		}
	}
	sheetName := vntext.NFC(name)
	if src != nil {
		if problems := sourceProblems(ts); len(problems) > 0 {
			return 0, vanthu.Invalid("Mẫu Excel không hợp lệ.", problems...)
		}
	}
	rowCalc, err := newRowCalc(ts, m)
	if err != nil {
		return 0, err
	}
	defer rowCalc.close()
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return 0, fmt.Errorf("stream sheet %q: %w", name, err)
	}
	totals := make([]columnTotals, ts.width+1)
	row := make([]any, ts.width)
	cells := make([]excelize.Cell, ts.width)
	writeRow := func(r int, h float64) error {
		cell, _ := excelize.CoordinatesToCellName(1, r)
		if err := sw.SetRow(cell, row, excelize.RowOpts{Height: h}); err != nil {
			return fmt.Errorf("write %s!%s: %w", name, cell, err)
		}
		return nil
	}
	// staticRow writes template row r at row at, its formulas' values
	// computed where they read only their own row and, below the records,
	// where they are simple totals of them.
	staticRow := func(r, at int) error {
		for c, tc := range ts.rows[r-1] {
			cell := staticCell(tc, d, func(fm string) string {
				return widenBlock(fm, sheetName, true, m, count, true)
			})
			if cell.Formula != "" && r > m {
				cell.Value = totalValue(cell.Formula, totals, m, count)
			}
			cells[c] = cell
		}
		calc, err := newRowCalc(ts, r)
		if err != nil {
			return err
		}
		err = calc.compute(cells)
		calc.close()
		if err != nil {
			return err
		}
		for c := range cells {
			row[c] = cells[c]
		}
		return writeRow(at, heights[r-1])
	}
	// Rows above the repeated row.
	for r := 1; r < m; r++ {
		if err := staticRow(r, r); err != nil {
			return 0, err
		}
	}
	// Records.
	tmplRow := ts.rows[m-1]
	written := 0
	record := func(rec map[string]any) error {
		i := written
		if i%1000 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		for c, tc := range tmplRow {
			cell := excelize.Cell{StyleID: tc.style, Value: recordValue(tc, d, rec, i+1)}
			if tc.formula != "" {
				cell.Formula = copyFormula(tc.formula, i)
			}
			cells[c] = cell
		}
		if rec != nil {
			if err := rowCalc.compute(cells); err != nil {
				return err
			}
		}
		for c := range cells {
			// After compute: a total of a formula column sums its values.
			totals[c+1].add(cells[c].Value)
			row[c] = cells[c]
		}
		written++
		return writeRow(m+i, ts.height)
	}
	if src != nil {
		if err := src(ctx, record); err != nil {
			return 0, fmt.Errorf("stream the records of %q: %w", name, err)
		}
	} else {
		for _, rec := range recs {
			if err := record(rec); err != nil {
				return 0, err
			}
		}
	}
	if written == 0 {
		// No record: the repeated row stays, empty, so that the totals
		// below keep a range to sum.
		if err := record(nil); err != nil {
			return 0, err
		}
	}
	count = written
	// Rows below, moved down; simple totals get their value, then the
	// formulas over their own row (a rate of the totals).
	for r := m + 1; r <= len(ts.rows); r++ {
		if err := staticRow(r, r+count-1); err != nil {
			return 0, err
		}
	}
	for _, mc := range merges {
		from, to, ok := moveMerge(mc, m, count)
		if !ok {
			continue
		}
		if err := sw.MergeCell(from, to); err != nil {
			return 0, fmt.Errorf("merge %s:%s in %q: %w", from, to, name, err)
		}
	}
	if err := sw.Flush(); err != nil {
		return 0, fmt.Errorf("flush sheet %q: %w", name, err)
	}
	return count, nil
}

// CheckSources validates the sheets of a template that Stream will feed
// from a RowSource (Data.Sources): the rows above such a sheet's repeated
// row are written before the records, so no formula there may refer to
// them. Like Check, it returns a *vanthu.Error (EInvalid) with one Problem
// per formula, its Field naming the place as "Sheet!A3". Sheets the
// template does not have are ignored.
func CheckSources(tmpl []byte, sheets ...string) error {
	f, all, err := readTemplate(tmpl)
	if err != nil {
		return err
	}
	defer f.Close()
	var problems []vanthu.Problem
	for _, ts := range all {
		if slices.ContainsFunc(sheets, func(s string) bool { return vntext.NFC(s) == vntext.NFC(ts.name) }) {
			problems = append(problems, sourceProblems(ts)...)
		}
	}
	if len(problems) > 0 {
		return vanthu.Invalid("Mẫu Excel không hợp lệ.", problems...)
	}
	return nil
}

// sourceProblems lists the formulas above the repeated row of ts that
// refer to the records, which a RowSource gives only after those rows are
// written.
func sourceProblems(ts *templateSheet) []vanthu.Problem {
	m := ts.marked
	if m == 0 {
		return nil
	}
	sheetName := vntext.NFC(ts.name)
	var problems []vanthu.Problem
	for r := 1; r < m; r++ {
		for _, tc := range ts.rows[r-1] {
			if tc.formula != "" && widenBlock(tc.formula, sheetName, true, m, 1, true) != widenBlock(tc.formula, sheetName, true, m, 2, true) {
				ref, _ := excelize.CoordinatesToCellName(tc.col, r)
				problems = append(problems, vanthu.Problem{
					Field:   ts.name + "!" + ref,
					Message: fmt.Sprintf("công thức nằm trên dòng lặp (dòng %d) nhưng tham chiếu đến các dòng dữ liệu, mà trang này ghi dữ liệu lần lượt nên khi ghi công thức chưa biết có bao nhiêu dòng; hãy chuyển công thức này xuống dòng tổng cộng bên dưới dòng lặp", m),
				})
			}
		}
	}
	return problems
}

// staticCell builds a stream cell from a template cell outside the
// repeated row.
func staticCell(tc templateCell, d Data, formula func(string) string) excelize.Cell {
	cell := excelize.Cell{StyleID: tc.style}
	switch {
	case tc.formula != "":
		cell.Formula = formula(tc.formula)
	case tc.text != nil:
		if s, ok := tc.text.single(); ok {
			v, _ := lookup(s, d, nil, 0)
			cell.Value = typed(v)
		} else {
			cell.Value = render(tc.text, d, nil, 0)
		}
	case tc.value != "":
		cell.Value = vntext.NFC(tc.value)
	}
	return cell
}

// totalValue returns the value of a widened SUM/COUNT/COUNTA over exactly
// the record rows of one column, or nil when the formula is anything else.
func totalValue(formula string, totals []columnTotals, marked, count int) any {
	m := simpleTotal.FindStringSubmatch(formula)
	if m == nil || m[2] != m[4] {
		return nil
	}
	first, _ := strconv.Atoi(m[3])
	last, _ := strconv.Atoi(m[5])
	col, err := excelize.ColumnNameToNumber(m[2])
	if err != nil || first != marked || last != marked+count-1 || col >= len(totals) {
		return nil
	}
	t := totals[col]
	switch m[1] {
	case "SUM":
		return t.sum
	case "COUNT":
		return t.numbers
	default:
		return t.nonEmpty
	}
}

// moveMerge places a merged range of the template in the streamed sheet.
// Ranges touching the repeated row are dropped (not supported).
func moveMerge(mc excelize.MergeCell, marked, count int) (string, string, bool) {
	c1, r1, err1 := excelize.CellNameToCoordinates(mc.GetStartAxis())
	c2, r2, err2 := excelize.CellNameToCoordinates(mc.GetEndAxis())
	if err1 != nil || err2 != nil || r1 <= marked && r2 >= marked {
		return "", "", false
	}
	if r1 > marked {
		r1 += count - 1
		r2 += count - 1
	}
	from, _ := excelize.CoordinatesToCellName(c1, r1)
	to, _ := excelize.CoordinatesToCellName(c2, r2)
	return from, to, true
}
