package templates

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/unicode/norm"

	"github.com/sonoivu/vanthu/internal/render/sheet"
)

// The "inspections" Excel template is the export of the inspection list
// (issue 6, item 6): one row per inspection, filtered by unit, period and
// violation. It is built here, beside the other templates' builders, with
// their helpers (sheets_gen_test.go).

// inspectionsSpec is one row per inspection: its minutes, attendance with
// the presence rate, and what was found.
func inspectionsSpec() sheetSpec {
	sum := func(col string) string { return fmt.Sprintf("SUM(%s5:%s5)", col, col) }
	num := func(header, field, col string) column {
		return column{header: header, width: 11, cell: "{{." + field + "}}", numFmt: "#,##0", total: sum(col)}
	}
	return sheetSpec{
		name:       "Kiểm tra",
		title:      "DANH SÁCH CÁC CUỘC KIỂM TRA KỶ LUẬT, KỶ CƯƠNG HÀNH CHÍNH",
		subtitle:   "{{Filter}} (số liệu tính đến {{AsOf}})",
		totalLabel: "Tổng cộng",
		columns: []column{
			{header: "STT", width: 6, cell: "{{.STT}}", numFmt: "0", total: "COUNT(A5:A5)"},
			{header: "Số biên bản", width: 14, cell: "{{.Number}}", numFmt: "@"},
			{header: "Thời điểm kiểm tra", width: 17, cell: "{{.StartedAt}}", numFmt: dateTime},
			{header: "Đơn vị", width: 32, cell: "{{.Unit}}"},
			{header: "Địa điểm", width: 28, cell: "{{.Place}}"},
			{header: "Hình thức", width: 13, cell: "{{.Form}}"},
			num("Số CBCCVC theo danh sách", "Listed", "G"),
			num("Có mặt", "Present", "H"),
			num("Vắng có lý do", "AbsentExcused", "I"),
			num("Vắng không lý do", "AbsentUnexcused", "J"),
			num("Đi muộn, về sớm", "LateOrEarly", "K"),
			// A value, not a formula, on each row: readers that do not
			// recalculate still see it. The total is a formula over the
			// totals, which Fill computes.
			{header: "Tỷ lệ có mặt", width: 11, cell: "{{.Rate}}", percent: true, total: "IF(G6>0,H6/G6,0)"},
			num("Số người vi phạm", "Violators", "M"),
			{header: "Mã vi phạm", width: 30, cell: "{{.Codes}}"},
			{header: "Trạng thái", width: 13, cell: "{{.State}}"},
			{header: "Phiên bản", width: 9, cell: "{{.Version}}", numFmt: "0"},
		},
	}
}

func buildInspections() (*excelize.File, error) { return newWorkbook(inspectionsSpec()) }

// TestExportInspectionsSheetGenerate rewrites sheets/inspections.xlsx with
// -update; otherwise it checks that the stored template is valid and
// still the one the spec builds, cell for cell.
func TestExportInspectionsSheetGenerate(t *testing.T) {
	path := filepath.Join("sheets", "inspections.xlsx")
	f, err := buildInspections()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := f.SaveAs(path); err != nil {
			t.Fatalf("save %s: %v", path, err)
		}
	}
	stored, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s (run go test ./templates -run TestExportInspectionsSheetGenerate -update): %v", path, err)
	}
	if err := sheet.Check(stored, nil); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	built, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := dumpWorkbook(t, built.Bytes())
	if got, _ := dumpWorkbook(t, stored); got != want {
		t.Errorf("%s is not what inspectionsSpec builds (run go test ./templates -run TestExportInspectionsSheetGenerate -update):\n%s", path, got)
	}
}

// TestExportInspectionsSheetGolden fills the template with its sample,
// compares the cells with the golden dump and checks, reading the
// workbook back, that the totals are the sums of the sample's rows and
// the total presence rate their ratio.
func TestExportInspectionsSheetGolden(t *testing.T) {
	s, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.SheetSample("inspections")
	if err != nil {
		t.Fatal(err)
	}
	recs := d.Rows[""]
	if len(recs) < 3 {
		t.Fatalf("the sample has %d inspections; it should show several units, forms and states", len(recs))
	}
	xlsx, err := s.FillSheet(context.Background(), "inspections", d)
	if err != nil {
		t.Fatal(err)
	}
	dump, f := dumpWorkbook(t, xlsx)
	golden(t, "inspections.xlsx.txt", []byte(dump))
	if !norm.NFC.IsNormalString(dump) {
		t.Error("cells are not NFC")
	}
	const sh = "Kiểm tra"
	row := 5 + len(recs)
	sums := map[string]int64{}
	for _, c := range []struct{ col, field string }{
		{"G", "Listed"}, {"H", "Present"}, {"I", "AbsentExcused"}, {"J", "AbsentUnexcused"}, {"K", "LateOrEarly"}, {"M", "Violators"},
	} {
		for _, r := range recs {
			v, _ := r[c.field].(int64)
			sums[c.field] += v
		}
		got, err := f.CalcCellValue(sh, fmt.Sprint(c.col, row))
		if err != nil {
			t.Fatal(err)
		}
		if got != fmt.Sprint(sums[c.field]) {
			t.Errorf("%s%d = %s, want %d (sum of the sample's %s)", c.col, row, got, sums[c.field], c.field)
		}
	}
	if got, _ := f.CalcCellValue(sh, fmt.Sprint("A", row)); got != fmt.Sprint(len(recs)) {
		t.Errorf("A%d = %s, want %d inspections", row, got, len(recs))
	}
	rate, err := f.CalcCellValue(sh, fmt.Sprint("L", row), excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	var got float64
	if _, err := fmt.Sscan(rate, &got); err != nil {
		t.Fatalf("L%d = %q: %v", row, rate, err)
	}
	if want := float64(sums["Present"]) / float64(sums["Listed"]); got < want-1e-9 || got > want+1e-9 {
		t.Errorf("L%d = %v, want %v (present over listed)", row, got, want)
	}
}
