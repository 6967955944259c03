package templates

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/sonoivu/vanthu/internal/render/sheet"
)

var update = flag.Bool("update", false, "regenerate the .xlsx templates in sheets/ and the golden files in testdata/")

// column describes one column of a generated template.
type column struct {
	header  string
	width   float64
	cell    string // repeated-row content: "{{.Field}}" or "=formula"
	numFmt  string // custom number format of the repeated row, "" for text
	total   string // totals-row formula, "" for none
	percent bool
}

// sheetSpec describes one generated template sheet.
type sheetSpec struct {
	name, title, subtitle string
	columns               []column
	totalLabel            string // written in column B of the totals row
}

// The generated sheets all share one layout: title (row 1), subtitle (row
// 2), header (row 4), repeated row (row 5), totals (row 6).
const (
	specHeaderRow = 4
	specMarkedRow = 5
	specTotalsRow = 6
)

func border() []excelize.Border {
	var b []excelize.Border
	for _, side := range []string{"left", "right", "top", "bottom"} {
		b = append(b, excelize.Border{Type: side, Color: "000000", Style: 1})
	}
	return b
}

func buildSheet(f *excelize.File, s sheetSpec) error {
	if _, err := f.NewSheet(s.name); err != nil {
		return err
	}
	last, _ := excelize.ColumnNumberToName(len(s.columns))
	title, err := f.NewStyle(&excelize.Style{
		Font:      &excelize.Font{Bold: true, Size: 14, Family: "Times New Roman"},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true},
	})
	if err != nil {
		return err
	}
	subtitle, err := f.NewStyle(&excelize.Style{
		Font:      &excelize.Font{Italic: true, Size: 12, Family: "Times New Roman"},
		Alignment: &excelize.Alignment{Horizontal: "center", WrapText: true},
	})
	if err != nil {
		return err
	}
	header, err := f.NewStyle(&excelize.Style{
		Border:    border(),
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9E1F2"}},
		Font:      &excelize.Font{Bold: true, Size: 12, Family: "Times New Roman"},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true},
	})
	if err != nil {
		return err
	}
	for _, cell := range []struct {
		ref, text string
		style     int
	}{{"A1", s.title, title}, {"A2", s.subtitle, subtitle}} {
		if err := f.SetCellStr(s.name, cell.ref, cell.text); err != nil {
			return err
		}
		end := last + cell.ref[1:]
		if err := f.MergeCell(s.name, cell.ref, end); err != nil {
			return err
		}
		if err := f.SetCellStyle(s.name, cell.ref, end, cell.style); err != nil {
			return err
		}
	}
	if err := f.SetRowHeight(s.name, 1, 36); err != nil {
		return err
	}
	if err := f.SetRowHeight(s.name, specHeaderRow, 45); err != nil {
		return err
	}
	for i, c := range s.columns {
		col, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetColWidth(s.name, col, col, c.width); err != nil {
			return err
		}
		ref := fmt.Sprintf("%s%d", col, specHeaderRow)
		if err := f.SetCellStr(s.name, ref, c.header); err != nil {
			return err
		}
		if err := f.SetCellStyle(s.name, ref, ref, header); err != nil {
			return err
		}
		body := &excelize.Style{
			Border:    border(),
			Font:      &excelize.Font{Size: 12, Family: "Times New Roman"},
			Alignment: &excelize.Alignment{Vertical: "center", WrapText: true},
		}
		if c.numFmt != "" {
			body.CustomNumFmt = &c.numFmt
			body.Alignment.Horizontal = "center"
		}
		if c.percent {
			body.NumFmt = 10 // 0.00%
			body.Alignment.Horizontal = "center"
		}
		bodyStyle, err := f.NewStyle(body)
		if err != nil {
			return err
		}
		ref = fmt.Sprintf("%s%d", col, specMarkedRow)
		if len(c.cell) > 0 && c.cell[0] == '=' {
			err = f.SetCellFormula(s.name, ref, c.cell[1:])
		} else {
			err = f.SetCellStr(s.name, ref, c.cell)
		}
		if err != nil {
			return err
		}
		if err := f.SetCellStyle(s.name, ref, ref, bodyStyle); err != nil {
			return err
		}
		body.Font.Bold = true
		if strings.HasPrefix(c.total, "COUNT") {
			// A count under a date or text column is a plain number, not
			// "10/01/1900".
			count := "#,##0"
			body.CustomNumFmt = &count
		}
		totalStyle, err := f.NewStyle(body)
		if err != nil {
			return err
		}
		ref = fmt.Sprintf("%s%d", col, specTotalsRow)
		switch {
		case c.total != "":
			err = f.SetCellFormula(s.name, ref, c.total)
		case i == 1:
			err = f.SetCellStr(s.name, ref, s.totalLabel)
		}
		if err != nil {
			return err
		}
		if err := f.SetCellStyle(s.name, ref, ref, totalStyle); err != nil {
			return err
		}
	}
	return f.SetPanes(s.name, &excelize.Panes{Freeze: true, YSplit: specHeaderRow, TopLeftCell: fmt.Sprintf("A%d", specMarkedRow), ActivePane: "bottomLeft"})
}

// newWorkbook builds a workbook from sheet specs, dropping the default sheet.
func newWorkbook(specs ...sheetSpec) (*excelize.File, error) {
	f := excelize.NewFile()
	for _, s := range specs {
		if err := buildSheet(f, s); err != nil {
			return nil, fmt.Errorf("sheet %q: %w", s.name, err)
		}
	}
	if err := f.DeleteSheet("Sheet1"); err != nil {
		return nil, err
	}
	f.SetActiveSheet(0)
	return f, nil
}

const dateTime = "dd/mm/yyyy hh:mm"

func trackingSpec() sheetSpec {
	return sheetSpec{
		name:       "Theo dõi",
		title:      "BẢNG THEO DÕI TIẾP NHẬN VĂN BẢN",
		subtitle:   "Văn bản số {{Number}}: {{Subject}}",
		totalLabel: "Tổng cộng",
		columns: []column{
			{header: "STT", width: 6, cell: "{{.STT}}", numFmt: "0"},
			{header: "Mã đơn vị", width: 12, cell: "{{.Code}}"},
			{header: "Tên đơn vị", width: 40, cell: "{{.Name}}"},
			{header: "Gửi lúc", width: 17, cell: "{{.SentAt}}", numFmt: dateTime, total: "COUNTA(D5:D5)"},
			{header: "Đọc lúc", width: 17, cell: "{{.ReadAt}}", numFmt: dateTime, total: "COUNTA(E5:E5)"},
			{header: "Xác nhận lúc", width: 17, cell: "{{.AckAt}}", numFmt: dateTime, total: "COUNTA(F5:F5)"},
			{header: "Số lần đôn đốc", width: 10, cell: "{{.Reminders}}", numFmt: "0", total: "SUM(G5:G5)"},
			{header: "Quá hạn (Có/Không)", width: 11, cell: "{{.Overdue}}", numFmt: "@", total: `COUNTIF(H5:H5,"Có")`},
			{header: "Ghi chú", width: 30, cell: "{{.Note}}"},
		},
	}
}

func findingsSpec() sheetSpec {
	return sheetSpec{
		name:       "Vi phạm",
		title:      "DANH SÁCH CÁN BỘ, CÔNG CHỨC, VIÊN CHỨC VI PHẠM KỶ LUẬT, KỶ CƯƠNG HÀNH CHÍNH",
		subtitle:   "Kèm theo biên bản kiểm tra số {{Number}} ngày {{Date}}",
		totalLabel: "Tổng số người vi phạm",
		columns: []column{
			{header: "STT", width: 6, cell: "{{.STT}}", numFmt: "0", total: "COUNT(A5:A5)"},
			{header: "Họ và tên", width: 26, cell: "{{.FullName}}"},
			{header: "Chức vụ", width: 20, cell: "{{.Position}}"},
			{header: "Đơn vị", width: 30, cell: "{{.Unit}}"},
			{header: "Hành vi vi phạm", width: 40, cell: "{{.Violation}}"},
			{header: "Mã vi phạm", width: 12, cell: "{{.Code}}"},
			{header: "Hình thức xử lý đề xuất", width: 26, cell: "{{.Handling}}"},
		},
	}
}

// annexSpecs are the four annex tables of the quarterly report (DOMAIN.md
// §5).
func annexSpecs() []sheetSpec {
	sub := "(Kèm theo Báo cáo số {{Number}} về kết quả kiểm tra kỷ luật, kỷ cương hành chính quý {{Quarter}} năm {{Year}})"
	sum := func(col string) string { return fmt.Sprintf("SUM(%s5:%s5)", col, col) }
	n := column{numFmt: "#,##0", width: 11}
	num := func(header, field, col string) column {
		c := n
		c.header, c.cell, c.total = header, "{{."+field+"}}", sum(col)
		return c
	}
	stt := column{header: "STT", width: 6, cell: "{{.STT}}", numFmt: "0"}
	unit := column{header: "Đơn vị", width: 36, cell: "{{.Unit}}"}
	return []sheetSpec{
		{
			name: "Biểu 1", title: "Biểu 1. KẾT QUẢ KIỂM TRA THEO ĐƠN VỊ", subtitle: sub, totalLabel: "Tổng cộng",
			columns: []column{
				stt, unit,
				{header: "Ngày kiểm tra", width: 13, cell: "{{.Date}}", numFmt: "dd/mm/yyyy"},
				{header: "Hình thức", width: 12, cell: "{{.Form}}"},
				num("Số CBCCVC", "Staff", "E"),
				num("Có mặt", "Present", "F"),
				num("Vắng có lý do", "AbsentExcused", "G"),
				num("Vắng không lý do", "AbsentUnexcused", "H"),
				num("Đi muộn", "Late", "I"),
				num("Số người vi phạm", "Violators", "J"),
				{header: "Tỷ lệ có mặt", width: 11, cell: "=IF(E5>0,F5/E5,0)", percent: true, total: "IF(E6>0,F6/E6,0)"},
			},
		},
		{
			name: "Biểu 2", title: "Biểu 2. HÀNH VI VI PHẠM THEO LOẠI", subtitle: sub, totalLabel: "Tổng cộng",
			columns: []column{
				stt, unit,
				num("Đi muộn, về sớm", "Late", "C"),
				num("Bỏ vị trí làm việc", "LeftPost", "D"),
				num("Không đeo thẻ", "NoBadge", "E"),
				num("Sử dụng rượu bia", "Alcohol", "F"),
				num("Vi phạm khác", "Other", "G"),
				{header: "Tổng", width: 10, cell: "=SUM(C5:G5)", numFmt: "#,##0", total: sum("H")},
			},
		},
		{
			name: "Biểu 3", title: "Biểu 3. HÌNH THỨC XỬ LÝ", subtitle: sub, totalLabel: "Tổng cộng",
			columns: []column{
				stt, unit,
				num("Nhắc nhở", "Reminded", "C"),
				num("Kiểm điểm", "SelfCriticism", "D"),
				num("Khiển trách", "Reprimand", "E"),
				num("Cảnh cáo", "Warning", "F"),
				num("Hình thức khác", "Other", "G"),
				{header: "Tổng", width: 10, cell: "=SUM(C5:G5)", numFmt: "#,##0", total: sum("H")},
			},
		},
		{
			name: "Biểu 4", title: "Biểu 4. TIẾP NHẬN VĂN BẢN CHỈ ĐẠO THEO ĐƠN VỊ", subtitle: sub, totalLabel: "Tổng cộng",
			columns: []column{
				stt, unit,
				num("Số văn bản", "Documents", "C"),
				num("Đã nhận", "Received", "D"),
				num("Đã đọc", "Read", "E"),
				num("Đã xác nhận", "Acknowledged", "F"),
				num("Quá hạn", "Overdue", "G"),
			},
		},
	}
}

// receiptStatuses are the status labels (vanthu.Milestone.Label) the
// receipt sheet counts below its totals, from the best to the worst news.
var receiptStatuses = []string{"Đã xác nhận", "Đã xem", "Đã gửi", "Bị trả lại", "Gửi lỗi", "Chờ gửi"}

// receiptsSpec is the receipt report (issue 5, item 7): per unit, each
// milestone's time, channel and evidence.
func receiptsSpec() sheetSpec {
	count := func(col string) string { return fmt.Sprintf("COUNTA(%s5:%s5)", col, col) }
	text := func(header, field string, width float64) column {
		return column{header: header, width: width, cell: "{{." + field + "}}"}
	}
	at := func(header, field, col string) column {
		return column{header: header, width: 17, cell: "{{." + field + "}}", numFmt: dateTime, total: count(col)}
	}
	return sheetSpec{
		name:       "Tiếp nhận",
		title:      "BÁO CÁO TÌNH HÌNH TIẾP NHẬN VĂN BẢN",
		subtitle:   "Văn bản số {{Number}} ngày {{Date}}: {{Subject}}",
		totalLabel: "Tổng cộng",
		columns: []column{
			{header: "STT", width: 6, cell: "{{.STT}}", numFmt: "0"},
			text("Mã đơn vị", "Code", 12),
			{header: "Tên đơn vị", width: 36, cell: "{{.Name}}", total: count("C")},
			{header: "Trạng thái", width: 14, cell: "{{.Status}}", numFmt: "@"},
			at("Gửi lúc", "SentAt", "E"),
			text("Kênh gửi", "SentChannel", 16),
			text("Chứng cứ gửi", "SentEvidence", 36),
			at("Xem lúc", "ReadAt", "H"),
			text("Kênh xem", "ReadChannel", 16),
			text("Chứng cứ xem", "ReadEvidence", 36),
			at("Xác nhận lúc", "AckAt", "K"),
			text("Kênh xác nhận", "AckChannel", 16),
			text("Chứng cứ xác nhận", "AckEvidence", 40),
			text("Người xác nhận", "AckBy", 24),
			at("Trả lại / lỗi lúc", "ProblemAt", "O"),
			text("Kênh trả lại / lỗi", "ProblemChannel", 16),
			text("Chứng cứ trả lại / lỗi", "ProblemEvidence", 40),
		},
	}
}

func buildTracking() (*excelize.File, error) { return newWorkbook(trackingSpec()) }

// buildReceipts adds to the common layout the file's SHA-256 (row 3) and,
// below the totals, the number of units per status: COUNTIF over the
// status column, which Fill widens over the units like the totals.
func buildReceipts() (*excelize.File, error) {
	s := receiptsSpec()
	f, err := newWorkbook(s)
	if err != nil {
		return nil, err
	}
	last, _ := excelize.ColumnNumberToName(len(s.columns))
	note, err := f.NewStyle(&excelize.Style{
		Font:      &excelize.Font{Size: 12, Family: "Times New Roman"},
		Alignment: &excelize.Alignment{Horizontal: "center", WrapText: true},
	})
	if err != nil {
		return nil, err
	}
	if err := f.SetCellStr(s.name, "A3", "Tệp PDF đã gửi: {{FileName}}, mã SHA-256: {{SHA256}}. Số liệu tính đến {{AsOf}}."); err != nil {
		return nil, err
	}
	if err := f.MergeCell(s.name, "A3", last+"3"); err != nil {
		return nil, err
	}
	if err := f.SetCellStyle(s.name, "A3", last+"3", note); err != nil {
		return nil, err
	}
	if err := f.SetRowHeight(s.name, 3, 32); err != nil {
		return nil, err
	}
	header, err := f.NewStyle(&excelize.Style{
		Border:    border(),
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9E1F2"}},
		Font:      &excelize.Font{Bold: true, Size: 12, Family: "Times New Roman"},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true},
	})
	if err != nil {
		return nil, err
	}
	label, err := f.NewStyle(&excelize.Style{Border: border(), Font: &excelize.Font{Size: 12, Family: "Times New Roman"}})
	if err != nil {
		return nil, err
	}
	number := "#,##0"
	value, err := f.NewStyle(&excelize.Style{Border: border(), Font: &excelize.Font{Size: 12, Family: "Times New Roman"},
		CustomNumFmt: &number, Alignment: &excelize.Alignment{Horizontal: "center"}})
	if err != nil {
		return nil, err
	}
	top := specTotalsRow + 2
	for _, c := range []struct {
		ref, text string
		style     int
	}{{fmt.Sprint("C", top), "Trạng thái", header}, {fmt.Sprint("D", top), "Số đơn vị", header}} {
		if err := f.SetCellStr(s.name, c.ref, c.text); err != nil {
			return nil, err
		}
		if err := f.SetCellStyle(s.name, c.ref, c.ref, c.style); err != nil {
			return nil, err
		}
	}
	for i, st := range receiptStatuses {
		row := top + 1 + i
		l, v := fmt.Sprint("C", row), fmt.Sprint("D", row)
		if err := f.SetCellStr(s.name, l, st); err != nil {
			return nil, err
		}
		if err := f.SetCellFormula(s.name, v, fmt.Sprintf(`COUNTIF(D%d:D%d,"%s")`, specMarkedRow, specMarkedRow, st)); err != nil {
			return nil, err
		}
		if err := f.SetCellStyle(s.name, l, l, label); err != nil {
			return nil, err
		}
		if err := f.SetCellStyle(s.name, v, v, value); err != nil {
			return nil, err
		}
	}
	return f, nil
}
func buildFindings() (*excelize.File, error) { return newWorkbook(findingsSpec()) }

func buildAnnexes() (*excelize.File, error) {
	f, err := newWorkbook(annexSpecs()...)
	if err != nil {
		return nil, err
	}
	// The series end on the repeated row; Fill widens them over the units.
	err = f.AddChart("Biểu 1", "M4", &excelize.Chart{
		Type:       excelize.Col,
		VaryColors: new(false),
		Series: []excelize.ChartSeries{
			{Name: "'Biểu 1'!$F$4", Categories: "'Biểu 1'!$B$5:$B$5", Values: "'Biểu 1'!$F$5:$F$5"},
			{Name: "'Biểu 1'!$H$4", Categories: "'Biểu 1'!$B$5:$B$5", Values: "'Biểu 1'!$H$5:$H$5"},
		},
		Title:     excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: "Có mặt và vắng không lý do theo đơn vị"}}},
		Legend:    excelize.ChartLegend{Position: "bottom"},
		Dimension: excelize.ChartDimension{Width: 640, Height: 360},
	})
	if err != nil {
		return nil, fmt.Errorf("add chart: %w", err)
	}
	return f, nil
}

var templateBuilders = map[string]func() (*excelize.File, error){
	"tracking.xlsx": buildTracking,
	"findings.xlsx": buildFindings,
	"annexes.xlsx":  buildAnnexes,
	"receipts.xlsx": buildReceipts,
}

// TestGenerateSheets rewrites the default Excel templates sheets/*.xlsx
// with -update; otherwise it checks that the stored templates are valid.
// The templates are built in code so that a change to their layout is
// reviewable; a clerk restyles a copy in a spreadsheet program instead.
func TestGenerateSheets(t *testing.T) {
	for name, build := range templateBuilders {
		path := filepath.Join("sheets", name)
		if *update {
			f, err := build()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := f.SaveAs(path); err != nil {
				t.Fatalf("save %s: %v", path, err)
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read %s (run go test ./templates -run TestGenerateSheets -update): %v", path, err)
		}
		if err := sheet.Check(b, nil); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
