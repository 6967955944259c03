package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/sonoivu/vanthu"
)

// Quarterly reports, for clerks: generate the report of a period (a task
// does the work; the page shows its progress), edit the narrative, read
// the PDF and the annex workbook, and issue the BC draft from the
// document's page, which sends it like any directive.

// ReportStore keeps the reports (satisfied by *store.Store).
type ReportStore interface {
	ListReports(ctx context.Context, limit int) ([]vanthu.Report, error)
	GetReport(ctx context.Context, id int64) (vanthu.Report, error)
	// RequestReport creates the report of a period or starts a new
	// generation of it; EConflict once it is issued.
	RequestReport(ctx context.Context, p vanthu.Period, createdBy int64, actor string) (vanthu.Report, error)
	SaveReportNarrative(ctx context.Context, id int64, n vanthu.ReportNarrative, actor string) error
	ReportWorkbook(ctx context.Context, id int64) ([]byte, error)
}

// ReportLayout lays out a report's body from its figures and narrative
// (internal/report.Service).
type ReportLayout interface {
	Body(f vanthu.ReportFigures, n vanthu.ReportNarrative) (string, error)
}

// Limits of the narrative a clerk writes.
const (
	maxNarrativeText  = 20_000
	maxNarrativeTasks = 30
)

func (s *Server) reports() (ReportStore, error) {
	if s.cfg.Reports == nil {
		return nil, vanthu.Errorf(vanthu.EUnavailable, "Chức năng báo cáo chưa được cấu hình.")
	}
	return s.cfg.Reports, nil
}

// reportJSON is a report as the API shows it, with labels for UIs.
type reportJSON struct {
	vanthu.Report
	Label      string `json:"label"`
	StateLabel string `json:"state_label"`
}

func reportView(r vanthu.Report) reportJSON {
	return reportJSON{Report: r, Label: reportTitle(r.Period), StateLabel: reportStateLabel(r.State)}
}

// reportTitle is the period as a heading: "Báo cáo quý IV năm 2026".
func reportTitle(p vanthu.Period) string {
	t := "Báo cáo " + p.Label()
	if p.CutOff == vanthu.CutOff15th {
		t += " (chốt số liệu ngày 14)"
	}
	return t
}

func reportStateLabel(st vanthu.ReportState) string {
	switch st {
	case vanthu.ReportGenerating:
		return "Đang lập"
	case vanthu.ReportReady:
		return "Đã lập, chờ ban hành"
	case vanthu.ReportFailed:
		return "Lập không thành công"
	case vanthu.ReportIssued:
		return "Đã ban hành"
	}
	return string(st)
}

// periodInput is what a client asks to generate.
type periodInput struct {
	Year    int    `json:"year"`
	Kind    string `json:"kind"`    // quy (default), 6-thang, 9-thang, nam
	Quarter int    `json:"quarter"` // 1–4 for a quarter
	CutOff  string `json:"cutoff"`  // calendar or 15-14; default: the configured rule
}

func (s *Server) period(in periodInput) (vanthu.Period, error) {
	p := vanthu.Period{Year: in.Year, Kind: vanthu.PeriodKind(in.Kind), Quarter: in.Quarter, CutOff: vanthu.CutOff(in.CutOff)}
	if p.Kind == "" {
		p.Kind = vanthu.PeriodQuarter
	}
	if p.CutOff == "" {
		p.CutOff = s.cutOff()
	}
	return p, p.Validate(s.now())
}

func (s *Server) cutOff() vanthu.CutOff {
	if s.cfg.ReportCutOff == "" {
		return vanthu.CutOffCalendar
	}
	return s.cfg.ReportCutOff
}

// requestReport asks for the report of p, a valid period, and enqueues
// its generation. A failed enqueue does not undo the request: the row
// says generating, and the worker's sweep enqueues it within ten minutes.
func (s *Server) requestReport(r *http.Request, p vanthu.Period) (vanthu.Report, error) {
	rs, err := s.reports()
	if err != nil {
		return vanthu.Report{}, err
	}
	me, _ := userFrom(r.Context())
	rep, err := rs.RequestReport(r.Context(), p, me.ID, me.Username)
	if err != nil {
		return rep, fmt.Errorf("request report %s: %w", p.Key(), err)
	}
	if err := s.jobs.EnqueueReport(r.Context(), rep); err != nil {
		s.log.ErrorContext(r.Context(), "enqueue report failed; the sweep will", slog.Int64("report_id", rep.ID), slog.String("error", err.Error()))
	}
	return rep, nil
}

func (s *Server) apiListReports(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.reports()
	if err != nil {
		return err
	}
	list, err := rs.ListReports(r.Context(), 0)
	if err != nil {
		return fmt.Errorf("list reports: %w", err)
	}
	out := make([]reportJSON, len(list))
	for i, rep := range list {
		out[i] = reportView(rep)
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"reports": out})
	return nil
}

func (s *Server) apiCreateReport(w http.ResponseWriter, r *http.Request) error {
	var in periodInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	// Unconfigured reports answer 503 before the period is judged.
	if _, err := s.reports(); err != nil {
		return err
	}
	p, err := s.period(in)
	if err != nil {
		return err
	}
	rep, err := s.requestReport(r, p)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusAccepted, reportView(rep))
	return nil
}

func (s *Server) pathReport(r *http.Request) (vanthu.Report, error) {
	rs, err := s.reports()
	if err != nil {
		return vanthu.Report{}, err
	}
	id, err := pathID(r)
	if err != nil {
		return vanthu.Report{}, err
	}
	rep, err := rs.GetReport(r.Context(), id)
	if err != nil {
		return rep, fmt.Errorf("get report %d: %w", id, err)
	}
	return rep, nil
}

// apiGetReport answers a report. With ?figures=false it leaves the figures
// out: the page polling a generation's progress once a second does not
// need the last generation's figures, hundreds of kilobytes for a
// province, every time.
func (s *Server) apiGetReport(w http.ResponseWriter, r *http.Request) error {
	withFigures := true
	if v := r.URL.Query().Get("figures"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return vanthu.Invalid("Tham số figures phải là true hoặc false.", vanthu.Problem{Field: "figures", Message: "Phải là true hoặc false."})
		}
		withFigures = b
	}
	rep, err := s.pathReport(r)
	if err != nil {
		return err
	}
	if !withFigures {
		rep.Figures = nil
	}
	s.writeJSON(w, r, http.StatusOK, reportView(rep))
	return nil
}

// regenerate asks for a new generation of the report at the path, whose
// period was checked when it was first asked for.
func (s *Server) regenerate(r *http.Request) (vanthu.Report, error) {
	rep, err := s.pathReport(r)
	if err != nil {
		return rep, err
	}
	return s.requestReport(r, rep.Period)
}

func (s *Server) apiRegenerateReport(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.regenerate(r)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusAccepted, reportView(rep))
	return nil
}

// narrativeInput is the clerk's sections III–V.
type narrativeInput struct {
	Assessment string   `json:"assessment"`
	NextTasks  []string `json:"next_tasks"`
	Proposals  string   `json:"proposals"`
}

func (in narrativeInput) narrative() (vanthu.ReportNarrative, error) {
	n := vanthu.ReportNarrative{Assessment: strings.TrimSpace(in.Assessment), Proposals: strings.TrimSpace(in.Proposals), NextTasks: []string{}}
	for _, t := range in.NextTasks {
		if t = strings.TrimSpace(t); t != "" {
			n.NextTasks = append(n.NextTasks, t)
		}
	}
	var ps []vanthu.Problem
	if len(n.Assessment) > maxNarrativeText {
		ps = append(ps, vanthu.Problem{Field: "assessment", Message: "Phần đánh giá chung quá dài."})
	}
	if len(n.Proposals) > maxNarrativeText {
		ps = append(ps, vanthu.Problem{Field: "proposals", Message: "Phần đề xuất, kiến nghị quá dài."})
	}
	if len(n.NextTasks) > maxNarrativeTasks {
		ps = append(ps, vanthu.Problem{Field: "next_tasks", Message: fmt.Sprintf("Tối đa %d nhiệm vụ quý tới.", maxNarrativeTasks)})
	}
	for i, t := range n.NextTasks {
		if len(t) > maxNarrativeText {
			ps = append(ps, vanthu.Problem{Field: "next_tasks", Message: fmt.Sprintf("Nhiệm vụ thứ %d quá dài.", i+1)})
		}
	}
	if len(ps) > 0 {
		return n, vanthu.Invalid("Nội dung báo cáo chưa hợp lệ.", ps...)
	}
	return n, nil
}

// saveNarrative stores the clerk's narrative of the report at the path
// and lays its draft out again with it: the draft's body is written
// first, so that a report never claims a narrative its draft lacks.
func (s *Server) saveNarrative(r *http.Request, in narrativeInput) (vanthu.Report, error) {
	rs, err := s.reports()
	if err != nil {
		return vanthu.Report{}, err
	}
	rep, err := s.pathReport(r)
	if err != nil {
		return rep, err
	}
	n, err := in.narrative()
	if err != nil {
		return rep, err
	}
	switch {
	case rep.State == vanthu.ReportIssued:
		return rep, vanthu.Errorf(vanthu.EConflict, "Báo cáo đã được ban hành, không thể sửa.")
	case rep.Figures == nil || rep.DocumentID == 0 || rep.State == vanthu.ReportGenerating:
		return rep, vanthu.Errorf(vanthu.EConflict, "Báo cáo chưa lập xong, vui lòng chờ rồi sửa.")
	case s.cfg.ReportLayout == nil:
		return rep, vanthu.Errorf(vanthu.EUnavailable, "Chức năng báo cáo chưa được cấu hình.")
	}
	body, err := s.cfg.ReportLayout.Body(*rep.Figures, n)
	if err != nil {
		return rep, fmt.Errorf("lay out report %d: %w", rep.ID, err)
	}
	me, _ := userFrom(r.Context())
	doc, err := s.store.GetDocument(r.Context(), rep.DocumentID)
	if err != nil {
		return rep, fmt.Errorf("report %d draft: %w", rep.ID, err)
	}
	doc.Content.Body = body
	if err := s.store.UpdateDraft(r.Context(), &doc, me.Username); err != nil {
		return rep, fmt.Errorf("report %d draft: %w", rep.ID, err)
	}
	if err := rs.SaveReportNarrative(r.Context(), rep.ID, n, me.Username); err != nil {
		return rep, fmt.Errorf("save report %d narrative: %w", rep.ID, err)
	}
	rep.Narrative = n
	return rep, nil
}

func (s *Server) apiSaveNarrative(w http.ResponseWriter, r *http.Request) error {
	var in narrativeInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	rep, err := s.saveNarrative(r, in)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, reportView(rep))
	return nil
}

// reportFileStem names the report's files: "bao-cao-2026-quy-4-calendar".
func reportFileStem(rep vanthu.Report) string { return "bao-cao-" + rep.Period.Key() }

// apiReportPDF answers the issued PDF of an issued report, and a preview
// of its draft before.
func (s *Server) apiReportPDF(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.pathReport(r)
	if err != nil {
		return err
	}
	if rep.DocumentID == 0 {
		return vanthu.Errorf(vanthu.ENotFound, "Báo cáo chưa lập xong, chưa có bản PDF.")
	}
	if rep.State == vanthu.ReportIssued {
		a, data, err := s.artifact(r.Context(), rep.DocumentID)
		if err != nil {
			return err
		}
		return serveFile(w, a.ContentType, a.Name, true, data)
	}
	doc, err := s.store.GetDocument(r.Context(), rep.DocumentID)
	if err != nil {
		return fmt.Errorf("report %d draft: %w", rep.ID, err)
	}
	pdf, err := s.preview(r.Context(), doc)
	if err != nil {
		return err
	}
	return serveFile(w, contentTypePDF, reportFileStem(rep)+"-du-thao.pdf", true, pdf)
}

func (s *Server) apiReportXLSX(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.reports()
	if err != nil {
		return err
	}
	rep, err := s.pathReport(r)
	if err != nil {
		return err
	}
	data, err := rs.ReportWorkbook(r.Context(), rep.ID)
	if err != nil {
		return fmt.Errorf("report %d workbook: %w", rep.ID, err)
	}
	return serveFile(w, contentTypeXLSX, reportFileStem(rep)+"-phu-luc.xlsx", true, data)
}

// reportsPage is the data of the list page.
type reportsPage struct {
	Reports  []reportJSON
	Form     periodInput
	CanEdit  bool
	Error    string
	Problems []vanthu.Problem
}

const reportsTitle = "Báo cáo kỷ luật, kỷ cương hành chính"

func (s *Server) reportsPage(r *http.Request, form periodInput) (reportsPage, error) {
	rs, err := s.reports()
	if err != nil {
		return reportsPage{}, err
	}
	list, err := rs.ListReports(r.Context(), 0)
	if err != nil {
		return reportsPage{}, fmt.Errorf("list reports: %w", err)
	}
	me, _ := userFrom(r.Context())
	p := reportsPage{Form: form, CanEdit: me.Role.Allowed(editors...)}
	for _, rep := range list {
		p.Reports = append(p.Reports, reportView(rep))
	}
	return p, nil
}

func (s *Server) pageReports(w http.ResponseWriter, r *http.Request) error {
	last := vanthu.LastEndedQuarter(s.now(), s.cutOff())
	p, err := s.reportsPage(r, periodInput{Year: last.Year, Kind: string(vanthu.PeriodQuarter), Quarter: last.Quarter, CutOff: string(s.cutOff())})
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "reports", reportsTitle, p)
}

func (s *Server) pageCreateReport(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return bodyError(err)
	}
	f := r.PostForm
	in := periodInput{Kind: f.Get("kind"), CutOff: f.Get("cutoff")}
	var ps []vanthu.Problem
	if y, err := strconv.Atoi(strings.TrimSpace(f.Get("year"))); err != nil {
		ps = append(ps, vanthu.Problem{Field: "year", Message: "Năm phải là số, ví dụ 2026."})
	} else {
		in.Year = y
	}
	if in.Kind == "" || in.Kind == string(vanthu.PeriodQuarter) {
		if q, err := strconv.Atoi(f.Get("quarter")); err == nil {
			in.Quarter = q
		}
	}
	var rep vanthu.Report
	var cerr error
	if len(ps) > 0 {
		cerr = vanthu.Invalid("Kỳ báo cáo không hợp lệ.", ps...)
	} else if p, perr := s.period(in); perr != nil {
		cerr = perr
	} else {
		rep, cerr = s.requestReport(r, p)
	}
	switch code := vanthu.ErrorCodeOf(cerr); code {
	case "":
		http.Redirect(w, r, "/reports/"+strconv.FormatInt(rep.ID, 10), http.StatusSeeOther)
		return nil
	case vanthu.EInvalid, vanthu.EConflict:
		p, err := s.reportsPage(r, in)
		if err != nil {
			return err
		}
		p.Error, p.Problems = vanthu.ErrorMessageOf(cerr), vanthu.ProblemsOf(cerr)
		return s.render(w, r, vanthu.HTTPStatus(code), "reports", reportsTitle, p)
	default:
		return cerr
	}
}

// reportPage is the data of one report's page.
type reportPage struct {
	Report   reportJSON
	Rows     []figureRow
	Tasks    string // next tasks, one per line, for the textarea
	Span     string // "từ ngày 01/10/2026 đến ngày 31/12/2026"
	CanEdit  bool
	Notice   string
	Error    string
	Problems []vanthu.Problem
}

// figureRow is one headline figure with the previous period's.
type figureRow struct {
	Label           string
	Value, Previous string
	HasPrevious     bool
}

// headline lists the figures the page shows, the same the report's
// sections state.
func headline(f *vanthu.ReportFigures) []figureRow {
	if f == nil {
		return nil
	}
	prev := f.Previous
	if prev == nil {
		prev = &vanthu.ReportFigures{}
	}
	n := func(label string, get func(*vanthu.ReportFigures) int) figureRow {
		return figureRow{Label: label, Value: strconv.Itoa(get(f)), Previous: strconv.Itoa(get(prev)), HasPrevious: f.Previous != nil}
	}
	rate := func(label string, part, whole func(*vanthu.ReportFigures) int) figureRow {
		return figureRow{Label: label, Value: vanthu.Percent(part(f), whole(f)), Previous: vanthu.Percent(part(prev), whole(prev)), HasPrevious: f.Previous != nil}
	}
	d := func(g func(vanthu.DirectionFigures) int) func(*vanthu.ReportFigures) int {
		return func(x *vanthu.ReportFigures) int { return g(x.Direction) }
	}
	in := func(g func(vanthu.InspectionFigures) int) func(*vanthu.ReportFigures) int {
		return func(x *vanthu.ReportFigures) int { return g(x.Inspections) }
	}
	return []figureRow{
		n("Văn bản chỉ đạo đã ban hành", d(func(x vanthu.DirectionFigures) int { return x.Issued })),
		n("Lượt gửi tới đơn vị", d(func(x vanthu.DirectionFigures) int { return x.Dispatches })),
		n("Xác nhận đúng hạn", d(func(x vanthu.DirectionFigures) int { return x.AckOnTime })),
		n("Xác nhận trễ hạn", d(func(x vanthu.DirectionFigures) int { return x.AckLate })),
		n("Chưa xác nhận", d(func(x vanthu.DirectionFigures) int { return x.NotAckd })),
		n("Cuộc kiểm tra", in(func(x vanthu.InspectionFigures) int { return x.Total })),
		n("Trong đó đột xuất", in(func(x vanthu.InspectionFigures) int { return x.Surprise })),
		n("Đơn vị được kiểm tra", in(func(x vanthu.InspectionFigures) int { return x.Units })),
		n("CBCCVC được kiểm tra", in(func(x vanthu.InspectionFigures) int { return x.Listed })),
		rate("Tỷ lệ có mặt", in(func(x vanthu.InspectionFigures) int { return x.Present }), in(func(x vanthu.InspectionFigures) int { return x.Listed })),
		n("Vắng không có lý do", in(func(x vanthu.InspectionFigures) int { return x.AbsentUnexcused })),
		n("Người vi phạm được ghi nhận", in(func(x vanthu.InspectionFigures) int { return x.Violators })),
	}
}

func (s *Server) reportPage(r *http.Request, rep vanthu.Report) reportPage {
	me, _ := userFrom(r.Context())
	return reportPage{
		Report: reportView(rep), Rows: headline(rep.Figures),
		Tasks:   strings.Join(rep.Narrative.NextTasks, "\n"),
		Span:    periodSpan(rep.Period),
		CanEdit: me.Role.Allowed(editors...) && rep.State != vanthu.ReportIssued,
	}
}

func (s *Server) pageReport(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.pathReport(r)
	if err != nil {
		return err
	}
	p := s.reportPage(r, rep)
	if r.URL.Query().Get("saved") != "" {
		p.Notice = "Đã lưu nội dung và cập nhật dự thảo báo cáo."
	}
	return s.render(w, r, http.StatusOK, "report_view", reportTitle(rep.Period), p)
}

func (s *Server) pageRegenerateReport(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.regenerate(r)
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/reports/"+strconv.FormatInt(rep.ID, 10), http.StatusSeeOther)
	return nil
}

func (s *Server) pageSaveNarrative(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return bodyError(err)
	}
	f := r.PostForm
	in := narrativeInput{Assessment: f.Get("assessment"), Proposals: f.Get("proposals"), NextTasks: strings.Split(f.Get("next_tasks"), "\n")}
	rep, serr := s.saveNarrative(r, in)
	switch code := vanthu.ErrorCodeOf(serr); code {
	case "":
		http.Redirect(w, r, "/reports/"+strconv.FormatInt(rep.ID, 10)+"?saved=1", http.StatusSeeOther)
		return nil
	case vanthu.EInvalid, vanthu.EConflict:
		if rep.ID == 0 {
			return serr
		}
		p := s.reportPage(r, rep)
		p.Report.Narrative = vanthu.ReportNarrative{Assessment: in.Assessment, Proposals: in.Proposals}
		p.Tasks = f.Get("next_tasks")
		p.Error, p.Problems = vanthu.ErrorMessageOf(serr), vanthu.ProblemsOf(serr)
		return s.render(w, r, vanthu.HTTPStatus(code), "report_view", reportTitle(rep.Period), p)
	default:
		return serr
	}
}

// periodSpan states the dates a period covers.
func periodSpan(p vanthu.Period) string {
	from, _ := p.Range()
	return "từ ngày " + from.Format("02/01/2006") + " đến ngày " + p.LastDay().Format("02/01/2006")
}
