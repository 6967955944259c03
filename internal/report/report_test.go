package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/memstat"
	"github.com/sonoivu/vanthu/internal/render"
	"github.com/sonoivu/vanthu/internal/testenv"
	"github.com/sonoivu/vanthu/templates"
)

func service(t testing.TB) *Service {
	t.Helper()
	set, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return &Service{Templates: set}
}

// layout maps a draft onto the renderer's frame the way issuing does
// (internal/directive.Layout), dated at.
func layout(doc vanthu.Document, at time.Time) render.Document {
	c := doc.Content
	return render.Document{
		ParentAgency: c.ParentAgency, Agency: c.Agency, Number: "/" + doc.TypeCode + "-" + doc.Issuer, Place: c.Place, Date: at,
		TypeName: c.TypeName, Subject: doc.Subject, KinhGui: c.KinhGui, Body: c.Body,
		SignerAuthority: c.SignerAuthority, SignerTitle: c.SignerTitle, SignerName: c.SignerName,
		Recipients: c.NoiNhan, DrafterCode: c.DrafterCode, AddressLine: c.AddressLine,
	}
}

func TestDraft(t *testing.T) {
	s := service(t)
	f, n := sampleFigures(), sampleNarrative()
	doc, err := s.Draft(f, n)
	if err != nil {
		t.Fatal(err)
	}
	body, err := s.Body(f, n)
	if err != nil {
		t.Fatal(err)
	}
	c := doc.Content
	if doc.Kind != vanthu.KindReport || doc.TypeCode != "BC" || doc.Issuer != "SNV" || doc.State != vanthu.StateDraft ||
		doc.Subject != "Kết quả thực hiện kỷ luật, kỷ cương hành chính quý IV năm 2026" || c.Template != "report" ||
		c.TypeName != "BÁO CÁO" || len(c.KinhGui) != 1 || c.KinhGui[0] != "Ủy ban nhân dân tỉnh Vĩnh Long" || c.Body != body || doc.Symbol != "" {
		t.Errorf("draft = %+v", doc)
	}
	if ps := doc.ValidateDraft(); len(ps) > 0 {
		t.Errorf("draft problems: %v", ps)
	}
}

// TestPDFHasEveryFigure lays the draft out, renders it and reads it back
// with pdftotext: every figure of the period, each rate, each comparison
// and the clerk's narrative must be printed, and the chart drawn.
func TestPDFHasEveryFigure(t *testing.T) {
	s := service(t)
	f, n := sampleFigures(), sampleNarrative()
	doc, err := s.Draft(f, n)
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := render.PDF(layout(doc, time.Date(2026, 12, 18, 9, 0, 0, 0, vanthu.Location)))
	if err != nil {
		t.Fatal(err)
	}
	raw := testenv.RunPDFTool(t, pdf, false, "pdftotext", "-raw")
	text := strings.Join(strings.Fields(raw), " ")
	d, in := f.Direction, f.Inspections
	want := []string{
		"BÁO CÁO", "Kính gửi: Ủy ban nhân dân tỉnh Vĩnh Long", "quý IV năm 2026",
		"từ ngày 15/09/2026 đến ngày 14/12/2026", "07 giờ 00 ngày 15/12/2026",
		// I.
		fmt.Sprintf("ban hành %d văn bản chỉ đạo, gửi %d lượt văn bản đến %d cơ quan", d.Issued, d.Dispatches, d.Units),
		fmt.Sprintf("Đã nhận: %d lượt (%s)", d.Received, vanthu.Percent(d.Received, d.Dispatches)),
		fmt.Sprintf("Đã đọc: %d lượt (%s)", d.Read, vanthu.Percent(d.Read, d.Dispatches)),
		fmt.Sprintf("Xác nhận đúng hạn: %d lượt (%s)", d.AckOnTime, "83,33%"),
		fmt.Sprintf("Xác nhận trễ hạn: %d lượt (%s)", d.AckLate, "8,33%"),
		fmt.Sprintf("Chưa xác nhận: %d lượt (%s)", d.NotAckd, "8,33%"),
		fmt.Sprintf("bị trả lại, lỗi): %d lượt (%s)", d.BouncedFailed, "1,39%"),
		"So với quý III năm 2026, số văn bản chỉ đạo ban hành tăng 1",
		"tỷ lệ xác nhận đã nhận văn bản giảm 2,08 điểm phần trăm",
		// II.
		fmt.Sprintf("Đã kiểm tra %d cuộc (%d theo kế hoạch, %d đột xuất) tại %d cơ quan", in.Total, in.Scheduled, in.Surprise, in.Units),
		"Sở, ban, ngành: 9 đơn vị; UBND xã, phường: 11 đơn vị; Đơn vị sự nghiệp: 2 đơn vị",
		"có mặt 333/424 người (78,54%)", "vắng 91 người (21,46%)",
		"Vắng có lý do: 63 người (14,86%), gồm nghỉ phép 40, đi công tác 17, đi học 6",
		"Vắng không có lý do: 28 người (6,60%)", "Đi muộn, về sớm: 17 người (4,01%), gồm đi muộn 12, về sớm 5",
		"Số người vi phạm được ghi nhận: 62 người",
		"số cuộc kiểm tra tăng 4; tỷ lệ có mặt tăng 1,36 điểm phần trăm; số người vắng không có lý do giảm 7; số người vi phạm giảm 11",
		"333 (78,54%) 301 (77,18%) +32", "28 (6,60%) 35 (8,97%) -7",
		// Violations table and chart, handling.
		"Vắng mặt không có lý do 28 35 -7", "Không đeo thẻ công chức, viên chức 12 9 +3", "Tổng cộng 62 73 -11",
		"Biểu đồ 1", "Đã đề xuất xử lý 56 trường hợp", "Khiển trách: 3 trường hợp;", "Phê bình 0 2 -2", "Tổng cộng 56 65 -9",
		// III–V.
		"tỷ lệ vắng không có lý do giảm so với quý trước", "Trong quý I năm 2027",
		"a) Tiếp tục kiểm tra đột xuất", "c) Tổng hợp kết quả thực hiện Chỉ thị số 02/CT-UBND",
		"người đứng đầu các cơ quan, đơn vị có cán bộ vi phạm nhiều lần kiểm điểm trách nhiệm",
		"của Sở Nội vụ./.",
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("PDF text lacks %q", w)
		}
	}
	// A handling form with no case this period is not listed as one.
	if strings.Contains(text, "Phê bình: 0") {
		t.Error("a form without cases is listed")
	}
	// The chart: its legend and every violation as a label, drawn once
	// more after the table.
	for _, v := range f.Violations {
		if c := strings.Count(text, v.Name); c < 2 {
			t.Errorf("%q printed %d times, want in the table and the chart", v.Name, c)
		}
	}
	if !strings.Contains(text, "Quý IV năm 2026 Quý III năm 2026") {
		t.Error("chart legend missing")
	}
}

func TestBodyWithoutPreviousOrViolations(t *testing.T) {
	s := service(t)
	f := sampleFigures()
	f.Previous = nil
	f.Violations, f.Handling = nil, nil
	n := DefaultNarrative(f)
	body, err := s.Body(f, n)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"So với", "```chart", "Đã đề xuất xử lý"} {
		if strings.Contains(body, bad) {
			t.Errorf("body has %q without a previous period or violations", bad)
		}
	}
	for _, good := range []string{"không ghi nhận trường hợp vi phạm nào", "Trong kỳ chưa có đề xuất xử lý", "có mặt 333/424 người (78,54%)"} {
		if !strings.Contains(body, good) {
			t.Errorf("body lacks %q", good)
		}
	}
	// The body still lays out: no empty chart block.
	doc, err := s.Draft(f, n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := render.PDF(layout(doc, f.AsOf)); err != nil {
		t.Fatal(err)
	}
}

// TestBodyHandlingOnlyBefore: no handling this period but some in the
// previous one. The report says there was none, by how much that is
// down, and keeps the comparison table; it does not announce "0 cases,
// of which:" over an empty list.
func TestBodyHandlingOnlyBefore(t *testing.T) {
	s := service(t)
	f := sampleFigures()
	f.Handling = nil
	body, err := s.Body(f, DefaultNarrative(f))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(body, "### 4. Kết quả xử lý")
	section, _, _ = strings.Cut(section, "## III.")
	if strings.Contains(section, "Đã đề xuất xử lý") || strings.Contains(section, "trong đó:") {
		t.Errorf("section 4 announces cases it does not have:\n%s", section)
	}
	for _, want := range []string{
		"Trong kỳ chưa có đề xuất xử lý (giảm 65 trường hợp so với quý III năm 2026).",
		"Bảng 3. Hình thức xử lý so với kỳ trước:", "| 1 | Nhắc nhở | 0 | 38 | -38 |",
		"| | **Tổng cộng** | **0** | **65** | **-65** |",
	} {
		if !strings.Contains(section, want) {
			t.Errorf("section 4 lacks %q:\n%s", want, section)
		}
	}
	doc, err := s.Draft(f, DefaultNarrative(f))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := render.PDF(layout(doc, f.AsOf)); err != nil {
		t.Fatal(err)
	}
}

func TestBodyEscapesClerkText(t *testing.T) {
	s := service(t)
	f := sampleFigures()
	f.Violations[0].Name = "Vắng | *không* lý do"
	n := sampleNarrative()
	n.Assessment = "Dòng một có dấu *sao*.\n\n\nDòng hai | có gạch."
	doc, err := s.Draft(f, n)
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := render.PDF(layout(doc, f.AsOf))
	if err != nil {
		t.Fatalf("clerk text broke the layout: %v", err)
	}
	text := strings.Join(strings.Fields(testenv.RunPDFTool(t, pdf, false, "pdftotext", "-raw")), " ")
	for _, w := range []string{"Vắng | *không* lý do 28", "Dòng một có dấu *sao*.", "Dòng hai | có gạch."} {
		if !strings.Contains(text, w) {
			t.Errorf("PDF text lacks %q", w)
		}
	}
}

func TestDefaultNarrative(t *testing.T) {
	f := sampleFigures()
	n := DefaultNarrative(f)
	for _, w := range []string{"Trong quý IV năm 2026", "đạt 78,54%", "vắng không có lý do 28 người (6,60%)",
		"So với quý III năm 2026, tỷ lệ có mặt tăng 1,36 điểm phần trăm; số người vắng không có lý do giảm 7; số người vi phạm giảm 11.",
		"phổ biến nhất là vắng mặt không có lý do (28 trường hợp)", "xác nhận đúng hạn đạt 83,33%; còn 6 lượt"} {
		if !strings.Contains(n.Assessment, w) {
			t.Errorf("assessment lacks %q:\n%s", w, n.Assessment)
		}
	}
	tasks := strings.Join(n.NextTasks, "\n")
	for _, w := range []string{"còn 6 lượt chưa xác nhận", "xử lý các trường hợp vi phạm", "quý I năm 2027"} {
		if !strings.Contains(tasks, w) {
			t.Errorf("tasks lack %q:\n%s", w, tasks)
		}
	}
	if !strings.Contains(n.Proposals, "kiểm điểm, xử lý") {
		t.Errorf("proposals = %q", n.Proposals)
	}

	// A quiet quarter: nothing inspected, nothing sent, no previous one.
	empty := vanthu.ReportFigures{Period: vanthu.QuarterPeriod(2027, 1, vanthu.CutOffCalendar)}
	n = DefaultNarrative(empty)
	if !strings.Contains(n.Assessment, "chưa có cuộc kiểm tra nào") || strings.Contains(n.Assessment, "So với") || strings.Contains(n.Assessment, "văn bản chỉ đạo") {
		t.Errorf("assessment of an empty quarter = %q", n.Assessment)
	}
	if last := n.NextTasks[len(n.NextTasks)-1]; !strings.Contains(last, "quý II năm 2027") || len(n.NextTasks) != 2 {
		t.Errorf("tasks of an empty quarter = %q", n.NextTasks)
	}
	if strings.Contains(n.Proposals, "vi phạm") {
		t.Errorf("proposal of a quarter without violations = %q", n.Proposals)
	}
	// And its body lays out.
	s := service(t)
	doc, err := s.Draft(empty, n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := render.PDF(layout(doc, time.Date(2027, 4, 2, 8, 0, 0, 0, vanthu.Location))); err != nil {
		t.Fatal(err)
	}
}

func TestChangePhrases(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{change(5, 2), "tăng 3"}, {change(2, 1002), "giảm 1.000"}, {change(4, 4), "không thay đổi"},
		{rateChange(333, 424, 301, 390), "tăng 1,36 điểm phần trăm"},
		// The difference of the printed rates, 66,67% − 33,33%.
		{rateChange(1, 3, 2, 3), "giảm 33,34 điểm phần trăm"},
		{rateChange(0, 0, 0, 0), "không thay đổi"},
		{signed(12345), "+12.345"}, {signed(-7), "-7"}, {signed(0), "0"},
		{nextLabel(vanthu.QuarterPeriod(2026, 2, vanthu.CutOffCalendar)), "quý III năm 2026"},
		{nextLabel(vanthu.Period{Year: 2026, Kind: vanthu.PeriodYear}), "năm 2027"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// workbook streams the annex workbook of f with n generated persons.
func workbook(t testing.TB, f vanthu.ReportFigures, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := service(t).Workbook(context.Background(), &b, f, persons(n, f.InspectionRows)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// stored reads the value stored in a cell (a formula's cached result), as
// a reader that does not recalculate sees it.
func stored(t *testing.T, f *excelize.File, sheet, ref string) string {
	t.Helper()
	v, err := f.GetCellValue(sheet, ref, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func num(t *testing.T, f *excelize.File, sheet, ref string) float64 {
	t.Helper()
	v := stored(t, f, sheet, ref)
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("%s!%s = %q, want a number", sheet, ref, v)
	}
	return x
}

func TestWorkbook(t *testing.T) {
	const people = 1000
	fig := sampleFigures()
	out := workbook(t, fig, people)
	f, err := excelize.OpenReader(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := strings.Join(f.GetSheetList(), ","); got != "Tổng hợp,Biểu 1,Biểu 2,Biểu 3,Biểu 4,Chi tiết" {
		t.Fatalf("sheets = %s", got)
	}
	near := func(sheet, ref string, want float64) {
		t.Helper()
		if got := num(t, f, sheet, ref); fmt.Sprintf("%.9f", got) != fmt.Sprintf("%.9f", want) {
			t.Errorf("%s!%s = %v, want %v", sheet, ref, got, want)
		}
	}
	formula := func(sheet, ref, want string) {
		t.Helper()
		if got, _ := f.GetCellFormula(sheet, ref); got != want {
			t.Errorf("%s!%s formula = %q, want %q", sheet, ref, got, want)
		}
	}

	// Summary: headline figures, differences with their values.
	const s = "Tổng hợp"
	d, pd := fig.Direction, fig.Previous.Direction
	in, pin := fig.Inspections, fig.Previous.Inspections
	if got := stored(t, f, s, "A2"); got != "Quý IV năm 2026 (từ ngày 15/09/2026 đến ngày 14/12/2026; số liệu tính đến 07:00 15/12/2026)" {
		t.Errorf("summary subtitle = %q", got)
	}
	headline := []struct{ cur, prev int }{
		{d.Issued, pd.Issued}, {d.Dispatches, pd.Dispatches}, {d.Received, pd.Received}, {d.Read, pd.Read},
		{d.AckOnTime, pd.AckOnTime}, {d.AckLate, pd.AckLate}, {d.NotAckd, pd.NotAckd},
		{in.Total, pin.Total}, {in.Scheduled, pin.Scheduled}, {in.Surprise, pin.Surprise}, {in.Units, pin.Units},
		{in.Listed, pin.Listed}, {in.Present, pin.Present}, {in.AbsentExcused(), pin.AbsentExcused()},
		{in.AbsentUnexcused, pin.AbsentUnexcused}, {in.Late + in.LeftEarly, pin.Late + pin.LeftEarly}, {in.Violators, pin.Violators},
	}
	for i, h := range headline {
		r := 5 + i
		near(s, fmt.Sprint("C", r), float64(h.cur))
		near(s, fmt.Sprint("D", r), float64(h.prev))
		formula(s, fmt.Sprint("E", r), fmt.Sprintf("C%d-D%d", r, r))
		near(s, fmt.Sprint("E", r), float64(h.cur-h.prev))
	}
	near(s, "C22", 333.0/424)
	near(s, "E22", 333.0/424-301.0/390)
	// Violations by type, from row 25, then their totals.
	for i, v := range fig.Violations {
		r := 25 + i
		if got := stored(t, f, s, fmt.Sprint("B", r)); got != v.Name {
			t.Errorf("%s!B%d = %q, want %q", s, r, got, v.Name)
		}
		near(s, fmt.Sprint("C", r), float64(v.Count))
		near(s, fmt.Sprint("E", r), float64(v.Count-fig.Previous.Violations[i].Count))
	}
	vt := 25 + len(fig.Violations)
	formula(s, fmt.Sprint("C", vt), fmt.Sprintf("SUM(C25:C%d)", vt-1))
	near(s, fmt.Sprint("C", vt), 62)
	near(s, fmt.Sprint("D", vt), 73)
	near(s, fmt.Sprint("E", vt), -11)

	// Biểu 1: one row per inspection, rates and totals with values.
	rows := fig.InspectionRows
	tot := 5 + len(rows)
	for i, r := range rows {
		row := 5 + i
		if got := stored(t, f, "Biểu 1", fmt.Sprint("B", row)); got != r.UnitName {
			t.Errorf("Biểu 1!B%d = %q, want %q", row, got, r.UnitName)
		}
		if got, _ := f.GetCellValue("Biểu 1", fmt.Sprint("C", row)); got != r.StartedAt.In(vanthu.Location).Format("02/01/2006") {
			t.Errorf("Biểu 1!C%d = %q", row, got)
		}
		near("Biểu 1", fmt.Sprint("K", row), float64(r.Present)/float64(r.Listed))
	}
	if got := stored(t, f, "Biểu 1", "D5"); got != "Đột xuất" {
		t.Errorf("Biểu 1!D5 = %q", got)
	}
	for col, want := range map[string]int{"E": in.Listed, "F": in.Present, "G": in.AbsentExcused(), "H": in.AbsentUnexcused, "I": in.Late + in.LeftEarly, "J": in.Violators} {
		formula("Biểu 1", fmt.Sprint(col, tot), fmt.Sprintf("SUM(%s5:%s%d)", col, col, tot-1))
		near("Biểu 1", fmt.Sprint(col, tot), float64(want))
	}
	near("Biểu 1", fmt.Sprint("K", tot), 333.0/424)

	// Biểu 2: violations per unit add up to the violators.
	near("Biểu 2", fmt.Sprint("D", 5+len(fig.UnitViolations)), float64(in.Violators))
	if got := stored(t, f, "Biểu 2", "C5"); got != fig.UnitViolations[0].Name {
		t.Errorf("Biểu 2!C5 = %q", got)
	}
	// Biểu 3: handling this period and before, with the form found only
	// before.
	h := 5 + 4
	near("Biểu 3", fmt.Sprint("C", h), 56)
	near("Biểu 3", fmt.Sprint("D", h), 65)
	near("Biểu 3", fmt.Sprint("E", h), -9)
	if got := stored(t, f, "Biểu 3", "B8"); got != "Phê bình" {
		t.Errorf("Biểu 3!B8 = %q", got)
	}
	// Biểu 4: receipt per unit adds up to the direction figures.
	r4 := 5 + len(fig.ReceiptRows)
	for col, want := range map[string]int{"C": d.Dispatches, "D": d.Received, "E": d.Read, "F": d.Acknowledged(), "G": d.AckLate, "H": d.NotAckd} {
		near("Biểu 4", fmt.Sprint(col, r4), float64(want))
	}
	near("Biểu 4", fmt.Sprint("I", r4), float64(d.Acknowledged())/float64(d.Dispatches))

	// Detail: every streamed person, text kept as text.
	const c = "Chi tiết"
	for _, i := range []int{0, 3, people - 1} {
		p := person(i, rows)
		row := 5 + i
		for col, want := range map[string]string{"B": p.UnitName, "D": p.Name, "E": p.Position, "F": p.Section, "G": p.Violation, "H": p.Explanation} {
			if got := stored(t, f, c, fmt.Sprint(col, row)); got != want {
				t.Errorf("%s!%s%d = %q, want %q", c, col, row, got, want)
			}
		}
		if fm, _ := f.GetCellFormula(c, fmt.Sprint("H", row)); fm != "" {
			t.Errorf("%s!H%d became a formula %q", c, row, fm)
		}
		if got, _ := f.GetCellValue(c, fmt.Sprint("C", row)); got != p.StartedAt.In(vanthu.Location).Format("02/01/2006 15:04") {
			t.Errorf("%s!C%d = %q", c, row, got)
		}
	}
	formula(c, fmt.Sprint("A", 5+people), fmt.Sprintf("COUNT(A5:A%d)", 4+people))
	near(c, fmt.Sprint("A", 5+people), people)
	if got := stored(t, f, c, fmt.Sprint("B", 5+people)); got != "Tổng số người" {
		t.Errorf("detail totals label = %q", got)
	}

	// Charts cover every record of their sheets.
	charts := chartParts(t, out)
	for _, w := range []string{
		fmt.Sprintf("'Tổng hợp'!$B$25:$B$%d", vt-1), fmt.Sprintf("'Tổng hợp'!$D$25:$D$%d", vt-1),
		"'Biểu 3'!$B$5:$B$8", "'Biểu 3'!$C$5:$C$8",
	} {
		if !strings.Contains(charts, w) {
			t.Errorf("charts lack %q", w)
		}
	}
}

// chartParts returns the unescaped XML of the workbook's charts.
func chartParts(t *testing.T, xlsx []byte) string {
	return strings.ReplaceAll(testenv.ZipParts(t, xlsx, "xl/charts/chart"), "&#39;", "'")
}

func TestWorkbookSourceError(t *testing.T) {
	boom := errors.New("connection reset")
	src := func(ctx context.Context, fn func(vanthu.CheckedPerson) error) error {
		if err := fn(person(0, sampleFigures().InspectionRows)); err != nil {
			return err
		}
		return boom
	}
	err := service(t).Workbook(context.Background(), io.Discard, sampleFigures(), src)
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want the source's error", err)
	}
}

// bigFigures are figures of units units and inspections inspections,
// the annex rows filled, for the benchmark.
func bigFigures(units, inspections int) vanthu.ReportFigures {
	f := sampleFigures()
	f.InspectionRows, f.UnitViolations, f.ReceiptRows = nil, nil, nil
	name := func(i int) string { return fmt.Sprintf("Ủy ban nhân dân xã Tân Hạnh %d", i+1) }
	for i := range inspections {
		u := i % units
		f.InspectionRows = append(f.InspectionRows, vanthu.InspectionRow{
			InspectionID: int64(i + 1), UnitCode: fmt.Sprint("U", u), UnitName: name(u),
			StartedAt: f.From.Add(time.Duration(i) * time.Hour), Surprise: i%3 != 0,
			Listed: 50, Present: 45, AbsentExcused: 3, AbsentUnexcused: 2, Late: 1, Violators: 50,
		})
	}
	for u := range units {
		for _, v := range f.Violations {
			f.UnitViolations = append(f.UnitViolations, vanthu.UnitViolationCount{UnitCode: fmt.Sprint("U", u), UnitName: name(u), Code: v.Code, Name: v.Name, Count: 1 + u%4})
		}
		f.ReceiptRows = append(f.ReceiptRows, vanthu.UnitReceiptRow{UnitCode: fmt.Sprint("U", u), UnitName: name(u), Dispatches: 3, Received: 3, Read: 3, Acknowledged: 2, Late: 1, Overdue: 1})
	}
	return f
}

// BenchmarkWorkbook100k writes the annex workbook of 500 units and 2,000
// inspections with 100,000 persons streamed from a generator, and reports
// the peak live heap, sampled while it runs.
func BenchmarkWorkbook100k(b *testing.B) {
	s := service(b)
	f := bigFigures(500, 2000)
	src := persons(100_000, f.InspectionRows)
	runtime.GC()
	stop := make(chan struct{})
	peak := memstat.PeakHeap(stop, 2*time.Millisecond)
	var size int
	for b.Loop() {
		var w countWriter
		if err := s.Workbook(context.Background(), &w, f, src); err != nil {
			b.Fatal(err)
		}
		size = int(w)
	}
	close(stop)
	b.ReportMetric(float64(<-peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(size)/(1<<20), "xlsx-MB")
}

// BenchmarkReportPDF lays out and renders the report body of the same
// figures: the other half of the report's artifacts.
func BenchmarkReportPDF(b *testing.B) {
	s := service(b)
	f := bigFigures(500, 2000)
	n := DefaultNarrative(f)
	for b.Loop() {
		doc, err := s.Draft(f, n)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := render.PDF(layout(doc, f.AsOf)); err != nil {
			b.Fatal(err)
		}
	}
}

// countWriter counts the bytes written to it.
type countWriter int

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}
