package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/sonoivu/vanthu"
)

// Reports: one row per period (migrations/*/0006_reports.sql). Generating
// is a task (worker.HandleReportGenerate) that reads the figures, lays out
// the draft and the workbook, and ends with FinishReport or FailReport for
// the generation it was enqueued for. The row is the truth: a generation
// whose task was lost is still 'generating' and the sweep enqueues it
// again.

func reportSubject(id int64) string { return "report:" + strconv.FormatInt(id, 10) }

func errReportNotFound() *vanthu.Error {
	return vanthu.Errorf(vanthu.ENotFound, "Không tìm thấy báo cáo.")
}

func errReportIssued() *vanthu.Error {
	return vanthu.Errorf(vanthu.EConflict, "Báo cáo đã được ban hành, không thể lập lại hay sửa; muốn đính chính hãy lập văn bản mới.")
}

// reportColumns are read by scanReport; the document's state says whether
// the report was issued.
const reportColumns = `r.id, r.year, r.kind, r.quarter, r.cutoff, r.state, r.generation, r.progress, r.error,
	r.narrative, r.document_id, r.created_by, r.created_at, r.updated_at, COALESCE(d.state, ''),
	CASE WHEN r.workbook IS NULL THEN 0 ELSE 1 END`

// notIssued is true of a reports row whose document is not issued: once
// the clerk issues the draft, a generation at work stops and changes
// nothing more.
const notIssued = `NOT EXISTS (SELECT 1 FROM documents d WHERE d.id = reports.document_id AND d.state = 'issued')`

const reportFrom = ` FROM reports r LEFT JOIN documents d ON d.id = r.document_id`

// periodCond selects the report of a period (periodArgs), the table's
// unique key.
const periodCond = "r.year = ? AND r.kind = ? AND r.quarter = ? AND r.cutoff = ?"

func periodArgs(p vanthu.Period) []any {
	return []any{p.Year, string(p.Kind), p.Quarter, string(p.CutOff)}
}

func scanReport(sc scanner, figures *sql.NullString) (vanthu.Report, error) {
	var (
		r                vanthu.Report
		kind, cutoff, st string
		narrative, docSt string
		doc, by          sql.NullInt64
		created, updated int64
		workbook         int
	)
	dest := []any{&r.ID, &r.Period.Year, &kind, &r.Period.Quarter, &cutoff, &st, &r.Generation, &r.Progress, &r.Error,
		&narrative, &doc, &by, &created, &updated, &docSt, &workbook}
	if figures != nil {
		dest = append(dest, figures)
	}
	if err := sc.Scan(dest...); err != nil {
		return r, err
	}
	r.Period.Kind, r.Period.CutOff, r.State = vanthu.PeriodKind(kind), vanthu.CutOff(cutoff), vanthu.ReportState(st)
	if docSt == string(vanthu.StateIssued) {
		r.State = vanthu.ReportIssued
	}
	r.DocumentID, r.CreatedBy, r.HasWorkbook = doc.Int64, by.Int64, workbook == 1
	r.CreatedAt, r.UpdatedAt = fromMS(created), fromMS(updated)
	if err := json.Unmarshal([]byte(narrative), &r.Narrative); err != nil {
		return r, fmt.Errorf("report %d narrative: %w", r.ID, err)
	}
	if r.Narrative.NextTasks == nil {
		r.Narrative.NextTasks = []string{}
	}
	return r, nil
}

// GetReport returns report id with its figures (nil until generated), or
// ENotFound. The workbook is read separately (ReportWorkbook).
func (s *Store) GetReport(ctx context.Context, id int64) (vanthu.Report, error) {
	r, err := s.getReport(ctx, s.db, true, "r.id = ?", id)
	return r, dbError("get report", err)
}

// GetReportByPeriod returns the report of p without its figures, or
// ENotFound.
func (s *Store) GetReportByPeriod(ctx context.Context, p vanthu.Period) (vanthu.Report, error) {
	r, err := s.getReport(ctx, s.db, false, periodCond, periodArgs(p)...)
	return r, dbError("get report", err)
}

// getReport reads one report, with its figures when withFigures: they are
// hundreds of kilobytes for a province, and most callers want the state.
func (s *Store) getReport(ctx context.Context, q querier, withFigures bool, cond string, args ...any) (vanthu.Report, error) {
	cols, figures := reportColumns, (*sql.NullString)(nil)
	if withFigures {
		cols, figures = cols+", r.figures", new(sql.NullString)
	}
	r, err := scanReport(q.QueryRowContext(ctx, s.rebind("SELECT "+cols+reportFrom+" WHERE "+cond), args...), figures)
	if errors.Is(err, sql.ErrNoRows) {
		return r, errReportNotFound()
	}
	if err != nil {
		return r, err
	}
	if figures != nil && figures.Valid {
		r.Figures = new(vanthu.ReportFigures)
		if err := json.Unmarshal([]byte(figures.String), r.Figures); err != nil {
			return r, fmt.Errorf("report %d figures: %w", r.ID, err)
		}
	}
	return r, nil
}

// ListReports returns the reports, newest period first, without their
// figures.
func (s *Store) ListReports(ctx context.Context, limit int) ([]vanthu.Report, error) {
	if limit <= 0 || limit > 200 {
		limit = 100
	}
	return queryAll(ctx, s.db, "list reports",
		s.rebind("SELECT "+reportColumns+reportFrom+" ORDER BY r.year DESC, r.quarter DESC, r.kind, r.id DESC LIMIT ?"),
		func(sc scanner) (vanthu.Report, error) { return scanReport(sc, nil) }, limit)
}

// GeneratingReports lists the reports whose generation is not finished
// (nor stopped by issuing the draft): the sweep enqueues their task again
// in case it was lost.
func (s *Store) GeneratingReports(ctx context.Context) ([]vanthu.Report, error) {
	return queryAll(ctx, s.db, "generating reports",
		s.rebind("SELECT "+reportColumns+reportFrom+" WHERE r.state = ? AND COALESCE(d.state, '') <> 'issued' ORDER BY r.id"),
		func(sc scanner) (vanthu.Report, error) { return scanReport(sc, nil) }, string(vanthu.ReportGenerating))
}

// RequestReport asks for the report of p to be generated: it creates the
// row, or starts a new generation of an existing report that is ready or
// failed. A report already generating is returned as it is, so a double
// click or a second scheduler enqueues the same generation (and the same
// task ID) again. An issued report is EConflict. createdBy is 0 for the
// scheduler. p must be valid (Period.Validate).
func (s *Store) RequestReport(ctx context.Context, p vanthu.Period, createdBy int64, actor string) (vanthu.Report, error) {
	var r vanthu.Report
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		old, err := s.getReport(ctx, tx, false, periodCond, periodArgs(p)...)
		switch {
		case vanthu.ErrorCodeOf(err) == vanthu.ENotFound:
			var id int64
			if err := tx.QueryRowContext(ctx, s.rebind(`INSERT INTO reports
				(year, kind, quarter, cutoff, state, generation, progress, created_by, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, 1, 0, ?, ?, ?) RETURNING id`),
				p.Year, string(p.Kind), p.Quarter, string(p.CutOff), string(vanthu.ReportGenerating),
				nullID(createdBy), toMS(now), toMS(now)).Scan(&id); err != nil {
				return err
			}
			if err := s.reportEvent(ctx, tx, id, actor, "report_requested", map[string]any{"period": p.Key(), "generation": 1}); err != nil {
				return err
			}
			r, err = s.getReport(ctx, tx, false, "r.id = ?", id)
			return err
		case err != nil:
			return err
		}
		switch old.State {
		case vanthu.ReportIssued:
			return errReportIssued()
		case vanthu.ReportGenerating:
			r = old
			return nil
		}
		// The state condition keeps two requests at once on PostgreSQL to
		// one new generation: the second finds the row generating already.
		// A scheduled report (no creator) is adopted by the clerk who asks
		// for it again, whose name then makes its draft.
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE reports SET state = ?, generation = generation + 1, progress = 0, error = '',
			created_by = COALESCE(created_by, ?), updated_at = ? WHERE id = ? AND state <> ?`),
			string(vanthu.ReportGenerating), nullID(createdBy), toMS(now), old.ID, string(vanthu.ReportGenerating))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 1 {
			if err := s.reportEvent(ctx, tx, old.ID, actor, "report_requested", map[string]any{"period": p.Key(), "generation": old.Generation + 1}); err != nil {
				return err
			}
		}
		r, err = s.getReport(ctx, tx, false, "r.id = ?", old.ID)
		return err
	})
	if err != nil && isUnique(err) {
		// Two requests inserted at once: the other one's row stands.
		return s.GetReportByPeriod(ctx, p)
	}
	return r, dbError("request report", err)
}

func (s *Store) reportEvent(ctx context.Context, q querier, id int64, actor, action string, detail map[string]any) error {
	b, _ := json.Marshal(detail)
	return s.insertEvent(ctx, q, &vanthu.Event{
		At: s.now(), Actor: actor, Action: action, Source: sourceOf(actor), Subject: reportSubject(id), Detail: string(b),
	})
}

// SetReportProgress records how far generation gen of report id is
// (0–100). It reports false when gen is no longer the current generating
// one, or the clerk has issued the report's draft: the task should stop.
func (s *Store) SetReportProgress(ctx context.Context, id int64, gen, progress int) (bool, error) {
	res, err := s.exec(ctx, s.rebind(`UPDATE reports SET progress = ?, updated_at = ? WHERE id = ? AND generation = ? AND state = ? AND `+notIssued),
		progress, toMS(s.now()), id, gen, string(vanthu.ReportGenerating))
	if err != nil {
		return false, dbError("report progress", err)
	}
	n, err := res.RowsAffected()
	return n == 1, dbError("report progress", err)
}

// FinishReport ends generation gen of report id: its figures, the
// narrative (kept as the clerk left it when n is nil) and the workbook;
// the draft is linked already (CreateReportDraft). It reports false,
// changing nothing, when gen is no longer the current generating one.
//
// Unlike the steps before it, finishing is not stopped by a draft issued
// meanwhile: the draft was laid out from these figures, so its workbook
// belongs with it.
func (s *Store) FinishReport(ctx context.Context, id int64, gen int, f *vanthu.ReportFigures, n *vanthu.ReportNarrative, workbook []byte) (bool, error) {
	fig, err := json.Marshal(f)
	if err != nil {
		return false, fmt.Errorf("store: finish report: %w", err)
	}
	done := false
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		q := `UPDATE reports SET state = ?, progress = 100, error = '', figures = ?, workbook = ?, updated_at = ?`
		args := []any{string(vanthu.ReportReady), string(fig), workbook, toMS(now)}
		if n != nil {
			b, err := json.Marshal(n)
			if err != nil {
				return err
			}
			q += `, narrative = ?`
			args = append(args, string(b))
		}
		res, err := tx.ExecContext(ctx, s.rebind(q+` WHERE id = ? AND generation = ? AND state = ?`),
			append(args, id, gen, string(vanthu.ReportGenerating))...)
		if err != nil {
			return err
		}
		if c, err := res.RowsAffected(); err != nil || c == 0 {
			return err
		}
		done = true
		return s.reportEvent(ctx, tx, id, "system", "report_generated", map[string]any{
			"generation": gen, "workbook_size": len(workbook),
		})
	})
	return done, dbError("finish report", err)
}

// CreateReportDraft creates d, the BC draft of generation gen of report
// id, and links it to the report in the same transaction, so that a
// generation that fails or dies after this step leaves no draft the
// report does not know of: the next generation rewrites this one. ok is
// false, and nothing is created, when gen is no longer the report's
// generation at work or the report's current document was issued.
func (s *Store) CreateReportDraft(ctx context.Context, id int64, gen int, d *vanthu.Document, actor string) (bool, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.insertDocument(ctx, tx, d, actor); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE reports SET document_id = ?, updated_at = ? WHERE id = ? AND generation = ? AND state = ? AND `+notIssued),
			d.ID, toMS(s.now()), id, gen, string(vanthu.ReportGenerating))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return errStaleReport
		}
		return nil
	})
	if errors.Is(err, errStaleReport) {
		d.ID = 0
		return false, nil
	}
	if err != nil {
		d.ID = 0
		return false, dbError("create report draft", err)
	}
	return true, nil
}

// errStaleReport rolls back a write for a generation that was overtaken.
var errStaleReport = errors.New("stale report generation")

// FailReport ends generation gen of report id as failed with message, the
// Vietnamese reason shown to the clerk. A stale gen changes nothing.
func (s *Store) FailReport(ctx context.Context, id int64, gen int, message string) error {
	return dbError("fail report", s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE reports SET state = ?, error = ?, updated_at = ? WHERE id = ? AND generation = ? AND state = ?`),
			string(vanthu.ReportFailed), message, toMS(s.now()), id, gen, string(vanthu.ReportGenerating))
		if err != nil {
			return err
		}
		if c, err := res.RowsAffected(); err != nil || c == 0 {
			return err
		}
		return s.reportEvent(ctx, tx, id, "system", "report_failed", map[string]any{"generation": gen, "error": message})
	}))
}

// SaveReportNarrative stores the clerk's narrative of a report that is
// ready and not issued; the caller lays out the draft again.
func (s *Store) SaveReportNarrative(ctx context.Context, id int64, n vanthu.ReportNarrative, actor string) error {
	b, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("store: save narrative: %w", err)
	}
	return dbError("save narrative", s.inTx(ctx, func(tx *sql.Tx) error {
		r, err := s.getReport(ctx, tx, false, "r.id = ?", id)
		if err != nil {
			return err
		}
		switch r.State {
		case vanthu.ReportIssued:
			return errReportIssued()
		case vanthu.ReportGenerating:
			return vanthu.Errorf(vanthu.EConflict, "Báo cáo đang được lập, vui lòng chờ xong rồi sửa.")
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE reports SET narrative = ?, updated_at = ? WHERE id = ?`), string(b), toMS(s.now()), id); err != nil {
			return err
		}
		return s.reportEvent(ctx, tx, id, actor, "report_narrative_saved", map[string]any{})
	}))
}

// ReportWorkbook returns the annex workbook of report id, or ENotFound
// when it has none yet.
func (s *Store) ReportWorkbook(ctx context.Context, id int64) ([]byte, error) {
	var b []byte
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT workbook FROM reports WHERE id = ?`), id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errReportNotFound()
	}
	if err == nil && b == nil {
		return nil, vanthu.Errorf(vanthu.ENotFound, "Báo cáo chưa có biểu phụ lục: hãy chờ lập xong.")
	}
	return b, dbError("report workbook", err)
}

// ReportWorkbookOf returns the annex workbook of the report whose draft or
// issued document is documentID, or ENotFound: the send of an issued
// report attaches it.
func (s *Store) ReportWorkbookOf(ctx context.Context, documentID int64) ([]byte, error) {
	var b []byte
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT workbook FROM reports WHERE document_id = ? AND workbook IS NOT NULL`), documentID).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vanthu.Errorf(vanthu.ENotFound, "Văn bản %d không phải báo cáo đã lập.", documentID)
	}
	return b, dbError("report workbook", err)
}
