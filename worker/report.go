package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/report"
)

// Task types of the quarterly report.
const (
	// TypeReportGenerate computes the figures of one report generation and
	// lays out its draft and annex workbook.
	TypeReportGenerate = "report:generate"
	// TypeReportsSweep requests the report of the quarter just ended on
	// the first working day after it, and enqueues again every generation
	// whose task was lost.
	TypeReportsSweep = "reports:sweep"
)

// ReportPayload names one generation of a report.
type ReportPayload struct {
	ReportID   int64 `json:"report_id"`
	Generation int   `json:"generation"`
}

// NewReportGenerateTask builds the task of one generation. Its ID is
// derived from the report and generation: a double click, a second
// scheduler or the sweep enqueue the same work once.
func NewReportGenerateTask(p ReportPayload) (*asynq.Task, []asynq.Option, error) {
	return newTask(TypeReportGenerate, p, reportTaskID(p),
		asynq.Queue(QueueDefault), asynq.MaxRetry(5), asynq.Timeout(10*time.Minute))
}

// reportTaskID is the task ID of one generation.
func reportTaskID(p ReportPayload) string {
	return TypeReportGenerate + ":" + strconv.FormatInt(p.ReportID, 10) + ":" + strconv.Itoa(p.Generation)
}

// NewReportsSweepTask builds the report sweep (every ten minutes).
func NewReportsSweepTask() *asynq.Task { return asynq.NewTask(TypeReportsSweep, nil) }

// ReportStore is what the report tasks need from the database
// (*store.Store).
type ReportStore interface {
	GetReport(ctx context.Context, id int64) (vanthu.Report, error)
	GetReportByPeriod(ctx context.Context, p vanthu.Period) (vanthu.Report, error)
	RequestReport(ctx context.Context, p vanthu.Period, createdBy int64, actor string) (vanthu.Report, error)
	GeneratingReports(ctx context.Context) ([]vanthu.Report, error)
	SetReportProgress(ctx context.Context, id int64, gen, progress int) (bool, error)
	FinishReport(ctx context.Context, id int64, gen int, f *vanthu.ReportFigures, n *vanthu.ReportNarrative, workbook []byte) (bool, error)
	FailReport(ctx context.Context, id int64, gen int, message string) error
	ReportFigures(ctx context.Context, p vanthu.Period, asOf time.Time) (vanthu.ReportFigures, error)
	EachCheckedPerson(ctx context.Context, p vanthu.Period, fn func(vanthu.CheckedPerson) error) error

	GetDocument(ctx context.Context, id int64) (vanthu.Document, error)
	// CreateReportDraft creates the BC draft of a generation and links it
	// to the report in one transaction; false when the generation is stale.
	CreateReportDraft(ctx context.Context, id int64, gen int, d *vanthu.Document, actor string) (bool, error)
	UpdateDraft(ctx context.Context, d *vanthu.Document, actor string) error
	GetUnitByCode(ctx context.Context, code string) (vanthu.Unit, error)
	GetUserByUsername(ctx context.Context, username string) (vanthu.User, error)
}

// ReportEnqueuer enqueues the generation a report is at (*Client).
type ReportEnqueuer interface {
	EnqueueReport(ctx context.Context, r vanthu.Report) error
}

// Reports holds what the report tasks need besides the store.
type Reports struct {
	Store  ReportStore
	Layout *report.Service
	Jobs   ReportEnqueuer
	// CutOff is the rule of the scheduled quarterly report
	// (VANTHU_REPORT_CUTOFF).
	CutOff vanthu.CutOff
	// Holidays besides weekends and the fixed ones (VANTHU_HOLIDAYS).
	Holidays vanthu.Holidays
	// Recipients are the codes of the units the report is addressed to
	// (VANTHU_REPORT_RECIPIENTS): the provincial leadership.
	Recipients []string
	// Owner is the user the scheduler's drafts are created by
	// (VANTHU_REPORT_OWNER).
	Owner string
}

// HandleReportGenerate runs one generation: the figures of the period in
// SQL, the annex workbook with every person checked streamed from the
// database, a first narrative proposed from the figures unless the clerk
// already wrote one, and the BC draft (created, or its body replaced while
// it is a draft). Progress is written as it goes, for the clerk's page. A
// task of a generation that is no longer current does nothing. When it
// fails for good (bad data, or retries exhausted) the report is marked
// failed with the reason, and the clerk can generate it again.
func (h *Handlers) HandleReportGenerate(ctx context.Context, t *asynq.Task) error {
	var p ReportPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	s := h.Reports
	r, err := s.Store.GetReport(ctx, p.ReportID)
	if err != nil {
		return err
	}
	if r.State != vanthu.ReportGenerating || r.Generation != p.Generation {
		return nil
	}
	err = s.generate(ctx, r, h.now(), h.Logger)
	if err == nil || errors.Is(err, errStaleGeneration) {
		return nil
	}
	if lastAttempt(ctx, err) {
		// A fresh context: the last attempt may have failed on its deadline.
		rec, cancel := recordContext(ctx)
		defer cancel()
		if ferr := s.Store.FailReport(rec, r.ID, r.Generation, vanthu.ErrorMessageOf(err)); ferr != nil {
			h.Logger.ErrorContext(ctx, "report: record failure", slog.Int64("report_id", r.ID), slog.String("error", ferr.Error()))
		}
	}
	return err
}

// errStaleGeneration stops a generation overtaken by a newer request.
var errStaleGeneration = errors.New("report generation overtaken")

func (s *Reports) generate(ctx context.Context, r vanthu.Report, now time.Time, log *slog.Logger) error {
	progress := func(n int) error {
		ok, err := s.Store.SetReportProgress(ctx, r.ID, r.Generation, n)
		if err == nil && !ok {
			return errStaleGeneration
		}
		return err
	}
	if err := progress(5); err != nil {
		return err
	}
	f, err := s.Store.ReportFigures(ctx, r.Period, now)
	if err != nil {
		return err
	}
	if err := progress(40); err != nil {
		return err
	}
	// The workbook, the long part, comes before the draft: when it fails,
	// the draft still matches the figures the report shows.
	var wb bytes.Buffer
	persons := func(ctx context.Context, fn func(vanthu.CheckedPerson) error) error {
		return s.Store.EachCheckedPerson(ctx, r.Period, fn)
	}
	if err := s.Layout.Workbook(ctx, &wb, f, persons); err != nil {
		return fmt.Errorf("report %d workbook: %w", r.ID, err)
	}
	if err := progress(90); err != nil {
		return err
	}
	var narrative *vanthu.ReportNarrative
	n := r.Narrative
	if n.Assessment == "" && n.Proposals == "" && len(n.NextTasks) == 0 {
		n = report.DefaultNarrative(f)
		narrative = &n
	}
	// No progress step between the draft and the finish: a draft issued
	// right after it was laid out gets the workbook that goes with it.
	if err := s.saveDraft(ctx, r, f, n, log); err != nil {
		return err
	}
	ok, err := s.Store.FinishReport(ctx, r.ID, r.Generation, &f, narrative, wb.Bytes())
	if err == nil && !ok {
		return errStaleGeneration
	}
	return err
}

// saveDraft lays out the report's BC draft from f and n. A draft made by
// an earlier generation, even one that failed later, keeps what the clerk
// set in it (the frame, the signer, the recipients) and gets the new
// subject and body; an issued or missing one is replaced by a new draft,
// linked to the report as it is created.
func (s *Reports) saveDraft(ctx context.Context, r vanthu.Report, f vanthu.ReportFigures, n vanthu.ReportNarrative, log *slog.Logger) error {
	d, err := s.Layout.Draft(f, n)
	if err != nil {
		return err
	}
	if r.DocumentID != 0 {
		old, err := s.Store.GetDocument(ctx, r.DocumentID)
		if err != nil && vanthu.ErrorCodeOf(err) != vanthu.ENotFound {
			return err
		}
		if err == nil && old.State == vanthu.StateDraft {
			old.Subject, old.Content.Body = d.Subject, d.Content.Body
			return s.Store.UpdateDraft(ctx, &old, "system")
		}
	}
	ids, err := s.recipients(ctx, r, log)
	if err != nil {
		return err
	}
	d.Content.Audience = vanthu.Audience{UnitIDs: ids}
	if d.CreatedBy = r.CreatedBy; d.CreatedBy == 0 {
		if d.CreatedBy, err = s.owner(ctx); err != nil {
			return err
		}
	}
	ok, err := s.Store.CreateReportDraft(ctx, r.ID, r.Generation, &d, "system")
	if err == nil && !ok {
		return errStaleGeneration
	}
	return err
}

// recipients resolves the configured leadership units. A code that names
// no unit is left out, with a warning for the administrator who set
// VANTHU_REPORT_RECIPIENTS; the clerk sees the audience on the draft and
// completes it before issuing.
func (s *Reports) recipients(ctx context.Context, r vanthu.Report, log *slog.Logger) ([]int64, error) {
	var ids []int64
	for _, code := range s.Recipients {
		u, err := s.Store.GetUnitByCode(ctx, code)
		if vanthu.ErrorCodeOf(err) == vanthu.ENotFound {
			log.WarnContext(ctx, "report recipient is not a unit", slog.Int64("report_id", r.ID), slog.String("unit_code", code))
			continue
		}
		if err != nil {
			return nil, err
		}
		ids = append(ids, u.ID)
	}
	return ids, nil
}

// owner is the user a scheduled report's draft is created by.
func (s *Reports) owner(ctx context.Context) (int64, error) {
	if s.Owner == "" {
		return 0, vanthu.Errorf(vanthu.EInvalid, "Chưa cấu hình tài khoản lập báo cáo định kỳ (VANTHU_REPORT_OWNER): hãy cấu hình, hoặc bấm “Lập lại” để lập báo cáo dưới tên mình.")
	}
	u, err := s.Store.GetUserByUsername(ctx, s.Owner)
	if vanthu.ErrorCodeOf(err) == vanthu.ENotFound {
		return 0, vanthu.Errorf(vanthu.EInvalid, "Tài khoản lập báo cáo định kỳ VANTHU_REPORT_OWNER=%q không có: hãy sửa cấu hình, hoặc bấm “Lập lại” để lập báo cáo dưới tên mình.", s.Owner)
	}
	if err != nil {
		return 0, fmt.Errorf("report owner %q: %w", s.Owner, err)
	}
	return u.ID, nil
}

// HandleReportsSweep runs every ten minutes. From the first working day after a
// quarter ends, it requests that quarter's report if there is none yet
// (a scheduler that was down that day catches up the next), and it
// enqueues again every generation still marked generating: the row is the
// truth, and the task ID makes a live task absorb the duplicate.
func (h *Handlers) HandleReportsSweep(ctx context.Context, _ *asynq.Task) error {
	s := h.Reports
	now := h.now()
	p := vanthu.LastEndedQuarter(now, s.cutOff())
	if !now.Before(s.Holidays.FirstWorkingDayAfter(p.LastDay())) {
		if _, err := s.Store.GetReportByPeriod(ctx, p); vanthu.ErrorCodeOf(err) == vanthu.ENotFound {
			r, err := s.Store.RequestReport(ctx, p, 0, "system")
			if err != nil {
				return err
			}
			h.Logger.InfoContext(ctx, "report requested", slog.String("period", p.Key()), slog.Int64("report_id", r.ID))
		} else if err != nil {
			return err
		}
	}
	pending, err := s.Store.GeneratingReports(ctx)
	if err != nil {
		return err
	}
	for _, r := range pending {
		if err := s.Jobs.EnqueueReport(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

func (s *Reports) cutOff() vanthu.CutOff {
	if s.CutOff == "" {
		return vanthu.CutOffCalendar
	}
	return s.CutOff
}
