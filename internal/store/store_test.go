package store_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/store"
	"github.com/sonoivu/vanthu/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// opener returns a fresh, unmigrated database DSN for one test.
type opener func(t *testing.T) string

func TestSQLite(t *testing.T) {
	t.Parallel()
	runSuite(t, func(t *testing.T) string {
		// A missing parent directory is created by Open.
		return filepath.Join(t.TempDir(), "data", "vanthu.db")
	})
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	runSuite(t, func(t *testing.T) string { return testenv.Postgres(t) })
}

var t0 = time.Date(2026, 3, 2, 8, 30, 0, 0, time.UTC)

// openStore opens and migrates a fresh store whose clock is fixed at t0.
func openStore(t *testing.T, dsn string) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	st.Now = func() time.Time { return t0 }
	return st
}

func runSuite(t *testing.T, newDSN opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, newDSN opener)
	}{
		{"Migrate", testMigrate},
		{"UnitRoundTrip", testUnitRoundTrip},
		{"UnitErrors", testUnitErrors},
		{"UnitUpdate", testUnitUpdate},
		{"ListUnits", testListUnits},
		{"ImportUnits", testImportUnits},
		{"ImportRollback", testImportRollback},
		{"UsersAndTokens", testUsersAndTokens},
		{"Events", testEvents},
		{"ConcurrentCreate", testConcurrentCreate},
		{"DocumentDrafts", testDocumentDrafts},
		{"IssueNumbering", testIssueNumbering},
		{"IssueAudience", testIssueAudience},
		{"ConcurrentIssue", testConcurrentIssue},
		{"DispatchSending", testDispatchSending},
		{"DocumentProgress", testDocumentProgress},
		{"Reminders", testReminders},
		{"ApplyMilestone", testApplyMilestone},
		{"AcknowledgeWithPerson", testAcknowledgeWithPerson},
		{"Inbox", testInbox},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newDSN) })
	}
}

func wantCode(t *testing.T, err error, code vanthu.ErrorCode) {
	t.Helper()
	if got := vanthu.ErrorCodeOf(err); got != code {
		t.Fatalf("error code = %q, want %q (err: %v)", got, code, err)
	}
}

func testMigrate(t *testing.T, newDSN opener) {
	ctx := context.Background()
	dsn := newDSN(t)
	// Two stores on the same database migrating at once: each migration
	// must be applied exactly once.
	stores := make([]*store.Store, 3)
	for i := range stores {
		st, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		stores[i] = st
	}
	applied := make([]int, len(stores))
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i, st := range stores {
		wg.Go(func() { applied[i], errs[i] = st.Migrate(ctx) })
	}
	wg.Wait()
	total := 0
	for i := range stores {
		if errs[i] != nil {
			t.Fatalf("concurrent Migrate %d: %v", i, errs[i])
		}
		total += applied[i]
	}
	if total < 1 {
		t.Fatalf("concurrent migrations applied %d in total, want at least 1", total)
	}
	// Again: nothing left to apply, and the schema works.
	n, err := stores[0].Migrate(ctx)
	if err != nil || n != 0 {
		t.Fatalf("second Migrate = %d, %v; want 0, nil", n, err)
	}
	again, err := stores[1].Migrate(ctx)
	if err != nil || again != 0 {
		t.Fatalf("third Migrate = %d, %v; want 0, nil", again, err)
	}
	if err := stores[0].Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if _, err := stores[0].ListUnits(ctx, vanthu.UnitFilter{}); err != nil {
		t.Fatalf("ListUnits after migrate: %v", err)
	}
	// Each version recorded once: a fresh store counts the same total.
	want := total
	fresh := openStoreNoMigrate(t, newDSN(t))
	pending, err := fresh.Pending(ctx)
	if err != nil || len(pending) != want {
		t.Fatalf("Pending on a fresh database = %v, %v; want %d names", pending, err, want)
	}
	got, err := fresh.Migrate(ctx)
	if err != nil || got != want {
		t.Fatalf("fresh Migrate = %d, %v; want %d", got, err, want)
	}
	if pending, err := fresh.Pending(ctx); err != nil || len(pending) != 0 {
		t.Fatalf("Pending after Migrate = %v, %v; want none", pending, err)
	}
}

func openStoreNoMigrate(t *testing.T, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func unit(code, name string, group vanthu.UnitGroup, order int, emails ...string) vanthu.Unit {
	if len(emails) == 0 {
		emails = []string{strings.ToLower(code) + "@vinhlong.gov.vn"}
	}
	return vanthu.Unit{Code: code, Name: name, Emails: emails, Group: group, Order: order, Active: true}
}

func testUnitRoundTrip(t *testing.T, newDSN opener) {
	ctx := context.Background()
	st := openStore(t, newDSN(t))
	dept := unit("snv", "Sở Nội vụ", vanthu.GroupDepartment, 1)
	if err := st.CreateUnit(ctx, &dept, "vanthu"); err != nil {
		t.Fatalf("CreateUnit: %v", err)
	}
	nfd := "Phu\u031bo\u031b\u0300ng Ho\u0300a Thua\u0302\u0323n" // "Phường Hòa Thuận", decomposed
	u := vanthu.Unit{
		Code: "xa-hoa-thuan", Name: "  " + nfd + "  ", ParentCode: "SNV",
		Emails: []string{" UBND.HoaThuan@VinhLong.gov.vn", "vanthu.hoathuan@vinhlong.gov.vn"},
		Group:  vanthu.GroupCommune, Order: 7, Active: true,
	}
	if err := st.CreateUnit(ctx, &u, "vanthu"); err != nil {
		t.Fatalf("CreateUnit: %v", err)
	}
	if u.ID == 0 || !u.CreatedAt.Equal(t0) || !u.UpdatedAt.Equal(t0) {
		t.Fatalf("CreateUnit did not set ID/times: %+v", u)
	}
	got, err := st.GetUnit(ctx, u.ID)
	if err != nil {
		t.Fatalf("GetUnit: %v", err)
	}
	want := vanthu.Unit{
		ID: u.ID, Code: "XA-HOA-THUAN", Name: "Phường Hòa Thuận", ParentCode: "SNV",
		Emails: []string{"ubnd.hoathuan@vinhlong.gov.vn", "vanthu.hoathuan@vinhlong.gov.vn"},
		Group:  vanthu.GroupCommune, Order: 7, Active: true, CreatedAt: t0, UpdatedAt: t0,
	}
	if !unitsEqual(got, want) {
		t.Fatalf("GetUnit =\n %+v\nwant\n %+v", got, want)
	}
	if got.Name != "Phường Hòa Thuận" || len(got.Name) != len("Phường Hòa Thuận") {
		t.Fatalf("name not NFC: %q", got.Name)
	}
	byCode, err := st.GetUnitByCode(ctx, "xa-hoa-thuan")
	if err != nil || byCode.ID != u.ID {
		t.Fatalf("GetUnitByCode = %+v, %v", byCode, err)
	}
	_, err = st.GetUnit(ctx, u.ID+100)
	wantCode(t, err, vanthu.ENotFound)
	_, err = st.GetUnitByCode(ctx, "KHONG-CO")
	wantCode(t, err, vanthu.ENotFound)

	codes, err := st.UnitCodes(ctx)
	if err != nil {
		t.Fatalf("UnitCodes: %v", err)
	}
	if len(codes) != 2 || !codes["SNV"] || !codes["XA-HOA-THUAN"] {
		t.Fatalf("UnitCodes = %v", codes)
	}
}

func unitsEqual(a, b vanthu.Unit) bool {
	return a.ID == b.ID && a.Code == b.Code && a.Name == b.Name && slices.Equal(a.Emails, b.Emails) &&
		a.ParentCode == b.ParentCode && a.Group == b.Group && a.Order == b.Order && a.Active == b.Active &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}

func testUnitErrors(t *testing.T, newDSN opener) {
	ctx := context.Background()
	st := openStore(t, newDSN(t))
	first := unit("STC", "Sở Tài chính", vanthu.GroupDepartment, 2)
	if err := st.CreateUnit(ctx, &first, "vanthu"); err != nil {
		t.Fatalf("CreateUnit: %v", err)
	}
	tests := []struct {
		name  string
		unit  vanthu.Unit
		code  vanthu.ErrorCode
		field string
		msg   string
	}{
		{"duplicate code", unit("stc", "Sở Tài chính 2", vanthu.GroupDepartment, 3), vanthu.EConflict, "", "STC"},
		{"unknown parent", func() vanthu.Unit {
			u := unit("XA-A", "Xã A", vanthu.GroupCommune, 1)
			u.ParentCode = "NOPE"
			return u
		}(), vanthu.EInvalid, "parent_code", "NOPE"},
		{"bad email", unit("XA-B", "Xã B", vanthu.GroupCommune, 1, "khong-phai-email"), vanthu.EInvalid, "emails", ""},
		{"empty name", unit("XA-C", " ", vanthu.GroupCommune, 1), vanthu.EInvalid, "name", ""},
		{"bad group", unit("XA-D", "Xã D", "huyen", 1), vanthu.EInvalid, "group", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.unit
			err := st.CreateUnit(ctx, &u, "vanthu")
			wantCode(t, err, tt.code)
			if u.ID != 0 {
				t.Errorf("failed CreateUnit left ID = %d", u.ID)
			}
			if tt.field != "" && !slices.ContainsFunc(vanthu.ProblemsOf(err), func(p vanthu.Problem) bool { return p.Field == tt.field }) {
				t.Errorf("problems %v do not name field %q", vanthu.ProblemsOf(err), tt.field)
			}
			if tt.msg != "" && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
	units, err := st.ListUnits(ctx, vanthu.UnitFilter{})
	if err != nil || len(units) != 1 {
		t.Fatalf("after failures ListUnits = %d units, %v; want 1", len(units), err)
	}
	events, err := st.ListEvents(ctx, "", 0)
	if err != nil || len(events) != 1 {
		t.Fatalf("after failures %d events, %v; want 1 (failed creates write none)", len(events), err)
	}
}

func testUnitUpdate(t *testing.T, newDSN opener) {
	ctx := context.Background()
	st := openStore(t, newDSN(t))
	parent := unit("UBND-TINH", "UBND tỉnh", vanthu.GroupOther, 0)
	child := unit("SNV", "Sở Nội vụ", vanthu.GroupDepartment, 1)
	other := unit("STP", "Sở Tư pháp", vanthu.GroupDepartment, 2)
	for _, u := range []*vanthu.Unit{&parent, &child, &other} {
		if err := st.CreateUnit(ctx, u, "admin"); err != nil {
			t.Fatalf("CreateUnit %s: %v", u.Code, err)
		}
	}
	later := t0.Add(time.Hour)
	st.Now = func() time.Time { return later }

	child.ParentCode = "UBND-TINH"
	child.Name = "Sở Nội vụ tỉnh"
	child.Emails = []string{"snv@vinhlong.gov.vn", "vanthu.snv@vinhlong.gov.vn"}
	if err := st.UpdateUnit(ctx, &child, "admin"); err != nil {
		t.Fatalf("UpdateUnit: %v", err)
	}
	got, err := st.GetUnit(ctx, child.ID)
	if err != nil {
		t.Fatalf("GetUnit: %v", err)
	}
	if got.Name != "Sở Nội vụ tỉnh" || got.ParentCode != "UBND-TINH" || len(got.Emails) != 2 ||
		!got.UpdatedAt.Equal(later) || !got.CreatedAt.Equal(t0) {
		t.Fatalf("after update: %+v", got)
	}

	// Renaming the parent's code carries the children along.
	parent.Code = "UBND"
	if err := st.UpdateUnit(ctx, &parent, "admin"); err != nil {
		t.Fatalf("UpdateUnit rename: %v", err)
	}
	if got, _ := st.GetUnit(ctx, child.ID); got.ParentCode != "UBND" {
		t.Fatalf("child parent after rename = %q, want UBND", got.ParentCode)
	}

	// Code taken by another unit.
	dup := other
	dup.Code = "SNV"
	wantCode(t, st.UpdateUnit(ctx, &dup, "admin"), vanthu.EConflict)

	// A cycle: the parent placed under its own child.
	cyc := parent
	cyc.ParentCode = "SNV"
	wantCode(t, st.UpdateUnit(ctx, &cyc, "admin"), vanthu.EInvalid)

	missing := other
	missing.ID = 9999
	wantCode(t, st.UpdateUnit(ctx, &missing, "admin"), vanthu.ENotFound)

	// Activation state, each change one event.
	if err := st.SetUnitActive(ctx, other.ID, false, "admin"); err != nil {
		t.Fatalf("SetUnitActive: %v", err)
	}
	if err := st.SetUnitActive(ctx, other.ID, false, "admin"); err != nil {
		t.Fatalf("SetUnitActive again: %v", err)
	}
	if got, _ := st.GetUnit(ctx, other.ID); got.Active {
		t.Fatal("unit still active after SetUnitActive(false)")
	}
	if err := st.SetUnitActive(ctx, other.ID, true, "admin"); err != nil {
		t.Fatalf("SetUnitActive(true): %v", err)
	}
	wantCode(t, st.SetUnitActive(ctx, 9999, true, "admin"), vanthu.ENotFound)

	evs, err := st.ListEvents(ctx, fmt.Sprintf("unit:%d", other.ID), 10)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	var actions []string
	for _, e := range evs {
		actions = append(actions, e.Action)
	}
	if want := []string{"unit_activated", "unit_deactivated", "unit_created"}; !slices.Equal(actions, want) {
		t.Fatalf("events of unit %d = %v, want %v", other.ID, actions, want)
	}
}

func testListUnits(t *testing.T, newDSN opener) {
	ctx := context.Background()
	st := openStore(t, newDSN(t))
	units := []vanthu.Unit{
		unit("XA-HOA-BINH", "Xã Hòa Bình", vanthu.GroupCommune, 2),
		unit("PHUONG-HOA", "Phường Phú Hoà", vanthu.GroupCommune, 2), // old-style tone placement
		unit("STC", "Sở Tài chính", vanthu.GroupDepartment, 1),
		unit("HOADON", "Trung tâm Dịch vụ", vanthu.GroupPublic, 3),
		unit("XA-AN", "Xã An Bình", vanthu.GroupCommune, 2),
		unit("XA-DONG", "Xã Đông Hải", vanthu.GroupCommune, 5),
	}
	for i := range units {
		if err := st.CreateUnit(ctx, &units[i], "vanthu"); err != nil {
			t.Fatalf("CreateUnit: %v", err)
		}
	}
	if err := st.SetUnitActive(ctx, units[4].ID, false, "vanthu"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		filter vanthu.UnitFilter
		want   []string // codes in order
	}{
		{"all in official order", vanthu.UnitFilter{}, []string{"STC", "PHUONG-HOA", "XA-AN", "XA-HOA-BINH", "HOADON", "XA-DONG"}},
		{"group", vanthu.UnitFilter{Group: vanthu.GroupCommune}, []string{"PHUONG-HOA", "XA-AN", "XA-HOA-BINH", "XA-DONG"}},
		{"active only", vanthu.UnitFilter{Group: vanthu.GroupCommune, ActiveOnly: true}, []string{"PHUONG-HOA", "XA-HOA-BINH", "XA-DONG"}},
		{"folded query finds both tone placements and code prefix", vanthu.UnitFilter{Query: "hoa"}, []string{"PHUONG-HOA", "XA-HOA-BINH", "HOADON"}},
		{"query with marks", vanthu.UnitFilter{Query: "Hoà"}, []string{"PHUONG-HOA", "XA-HOA-BINH", "HOADON"}},
		{"đ folds to d", vanthu.UnitFilter{Query: "đông"}, []string{"XA-DONG"}},
		{"code prefix", vanthu.UnitFilter{Query: "xa-"}, []string{"XA-AN", "XA-HOA-BINH", "XA-DONG"}},
		{"wildcards are literal", vanthu.UnitFilter{Query: "%"}, nil},
		{"no match", vanthu.UnitFilter{Query: "khong co"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.ListUnits(ctx, tt.filter)
			if err != nil {
				t.Fatalf("ListUnits: %v", err)
			}
			var codes []string
			for _, u := range got {
				codes = append(codes, u.Code)
			}
			if !slices.Equal(codes, tt.want) {
				t.Fatalf("ListUnits(%+v) = %v, want %v", tt.filter, codes, tt.want)
			}
		})
	}
}

func testImportUnits(t *testing.T, newDSN opener) {
	ctx := context.Background()
	st := openStore(t, newDSN(t))
	existing := unit("SNV", "Sở Nội vụ", vanthu.GroupDepartment, 1)
	unchanged := unit("STC", "Sở Tài chính", vanthu.GroupDepartment, 2)
	for _, u := range []*vanthu.Unit{&existing, &unchanged} {
		if err := st.CreateUnit(ctx, u, "vanthu"); err != nil {
			t.Fatal(err)
		}
	}
	batch := []vanthu.Unit{
		// The parent comes later in the batch.
		func() vanthu.Unit {
			u := unit("XA-LONG-HO", "Xã Long Hồ", vanthu.GroupCommune, 10)
			u.ParentCode = "UBND-TINH"
			return u
		}(),
		unit("SNV", "Sở Nội vụ tỉnh Vĩnh Long", vanthu.GroupDepartment, 1, "snv@vinhlong.gov.vn", "tccb.snv@vinhlong.gov.vn"),
		unit("STC", "Sở Tài chính", vanthu.GroupDepartment, 2),
		unit("UBND-TINH", "UBND tỉnh Vĩnh Long", vanthu.GroupOther, 0),
	}
	batch[1].ParentCode = "UBND-TINH" // an existing unit moved under a new one
	input := slices.Clone(batch)
	created, updated, err := st.ImportUnits(ctx, batch, "vanthu")
	if err != nil {
		t.Fatalf("ImportUnits: %v", err)
	}
	if created != 2 || updated != 2 {
		t.Fatalf("ImportUnits = %d created, %d updated; want 2, 2", created, updated)
	}
	if !slices.EqualFunc(batch, input, unitsEqual) {
		t.Fatal("ImportUnits modified the caller's slice")
	}
	xa, err := st.GetUnitByCode(ctx, "XA-LONG-HO")
	if err != nil || xa.ParentCode != "UBND-TINH" {
		t.Fatalf("imported child = %+v, %v", xa, err)
	}
	snv, err := st.GetUnitByCode(ctx, "SNV")
	if err != nil || snv.ID != existing.ID || snv.Name != "Sở Nội vụ tỉnh Vĩnh Long" || snv.ParentCode != "UBND-TINH" || len(snv.Emails) != 2 {
		t.Fatalf("updated unit = %+v, %v", snv, err)
	}
	// One event per changed unit plus the summary; the unchanged STC has
	// none beyond its creation.
	evs, err := st.ListEvents(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range evs {
		count[e.Action]++
	}
	if count["unit_created"] != 4 || count["unit_updated"] != 1 || count["units_imported"] != 1 {
		t.Fatalf("event counts = %v; want 4 unit_created (2 direct + 2 imported), 1 unit_updated, 1 units_imported", count)
	}
	// Importing the same batch again creates nothing and changes nothing.
	created, updated, err = st.ImportUnits(ctx, batch, "vanthu")
	if err != nil || created != 0 || updated != 4 {
		t.Fatalf("re-import = %d, %d, %v; want 0, 4, nil", created, updated, err)
	}
}

func testImportRollback(t *testing.T, newDSN opener) {
	ctx := context.Background()
	st := openStore(t, newDSN(t))
	keep := unit("SNV", "Sở Nội vụ", vanthu.GroupDepartment, 1)
	if err := st.CreateUnit(ctx, &keep, "vanthu"); err != nil {
		t.Fatal(err)
	}
	before, _ := st.ListUnits(ctx, vanthu.UnitFilter{})
	beforeEvents, _ := st.ListEvents(ctx, "", 0)
	orphan := unit("XA-MOI", "Xã Mới", vanthu.GroupCommune, 3)
	orphan.ParentCode = "KHONG-TON-TAI"
	cycleA := unit("A", "Đơn vị A", vanthu.GroupOther, 1)
	cycleA.ParentCode = "B"
	cycleB := unit("B", "Đơn vị B", vanthu.GroupOther, 2)
	cycleB.ParentCode = "A"
	tests := []struct {
		name  string
		batch []vanthu.Unit
	}{
		{"unknown parent on the last row", []vanthu.Unit{
			unit("XA-1", "Xã Một", vanthu.GroupCommune, 1),
			unit("SNV", "Sở Nội vụ (đổi tên)", vanthu.GroupDepartment, 1),
			orphan,
		}},
		{"invalid unit", []vanthu.Unit{
			unit("XA-2", "Xã Hai", vanthu.GroupCommune, 1),
			unit("XA-3", "Xã Ba", vanthu.GroupCommune, 1, "sai-dia-chi"),
		}},
		{"duplicate code in batch", []vanthu.Unit{
			unit("XA-4", "Xã Bốn", vanthu.GroupCommune, 1),
			unit("xa-4", "Xã Bốn B", vanthu.GroupCommune, 2),
		}},
		{"parent cycle", []vanthu.Unit{unit("XA-5", "Xã Năm", vanthu.GroupCommune, 1), cycleA, cycleB}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			created, updated, err := st.ImportUnits(ctx, tt.batch, "vanthu")
			wantCode(t, err, vanthu.EInvalid)
			if created != 0 || updated != 0 {
				t.Errorf("failed import reported %d created, %d updated", created, updated)
			}
			after, _ := st.ListUnits(ctx, vanthu.UnitFilter{})
			if !slices.EqualFunc(before, after, unitsEqual) {
				t.Fatalf("failed import changed the units:\nbefore %+v\nafter  %+v", before, after)
			}
			afterEvents, _ := st.ListEvents(ctx, "", 0)
			if len(afterEvents) != len(beforeEvents) {
				t.Fatalf("failed import wrote %d events", len(afterEvents)-len(beforeEvents))
			}
		})
	}
}

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func testUsersAndTokens(t *testing.T, newDSN opener) {
	ctx := context.Background()
	st := openStore(t, newDSN(t))
	u := vanthu.User{Username: " VanThu ", FullName: "Nguyễn Thị Thanh Hương", Role: vanthu.RoleClerk, PasswordHash: "$2a$10$x", Active: true}
	if err := st.CreateUser(ctx, &u, "admin"); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if u.ID == 0 || u.Username != "vanthu" || !u.CreatedAt.Equal(t0) {
		t.Fatalf("CreateUser result: %+v", u)
	}
	dup := vanthu.User{Username: "VANTHU", FullName: "Người khác", Role: vanthu.RoleViewer, Active: true}
	wantCode(t, st.CreateUser(ctx, &dup, "admin"), vanthu.EConflict)
	bad := vanthu.User{Username: "x", FullName: "X", Role: "boss"}
	wantCode(t, st.CreateUser(ctx, &bad, "admin"), vanthu.EInvalid)

	got, err := st.GetUserByUsername(ctx, "VanThu")
	if err != nil || got.ID != u.ID || got.FullName != u.FullName || got.Role != vanthu.RoleClerk || !got.Active || got.PasswordHash != "$2a$10$x" {
		t.Fatalf("GetUserByUsername = %+v, %v", got, err)
	}
	_, err = st.GetUser(ctx, u.ID+50)
	wantCode(t, err, vanthu.ENotFound)
	if err := st.SetPasswordHash(ctx, u.ID, "$2a$10$y"); err != nil {
		t.Fatalf("SetPasswordHash: %v", err)
	}
	if got, _ := st.GetUser(ctx, u.ID); got.PasswordHash != "$2a$10$y" {
		t.Fatalf("password hash = %q", got.PasswordHash)
	}
	wantCode(t, st.SetPasswordHash(ctx, 9999, "h"), vanthu.ENotFound)

	inactive := vanthu.User{Username: "nghiviec", FullName: "Trần Văn Nghỉ", Role: vanthu.RoleViewer, Active: false}
	if err := st.CreateUser(ctx, &inactive, "admin"); err != nil {
		t.Fatal(err)
	}
	users, err := st.ListUsers(ctx)
	if err != nil || len(users) != 2 || users[0].Username != "nghiviec" || users[1].Username != "vanthu" {
		t.Fatalf("ListUsers = %+v, %v", users, err)
	}

	past, future := t0.Add(-time.Minute), t0.Add(24*time.Hour)
	tokens := []vanthu.Token{
		{UserID: u.ID, Kind: vanthu.TokenSession, Hash: hash("live"), ExpiresAt: &future},
		{UserID: u.ID, Kind: vanthu.TokenSession, Hash: hash("expired"), ExpiresAt: &past},
		{UserID: u.ID, Kind: vanthu.TokenAPI, Name: "Máy chủ báo cáo", Hash: hash("api")},
		{UserID: inactive.ID, Kind: vanthu.TokenSession, Hash: hash("inactive"), ExpiresAt: &future},
	}
	for i := range tokens {
		if err := st.CreateToken(ctx, &tokens[i]); err != nil {
			t.Fatalf("CreateToken %d: %v", i, err)
		}
		if tokens[i].ID == 0 || !tokens[i].CreatedAt.Equal(t0) {
			t.Fatalf("CreateToken did not set ID/CreatedAt: %+v", tokens[i])
		}
	}
	again := vanthu.Token{UserID: u.ID, Kind: vanthu.TokenAPI, Hash: hash("api")}
	wantCode(t, st.CreateToken(ctx, &again), vanthu.EConflict)
	noUser := vanthu.Token{UserID: 9999, Kind: vanthu.TokenAPI, Hash: hash("nouser")}
	wantCode(t, st.CreateToken(ctx, &noUser), vanthu.EInvalid)

	tests := []struct {
		name   string
		kind   string
		secret string
		ok     bool
	}{
		{"live session", vanthu.TokenSession, "live", true},
		{"api token never expires", vanthu.TokenAPI, "api", true},
		{"expired", vanthu.TokenSession, "expired", false},
		{"inactive user", vanthu.TokenSession, "inactive", false},
		{"wrong kind", vanthu.TokenAPI, "live", false},
		{"unknown", vanthu.TokenSession, "nope", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gu, tok, err := st.UserByToken(ctx, tt.kind, hash(tt.secret))
			if !tt.ok {
				wantCode(t, err, vanthu.EUnauthorized)
				return
			}
			if err != nil || gu.ID != u.ID || tok.UserID != u.ID || tok.Kind != tt.kind {
				t.Fatalf("UserByToken = %+v, %+v, %v", gu, tok, err)
			}
			if tok.LastUsedAt == nil || !tok.LastUsedAt.Equal(t0) {
				t.Fatalf("last used = %v, want %v", tok.LastUsedAt, t0)
			}
		})
	}

	// last_used_at moves at most once a minute.
	lastUsed := func() time.Time {
		toks, err := st.ListTokens(ctx, u.ID, vanthu.TokenAPI)
		if err != nil || len(toks) != 1 || toks[0].LastUsedAt == nil {
			t.Fatalf("ListTokens = %+v, %v", toks, err)
		}
		return *toks[0].LastUsedAt
	}
	st.Now = func() time.Time { return t0.Add(30 * time.Second) }
	if _, _, err := st.UserByToken(ctx, vanthu.TokenAPI, hash("api")); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(); !got.Equal(t0) {
		t.Fatalf("last_used_at after 30 s = %v, want unchanged %v", got, t0)
	}
	st.Now = func() time.Time { return t0.Add(2 * time.Minute) }
	if _, _, err := st.UserByToken(ctx, vanthu.TokenAPI, hash("api")); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(); !got.Equal(t0.Add(2 * time.Minute)) {
		t.Fatalf("last_used_at after 2 min = %v, want %v", got, t0.Add(2*time.Minute))
	}
	st.Now = func() time.Time { return t0 }

	sessions, err := st.ListTokens(ctx, u.ID, vanthu.TokenSession)
	if err != nil || len(sessions) != 2 {
		t.Fatalf("ListTokens(session) = %d, %v; want 2", len(sessions), err)
	}
	// Someone else's token is not found.
	wantCode(t, st.DeleteTokenByID(ctx, inactive.ID, tokens[2].ID), vanthu.ENotFound)
	if err := st.DeleteTokenByID(ctx, u.ID, tokens[2].ID); err != nil {
		t.Fatalf("DeleteTokenByID: %v", err)
	}
	_, _, err = st.UserByToken(ctx, vanthu.TokenAPI, hash("api"))
	wantCode(t, err, vanthu.EUnauthorized)

	if err := st.DeleteToken(ctx, vanthu.TokenSession, hash("live")); err != nil {
		t.Fatalf("DeleteToken: %v", err)
	}
	wantCode(t, st.DeleteToken(ctx, vanthu.TokenSession, hash("live")), vanthu.ENotFound)
	_, _, err = st.UserByToken(ctx, vanthu.TokenSession, hash("live"))
	wantCode(t, err, vanthu.EUnauthorized)

	n, err := st.DeleteExpiredTokens(ctx)
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpiredTokens = %d, %v; want 1", n, err)
	}
	if left, _ := st.ListTokens(ctx, u.ID, vanthu.TokenSession); len(left) != 0 {
		t.Fatalf("%d session tokens left, want 0", len(left))
	}
}

func testEvents(t *testing.T, newDSN opener) {
	ctx := context.Background()
	st := openStore(t, newDSN(t))
	u := unit("SNV", "Sở Nội vụ", vanthu.GroupDepartment, 1)
	if err := st.CreateUnit(ctx, &u, "vanthu"); err != nil {
		t.Fatal(err)
	}
	u.Name = "Sở Nội vụ tỉnh"
	if err := st.UpdateUnit(ctx, &u, "vanthu"); err != nil {
		t.Fatal(err)
	}
	// An update that changes nothing records nothing.
	if err := st.UpdateUnit(ctx, &u, "vanthu"); err != nil {
		t.Fatal(err)
	}
	subject := fmt.Sprintf("unit:%d", u.ID)
	evs, err := st.ListEvents(ctx, subject, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Action != "unit_updated" || evs[1].Action != "unit_created" {
		t.Fatalf("events = %+v", evs)
	}
	if e := evs[0]; e.Actor != "vanthu" || e.Source != vanthu.SourceWeb || !e.At.Equal(t0) ||
		!strings.Contains(e.Detail, `"name"`) || !strings.Contains(e.Detail, "Sở Nội vụ tỉnh") {
		t.Fatalf("update event = %+v", e)
	}

	for i := range 5 {
		e := vanthu.Event{
			At: t0.Add(time.Duration(i) * time.Minute), Actor: "system", Action: "dispatch_sent",
			Source: vanthu.SourceSMTP, Subject: "dispatch:1", Detail: `{"n":` + fmt.Sprint(i) + `}`,
			EvidenceRef: fmt.Sprintf("<m%d@vinhlong.gov.vn>", i),
		}
		if err := st.AppendEvent(ctx, &e); err != nil || e.ID == 0 {
			t.Fatalf("AppendEvent: %v (id %d)", err, e.ID)
		}
	}
	evs, err = st.ListEvents(ctx, "dispatch:1", 3)
	if err != nil || len(evs) != 3 {
		t.Fatalf("ListEvents limit 3 = %d, %v", len(evs), err)
	}
	if evs[0].EvidenceRef != "<m4@vinhlong.gov.vn>" || evs[2].EvidenceRef != "<m2@vinhlong.gov.vn>" || !evs[0].At.Equal(t0.Add(4*time.Minute)) {
		t.Fatalf("ListEvents not newest first: %+v", evs)
	}
	all, err := st.ListEvents(ctx, "", 0)
	if err != nil || len(all) != 7 {
		t.Fatalf("all events = %d, %v; want 7", len(all), err)
	}
}

func testConcurrentCreate(t *testing.T, newDSN opener) {
	ctx := context.Background()
	st := openStore(t, newDSN(t))
	const workers, perWorker = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				u := unit(fmt.Sprintf("XA-%d-%d", w, i), fmt.Sprintf("Xã Thử %d-%d", w, i), vanthu.GroupCommune, i)
				if err := st.CreateUnit(ctx, &u, "vanthu"); err != nil {
					errs <- fmt.Errorf("%s: %w", u.Code, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	units, err := st.ListUnits(ctx, vanthu.UnitFilter{})
	if err != nil || len(units) != workers*perWorker {
		t.Fatalf("ListUnits = %d units, %v; want %d", len(units), err, workers*perWorker)
	}
	evs, err := st.ListEvents(ctx, "", 1000)
	if err != nil || len(evs) != workers*perWorker {
		t.Fatalf("%d events, %v; want %d", len(evs), err, workers*perWorker)
	}
}
