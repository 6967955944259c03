package store_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/store"
)

// docFixture is a migrated store with a clerk and a set of units:
// two departments, two communes and a public unit that can receive mail,
// an inactive commune and a commune whose address was lost (a row written
// before validation existed).
type docFixture struct {
	st    *store.Store
	dsn   string
	user  int64
	units map[string]vanthu.Unit // by code
}

func newDocFixture(t *testing.T, newDSN opener) *docFixture {
	t.Helper()
	ctx := context.Background()
	dsn := newDSN(t)
	f := &docFixture{st: openStore(t, dsn), dsn: dsn, units: map[string]vanthu.Unit{}}
	u := vanthu.User{Username: "vanthu", FullName: "Văn Thư", Role: vanthu.RoleClerk, Active: true}
	if err := f.st.CreateUser(ctx, &u, "seed"); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	f.user = u.ID
	for _, u := range []vanthu.Unit{
		unit("STC", "Sở Tài chính", vanthu.GroupDepartment, 2),
		unit("SNV", "Sở Nội vụ", vanthu.GroupDepartment, 1),
		unit("XA-B", "Xã Bình Minh", vanthu.GroupCommune, 2),
		unit("XA-A", "Xã An Phú", vanthu.GroupCommune, 1),
		unit("SN-1", "Trung tâm Dịch vụ việc làm", vanthu.GroupPublic, 1),
		unit("XA-OFF", "Xã Đã Sáp Nhập", vanthu.GroupCommune, 3),
		unit("XA-NOMAIL", "Xã Chưa Có Thư", vanthu.GroupCommune, 4),
	} {
		if err := f.st.CreateUnit(ctx, &u, "seed"); err != nil {
			t.Fatalf("CreateUnit %s: %v", u.Code, err)
		}
		f.units[u.Code] = u
	}
	if err := f.st.SetUnitActive(ctx, f.units["XA-OFF"].ID, false, "seed"); err != nil {
		t.Fatal(err)
	}
	f.exec(t, "UPDATE units SET emails = '' WHERE code = 'XA-NOMAIL'")
	return f
}

// raw opens the fixture's database directly, for what the API cannot
// reach: legacy rows and columns the domain types do not carry.
func (f *docFixture) raw(t *testing.T) *sql.DB {
	t.Helper()
	driver := "sqlite"
	if f.st.Dialect() == store.DialectPostgres {
		driver = "pgx"
	}
	db, err := sql.Open(driver, f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func (f *docFixture) exec(t *testing.T, query string) {
	t.Helper()
	if _, err := f.raw(t).Exec(query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// column reads one column of a dispatch row.
func (f *docFixture) column(t *testing.T, id int64, col string) any {
	t.Helper()
	var v any
	q := fmt.Sprintf("SELECT %s FROM dispatches WHERE id = %d", col, id)
	if err := f.raw(t).QueryRow(q).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

func (f *docFixture) ids(codes ...string) []int64 {
	var ids []int64
	for _, c := range codes {
		ids = append(ids, f.units[c].ID)
	}
	return ids
}

// draft creates a valid draft issued by UBND as a CT (chỉ thị) to every
// unit, with a deadline a week after t0, after applying mod.
func (f *docFixture) draft(t *testing.T, mod func(d *vanthu.Document)) vanthu.Document {
	t.Helper()
	deadline := t0.Add(7 * 24 * time.Hour)
	d := vanthu.Document{
		Kind: vanthu.KindDirective, TypeCode: "CT", Issuer: "UBND", CreatedBy: f.user,
		Subject: "Về việc tăng cường kỷ luật, kỷ cương hành chính",
		Content: vanthu.Content{
			Template: "directive", Agency: "ỦY BAN NHÂN DÂN TỈNH VĨNH LONG", Place: "Vĩnh Long",
			SignerName: "Nguyễn Văn An", Body: "Yêu cầu các đơn vị thực hiện nghiêm.",
			Audience: vanthu.Audience{All: true}, Deadline: &deadline,
		},
	}
	if mod != nil {
		mod(&d)
	}
	if err := f.st.CreateDocument(context.Background(), &d, "vanthu"); err != nil {
		t.Fatalf("CreateDocument: %v", err)
	}
	return d
}

// plan is an IssueDocument plan that sends the main address of every unit,
// with a tag and token derived from the document and unit.
func plan(_ context.Context, doc vanthu.Document, units []vanthu.Unit) (store.IssuePlan, error) {
	p := store.IssuePlan{
		Artifact: vanthu.Artifact{Name: "chi-thi.pdf", ContentType: "application/pdf"},
		Content:  []byte("%PDF-1.7 " + doc.Symbol),
	}
	for _, u := range units {
		tag := fmt.Sprintf("d%du%d", doc.ID, u.ID)
		p.Dispatches = append(p.Dispatches, store.PlannedDispatch{UnitID: u.ID, Email: u.Emails[0], MailTag: tag, TokenHash: tokenHash(tag)})
	}
	return p, nil
}

func tokenHash(tag string) []byte {
	h := sha256.Sum256([]byte("token-" + tag))
	return h[:]
}

func (f *docFixture) issue(t *testing.T, id int64, at time.Time) vanthu.Document {
	t.Helper()
	d, err := f.st.IssueDocument(context.Background(), id, "vanthu", at, plan)
	if err != nil {
		t.Fatalf("IssueDocument %d: %v", id, err)
	}
	return d
}

func actions(t *testing.T, st *store.Store, subject string) []string {
	t.Helper()
	evs, err := st.ListEvents(context.Background(), subject, 1000)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Action)
	}
	return out
}

func hasProblem(err error, field, contains string) bool {
	return slices.ContainsFunc(vanthu.ProblemsOf(err), func(p vanthu.Problem) bool {
		return p.Field == field && strings.Contains(p.Message, contains)
	})
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func testDocumentDrafts(t *testing.T, newDSN opener) {
	ctx := context.Background()
	f := newDocFixture(t, newDSN)
	st := f.st
	nfd := "Ve\u0302\u0300 vie\u0323\u0302c" // "Về việc", decomposed
	d := f.draft(t, func(d *vanthu.Document) { d.Subject = "  " + nfd + "   kiểm tra  "; d.Issuer = " ubnd " })
	if d.ID == 0 || d.State != vanthu.StateDraft || !d.CreatedAt.Equal(t0) || d.Subject != "Về việc kiểm tra" || d.Issuer != "UBND" {
		t.Fatalf("CreateDocument = %+v", d)
	}
	got, err := st.GetDocument(ctx, d.ID)
	if err != nil {
		t.Fatalf("GetDocument: %v", err)
	}
	if jsonOf(t, got) != jsonOf(t, d) {
		t.Fatalf("GetDocument =\n %s\nwant\n %s", jsonOf(t, got), jsonOf(t, d))
	}
	_, err = st.GetDocument(ctx, d.ID+100)
	wantCode(t, err, vanthu.ENotFound)

	for _, tt := range []struct {
		name  string
		mod   func(d *vanthu.Document)
		field string
	}{
		{"empty subject", func(d *vanthu.Document) { d.Subject = "  " }, "subject"},
		{"bad kind", func(d *vanthu.Document) { d.Kind = "thu-tay" }, "kind"},
		{"bad group", func(d *vanthu.Document) { d.Content.Audience.Groups = []vanthu.UnitGroup{"huyen"} }, "content.audience.groups"},
		{"no creator", func(d *vanthu.Document) { d.CreatedBy = 0 }, "created_by"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bad := d
			bad.ID = 0
			tt.mod(&bad)
			err := st.CreateDocument(ctx, &bad, "vanthu")
			wantCode(t, err, vanthu.EInvalid)
			if !hasProblem(err, tt.field, "") || bad.ID != 0 {
				t.Fatalf("problems %v do not name %q (id %d)", vanthu.ProblemsOf(err), tt.field, bad.ID)
			}
		})
	}

	// Update: changed fields are listed; a save without change records
	// nothing.
	later := t0.Add(time.Hour)
	st.Now = func() time.Time { return later }
	d.Subject = "Về việc kiểm tra công vụ"
	d.Content.Body = "Nội dung mới."
	d.Content.Audience = vanthu.Audience{Groups: []vanthu.UnitGroup{vanthu.GroupCommune}}
	if err := st.UpdateDraft(ctx, &d, "vanthu"); err != nil {
		t.Fatalf("UpdateDraft: %v", err)
	}
	if !d.UpdatedAt.Equal(later) || !d.CreatedAt.Equal(t0) {
		t.Fatalf("UpdateDraft times: %+v", d)
	}
	if err := st.UpdateDraft(ctx, &d, "vanthu"); err != nil {
		t.Fatalf("UpdateDraft again: %v", err)
	}
	got, _ = st.GetDocument(ctx, d.ID)
	if got.Subject != d.Subject || got.Content.Body != "Nội dung mới." || !got.Content.Audience.Groups[0].Valid() || got.Content.Audience.All {
		t.Fatalf("after update: %+v", got)
	}
	subject := fmt.Sprintf("document:%d", d.ID)
	if a := actions(t, st, subject); !slices.Equal(a, []string{"document_updated", "document_created"}) {
		t.Fatalf("events = %v", a)
	}
	evs, _ := st.ListEvents(ctx, subject, 1)
	var detail struct{ Fields []string }
	if err := json.Unmarshal([]byte(evs[0].Detail), &detail); err != nil {
		t.Fatal(err)
	}
	if want := []string{"subject", "content.audience", "content.body"}; !slices.Equal(detail.Fields, want) {
		t.Fatalf("changed fields = %v, want %v", detail.Fields, want)
	}
	missing := d
	missing.ID = 9999
	wantCode(t, st.UpdateDraft(ctx, &missing, "vanthu"), vanthu.ENotFound)

	// Listing: newest first, filtered.
	st.Now = func() time.Time { return later.Add(time.Hour) }
	report := f.draft(t, func(d *vanthu.Document) { d.Kind = vanthu.KindReport; d.TypeCode = "BC" })
	st.Now = func() time.Time { return later.Add(2 * time.Hour) }
	third := f.draft(t, nil)
	f.issue(t, third.ID, later.Add(2*time.Hour))
	for _, tt := range []struct {
		name   string
		filter store.DocumentFilter
		want   []int64
	}{
		{"all", store.DocumentFilter{}, []int64{third.ID, report.ID, d.ID}},
		{"kind", store.DocumentFilter{Kind: vanthu.KindDirective}, []int64{third.ID, d.ID}},
		{"state", store.DocumentFilter{State: vanthu.StateDraft}, []int64{report.ID, d.ID}},
		{"issued", store.DocumentFilter{State: vanthu.StateIssued}, []int64{third.ID}},
		{"limit", store.DocumentFilter{Limit: 2}, []int64{third.ID, report.ID}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := st.ListDocuments(ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, d := range docs {
				ids = append(ids, d.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Fatalf("ListDocuments(%+v) = %v, want %v", tt.filter, ids, tt.want)
			}
		})
	}
}

func testIssueNumbering(t *testing.T, newDSN opener) {
	ctx := context.Background()
	f := newDocFixture(t, newDSN)
	st := f.st
	farDeadline := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	// In order: each row issues a fresh draft. Years are those of
	// Asia/Ho_Chi_Minh (+07:00), not UTC.
	newYearICT := time.Date(2026, 12, 31, 17, 30, 0, 0, time.UTC) // 00:30 on 1 Jan 2027 in Vĩnh Long
	lastDayICT := time.Date(2026, 12, 31, 16, 59, 0, 0, time.UTC) // 23:59 on 31 Dec 2026
	tests := []struct {
		issuer, typeCode string
		at               time.Time
		wantSymbol       string
		wantYear         int
	}{
		{"UBND", "CT", t0, "01/CT-UBND", 2026},
		{"UBND", "CT", t0, "02/CT-UBND", 2026},
		{"SNV", "CT", t0, "01/CT-SNV", 2026},
		{"UBND", "BC", t0, "01/BC-UBND", 2026},
		{"UBND", "", t0, "01/UBND", 2026},
		{"UBND", "CT", newYearICT, "01/CT-UBND", 2027},
		{"UBND", "CT", lastDayICT, "03/CT-UBND", 2026},
		{"UBND", "CT", newYearICT.Add(time.Hour), "02/CT-UBND", 2027},
	}
	for i, tt := range tests {
		d := f.draft(t, func(d *vanthu.Document) {
			d.Issuer, d.TypeCode, d.Content.Deadline = tt.issuer, tt.typeCode, &farDeadline
		})
		var seen vanthu.Document
		got, err := st.IssueDocument(ctx, d.ID, "vanthu", tt.at, func(ctx context.Context, doc vanthu.Document, units []vanthu.Unit) (store.IssuePlan, error) {
			seen = doc
			return plan(ctx, doc, units)
		})
		if err != nil {
			t.Fatalf("issue %d: %v", i, err)
		}
		if got.Symbol != tt.wantSymbol || got.Year != tt.wantYear || got.State != vanthu.StateIssued ||
			got.IssuedAt == nil || !got.IssuedAt.Equal(tt.at) {
			t.Fatalf("issue %d = %s year %d state %s at %v; want %s year %d", i, got.Symbol, got.Year, got.State, got.IssuedAt, tt.wantSymbol, tt.wantYear)
		}
		if seen.Symbol != tt.wantSymbol || seen.State != vanthu.StateIssued {
			t.Fatalf("plan saw %q (%s), want the numbered document", seen.Symbol, seen.State)
		}
		stored, _ := st.GetDocument(ctx, d.ID)
		if jsonOf(t, stored) != jsonOf(t, got) {
			t.Fatalf("stored\n %s\nreturned\n %s", jsonOf(t, stored), jsonOf(t, got))
		}
	}

	// A plan error rolls everything back and consumes no number.
	d := f.draft(t, nil)
	boom := errors.New("render failed")
	_, err := st.IssueDocument(ctx, d.ID, "vanthu", t0, func(context.Context, vanthu.Document, []vanthu.Unit) (store.IssuePlan, error) {
		return store.IssuePlan{}, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("IssueDocument with failing plan = %v, want %v", err, boom)
	}
	if got, _ := st.GetDocument(ctx, d.ID); got.State != vanthu.StateDraft || got.Number != 0 || got.Symbol != "" {
		t.Fatalf("after failed plan: %+v", got)
	}
	if ds, _ := st.ListDispatches(ctx, d.ID); len(ds) != 0 {
		t.Fatalf("failed issue left %d dispatches", len(ds))
	}
	_, _, err = st.GetArtifact(ctx, d.ID)
	wantCode(t, err, vanthu.ENotFound)
	// A plan that does not cover the audience is a bug: refused too.
	_, err = st.IssueDocument(ctx, d.ID, "vanthu", t0, func(ctx context.Context, doc vanthu.Document, units []vanthu.Unit) (store.IssuePlan, error) {
		p, _ := plan(ctx, doc, units)
		p.Dispatches = p.Dispatches[1:]
		return p, nil
	})
	wantCode(t, err, vanthu.EInternal)
	got := f.issue(t, d.ID, t0)
	if got.Symbol != "04/CT-UBND" {
		t.Fatalf("after rolled-back issues the number is %s, want 04/CT-UBND", got.Symbol)
	}

	// What was stored: the artifact with its hash, one dispatch per unit.
	art, content, err := st.GetArtifact(ctx, d.ID)
	if err != nil {
		t.Fatalf("GetArtifact: %v", err)
	}
	sum := sha256.Sum256(content)
	if string(content) != "%PDF-1.7 04/CT-UBND" || art.SHA256 != fmt.Sprintf("%x", sum) || art.Size != int64(len(content)) ||
		art.Name != "chi-thi.pdf" || art.DocumentID != d.ID {
		t.Fatalf("artifact = %+v, %q", art, content)
	}
	ds, err := st.ListDispatches(ctx, d.ID)
	if err != nil || len(ds) != 5 {
		t.Fatalf("ListDispatches = %d, %v; want 5", len(ds), err)
	}
	for _, x := range ds {
		if x.QueuedAt == nil || !x.QueuedAt.Equal(t0) || x.Deadline == nil || !x.Deadline.Equal(*d.Content.Deadline) ||
			x.MailTag != fmt.Sprintf("d%du%d", d.ID, x.UnitID) || x.SentAt != nil || x.Email == "" {
			t.Fatalf("dispatch = %+v", x)
		}
	}
	evs, _ := st.ListEvents(ctx, fmt.Sprintf("document:%d", d.ID), 1)
	if evs[0].Action != "document_issued" || !strings.Contains(evs[0].Detail, `"symbol":"04/CT-UBND"`) ||
		!strings.Contains(evs[0].Detail, `"units":5`) || !strings.Contains(evs[0].Detail, art.SHA256) {
		t.Fatalf("issue event = %+v", evs[0])
	}

	// Issuing again, or editing the issued document, changes nothing.
	before := actions(t, st, "")
	_, err = st.IssueDocument(ctx, d.ID, "vanthu", t0, plan)
	wantCode(t, err, vanthu.EConflict)
	edit := got
	edit.Subject = "Sửa sau khi ban hành"
	err = st.UpdateDraft(ctx, &edit, "vanthu")
	wantCode(t, err, vanthu.EConflict)
	if !strings.Contains(err.Error(), "Văn bản đã ban hành, không sửa được; hãy tạo văn bản đính chính.") {
		t.Fatalf("UpdateDraft on issued: %v", err)
	}
	_, err = st.IssueDocument(ctx, 9999, "vanthu", t0, plan)
	wantCode(t, err, vanthu.ENotFound)
	if after, _ := st.GetDocument(ctx, d.ID); jsonOf(t, after) != jsonOf(t, got) {
		t.Fatalf("issued document changed: %+v", after)
	}
	if ds2, _ := st.ListDispatches(ctx, d.ID); len(ds2) != len(ds) {
		t.Fatalf("dispatches after duplicate issue = %d, want %d", len(ds2), len(ds))
	}
	if after := actions(t, st, ""); len(after) != len(before) {
		t.Fatalf("refused requests wrote events: %v", after[:len(after)-len(before)])
	}
	if next := f.issue(t, f.draft(t, nil).ID, t0); next.Number != 5 {
		t.Fatalf("next number = %d, want 5 (refused requests consume none)", next.Number)
	}
}

func testIssueAudience(t *testing.T, newDSN opener) {
	ctx := context.Background()
	f := newDocFixture(t, newDSN)
	st := f.st
	past := t0.Add(-time.Minute)
	tests := []struct {
		name     string
		audience vanthu.Audience
		deadline *time.Time
		want     []string // unit codes in official order
		field    string   // of the EInvalid problem
		mention  string
	}{
		{name: "all active units with mail", audience: vanthu.Audience{All: true}, want: []string{"SNV", "STC", "XA-A", "XA-B", "SN-1"}},
		{name: "groups", audience: vanthu.Audience{Groups: []vanthu.UnitGroup{vanthu.GroupCommune}}, want: []string{"XA-A", "XA-B"}},
		{name: "unit ids", audience: vanthu.Audience{UnitIDs: f.ids("SN-1", "STC")}, want: []string{"STC", "SN-1"}},
		{name: "union deduped", audience: vanthu.Audience{
			Groups: []vanthu.UnitGroup{vanthu.GroupDepartment}, UnitIDs: f.ids("SNV", "XA-A", "XA-A"),
		}, want: []string{"SNV", "STC", "XA-A"}},
		{name: "all with a unit also chosen", audience: vanthu.Audience{All: true, UnitIDs: f.ids("XA-B")},
			want: []string{"SNV", "STC", "XA-A", "XA-B", "SN-1"}},
		{name: "inactive unit chosen", audience: vanthu.Audience{UnitIDs: f.ids("XA-A", "XA-OFF")},
			field: "content.audience.unit_ids", mention: "Xã Đã Sáp Nhập"},
		{name: "unit without e-mail chosen", audience: vanthu.Audience{UnitIDs: f.ids("XA-NOMAIL")},
			field: "content.audience.unit_ids", mention: "Xã Chưa Có Thư"},
		{name: "unknown unit", audience: vanthu.Audience{UnitIDs: []int64{9999}}, field: "content.audience.unit_ids", mention: "9999"},
		{name: "group without units", audience: vanthu.Audience{Groups: []vanthu.UnitGroup{vanthu.GroupOther}}, field: "content.audience"},
		{name: "nobody", audience: vanthu.Audience{}, field: "content.audience"},
		{name: "deadline passed", audience: vanthu.Audience{All: true}, deadline: &past, field: "content.deadline"},
	}
	issued := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := f.draft(t, func(d *vanthu.Document) {
				d.Content.Audience = tt.audience
				if tt.deadline != nil {
					d.Content.Deadline = tt.deadline
				}
			})
			var planned []string
			got, err := st.IssueDocument(ctx, d.ID, "vanthu", t0, func(ctx context.Context, doc vanthu.Document, units []vanthu.Unit) (store.IssuePlan, error) {
				for _, u := range units {
					planned = append(planned, u.Code)
				}
				return plan(ctx, doc, units)
			})
			if tt.field != "" {
				wantCode(t, err, vanthu.EInvalid)
				if !hasProblem(err, tt.field, tt.mention) {
					t.Fatalf("problems %v do not name %q with %q", vanthu.ProblemsOf(err), tt.field, tt.mention)
				}
				if after, _ := st.GetDocument(ctx, d.ID); after.State != vanthu.StateDraft || after.Number != 0 {
					t.Fatalf("refused issue changed the document: %+v", after)
				}
				return
			}
			if err != nil {
				t.Fatalf("IssueDocument: %v", err)
			}
			issued++
			if got.Number != issued {
				t.Fatalf("number = %d, want %d (refused issues consume none)", got.Number, issued)
			}
			if !slices.Equal(planned, tt.want) {
				t.Fatalf("plan got units %v, want %v", planned, tt.want)
			}
			ds, err := st.ListDispatches(ctx, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			var codes []string
			for _, x := range ds {
				codes = append(codes, x.UnitCode)
				if x.UnitName != f.units[x.UnitCode].Name || x.Email != f.units[x.UnitCode].Emails[0] {
					t.Fatalf("dispatch %+v does not carry its unit", x)
				}
			}
			if !slices.Equal(codes, tt.want) {
				t.Fatalf("ListDispatches units = %v, want %v", codes, tt.want)
			}
		})
	}
}

func testConcurrentIssue(t *testing.T, newDSN opener) {
	ctx := context.Background()
	f := newDocFixture(t, newDSN)
	// A second machine on the same database.
	other := openStore(t, f.dsn)
	const n = 20
	drafts := make([]int64, n)
	for i := range drafts {
		drafts[i] = f.draft(t, nil).ID
	}
	start := make(chan struct{})
	numbers := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, id := range drafts {
		st := f.st
		if i%2 == 1 {
			st = other
		}
		wg.Go(func() {
			<-start
			d, err := st.IssueDocument(ctx, id, "vanthu", t0, plan)
			numbers[i], errs[i] = d.Number, err
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("issue %d: %v", i, err)
		}
	}
	slices.Sort(numbers)
	for i, got := range numbers {
		if got != i+1 {
			t.Fatalf("numbers = %v, want 1..%d without gaps or duplicates", numbers, n)
		}
	}
	docs, err := f.st.ListDocuments(ctx, store.DocumentFilter{State: vanthu.StateIssued})
	if err != nil || len(docs) != n {
		t.Fatalf("issued documents = %d, %v; want %d", len(docs), err, n)
	}
	symbols := map[string]bool{}
	for _, d := range docs {
		symbols[d.Symbol] = true
	}
	if len(symbols) != n {
		t.Fatalf("%d distinct symbols, want %d", len(symbols), n)
	}
}
