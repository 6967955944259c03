package templates

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/sonoivu/vanthu/internal/render/sheet"
)

var (
	update = flag.Bool("update", false, "regenerate the .xlsx templates in sheets/ and the golden files in testdata/")
	only   = flag.String("sheets", "", "with -update, regenerate only these templates (comma-separated file names, e.g. annexes.xlsx)")
)

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

// annexSub is the subtitle of every annex sheet. The report has no number
// while it is a draft, so the annexes name it by its period.
const annexSub = "(Kèm theo Báo cáo kết quả thực hiện kỷ luật, kỷ cương hành chính {{Period}})"

// annexSpecs are the annex tables of the quarterly report (DOMAIN.md §5),
// filled by internal/report.WorkbookData: Biểu 1 to 4 and the detail
// sheet of every person recorded, which internal/report streams.
func annexSpecs() []sheetSpec {
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
			name: "Biểu 1", title: "Biểu 1. KẾT QUẢ KIỂM TRA THEO ĐƠN VỊ", subtitle: annexSub, totalLabel: "Tổng cộng",
			columns: []column{
				stt, unit,
				{header: "Ngày kiểm tra", width: 13, cell: "{{.Date}}", numFmt: "dd/mm/yyyy"},
				{header: "Hình thức", width: 14, cell: "{{.Form}}"},
				num("Số CBCCVC", "Staff", "E"),
				num("Có mặt", "Present", "F"),
				num("Vắng có lý do", "AbsentExcused", "G"),
				num("Vắng không lý do", "AbsentUnexcused", "H"),
				num("Đi muộn, về sớm", "Late", "I"),
				num("Số người vi phạm", "Violators", "J"),
				{header: "Tỷ lệ có mặt", width: 11, cell: "=IF(E5>0,F5/E5,0)", percent: true, total: "IF(E6>0,F6/E6,0)"},
			},
		},
		{
			name: "Biểu 2", title: "Biểu 2. HÀNH VI VI PHẠM THEO LOẠI TẠI TỪNG ĐƠN VỊ", subtitle: annexSub, totalLabel: "Tổng cộng",
			columns: []column{
				stt, unit,
				{header: "Hành vi vi phạm", width: 44, cell: "{{.Violation}}"},
				num("Số người vi phạm", "Count", "D"),
			},
		},
		{
			name: "Biểu 3", title: "Biểu 3. HÌNH THỨC XỬ LÝ", subtitle: annexSub, totalLabel: "Tổng cộng",
			columns: []column{
				stt,
				{header: "Hình thức xử lý", width: 40, cell: "{{.Handling}}"},
				num("Kỳ này", "Count", "C"),
				num("Kỳ trước", "Previous", "D"),
				{header: "Tăng (+), giảm (-)", width: 11, cell: "=C5-D5", numFmt: "+#,##0;-#,##0;0", total: "C6-D6"},
			},
		},
		{
			name: "Biểu 4", title: "Biểu 4. TIẾP NHẬN VĂN BẢN CHỈ ĐẠO THEO ĐƠN VỊ", subtitle: annexSub, totalLabel: "Tổng cộng",
			columns: []column{
				stt, unit,
				num("Số văn bản", "Documents", "C"),
				num("Đã nhận", "Received", "D"),
				num("Đã đọc", "Read", "E"),
				num("Đã xác nhận", "Acknowledged", "F"),
				num("Xác nhận trễ hạn", "Late", "G"),
				num("Quá hạn chưa xác nhận", "Overdue", "H"),
				{header: "Tỷ lệ xác nhận", width: 11, cell: "=IF(C5>0,F5/C5,0)", percent: true, total: "IF(C6>0,F6/C6,0)"},
			},
		},
		{
			name: "Chi tiết", title: "DANH SÁCH CÁN BỘ, CÔNG CHỨC, VIÊN CHỨC VI PHẠM ĐƯỢC GHI NHẬN", subtitle: annexSub, totalLabel: "Tổng số người",
			columns: []column{
				{header: "STT", width: 8, cell: "{{.STT}}", numFmt: "0", total: "COUNT(A5:A5)"},
				unit,
				{header: "Thời điểm kiểm tra", width: 17, cell: "{{.StartedAt}}", numFmt: dateTime},
				{header: "Họ và tên", width: 26, cell: "{{.Name}}"},
				{header: "Chức vụ", width: 20, cell: "{{.Position}}"},
				{header: "Bộ phận", width: 24, cell: "{{.Section}}"},
				{header: "Hành vi vi phạm", width: 36, cell: "{{.Violation}}"},
				{header: "Giải trình của người vi phạm", width: 40, cell: "{{.Explanation}}"},
				{header: "Số hiệu cuộc kiểm tra", width: 12, cell: "{{.Inspection}}", numFmt: "0"},
			},
		},
	}
}

// summaryRows are the headline figures of the summary sheet: label and
// the value name (the previous period's is "Prev" + name).
var summaryRows = []struct {
	label, value string
	percent      bool
}{
	{"Văn bản chỉ đạo ban hành", "Issued", false},
	{"Lượt văn bản gửi đến đơn vị", "Dispatches", false},
	{"Đã nhận", "Received", false},
	{"Đã đọc", "Read", false},
	{"Xác nhận đúng hạn", "AckOnTime", false},
	{"Xác nhận trễ hạn", "AckLate", false},
	{"Chưa xác nhận", "NotAcknowledged", false},
	{"Số cuộc kiểm tra", "Inspections", false},
	{"- Theo kế hoạch", "Scheduled", false},
	{"- Đột xuất", "Surprise", false},
	{"Số đơn vị được kiểm tra", "Units", false},
	{"Số CBCCVC được kiểm tra", "Listed", false},
	{"Có mặt", "Present", false},
	{"Vắng có lý do", "AbsentExcused", false},
	{"Vắng không có lý do", "AbsentUnexcused", false},
	{"Đi muộn, về sớm", "LateOrEarly", false},
	{"Số người vi phạm", "Violators", false},
	{"Tỷ lệ có mặt", "PresentRate", true},
}

// buildSummary adds the summary sheet "Tổng hợp" in front: the headline
// figures of the period and the previous one with their difference, then
// the violations by type as the sheet's repeated row with a totals row,
// and two charts: violations by type (this period and the previous one)
// and the handling forms of Biểu 3. The differences are formulas over
// their own row, which the sheet engine computes when it fills.
func buildSummary(f *excelize.File) error {
	const s = "Tổng hợp"
	if _, err := f.NewSheet(s); err != nil {
		return err
	}
	if err := f.MoveSheet(s, "Biểu 1"); err != nil {
		return err
	}
	font := func(bold, italic bool, size float64) *excelize.Font {
		return &excelize.Font{Bold: bold, Italic: italic, Size: size, Family: "Times New Roman"}
	}
	style := func(st *excelize.Style) int {
		id, err := f.NewStyle(st)
		if err != nil {
			panic(err) // a bad literal style is a bug in this generator
		}
		return id
	}
	numFmt, pctFmt, diffFmt, pctDiffFmt := "#,##0", "0.00%", "+#,##0;-#,##0;0", "+0.00%;-0.00%;0.00%"
	title := style(&excelize.Style{Font: font(true, false, 14), Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}})
	subtitle := style(&excelize.Style{Font: font(false, true, 12), Alignment: &excelize.Alignment{Horizontal: "center", WrapText: true}})
	header := style(&excelize.Style{Border: border(), Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9E1F2"}},
		Font: font(true, false, 12), Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}})
	text := style(&excelize.Style{Border: border(), Font: font(false, false, 12), Alignment: &excelize.Alignment{Vertical: "center", WrapText: true}})
	center := style(&excelize.Style{Border: border(), Font: font(false, false, 12), CustomNumFmt: new("0"), Alignment: &excelize.Alignment{Horizontal: "center"}})
	num := style(&excelize.Style{Border: border(), Font: font(false, false, 12), CustomNumFmt: &numFmt, Alignment: &excelize.Alignment{Horizontal: "right"}})
	pct := style(&excelize.Style{Border: border(), Font: font(false, false, 12), CustomNumFmt: &pctFmt, Alignment: &excelize.Alignment{Horizontal: "right"}})
	diff := style(&excelize.Style{Border: border(), Font: font(false, false, 12), CustomNumFmt: &diffFmt, Alignment: &excelize.Alignment{Horizontal: "right"}})
	pctDiff := style(&excelize.Style{Border: border(), Font: font(false, false, 12), CustomNumFmt: &pctDiffFmt, Alignment: &excelize.Alignment{Horizontal: "right"}})
	boldText := style(&excelize.Style{Border: border(), Font: font(true, false, 12)})
	boldNum := style(&excelize.Style{Border: border(), Font: font(true, false, 12), CustomNumFmt: &numFmt, Alignment: &excelize.Alignment{Horizontal: "right"}})
	boldDiff := style(&excelize.Style{Border: border(), Font: font(true, false, 12), CustomNumFmt: &diffFmt, Alignment: &excelize.Alignment{Horizontal: "right"}})

	type cell struct {
		ref, v string
		style  int
	}
	var cells []cell
	put := func(ref, v string, st int) { cells = append(cells, cell{ref, v, st}) }
	put("A1", "TỔNG HỢP KẾT QUẢ THỰC HIỆN KỶ LUẬT, KỶ CƯƠNG HÀNH CHÍNH", title)
	put("A2", "{{PeriodName}} (từ ngày {{From}} đến ngày {{To}}; số liệu tính đến {{AsOf}})", subtitle)
	heads := []string{"STT", "Chỉ tiêu", "Kỳ này", "Kỳ trước", "Tăng (+), giảm (-)"}
	for i, h := range heads {
		col, _ := excelize.ColumnNumberToName(i + 1)
		put(col+"4", h, header)
	}
	r := 5
	for i, row := range summaryRows {
		v, d := num, diff
		if row.percent {
			v, d = pct, pctDiff
		}
		put(fmt.Sprint("A", r), fmt.Sprint(i+1), center)
		put(fmt.Sprint("B", r), row.label, text)
		put(fmt.Sprint("C", r), "{{"+row.value+"}}", v)
		put(fmt.Sprint("D", r), "{{Prev"+row.value+"}}", v)
		put(fmt.Sprint("E", r), fmt.Sprintf("=C%d-D%d", r, r), d)
		r++
	}
	hdr := r + 1 // a blank row, then the violations table
	vheads := []string{"STT", "Hành vi vi phạm", "Kỳ này", "Kỳ trước", "Tăng (+), giảm (-)"}
	for i, h := range vheads {
		col, _ := excelize.ColumnNumberToName(i + 1)
		put(fmt.Sprint(col, hdr), h, header)
	}
	m, tot := hdr+1, hdr+2
	put(fmt.Sprint("A", m), "{{.STT}}", center)
	put(fmt.Sprint("B", m), "{{.Violation}}", text)
	put(fmt.Sprint("C", m), "{{.Count}}", num)
	put(fmt.Sprint("D", m), "{{.Previous}}", num)
	put(fmt.Sprint("E", m), fmt.Sprintf("=C%d-D%d", m, m), diff)
	put(fmt.Sprint("A", tot), "", boldText)
	put(fmt.Sprint("B", tot), "Tổng cộng", boldText)
	put(fmt.Sprint("C", tot), fmt.Sprintf("=SUM(C%d:C%d)", m, m), boldNum)
	put(fmt.Sprint("D", tot), fmt.Sprintf("=SUM(D%d:D%d)", m, m), boldNum)
	put(fmt.Sprint("E", tot), fmt.Sprintf("=C%d-D%d", tot, tot), boldDiff)
	for _, c := range cells {
		var err error
		switch {
		case strings.HasPrefix(c.v, "="):
			err = f.SetCellFormula(s, c.ref, c.v[1:])
		case c.v != "" && c.v[0] >= '0' && c.v[0] <= '9':
			n, _ := strconv.Atoi(c.v)
			err = f.SetCellInt(s, c.ref, int64(n))
		default:
			err = f.SetCellStr(s, c.ref, c.v)
		}
		if err != nil {
			return err
		}
		if err := f.SetCellStyle(s, c.ref, c.ref, c.style); err != nil {
			return err
		}
	}
	for _, mg := range []string{"1", "2"} {
		if err := f.MergeCell(s, "A"+mg, "E"+mg); err != nil {
			return err
		}
	}
	for col, w := range map[string]float64{"A": 6, "B": 44, "C": 14, "D": 14, "E": 14} {
		if err := f.SetColWidth(s, col, col, w); err != nil {
			return err
		}
	}
	if err := f.SetRowHeight(s, 1, 36); err != nil {
		return err
	}
	if err := f.SetRowHeight(s, 2, 32); err != nil {
		return err
	}
	// The series end on the repeated rows; the sheet engine widens them
	// over the records of their sheet.
	cats := fmt.Sprintf("'Tổng hợp'!$B$%d:$B$%d", m, m)
	err := f.AddChart(s, "G4", &excelize.Chart{
		Type:       excelize.Bar,
		VaryColors: new(false),
		Series: []excelize.ChartSeries{
			{Name: fmt.Sprintf("'Tổng hợp'!$C$%d", hdr), Categories: cats, Values: fmt.Sprintf("'Tổng hợp'!$C$%d:$C$%d", m, m)},
			{Name: fmt.Sprintf("'Tổng hợp'!$D$%d", hdr), Categories: cats, Values: fmt.Sprintf("'Tổng hợp'!$D$%d:$D$%d", m, m)},
		},
		Title:     excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: "Số người vi phạm theo loại"}}},
		Legend:    excelize.ChartLegend{Position: "bottom"},
		Dimension: excelize.ChartDimension{Width: 640, Height: 400},
	})
	if err != nil {
		return fmt.Errorf("add violations chart: %w", err)
	}
	err = f.AddChart(s, "G26", &excelize.Chart{
		Type:       excelize.Col,
		VaryColors: new(false),
		Series: []excelize.ChartSeries{
			{Name: "'Biểu 3'!$C$4", Categories: "'Biểu 3'!$B$5:$B$5", Values: "'Biểu 3'!$C$5:$C$5"},
			{Name: "'Biểu 3'!$D$4", Categories: "'Biểu 3'!$B$5:$B$5", Values: "'Biểu 3'!$D$5:$D$5"},
		},
		Title:     excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: "Hình thức xử lý"}}},
		Legend:    excelize.ChartLegend{Position: "bottom"},
		Dimension: excelize.ChartDimension{Width: 640, Height: 360},
	})
	if err != nil {
		return fmt.Errorf("add handling chart: %w", err)
	}
	return nil
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
	if err := buildSummary(f); err != nil {
		return nil, fmt.Errorf("sheet %q: %w", "Tổng hợp", err)
	}
	f.SetActiveSheet(0)
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
		if *update && (*only == "" || slices.Contains(strings.Split(*only, ","), name)) {
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
