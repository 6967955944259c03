package worker

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/xuri/excelize/v2"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/directive"
	"github.com/sonoivu/vanthu/internal/render"
	"github.com/sonoivu/vanthu/internal/report"
	"github.com/sonoivu/vanthu/internal/store"
	"github.com/sonoivu/vanthu/internal/testenv"
	"github.com/sonoivu/vanthu/templates"
)

// The quarterly report task is tested end to end on a quarter of known
// data built through the store's public API: the figures printed in the
// PDF and stored in the workbook are compared with values this file
// computes from the fixture specs, never from internal/store or
// internal/report.

// storeOpener opens a fresh, migrated store of one dialect.
type storeOpener func(t *testing.T) *store.Store

// reportDialects are the databases the report tests run on; in CI a
// missing PostgreSQL fails (testenv.Postgres).
var reportDialects = map[string]storeOpener{
	"sqlite": func(t *testing.T) *store.Store { return newStore(t) },
	"postgres": func(t *testing.T) *store.Store {
		ctx := context.Background()
		st, err := store.Open(ctx, testenv.Postgres(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if _, err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return st
	},
}

// The fixture's quarter is quarter III of 2026 (1 July to 30 September,
// +07:00); its previous period is quarter II. Figures are counted as of
// reportAsOf, the handlers' clock.
var (
	reportQuarter = vanthu.QuarterPeriod(2026, 3, vanthu.CutOffCalendar)
	reportAsOf    = vnTime(2026, 10, 5, 10, 0, 0)
)

func vnTime(y int, mo time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, mo, d, h, mi, s, 0, vanthu.Location)
}

func ptr(t time.Time) *time.Time { return &t }

// fixtureUnits in official order (groups in vanthu.UnitGroups order, then
// order): the report lists units this way. The leadership unit receives
// the report and is never inspected.
var fixtureUnits = []vanthu.Unit{
	{Code: "SNV", Name: "Sở Nội vụ", Group: vanthu.GroupDepartment, Order: 1},
	{Code: "STC", Name: "Sở Tài chính", Group: vanthu.GroupDepartment, Order: 2},
	{Code: "XA-A", Name: "Xã An Phú", Group: vanthu.GroupCommune, Order: 1},
	{Code: "XA-B", Name: "Xã Bình Minh", Group: vanthu.GroupCommune, Order: 2},
	{Code: "UBND-T", Name: "Ủy ban nhân dân tỉnh Vĩnh Long", Group: vanthu.GroupOther, Order: 1},
}

func unitIndex(code string) int {
	return slices.IndexFunc(fixtureUnits, func(u vanthu.Unit) bool { return u.Code == code })
}

func unitName(code string) string { return fixtureUnits[unitIndex(code)].Name }

// attendance builds a consistent attendance: listed is present plus the
// absences.
func attendance(present, leave, assignment, study, unexcused, late, leftEarly int) vanthu.Attendance {
	return vanthu.Attendance{Listed: present + leave + assignment + study + unexcused, Present: present,
		AbsentLeave: leave, AbsentAssignment: assignment, AbsentStudy: study, AbsentUnexcused: unexcused,
		Late: late, LeftEarly: leftEarly}
}

// inspectionVersion is the content of one version of an inspection.
type inspectionVersion struct {
	surprise bool
	att      vanthu.Attendance
	findings []string // violation codes, in the minutes' order
	handling []string // proposed handling codes

	persons []vanthu.Finding // as stored, set when built
}

// fixtureInspection is one inspection: the original and optionally a
// correction, finalized or left in draft.
type fixtureInspection struct {
	name      string
	unit      string
	start     time.Time
	v         inspectionVersion
	finalized bool
	fix       *inspectionVersion
	fixFinal  bool

	id, fixID int64
}

// counted returns the version a report counts, if any, whatever the
// period.
func (s *fixtureInspection) counted() (int64, *inspectionVersion, bool) {
	switch {
	case !s.finalized:
		return 0, nil, false
	case s.fix != nil && s.fixFinal:
		return s.fixID, s.fix, true
	}
	return s.id, &s.v, true
}

func fixtureInspections() []*fixtureInspection {
	from, until := reportQuarter.Range()
	return []*fixtureInspection{
		{name: "first instant of the quarter", unit: "XA-A", start: from, finalized: true,
			v: inspectionVersion{surprise: true, att: attendance(20, 1, 0, 0, 1, 2, 0), findings: []string{"vang-khong-ly-do", "khong-deo-the"}, handling: []string{"nhac-nho"}}},
		{name: "one second before (previous quarter)", unit: "SNV", start: from.Add(-time.Second), finalized: true,
			v: inspectionVersion{att: attendance(30, 2, 1, 0, 0, 1, 1), findings: []string{"hut-thuoc", "vang-khong-ly-do"}, handling: []string{"phe-binh"}}},
		{name: "first instant after (next quarter)", unit: "STC", start: until, finalized: true,
			v: inspectionVersion{surprise: true, att: attendance(10, 0, 0, 0, 0, 0, 0), findings: []string{"ruou-bia"}, handling: []string{"kiem-diem"}}},
		{name: "draft (not counted)", unit: "STC", start: vnTime(2026, 7, 12, 8, 0, 0),
			v: inspectionVersion{surprise: true, att: attendance(11, 0, 0, 0, 2, 0, 0), findings: []string{"ruou-bia"}}},
		{name: "superseded by a finalized correction", unit: "STC", start: vnTime(2026, 8, 3, 8, 0, 0), finalized: true,
			v:   inspectionVersion{surprise: true, att: attendance(40, 3, 0, 0, 4, 2, 0), findings: []string{"thai-do", "khong-deo-the"}, handling: []string{"kiem-diem"}},
			fix: &inspectionVersion{surprise: true, att: attendance(41, 3, 1, 0, 2, 2, 1), findings: []string{"khong-deo-the"}, handling: []string{"cc-khien-trach"}}, fixFinal: true},
		{name: "with a draft correction", unit: "SNV", start: vnTime(2026, 9, 10, 14, 0, 0), finalized: true,
			v:   inspectionVersion{att: attendance(25, 1, 2, 1, 0, 3, 0), findings: []string{"di-muon-ve-som", "di-muon-ve-som", "viec-rieng"}, handling: []string{"nhac-nho", "phe-binh"}},
			fix: &inspectionVersion{att: attendance(26, 0, 0, 0, 0, 0, 0), findings: []string{"mot-cua"}}},
		{name: "same unit, earlier, nothing found", unit: "SNV", start: vnTime(2026, 7, 20, 7, 30, 0), finalized: true,
			v: inspectionVersion{surprise: true, att: attendance(28, 0, 0, 2, 0, 0, 0)}},
		{name: "last second of the quarter", unit: "XA-B", start: until.Add(-time.Second), finalized: true,
			v: inspectionVersion{att: attendance(15, 0, 1, 0, 2, 1, 0), findings: []string{"vang-khong-ly-do", "trang-phuc"}, handling: []string{"kiem-diem"}}},
		{name: "previous quarter, commune", unit: "XA-B", start: vnTime(2026, 5, 12, 8, 0, 0), finalized: true,
			v: inspectionVersion{att: attendance(18, 1, 0, 0, 1, 0, 0), findings: []string{"hut-thuoc", "nhung-nhieu"}, handling: []string{"kiem-diem"}}},
		{name: "previous quarter, its first instant", unit: "STC", start: vnTime(2026, 4, 1, 0, 0, 0), finalized: true,
			v: inspectionVersion{surprise: true, att: attendance(22, 0, 0, 0, 3, 1, 0), findings: []string{"vang-khong-ly-do"}, handling: []string{"dang-xem-xet"}}},
	}
}

// fixtureDispatch is what happens to one unit's copy of a directive; nil
// times never happen.
type fixtureDispatch struct {
	unit                          string
	sent, read, ack, bounce, fail *time.Time
}

type fixtureDirective struct {
	name       string
	issued     time.Time
	deadline   *time.Time
	dispatches []fixtureDispatch
}

func fixtureDirectives() []fixtureDirective {
	from, until := reportQuarter.Range()
	deadline := vnTime(2026, 7, 10, 17, 0, 0)
	mid := vnTime(2026, 8, 15, 9, 0, 0)
	prevDeadline := vnTime(2026, 7, 3, 17, 0, 0)
	return []fixtureDirective{
		{name: "first instant of the quarter, with a deadline", issued: from, deadline: &deadline, dispatches: []fixtureDispatch{
			{unit: "SNV", sent: ptr(from.Add(time.Minute)), ack: ptr(deadline)},                                                       // exactly at the deadline: on time
			{unit: "STC", sent: ptr(from.Add(time.Minute)), read: ptr(deadline.Add(-time.Hour)), ack: ptr(deadline.Add(time.Second))}, // one second late
			{unit: "XA-A", sent: ptr(from.Add(time.Minute)), read: ptr(vnTime(2026, 7, 20, 9, 0, 0))},                                 // read, never acknowledged
			{unit: "XA-B", sent: ptr(from.Add(time.Minute)), bounce: ptr(from.Add(5 * time.Minute))},                                  // bounced
		}},
		{name: "mid quarter, no deadline", issued: mid, dispatches: []fixtureDispatch{
			{unit: "SNV", sent: ptr(mid.Add(time.Minute)), ack: ptr(mid.Add(24 * time.Hour))},
			{unit: "XA-A", fail: ptr(mid.Add(2 * time.Minute))},                                  // failed
			{unit: "XA-B", sent: ptr(mid.Add(time.Minute)), ack: ptr(reportAsOf.Add(time.Hour))}, // after the report's as-of: not yet
		}},
		{name: "first instant after the quarter", issued: until, dispatches: []fixtureDispatch{
			{unit: "SNV", sent: ptr(until.Add(time.Minute)), ack: ptr(until.Add(time.Hour))},
		}},
		{name: "one second before the quarter (previous)", issued: from.Add(-time.Second), deadline: &prevDeadline, dispatches: []fixtureDispatch{
			{unit: "SNV", sent: ptr(from), ack: ptr(prevDeadline.Add(-24 * time.Hour))},
			{unit: "STC", sent: ptr(from)},
		}},
	}
}

// personNames are given to the findings in the order they are built, so
// that every person of the detail sheet is told apart.
var personNames = []string{"Nguyễn Văn An", "Trần Thị Bích", "Lê Hoàng Cường", "Phạm Thị Dung", "Võ Minh Đức",
	"Huỳnh Thị Én", "Đặng Quốc Gia", "Bùi Thị Hạnh", "Đỗ Văn Khoa", "Hồ Thị Lan", "Ngô Văn Minh", "Dương Thị Nga",
	"Lý Văn Phúc", "Trịnh Thị Quyên", "Mai Văn Sơn", "Tô Thị Thu", "Châu Văn Út", "La Thị Vân", "Tạ Văn Xuân", "Kha Thị Yến"}

// quarterFixture is the quarter built on one store.
type quarterFixture struct {
	st          *store.Store
	tpl         *templates.Set
	clerk       int64 // the clerk who requests reports
	owner       int64 // VANTHU_REPORT_OWNER's user
	units       map[string]vanthu.Unit
	inspections []*fixtureInspection
	directives  []fixtureDirective
	named       int
}

func (q *quarterFixture) version(in *vanthu.Inspection, v *inspectionVersion) {
	in.Surprise, in.Attendance = v.surprise, v.att
	in.Findings, in.Handling = []vanthu.Finding{}, []vanthu.Handling{}
	for _, code := range v.findings {
		name := personNames[q.named%len(personNames)]
		if q.named >= len(personNames) {
			name += " " + strconv.Itoa(q.named)
		}
		q.named++
		in.Findings = append(in.Findings, vanthu.Finding{Name: name, Position: "Chuyên viên", Section: "Phòng " + code,
			Violation: code, Explanation: "Giải trình của " + name})
	}
	for _, code := range v.handling {
		in.Handling = append(in.Handling, vanthu.Handling{Code: code})
	}
	v.persons = in.Findings
}

func newQuarterFixture(t *testing.T, open storeOpener) *quarterFixture {
	t.Helper()
	ctx := context.Background()
	tpl, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	q := &quarterFixture{st: open(t), tpl: tpl, units: map[string]vanthu.Unit{}}
	for _, u := range []*vanthu.User{
		{Username: "vanthu", FullName: "Văn Thư", Role: vanthu.RoleClerk, Active: true},
		{Username: "baocao", FullName: "Người Lập Báo Cáo", Role: vanthu.RoleClerk, Active: true},
	} {
		if err := q.st.CreateUser(ctx, u, "seed"); err != nil {
			t.Fatal(err)
		}
	}
	clerk, _ := q.st.GetUserByUsername(ctx, "vanthu")
	owner, _ := q.st.GetUserByUsername(ctx, "baocao")
	q.clerk, q.owner = clerk.ID, owner.ID
	// Created out of order, so that the official order is the store's work.
	for _, i := range []int{3, 1, 4, 0, 2} {
		u := fixtureUnits[i]
		u.Emails, u.Active = []string{strings.ToLower(u.Code) + "@vinhlong.gov.vn"}, true
		if err := q.st.CreateUnit(ctx, &u, "seed"); err != nil {
			t.Fatalf("CreateUnit %s: %v", u.Code, err)
		}
		q.units[u.Code] = u
	}
	q.buildInspections(t)
	q.buildDirectives(t)
	return q
}

// complete is an inspection of unit at start that finalizing accepts,
// findings and attendance left for the caller.
func (q *quarterFixture) complete(unit string, start time.Time) vanthu.Inspection {
	end := start.Add(90 * time.Minute)
	return vanthu.Inspection{
		UnitID: q.units[unit].ID, Place: "Trụ sở " + unitName(unit),
		LegalBasis: []string{"Quyết định số 356/QĐ-SNV ngày 20/6/2026 của Giám đốc Sở Nội vụ"},
		StartedAt:  &start, EndedAt: &end,
		Team: []vanthu.TeamMember{
			{Name: "Trần Thị Ngọc Hân", Position: "Phó Giám đốc", Role: vanthu.RoleLeader},
			{Name: "Võ Thị Mỹ Duyên", Position: "Chuyên viên", Role: vanthu.RoleSecretary},
		},
		Representatives: []vanthu.Person{{Name: "Phạm Văn Đức", Position: "Chánh Văn phòng"}},
		Conclusions:     "Đơn vị cơ bản chấp hành kỷ luật, kỷ cương hành chính.",
		CreatedBy:       q.clerk,
		Findings:        []vanthu.Finding{},
		Handling:        []vanthu.Handling{},
	}
}

func (q *quarterFixture) buildInspections(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	minutes := vanthu.Document{Kind: vanthu.KindMinutes, TypeCode: "BB", Issuer: "SNV", CreatedBy: q.clerk,
		Subject: "Biên bản kiểm tra", Content: vanthu.Content{Template: "minutes", Agency: "SỞ NỘI VỤ", Body: "Biên bản."}}
	if err := q.st.CreateDocument(ctx, &minutes, "vanthu"); err != nil {
		t.Fatalf("CreateDocument(minutes): %v", err)
	}
	q.inspections = fixtureInspections()
	for _, s := range q.inspections {
		in := q.complete(s.unit, s.start)
		q.version(&in, &s.v)
		if err := q.st.CreateInspection(ctx, &in, "kiemtra"); err != nil {
			t.Fatalf("%s: CreateInspection: %v", s.name, err)
		}
		s.id = in.ID
		if !s.finalized {
			continue
		}
		if err := q.st.MarkInspectionFinalized(ctx, in.ID, minutes.ID, "system"); err != nil {
			t.Fatalf("%s: MarkInspectionFinalized: %v", s.name, err)
		}
		if s.fix == nil {
			continue
		}
		fix, err := q.st.CorrectInspection(ctx, in.ID, q.clerk, "kiemtra")
		if err != nil {
			t.Fatalf("%s: CorrectInspection: %v", s.name, err)
		}
		q.version(&fix, s.fix)
		if err := q.st.SaveInspection(ctx, &fix, "kiemtra"); err != nil {
			t.Fatalf("%s: SaveInspection(correction): %v", s.name, err)
		}
		s.fixID = fix.ID
		if s.fixFinal {
			if err := q.st.MarkInspectionFinalized(ctx, fix.ID, minutes.ID, "system"); err != nil {
				t.Fatalf("%s: MarkInspectionFinalized(correction): %v", s.name, err)
			}
		}
	}
}

// buildDirectives drafts and issues the directives in time order through
// the directive service (numbered, laid out, one dispatch per unit), then
// applies the milestones.
func (q *quarterFixture) buildDirectives(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	tpl := q.tpl
	q.directives = fixtureDirectives()
	sorted := slices.Clone(q.directives)
	slices.SortFunc(sorted, func(a, b fixtureDirective) int { return a.issued.Compare(b.issued) })
	for _, d := range sorted {
		svc := &directive.Service{Store: q.st, Templates: tpl, Key: testKey, Now: func() time.Time { return d.issued }}
		doc, err := svc.NewDraft("directive")
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, x := range d.dispatches {
			ids = append(ids, q.units[x.unit].ID)
		}
		doc.CreatedBy, doc.Subject = q.clerk, "Về việc tăng cường kỷ luật, kỷ cương hành chính ("+d.name+")"
		doc.Content.Audience, doc.Content.Deadline = vanthu.Audience{UnitIDs: ids}, d.deadline
		if err := q.st.CreateDocument(ctx, &doc, "vanthu"); err != nil {
			t.Fatalf("%s: CreateDocument: %v", d.name, err)
		}
		if _, err := svc.Issue(ctx, doc.ID, "vanthu"); err != nil {
			t.Fatalf("%s: Issue: %v", d.name, err)
		}
		ds, err := q.st.ListDispatches(ctx, doc.ID)
		if err != nil || len(ds) != len(d.dispatches) {
			t.Fatalf("%s: ListDispatches = %d, %v", d.name, len(ds), err)
		}
		for _, x := range d.dispatches {
			id := ds[slices.IndexFunc(ds, func(y vanthu.Dispatch) bool { return y.UnitCode == x.unit })].ID
			if x.fail != nil {
				if err := q.st.MarkFailed(ctx, id, "550 mailbox unavailable", *x.fail); err != nil {
					t.Fatal(err)
				}
			}
			if x.sent != nil {
				if err := q.st.MarkSent(ctx, id, fmt.Sprintf("<d%d@vanthu.test>", id), *x.sent); err != nil {
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
				if ok, err := q.st.ApplyMilestone(ctx, id, m.m, *m.at, vanthu.SourceWeb, "test", ""); err != nil || !ok {
					t.Fatalf("%s %s %s: applied %v, %v", d.name, x.unit, m.m, ok, err)
				}
			}
		}
	}
}

// The expected figures, computed from the specs alone.

func inPeriod(at time.Time, p vanthu.Period) bool {
	from, until := p.Range()
	return !at.Before(from) && at.Before(until)
}

// by reports whether an optional milestone happened by asOf.
func by(m *time.Time, asOf time.Time) bool { return m != nil && !m.After(asOf) }

// countedRow is one counted inspection of a period.
type countedRow struct {
	spec *fixtureInspection
	id   int64
	v    *inspectionVersion
}

// countedIn returns the inspections p counts, in official unit order then
// start.
func (q *quarterFixture) countedIn(p vanthu.Period) []countedRow {
	var out []countedRow
	for _, s := range q.inspections {
		if id, v, ok := s.counted(); ok && inPeriod(s.start, p) {
			out = append(out, countedRow{s, id, v})
		}
	}
	slices.SortFunc(out, func(a, b countedRow) int {
		return cmp.Or(cmp.Compare(unitIndex(a.spec.unit), unitIndex(b.spec.unit)), a.spec.start.Compare(b.spec.start))
	})
	return out
}

func (q *quarterFixture) wantInspections(p vanthu.Period) vanthu.InspectionFigures {
	var f vanthu.InspectionFigures
	units := map[string]bool{}
	for _, r := range q.countedIn(p) {
		f.Total++
		if r.v.surprise {
			f.Surprise++
		} else {
			f.Scheduled++
		}
		units[r.spec.unit] = true
		a := r.v.att
		f.Listed += a.Listed
		f.Present += a.Present
		f.AbsentLeave += a.AbsentLeave
		f.AbsentAssignment += a.AbsentAssignment
		f.AbsentStudy += a.AbsentStudy
		f.AbsentUnexcused += a.AbsentUnexcused
		f.Late += a.Late
		f.LeftEarly += a.LeftEarly
		f.Violators += len(r.v.findings)
	}
	f.Units = len(units)
	for _, g := range vanthu.UnitGroups {
		n := 0
		for code := range units {
			if fixtureUnits[unitIndex(code)].Group == g {
				n++
			}
		}
		if n > 0 {
			f.UnitsByGroup = append(f.UnitsByGroup, vanthu.CodeCount{Code: string(g), Name: g.Label(), Count: n})
		}
	}
	return f
}

// codeRow is one line of a violations or handling table: this period,
// the previous one.
type codeRow struct {
	name      string
	cur, prev int
}

// wantCodes counts violation (handling false) or handling codes in p and
// its previous period, over the codes found in either, in catalog order.
func (q *quarterFixture) wantCodes(p vanthu.Period, handling bool) []codeRow {
	count := func(p vanthu.Period) map[string]int {
		m := map[string]int{}
		for _, r := range q.countedIn(p) {
			codes := r.v.findings
			if handling {
				codes = r.v.handling
			}
			for _, c := range codes {
				m[c]++
			}
		}
		return m
	}
	cur, prev := count(p), count(p.Previous())
	kind := vanthu.CatalogViolation
	if handling {
		kind = vanthu.CatalogHandling
	}
	var rows []codeRow
	for _, e := range vanthu.DefaultCatalog() { // in catalog order
		if e.Kind == kind && (cur[e.Code] > 0 || prev[e.Code] > 0) {
			rows = append(rows, codeRow{e.Name, cur[e.Code], prev[e.Code]})
		}
	}
	return rows
}

func catalogName(code string) string {
	for _, e := range vanthu.DefaultCatalog() {
		if e.Kind == vanthu.CatalogViolation && e.Code == code {
			return e.Name
		}
	}
	return code
}

// receiptRow is one line of Biểu 4.
type receiptRow struct {
	unit                                             string
	dispatches, received, read, acked, late, overdue int
}

func (q *quarterFixture) wantDirection(p vanthu.Period, asOf time.Time) (vanthu.DirectionFigures, []receiptRow) {
	var d vanthu.DirectionFigures
	units := map[string]*receiptRow{}
	for _, doc := range q.directives {
		if !inPeriod(doc.issued, p) {
			continue
		}
		d.Issued++
		for _, x := range doc.dispatches {
			r := units[x.unit]
			if r == nil {
				r = &receiptRow{unit: x.unit}
				units[x.unit] = r
			}
			d.Dispatches++
			r.dispatches++
			bounced := by(x.bounce, asOf) || by(x.fail, asOf)
			acked := by(x.ack, asOf)
			if (by(x.sent, asOf) && !bounced) || by(x.read, asOf) || acked {
				d.Received++
				r.received++
			}
			if by(x.read, asOf) || acked {
				d.Read++
				r.read++
			}
			switch {
			case acked && doc.deadline != nil && x.ack.After(*doc.deadline):
				d.AckLate++
				r.acked++
				r.late++
			case acked:
				d.AckOnTime++
				r.acked++
			default:
				d.NotAckd++
				if doc.deadline != nil && doc.deadline.Before(asOf) && !by(x.fail, asOf) {
					r.overdue++
				}
			}
			if bounced {
				d.BouncedFailed++
			}
		}
	}
	d.Units = len(units)
	var rows []receiptRow
	for _, r := range units {
		rows = append(rows, *r)
	}
	slices.SortFunc(rows, func(a, b receiptRow) int { return cmp.Compare(unitIndex(a.unit), unitIndex(b.unit)) })
	return d, rows
}

// Phrases as the report prints them, written here from DOMAIN.md §5.

func signedCount(n int) string {
	if n > 0 {
		return "+" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

func changePhrase(cur, prev int) string {
	switch {
	case cur > prev:
		return "tăng " + strconv.Itoa(cur-prev)
	case cur < prev:
		return "giảm " + strconv.Itoa(prev-cur)
	}
	return "không thay đổi"
}

// pointsPhrase is how a rate moved, in percentage points between the two
// printed rates: "tăng 1,25 điểm phần trăm".
func pointsPhrase(part, whole, prevPart, prevWhole int) string {
	printed := func(p, w int) int {
		s := strings.TrimSuffix(vanthu.Percent(p, w), "%")
		n, err := strconv.Atoi(strings.Replace(s, ",", "", 1))
		if err != nil {
			panic(s)
		}
		return n
	}
	diff := printed(part, whole) - printed(prevPart, prevWhole)
	abs := max(diff, -diff)
	pts := fmt.Sprintf("%d,%02d điểm phần trăm", abs/100, abs%100)
	switch {
	case diff > 0:
		return "tăng " + pts
	case diff < 0:
		return "giảm " + pts
	}
	return "không thay đổi"
}

// reportHandlers wires the report tasks on st with the clock at now.
// Loading the templates takes seconds under the race detector, so each
// test loads them once.
func reportHandlers(tpl *templates.Set, st ReportStore, now time.Time, jobs ReportEnqueuer) *Handlers {
	return &Handlers{Templates: tpl, Logger: quiet, Now: func() time.Time { return now },
		Reports: &Reports{Store: st, Layout: &report.Service{Templates: tpl}, Jobs: jobs,
			Recipients: []string{"UBND-T", "KHONG-CO"}, Owner: "baocao"}}
}

func generateTask(t *testing.T, r vanthu.Report) *asynq.Task {
	t.Helper()
	task, _, err := NewReportGenerateTask(ReportPayload{ReportID: r.ID, Generation: r.Generation})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func getReport(t *testing.T, st *store.Store, id int64) vanthu.Report {
	t.Helper()
	r, err := st.GetReport(context.Background(), id)
	if err != nil {
		t.Fatalf("GetReport %d: %v", id, err)
	}
	return r
}

// pdfText lays out document id as issuing would, renders it and reads it
// back with pdftotext, whitespace collapsed.
func pdfText(t *testing.T, st *store.Store, id int64) string {
	t.Helper()
	doc, err := st.GetDocument(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := render.PDF(directive.Layout(doc, reportAsOf))
	if err != nil {
		t.Fatalf("render report: %v", err)
	}
	return strings.Join(strings.Fields(testenv.RunPDFTool(t, pdf, false, "pdftotext", "-raw")), " ")
}

func TestReportConsistency(t *testing.T) {
	for name, open := range reportDialects {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testReportConsistency(t, open)
		})
	}
}

func testReportConsistency(t *testing.T, open storeOpener) {
	ctx := context.Background()
	q := newQuarterFixture(t, open)
	st := q.st
	h := reportHandlers(q.tpl, st, reportAsOf, nil)
	r, err := st.RequestReport(ctx, reportQuarter, q.clerk, "vanthu")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.HandleReportGenerate(ctx, generateTask(t, r)); err != nil {
		t.Fatalf("HandleReportGenerate: %v", err)
	}
	r = getReport(t, st, r.ID)
	if r.State != vanthu.ReportReady || r.Progress != 100 || r.DocumentID == 0 || r.Error != "" {
		t.Fatalf("report after generation: state %s, progress %d, document %d, error %q", r.State, r.Progress, r.DocumentID, r.Error)
	}

	p, prev := reportQuarter, reportQuarter.Previous()
	in, pin := q.wantInspections(p), q.wantInspections(prev)
	d, receipts := q.wantDirection(p, reportAsOf)
	pd, _ := q.wantDirection(prev, reportAsOf)
	violations, handling := q.wantCodes(p, false), q.wantCodes(p, true)
	rows := q.countedIn(p)
	// The fixture is what it claims to be: boundaries and corrections
	// matter, both periods have data, every milestone kind is met.
	if in.Total != 5 || pin.Total != 3 || d.Issued != 2 || pd.Issued != 1 || d.AckOnTime == 0 || d.AckLate == 0 ||
		d.BouncedFailed != 2 || len(in.UnitsByGroup) != 2 || len(violations) < 5 || len(handling) < 5 ||
		!slices.ContainsFunc(handling, func(c codeRow) bool { return c.cur == 0 }) || !slices.ContainsFunc(violations, func(c codeRow) bool { return c.cur == 0 }) {
		t.Fatalf("fixture expectations off: %+v %+v %+v", in, d, violations)
	}

	t.Run("pdf", func(t *testing.T) {
		text := pdfText(t, st, r.DocumentID)
		pct := vanthu.Percent
		late := in.Late + in.LeftEarly
		excused := in.AbsentLeave + in.AbsentAssignment + in.AbsentStudy
		absent := excused + in.AbsentUnexcused
		pExcused := pin.AbsentLeave + pin.AbsentAssignment + pin.AbsentStudy
		var groups []string
		for _, g := range in.UnitsByGroup {
			groups = append(groups, fmt.Sprintf("%s: %d đơn vị", g.Name, g.Count))
		}
		want := []string{
			"BÁO CÁO", "Kính gửi: Ủy ban nhân dân tỉnh", "quý III năm 2026",
			"từ ngày 01/07/2026 đến ngày 30/09/2026", "10 giờ 00 ngày 05/10/2026",
			// I.
			fmt.Sprintf("ban hành %d văn bản chỉ đạo, gửi %d lượt văn bản đến %d cơ quan, đơn vị", d.Issued, d.Dispatches, d.Units),
			fmt.Sprintf("Đã nhận: %d lượt (%s)", d.Received, pct(d.Received, d.Dispatches)),
			fmt.Sprintf("Đã đọc: %d lượt (%s)", d.Read, pct(d.Read, d.Dispatches)),
			fmt.Sprintf("Xác nhận đúng hạn: %d lượt (%s)", d.AckOnTime, pct(d.AckOnTime, d.Dispatches)),
			fmt.Sprintf("Xác nhận trễ hạn: %d lượt (%s)", d.AckLate, pct(d.AckLate, d.Dispatches)),
			fmt.Sprintf("Chưa xác nhận: %d lượt (%s)", d.NotAckd, pct(d.NotAckd, d.Dispatches)),
			fmt.Sprintf("(bị trả lại, lỗi): %d lượt (%s)", d.BouncedFailed, pct(d.BouncedFailed, d.Dispatches)),
			fmt.Sprintf("So với quý II năm 2026, số văn bản chỉ đạo ban hành %s; tỷ lệ xác nhận đã nhận văn bản %s, tỷ lệ xác nhận đúng hạn %s",
				changePhrase(d.Issued, pd.Issued),
				pointsPhrase(d.AckOnTime+d.AckLate, d.Dispatches, pd.AckOnTime+pd.AckLate, pd.Dispatches),
				pointsPhrase(d.AckOnTime, d.Dispatches, pd.AckOnTime, pd.Dispatches)),
			// II.
			fmt.Sprintf("Đã kiểm tra %d cuộc (%d theo kế hoạch, %d đột xuất) tại %d cơ quan, đơn vị, gồm: %s.",
				in.Total, in.Scheduled, in.Surprise, in.Units, strings.Join(groups, "; ")),
			fmt.Sprintf("được kiểm tra là %d người: có mặt %d/%d người (%s), vắng %d người (%s)",
				in.Listed, in.Present, in.Listed, pct(in.Present, in.Listed), absent, pct(absent, in.Listed)),
			fmt.Sprintf("Vắng có lý do: %d người (%s), gồm nghỉ phép %d, đi công tác %d, đi học %d",
				excused, pct(excused, in.Listed), in.AbsentLeave, in.AbsentAssignment, in.AbsentStudy),
			fmt.Sprintf("Vắng không có lý do: %d người (%s)", in.AbsentUnexcused, pct(in.AbsentUnexcused, in.Listed)),
			fmt.Sprintf("Đi muộn, về sớm: %d người (%s), gồm đi muộn %d, về sớm %d", late, pct(late, in.Listed), in.Late, in.LeftEarly),
			fmt.Sprintf("Số người vi phạm được ghi nhận: %d người.", in.Violators),
			fmt.Sprintf("So với quý II năm 2026, số cuộc kiểm tra %s; tỷ lệ có mặt %s; số người vắng không có lý do %s; số người vi phạm %s.",
				changePhrase(in.Total, pin.Total), pointsPhrase(in.Present, in.Listed, pin.Present, pin.Listed),
				changePhrase(in.AbsentUnexcused, pin.AbsentUnexcused), changePhrase(in.Violators, pin.Violators)),
			// Summary table: this quarter, the previous one (with rates), the change.
			fmt.Sprintf("Văn bản chỉ đạo ban hành %d %d %s", d.Issued, pd.Issued, signedCount(d.Issued-pd.Issued)),
			fmt.Sprintf("Lượt văn bản gửi đến đơn vị %d %d %s", d.Dispatches, pd.Dispatches, signedCount(d.Dispatches-pd.Dispatches)),
			fmt.Sprintf("Xác nhận đã nhận văn bản %d (%s) %d (%s) %s", d.AckOnTime+d.AckLate, pct(d.AckOnTime+d.AckLate, d.Dispatches),
				pd.AckOnTime+pd.AckLate, pct(pd.AckOnTime+pd.AckLate, pd.Dispatches), signedCount(d.AckOnTime+d.AckLate-pd.AckOnTime-pd.AckLate)),
			fmt.Sprintf("Trong đó xác nhận đúng hạn %d (%s) %d (%s) %s", d.AckOnTime, pct(d.AckOnTime, d.Dispatches),
				pd.AckOnTime, pct(pd.AckOnTime, pd.Dispatches), signedCount(d.AckOnTime-pd.AckOnTime)),
			fmt.Sprintf("Số cuộc kiểm tra %d %d %s", in.Total, pin.Total, signedCount(in.Total-pin.Total)),
			fmt.Sprintf("Số đơn vị được kiểm tra %d %d %s", in.Units, pin.Units, signedCount(in.Units-pin.Units)),
			fmt.Sprintf("Số CBCCVC được kiểm tra %d %d %s", in.Listed, pin.Listed, signedCount(in.Listed-pin.Listed)),
			fmt.Sprintf("Có mặt %d (%s) %d (%s) %s", in.Present, pct(in.Present, in.Listed), pin.Present, pct(pin.Present, pin.Listed), signedCount(in.Present-pin.Present)),
			fmt.Sprintf("Vắng có lý do %d (%s) %d (%s) %s", excused, pct(excused, in.Listed), pExcused, pct(pExcused, pin.Listed), signedCount(excused-pExcused)),
			fmt.Sprintf("Vắng không có lý do %d (%s) %d (%s) %s", in.AbsentUnexcused, pct(in.AbsentUnexcused, in.Listed),
				pin.AbsentUnexcused, pct(pin.AbsentUnexcused, pin.Listed), signedCount(in.AbsentUnexcused-pin.AbsentUnexcused)),
			fmt.Sprintf("Đi muộn, về sớm %d (%s) %d (%s) %s", late, pct(late, in.Listed), pin.Late+pin.LeftEarly,
				pct(pin.Late+pin.LeftEarly, pin.Listed), signedCount(late-pin.Late-pin.LeftEarly)),
			fmt.Sprintf("Số người vi phạm %d %d %s", in.Violators, pin.Violators, signedCount(in.Violators-pin.Violators)),
			"Biểu đồ 1", "Quý III năm 2026 Quý II năm 2026",
		}
		total := func(rows []codeRow) (c, p int) {
			for _, r := range rows {
				c, p = c+r.cur, p+r.prev
			}
			return c, p
		}
		for _, v := range violations {
			want = append(want, fmt.Sprintf("%s %d %d %s", v.name, v.cur, v.prev, signedCount(v.cur-v.prev)))
		}
		vc, vp := total(violations)
		want = append(want, fmt.Sprintf("Tổng cộng %d %d %s", vc, vp, signedCount(vc-vp)))
		hc, hp := total(handling)
		want = append(want, fmt.Sprintf("Đã đề xuất xử lý %d trường hợp", hc))
		for _, v := range handling {
			if v.cur > 0 {
				want = append(want, fmt.Sprintf("%s: %d trường hợp;", v.name, v.cur))
			}
			want = append(want, fmt.Sprintf("%s %d %d %s", v.name, v.cur, v.prev, signedCount(v.cur-v.prev)))
		}
		want = append(want, fmt.Sprintf("Tổng cộng %d %d %s", hc, hp, signedCount(hc-hp)))
		// Sections III–V: the narrative the first generation proposed.
		if r.Narrative.Assessment == "" || len(r.Narrative.NextTasks) == 0 || r.Narrative.Proposals == "" {
			t.Fatalf("first generation left no narrative: %+v", r.Narrative)
		}
		want = append(want, r.Narrative.Assessment, r.Narrative.Proposals)
		want = append(want, r.Narrative.NextTasks...)
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("PDF text lacks %q", w)
			}
		}
		// A handling form without a case this quarter is only in the
		// table; every violation is in the table and the chart.
		for _, v := range handling {
			if v.cur == 0 && strings.Contains(text, v.name+": 0") {
				t.Errorf("handling %q listed without cases", v.name)
			}
		}
		for _, v := range violations {
			if c := strings.Count(text, v.name); c < 2 {
				t.Errorf("%q printed %d times, want in the table and the chart", v.name, c)
			}
		}
		if t.Failed() {
			t.Logf("PDF text:\n%s", text)
		}
	})

	t.Run("workbook", func(t *testing.T) {
		b, err := st.ReportWorkbook(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		f, err := excelize.OpenReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if got := strings.Join(f.GetSheetList(), ","); got != "Tổng hợp,Biểu 1,Biểu 2,Biểu 3,Biểu 4,Chi tiết" {
			t.Fatalf("sheets = %s", got)
		}
		stored := func(sheet, ref string) string {
			t.Helper()
			v, err := f.GetCellValue(sheet, ref, excelize.Options{RawCellValue: true})
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		text := func(sheet, ref, want string) {
			t.Helper()
			if got := stored(sheet, ref); got != want {
				t.Errorf("%s!%s = %q, want %q", sheet, ref, got, want)
			}
		}
		near := func(sheet, ref string, want float64) {
			t.Helper()
			v := stored(sheet, ref)
			got, err := strconv.ParseFloat(v, 64)
			if err != nil || fmt.Sprintf("%.9f", got) != fmt.Sprintf("%.9f", want) {
				t.Errorf("%s!%s = %q, want %v", sheet, ref, v, want)
			}
		}
		// total checks a totals cell: its formula and the cached value a
		// reader that does not recalculate sees.
		total := func(sheet, ref, formula string, want float64) {
			t.Helper()
			if got, _ := f.GetCellFormula(sheet, ref); got != formula {
				t.Errorf("%s!%s formula = %q, want %q", sheet, ref, got, formula)
			}
			near(sheet, ref, want)
		}
		frac := func(a, b int) float64 {
			if b == 0 {
				return 0
			}
			return float64(a) / float64(b)
		}

		const s = "Tổng hợp"
		headline := []struct{ cur, prev int }{
			{d.Issued, pd.Issued}, {d.Dispatches, pd.Dispatches}, {d.Received, pd.Received}, {d.Read, pd.Read},
			{d.AckOnTime, pd.AckOnTime}, {d.AckLate, pd.AckLate}, {d.NotAckd, pd.NotAckd},
			{in.Total, pin.Total}, {in.Scheduled, pin.Scheduled}, {in.Surprise, pin.Surprise}, {in.Units, pin.Units},
			{in.Listed, pin.Listed}, {in.Present, pin.Present},
			{in.AbsentLeave + in.AbsentAssignment + in.AbsentStudy, pin.AbsentLeave + pin.AbsentAssignment + pin.AbsentStudy},
			{in.AbsentUnexcused, pin.AbsentUnexcused}, {in.Late + in.LeftEarly, pin.Late + pin.LeftEarly}, {in.Violators, pin.Violators},
		}
		for i, x := range headline {
			row := 5 + i
			near(s, fmt.Sprint("C", row), float64(x.cur))
			near(s, fmt.Sprint("D", row), float64(x.prev))
			total(s, fmt.Sprint("E", row), fmt.Sprintf("C%d-D%d", row, row), float64(x.cur-x.prev))
		}
		near(s, "C22", frac(in.Present, in.Listed))
		near(s, "D22", frac(pin.Present, pin.Listed))
		total(s, "E22", "C22-D22", frac(in.Present, in.Listed)-frac(pin.Present, pin.Listed))
		vc, vp := 0, 0
		for i, v := range violations {
			row := 25 + i
			text(s, fmt.Sprint("B", row), v.name)
			near(s, fmt.Sprint("C", row), float64(v.cur))
			near(s, fmt.Sprint("D", row), float64(v.prev))
			total(s, fmt.Sprint("E", row), fmt.Sprintf("C%d-D%d", row, row), float64(v.cur-v.prev))
			vc, vp = vc+v.cur, vp+v.prev
		}
		vt := 25 + len(violations)
		text(s, fmt.Sprint("B", vt), "Tổng cộng")
		total(s, fmt.Sprint("C", vt), fmt.Sprintf("SUM(C25:C%d)", vt-1), float64(vc))
		total(s, fmt.Sprint("D", vt), fmt.Sprintf("SUM(D25:D%d)", vt-1), float64(vp))
		total(s, fmt.Sprint("E", vt), fmt.Sprintf("C%d-D%d", vt, vt), float64(vc-vp))

		// Biểu 1: one row per counted inspection, unit order then start.
		const b1 = "Biểu 1"
		var sums [6]int
		for i, x := range rows {
			row := 5 + i
			a := x.v.att
			text(b1, fmt.Sprint("B", row), unitName(x.spec.unit))
			if got, _ := f.GetCellValue(b1, fmt.Sprint("C", row)); got != x.spec.start.Format("02/01/2006") {
				t.Errorf("%s!C%d = %q, want %s", b1, row, got, x.spec.start.Format("02/01/2006"))
			}
			form := "Theo kế hoạch"
			if x.v.surprise {
				form = "Đột xuất"
			}
			text(b1, fmt.Sprint("D", row), form)
			vals := [6]int{a.Listed, a.Present, a.AbsentLeave + a.AbsentAssignment + a.AbsentStudy, a.AbsentUnexcused, a.Late + a.LeftEarly, len(x.v.findings)}
			for c, v := range vals {
				near(b1, fmt.Sprintf("%c%d", 'E'+c, row), float64(v))
				sums[c] += v
			}
			near(b1, fmt.Sprint("K", row), frac(a.Present, a.Listed))
		}
		tot := 5 + len(rows)
		text(b1, fmt.Sprint("B", tot), "Tổng cộng")
		for c, v := range sums {
			col := string(rune('E' + c))
			total(b1, fmt.Sprint(col, tot), fmt.Sprintf("SUM(%s5:%s%d)", col, col, tot-1), float64(v))
		}
		if sums[0] != in.Listed || sums[5] != in.Violators {
			t.Errorf("Biểu 1 rows add up to %v, headline %d listed %d violators", sums, in.Listed, in.Violators)
		}
		near(b1, fmt.Sprint("K", tot), frac(in.Present, in.Listed))

		// Biểu 2: per unit (official order) and violation (catalog order).
		type unitCode struct {
			unit, code string
			n          int
		}
		var b2 []unitCode
		for _, x := range rows {
			for _, c := range x.v.findings {
				i := slices.IndexFunc(b2, func(u unitCode) bool { return u.unit == x.spec.unit && u.code == c })
				if i < 0 {
					b2 = append(b2, unitCode{x.spec.unit, c, 0})
					i = len(b2) - 1
				}
				b2[i].n++
			}
		}
		catalogOrder := func(code string) int {
			return slices.IndexFunc(vanthu.DefaultCatalog(), func(e vanthu.CatalogEntry) bool { return e.Kind == vanthu.CatalogViolation && e.Code == code })
		}
		slices.SortFunc(b2, func(a, b unitCode) int {
			return cmp.Or(cmp.Compare(unitIndex(a.unit), unitIndex(b.unit)), cmp.Compare(catalogOrder(a.code), catalogOrder(b.code)))
		})
		for i, x := range b2 {
			row := 5 + i
			text("Biểu 2", fmt.Sprint("B", row), unitName(x.unit))
			text("Biểu 2", fmt.Sprint("C", row), catalogName(x.code))
			near("Biểu 2", fmt.Sprint("D", row), float64(x.n))
		}
		t2 := 5 + len(b2)
		text("Biểu 2", fmt.Sprint("B", t2), "Tổng cộng")
		total("Biểu 2", fmt.Sprint("D", t2), fmt.Sprintf("SUM(D5:D%d)", t2-1), float64(in.Violators))

		// Biểu 3: handling forms, this quarter and the previous one.
		hc, hp := 0, 0
		for i, x := range handling {
			row := 5 + i
			text("Biểu 3", fmt.Sprint("B", row), x.name)
			near("Biểu 3", fmt.Sprint("C", row), float64(x.cur))
			near("Biểu 3", fmt.Sprint("D", row), float64(x.prev))
			total("Biểu 3", fmt.Sprint("E", row), fmt.Sprintf("C%d-D%d", row, row), float64(x.cur-x.prev))
			hc, hp = hc+x.cur, hp+x.prev
		}
		t3 := 5 + len(handling)
		total("Biểu 3", fmt.Sprint("C", t3), fmt.Sprintf("SUM(C5:C%d)", t3-1), float64(hc))
		total("Biểu 3", fmt.Sprint("D", t3), fmt.Sprintf("SUM(D5:D%d)", t3-1), float64(hp))
		total("Biểu 3", fmt.Sprint("E", t3), fmt.Sprintf("C%d-D%d", t3, t3), float64(hc-hp))

		// Biểu 4: receipt per unit sent one of the quarter's directives.
		var sums4 [6]int
		for i, x := range receipts {
			row := 5 + i
			text("Biểu 4", fmt.Sprint("B", row), unitName(x.unit))
			vals := [6]int{x.dispatches, x.received, x.read, x.acked, x.late, x.overdue}
			for c, v := range vals {
				near("Biểu 4", fmt.Sprintf("%c%d", 'C'+c, row), float64(v))
				sums4[c] += v
			}
			near("Biểu 4", fmt.Sprint("I", row), frac(x.acked, x.dispatches))
		}
		t4 := 5 + len(receipts)
		for c, v := range sums4 {
			col := string(rune('C' + c))
			total("Biểu 4", fmt.Sprint(col, t4), fmt.Sprintf("SUM(%s5:%s%d)", col, col, t4-1), float64(v))
		}
		if sums4[0] != d.Dispatches || sums4[1] != d.Received || sums4[2] != d.Read || sums4[3] != d.AckOnTime+d.AckLate || sums4[4] != d.AckLate {
			t.Errorf("Biểu 4 adds up to %v, direction %+v", sums4, d)
		}
		near("Biểu 4", fmt.Sprint("I", t4), frac(sums4[3], sums4[0]))

		// Detail: one row per finding of the counted versions, in unit
		// order, then start, then the minutes' order.
		const c = "Chi tiết"
		n := 0
		for _, x := range rows {
			for _, p := range x.v.persons {
				row := 5 + n
				n++
				text(c, fmt.Sprint("B", row), unitName(x.spec.unit))
				text(c, fmt.Sprint("D", row), p.Name)
				text(c, fmt.Sprint("E", row), p.Position)
				text(c, fmt.Sprint("F", row), p.Section)
				text(c, fmt.Sprint("G", row), catalogName(p.Violation))
				text(c, fmt.Sprint("H", row), p.Explanation)
				near(c, fmt.Sprint("I", row), float64(x.id))
				if got, _ := f.GetCellValue(c, fmt.Sprint("C", row)); got != x.spec.start.Format("02/01/2006 15:04") {
					t.Errorf("%s!C%d = %q, want %s", c, row, got, x.spec.start.Format("02/01/2006 15:04"))
				}
			}
		}
		if n != in.Violators {
			t.Fatalf("fixture: %d persons, %d violators", n, in.Violators)
		}
		total(c, fmt.Sprint("A", 5+n), fmt.Sprintf("COUNT(A5:A%d)", 4+n), float64(n))
		text(c, fmt.Sprint("B", 5+n), "Tổng số người")
		// Nobody from a superseded version, a draft or another quarter.
		all, _ := f.GetRows(c)
		if len(all) != 5+n {
			t.Errorf("detail sheet has %d rows, want %d", len(all), 5+n)
		}
	})
}

// failingStore is the real store with one method failing with err, or,
// with block, running until the context ends.
type failingStore struct {
	*store.Store
	err   error
	block bool
	calls atomic.Int32
}

func (f *failingStore) EachCheckedPerson(ctx context.Context, p vanthu.Period, fn func(vanthu.CheckedPerson) error) error {
	f.calls.Add(1)
	if f.block {
		<-ctx.Done()
		return ctx.Err()
	}
	return f.err
}

// unfinishedStore is the real store failing to record the end of a
// generation, as when the worker dies just before.
type unfinishedStore struct {
	*store.Store
}

func (*unfinishedStore) FinishReport(context.Context, int64, int, *vanthu.ReportFigures, *vanthu.ReportNarrative, []byte) (bool, error) {
	return false, errors.New("connection reset by peer")
}

// overtakingStore requests a new generation of the report while the
// running one reads the figures, as a clerk pressing "lập lại" after a
// failure would.
type overtakingStore struct {
	*store.Store
}

func (o *overtakingStore) ReportFigures(ctx context.Context, p vanthu.Period, asOf time.Time) (vanthu.ReportFigures, error) {
	r, err := o.GetReportByPeriod(ctx, p)
	if err != nil {
		return vanthu.ReportFigures{}, err
	}
	if err := o.FailReport(ctx, r.ID, r.Generation, "Bị ngắt."); err != nil {
		return vanthu.ReportFigures{}, err
	}
	if _, err := o.RequestReport(ctx, p, 0, "vanthu"); err != nil {
		return vanthu.ReportFigures{}, err
	}
	return o.Store.ReportFigures(ctx, p, asOf)
}

func TestReportGeneration(t *testing.T) {
	for name, open := range reportDialects {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testReportGeneration(t, open)
		})
	}
}

func testReportGeneration(t *testing.T, open storeOpener) {
	ctx := context.Background()
	q := newQuarterFixture(t, open)
	st := q.st
	h := reportHandlers(q.tpl, st, reportAsOf, nil)
	var logged bytes.Buffer
	h.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	r, err := st.RequestReport(ctx, reportQuarter, q.clerk, "vanthu")
	if err != nil {
		t.Fatal(err)
	}
	gen1 := generateTask(t, r)
	if err := h.HandleReportGenerate(ctx, gen1); err != nil {
		t.Fatal(err)
	}
	first := getReport(t, st, r.ID)
	if first.State != vanthu.ReportReady || first.Progress != 100 || first.Generation != 1 || first.Figures == nil {
		t.Fatalf("first generation: %+v", first)
	}
	// The first generation proposes the default narrative.
	if want := report.DefaultNarrative(*first.Figures); fmt.Sprint(first.Narrative) != fmt.Sprint(want) {
		t.Errorf("narrative = %+v, want the default %+v", first.Narrative, want)
	}
	doc, err := st.GetDocument(ctx, first.DocumentID)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Kind != vanthu.KindReport || doc.TypeCode != "BC" || doc.State != vanthu.StateDraft || doc.CreatedBy != q.clerk ||
		doc.Subject != report.SubjectPrefix+"quý III năm 2026" {
		t.Errorf("draft = %+v", doc)
	}
	// The audience is the configured leadership; the unknown code is left
	// out, and named in a warning for the administrator.
	if got := doc.Content.Audience.UnitIDs; !slices.Equal(got, []int64{q.units["UBND-T"].ID}) || doc.Content.Audience.All {
		t.Errorf("audience = %+v, want unit %d", doc.Content.Audience, q.units["UBND-T"].ID)
	}
	if log := logged.String(); !strings.Contains(log, "level=WARN msg=\"report recipient is not a unit\"") ||
		!strings.Contains(log, "unit_code=KHONG-CO") || strings.Contains(log, "unit_code=UBND-T") {
		t.Errorf("log = %q, want one warning naming KHONG-CO", log)
	}

	// The clerk edits the narrative and the data changes; the second
	// generation keeps the narrative and replaces the body of the same
	// draft, while the first generation's task, run late, does nothing.
	clerk := vanthu.ReportNarrative{Assessment: "Nhận định riêng của văn thư về quý III.", NextTasks: []string{"Nhiệm vụ riêng thứ nhất."}, Proposals: "Kiến nghị riêng."}
	if err := st.SaveReportNarrative(ctx, r.ID, clerk, "vanthu"); err != nil {
		t.Fatal(err)
	}
	extra := q.complete("XA-A", vnTime(2026, 9, 29, 8, 0, 0))
	extra.Attendance = attendance(7, 0, 0, 0, 0, 0, 0)
	if err := st.CreateInspection(ctx, &extra, "kiemtra"); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkInspectionFinalized(ctx, extra.ID, first.DocumentID, "system"); err != nil {
		t.Fatal(err)
	}
	r2, err := st.RequestReport(ctx, reportQuarter, q.clerk, "vanthu")
	if err != nil || r2.Generation != 2 || r2.State != vanthu.ReportGenerating {
		t.Fatalf("second request: %+v, %v", r2, err)
	}
	if err := h.HandleReportGenerate(ctx, gen1); err != nil {
		t.Fatalf("stale task: %v", err)
	}
	if got := getReport(t, st, r.ID); got.State != vanthu.ReportGenerating || got.Progress != 0 || got.Generation != 2 {
		t.Fatalf("a stale task changed the report: %s %d%% generation %d", got.State, got.Progress, got.Generation)
	}
	if err := h.HandleReportGenerate(ctx, generateTask(t, r2)); err != nil {
		t.Fatal(err)
	}
	second := getReport(t, st, r.ID)
	if second.State != vanthu.ReportReady || second.Progress != 100 || second.DocumentID != first.DocumentID {
		t.Fatalf("second generation: %s %d%% document %d (first %d)", second.State, second.Progress, second.DocumentID, first.DocumentID)
	}
	if fmt.Sprint(second.Narrative) != fmt.Sprint(clerk) {
		t.Errorf("narrative after regeneration = %+v, want the clerk's", second.Narrative)
	}
	if second.Figures.Inspections.Total != first.Figures.Inspections.Total+1 {
		t.Errorf("second generation counts %d inspections, want %d", second.Figures.Inspections.Total, first.Figures.Inspections.Total+1)
	}
	text := pdfText(t, st, second.DocumentID)
	for _, w := range []string{clerk.Assessment, clerk.NextTasks[0], clerk.Proposals,
		fmt.Sprintf("Đã kiểm tra %d cuộc", first.Figures.Inspections.Total+1)} {
		if !strings.Contains(text, w) {
			t.Errorf("regenerated draft lacks %q", w)
		}
	}
	if strings.Contains(text, first.Narrative.Proposals) {
		t.Error("regenerated draft still has the default proposal")
	}

	t.Run("overtaken mid-run", func(t *testing.T) {
		o := &overtakingStore{Store: st}
		h := reportHandlers(q.tpl, o, reportAsOf, nil)
		before := getReport(t, st, r.ID)
		r3, err := st.RequestReport(ctx, reportQuarter, q.clerk, "vanthu")
		if err != nil {
			t.Fatal(err)
		}
		if err := h.HandleReportGenerate(ctx, generateTask(t, r3)); err != nil {
			t.Fatalf("overtaken generation: %v", err)
		}
		got := getReport(t, st, r.ID)
		if got.Generation != r3.Generation+1 || got.State != vanthu.ReportGenerating || got.Progress != 0 || got.DocumentID != before.DocumentID {
			t.Errorf("after an overtaken generation: generation %d, %s %d%%, document %d", got.Generation, got.State, got.Progress, got.DocumentID)
		}
		// The newer generation finishes normally.
		if err := reportHandlers(q.tpl, st, reportAsOf, nil).HandleReportGenerate(ctx, generateTask(t, got)); err != nil {
			t.Fatal(err)
		}
		if got := getReport(t, st, r.ID); got.State != vanthu.ReportReady {
			t.Errorf("state = %s", got.State)
		}
	})

	t.Run("no owner for a scheduled report", func(t *testing.T) {
		p := reportQuarter.Previous()
		sched, err := st.RequestReport(ctx, p, 0, "system")
		if err != nil {
			t.Fatal(err)
		}
		h := reportHandlers(q.tpl, st, reportAsOf, nil)
		h.Reports.Owner = ""
		err = h.HandleReportGenerate(ctx, generateTask(t, sched))
		if vanthu.ErrorCodeOf(err) != vanthu.EInvalid {
			t.Fatalf("err = %v, want invalid", err)
		}
		got := getReport(t, st, sched.ID)
		if got.State != vanthu.ReportFailed || !strings.Contains(got.Error, "VANTHU_REPORT_OWNER") || !strings.Contains(got.Error, "Chưa cấu hình") {
			t.Fatalf("report = %s %q", got.State, got.Error)
		}
		// Misspelled: the message names the value and the way out.
		again, err := st.RequestReport(ctx, p, 0, "system")
		if err != nil {
			t.Fatal(err)
		}
		h.Reports.Owner = "bao-cao"
		if err := h.HandleReportGenerate(ctx, generateTask(t, again)); vanthu.ErrorCodeOf(err) != vanthu.EInvalid {
			t.Fatalf("err = %v, want invalid", err)
		}
		if got := getReport(t, st, sched.ID); got.State != vanthu.ReportFailed || !strings.Contains(got.Error, `VANTHU_REPORT_OWNER="bao-cao"`) || !strings.Contains(got.Error, "Lập lại") {
			t.Fatalf("report = %s %q", got.State, got.Error)
		}
		// Configured, the draft is the owner's.
		again, err = st.RequestReport(ctx, p, 0, "system")
		if err != nil {
			t.Fatal(err)
		}
		if err := reportHandlers(q.tpl, st, reportAsOf, nil).HandleReportGenerate(ctx, generateTask(t, again)); err != nil {
			t.Fatal(err)
		}
		got = getReport(t, st, sched.ID)
		doc, err := st.GetDocument(ctx, got.DocumentID)
		if err != nil || got.State != vanthu.ReportReady || got.Error != "" || doc.CreatedBy != q.owner {
			t.Fatalf("scheduled report: %s %q, draft by %d (owner %d), %v", got.State, got.Error, doc.CreatedBy, q.owner, err)
		}
	})

	t.Run("a clerk's Lập lại adopts a scheduled report", func(t *testing.T) {
		p := vanthu.Period{Year: 2025, Kind: vanthu.PeriodHalf, CutOff: vanthu.CutOffCalendar}
		sched, err := st.RequestReport(ctx, p, 0, "system")
		if err != nil {
			t.Fatal(err)
		}
		h := reportHandlers(q.tpl, st, reportAsOf, nil)
		h.Reports.Owner = ""
		if err := h.HandleReportGenerate(ctx, generateTask(t, sched)); vanthu.ErrorCodeOf(err) != vanthu.EInvalid {
			t.Fatalf("err = %v, want invalid", err)
		}
		mine, err := st.RequestReport(ctx, p, q.clerk, "vanthu")
		if err != nil || mine.CreatedBy != q.clerk {
			t.Fatalf("regenerated by the clerk: by %d, %v; want %d", mine.CreatedBy, err, q.clerk)
		}
		if err := h.HandleReportGenerate(ctx, generateTask(t, mine)); err != nil {
			t.Fatal(err)
		}
		got := getReport(t, st, sched.ID)
		doc, err := st.GetDocument(ctx, got.DocumentID)
		if err != nil || got.State != vanthu.ReportReady || doc.CreatedBy != q.clerk {
			t.Fatalf("adopted report: %s %q, draft by %d (clerk %d), %v", got.State, got.Error, doc.CreatedBy, q.clerk, err)
		}
	})

	t.Run("bad data fails at once", func(t *testing.T) {
		p := vanthu.QuarterPeriod(2026, 1, vanthu.CutOffCalendar)
		fs := &failingStore{Store: st, err: vanthu.Errorf(vanthu.EInvalid, "Dữ liệu kiểm tra không hợp lệ.")}
		rr, err := st.RequestReport(ctx, p, q.clerk, "vanthu")
		if err != nil {
			t.Fatal(err)
		}
		err = reportHandlers(q.tpl, fs, reportAsOf, nil).HandleReportGenerate(ctx, generateTask(t, rr))
		if vanthu.ErrorCodeOf(err) != vanthu.EInvalid {
			t.Fatalf("err = %v", err)
		}
		// The workbook comes before the draft: no draft for figures the
		// report does not show.
		if got := getReport(t, st, rr.ID); got.State != vanthu.ReportFailed || got.Error != "Dữ liệu kiểm tra không hợp lệ." || got.DocumentID != 0 {
			t.Fatalf("report = %s %q, document %d", got.State, got.Error, got.DocumentID)
		}
	})

	t.Run("an interrupted generation's draft is its retry's", func(t *testing.T) {
		p := vanthu.Period{Year: 2025, Kind: vanthu.PeriodYear, CutOff: vanthu.CutOffCalendar}
		drafts := func() []int64 {
			ds, err := st.ListDocuments(ctx, store.DocumentFilter{Kind: vanthu.KindReport, State: vanthu.StateDraft})
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, d := range ds {
				ids = append(ids, d.ID)
			}
			return ids
		}
		before := drafts()
		rr, err := st.RequestReport(ctx, p, q.clerk, "vanthu")
		if err != nil {
			t.Fatal(err)
		}
		// The generation fails at its last step, after the draft was made,
		// as when the worker dies; the task's retry makes no second draft.
		task := generateTask(t, rr)
		if err := reportHandlers(q.tpl, &unfinishedStore{Store: st}, reportAsOf, nil).HandleReportGenerate(ctx, task); err == nil {
			t.Fatal("generation whose finish fails succeeded")
		}
		pending := getReport(t, st, rr.ID)
		made := drafts()
		if pending.State != vanthu.ReportGenerating || len(made) != len(before)+1 || !slices.Contains(made, pending.DocumentID) || slices.Contains(before, pending.DocumentID) {
			t.Fatalf("interrupted generation: %s, document %d, drafts %v → %v; want generating, its one new draft linked", pending.State, pending.DocumentID, before, made)
		}
		if err := reportHandlers(q.tpl, st, reportAsOf, nil).HandleReportGenerate(ctx, task); err != nil {
			t.Fatal(err)
		}
		got := getReport(t, st, rr.ID)
		if after := drafts(); got.State != vanthu.ReportReady || got.DocumentID != pending.DocumentID || len(after) != len(made) {
			t.Fatalf("retry: %s, document %d (the first attempt's: %d), drafts %v → %v", got.State, got.DocumentID, pending.DocumentID, made, after)
		}
	})

	t.Run("retryable failure on the queue", func(t *testing.T) {
		tests := []struct {
			name     string
			maxRetry int
			// want is the report's state while the task is in taskState.
			want      vanthu.ReportState
			taskState asynq.TaskState
			message   string
			// timeout, when set, is the task's deadline, and the workbook
			// runs until it passes instead of failing at once.
			timeout time.Duration
		}{
			{"retries left: stays generating for the retry", 5, vanthu.ReportGenerating, asynq.TaskStateRetry, "", 0},
			{"retries exhausted: failed", 0, vanthu.ReportFailed, asynq.TaskStateArchived, "Lỗi hệ thống, vui lòng thử lại sau.", 0},
			// The failure is recorded although the task's context is over.
			{"last attempt out of time: failed", 0, vanthu.ReportFailed, asynq.TaskStateArchived, "Lỗi hệ thống, vui lòng thử lại sau.", time.Second},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				fs := &failingStore{Store: st, err: errors.New("connection reset by peer"), block: tt.timeout > 0}
				h := reportHandlers(q.tpl, fs, reportAsOf, nil)
				c, insp := start(t, testenv.Redis(t), h, nil)
				p := vanthu.QuarterPeriod(2025, 1+i, vanthu.CutOffCalendar)
				rr, err := st.RequestReport(ctx, p, q.clerk, "vanthu")
				if err != nil {
					t.Fatal(err)
				}
				task, opts, err := NewReportGenerateTask(ReportPayload{ReportID: rr.ID, Generation: rr.Generation})
				if err != nil {
					t.Fatal(err)
				}
				opts = append(opts, asynq.MaxRetry(tt.maxRetry))
				if tt.timeout > 0 {
					opts = append(opts, asynq.Timeout(tt.timeout))
				}
				id, err := c.Enqueue(ctx, task, opts...)
				if err != nil {
					t.Fatal(err)
				}
				eventually(t, 30*time.Second, "task "+tt.taskState.String(), func() bool {
					info, err := insp.GetTaskInfo(QueueDefault, id)
					return err == nil && info.State == tt.taskState
				})
				got := getReport(t, st, rr.ID)
				if got.State != tt.want || got.Error != tt.message || fs.calls.Load() != 1 {
					t.Errorf("report = %s %q after %d attempts; want %s %q", got.State, got.Error, fs.calls.Load(), tt.want, tt.message)
				}
				if tt.want == vanthu.ReportGenerating && got.Progress != 40 {
					t.Errorf("progress = %d, want 40 (where the workbook failed)", got.Progress)
				}
			})
		}
	})
}

func TestReportsSweep(t *testing.T) {
	for name, open := range reportDialects {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testReportsSweep(t, open)
		})
	}
}

func testReportsSweep(t *testing.T, open storeOpener) {
	// Quarter IV of 2026 ends on Thursday 31 December; 1 January 2027 is
	// New Year's Day (built in), 2 and 3 January a weekend, so the first
	// working day is Monday 4 January, or Tuesday 5 January when the 4th
	// is a configured holiday.
	q4 := vanthu.QuarterPeriod(2026, 4, vanthu.CutOffCalendar)
	tpl, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		holidays vanthu.Holidays
		before   time.Time // the last instant before the first working day
		due      time.Time // its first instant
	}{
		{"built-in holiday and weekend", nil, vnTime(2027, 1, 3, 23, 59, 59),
			// The same instant in UTC: the sweep reads dates in Vietnam.
			time.Date(2027, 1, 3, 17, 0, 0, 0, time.UTC)},
		{"configured holiday", vanthu.Holidays{"2027-01-04": true}, vnTime(2027, 1, 4, 23, 59, 59), vnTime(2027, 1, 5, 0, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			clerk := vanthu.User{Username: "vanthu", FullName: "Văn Thư", Role: vanthu.RoleClerk, Active: true}
			owner := vanthu.User{Username: "baocao", FullName: "Người Lập Báo Cáo", Role: vanthu.RoleClerk, Active: true}
			for _, u := range []*vanthu.User{&clerk, &owner} {
				if err := st.CreateUser(ctx, u, "seed"); err != nil {
					t.Fatal(err)
				}
			}
			rdb := redis.NewClient(&redis.Options{Addr: testenv.Redis(t)})
			t.Cleanup(func() { rdb.Close() })
			c := NewClient(rdb)
			t.Cleanup(func() { c.Close() })
			insp := c.Inspector()
			sweep := func(now time.Time) {
				t.Helper()
				h := reportHandlers(tpl, st, now, c)
				h.Reports.Holidays = tt.holidays
				if err := h.HandleReportsSweep(ctx, NewReportsSweepTask()); err != nil {
					t.Fatalf("sweep at %s: %v", now, err)
				}
			}
			// pending lists the queued report tasks as "id generation".
			pending := func() []string {
				t.Helper()
				tasks, err := insp.ListPendingTasks(QueueDefault)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, ti := range tasks {
					if ti.Type != TypeReportGenerate {
						t.Errorf("unexpected task %s", ti.Type)
						continue
					}
					out = append(out, ti.ID+" "+string(ti.Payload))
				}
				slices.Sort(out)
				return out
			}
			taskOf := func(r vanthu.Report) string {
				return fmt.Sprintf("report:generate:%d:%d {\"report_id\":%d,\"generation\":%d}", r.ID, r.Generation, r.ID, r.Generation)
			}

			// A report a clerk asked for, whose task was lost.
			q3, err := st.RequestReport(ctx, q4.Previous(), clerk.ID, "vanthu")
			if err != nil {
				t.Fatal(err)
			}

			sweep(tt.before)
			if _, err := st.GetReportByPeriod(ctx, q4); vanthu.ErrorCodeOf(err) != vanthu.ENotFound {
				t.Fatalf("the day before: report of %s = %v, want none", q4.Key(), err)
			}
			if got, want := pending(), []string{taskOf(q3)}; !slices.Equal(got, want) {
				t.Fatalf("the day before, queued %q, want %q", got, want)
			}

			sweep(tt.due)
			sweep(tt.due.Add(3 * time.Hour)) // a second run that day
			r, err := st.GetReportByPeriod(ctx, q4)
			if err != nil {
				t.Fatalf("the first working day: %v", err)
			}
			if r.Generation != 1 || r.State != vanthu.ReportGenerating || r.CreatedBy != 0 {
				t.Fatalf("scheduled report: generation %d, %s, by %d", r.Generation, r.State, r.CreatedBy)
			}
			all, err := st.ListReports(ctx, 0)
			if err != nil || len(all) != 2 {
				t.Fatalf("reports = %d, %v; want 2", len(all), err)
			}
			want := []string{taskOf(q3), taskOf(r)}
			slices.Sort(want)
			if got := pending(); !slices.Equal(got, want) {
				t.Fatalf("queued %q, want one task per report %q", got, want)
			}

			// Once generated, later days neither request it again nor
			// enqueue it.
			if _, err := insp.DeleteAllPendingTasks(QueueDefault); err != nil {
				t.Fatal(err)
			}
			h := reportHandlers(tpl, st, tt.due, c)
			if err := h.HandleReportGenerate(ctx, generateTask(t, r)); err != nil {
				t.Fatal(err)
			}
			for _, day := range []int{1, 2, 30} {
				sweep(tt.due.AddDate(0, 0, day))
			}
			if got := getReport(t, st, r.ID); got.Generation != 1 || got.State != vanthu.ReportReady {
				t.Errorf("after later sweeps: generation %d, %s", got.Generation, got.State)
			}
			if got, want := pending(), []string{taskOf(q3)}; !slices.Equal(got, want) {
				t.Errorf("later sweeps queued %q, want %q", got, want)
			}

			// The last attempt of quarter III's generation was lost: the
			// worker died during it, and Asynq archived the task without
			// the handler recording a failure. The row still says
			// generating (and a clerk's request returns it as it is), so
			// the next sweep must run it again instead of letting the dead
			// task's ID absorb it.
			id := fmt.Sprintf("report:generate:%d:%d", q3.ID, q3.Generation)
			if err := insp.ArchiveTask(QueueDefault, id); err != nil {
				t.Fatal(err)
			}
			if got := pending(); len(got) != 0 {
				t.Fatalf("queued after archiving: %q", got)
			}
			sweep(tt.due.AddDate(0, 0, 31))
			if got, want := pending(), []string{taskOf(q3)}; !slices.Equal(got, want) {
				t.Errorf("after its task was archived, the sweep queued %q, want %q", got, want)
			}
		})
	}
}
