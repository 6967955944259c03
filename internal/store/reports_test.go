package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/store"
	"github.com/sonoivu/vanthu/internal/testenv"
)

func TestReportsSQLite(t *testing.T) {
	t.Parallel()
	testReportLifecycle(t, func(t *testing.T) string { return filepath.Join(t.TempDir(), "vanthu.db") })
}

func TestReportsPostgres(t *testing.T) {
	t.Parallel()
	testReportLifecycle(t, func(t *testing.T) string { return testenv.Postgres(t) })
}

// testReportLifecycle walks a report through request, progress,
// finish, regeneration, a stale task, failure, the narrative and issue.
func testReportLifecycle(t *testing.T, newDSN opener) {
	ctx := context.Background()
	f := newDocFixture(t, newDSN)
	st := f.st
	p := vanthu.QuarterPeriod(2026, 1, vanthu.CutOffCalendar)

	// Two requests at once (two schedulers, a double click) make one
	// report and one generation.
	var wg sync.WaitGroup
	got := make([]vanthu.Report, 4)
	errs := make([]error, 4)
	for i := range got {
		wg.Go(func() { got[i], errs[i] = st.RequestReport(ctx, p, 0, "system") })
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatalf("RequestReport %d: %v", i, errs[i])
		}
		if got[i].ID != got[0].ID || got[i].Generation != 1 || got[i].State != vanthu.ReportGenerating {
			t.Fatalf("RequestReport %d = %+v, want report %d generation 1 generating", i, got[i], got[0].ID)
		}
	}
	r := got[0]
	if r.Period != p {
		t.Fatalf("period %+v, want %+v", r.Period, p)
	}
	if gen, err := st.GeneratingReports(ctx); err != nil || len(gen) != 1 || gen[0].ID != r.ID {
		t.Fatalf("GeneratingReports = %+v, %v", gen, err)
	}
	if ok, err := st.SetReportProgress(ctx, r.ID, 1, 40); err != nil || !ok {
		t.Fatalf("SetReportProgress = %v, %v", ok, err)
	}
	if _, err := st.ReportWorkbook(ctx, r.ID); vanthu.ErrorCodeOf(err) != vanthu.ENotFound {
		t.Fatalf("ReportWorkbook before finishing: %v, want not found", err)
	}

	// The generation makes its draft, linked at once.
	doc := vanthu.Document{Kind: vanthu.KindReport, TypeCode: "BC", Issuer: "SNV", CreatedBy: f.user,
		Subject: "Kết quả thực hiện kỷ luật, kỷ cương hành chính quý I năm 2026",
		Content: vanthu.Content{Template: "report", Agency: "SỞ NỘI VỤ", Place: "Vĩnh Long", SignerName: "Lê Văn Bình",
			Body: "Nội dung.", Audience: vanthu.Audience{UnitIDs: f.ids("SNV")}}}
	if ok, err := st.CreateReportDraft(ctx, r.ID, 1, &doc, "system"); err != nil || !ok {
		t.Fatalf("CreateReportDraft = %v, %v", ok, err)
	}
	if got, err := st.GetReport(ctx, r.ID); err != nil || got.DocumentID != doc.ID || got.HasWorkbook {
		t.Fatalf("report with its draft, not finished: document %d, workbook %v, %v", got.DocumentID, got.HasWorkbook, err)
	}
	fig := &vanthu.ReportFigures{Period: p, Direction: vanthu.DirectionFigures{Issued: 3, AckOnTime: 7}}
	narr := &vanthu.ReportNarrative{Assessment: "Tốt.", NextTasks: []string{"Kiểm tra đột xuất."}, Proposals: "Không."}
	workbook := []byte("PK\x03\x04 workbook")
	if ok, err := st.FinishReport(ctx, r.ID, 1, fig, narr, workbook); err != nil || !ok {
		t.Fatalf("FinishReport = %v, %v", ok, err)
	}
	r, err := st.GetReport(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != vanthu.ReportReady || r.Progress != 100 || r.DocumentID != doc.ID || r.Figures == nil || !r.HasWorkbook ||
		r.Figures.Direction.AckOnTime != 7 || r.Narrative.Assessment != "Tốt." {
		t.Fatalf("finished report = %+v", r)
	}
	if b, err := st.ReportWorkbook(ctx, r.ID); err != nil || string(b) != string(workbook) {
		t.Fatalf("ReportWorkbook = %q, %v", b, err)
	}

	// A new generation, asked for twice at once: one generation more. The
	// old task's late finish and progress change nothing; the clerk's
	// narrative survives a finish without one.
	again := make([]vanthu.Report, 3)
	errs = make([]error, 3)
	for i := range again {
		wg.Go(func() { again[i], errs[i] = st.RequestReport(ctx, p, f.user, "vanthu") })
	}
	wg.Wait()
	for i, r2 := range again {
		if errs[i] != nil || r2.Generation != 2 || r2.State != vanthu.ReportGenerating {
			t.Fatalf("second RequestReport %d = generation %d, %s, %v; want generation 2 generating", i, r2.Generation, r2.State, errs[i])
		}
	}
	if ok, err := st.SetReportProgress(ctx, r.ID, 1, 50); err != nil || ok {
		t.Fatalf("stale SetReportProgress = %v, %v; want false", ok, err)
	}
	if ok, err := st.FinishReport(ctx, r.ID, 1, &vanthu.ReportFigures{Period: p}, nil, nil); err != nil || ok {
		t.Fatalf("stale FinishReport = %v, %v; want false", ok, err)
	}
	if err := st.SaveReportNarrative(ctx, r.ID, vanthu.ReportNarrative{Assessment: "x"}, "vanthu"); vanthu.ErrorCodeOf(err) != vanthu.EConflict {
		t.Fatalf("SaveReportNarrative while generating: %v, want conflict", err)
	}
	if err := st.FailReport(ctx, r.ID, 2, "Không đọc được số liệu."); err != nil {
		t.Fatal(err)
	}
	r, _ = st.GetReport(ctx, r.ID)
	if r.State != vanthu.ReportFailed || r.Error != "Không đọc được số liệu." || r.Figures.Direction.AckOnTime != 7 {
		t.Fatalf("failed report = %+v (the last good figures stay)", r)
	}
	if _, err := st.RequestReport(ctx, p, f.user, "vanthu"); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.FinishReport(ctx, r.ID, 3, fig, nil, workbook); err != nil || !ok {
		t.Fatalf("FinishReport gen 3 = %v, %v", ok, err)
	}
	if r, _ = st.GetReport(ctx, r.ID); r.Narrative.Assessment != "Tốt." {
		t.Fatalf("narrative after a finish without one = %+v, want the first one kept", r.Narrative)
	}
	if err := st.SaveReportNarrative(ctx, r.ID, vanthu.ReportNarrative{Assessment: "Đã sửa.", NextTasks: []string{"a", "b"}}, "vanthu"); err != nil {
		t.Fatal(err)
	}
	r, _ = st.GetReport(ctx, r.ID)
	if r.Narrative.Assessment != "Đã sửa." || !slices.Equal(r.Narrative.NextTasks, []string{"a", "b"}) {
		t.Fatalf("narrative = %+v", r.Narrative)
	}

	// Issued while a generation is at work: the generation stops (no
	// progress, no new draft) and the sweep no longer lists it; frozen.
	if _, err := st.RequestReport(ctx, p, f.user, "vanthu"); err != nil {
		t.Fatal(err)
	}
	f.issue(t, doc.ID, t0.Add(time.Hour))
	r, _ = st.GetReport(ctx, r.ID)
	if r.State != vanthu.ReportIssued || r.Generation != 4 {
		t.Fatalf("state after issuing its document = %s, generation %d", r.State, r.Generation)
	}
	if ok, err := st.SetReportProgress(ctx, r.ID, 4, 40); err != nil || ok {
		t.Fatalf("SetReportProgress after the draft was issued = %v, %v; want false", ok, err)
	}
	late := bc0(f)
	if ok, err := st.CreateReportDraft(ctx, r.ID, 4, &late, "system"); err != nil || ok || late.ID != 0 {
		t.Fatalf("CreateReportDraft after the draft was issued = %v, %v, id %d; want false and nothing", ok, err, late.ID)
	}
	if r, _ = st.GetReport(ctx, r.ID); r.DocumentID != doc.ID {
		t.Fatalf("the issued report's document moved to %d", r.DocumentID)
	}
	if gen, err := st.GeneratingReports(ctx); err != nil || len(gen) != 0 {
		t.Fatalf("GeneratingReports after the draft was issued = %+v, %v; want none", gen, err)
	}
	if _, err := st.RequestReport(ctx, p, f.user, "vanthu"); vanthu.ErrorCodeOf(err) != vanthu.EConflict {
		t.Fatalf("RequestReport of an issued report: %v, want conflict", err)
	}
	if err := st.SaveReportNarrative(ctx, r.ID, vanthu.ReportNarrative{}, "vanthu"); vanthu.ErrorCodeOf(err) != vanthu.EConflict {
		t.Fatalf("SaveReportNarrative of an issued report: %v, want conflict", err)
	}

	other, err := st.RequestReport(ctx, vanthu.Period{Year: 2026, Kind: vanthu.PeriodHalf, CutOff: vanthu.CutOff15th}, f.user, "vanthu")
	if err != nil || other.ID == r.ID {
		t.Fatalf("another period: %+v, %v", other, err)
	}
	// The BC draft of a generation is created and linked in one step; a
	// stale generation creates nothing.
	bc := bc0(f)
	before, err := st.ListDocuments(ctx, store.DocumentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	stale := bc
	if ok, err := st.CreateReportDraft(ctx, other.ID, other.Generation+1, &stale, "system"); err != nil || ok || stale.ID != 0 {
		t.Fatalf("CreateReportDraft of a stale generation = %v, %v, id %d; want false and nothing", ok, err, stale.ID)
	}
	if after, _ := st.ListDocuments(ctx, store.DocumentFilter{}); len(after) != len(before) {
		t.Fatalf("a stale generation's draft was created: %d documents, then %d", len(before), len(after))
	}
	if ok, err := st.CreateReportDraft(ctx, other.ID, other.Generation, &bc, "system"); err != nil || !ok || bc.ID == 0 {
		t.Fatalf("CreateReportDraft = %v, %v, id %d", ok, err, bc.ID)
	}
	if got, err := st.GetReport(ctx, other.ID); err != nil || got.DocumentID != bc.ID || got.State != vanthu.ReportGenerating {
		t.Fatalf("report after its draft: document %d, %s, %v; want document %d, generating", got.DocumentID, got.State, err, bc.ID)
	}
	if d, err := st.GetDocument(ctx, bc.ID); err != nil || d.State != vanthu.StateDraft || d.Subject != bc.Subject {
		t.Fatalf("draft = %+v, %v", d, err)
	}

	list, err := st.ListReports(ctx, 0)
	if err != nil || len(list) != 2 || list[0].Figures != nil {
		t.Fatalf("ListReports = %+v, %v", list, err)
	}
	if _, err := st.GetReportByPeriod(ctx, vanthu.QuarterPeriod(2026, 2, vanthu.CutOffCalendar)); vanthu.ErrorCodeOf(err) != vanthu.ENotFound {
		t.Fatalf("GetReportByPeriod of none: %v", err)
	}
	if got := actions(t, st, fmt.Sprintf("report:%d", r.ID)); !slices.Contains(got, "report_generated") || !slices.Contains(got, "report_failed") {
		t.Fatalf("events %v", got)
	}
}

// bc0 is a report's BC draft, not yet created.
func bc0(f *docFixture) vanthu.Document {
	return vanthu.Document{Kind: vanthu.KindReport, TypeCode: "BC", Issuer: "SNV", CreatedBy: f.user, Subject: "Báo cáo 6 tháng",
		Content: vanthu.Content{Template: "report", Agency: "SỞ NỘI VỤ", Place: "Vĩnh Long", SignerName: "Lê Văn Bình", Body: "Nội dung."}}
}
