package sheet

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/sonoivu/vanthu/internal/vntext"
)

// rowCalc computes the formulas of one template row from the values of
// that same row, for Stream, which never holds the whole sheet: the row is
// written, in its template coordinates, into a scratch workbook of one
// sheet named like the real one, and excelize calculates it there. Only
// formulas that refer to cells of their own row on their own sheet are
// computed (a rate =IF(E5>0,F5/E5,0), a row total =SUM(C5:G5)); anything
// else gets no stored value, since the scratch sheet could not give the
// right one.
type rowCalc struct {
	f      *excelize.File
	sheet  string
	row    int
	cols   []int // 1-based columns whose formula is computed
	values []int // 1-based columns of the other cells the formulas read
	// memo keeps the results by the values the formulas read: excelize
	// parses and evaluates a formula in some 80 µs, and the records of a
	// sheet repeat few distinct inputs (a rate of staff present over
	// staff listed), so 100,000 rows cost a few thousand evaluations.
	memo map[string][]any
}

// maxMemo bounds the results a rowCalc keeps.
const maxMemo = 1 << 16

// indirect matches the functions that read cells named at run time.
var indirect = regexp.MustCompile(`(?i)\b(INDIRECT|OFFSET|INDEX|ROW|COLUMN|CELL)\s*\(`)

// readColumns returns the 1-based columns formula refers to, ranges
// expanded, as rewriteRefs finds its references: text in quotes and
// function names (LOG10) are not references. Cells read through a function
// (INDIRECT) are not named: see indirect.
func readColumns(formula string) map[int]bool {
	cols := map[int]bool{}
	rewriteRefs(formula, func(_ string, r1, r2 *rowRef) {
		first, err := excelize.ColumnNameToNumber(r1.col)
		if err != nil {
			return
		}
		last := first
		if r2 != nil {
			if last, err = excelize.ColumnNameToNumber(r2.col); err != nil {
				last = first
			}
		}
		for c := min(first, last); c <= max(first, last); c++ {
			cols[c] = true
		}
	})
	return cols
}

// newRowCalc prepares the calculation of template row row of ts, or
// returns nil when the row has no formula it can compute.
func newRowCalc(ts *templateSheet, row int) (*rowCalc, error) {
	sheet := vntext.NFC(ts.name)
	rc := &rowCalc{sheet: sheet, row: row}
	read := map[int]bool{}
	everything := false // a formula may read cells its text does not name
	var others []int
	for _, tc := range ts.rows[row-1] {
		if tc.formula != "" && ownRowOnly(tc.formula, sheet, row, row == ts.marked) {
			rc.cols = append(rc.cols, tc.col)
			for c := range readColumns(tc.formula) {
				read[c] = true
			}
			everything = everything || indirect.MatchString(tc.formula)
			continue
		}
		// Other formulas (a total over the records) take part with the
		// value computed for them elsewhere, or as an empty cell.
		others = append(others, tc.col)
	}
	if len(rc.cols) == 0 {
		return nil, nil
	}
	for _, c := range others {
		if read[c] || everything {
			rc.values = append(rc.values, c)
		}
	}
	if !everything {
		rc.memo = map[string][]any{}
	}
	rc.f = excelize.NewFile()
	if err := rc.f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, fmt.Errorf("scratch sheet %q: %w", sheet, err)
	}
	for _, c := range rc.cols {
		ref, _ := excelize.CoordinatesToCellName(c, row)
		if err := rc.f.SetCellFormula(sheet, ref, ts.rows[row-1][c-1].formula); err != nil {
			return nil, fmt.Errorf("scratch formula %s!%s: %w", sheet, ref, err)
		}
	}
	return rc, nil
}

// ownRowOnly reports whether every reference of formula points at row on
// sheet (with or without the sheet prefix). In the repeated row (repeated)
// a reference with an absolute row ($5) does not: each record's copy still
// reads the first record.
func ownRowOnly(formula, sheet string, row int, repeated bool) bool {
	ok := true
	rewriteRefs(formula, func(prefix string, r1, r2 *rowRef) {
		if prefix != "" && vntext.NFC(prefix) != sheet || r1.row != row || r2 != nil && r2.row != row {
			ok = false
		}
		if repeated && (r1.abs || r2 != nil && r2.abs) {
			ok = false
		}
	})
	return ok
}

// readsFormula reports whether the computed formulas read a cell of row
// (the template row rc computes) that holds a formula rc does not compute.
func (rc *rowCalc) readsFormula(row []templateCell) bool {
	if rc == nil {
		return false
	}
	for _, c := range rc.values {
		if row[c-1].formula != "" {
			return true
		}
	}
	return false
}

// compute stores in cells (one per column of the row, 0-based) the value
// of each computed formula, given the values already in cells; none when
// they read a cell with a formula (Formula set) and no value.
func (rc *rowCalc) compute(cells []excelize.Cell) error {
	if rc == nil {
		return nil
	}
	for _, c := range rc.values {
		if cells[c-1].Formula != "" && cells[c-1].Value == nil {
			// A formula read without its value (a COUNTIF total, a share
			// of a total) would count as empty: leave them to the
			// spreadsheet.
			for _, c := range rc.cols {
				cells[c-1].Value = nil
			}
			return nil
		}
	}
	var key strings.Builder
	for _, c := range rc.values {
		fmt.Fprintf(&key, "%T:%v\x00", cells[c-1].Value, cells[c-1].Value)
	}
	if got, ok := rc.memo[key.String()]; ok && rc.memo != nil {
		for i, c := range rc.cols {
			cells[c-1].Value = got[i]
		}
		return nil
	}
	for _, c := range rc.values {
		ref, _ := excelize.CoordinatesToCellName(c, rc.row)
		var err error
		switch v := cells[c-1].Value.(type) {
		case nil:
			err = rc.f.SetCellDefault(rc.sheet, ref, "")
		case string:
			err = rc.f.SetCellStr(rc.sheet, ref, v)
		default:
			err = rc.f.SetCellValue(rc.sheet, ref, v)
		}
		if err != nil {
			return fmt.Errorf("scratch value %s!%s: %w", rc.sheet, ref, err)
		}
	}
	for _, c := range rc.cols {
		ref, _ := excelize.CoordinatesToCellName(c, rc.row)
		v, err := rc.f.CalcCellValue(rc.sheet, ref, excelize.Options{RawCellValue: true})
		if err != nil {
			cells[c-1].Value = nil // unsupported: computed on opening
			continue
		}
		if num, err := strconv.ParseFloat(v, 64); err == nil {
			cells[c-1].Value = num
		} else {
			cells[c-1].Value = nil
		}
	}
	if rc.memo != nil && len(rc.memo) < maxMemo {
		got := make([]any, len(rc.cols))
		for i, c := range rc.cols {
			got[i] = cells[c-1].Value
		}
		rc.memo[key.String()] = got
	}
	return nil
}

// close releases the scratch workbook.
func (rc *rowCalc) close() {
	if rc != nil {
		_ = rc.f.Close()
	}
}
