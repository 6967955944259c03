package sheet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/sonoivu/vanthu"
)

// rateTemplate is a small template: a repeated row with a rate and a row
// total, a totals row with sums, the rate of the totals and a COUNTIF.
// above, when not empty, is a formula put in A3.
func rateTemplate(t *testing.T, above string) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	const s = "Biểu 1"
	if err := f.SetSheetName("Sheet1", s); err != nil {
		t.Fatal(err)
	}
	set := func(ref string, v string) {
		t.Helper()
		var err error
		if strings.HasPrefix(v, "=") {
			err = f.SetCellFormula(s, ref, v[1:])
		} else {
			err = f.SetCellStr(s, ref, v)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	set("A1", "Kết quả {{Quarter}}")
	if above != "" {
		set("A3", above)
	}
	for ref, v := range map[string]string{
		"A4": "STT", "B4": "Đơn vị", "C4": "Số người", "D4": "Có mặt", "E4": "Tỷ lệ", "F4": "Vắng", "G4": "Ghi chú",
		"A5": "{{.STT}}", "B5": "{{.Unit}}", "C5": "{{.Staff}}", "D5": "{{.Present}}", "E5": "=IF(C5>0,D5/C5,0)", "F5": "=C5-D5", "G5": "{{.Note}}",
		"B6": "Tổng cộng", "C6": "=SUM(C5:C5)", "D6": "=SUM(D5:D5)", "E6": "=IF(C6>0,D6/C6,0)", "F6": "=SUM(F5:F5)", "G6": `=COUNTIF(G5:G5,"x")`,
	} {
		set(ref, v)
	}
	var b bytes.Buffer
	if _, err := f.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func rateRecords(n int) ([]map[string]any, int, int) {
	recs := make([]map[string]any, n)
	staff, present := 0, 0
	for i := range recs {
		st, pr := 10+i%7, 9+i%7-i%3
		staff += st
		present += pr
		note := ""
		if i%4 == 0 {
			note = "x"
		}
		recs[i] = map[string]any{"Unit": fmt.Sprintf("Đơn vị %d", i+1), "Staff": st, "Present": pr, "Note": note}
	}
	return recs, staff, present
}

// source feeds recs one at a time through one reused map, as a database
// cursor would.
func source(recs []map[string]any) RowSource {
	return func(ctx context.Context, yield func(map[string]any) error) error {
		m := map[string]any{}
		for _, r := range recs {
			clear(m)
			for k, v := range r {
				m[k] = v
			}
			if err := yield(m); err != nil {
				return err
			}
		}
		return nil
	}
}

// dump lists every cell as value or formula with its stored value.
func dump(t *testing.T, xlsx []byte) string {
	t.Helper()
	f := openBytes(t, xlsx)
	var b strings.Builder
	for _, sh := range f.GetSheetList() {
		rows, err := f.GetRows(sh, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		for r, row := range rows {
			for c, v := range row {
				ref, _ := excelize.CoordinatesToCellName(c+1, r+1)
				fm, _ := f.GetCellFormula(sh, ref)
				if fm != "" || v != "" {
					fmt.Fprintf(&b, "%s %s=%s|%s\n", sh, ref, fm, v)
				}
			}
		}
	}
	return b.String()
}

func TestStreamSourceAndCachedRates(t *testing.T) {
	const n = 1500
	tmpl := rateTemplate(t, "")
	recs, staff, present := rateRecords(n)
	values := map[string]any{"Quarter": "IV"}
	var fromRows, fromSource bytes.Buffer
	if err := Stream(context.Background(), tmpl, Data{Values: values, Rows: map[string][]map[string]any{"Biểu 1": recs}}, &fromRows); err != nil {
		t.Fatal(err)
	}
	if err := Stream(context.Background(), tmpl, Data{Values: values, Sources: map[string]RowSource{"Biểu 1": source(recs)}}, &fromSource); err != nil {
		t.Fatal(err)
	}
	got := dump(t, fromSource.Bytes())
	if got != dump(t, fromRows.Bytes()) {
		t.Fatal("a sheet fed by a source differs from the same records in Rows")
	}
	filled, err := Fill(context.Background(), tmpl, Data{Values: values, Sources: map[string]RowSource{"Biểu 1": source(recs)}})
	if err != nil {
		t.Fatal(err)
	}

	last, tot := 4+n, 5+n
	for name, out := range map[string][]byte{"stream": fromSource.Bytes(), "fill": filled} {
		t.Run(name, func(t *testing.T) {
			f := openBytes(t, out)
			const s = "Biểu 1"
			if got := cell(t, f, s, fmt.Sprint("B", last)); got != fmt.Sprintf("Đơn vị %d", n) {
				t.Errorf("last unit = %q", got)
			}
			// Every rate and row difference carries its value, as a
			// reader that does not recalculate sees it.
			for i, r := range recs {
				row := 5 + i
				st, pr := r["Staff"].(int), r["Present"].(int)
				if got, want := cached(t, f, s, fmt.Sprint("E", row)), float64(pr)/float64(st); fmt.Sprintf("%.12f", got) != fmt.Sprintf("%.12f", want) {
					t.Fatalf("E%d cached = %v, want %v", row, got, want)
				}
				if got := cached(t, f, s, fmt.Sprint("F", row)); got != float64(st-pr) {
					t.Fatalf("F%d cached = %v, want %d", row, got, st-pr)
				}
			}
			if got := formula(t, f, s, fmt.Sprint("E", last)); got != fmt.Sprintf("IF(C%d>0,D%d/C%d,0)", last, last, last) {
				t.Errorf("last rate formula = %q", got)
			}
			if got := cached(t, f, s, fmt.Sprint("C", tot)); got != float64(staff) {
				t.Errorf("total staff = %v, want %d", got, staff)
			}
			if got, want := cached(t, f, s, fmt.Sprint("E", tot)), float64(present)/float64(staff); fmt.Sprintf("%.12f", got) != fmt.Sprintf("%.12f", want) {
				t.Errorf("rate of the totals = %v, want %v", got, want)
			}
			if got := cached(t, f, s, fmt.Sprint("F", tot)); got != float64(staff-present) {
				t.Errorf("total absent = %v, want %d", got, staff-present)
			}
		})
	}
	// Stream leaves the COUNTIF to the spreadsheet rather than store a
	// wrong value.
	if strings.Contains(got, fmt.Sprintf(`COUNTIF(G5:G%d,"x")|0`, last)) {
		t.Error("COUNTIF got a value computed from one row")
	}
}

func TestStreamSourceEdges(t *testing.T) {
	recs, _, _ := rateRecords(3)
	t.Run("formula above the records", func(t *testing.T) {
		tmpl := rateTemplate(t, "=SUM(C5:C5)")
		// A template mistake: EInvalid, so that the report worker does
		// not retry it, naming the cell like Check, the same when the
		// template is loaded (CheckSources).
		err := Stream(context.Background(), tmpl, Data{Sources: map[string]RowSource{"Biểu 1": source(recs)}}, &bytes.Buffer{})
		for name, err := range map[string]error{"Stream": err, "CheckSources": CheckSources(tmpl, "Biểu 1")} {
			var ve *vanthu.Error
			if !errors.As(err, &ve) || ve.Code != vanthu.EInvalid || vanthu.Retryable(vanthu.ErrorCodeOf(err)) {
				t.Fatalf("%s = %v, want EInvalid", name, err)
			}
			if len(ve.Problems) != 1 || ve.Problems[0].Field != "Biểu 1!A3" || !strings.Contains(ve.Problems[0].Message, "dòng tổng cộng") {
				t.Errorf("%s problems = %+v, want one naming Biểu 1!A3 and the totals row", name, ve.Problems)
			}
		}
		if err := CheckSources(tmpl, "Biểu 2"); err != nil {
			t.Errorf("CheckSources of a sheet fed by Rows = %v", err)
		}
		if err := CheckSources(rateTemplate(t, ""), "Biểu 1"); err != nil {
			t.Errorf("CheckSources of a template without formulas above = %v", err)
		}
		// With Rows the count is known and the formula is widened.
		var b bytes.Buffer
		if err := Stream(context.Background(), tmpl, Data{Rows: map[string][]map[string]any{"Biểu 1": recs}}, &b); err != nil {
			t.Fatal(err)
		}
		if got := formula(t, openBytes(t, b.Bytes()), "Biểu 1", "A3"); got != "SUM(C5:C7)" {
			t.Errorf("A3 = %q", got)
		}
	})
	t.Run("source error", func(t *testing.T) {
		boom := errors.New("cursor lost")
		src := func(ctx context.Context, yield func(map[string]any) error) error {
			if err := yield(recs[0]); err != nil {
				return err
			}
			return boom
		}
		err := Stream(context.Background(), rateTemplate(t, ""), Data{Sources: map[string]RowSource{"Biểu 1": src}}, &bytes.Buffer{})
		if !errors.Is(err, boom) {
			t.Errorf("err = %v, want the source's error", err)
		}
	})
	t.Run("cancelled while streaming", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		many, _, _ := rateRecords(3000)
		src := func(ctx context.Context, yield func(map[string]any) error) error {
			for i, r := range many {
				if i == 1500 {
					cancel()
				}
				if err := yield(r); err != nil {
					return err
				}
			}
			return nil
		}
		err := Stream(ctx, rateTemplate(t, ""), Data{Sources: map[string]RowSource{"Biểu 1": src}}, &bytes.Buffer{})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("no records", func(t *testing.T) {
		empty := func(context.Context, func(map[string]any) error) error { return nil }
		var b bytes.Buffer
		if err := Stream(context.Background(), rateTemplate(t, ""), Data{Sources: map[string]RowSource{"Biểu 1": empty}}, &b); err != nil {
			t.Fatal(err)
		}
		f := openBytes(t, b.Bytes())
		if got := cell(t, f, "Biểu 1", "B6"); got != "Tổng cộng" {
			t.Errorf("B6 = %q, want the totals right after one empty row", got)
		}
		if got := cached(t, f, "Biểu 1", "C6"); got != 0 {
			t.Errorf("C6 = %v, want 0", got)
		}
		if got := cached(t, f, "Biểu 1", "E6"); got != 0 {
			t.Errorf("E6 = %v, want 0", got)
		}
	})
}
