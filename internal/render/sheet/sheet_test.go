package sheet

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/unicode/norm"

	"github.com/sonoivu/vanthu"
)

func readTemplateFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openBytes(t testing.TB, b []byte) *excelize.File {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("open result: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func cell(t testing.TB, f *excelize.File, sheet, ref string) string {
	t.Helper()
	v, err := f.GetCellValue(sheet, ref)
	if err != nil {
		t.Fatalf("%s!%s: %v", sheet, ref, err)
	}
	return v
}

func formula(t testing.TB, f *excelize.File, sheet, ref string) string {
	t.Helper()
	v, err := f.GetCellFormula(sheet, ref)
	if err != nil {
		t.Fatalf("formula %s!%s: %v", sheet, ref, err)
	}
	return v
}

func calc(t testing.TB, f *excelize.File, sheet, ref string) float64 {
	t.Helper()
	v, err := f.CalcCellValue(sheet, ref, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatalf("calc %s!%s: %v", sheet, ref, err)
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("calc %s!%s = %q: %v", sheet, ref, v, err)
	}
	return n
}

// cached reads the value stored with a formula, as a reader that does not
// recalculate would see it.
func cached(t testing.TB, f *excelize.File, sheet, ref string) float64 {
	t.Helper()
	v, err := f.GetCellValue(sheet, ref, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("cached %s!%s = %q: %v", sheet, ref, v, err)
	}
	return n
}

var hanoi = time.FixedZone("ICT", 7*3600)

// trackingData builds n unit records and the sums a correct workbook must
// show.
type trackingTotals struct{ sent, read, ack, reminders, overdue int }

var injections = []string{`=HYPERLINK("http://evil.example","bấm")`, "+1", "-2", "@x"}

func trackingData(n int) (Data, trackingTotals) {
	var tot trackingTotals
	sent := time.Date(2025, 10, 1, 8, 30, 0, 0, hanoi)
	recs := make([]map[string]any, n)
	for i := range recs {
		rec := map[string]any{
			"Code":      fmt.Sprintf("DV%04d", i+1),
			"Name":      norm.NFD.String(fmt.Sprintf("Ủy ban nhân dân xã Đồng Tiến %d", i+1)),
			"SentAt":    sent,
			"Reminders": i % 4,
			"Overdue":   "Không",
		}
		tot.sent++
		tot.reminders += i % 4
		if i%3 != 0 {
			rec["ReadAt"] = sent.Add(time.Duration(i) * time.Minute)
			tot.read++
		} else {
			rec["ReadAt"] = time.Time{} // not read: empty cell
		}
		if i%2 == 0 {
			rec["AckAt"] = sent.Add(time.Duration(i) * time.Hour)
			tot.ack++
		}
		if i%5 == 0 {
			rec["Overdue"] = "Có"
			tot.overdue++
		}
		if i < len(injections) {
			rec["Note"] = injections[i]
		}
		recs[i] = rec
	}
	return Data{
		Values: map[string]any{"Number": "12/CT-UBND", "Subject": norm.NFD.String("Về việc tăng cường kỷ luật, kỷ cương hành chính")},
		Rows:   map[string][]map[string]any{"": recs},
	}, tot
}

func TestFillTracking(t *testing.T) {
	const n = 1000
	tmpl := readTemplateFile(t, "tracking.xlsx")
	d, tot := trackingData(n)
	out, err := Fill(context.Background(), tmpl, d)
	if err != nil {
		t.Fatal(err)
	}
	f := openBytes(t, out)
	tf := openBytes(t, tmpl)
	const s = "Theo dõi"
	last := 5 + n - 1
	totals := last + 1

	if got := cell(t, f, s, "A1"); got != "BẢNG THEO DÕI TIẾP NHẬN VĂN BẢN" {
		t.Errorf("title = %q", got)
	}
	if got, want := cell(t, f, s, "A2"), "Văn bản số 12/CT-UBND: Về việc tăng cường kỷ luật, kỷ cương hành chính"; got != want || !norm.NFC.IsNormalString(got) {
		t.Errorf("subtitle = %q, want NFC %q", got, want)
	}
	if got := cell(t, f, s, "C4"); got != "Tên đơn vị" {
		t.Errorf("header C4 = %q", got)
	}
	for _, c := range []struct{ ref, want string }{
		{"A5", "1"}, {"B5", "DV0001"}, {"C5", "Ủy ban nhân dân xã Đồng Tiến 1"},
		{"D5", "01/10/2025 08:30"}, {"E5", ""}, {"G6", "1"}, {"H5", "Có"},
		{fmt.Sprintf("A%d", last), "1000"}, {fmt.Sprintf("B%d", last), "DV1000"},
		{fmt.Sprintf("C%d", last), "Ủy ban nhân dân xã Đồng Tiến 1000"},
		{fmt.Sprintf("E%d", last-1), "02/10/2025 01:08"}, // 08:30 + 998 min
		{fmt.Sprintf("E%d", last), ""},                   // unit 1000 has not read it
		{fmt.Sprintf("B%d", totals), "Tổng cộng"},
	} {
		got := cell(t, f, s, c.ref)
		if got != c.want {
			t.Errorf("%s = %q, want %q", c.ref, got, c.want)
		}
		if !norm.NFC.IsNormalString(got) {
			t.Errorf("%s = %q is not NFC", c.ref, got)
		}
	}
	// Dates are real dates, not text.
	if typ, _ := f.GetCellType(s, "D5"); typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString {
		t.Errorf("D5 type = %v, want a number", typ)
	}
	// Styles of the template row on every inserted row.
	for col := 1; col <= 9; col++ {
		ref5, _ := excelize.CoordinatesToCellName(col, 5)
		want, err := tf.GetCellStyle(s, ref5)
		if err != nil || want == 0 {
			t.Fatalf("template style %s: %d, %v", ref5, want, err)
		}
		for _, r := range []int{5, 6, 500, last} {
			ref, _ := excelize.CoordinatesToCellName(col, r)
			if got, _ := f.GetCellStyle(s, ref); got != want {
				t.Errorf("style %s = %d, want %d (template row)", ref, got, want)
			}
		}
		refT, _ := excelize.CoordinatesToCellName(col, 6)
		wantT, _ := tf.GetCellStyle(s, refT)
		refT2, _ := excelize.CoordinatesToCellName(col, totals)
		if got, _ := f.GetCellStyle(s, refT2); got != wantT {
			t.Errorf("totals style %s = %d, want %d", refT2, got, wantT)
		}
	}
	// Totals cover rows 5..1004, compute right, and carry cached values.
	for _, c := range []struct {
		col, fn string
		want    int
	}{
		{"D", "COUNTA(D5:D%d)", tot.sent},
		{"E", "COUNTA(E5:E%d)", tot.read},
		{"F", "COUNTA(F5:F%d)", tot.ack},
		{"G", "SUM(G5:G%d)", tot.reminders},
		{"H", `COUNTIF(H5:H%d,"Có")`, tot.overdue},
	} {
		ref := fmt.Sprintf("%s%d", c.col, totals)
		if got, want := formula(t, f, s, ref), fmt.Sprintf(c.fn, last); got != want {
			t.Errorf("%s formula = %q, want %q", ref, got, want)
		}
		if got := calc(t, f, s, ref); got != float64(c.want) {
			t.Errorf("%s calc = %v, want %d", ref, got, c.want)
		}
		if got := cached(t, f, s, ref); got != float64(c.want) {
			t.Errorf("%s cached = %v, want %d", ref, got, c.want)
		}
	}
	// Text that looks like a formula stays text.
	for i, want := range injections {
		ref := fmt.Sprintf("I%d", 5+i)
		if got := cell(t, f, s, ref); got != want {
			t.Errorf("%s = %q, want %q", ref, got, want)
		}
		if fm := formula(t, f, s, ref); fm != "" {
			t.Errorf("%s has formula %q", ref, fm)
		}
	}
	// Layout survives: merged title, recalculation on open.
	merges, _ := f.GetMergeCells(s)
	var titles bool
	for _, m := range merges {
		titles = titles || m.GetStartAxis() == "A1" && m.GetEndAxis() == "I1"
	}
	if !titles {
		t.Error("title merge A1:I1 lost")
	}
	props, err := f.GetCalcProps()
	if err != nil || props.FullCalcOnLoad == nil || !*props.FullCalcOnLoad {
		t.Errorf("FullCalcOnLoad not set: %+v, %v", props, err)
	}
}

func TestFillAnnexes(t *testing.T) {
	const n = 30
	tmpl := readTemplateFile(t, "annexes.xlsx")
	var b1, b2, b3, b4 []map[string]any
	var staff, present, unexcused, b2total, b3total, received int
	for i := range n {
		st, pr := 20+i, 15+i%6
		staff += st
		present += pr
		unexcused += (st - pr) / 2
		b1 = append(b1, map[string]any{
			"Unit": fmt.Sprintf("Sở %d", i+1), "Date": time.Date(2025, 8, 1+i%28, 0, 0, 0, 0, hanoi),
			"Form": "Đột xuất", "Staff": st, "Present": pr, "AbsentExcused": (st - pr) - (st-pr)/2,
			"AbsentUnexcused": (st - pr) / 2, "Late": i % 3, "Violators": i % 2,
		})
		b2 = append(b2, map[string]any{"Unit": fmt.Sprintf("Sở %d", i+1), "Late": i % 3, "LeftPost": 1, "NoBadge": i % 2, "Alcohol": 0, "Other": 2})
		b2total += i%3 + 1 + i%2 + 2
		b3 = append(b3, map[string]any{"Unit": fmt.Sprintf("Sở %d", i+1), "Reminded": i, "SelfCriticism": 1, "Reprimand": 0, "Warning": 0, "Other": 0})
		b3total += i + 1
		b4 = append(b4, map[string]any{"Unit": fmt.Sprintf("Sở %d", i+1), "Documents": 3, "Received": 3, "Read": 2 + i%2, "Acknowledged": 2, "Overdue": i % 2})
		received += 3
	}
	d := Data{
		Values: map[string]any{"Number": "45/BC-SNV", "Quarter": "III", "Year": 2025},
		Rows:   map[string][]map[string]any{"Biểu 1": b1, "Biểu 2": b2, "Biểu 3": b3, "Biểu 4": b4},
	}
	out, err := Fill(context.Background(), tmpl, d)
	if err != nil {
		t.Fatal(err)
	}
	f := openBytes(t, out)
	last, totals := 5+n-1, 5+n
	if got := f.GetSheetList(); len(got) != 4 {
		t.Fatalf("sheets = %v", got)
	}
	for _, s := range f.GetSheetList() {
		if got := cell(t, f, s, "A2"); !strings.Contains(got, "quý III năm 2025") || !strings.Contains(got, "45/BC-SNV") {
			t.Errorf("%s!A2 = %q", s, got)
		}
		if got := cell(t, f, s, fmt.Sprintf("B%d", last)); got != fmt.Sprintf("Sở %d", n) {
			t.Errorf("%s last unit = %q", s, got)
		}
	}
	checks := []struct {
		sheet, ref, formula string
		want                float64
	}{
		{"Biểu 1", fmt.Sprintf("E%d", totals), fmt.Sprintf("SUM(E5:E%d)", last), float64(staff)},
		{"Biểu 1", fmt.Sprintf("F%d", totals), fmt.Sprintf("SUM(F5:F%d)", last), float64(present)},
		{"Biểu 1", fmt.Sprintf("H%d", totals), fmt.Sprintf("SUM(H5:H%d)", last), float64(unexcused)},
		{"Biểu 1", fmt.Sprintf("K%d", totals), fmt.Sprintf("IF(E%d>0,F%d/E%d,0)", totals, totals, totals), float64(present) / float64(staff)},
		{"Biểu 1", fmt.Sprintf("K%d", last), fmt.Sprintf("IF(E%d>0,F%d/E%d,0)", last, last, last), float64(15+(n-1)%6) / float64(20+n-1)},
		{"Biểu 2", "H6", "SUM(C6:G6)", float64(1%3 + 1 + 1%2 + 2)},
		{"Biểu 2", fmt.Sprintf("H%d", totals), fmt.Sprintf("SUM(H5:H%d)", last), float64(b2total)},
		{"Biểu 3", fmt.Sprintf("H%d", totals), fmt.Sprintf("SUM(H5:H%d)", last), float64(b3total)},
		{"Biểu 4", fmt.Sprintf("D%d", totals), fmt.Sprintf("SUM(D5:D%d)", last), float64(received)},
	}
	for _, c := range checks {
		if got := formula(t, f, c.sheet, c.ref); got != c.formula {
			t.Errorf("%s!%s formula = %q, want %q", c.sheet, c.ref, got, c.formula)
		}
		if got := calc(t, f, c.sheet, c.ref); fmt.Sprintf("%.9f", got) != fmt.Sprintf("%.9f", c.want) {
			t.Errorf("%s!%s = %v, want %v", c.sheet, c.ref, got, c.want)
		}
	}
	// Totals rows (not per-unit formulas) carry their value.
	if got := cached(t, f, "Biểu 2", fmt.Sprintf("H%d", totals)); got != float64(b2total) {
		t.Errorf("Biểu 2 cached total = %v, want %d", got, b2total)
	}

	// The chart's series cover every unit.
	chart := chartXML(t, out)
	for _, want := range []string{
		fmt.Sprintf("'Biểu 1'!$B$5:$B$%d", last),
		fmt.Sprintf("'Biểu 1'!$F$5:$F$%d", last),
		fmt.Sprintf("'Biểu 1'!$H$5:$H$%d", last),
		"'Biểu 1'!$F$4",
	} {
		if !strings.Contains(chart, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	if strings.Contains(chart, "$F$5:$F$5<") {
		t.Error("chart still refers to the template row only")
	}
}

// chartXML returns the unescaped text of the workbook's chart parts.
func chartXML(t *testing.T, xlsx []byte) string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(xlsx), int64(len(xlsx)))
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, zf := range zr.File {
		if !strings.HasPrefix(zf.Name, "xl/charts/chart") {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		all.WriteString(strings.ReplaceAll(string(b), "&#39;", "'"))
	}
	if all.Len() == 0 {
		t.Fatal("no chart part in the workbook")
	}
	return all.String()
}

func TestFillEdgeCases(t *testing.T) {
	tmpl := readTemplateFile(t, "tracking.xlsx")
	const s = "Theo dõi"
	tests := []struct {
		name  string
		data  Data
		check func(t *testing.T, f *excelize.File)
	}{
		{
			name: "no records keeps one blank row and zero totals",
			data: Data{Values: map[string]any{"Number": "1/TB"}},
			check: func(t *testing.T, f *excelize.File) {
				if got := cell(t, f, s, "B5"); got != "" {
					t.Errorf("B5 = %q, want empty", got)
				}
				if got := formula(t, f, s, "G6"); got != "SUM(G5:G5)" {
					t.Errorf("G6 = %q", got)
				}
				if got := calc(t, f, s, "G6"); got != 0 {
					t.Errorf("G6 = %v", got)
				}
				if got := cell(t, f, s, "A2"); got != "Văn bản số 1/TB: " {
					t.Errorf("missing value: A2 = %q", got)
				}
			},
		},
		{
			name: "sheet-specific rows win over the default",
			data: Data{Rows: map[string][]map[string]any{
				"": {{"Code": "X"}},
				s:  {{"Code": "A", "STT": "1a"}, {"Code": "B"}},
			}},
			check: func(t *testing.T, f *excelize.File) {
				for ref, want := range map[string]string{"B5": "A", "B6": "B", "A5": "1a", "A6": "2", "B7": "Tổng cộng"} {
					if got := cell(t, f, s, ref); got != want {
						t.Errorf("%s = %q, want %q", ref, got, want)
					}
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Fill(context.Background(), tmpl, tt.data)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, openBytes(t, out))
		})
	}
}

// newTemplate builds a one-sheet template from cell texts.
func newTemplate(t *testing.T, sheet string, cells map[string]string) []byte {
	t.Helper()
	f := excelize.NewFile()
	if sheet != "Sheet1" {
		if err := f.SetSheetName("Sheet1", sheet); err != nil {
			t.Fatal(err)
		}
	}
	for ref, v := range cells {
		if err := f.SetCellStr(sheet, ref, v); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCheck(t *testing.T) {
	known := map[string]bool{"Number": true, "Subject": true, ".Code": true, "Name": true}
	tests := []struct {
		name  string
		cells map[string]string
		want  []string // Problem.Field + ": " + part of the message; nil = valid
	}{
		{"valid", map[string]string{"A1": "Số {{Number}}", "B3": "{{ Subject }}", "A5": "{{.STT}}", "B5": "{{.Code}}", "C5": "{{.Name}}"}, nil},
		{"unclosed", map[string]string{"B3": "Về việc {{Subject"}, []string{"Theo dõi!B3: dấu \"{{Subject\" chưa được đóng"}},
		{"unclosed before next", map[string]string{"C2": "{{Number {{Subject}}"}, []string{"Theo dõi!C2: dấu"}},
		{"unknown name", map[string]string{"B3": "{{Subjct}}"}, []string{`Theo dõi!B3: trường "{{Subjct}}" không có`}},
		{"unknown field", map[string]string{"D5": "{{.Cod}}"}, []string{`Theo dõi!D5: trường "{{.Cod}}" không có`}},
		{"bad name", map[string]string{"A1": "{{Họ tên}}"}, []string{`Theo dõi!A1: trường "{{Họ tên}}" không hợp lệ`}},
		{"two repeated rows", map[string]string{"B5": "{{.Code}}", "B8": "{{.Code}}"}, []string{"Theo dõi!B8: mỗi trang chỉ được có một dòng lặp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(newTemplate(t, "Theo dõi", tt.cells), known)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			var ve *vanthu.Error
			if !errors.As(err, &ve) || ve.Code != vanthu.EInvalid {
				t.Fatalf("Check = %v, want EInvalid", err)
			}
			if len(ve.Problems) != len(tt.want) {
				t.Fatalf("problems = %+v, want %d", ve.Problems, len(tt.want))
			}
			for i, want := range tt.want {
				if got := ve.Problems[i].Field + ": " + ve.Problems[i].Message; !strings.HasPrefix(got, want) {
					t.Errorf("problem %d = %q, want prefix %q", i, got, want)
				}
			}
		})
	}
	// Fill refuses a broken template instead of writing half a workbook.
	_, err := Fill(context.Background(), newTemplate(t, "Theo dõi", map[string]string{"A1": "{{Number"}), Data{})
	if vanthu.ErrorCodeOf(err) != vanthu.EInvalid {
		t.Errorf("Fill(broken) = %v, want EInvalid", err)
	}
	if err := Check([]byte("not a zip"), nil); vanthu.ErrorCodeOf(err) != vanthu.EInvalid {
		t.Errorf("Check(garbage) = %v, want EInvalid", err)
	}
}

// peakHeap samples HeapAlloc until stop is closed and returns the peak.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	res := make(chan uint64, 1)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-stop:
				res <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return res
}

// streamTracking streams n tracking records and logs size and peak heap.
func streamTracking(t *testing.T, n int) ([]byte, trackingTotals) {
	t.Helper()
	d, tot := trackingData(n)
	stop := make(chan struct{})
	peak := peakHeap(stop)
	var out bytes.Buffer
	if err := Stream(context.Background(), readTemplateFile(t, "tracking.xlsx"), d, &out); err != nil {
		t.Fatal(err)
	}
	close(stop)
	t.Logf("stream %d rows: %d bytes, peak HeapAlloc %.1f MB (records included)", n, out.Len(), float64(<-peak)/1e6)
	return out.Bytes(), tot
}

// TestStream checks a streamed workbook cell by cell through excelize's
// worksheet API, which loads the whole sheet: hence a moderate size.
func TestStream(t *testing.T) {
	const n = 5_000
	out, tot := streamTracking(t, n)
	f := openBytes(t, out)
	const s = "Theo dõi"
	last, totals := 4+n, 5+n
	for _, c := range []struct{ ref, want string }{
		{"A1", "BẢNG THEO DÕI TIẾP NHẬN VĂN BẢN"},
		{"A2", "Văn bản số 12/CT-UBND: Về việc tăng cường kỷ luật, kỷ cương hành chính"},
		{"C4", "Tên đơn vị"},
		{"A5", "1"},
		{"D5", "01/10/2025 08:30"},
		{fmt.Sprintf("B%d", last), fmt.Sprintf("DV%04d", n)},
		{fmt.Sprintf("C%d", last), fmt.Sprintf("Ủy ban nhân dân xã Đồng Tiến %d", n)},
		{fmt.Sprintf("B%d", totals), "Tổng cộng"},
	} {
		if got := cell(t, f, s, c.ref); got != c.want {
			t.Errorf("%s = %q, want %q", c.ref, got, c.want)
		}
	}
	if got, want := formula(t, f, s, fmt.Sprintf("G%d", totals)), fmt.Sprintf("SUM(G5:G%d)", last); got != want {
		t.Errorf("totals formula = %q, want %q", got, want)
	}
	if got := cached(t, f, s, fmt.Sprintf("G%d", totals)); got != float64(tot.reminders) {
		t.Errorf("cached reminders = %v, want %d", got, tot.reminders)
	}
	if got := calc(t, f, s, fmt.Sprintf("G%d", totals)); got != float64(tot.reminders) {
		t.Errorf("calc reminders = %v, want %d", got, tot.reminders)
	}
	if got := cached(t, f, s, fmt.Sprintf("D%d", totals)); got != float64(tot.sent) {
		t.Errorf("cached sent = %v, want %d", got, tot.sent)
	}
	if got, want := formula(t, f, s, fmt.Sprintf("H%d", totals)), fmt.Sprintf(`COUNTIF(H5:H%d,"Có")`, last); got != want {
		t.Errorf("COUNTIF formula = %q, want %q", got, want)
	}
	if got := calc(t, f, s, fmt.Sprintf("H%d", totals)); got != float64(tot.overdue) {
		t.Errorf("calc overdue = %v, want %d", got, tot.overdue)
	}
	for i, want := range injections {
		ref := fmt.Sprintf("I%d", 5+i)
		if got := cell(t, f, s, ref); got != want {
			t.Errorf("%s = %q, want %q", ref, got, want)
		}
		if fm := formula(t, f, s, ref); fm != "" {
			t.Errorf("%s has formula %q", ref, fm)
		}
	}
	tf := openBytes(t, readTemplateFile(t, "tracking.xlsx"))
	for _, col := range []string{"A", "C", "D", "G", "I"} {
		want, _ := tf.GetCellStyle(s, col+"5")
		got, _ := f.GetCellStyle(s, fmt.Sprintf("%s%d", col, last))
		if want == 0 || got != want {
			t.Errorf("style %s%d = %d, want %d", col, last, got, want)
		}
		want, _ = tf.GetCellStyle(s, col+"6")
		if got, _ := f.GetCellStyle(s, fmt.Sprintf("%s%d", col, totals)); got != want {
			t.Errorf("totals style %s%d = %d, want %d", col, totals, got, want)
		}
	}
	merges, _ := f.GetMergeCells(s)
	if len(merges) == 0 || merges[0].GetStartAxis() != "A1" || merges[0].GetEndAxis() != "I1" {
		t.Errorf("merges = %v", merges)
	}
	props, err := f.GetCalcProps()
	if err != nil || props.FullCalcOnLoad == nil || !*props.FullCalcOnLoad {
		t.Errorf("FullCalcOnLoad not set: %+v, %v", props, err)
	}
}

// TestStream100k streams 100,000 records and reads them back with the row
// iterator; the totals row is checked in the sheet XML, as a reader that
// does not recalculate sees it.
func TestStream100k(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 rows")
	}
	const n = 100_000
	out, tot := streamTracking(t, n)
	f := openBytes(t, out)
	const s = "Theo dõi"
	rows, err := f.Rows(s)
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	var first, lastRecord, totalsRow []string
	for rows.Next() {
		// Raw values: formatting 300,000 dates would dominate the test.
		cols, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		count++
		switch count {
		case 5:
			first = cols
		case 4 + n:
			lastRecord = cols
		case 5 + n:
			totalsRow = cols
		}
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if want := 4 + n + 1; count != want {
		t.Fatalf("rows = %d, want %d", count, want)
	}
	if len(first) < 2 || first[0] != "1" || first[1] != "DV0001" {
		t.Errorf("first record = %q", first)
	}
	if len(lastRecord) < 7 || lastRecord[0] != fmt.Sprint(n) || lastRecord[1] != fmt.Sprintf("DV%04d", n) ||
		lastRecord[2] != fmt.Sprintf("Ủy ban nhân dân xã Đồng Tiến %d", n) || lastRecord[6] != fmt.Sprint((n-1)%4) {
		t.Errorf("last record = %q", lastRecord)
	}
	if len(totalsRow) < 7 || totalsRow[1] != "Tổng cộng" || totalsRow[6] != fmt.Sprint(tot.reminders) || totalsRow[3] != fmt.Sprint(tot.sent) {
		t.Errorf("totals row = %q, want sent %d, reminders %d", totalsRow, tot.sent, tot.reminders)
	}
	xmlText := worksheetsXML(t, out)
	want := fmt.Sprintf(`<f>SUM(G5:G%d)</f><v>%d</v>`, 4+n, tot.reminders)
	if !strings.Contains(xmlText, want) {
		t.Errorf("sheet XML lacks %s", want)
	}
}

// worksheetsXML returns the worksheet parts of a workbook, concatenated.
func worksheetsXML(t *testing.T, xlsx []byte) string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(xlsx), int64(len(xlsx)))
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, zf := range zr.File {
		if !strings.HasPrefix(zf.Name, "xl/worksheets/sheet") {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	return all.String()
}

func TestStreamCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d, _ := trackingData(10)
	if err := Stream(ctx, readTemplateFile(t, "tracking.xlsx"), d, io.Discard); !errors.Is(err, context.Canceled) {
		t.Errorf("Stream = %v, want context.Canceled", err)
	}
}

func reportMem(b *testing.B) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.Sys)/1e6, "MB-sys")
}

func BenchmarkTracking1000(b *testing.B) {
	tmpl := readTemplateFile(b, "tracking.xlsx")
	d, _ := trackingData(1000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Fill(context.Background(), tmpl, d); err != nil {
			b.Fatal(err)
		}
	}
	reportMem(b)
}

func BenchmarkStream100k(b *testing.B) {
	tmpl := readTemplateFile(b, "tracking.xlsx")
	d, _ := trackingData(100_000)
	b.ReportAllocs()
	for b.Loop() {
		if err := Stream(context.Background(), tmpl, d, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	reportMem(b)
}
