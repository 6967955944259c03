package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/testenv"
)

// The inspection suite runs on both dialects like the main suite, from its
// own entry points so that the shared suite list stays untouched.

func TestInspectionsSQLite(t *testing.T) {
	t.Parallel()
	runInspectionSuite(t, func(t *testing.T) string { return filepath.Join(t.TempDir(), "vanthu.db") })
}

func TestInspectionsPostgres(t *testing.T) {
	t.Parallel()
	runInspectionSuite(t, func(t *testing.T) string { return testenv.Postgres(t) })
}

func runInspectionSuite(t *testing.T, newDSN opener) {
	for _, tt := range []struct {
		name string
		fn   func(t *testing.T, newDSN opener)
	}{
		{"CatalogDefaults", testCatalogDefaults},
		{"CatalogEdits", testCatalogEdits},
		{"InspectionCreate", testInspectionCreate},
		{"InspectionSave", testInspectionSave},
		{"InspectionList", testInspectionList},
		{"InspectionFinalizeAndCorrect", testInspectionFinalizeAndCorrect},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newDSN) })
	}
}

// vnTime is a wall-clock time in Vietnam on the inspection day.
func vnTime(day, hour, minute int) *time.Time {
	v := time.Date(2026, 11, day, hour, minute, 0, 0, vanthu.Location)
	return &v
}

// inspection is a complete record of an inspection of unit, as the finalize
// step needs it, with two persons found in violation.
func inspection(f *docFixture, unit string, day int) vanthu.Inspection {
	return vanthu.Inspection{
		UnitID: f.units[unit].ID, Place: "Trụ sở " + f.units[unit].Name, Surprise: true,
		LegalBasis: []string{"Quyết định số 356/QĐ-SNV ngày 20/11/2026 của Giám đốc Sở Nội vụ"},
		StartedAt:  vnTime(day, 7, 45), EndedAt: vnTime(day, 9, 30),
		Team: []vanthu.TeamMember{
			{Name: "Trần Thị Ngọc Hân", Position: "Phó Giám đốc", Role: vanthu.RoleLeader},
			{Name: "Võ Thị Mỹ Duyên", Position: "Chuyên viên", Role: vanthu.RoleSecretary},
		},
		Representatives: []vanthu.Person{{Name: "Phạm Văn Đức", Position: "Chánh Văn phòng"}},
		Attendance:      vanthu.Attendance{Listed: 42, Present: 35, AbsentLeave: 2, AbsentAssignment: 1, AbsentStudy: 1, AbsentUnexcused: 3, Late: 2},
		Findings: []vanthu.Finding{
			{Name: "Nguyễn Văn Thưởng", Position: "Chuyên viên", Section: "Phòng Kế hoạch", Violation: "vang-khong-ly-do", SeenAt: vnTime(day, 7, 50)},
			{Name: "Lê Thị Hoà", Section: "Bộ phận một cửa", Violation: "khong-deo-the", SeenAt: vnTime(day, 8, 5), Explanation: "Quên thẻ ở nhà."},
		},
		Handling:    []vanthu.Handling{{Code: "kiem-diem", Person: "Nguyễn Văn Thưởng"}},
		Conclusions: "Đơn vị cơ bản chấp hành tốt kỷ luật, kỷ cương hành chính.",
	}
}

// create stores in as f's clerk and fails the test on error.
func (f *docFixture) create(t *testing.T, in vanthu.Inspection) vanthu.Inspection {
	t.Helper()
	in.CreatedBy = f.user
	if err := f.st.CreateInspection(context.Background(), &in, "kiemtra"); err != nil {
		t.Fatalf("CreateInspection: %v", err)
	}
	return in
}

func (f *docFixture) count(t *testing.T, query string) int {
	t.Helper()
	var n int
	if err := f.raw(t).QueryRow(query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func fieldsOf(err error) []string {
	var out []string
	for _, p := range vanthu.ProblemsOf(err) {
		out = append(out, p.Field)
	}
	return out
}

func testCatalogDefaults(t *testing.T, newDSN opener) {
	ctx := context.Background()
	st := openStore(t, newDSN(t))
	defaults := vanthu.DefaultCatalog()
	check := func(when string) {
		t.Helper()
		for _, kind := range []vanthu.CatalogKind{vanthu.CatalogViolation, vanthu.CatalogHandling} {
			got, err := st.ListCatalog(ctx, kind)
			if err != nil {
				t.Fatalf("%s: ListCatalog(%s): %v", when, kind, err)
			}
			var want []vanthu.CatalogEntry
			for _, e := range defaults {
				if e.Kind == kind {
					want = append(want, e)
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s: %s catalog =\n %v\nwant\n %v", when, kind, got, want)
			}
		}
		all, err := st.ListCatalog(ctx, "")
		if err != nil || len(all) != len(defaults) {
			t.Fatalf("%s: whole catalog has %d entries (%v), want %d", when, len(all), err, len(defaults))
		}
	}
	check("after Migrate")
	// Idempotent: again, and through Migrate again.
	if err := st.EnsureCatalog(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	check("after a second EnsureCatalog and Migrate")
	// Seeding is part of migrating: the audit log of a fresh database
	// stays empty.
	if evs, err := st.ListEvents(ctx, "", 10); err != nil || len(evs) != 0 {
		t.Fatalf("events after Migrate = %v, %v; want none", evs, err)
	}
}

func testCatalogEdits(t *testing.T, newDSN opener) {
	ctx := context.Background()
	f := newDocFixture(t, newDSN)
	st := f.st

	// Invalid entries name the field.
	for _, tt := range []struct {
		name  string
		e     vanthu.CatalogEntry
		field string
	}{
		{"kind", vanthu.CatalogEntry{Kind: "khen-thuong", Code: "x", Name: "X"}, "kind"},
		{"code with marks", vanthu.CatalogEntry{Kind: vanthu.CatalogViolation, Code: "ngủ-gật", Name: "Ngủ gật"}, "code"},
		{"empty name", vanthu.CatalogEntry{Kind: vanthu.CatalogViolation, Code: "ngu-gat", Name: "  "}, "name"},
		{"handling group", vanthu.CatalogEntry{Kind: vanthu.CatalogHandling, Code: "x", Name: "X", Group: "khac-nua"}, "group"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.e
			err := st.SaveCatalogEntry(ctx, &e, "admin")
			wantCode(t, err, vanthu.EInvalid)
			if !slices.Contains(fieldsOf(err), tt.field) {
				t.Fatalf("problems %v do not name %s", vanthu.ProblemsOf(err), tt.field)
			}
		})
	}

	// A new violation goes last; a rename survives EnsureCatalog.
	nfd := "Ngu\u0309 ga\u0323\u0302t trong gio\u031b\u0300 la\u0300m vie\u0323\u0302c" // decomposed
	e := vanthu.CatalogEntry{Kind: vanthu.CatalogViolation, Code: "ngu-gat", Name: nfd, Active: true}
	if err := st.SaveCatalogEntry(ctx, &e, "admin"); err != nil {
		t.Fatal(err)
	}
	if e.Order != 13 || e.Name != "Ngủ gật trong giờ làm việc" {
		t.Fatalf("created %+v", e)
	}
	rename := vanthu.CatalogEntry{Kind: vanthu.CatalogViolation, Code: "khac", Name: "Vi phạm khác (ghi rõ)", Order: 20, Active: true}
	if err := st.SaveCatalogEntry(ctx, &rename, "admin"); err != nil {
		t.Fatal(err)
	}
	if err := st.EnsureCatalog(ctx); err != nil {
		t.Fatal(err)
	}
	vs, _ := st.ListCatalog(ctx, vanthu.CatalogViolation)
	if n := len(vs); n != 13 || vs[12].Code != "khac" || vs[12].Name != "Vi phạm khác (ghi rõ)" || vs[11].Code != "ngu-gat" {
		t.Fatalf("violations after edits = %v", vs)
	}
	if a := actions(t, st, "catalog:violation:khac"); !slices.Equal(a, []string{"catalog_entry_updated"}) {
		t.Fatalf("events of khac = %v", a)
	}
	// Saving it unchanged records nothing.
	if err := st.SaveCatalogEntry(ctx, &rename, "admin"); err != nil {
		t.Fatal(err)
	}
	if a := actions(t, st, "catalog:violation:khac"); len(a) != 1 {
		t.Fatalf("an unchanged save recorded %v", a)
	}

	// A draft that carries a code keeps it after the code is deactivated;
	// a new record cannot pick it.
	draft := f.create(t, inspection(f, "SNV", 25))
	off := vanthu.CatalogEntry{Kind: vanthu.CatalogViolation, Code: "khong-deo-the", Name: "Không đeo thẻ công chức, viên chức", Order: 3, Active: false}
	if err := st.SaveCatalogEntry(ctx, &off, "admin"); err != nil {
		t.Fatal(err)
	}
	draft.Conclusions += " Đã nhắc nhở."
	if err := st.SaveInspection(ctx, &draft, "kiemtra"); err != nil {
		t.Fatalf("saving a draft with a since deactivated code: %v", err)
	}
	fresh := inspection(f, "STC", 26)
	fresh.CreatedBy = f.user
	err := st.CreateInspection(ctx, &fresh, "kiemtra")
	wantCode(t, err, vanthu.EInvalid)
	if got := fieldsOf(err); !slices.Equal(got, []string{"findings[1].violation"}) {
		t.Fatalf("problems = %v, want findings[1].violation", vanthu.ProblemsOf(err))
	}
	all, _ := st.ListCatalog(ctx, vanthu.CatalogViolation)
	if i := slices.IndexFunc(all, func(e vanthu.CatalogEntry) bool { return e.Code == "khong-deo-the" }); i < 0 || all[i].Active {
		t.Fatalf("deactivated entry listed as %v", all)
	}
}

func testInspectionCreate(t *testing.T, newDSN opener) {
	ctx := context.Background()
	f := newDocFixture(t, newDSN)
	st := f.st

	in := inspection(f, "SNV", 25)
	in.Place = "  Tru\u0323 so\u031b\u0309   Sở Nội vụ " // decomposed, spaced
	in.Findings[0].Name = "Nguye\u0302\u0303n Va\u0306n Thu\u031bo\u031b\u0309ng"
	in.Checklist = nil
	in.State, in.Version, in.Revision, in.DocumentID, in.Previous = vanthu.InspectionFinalized, 7, 9, 99, 98 // ignored
	got := f.create(t, in)
	if got.ID == 0 || got.State != vanthu.InspectionDraft || got.Version != 1 || got.Revision != 1 || got.DocumentID != 0 || got.Previous != 0 {
		t.Fatalf("created %+v", got)
	}
	if got.Place != "Trụ sở Sở Nội vụ" || got.Findings[0].Name != "Nguyễn Văn Thưởng" || got.UnitCode != "SNV" || got.UnitName != "Sở Nội vụ" {
		t.Fatalf("not normalised: place %q, name %q, unit %s %s", got.Place, got.Findings[0].Name, got.UnitCode, got.UnitName)
	}
	if !slices.Equal(got.Checklist, vanthu.DefaultChecklist()) {
		t.Fatalf("checklist = %v, want the default", got.Checklist)
	}
	if !got.CreatedAt.Equal(t0) || !got.StartedAt.Equal(*vnTime(25, 7, 45)) {
		t.Fatalf("times %v %v", got.CreatedAt, got.StartedAt)
	}
	back, err := st.GetInspection(ctx, got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if jsonOf(t, back) != jsonOf(t, got) {
		t.Fatalf("GetInspection =\n %s\nwant\n %s", jsonOf(t, back), jsonOf(t, got))
	}
	// The counts are columns, for the quarterly report's SQL.
	if n := f.count(t, fmt.Sprintf("SELECT present + absent_unexcused FROM inspections WHERE id = %d", got.ID)); n != 38 {
		t.Fatalf("present + absent_unexcused = %d", n)
	}
	if n := f.count(t, fmt.Sprintf("SELECT COUNT(*) FROM inspection_findings WHERE inspection_id = %d AND violation = 'khong-deo-the'", got.ID)); n != 1 {
		t.Fatalf("finding rows with khong-deo-the = %d", n)
	}
	_, err = st.GetInspection(ctx, got.ID+100)
	wantCode(t, err, vanthu.ENotFound)
	if a := actions(t, st, fmt.Sprintf("inspection:%d", got.ID)); !slices.Equal(a, []string{"inspection_created"}) {
		t.Fatalf("events = %v", a)
	}

	// A draft half-filled in the field is fine; bad input is not, and
	// stores nothing.
	half := f.create(t, vanthu.Inspection{Place: "Xã An Phú"})
	if half.UnitID != 0 || half.UnitName != "" || len(half.Findings) != 0 || half.Findings == nil {
		t.Fatalf("half draft = %+v", half)
	}
	for _, tt := range []struct {
		name   string
		mod    func(in *vanthu.Inspection)
		fields []string
	}{
		{"end before start", func(in *vanthu.Inspection) { in.EndedAt = vnTime(25, 7, 0) }, []string{"ended_at"}},
		{"unknown violation", func(in *vanthu.Inspection) {
			in.Findings = append(in.Findings, vanthu.Finding{Name: "Trần Văn Tý", Violation: "ngu-gat"})
		}, []string{"findings[2].violation"}},
		{"unknown handling", func(in *vanthu.Inspection) { in.Handling[0].Code = "duoi-viec" }, []string{"handling[0].code"}},
		{"unknown unit", func(in *vanthu.Inspection) { in.UnitID = 424242 }, []string{"unit_id"}},
		{"negative count", func(in *vanthu.Inspection) { in.Attendance.Late = -1 }, []string{"attendance.late"}},
		{"no creator", func(in *vanthu.Inspection) { in.CreatedBy = 0 }, []string{"created_by"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bad := inspection(f, "STC", 26)
			bad.CreatedBy = f.user
			tt.mod(&bad)
			err := st.CreateInspection(ctx, &bad, "kiemtra")
			wantCode(t, err, vanthu.EInvalid)
			if got := fieldsOf(err); !slices.Equal(got, tt.fields) || bad.ID != 0 {
				t.Fatalf("problems %v, want fields %v (id %d)", vanthu.ProblemsOf(err), tt.fields, bad.ID)
			}
		})
	}
	if n := f.count(t, "SELECT COUNT(*) FROM inspections"); n != 2 {
		t.Fatalf("%d inspections stored, want the 2 valid ones", n)
	}
}

func testInspectionSave(t *testing.T, newDSN opener) {
	ctx := context.Background()
	f := newDocFixture(t, newDSN)
	st := f.st
	in := f.create(t, inspection(f, "SNV", 25))
	subject := fmt.Sprintf("inspection:%d", in.ID)

	// Device A saves revision 1: new findings and counts.
	later := t0.Add(time.Minute)
	st.Now = func() time.Time { return later }
	a := in
	a.Attendance.Present, a.Attendance.AbsentUnexcused = 34, 4
	a.Findings = []vanthu.Finding{
		{Name: "Đặng Văn Lộc", Violation: "ruou-bia", SeenAt: vnTime(25, 8, 0)},
		{Name: "Nguyễn Văn Thưởng", Violation: "vang-khong-ly-do"},
		{Name: "Huỳnh Thị Mai", Violation: "di-muon-ve-som", Explanation: "Con ốm."},
	}
	a.Conclusions = strings.Repeat("Kết luận dài. ", 200)
	if err := st.SaveInspection(ctx, &a, "kiemtra"); err != nil {
		t.Fatalf("SaveInspection: %v", err)
	}
	if a.Revision != 2 || !a.UpdatedAt.Equal(later) || !a.CreatedAt.Equal(t0) || a.UnitName != "Sở Nội vụ" {
		t.Fatalf("after save: revision %d, updated %v, created %v, unit %q", a.Revision, a.UpdatedAt, a.CreatedAt, a.UnitName)
	}
	stored, err := st.GetInspection(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if jsonOf(t, stored) != jsonOf(t, a) {
		t.Fatalf("stored =\n %s\nwant\n %s", jsonOf(t, stored), jsonOf(t, a))
	}
	if n := f.count(t, fmt.Sprintf("SELECT COUNT(*) FROM inspection_findings WHERE inspection_id = %d", in.ID)); n != 3 {
		t.Fatalf("%d finding rows, want 3 (replaced, not added)", n)
	}
	if n := f.count(t, fmt.Sprintf("SELECT COUNT(*) FROM inspection_findings WHERE inspection_id = %d AND violation = 'khong-deo-the'", in.ID)); n != 0 {
		t.Fatal("the replaced finding's row remains")
	}
	evs, _ := st.ListEvents(ctx, subject, 10)
	if len(evs) != 2 || evs[0].Action != "inspection_saved" {
		t.Fatalf("events = %v", evs)
	}
	var detail struct {
		Revision int
		Fields   []string
		Changes  map[string]struct{ Old, New json.RawMessage }
	}
	if err := json.Unmarshal([]byte(evs[0].Detail), &detail); err != nil {
		t.Fatal(err)
	}
	if want := []string{"attendance", "conclusions", "findings"}; detail.Revision != 2 || !slices.Equal(detail.Fields, want) {
		t.Fatalf("event detail = %+v, want fields %v", detail, want)
	}
	if _, ok := detail.Changes["attendance"]; !ok || strings.Contains(evs[0].Detail, "Kết luận dài") || len(evs[0].Detail) > 1000 {
		t.Fatalf("event detail carries the body or lacks the counts: %s", evs[0].Detail)
	}

	// Device B still holds revision 1: refused, and nothing changes.
	st.Now = func() time.Time { return later.Add(time.Minute) }
	b := in
	b.Place = "Hội trường UBND"
	b.Findings = nil
	err = st.SaveInspection(ctx, &b, "kiemtra-2")
	wantCode(t, err, vanthu.EConflict)
	if msg := vanthu.ErrorMessageOf(err); !strings.HasPrefix(msg, "Thiết bị khác vừa lưu biên bản này") {
		t.Fatalf("conflict message = %q", msg)
	}
	again, _ := st.GetInspection(ctx, in.ID)
	if jsonOf(t, again) != jsonOf(t, stored) {
		t.Fatalf("a stale save changed the record:\n %s\nwas\n %s", jsonOf(t, again), jsonOf(t, stored))
	}
	if n := f.count(t, fmt.Sprintf("SELECT COUNT(*) FROM inspection_findings WHERE inspection_id = %d", in.ID)); n != 3 {
		t.Fatalf("a stale save left %d finding rows", n)
	}

	// A save that changes nothing keeps the revision and records nothing.
	same := stored
	if err := st.SaveInspection(ctx, &same, "kiemtra"); err != nil || same.Revision != 2 {
		t.Fatalf("unchanged save: revision %d, %v", same.Revision, err)
	}
	if a := actions(t, st, subject); len(a) != 2 {
		t.Fatalf("an unchanged save recorded %v", a)
	}
	// Bad input names the field and changes nothing; a missing record is
	// ENotFound.
	bad := stored
	bad.Findings = append(slices.Clone(bad.Findings), vanthu.Finding{Name: "X", Violation: "khong-co"})
	err = st.SaveInspection(ctx, &bad, "kiemtra")
	wantCode(t, err, vanthu.EInvalid)
	if got := fieldsOf(err); !slices.Equal(got, []string{"findings[3].violation"}) {
		t.Fatalf("problems = %v", vanthu.ProblemsOf(err))
	}
	missing := stored
	missing.ID = 4242
	wantCode(t, st.SaveInspection(ctx, &missing, "kiemtra"), vanthu.ENotFound)

	// Handling rows are replaced too; the findings untouched.
	h := stored
	h.Handling = []vanthu.Handling{{Code: "phe-binh", Person: "Đặng Văn Lộc"}, {Code: "trach-nhiem-nguoi-dung-dau", Note: "Thủ trưởng đơn vị kiểm điểm."}}
	if err := st.SaveInspection(ctx, &h, "kiemtra"); err != nil || h.Revision != 3 {
		t.Fatalf("save handling: revision %d, %v", h.Revision, err)
	}
	got, _ := st.GetInspection(ctx, in.ID)
	if jsonOf(t, got.Handling) != jsonOf(t, h.Handling) || jsonOf(t, got.Findings) != jsonOf(t, stored.Findings) {
		t.Fatalf("after handling save: %v / %v", got.Handling, got.Findings)
	}

	// Two devices saving the same revision at once: one wins.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		c := got
		c.Place = fmt.Sprintf("Phòng họp số %d", i+1)
		wg.Go(func() { errs[i] = st.SaveInspection(ctx, &c, fmt.Sprintf("thiet-bi-%d", i)) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if vanthu.ErrorCodeOf(err) != vanthu.EConflict {
			t.Fatalf("concurrent save: %v", err)
		}
	}
	final, _ := st.GetInspection(ctx, in.ID)
	if ok != 1 || final.Revision != 4 {
		t.Fatalf("%d concurrent saves succeeded, revision %d; want 1 and 4", ok, final.Revision)
	}
}

func testInspectionList(t *testing.T, newDSN opener) {
	ctx := context.Background()
	f := newDocFixture(t, newDSN)
	st := f.st
	a := f.create(t, inspection(f, "SNV", 10)) // both findings
	bIn := inspection(f, "STC", 12)
	bIn.Findings = bIn.Findings[:1] // vang-khong-ly-do only
	b := f.create(t, bIn)
	cIn := inspection(f, "SNV", 20)
	cIn.Findings = nil
	c := f.create(t, cIn)
	st.Now = func() time.Time { return t0.Add(time.Hour) }
	d := f.create(t, vanthu.Inspection{Place: "Chưa chọn đơn vị"}) // no start: sorted by creation

	day := func(n int) *time.Time { return vnTime(n, 0, 0) }
	for _, tt := range []struct {
		name   string
		filter vanthu.InspectionFilter
		want   []int64
	}{
		{"all, newest first", vanthu.InspectionFilter{}, []int64{c.ID, b.ID, a.ID, d.ID}},
		{"unit", vanthu.InspectionFilter{UnitID: f.units["SNV"].ID}, []int64{c.ID, a.ID}},
		{"period", vanthu.InspectionFilter{From: day(11), Until: day(21)}, []int64{c.ID, b.ID}},
		{"period is half-open", vanthu.InspectionFilter{From: day(10), Until: day(12)}, []int64{a.ID}},
		{"violation", vanthu.InspectionFilter{Violation: "vang-khong-ly-do"}, []int64{b.ID, a.ID}},
		{"violation of one", vanthu.InspectionFilter{Violation: "khong-deo-the"}, []int64{a.ID}},
		{"unit and violation", vanthu.InspectionFilter{UnitID: f.units["STC"].ID, Violation: "khong-deo-the"}, nil},
		{"state", vanthu.InspectionFilter{State: vanthu.InspectionFinalized}, nil},
		{"limit", vanthu.InspectionFilter{Limit: 2}, []int64{c.ID, b.ID}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			list, err := st.ListInspections(ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, in := range list {
				ids = append(ids, in.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Fatalf("ListInspections(%+v) = %v, want %v", tt.filter, ids, tt.want)
			}
		})
	}
	// Each listed record is whole: unit name, findings and handling.
	list, _ := st.ListInspections(ctx, vanthu.InspectionFilter{UnitID: f.units["SNV"].ID})
	if jsonOf(t, list[1]) != jsonOf(t, a) || list[0].UnitName != "Sở Nội vụ" || len(list[0].Findings) != 0 || list[0].Findings == nil {
		t.Fatalf("listed record =\n %s\nwant\n %s", jsonOf(t, list[1]), jsonOf(t, a))
	}
}

func testInspectionFinalizeAndCorrect(t *testing.T, newDSN opener) {
	ctx := context.Background()
	f := newDocFixture(t, newDSN)
	st := f.st
	minutes := f.draft(t, nil)
	other := f.draft(t, nil)

	// An incomplete record cannot be finalized.
	incomplete := f.create(t, vanthu.Inspection{UnitID: f.units["SNV"].ID, Place: "Sở Nội vụ"})
	err := st.MarkInspectionFinalized(ctx, incomplete.ID, minutes.ID, "system")
	wantCode(t, err, vanthu.EInvalid)
	if got := fieldsOf(err); !slices.Contains(got, "started_at") || !slices.Contains(got, "team") || !slices.Contains(got, "conclusions") {
		t.Fatalf("problems = %v", vanthu.ProblemsOf(err))
	}
	// A correction is only for finalized minutes.
	_, err = st.CorrectInspection(ctx, incomplete.ID, f.user, "kiemtra")
	wantCode(t, err, vanthu.EConflict)

	in := f.create(t, inspection(f, "SNV", 25))
	if err := st.MarkInspectionFinalized(ctx, in.ID, minutes.ID, "system"); err != nil {
		t.Fatalf("MarkInspectionFinalized: %v", err)
	}
	done, _ := st.GetInspection(ctx, in.ID)
	if done.State != vanthu.InspectionFinalized || done.DocumentID != minutes.ID || done.Revision != 2 {
		t.Fatalf("finalized = %+v", done)
	}
	// Once finalized, edits are refused and nothing changes.
	edit := done
	edit.Conclusions = "Sửa sau khi ký."
	err = st.SaveInspection(ctx, &edit, "kiemtra")
	wantCode(t, err, vanthu.EConflict)
	if msg := vanthu.ErrorMessageOf(err); !strings.Contains(msg, "đã hoàn tất") {
		t.Fatalf("message = %q", msg)
	}
	if got, _ := st.GetInspection(ctx, in.ID); jsonOf(t, got) != jsonOf(t, done) {
		t.Fatal("a refused edit changed the finalized record")
	}
	// A retried finalize with the same document is a no-op; another is a conflict.
	if err := st.MarkInspectionFinalized(ctx, in.ID, minutes.ID, "system"); err != nil {
		t.Fatalf("finalize again: %v", err)
	}
	wantCode(t, st.MarkInspectionFinalized(ctx, in.ID, other.ID, "system"), vanthu.EConflict)
	if a := actions(t, st, fmt.Sprintf("inspection:%d", in.ID)); !slices.Equal(a, []string{"inspection_finalized", "inspection_created"}) {
		t.Fatalf("events = %v", a)
	}

	// Correction: version 2, a draft copy referencing version 1; both remain.
	st.Now = func() time.Time { return t0.Add(24 * time.Hour) }
	fix, err := st.CorrectInspection(ctx, in.ID, f.user, "kiemtra")
	if err != nil {
		t.Fatalf("CorrectInspection: %v", err)
	}
	if fix.ID == in.ID || fix.Version != 2 || fix.Previous != in.ID || fix.State != vanthu.InspectionDraft || fix.Revision != 1 || fix.DocumentID != 0 {
		t.Fatalf("correction = %+v", fix)
	}
	if jsonOf(t, fix.Findings) != jsonOf(t, done.Findings) || fix.Conclusions != done.Conclusions || fix.UnitName != "Sở Nội vụ" {
		t.Fatalf("correction does not copy the record: %+v", fix)
	}
	back, _ := st.GetInspection(ctx, fix.ID)
	if jsonOf(t, back) != jsonOf(t, fix) {
		t.Fatalf("GetInspection(correction) =\n %s\nwant\n %s", jsonOf(t, back), jsonOf(t, fix))
	}
	if old, _ := st.GetInspection(ctx, in.ID); jsonOf(t, old) != jsonOf(t, done) {
		t.Fatal("correcting changed the finalized version")
	}
	fix.Conclusions = "Đính chính: số người vắng không lý do là 3."
	if err := st.SaveInspection(ctx, &fix, "kiemtra"); err != nil {
		t.Fatalf("editing the correction: %v", err)
	}
	// One correction per version, even when two are asked at once.
	_, err = st.CorrectInspection(ctx, in.ID, f.user, "kiemtra")
	wantCode(t, err, vanthu.EConflict)

	second := f.create(t, inspection(f, "STC", 26))
	if err := st.MarkInspectionFinalized(ctx, second.ID, other.ID, "system"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() { _, errs[i] = st.CorrectInspection(ctx, second.ID, f.user, "kiemtra") })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if vanthu.ErrorCodeOf(err) != vanthu.EConflict {
			t.Fatalf("concurrent correction: %v", err)
		}
	}
	if n := f.count(t, fmt.Sprintf("SELECT COUNT(*) FROM inspections WHERE previous_id = %d", second.ID)); ok != 1 || n != 1 {
		t.Fatalf("%d concurrent corrections succeeded, %d stored; want 1 and 1", ok, n)
	}
	list, _ := st.ListInspections(ctx, vanthu.InspectionFilter{State: vanthu.InspectionFinalized})
	if len(list) != 2 {
		t.Fatalf("finalized listed: %d, want 2", len(list))
	}
}
