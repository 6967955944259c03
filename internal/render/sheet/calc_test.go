package sheet

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// TestReadColumns: the memo key of a row's formulas holds every column
// they read; a column left out would hand one row's result to another.
func TestReadColumns(t *testing.T) {
	tests := []struct {
		formula string
		want    []int
	}{
		{"IF(E5>0,F5/E5,0)", []int{5, 6}},
		{"SUM(C5:G5)", []int{3, 4, 5, 6, 7}},
		{"$C$5-D$5", []int{3, 4}},
		{"SUM(G5:C5)+AA5", []int{3, 4, 5, 6, 7, 27}},
		{`IF(H5="Có",1,0)`, []int{8}},
		{"1+2", nil},
		// Text in quotes and function names are not references.
		{`IF(H5="A1",1,0)`, []int{8}},
		{"LOG10(C5)+ATAN2(D5,1)", []int{3, 4}},
		{"c5+d5", []int{3, 4}},
	}
	for _, tt := range tests {
		got := slices.Sorted(maps.Keys(readColumns(tt.formula)))
		if !slices.Equal(got, tt.want) {
			t.Errorf("readColumns(%q) = %v, want %v", tt.formula, got, tt.want)
		}
	}
	for _, f := range []string{"INDIRECT(\"E\"&ROW())", "offset(C5,0,1)", "INDEX(C5:G5,1,2)"} {
		if !indirect.MatchString(f) {
			t.Errorf("%q reads cells its text does not name, yet is memoised", f)
		}
	}
}

// formulaTemplate builds a one-sheet template; a text starting with "="
// is a formula.
func formulaTemplate(t *testing.T, sheet string, cells map[string]string) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		t.Fatal(err)
	}
	for ref, v := range cells {
		var err error
		if strings.HasPrefix(v, "=") {
			err = f.SetCellFormula(sheet, ref, v[1:])
		} else {
			err = f.SetCellStr(sheet, ref, v)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if _, err := f.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestRowFormulaValues: the values stored with the repeated row's formulas
// are those of each record's own copy of the formula, in Fill and Stream,
// where that copy does not read only its own row too.
func TestRowFormulaValues(t *testing.T) {
	const s = "Biểu 1"
	staff := []int{10, 20, 40, 10}
	recs := make([]map[string]any, len(staff))
	total := 0
	for i, n := range staff {
		recs[i] = map[string]any{"Unit": fmt.Sprint("Đơn vị ", i+1), "Staff": n}
		total += n
	}
	d := Data{Values: map[string]any{"Total": total}, Rows: map[string][]map[string]any{s: recs}}
	want := map[string]func(n int) float64{
		"C": func(n int) float64 { return float64(n) / float64(staff[0]) },
		"E": func(n int) float64 { return float64(n) / float64(total) * 100 },
	}
	for _, formulas := range []map[string]string{
		// C5 keeps reading the first record in every copy.
		{"C5": "=B5/B$5"},
		// E5 reads only its own row, but D5, a share of a value above,
		// is not computed per row.
		{"D5": "=B5/$A$2", "E5": "=D5*100"},
	} {
		cells := map[string]string{
			"A2": "{{Total}}", "A4": "Đơn vị", "B4": "Số người",
			"A5": "{{.Unit}}", "B5": "{{.Staff}}",
			"A6": "Tổng cộng", "B6": "=SUM(B5:B5)",
		}
		maps.Copy(cells, formulas)
		tmpl := formulaTemplate(t, s, cells)
		filled, err := Fill(context.Background(), tmpl, d)
		if err != nil {
			t.Fatal(err)
		}
		var streamed bytes.Buffer
		if err := Stream(context.Background(), tmpl, d, &streamed); err != nil {
			t.Fatal(err)
		}
		for name, out := range map[string][]byte{"fill": filled, "stream": streamed.Bytes()} {
			f := openBytes(t, out)
			for col, value := range want {
				if formulas[col+"5"] == "" {
					continue
				}
				for i, n := range staff {
					// Stream may leave a value out, never store a wrong one.
					ref := fmt.Sprint(col, 5+i)
					if v, _ := f.GetCellValue(s, ref, excelize.Options{RawCellValue: true}); name == "fill" || v != "" {
						if got := cached(t, f, s, ref); fmt.Sprintf("%.9f", got) != fmt.Sprintf("%.9f", value(n)) {
							t.Errorf("%s: %s = %v, want %v", name, ref, got, value(n))
						}
					}
				}
			}
		}
	}
}
