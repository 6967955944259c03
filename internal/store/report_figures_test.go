package store_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/store"
	"github.com/sonoivu/vanthu/internal/testenv"
)

// The report figures are checked against a quarter of known data built
// through the store's own API, with the expected figures computed here in
// Go from the fixtures, never by asking the database again.

func TestReportFiguresSQLite(t *testing.T) {
	t.Parallel()
	testReportFigures(t, func(t *testing.T) string { return filepath.Join(t.TempDir(), "vanthu.db") })
}

func TestReportFiguresPostgres(t *testing.T) {
	t.Parallel()
	testReportFigures(t, func(t *testing.T) string { return testenv.Postgres(t) })
}

func TestEachCheckedPersonSQLite(t *testing.T) {
	t.Parallel()
	testEachCheckedPerson(t, func(t *testing.T) string { return filepath.Join(t.TempDir(), "vanthu.db") })
}

func TestEachCheckedPersonPostgres(t *testing.T) {
	t.Parallel()
	testEachCheckedPerson(t, func(t *testing.T) string { return testenv.Postgres(t) })
}

// reportPeriod is quarter IV of 2026 (1 October to 31 December, +07:00);
// its previous period is quarter III.
var reportPeriod = vanthu.QuarterPeriod(2026, 4, vanthu.CutOffCalendar)

// vn is a wall-clock time in Vietnam.
func vn(y int, mo time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, mo, d, h, mi, s, 0, vanthu.Location)
}

// reportUnits is the official order of the fixture's units that the
// report meets: departments (SNV order 1, STC order 2), communes (XA-A
// order 1, XA-B order 2, then the two of order 5 by name in Vietnamese
// collation, where "Ấp" comes before "Bình" although neither its bytes nor
// its code do), then public units (after the communes although "Trung
// tâm" sorts before "Xã"). Written out rather than derived, so that a
// wrong order in the store shows.
var reportUnits = []string{"SNV", "STC", "XA-A", "XA-B", "XA-Z", "XA-C", "SN-1"}

func unitRank(code string) int { return slices.Index(reportUnits, code) }

// record is the content of one version of an inspection.
type record struct {
	surprise bool
	att      vanthu.Attendance
	findings []string // violation codes, in the minutes' order
	handling []string // handling codes
}

// att builds a consistent attendance: listed is present plus the absences.
func att(present, leave, assignment, study, unexcused, late, leftEarly int) vanthu.Attendance {
	return vanthu.Attendance{Listed: present + leave + assignment + study + unexcused, Present: present,
		AbsentLeave: leave, AbsentAssignment: assignment, AbsentStudy: study, AbsentUnexcused: unexcused,
		Late: late, LeftEarly: leftEarly}
}

// inspectionSpec is one inspection of the fixture: the original version
// and, optionally, a correction (finalized or left in draft).
type inspectionSpec struct {
	name      string
	unit      string
	start     time.Time
	rec       record
	finalized bool
	fix       *record // a correction of the finalized original
	fixFinal  bool    // the correction is finalized too

	id, fixID int64 // set when built
}

// counted reports whether the spec is counted at all (whatever its
// period), and which version: the finalized correction or the original.
func (s *inspectionSpec) counted() (id int64, rec record, ok bool) {
	switch {
	case !s.finalized:
		return 0, record{}, false
	case s.fix != nil && s.fixFinal:
		return s.fixID, *s.fix, true
	}
	return s.id, s.rec, true
}

func reportInspections() []*inspectionSpec {
	from, until := reportPeriod.Range()
	return []*inspectionSpec{
		{name: "first instant of the period", unit: "XA-A", start: from, finalized: true,
			rec: record{surprise: true, att: att(20, 1, 0, 0, 1, 2, 0), findings: []string{"vang-khong-ly-do", "khong-deo-the"}, handling: []string{"nhac-nho"}}},
		{name: "one second before (previous quarter)", unit: "SNV", start: from.Add(-time.Second), finalized: true,
			rec: record{att: att(30, 2, 1, 0, 0, 1, 1), findings: []string{"hut-thuoc", "vang-khong-ly-do"}, handling: []string{"phe-binh"}}},
		{name: "first instant after (next quarter)", unit: "STC", start: until, finalized: true,
			rec: record{surprise: true, att: att(10, 0, 0, 0, 0, 0, 0), findings: []string{"ruou-bia"}, handling: []string{"kiem-diem"}}},
		{name: "draft (not counted)", unit: "STC", start: vn(2026, 10, 12, 8, 0, 0),
			rec: record{surprise: true, att: att(11, 0, 0, 0, 2, 0, 0), findings: []string{"ruou-bia"}}},
		{name: "corrected by a finalized correction", unit: "STC", start: vn(2026, 11, 3, 8, 0, 0), finalized: true,
			rec: record{surprise: true, att: att(40, 3, 0, 0, 4, 2, 0), findings: []string{"thai-do", "khong-deo-the"}, handling: []string{"kiem-diem"}},
			fix: &record{surprise: true, att: att(41, 3, 1, 0, 2, 2, 1), findings: []string{"khong-deo-the"}, handling: []string{"cc-khien-trach"}}, fixFinal: true},
		{name: "with a draft correction", unit: "SNV", start: vn(2026, 12, 10, 14, 0, 0), finalized: true,
			rec: record{att: att(25, 1, 2, 1, 0, 3, 0), findings: []string{"di-muon-ve-som", "di-muon-ve-som", "viec-rieng"}, handling: []string{"nhac-nho", "phe-binh"}},
			fix: &record{att: att(26, 0, 0, 0, 0, 0, 0), findings: []string{"mot-cua"}}},
		{name: "same unit, earlier, nothing found", unit: "SNV", start: vn(2026, 10, 20, 7, 30, 0), finalized: true,
			rec: record{surprise: true, att: att(28, 0, 0, 2, 0, 0, 0)}},
		{name: "last second of the period", unit: "SN-1", start: until.Add(-time.Second), finalized: true,
			rec: record{surprise: true, att: att(15, 0, 1, 0, 2, 1, 0), findings: []string{"vang-khong-ly-do"}}},
		{name: "commune of order 5, Bình", unit: "XA-C", start: vn(2026, 11, 15, 8, 0, 0), finalized: true,
			rec: record{att: att(12, 0, 0, 0, 0, 0, 0), findings: []string{"trang-phuc"}}},
		{name: "commune of order 5, Ấp", unit: "XA-Z", start: vn(2026, 11, 16, 8, 0, 0), finalized: true,
			rec: record{surprise: true, att: att(9, 1, 0, 0, 0, 1, 0), findings: []string{"khong-deo-the"}}},
		{name: "previous quarter, commune", unit: "XA-B", start: vn(2026, 8, 12, 8, 0, 0), finalized: true,
			rec: record{att: att(18, 1, 0, 0, 1, 0, 0), findings: []string{"hut-thuoc", "nhung-nhieu"}, handling: []string{"kiem-diem"}}},
	}
}

// apply writes rec into in.
func apply(in *vanthu.Inspection, rec record) {
	in.Surprise, in.Attendance = rec.surprise, rec.att
	in.Findings, in.Handling = []vanthu.Finding{}, []vanthu.Handling{}
	for i, code := range rec.findings {
		in.Findings = append(in.Findings, vanthu.Finding{
			Name: "Người thứ " + string(rune('A'+i)) + " " + code, Position: "Chuyên viên", Section: "Phòng " + code,
			Violation: code, Explanation: "Giải trình " + code,
		})
	}
	for _, code := range rec.handling {
		in.Handling = append(in.Handling, vanthu.Handling{Code: code})
	}
}

// buildInspections stores the specs through the store's API.
func buildInspections(t *testing.T, f *docFixture, specs []*inspectionSpec) {
	t.Helper()
	ctx := context.Background()
	minutes := f.draft(t, nil) // never issued: not counted as a directive
	for _, s := range specs {
		in := inspection(f, s.unit, 1)
		start, end := s.start, s.start.Add(90*time.Minute)
		in.StartedAt, in.EndedAt = &start, &end
		apply(&in, s.rec)
		in = f.create(t, in)
		s.id = in.ID
		if !s.finalized {
			continue
		}
		if err := f.st.MarkInspectionFinalized(ctx, in.ID, minutes.ID, "system"); err != nil {
			t.Fatalf("%s: MarkInspectionFinalized: %v", s.name, err)
		}
		if s.fix == nil {
			continue
		}
		fix, err := f.st.CorrectInspection(ctx, in.ID, f.user, "kiemtra")
		if err != nil {
			t.Fatalf("%s: CorrectInspection: %v", s.name, err)
		}
		apply(&fix, *s.fix)
		if err := f.st.SaveInspection(ctx, &fix, "kiemtra"); err != nil {
			t.Fatalf("%s: SaveInspection(correction): %v", s.name, err)
		}
		s.fixID = fix.ID
		if s.fixFinal {
			if err := f.st.MarkInspectionFinalized(ctx, fix.ID, minutes.ID, "system"); err != nil {
				t.Fatalf("%s: MarkInspectionFinalized(correction): %v", s.name, err)
			}
		}
	}
}

// dispatchSpec is what happens to one unit's copy of a directive; nil
// times never happen.
type dispatchSpec struct {
	unit                          string
	sent, read, ack, bounce, fail *time.Time
}

// directiveSpec is one directive and its dispatches.
type directiveSpec struct {
	name       string
	kind       vanthu.DocumentKind // "": a directive
	issued     time.Time
	deadline   *time.Time
	dispatches []dispatchSpec
}

func at(t time.Time) *time.Time { return &t }

func reportDirectives(asOf time.Time) []directiveSpec {
	from, until := reportPeriod.Range()
	issued := vn(2026, 10, 5, 9, 0, 0)
	deadline := vn(2026, 10, 15, 17, 0, 0)
	prevDeadline := vn(2026, 10, 10, 17, 0, 0)
	return []directiveSpec{
		{name: "in the period, with a deadline", issued: issued, deadline: &deadline, dispatches: []dispatchSpec{
			{unit: "SNV", sent: at(issued.Add(time.Minute)), ack: at(deadline)},                                                      // exactly at the deadline: on time
			{unit: "STC", sent: at(issued.Add(time.Minute)), read: at(deadline.Add(-time.Hour)), ack: at(deadline.Add(time.Second))}, // one second late
			{unit: "XA-A", sent: at(issued.Add(time.Minute)), read: at(vn(2026, 10, 20, 9, 0, 0)), ack: at(asOf.Add(time.Hour))},     // after asOf: not yet
			{unit: "XA-B", sent: at(issued.Add(time.Minute)), bounce: at(issued.Add(5 * time.Minute))},                               // bounced
			{unit: "SN-1", fail: at(issued.Add(2 * time.Minute))},                                                                    // failed
		}},
		{name: "last second of the period, no deadline", issued: until.Add(-time.Second), dispatches: []dispatchSpec{
			{unit: "SNV", sent: at(until), ack: at(vn(2027, 1, 2, 8, 0, 0))},
			{unit: "XA-A", sent: at(until)},
			{unit: "XA-Z", sent: at(until), read: at(until.Add(time.Hour)), bounce: at(until.Add(2 * time.Hour))}, // read, then a late bounce
			{unit: "XA-C"}, // still queued
		}},
		{name: "a report, not a directive", kind: vanthu.KindReport, issued: issued.Add(time.Hour), dispatches: []dispatchSpec{
			{unit: "SNV", sent: at(issued.Add(2 * time.Hour)), ack: at(issued.Add(3 * time.Hour))},
		}},
		{name: "first instant after the period", issued: until, dispatches: []dispatchSpec{
			{unit: "SNV", sent: at(until.Add(time.Minute)), ack: at(until.Add(time.Hour))},
			{unit: "STC"},
		}},
		{name: "one second before the period (previous quarter)", issued: from.Add(-time.Second), deadline: &prevDeadline, dispatches: []dispatchSpec{
			{unit: "SNV", sent: at(from), ack: at(prevDeadline.Add(-24 * time.Hour))},
			{unit: "STC", sent: at(from)},
			{unit: "XA-B", sent: at(from), read: at(from.Add(time.Hour)), ack: at(prevDeadline.Add(time.Minute))},
		}},
	}
}

// buildDirectives issues the directives in time order and applies the
// milestones.
func buildDirectives(t *testing.T, f *docFixture, specs []directiveSpec) {
	t.Helper()
	ctx := context.Background()
	sorted := slices.Clone(specs)
	slices.SortFunc(sorted, func(a, b directiveSpec) int { return a.issued.Compare(b.issued) })
	for _, d := range sorted {
		var codes []string
		for _, x := range d.dispatches {
			codes = append(codes, x.unit)
		}
		doc := f.draft(t, func(doc *vanthu.Document) {
			doc.Content.Audience = vanthu.Audience{UnitIDs: f.ids(codes...)}
			doc.Content.Deadline = d.deadline
			if d.kind != "" {
				doc.Kind, doc.TypeCode = d.kind, "BC"
			}
		})
		doc = f.issue(t, doc.ID, d.issued)
		ds, err := f.st.ListDispatches(ctx, doc.ID)
		if err != nil || len(ds) != len(codes) {
			t.Fatalf("%s: ListDispatches = %d, %v", d.name, len(ds), err)
		}
		for _, x := range d.dispatches {
			i := slices.IndexFunc(ds, func(y vanthu.Dispatch) bool { return y.UnitCode == x.unit })
			id := ds[i].ID
			if x.fail != nil {
				if err := f.st.MarkFailed(ctx, id, "550 mailbox unavailable", *x.fail); err != nil {
					t.Fatal(err)
				}
			}
			if x.sent != nil {
				if err := f.st.MarkSent(ctx, id, "<m@vanthu>", *x.sent); err != nil {
					t.Fatal(err)
				}
			}
			for _, m := range []struct {
				m  vanthu.Milestone
				at *time.Time
			}{{vanthu.MilestoneBounced, x.bounce}, {vanthu.MilestoneRead, x.read}, {vanthu.MilestoneAcknowledged, x.ack}} {
				if m.at == nil {
					continue
				}
				if ok, err := f.st.ApplyMilestone(ctx, id, m.m, *m.at, vanthu.SourceWeb, "test", ""); err != nil || !ok {
					t.Fatalf("%s %s %s: applied %v, %v", d.name, x.unit, m.m, ok, err)
				}
			}
		}
	}
}

// reportFixture builds the whole quarter on a fresh store.
func reportFixture(t *testing.T, newDSN opener) (*docFixture, []*inspectionSpec, []directiveSpec, time.Time) {
	f := newDocFixture(t, newDSN)
	for _, u := range []vanthu.Unit{
		unit("XA-C", "Xã Bình Long", vanthu.GroupCommune, 5),
		unit("XA-Z", "Xã Ấp Bắc", vanthu.GroupCommune, 5),
	} {
		if err := f.st.CreateUnit(context.Background(), &u, "seed"); err != nil {
			t.Fatalf("CreateUnit %s: %v", u.Code, err)
		}
		f.units[u.Code] = u
	}
	asOf := vn(2027, 1, 5, 10, 0, 0)
	ins := reportInspections()
	buildInspections(t, f, ins)
	dirs := reportDirectives(asOf)
	buildDirectives(t, f, dirs)
	return f, ins, dirs, asOf
}

func within(t time.Time, p vanthu.Period) bool {
	from, until := p.Range()
	return !t.Before(from) && t.Before(until)
}

// by reports whether an optional milestone happened at or before asOf.
func by(m *time.Time, asOf time.Time) bool { return m != nil && !m.After(asOf) }

// wantDirection computes section I of p from the specs.
func wantDirection(dirs []directiveSpec, p vanthu.Period, asOf time.Time) (vanthu.DirectionFigures, []vanthu.UnitReceiptRow) {
	var d vanthu.DirectionFigures
	units := map[string]bool{}
	rows := map[string]*vanthu.UnitReceiptRow{}
	for _, doc := range dirs {
		if doc.kind != "" || !within(doc.issued, p) {
			continue
		}
		d.Issued++
		for _, x := range doc.dispatches {
			d.Dispatches++
			units[x.unit] = true
			r := rows[x.unit]
			if r == nil {
				r = &vanthu.UnitReceiptRow{UnitCode: x.unit}
				rows[x.unit] = r
			}
			r.Dispatches++
			// An acknowledgement implies reading, reading implies the
			// mail arrived, whatever bounce came after.
			read := by(x.read, asOf) || by(x.ack, asOf)
			received := read || (by(x.sent, asOf) && !by(x.bounce, asOf) && !by(x.fail, asOf))
			acked := by(x.ack, asOf)
			late := acked && doc.deadline != nil && x.ack.After(*doc.deadline)
			if received {
				d.Received++
				r.Received++
			}
			if read {
				d.Read++
				r.Read++
			}
			switch {
			case acked && !late:
				d.AckOnTime++
			case late:
				d.AckLate++
			default:
				d.NotAckd++
			}
			if acked {
				r.Acknowledged++
			}
			if late {
				r.Late++
			}
			if doc.deadline != nil && doc.deadline.Before(asOf) && !acked && !by(x.fail, asOf) {
				r.Overdue++
			}
			if by(x.bounce, asOf) || by(x.fail, asOf) {
				d.BouncedFailed++
			}
		}
	}
	d.Units = len(units)
	out := []vanthu.UnitReceiptRow{}
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b vanthu.UnitReceiptRow) int { return cmp.Compare(unitRank(a.UnitCode), unitRank(b.UnitCode)) })
	return d, out
}

// countedIn is the counted version of every spec started in p, in unit
// order then start.
type countedRecord struct {
	id    int64
	unit  string
	start time.Time
	rec   record
}

func countedIn(specs []*inspectionSpec, p vanthu.Period) []countedRecord {
	var out []countedRecord
	for _, s := range specs {
		if id, rec, ok := s.counted(); ok && within(s.start, p) {
			out = append(out, countedRecord{id: id, unit: s.unit, start: s.start, rec: rec})
		}
	}
	slices.SortFunc(out, func(a, b countedRecord) int {
		return cmp.Or(cmp.Compare(unitRank(a.unit), unitRank(b.unit)), a.start.Compare(b.start), cmp.Compare(a.id, b.id))
	})
	return out
}

// wantInspections computes section II of p from the specs.
func wantInspections(f *docFixture, specs []*inspectionSpec, p vanthu.Period) (vanthu.InspectionFigures, []vanthu.InspectionRow) {
	var in vanthu.InspectionFigures
	rows := []vanthu.InspectionRow{}
	units := map[string]bool{}
	groups := map[vanthu.UnitGroup]map[string]bool{}
	for _, c := range countedIn(specs, p) {
		in.Total++
		if c.rec.surprise {
			in.Surprise++
		} else {
			in.Scheduled++
		}
		units[c.unit] = true
		g := f.units[c.unit].Group
		if groups[g] == nil {
			groups[g] = map[string]bool{}
		}
		groups[g][c.unit] = true
		a := c.rec.att
		in.Listed += a.Listed
		in.Present += a.Present
		in.AbsentLeave += a.AbsentLeave
		in.AbsentAssignment += a.AbsentAssignment
		in.AbsentStudy += a.AbsentStudy
		in.AbsentUnexcused += a.AbsentUnexcused
		in.Late += a.Late
		in.LeftEarly += a.LeftEarly
		in.Violators += len(c.rec.findings)
		u := f.units[c.unit]
		rows = append(rows, vanthu.InspectionRow{
			InspectionID: c.id, UnitCode: u.Code, UnitName: u.Name, StartedAt: c.start.UTC(), Surprise: c.rec.surprise,
			Listed: a.Listed, Present: a.Present, AbsentExcused: a.AbsentLeave + a.AbsentAssignment + a.AbsentStudy,
			AbsentUnexcused: a.AbsentUnexcused, Late: a.Late + a.LeftEarly, Violators: len(c.rec.findings),
		})
	}
	in.Units = len(units)
	in.UnitsByGroup = []vanthu.CodeCount{}
	for _, g := range vanthu.UnitGroups {
		if n := len(groups[g]); n > 0 {
			in.UnitsByGroup = append(in.UnitsByGroup, vanthu.CodeCount{Code: string(g), Name: g.Label(), Count: n})
		}
	}
	return in, rows
}

// codeCount counts the codes of every counted record of p.
func codeCount(specs []*inspectionSpec, p vanthu.Period, codes func(record) []string) map[string]int {
	n := map[string]int{}
	for _, c := range countedIn(specs, p) {
		for _, code := range codes(c.rec) {
			n[code]++
		}
	}
	return n
}

// wantCodes lists, in catalog order, every code counted in cur or old,
// with both counts.
func wantCodes(catalog []vanthu.CatalogEntry, cur, old map[string]int) (a, b []vanthu.CodeCount) {
	a, b = []vanthu.CodeCount{}, []vanthu.CodeCount{}
	for _, e := range catalog {
		if cur[e.Code] > 0 || old[e.Code] > 0 {
			a = append(a, vanthu.CodeCount{Code: e.Code, Name: e.Name, Count: cur[e.Code]})
			b = append(b, vanthu.CodeCount{Code: e.Code, Name: e.Name, Count: old[e.Code]})
		}
	}
	return a, b
}

func findingCodes(r record) []string  { return r.findings }
func handlingCodes(r record) []string { return r.handling }

// catalogInOrder lists a catalog in its order (ord, then code).
func catalogInOrder(t *testing.T, f *docFixture, kind vanthu.CatalogKind) []vanthu.CatalogEntry {
	t.Helper()
	c, err := f.st.ListCatalog(context.Background(), kind)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(c, func(a, b vanthu.CatalogEntry) int {
		return cmp.Or(cmp.Compare(a.Order, b.Order), cmp.Compare(a.Code, b.Code))
	})
	return c
}

func testReportFigures(t *testing.T, newDSN opener) {
	ctx := context.Background()
	f, ins, dirs, asOf := reportFixture(t, newDSN)
	p, prev := reportPeriod, reportPeriod.Previous()
	violations, handling := catalogInOrder(t, f, vanthu.CatalogViolation), catalogInOrder(t, f, vanthu.CatalogHandling)

	got, err := f.st.ReportFigures(ctx, p, asOf)
	if err != nil {
		t.Fatalf("ReportFigures: %v", err)
	}

	want := vanthu.ReportFigures{Period: p, AsOf: asOf.UTC()}
	want.From, want.Until = p.Range()
	want.Direction, want.ReceiptRows = wantDirection(dirs, p, asOf)
	want.Inspections, want.InspectionRows = wantInspections(f, ins, p)
	prevWant := vanthu.ReportFigures{Period: prev, AsOf: asOf.UTC(),
		InspectionRows: []vanthu.InspectionRow{}, UnitViolations: []vanthu.UnitViolationCount{}, ReceiptRows: []vanthu.UnitReceiptRow{}}
	prevWant.From, prevWant.Until = prev.Range()
	prevWant.Direction, _ = wantDirection(dirs, prev, asOf)
	prevWant.Inspections, _ = wantInspections(f, ins, prev)
	want.Violations, prevWant.Violations = wantCodes(violations, codeCount(ins, p, findingCodes), codeCount(ins, prev, findingCodes))
	want.Handling, prevWant.Handling = wantCodes(handling, codeCount(ins, p, handlingCodes), codeCount(ins, prev, handlingCodes))
	want.Previous = &prevWant

	// Biểu 2: per unit (in order) and code (in catalog order).
	want.UnitViolations = []vanthu.UnitViolationCount{}
	for _, code := range reportUnits {
		n := map[string]int{}
		for _, c := range countedIn(ins, p) {
			if c.unit == code {
				for _, v := range c.rec.findings {
					n[v]++
				}
			}
		}
		for _, e := range violations {
			if n[e.Code] > 0 {
				want.UnitViolations = append(want.UnitViolations, vanthu.UnitViolationCount{
					UnitCode: code, UnitName: f.units[code].Name, Code: e.Code, Name: e.Name, Count: n[e.Code]})
			}
		}
	}
	for i := range want.ReceiptRows {
		want.ReceiptRows[i].UnitName = f.units[want.ReceiptRows[i].UnitCode].Name
	}

	// The fixture must exercise what it claims to, whatever the store
	// does: otherwise a passing comparison proves little.
	d := want.Direction
	if d.Issued != 2 || d.AckOnTime != 2 || d.AckLate != 1 || d.BouncedFailed != 3 || d.NotAckd != 6 || d.Received != 6 {
		t.Fatalf("fixture: direction %+v", d)
	}
	if want.Inspections.Total != 7 || want.Previous.Inspections.Total != 2 || len(want.Violations) != 7 {
		t.Fatalf("fixture: %d inspections, %d before, %d codes", want.Inspections.Total, want.Previous.Inspections.Total, len(want.Violations))
	}

	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"Period", got.Period, want.Period},
		{"From", got.From, want.From},
		{"Until", got.Until, want.Until},
		{"AsOf", got.AsOf, want.AsOf},
		{"Direction", got.Direction, want.Direction},
		{"Inspections", got.Inspections, want.Inspections},
		{"Violations", got.Violations, want.Violations},
		{"Handling", got.Handling, want.Handling},
		{"InspectionRows", got.InspectionRows, want.InspectionRows},
		{"UnitViolations", got.UnitViolations, want.UnitViolations},
		{"ReceiptRows", got.ReceiptRows, want.ReceiptRows},
		{"Previous", got.Previous, want.Previous},
	} {
		if g, w := jsonOf(t, c.got), jsonOf(t, c.want); g != w {
			t.Errorf("%s =\n%s\nwant\n%s", c.name, g, w)
		}
	}
	if got.Previous != nil && got.Previous.Previous != nil {
		t.Error("Previous has a Previous of its own")
	}

	// A period with nothing in it: zeros and empty lists, not nulls.
	empty, err := f.st.ReportFigures(ctx, vanthu.QuarterPeriod(2025, 1, vanthu.CutOffCalendar), asOf)
	if err != nil {
		t.Fatalf("ReportFigures(empty): %v", err)
	}
	if empty.Inspections.Total != 0 || empty.Direction != (vanthu.DirectionFigures{}) || empty.Violations == nil ||
		len(empty.Violations) != 0 || empty.InspectionRows == nil || empty.ReceiptRows == nil || empty.Inspections.UnitsByGroup == nil {
		t.Errorf("empty period = %s", jsonOf(t, empty))
	}

	// Milestones are counted as known at asOf: at the deadline nothing is
	// overdue yet and the acknowledgement one second late is not there,
	// one second later both are; a bounce is not yet known before it
	// happens.
	deadline := vn(2026, 10, 15, 17, 0, 0)
	for _, when := range []time.Time{deadline, deadline.Add(time.Second), vn(2027, 1, 1, 1, 0, 0), vn(2027, 1, 1, 2, 0, 0)} {
		got, err := f.st.ReportFigures(ctx, p, when)
		if err != nil {
			t.Fatal(err)
		}
		wantD, wantR := wantDirection(dirs, p, when)
		for i := range wantR {
			wantR[i].UnitName = f.units[wantR[i].UnitCode].Name
		}
		if g, w := jsonOf(t, got.Direction), jsonOf(t, wantD); g != w {
			t.Errorf("as of %v: Direction =\n%s\nwant\n%s", when, g, w)
		}
		if g, w := jsonOf(t, got.ReceiptRows), jsonOf(t, wantR); g != w {
			t.Errorf("as of %v: ReceiptRows =\n%s\nwant\n%s", when, g, w)
		}
	}
}

func testEachCheckedPerson(t *testing.T, newDSN opener) {
	ctx := context.Background()
	f, ins, _, _ := reportFixture(t, newDSN)
	names := map[string]string{}
	for _, e := range catalogInOrder(t, f, vanthu.CatalogViolation) {
		names[e.Code] = e.Name
	}
	want := []vanthu.CheckedPerson{}
	for _, c := range countedIn(ins, reportPeriod) {
		var in vanthu.Inspection
		apply(&in, c.rec)
		for _, x := range in.Findings {
			want = append(want, vanthu.CheckedPerson{
				InspectionID: c.id, UnitName: f.units[c.unit].Name, StartedAt: c.start.UTC(),
				Name: x.Name, Position: x.Position, Section: x.Section, Violation: names[x.Violation], Explanation: x.Explanation,
			})
		}
	}
	if len(want) != 9 {
		t.Fatalf("fixture: %d persons, want 9", len(want))
	}
	got := []vanthu.CheckedPerson{}
	if err := f.st.EachCheckedPerson(ctx, reportPeriod, func(p vanthu.CheckedPerson) error {
		got = append(got, p)
		return nil
	}); err != nil {
		t.Fatalf("EachCheckedPerson: %v", err)
	}
	if g, w := jsonOf(t, got), jsonOf(t, want); g != w {
		t.Errorf("EachCheckedPerson =\n%s\nwant\n%s", g, w)
	}

	// An error from fn stops the stream and comes back as it is, also
	// when the unit it stops in has more persons to come.
	for _, stopAt := range []int{1, 2, len(want)} {
		stop := errors.New("stop")
		calls := 0
		err := f.st.EachCheckedPerson(ctx, reportPeriod, func(vanthu.CheckedPerson) error {
			calls++
			if calls == stopAt {
				return stop
			}
			return nil
		})
		if err != stop || calls != stopAt {
			t.Errorf("stop at %d: err %v after %d calls", stopAt, err, calls)
		}
	}

	// A period with no inspections calls nothing.
	if err := f.st.EachCheckedPerson(ctx, vanthu.QuarterPeriod(2025, 1, vanthu.CutOffCalendar), func(vanthu.CheckedPerson) error {
		t.Error("called for an empty period")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkReportFigures computes the figures of a quarter with 500 units,
// 2,000 finalized inspections of 50 findings each (100,000 persons) and
// 20 directives sent to every unit (10,000 dispatches), built through the
// store's API, and streams every person checked. The target is well
// under a second for the figures on both dialects.
func BenchmarkReportFigures(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			dsn := filepath.Join(b.TempDir(), "bench.db")
			if dialect == "postgres" {
				dsn = testenv.Postgres(b)
			}
			benchReportFigures(b, dsn, 500, 2000, 50, 20)
		})
	}
}

func benchReportFigures(b *testing.B, dsn string, units, inspections, findings, directives int) {
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	st.Now = func() time.Time { return t0 }
	u := vanthu.User{Username: "vanthu", FullName: "Văn Thư", Role: vanthu.RoleClerk, Active: true}
	if err := st.CreateUser(ctx, &u, "seed"); err != nil {
		b.Fatal(err)
	}
	us := make([]vanthu.Unit, units)
	for i := range us {
		us[i] = unit(fmt.Sprintf("XA-%04d", i), fmt.Sprintf("Xã số %d", i), vanthu.UnitGroups[i%3], i/3)
	}
	if _, _, err := st.ImportUnits(ctx, us, "seed"); err != nil {
		b.Fatal(err)
	}
	byCode := map[string]int64{}
	list, err := st.ListUnits(ctx, vanthu.UnitFilter{})
	if err != nil {
		b.Fatal(err)
	}
	for _, x := range list {
		byCode[x.Code] = x.ID
	}
	codes := []string{"vang-khong-ly-do", "di-muon-ve-som", "khong-deo-the", "trang-phuc", "hut-thuoc", "viec-rieng"}
	newDoc := func() vanthu.Document {
		deadline := vn(2026, 12, 20, 17, 0, 0)
		d := vanthu.Document{
			Kind: vanthu.KindDirective, TypeCode: "CT", Issuer: "UBND", CreatedBy: u.ID,
			Subject: "Về việc tăng cường kỷ luật, kỷ cương hành chính",
			Content: vanthu.Content{
				Template: "directive", Agency: "ỦY BAN NHÂN DÂN TỈNH VĨNH LONG", Place: "Vĩnh Long",
				SignerName: "Nguyễn Văn An", Body: "Yêu cầu các đơn vị thực hiện nghiêm.",
				Audience: vanthu.Audience{All: true}, Deadline: &deadline,
			},
		}
		if err := st.CreateDocument(ctx, &d, "vanthu"); err != nil {
			b.Fatal(err)
		}
		return d
	}
	minutes := newDoc()
	from, _ := reportPeriod.Range()
	for i := range inspections {
		start := from.Add(time.Duration(i) * 53 * time.Minute)
		end := start.Add(time.Hour)
		in := vanthu.Inspection{
			UnitID: byCode[fmt.Sprintf("XA-%04d", i%units)], Place: "Trụ sở", Surprise: i%4 != 0,
			LegalBasis: []string{"Quyết định số 356/QĐ-SNV"}, StartedAt: &start, EndedAt: &end,
			Team:            []vanthu.TeamMember{{Name: "Trần Thị Ngọc Hân", Position: "Phó Giám đốc", Role: vanthu.RoleLeader}},
			Representatives: []vanthu.Person{{Name: "Phạm Văn Đức", Position: "Chánh Văn phòng"}},
			Attendance:      att(50, 2, 1, 1, 6, 3, 1),
			Handling:        []vanthu.Handling{{Code: "kiem-diem"}},
			Conclusions:     "Đơn vị cơ bản chấp hành tốt.",
			CreatedBy:       u.ID,
		}
		for j := range findings {
			in.Findings = append(in.Findings, vanthu.Finding{Name: fmt.Sprintf("Người %d", j), Violation: codes[(i+j)%len(codes)]})
		}
		if err := st.CreateInspection(ctx, &in, "kiemtra"); err != nil {
			b.Fatal(err)
		}
		if err := st.MarkInspectionFinalized(ctx, in.ID, minutes.ID, "system"); err != nil {
			b.Fatal(err)
		}
	}
	for i := range directives {
		d := newDoc()
		if _, err := st.IssueDocument(ctx, d.ID, "vanthu", from.Add(time.Duration(i)*24*time.Hour), plan); err != nil {
			b.Fatal(err)
		}
	}
	asOf := vn(2027, 1, 5, 10, 0, 0)
	var figures, stream time.Duration
	for b.Loop() {
		start := time.Now()
		f, err := st.ReportFigures(ctx, reportPeriod, asOf)
		if err != nil {
			b.Fatal(err)
		}
		figures += time.Since(start)
		if f.Inspections.Total != inspections || f.Inspections.Violators != inspections*findings || f.Direction.Dispatches != directives*units {
			b.Fatalf("figures: %+v %+v", f.Inspections, f.Direction)
		}
		start = time.Now()
		n := 0
		if err := st.EachCheckedPerson(ctx, reportPeriod, func(vanthu.CheckedPerson) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		stream += time.Since(start)
		if n != inspections*findings {
			b.Fatalf("streamed %d persons", n)
		}
	}
	b.ReportMetric(float64(figures.Milliseconds())/float64(b.N), "figures-ms")
	b.ReportMetric(float64(stream.Milliseconds())/float64(b.N), "stream-ms")
}
