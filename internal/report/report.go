// Package report turns the figures of a quarterly KLKCHC report
// (vanthu.ReportFigures, counted by the store) and the narrative the clerk
// writes (vanthu.ReportNarrative) into the two things the province
// receives (DOMAIN.md §5):
//
//   - the report itself, a BC document whose Markdown body is the
//     "report" document template executed with Data: direction and
//     dissemination, inspection results with summary tables, violations by
//     type with a bar chart (a "chart" block the renderer draws), handling,
//     then the clerk's assessment, next tasks and proposals. Draft makes it
//     an unsaved document; the clerk edits the narrative, and issuing
//     numbers and renders it like any other document;
//   - the annex workbook, the "annexes" Excel template filled by Workbook:
//     a summary sheet with charts, Biểu 1 to 4 and the detail sheet of
//     every person recorded, which is streamed from the store so that
//     100,000 persons are never in memory at once.
//
// Rates are printed as vanthu.Percent writes them ("78,54%"); comparisons
// are with Period.Previous, whose headline figures ReportFigures carries.
// The package knows the templates and the sheet engine, not the store or
// the queue.
package report

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/directive"
	"github.com/sonoivu/vanthu/internal/render/sheet"
	"github.com/sonoivu/vanthu/templates"
)

// Template names: the document template of the body and the Excel
// template of the annexes.
const (
	DocumentTemplate = "report"
	SheetTemplate    = "annexes"
	// DetailSheet is the sheet of the annex workbook fed by a PersonSource.
	DetailSheet = "Chi tiết"
)

// SubjectPrefix starts the subject (trích yếu) of every report; the
// period's label ends it.
const SubjectPrefix = "Kết quả thực hiện kỷ luật, kỷ cương hành chính "

// Service lays out reports from the templates.
type Service struct {
	Templates *templates.Set
}

// PersonSource streams the detail rows (the store's EachCheckedPerson bound
// to a period).
type PersonSource func(ctx context.Context, fn func(vanthu.CheckedPerson) error) error

// Body is the Markdown body of the report (report template executed with
// Data).
func (s *Service) Body(f vanthu.ReportFigures, n vanthu.ReportNarrative) (string, error) {
	body, err := s.Templates.Body(DocumentTemplate, Data(f, n))
	if err != nil {
		return "", fmt.Errorf("report: body: %w", err)
	}
	return body, nil
}

// Draft is an unsaved BC document draft: kind, type code, issuer and
// frame of the "report" template as directive.DraftFrom gives them to
// every draft, the subject "Kết quả thực hiện kỷ luật, kỷ cương hành
// chính " + the period's label, and Body(f, n).
func (s *Service) Draft(f vanthu.ReportFigures, n vanthu.ReportNarrative) (vanthu.Document, error) {
	body, err := s.Body(f, n)
	if err != nil {
		return vanthu.Document{}, err
	}
	d, err := directive.DraftFrom(s.Templates, DocumentTemplate, body)
	if err != nil {
		return d, fmt.Errorf("report: %w", err)
	}
	d.Subject = SubjectPrefix + f.Period.Label()
	return d, nil
}

// Data is the template data of the report document and the annex workbook
// values, built from f and n. Counts are ints, rates strings as
// vanthu.Percent writes them, dates "2006-01-02", comparisons phrases
// ("tăng 4", "giảm 1,25 điểm phần trăm") or signed numbers in tables
// ("+4", "-7"). The "report" template's sample data has exactly this
// shape.
func Data(f vanthu.ReportFigures, n vanthu.ReportNarrative) map[string]any {
	prev := f.Previous
	hasPrev := prev != nil
	if prev == nil {
		prev = &vanthu.ReportFigures{Period: f.Period.Previous()}
	}
	d, pd := f.Direction, prev.Direction
	in, pin := f.Inspections, prev.Inspections

	direction := directionData(d)
	direction["IssuedChange"] = change(d.Issued, pd.Issued)
	direction["AckRateChange"] = rateChange(d.Acknowledged(), d.Dispatches, pd.Acknowledged(), pd.Dispatches)
	direction["OnTimeRateChange"] = rateChange(d.AckOnTime, d.Dispatches, pd.AckOnTime, pd.Dispatches)

	inspections := inspectionData(in)
	var groups []any
	for _, g := range in.UnitsByGroup {
		groups = append(groups, map[string]any{"Code": g.Code, "Name": g.Name, "Count": g.Count})
	}
	inspections["UnitsByGroup"] = list(groups)
	inspections["TotalChange"] = change(in.Total, pin.Total)
	inspections["PresentRateChange"] = rateChange(in.Present, in.Listed, pin.Present, pin.Listed)
	inspections["UnexcusedChange"] = change(in.AbsentUnexcused, pin.AbsentUnexcused)
	inspections["ViolatorsChange"] = change(in.Violators, pin.Violators)

	summary := []any{
		summaryRow("Văn bản chỉ đạo ban hành", d.Issued, pd.Issued, "", 0, 0),
		summaryRow("Lượt văn bản gửi đến đơn vị", d.Dispatches, pd.Dispatches, "", 0, 0),
		summaryRow("Xác nhận đã nhận văn bản", d.Acknowledged(), pd.Acknowledged(), "rate", d.Dispatches, pd.Dispatches),
		summaryRow("Trong đó xác nhận đúng hạn", d.AckOnTime, pd.AckOnTime, "rate", d.Dispatches, pd.Dispatches),
		summaryRow("Số cuộc kiểm tra", in.Total, pin.Total, "", 0, 0),
		summaryRow("Số đơn vị được kiểm tra", in.Units, pin.Units, "", 0, 0),
		summaryRow("Số CBCCVC được kiểm tra", in.Listed, pin.Listed, "", 0, 0),
		summaryRow("Có mặt", in.Present, pin.Present, "rate", in.Listed, pin.Listed),
		summaryRow("Vắng có lý do", in.AbsentExcused(), pin.AbsentExcused(), "rate", in.Listed, pin.Listed),
		summaryRow("Vắng không có lý do", in.AbsentUnexcused, pin.AbsentUnexcused, "rate", in.Listed, pin.Listed),
		summaryRow("Đi muộn, về sớm", in.Late+in.LeftEarly, pin.Late+pin.LeftEarly, "rate", in.Listed, pin.Listed),
		summaryRow("Số người vi phạm", in.Violators, pin.Violators, "", 0, 0),
	}

	violations, violTotal, violPrev := compareCodes(f.Violations, prev.Violations)
	handling, handTotal, handPrev := compareCodes(f.Handling, prev.Handling)

	label := f.Period.Label()
	from, to := span(f)
	return map[string]any{
		"Period":          label,
		"PeriodName":      upperFirst(label),
		"PreviousPeriod":  f.Period.Previous().Label(),
		"PreviousName":    upperFirst(f.Period.Previous().Label()),
		"NextPeriod":      nextLabel(f.Period),
		"HasPrevious":     hasPrev,
		"Year":            f.Period.Year,
		"Quarter":         f.Period.Quarter,
		"From":            from.In(vanthu.Location).Format("2006-01-02"),
		"To":              to.Format("2006-01-02"),
		"AsOf":            asOf(f),
		"Direction":       direction,
		"Inspections":     inspections,
		"Summary":         summary,
		"Violations":      codeData(violations),
		"ViolationsTotal": map[string]any{"Count": violTotal, "Previous": violPrev, "Change": signed(violTotal - violPrev)},
		"Handling":        codeData(handling),
		"HandlingTotal":   map[string]any{"Count": handTotal, "Previous": handPrev, "Change": signed(handTotal - handPrev)},
		"Assessment":      paragraphs(n.Assessment),
		"NextTasks":       clean(n.NextTasks),
		"Proposals":       paragraphs(n.Proposals),
	}
}

// asOf is the time the milestones were counted at, RFC 3339 in Vietnam's
// time zone, or "" when unknown.
func asOf(f vanthu.ReportFigures) string {
	if f.AsOf.IsZero() {
		return ""
	}
	return f.AsOf.In(vanthu.Location).Format(time.RFC3339)
}

// list keeps an empty list a list (not null) in JSON, so that the sample
// and Data agree on the shape.
func list(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

func directionData(d vanthu.DirectionFigures) map[string]any {
	rate := func(n int) string { return vanthu.Percent(n, d.Dispatches) }
	return map[string]any{
		"Issued": d.Issued, "Dispatches": d.Dispatches, "Units": d.Units,
		"Received": d.Received, "ReceivedRate": rate(d.Received),
		"Read": d.Read, "ReadRate": rate(d.Read),
		"Acknowledged": d.Acknowledged(), "AckRate": rate(d.Acknowledged()),
		"AckOnTime": d.AckOnTime, "OnTimeRate": rate(d.AckOnTime),
		"AckLate": d.AckLate, "LateRate": rate(d.AckLate),
		"NotAcknowledged": d.NotAckd, "NotAckRate": rate(d.NotAckd),
		"BouncedFailed": d.BouncedFailed, "BouncedRate": rate(d.BouncedFailed),
	}
}

func inspectionData(in vanthu.InspectionFigures) map[string]any {
	rate := func(n int) string { return vanthu.Percent(n, in.Listed) }
	late := in.Late + in.LeftEarly
	return map[string]any{
		"Total": in.Total, "Scheduled": in.Scheduled, "Surprise": in.Surprise, "Units": in.Units,
		"Listed": in.Listed, "Present": in.Present, "PresentRate": rate(in.Present),
		"Absent": in.Absent(), "AbsentRate": rate(in.Absent()),
		"AbsentExcused": in.AbsentExcused(), "AbsentExcusedRate": rate(in.AbsentExcused()),
		"AbsentLeave": in.AbsentLeave, "AbsentAssignment": in.AbsentAssignment, "AbsentStudy": in.AbsentStudy,
		"AbsentUnexcused": in.AbsentUnexcused, "AbsentUnexcusedRate": rate(in.AbsentUnexcused),
		"Late": in.Late, "LeftEarly": in.LeftEarly, "LateOrEarly": late, "LateOrEarlyRate": rate(late),
		"Violators": in.Violators,
	}
}

// summaryRow is one line of the summary table: the figure of this period
// and of the previous one (with its rate of whole when kind is "rate"),
// and the change.
func summaryRow(name string, cur, prev int, kind string, whole, prevWhole int) map[string]any {
	c, p := number(cur), number(prev)
	if kind == "rate" {
		c += " (" + vanthu.Percent(cur, whole) + ")"
		p += " (" + vanthu.Percent(prev, prevWhole) + ")"
	}
	return map[string]any{"Name": name, "Current": c, "Previous": p, "Change": signed(cur - prev)}
}

// codeRow is one violation type or handling form with its count in this
// period and in the previous one.
type codeRow struct {
	Code, Name      string
	Count, Previous int
}

// compareCodes joins the counts of this period and the previous one by
// code, in this period's order then the codes found only before, and
// returns the rows with their totals.
func compareCodes(cur, prev []vanthu.CodeCount) (rows []codeRow, total, prevTotal int) {
	before := map[string]int{}
	for _, c := range prev {
		before[c.Code] += c.Count
		prevTotal += c.Count
	}
	seen := map[string]bool{}
	for _, c := range cur {
		seen[c.Code] = true
		total += c.Count
		rows = append(rows, codeRow{c.Code, c.Name, c.Count, before[c.Code]})
	}
	for _, c := range prev {
		if !seen[c.Code] {
			seen[c.Code] = true
			rows = append(rows, codeRow{c.Code, c.Name, 0, before[c.Code]})
		}
	}
	return rows, total, prevTotal
}

// codeData is rows as the report template reads them, with the change of
// each ("+4", "-7").
func codeData(rows []codeRow) []any {
	out := []any{}
	for _, r := range rows {
		out = append(out, map[string]any{"Code": r.Code, "Name": r.Name, "Count": r.Count, "Previous": r.Previous, "Change": signed(r.Count - r.Previous)})
	}
	return out
}

// codeSheetRows is rows as a sheet of the annex workbook records them,
// the name in the column named by nameKey.
func codeSheetRows(nameKey string, rows []codeRow) []map[string]any {
	var out []map[string]any
	for _, r := range rows {
		out = append(out, map[string]any{nameKey: r.Name, "Count": r.Count, "Previous": r.Previous})
	}
	return out
}

// change says how a count moved: "tăng 4", "giảm 3", "không thay đổi".
func change(cur, prev int) string {
	switch {
	case cur > prev:
		return "tăng " + number(cur-prev)
	case cur < prev:
		return "giảm " + number(prev-cur)
	}
	return "không thay đổi"
}

// rateChange says how a rate moved, in percentage points: "tăng 1,25 điểm
// phần trăm".
func rateChange(part, whole, prevPart, prevWhole int) string {
	diff := vanthu.BasisPoints(part, whole) - vanthu.BasisPoints(prevPart, prevWhole)
	pts := vanthu.Hundredths(max(diff, -diff)) + " điểm phần trăm"
	switch {
	case diff > 0:
		return "tăng " + pts
	case diff < 0:
		return "giảm " + pts
	}
	return "không thay đổi"
}

// signed writes a difference for a table: "+4", "-7", "0".
func signed(n int) string {
	if n > 0 {
		return "+" + number(n)
	}
	if n < 0 {
		return "-" + number(-n)
	}
	return "0"
}

// number groups thousands with ".", as the templates' num does.
func number(n int) string {
	s, _ := templates.Number(n) // an int is always a number
	return s
}

// paragraphs splits clerk text into paragraphs at line breaks, dropping
// blank ones: the template prints each as a paragraph of its own.
func paragraphs(s string) []string {
	out := []string{}
	for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// clean trims list entries and drops blank ones.
func clean(in []string) []string {
	out := []string{}
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// upperFirst capitalises a label for a heading or a column: "Quý IV năm
// 2026".
func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// nextLabel names the period after p for the tasks ahead: the next
// quarter, or the rest of the year, or next year.
func nextLabel(p vanthu.Period) string {
	switch p.Kind {
	case vanthu.PeriodQuarter:
		if p.Quarter == 4 {
			return vanthu.QuarterPeriod(p.Year+1, 1, p.CutOff).Label()
		}
		return vanthu.QuarterPeriod(p.Year, p.Quarter+1, p.CutOff).Label()
	case vanthu.PeriodHalf:
		return "6 tháng cuối năm " + strconv.Itoa(p.Year)
	case vanthu.PeriodNineMonths:
		return "quý IV năm " + strconv.Itoa(p.Year)
	}
	return "năm " + strconv.Itoa(p.Year+1)
}

// DefaultNarrative proposes a first narrative from the figures: an
// assessment comparing with the previous period, the usual tasks ahead
// and a proposal, for the clerk to edit.
func DefaultNarrative(f vanthu.ReportFigures) vanthu.ReportNarrative {
	in, d := f.Inspections, f.Direction
	label := f.Period.Label()
	var a []string
	if in.Total > 0 {
		a = append(a, fmt.Sprintf("Trong %s, các cơ quan, đơn vị được kiểm tra cơ bản chấp hành kỷ luật, kỷ cương hành chính; tỷ lệ cán bộ, công chức, viên chức có mặt tại thời điểm kiểm tra đạt %s, vắng không có lý do %s người (%s).",
			label, vanthu.Percent(in.Present, in.Listed), number(in.AbsentUnexcused), vanthu.Percent(in.AbsentUnexcused, in.Listed)))
	} else {
		a = append(a, fmt.Sprintf("Trong %s, chưa có cuộc kiểm tra nào được hoàn tất.", label))
	}
	if p := f.Previous; p != nil && in.Total > 0 {
		pi := p.Inspections
		a = append(a, fmt.Sprintf("So với %s, tỷ lệ có mặt %s; số người vắng không có lý do %s; số người vi phạm %s.",
			f.Period.Previous().Label(), rateChange(in.Present, in.Listed, pi.Present, pi.Listed),
			change(in.AbsentUnexcused, pi.AbsentUnexcused), change(in.Violators, pi.Violators)))
	}
	top := vanthu.CodeCount{}
	for _, v := range f.Violations {
		if v.Count > top.Count {
			top = v
		}
	}
	if top.Count > 0 {
		a = append(a, fmt.Sprintf("Vi phạm phổ biến nhất là %s (%s trường hợp).", templates.LowerFirst(top.Name), number(top.Count)))
	}
	if d.Dispatches > 0 {
		s := fmt.Sprintf("Tỷ lệ văn bản chỉ đạo được xác nhận đúng hạn đạt %s", vanthu.Percent(d.AckOnTime, d.Dispatches))
		if d.NotAckd > 0 {
			s += fmt.Sprintf("; còn %s lượt văn bản chưa được xác nhận", number(d.NotAckd))
		}
		a = append(a, s+".")
	}

	tasks := []string{"Tiếp tục kiểm tra đột xuất việc chấp hành kỷ luật, kỷ cương hành chính, tập trung vào các cơ quan, đơn vị có cán bộ, công chức, viên chức vi phạm trong kỳ."}
	if d.NotAckd > 0 {
		tasks = append(tasks, fmt.Sprintf("Đôn đốc các cơ quan, đơn vị xác nhận tiếp nhận văn bản chỉ đạo đúng hạn (còn %s lượt chưa xác nhận).", number(d.NotAckd)))
	}
	if in.Violators > 0 {
		tasks = append(tasks, "Theo dõi, đôn đốc việc xử lý các trường hợp vi phạm và báo cáo kết quả khắc phục.")
	}
	tasks = append(tasks, "Tổng hợp, báo cáo kết quả thực hiện kỷ luật, kỷ cương hành chính "+nextLabel(f.Period)+".")

	proposal := "Đề nghị Ủy ban nhân dân tỉnh tiếp tục chỉ đạo thủ trưởng các cơ quan, đơn vị duy trì nghiêm kỷ luật, kỷ cương hành chính."
	if in.Violators > 0 {
		proposal = "Đề nghị Ủy ban nhân dân tỉnh chỉ đạo thủ trưởng các cơ quan, đơn vị có cán bộ, công chức, viên chức vi phạm tổ chức kiểm điểm, xử lý theo quy định và chịu trách nhiệm liên đới theo Chỉ thị của Ủy ban nhân dân tỉnh."
	}
	return vanthu.ReportNarrative{Assessment: strings.Join(a, " "), NextTasks: tasks, Proposals: proposal}
}

// Workbook writes the annex workbook: the "annexes" template filled with
// WorkbookData, the detail sheet streamed from persons.
func (s *Service) Workbook(ctx context.Context, w io.Writer, f vanthu.ReportFigures, persons PersonSource) error {
	d := WorkbookData(f)
	if persons != nil {
		d.Sources = map[string]sheet.RowSource{DetailSheet: personRows(persons)}
	}
	if err := s.Templates.StreamSheet(ctx, SheetTemplate, d, w); err != nil {
		return fmt.Errorf("report: workbook: %w", err)
	}
	return nil
}

// personRows adapts a PersonSource to the sheet engine, one record map
// reused for every person.
func personRows(persons PersonSource) sheet.RowSource {
	return func(ctx context.Context, yield func(map[string]any) error) error {
		rec := make(map[string]any, 8)
		return persons(ctx, func(p vanthu.CheckedPerson) error {
			rec["Unit"] = p.UnitName
			rec["StartedAt"] = wall(p.StartedAt)
			rec["Name"] = p.Name
			rec["Position"] = p.Position
			rec["Section"] = p.Section
			rec["Violation"] = p.Violation
			rec["Explanation"] = p.Explanation
			rec["Inspection"] = p.InspectionID
			return yield(rec)
		})
	}
}

// wall is t in Vietnam's time zone, which the sheet engine writes as the
// wall clock; the zero time stays zero (an empty cell).
func wall(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(vanthu.Location)
}

// form names the kind of an inspection in Biểu 1.
func form(surprise bool) string {
	if surprise {
		return "Đột xuất"
	}
	return "Theo kế hoạch"
}

// span is the first and last day the figures cover: those they were
// computed for, or the period's when f does not say.
func span(f vanthu.ReportFigures) (from, to time.Time) {
	from = f.From
	if from.IsZero() {
		from, _ = f.Period.Range()
	}
	to = f.Period.LastDay()
	if !f.Until.IsZero() {
		to = f.Until.In(vanthu.Location).AddDate(0, 0, -1)
	}
	return from, to
}

// WorkbookData is the annex workbook's values and the records of every
// sheet but the detail sheet, from f. Rates are fractions, for the
// template's percent format.
func WorkbookData(f vanthu.ReportFigures) sheet.Data {
	prev := f.Previous
	if prev == nil {
		prev = &vanthu.ReportFigures{}
	}
	d, pd := f.Direction, prev.Direction
	in, pin := f.Inspections, prev.Inspections
	from, to := span(f)
	values := map[string]any{
		"Period":     f.Period.Label(),
		"PeriodName": upperFirst(f.Period.Label()),
		"From":       from.In(vanthu.Location),
		"To":         to,
		"AsOf":       wall(f.AsOf),
	}
	fig := func(key string, cur, old int) {
		values[key] = cur
		values["Prev"+key] = old
	}
	fig("Issued", d.Issued, pd.Issued)
	fig("Dispatches", d.Dispatches, pd.Dispatches)
	fig("Received", d.Received, pd.Received)
	fig("Read", d.Read, pd.Read)
	fig("AckOnTime", d.AckOnTime, pd.AckOnTime)
	fig("AckLate", d.AckLate, pd.AckLate)
	fig("NotAcknowledged", d.NotAckd, pd.NotAckd)
	fig("Inspections", in.Total, pin.Total)
	fig("Scheduled", in.Scheduled, pin.Scheduled)
	fig("Surprise", in.Surprise, pin.Surprise)
	fig("Units", in.Units, pin.Units)
	fig("Listed", in.Listed, pin.Listed)
	fig("Present", in.Present, pin.Present)
	fig("AbsentExcused", in.AbsentExcused(), pin.AbsentExcused())
	fig("AbsentUnexcused", in.AbsentUnexcused, pin.AbsentUnexcused)
	fig("LateOrEarly", in.Late+in.LeftEarly, pin.Late+pin.LeftEarly)
	fig("Violators", in.Violators, pin.Violators)
	values["PresentRate"] = fraction(in.Present, in.Listed)
	values["PrevPresentRate"] = fraction(pin.Present, pin.Listed)

	var b1, b2, b4 []map[string]any
	for _, r := range f.InspectionRows {
		b1 = append(b1, map[string]any{
			"Unit": r.UnitName, "Date": wall(r.StartedAt), "Form": form(r.Surprise), "Staff": r.Listed, "Present": r.Present,
			"AbsentExcused": r.AbsentExcused, "AbsentUnexcused": r.AbsentUnexcused, "Late": r.Late, "Violators": r.Violators,
		})
	}
	for _, r := range f.UnitViolations {
		b2 = append(b2, map[string]any{"Unit": r.UnitName, "Violation": r.Name, "Count": r.Count})
	}
	handling, _, _ := compareCodes(f.Handling, prev.Handling)
	b3 := codeSheetRows("Handling", handling)
	for _, r := range f.ReceiptRows {
		b4 = append(b4, map[string]any{
			"Unit": r.UnitName, "Documents": r.Dispatches, "Received": r.Received, "Read": r.Read,
			"Acknowledged": r.Acknowledged, "Late": r.Late, "Overdue": r.Overdue,
		})
	}
	violations, _, _ := compareCodes(f.Violations, prev.Violations)
	sum := codeSheetRows("Violation", violations)
	return sheet.Data{
		Values: values,
		Rows: map[string][]map[string]any{
			"Tổng hợp": sum, "Biểu 1": b1, "Biểu 2": b2, "Biểu 3": b3, "Biểu 4": b4,
			// Present and empty, so that the detail sheet never falls back
			// on records meant for another sheet.
			DetailSheet: {},
		},
	}
}

// fraction is part/whole for a percent cell, 0 when whole is 0.
func fraction(part, whole int) float64 {
	if whole <= 0 {
		return 0
	}
	return float64(part) / float64(whole)
}
