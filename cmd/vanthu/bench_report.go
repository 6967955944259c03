package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/directive"
	"github.com/sonoivu/vanthu/internal/memstat"
	"github.com/sonoivu/vanthu/internal/render"
	"github.com/sonoivu/vanthu/internal/report"
	"github.com/sonoivu/vanthu/internal/seed"
	"github.com/sonoivu/vanthu/internal/store"
	"github.com/sonoivu/vanthu/templates"
)

// benchReportPeriod is the quarter the benchmark fills and reports on.
var benchReportPeriod = vanthu.QuarterPeriod(2026, 3, vanthu.CutOffCalendar)

// benchReport measures the quarterly report on a database filled with a
// quarter of the given size (issue 7): the figures aggregated in SQL, the
// report's PDF and its annex workbook with every person checked streamed.
// Filling the database is not measured. Its last line is
// "RESULT report seconds=… peak_mb=… pdf_pages=… xlsx_rows=…".
func benchReport(ctx context.Context, args []string, getenv func(string) string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("vanthu bench report", flag.ContinueOnError)
	fs.SetOutput(errOut)
	units := fs.Int("units", 500, "units of the province")
	inspections := fs.Int("inspections", 2000, "finalized inspections in the quarter")
	persons := fs.Int("persons", 100000, "persons recorded by those inspections (findings)")
	directives := fs.Int("directives", 4, "directives issued to every unit in the quarter")
	dbURL := fs.String("database", "", "an empty database: postgres:// URL or SQLite file (default: SQLite in a temporary directory)")
	dir := fs.String("templates-dir", getenv("VANTHU_TEMPLATES_DIR"), "directory overriding the built-in templates")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *units < 1 || *inspections < 1 || *persons < 0 || *directives < 0 {
		return errors.New("bench report: --units and --inspections must be positive, --persons and --directives not negative")
	}
	st, dbName, closeDB, err := benchStore(ctx, "report", *dbURL)
	if err != nil {
		return err
	}
	defer closeDB()
	if us, err := st.ListUnits(ctx, vanthu.UnitFilter{}); err != nil || len(us) > 0 {
		return fmt.Errorf("bench report: the database must be empty (it has %d units; err %v)", len(us), err)
	}
	tpl, err := templates.Load(*dir)
	if err != nil {
		return err
	}

	setup := time.Now()
	if err := fillQuarter(ctx, st, *units, *inspections, *persons, *directives); err != nil {
		return fmt.Errorf("bench report: %w", err)
	}
	fmt.Fprintf(out, "setup: %d units, %d inspections, %d persons, %d directives in %.1f s (database %s)\n",
		*units, *inspections, *persons, *directives, time.Since(setup).Seconds(), dbName)

	svc := &report.Service{Templates: tpl}
	p := benchReportPeriod
	_, until := p.Range()
	asOf := until.Add(24 * time.Hour)
	runtime.GC()
	stop := make(chan struct{})
	peak := memstat.PeakHeap(stop, 5*time.Millisecond)
	start := time.Now()
	f, err := st.ReportFigures(ctx, p, asOf)
	if err != nil {
		close(stop)
		return fmt.Errorf("bench report: figures: %w", err)
	}
	figures := time.Since(start)
	d, err := svc.Draft(f, report.DefaultNarrative(f))
	if err != nil {
		close(stop)
		return fmt.Errorf("bench report: draft: %w", err)
	}
	pdf, err := render.PDF(directive.Layout(d, asOf))
	if err != nil {
		close(stop)
		return fmt.Errorf("bench report: pdf: %w", err)
	}
	pdfDone := time.Since(start)
	var xlsx countingWriter
	rows := 0
	err = svc.Workbook(ctx, &xlsx, f, func(ctx context.Context, fn func(vanthu.CheckedPerson) error) error {
		return st.EachCheckedPerson(ctx, p, func(c vanthu.CheckedPerson) error { rows++; return fn(c) })
	})
	elapsed := time.Since(start)
	close(stop)
	peakMB := float64(<-peak) / (1 << 20)
	if err != nil {
		return fmt.Errorf("bench report: workbook: %w", err)
	}
	annexRows := len(f.InspectionRows) + len(f.UnitViolations) + len(f.Handling) + len(f.ReceiptRows)
	fmt.Fprintf(out, "figures %.2f s, PDF %d pages at %.2f s, workbook %.1f MB (%d detail + %d annex rows) at %.2f s; peak heap %.0f MB, peak RSS %.0f MB\n",
		figures.Seconds(), pageCount(pdf), pdfDone.Seconds(), float64(xlsx)/(1<<20), rows, annexRows, elapsed.Seconds(), peakMB, peakRSSMB())
	fmt.Fprintf(out, "RESULT report seconds=%.2f peak_mb=%.0f pdf_pages=%d xlsx_rows=%d\n",
		elapsed.Seconds(), peakMB, pageCount(pdf), rows+annexRows)
	return nil
}

// fillQuarter fills benchReportPeriod: n units, inspections spread over
// the quarter's working hours with persons findings between them, each
// finalized, and directives issued to every unit with their receipts.
func fillQuarter(ctx context.Context, st *store.Store, n, inspections, persons, directives int) error {
	rng := rand.New(rand.NewPCG(7, 2026))
	user := vanthu.User{Username: "bench", FullName: "Kiểm tra viên", Role: vanthu.RoleAdmin, Active: true}
	if err := st.CreateUser(ctx, &user, "bench"); err != nil {
		return err
	}
	if err := seedUnits(ctx, st, n); err != nil {
		return err
	}
	us, err := st.ListUnits(ctx, vanthu.UnitFilter{})
	if err != nil {
		return err
	}
	// One minutes document stands for every inspection's: the benchmark
	// measures the report, not the signing.
	minutes := vanthu.Document{Kind: vanthu.KindMinutes, TypeCode: "BB", Issuer: "ĐKT", Subject: "Biên bản kiểm tra", CreatedBy: user.ID,
		Content: vanthu.Content{Template: "minutes", Agency: "SỞ NỘI VỤ", Place: "Vĩnh Long", SignerName: "Trần Văn Minh", Body: "Biên bản."}}
	if err := st.CreateDocument(ctx, &minutes, "bench"); err != nil {
		return err
	}
	codes := seed.CatalogCodes(vanthu.CatalogViolation)
	handlings := seed.CatalogCodes(vanthu.CatalogHandling)
	from, until := benchReportPeriod.Range()
	span := until.Sub(from) - 24*time.Hour
	for i := range inspections {
		start := from.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Hour).Add(8 * time.Hour)
		end := start.Add(90 * time.Minute)
		deadline := end.AddDate(0, 0, 15)
		k := persons / inspections
		if i < persons%inspections {
			k++
		}
		listed := k + 5 + rng.IntN(30)
		a := vanthu.Attendance{Listed: listed, AbsentLeave: 1, AbsentUnexcused: min(2, listed-k-1), Late: 1}
		a.Present = listed - a.Absent()
		in := vanthu.Inspection{
			UnitID: us[rng.IntN(len(us))].ID, Place: "trụ sở đơn vị", Surprise: i%3 != 0,
			LegalBasis: []string{"Quyết định số 356/QĐ-SNV"}, StartedAt: &start, EndedAt: &end,
			Team:            []vanthu.TeamMember{{Name: "Trần Văn Minh", Role: vanthu.RoleLeader}},
			Representatives: []vanthu.Person{{Name: "Phạm Văn Đức", Position: "Chủ tịch"}},
			Attendance:      a, Conclusions: "Cơ bản chấp hành tốt.", ReportDeadline: &deadline, CreatedBy: user.ID,
		}
		for j := range k {
			name := fmt.Sprintf("Nguyễn Văn Người %d-%d", i+1, j+1)
			in.Findings = append(in.Findings, vanthu.Finding{Name: name, Position: "Chuyên viên", Section: "Bộ phận Một cửa", Violation: codes[rng.IntN(len(codes))]})
			if j%5 == 0 {
				in.Handling = append(in.Handling, vanthu.Handling{Code: handlings[rng.IntN(len(handlings))], Person: name})
			}
		}
		if err := st.CreateInspection(ctx, &in, "bench"); err != nil {
			return fmt.Errorf("inspection %d: %w", i+1, err)
		}
		if err := st.MarkInspectionFinalized(ctx, in.ID, minutes.ID, "bench"); err != nil {
			return fmt.Errorf("inspection %d: %w", i+1, err)
		}
	}
	for i := range directives {
		at := from.AddDate(0, 0, 5+20*i).Add(9 * time.Hour)
		deadline := at.AddDate(0, 0, 7)
		d := vanthu.Document{Kind: vanthu.KindDirective, TypeCode: "CT", Issuer: "UBND", Subject: fmt.Sprintf("Chỉ thị số %d", i+1), CreatedBy: user.ID,
			Content: vanthu.Content{Template: "directive", Agency: "ỦY BAN NHÂN DÂN TỈNH", Place: "Vĩnh Long", SignerName: "Nguyễn Văn An",
				Body: "Yêu cầu các đơn vị thực hiện nghiêm.", Audience: vanthu.Audience{All: true}, Deadline: &deadline}}
		if err := st.CreateDocument(ctx, &d, "bench"); err != nil {
			return err
		}
		doc, err := st.IssueDocument(ctx, d.ID, "bench", at, func(_ context.Context, doc vanthu.Document, units []vanthu.Unit) (store.IssuePlan, error) {
			plan := store.IssuePlan{Artifact: vanthu.Artifact{Name: "chi-thi.pdf", ContentType: "application/pdf"}, Content: []byte("%PDF-1.7 bench")}
			for _, u := range units {
				tag := fmt.Sprintf("b%du%d", doc.ID, u.ID)
				plan.Dispatches = append(plan.Dispatches, store.PlannedDispatch{UnitID: u.ID, Email: u.Emails[0], MailTag: tag, TokenHash: directive.HashToken(tag)})
			}
			return plan, nil
		})
		if err != nil {
			return err
		}
		ds, err := st.ListDispatches(ctx, doc.ID)
		if err != nil {
			return err
		}
		for _, dp := range ds {
			sent := at.Add(time.Minute)
			if err := st.MarkSent(ctx, dp.ID, fmt.Sprintf("<b%d@bench>", dp.ID), sent); err != nil {
				return err
			}
			ack := sent.Add(time.Duration(1+rng.IntN(200)) * time.Hour) // some after the deadline
			if rng.IntN(10) == 0 {
				continue
			}
			if _, err := st.ApplyEvidence(ctx, vanthu.Evidence{DispatchID: dp.ID, Milestone: vanthu.MilestoneAcknowledged, At: ack, Actor: "bench"}); err != nil {
				return err
			}
		}
	}
	return nil
}
