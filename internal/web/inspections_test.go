package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/store"
	"github.com/sonoivu/vanthu/internal/web"
)

// The real store keeps the inspections.
var _ web.InspectionStore = (*store.Store)(nil)

// withInspections wires the fixture's own store as the inspection store,
// with a body limit an inspection with a few findings fits in.
func withInspections(c *web.Config) {
	c.Inspections = c.Store.(*store.Store)
	c.MaxBodyBytes = 64 << 10
}

// inspectionJSON is a draft of an inspection of unit with two persons in
// violation; extra is spliced into the object.
func inspectionJSON(unitID int64, extra string) string {
	return fmt.Sprintf(`{"unit_id":%d,"place":"Trụ sở Sở Tài chính","surprise":true,
		"legal_basis":["Quyết định số 356/QĐ-SNV"],
		"started_at":"2026-11-25T07:45:00+07:00","ended_at":"2026-11-25T09:30:00+07:00",
		"team":[{"name":"Trần Thị Ngọc Hân","position":"Phó Giám đốc","role":"truong-doan"}],
		"representatives":[{"name":"Phạm Văn Đức","position":"Chánh Văn phòng"}],
		"attendance":{"listed":42,"present":35,"absent_leave":2,"absent_assignment":1,"absent_study":1,"absent_unexcused":3,"late":2},
		"findings":[{"name":"Nguyễn Văn Thưởng","section":"Phòng Kế hoạch","violation":"vang-khong-ly-do"},
		            {"name":"Lê Thị Hoà","violation":"khong-deo-the","seen_at":"2026-11-25T08:05:00+07:00"}],
		"handling":[{"code":"kiem-diem","person":"Nguyễn Văn Thưởng"}],
		"conclusions":"Cơ bản chấp hành tốt."%s}`, unitID, extra)
}

// createInspection creates a draft through the API as an inspector.
func (f *fixture) createInspection(body string) vanthu.Inspection {
	f.t.Helper()
	resp := f.json("POST", "/api/v1/inspections", body, bearer(vanthu.RoleInspector))
	wantStatus(f.t, resp, http.StatusCreated)
	return decode[vanthu.Inspection](f.t, resp)
}

func TestInspectionsAPI(t *testing.T) {
	f := newFixture(t, withInspections)
	units, _ := f.seedUnits()
	ctx := context.Background()
	inspector := bearer(vanthu.RoleInspector)

	in := f.createInspection(inspectionJSON(units[0].ID, `,"id":77,"state":"finalized","revision":9,"document_id":5`))
	if in.ID == 0 || in.ID == 77 || in.State != vanthu.InspectionDraft || in.Revision != 1 || in.Version != 1 || in.DocumentID != 0 {
		t.Fatalf("created %+v", in)
	}
	if in.UnitName != "Sở Tài chính" || len(in.Findings) != 2 || len(in.Checklist) != len(vanthu.DefaultChecklist()) || in.CreatedBy != f.users[vanthu.RoleInspector].ID {
		t.Fatalf("created %+v", in)
	}
	path := fmt.Sprintf("/api/v1/inspections/%d", in.ID)

	// Viewers and clerks read; they do not write.
	for _, role := range []vanthu.Role{vanthu.RoleViewer, vanthu.RoleClerk} {
		resp := f.do("GET", path, nil, bearer(role))
		wantStatus(t, resp, http.StatusOK)
		if got := decode[vanthu.Inspection](t, resp); got.ID != in.ID || got.Findings[1].Name != "Lê Thị Hoà" {
			t.Fatalf("%s read %+v", role, got)
		}
		wantStatus(t, f.json("POST", "/api/v1/inspections", inspectionJSON(units[0].ID, ""), bearer(role)), http.StatusForbidden)
		wantStatus(t, f.json("PUT", path, inspectionJSON(units[0].ID, `,"revision":1`), bearer(role)), http.StatusForbidden)
		wantStatus(t, f.json("POST", path+"/correct", "", bearer(role)), http.StatusForbidden)
	}

	// Validation names the fields; nothing is stored.
	before, _ := f.st.ListInspections(ctx, vanthu.InspectionFilter{})
	resp := f.json("POST", "/api/v1/inspections", inspectionJSON(units[0].ID,
		`,"findings":[{"name":"A","violation":"vang-khong-ly-do"},{"name":"B","violation":"ngu-gat"}],"ended_at":"2026-11-25T07:00:00+07:00"`), inspector)
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	if got := problemFields(decode[apiError](t, resp)); !slices.Equal(got, []string{"ended_at", "findings[1].violation"}) {
		t.Fatalf("problems name %v", got)
	}
	resp = f.json("POST", "/api/v1/inspections", `{"unit_id":1,"nguoi_vi_pham":[]}`, inspector)
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	if after, _ := f.st.ListInspections(ctx, vanthu.InspectionFilter{}); len(after) != len(before) {
		t.Fatalf("refused input stored: %d → %d", len(before), len(after))
	}

	// Saving: the revision is required, the current one saves, a stale
	// one is 409 and changes nothing.
	resp = f.json("PUT", path, inspectionJSON(units[0].ID, ""), inspector)
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	if got := problemFields(decode[apiError](t, resp)); !slices.Equal(got, []string{"revision"}) {
		t.Fatalf("problems name %v", got)
	}
	resp = f.json("PUT", path, inspectionJSON(units[0].ID, `,"revision":1,"conclusions":"Đơn vị chấp hành tốt."`), inspector)
	wantStatus(t, resp, http.StatusOK)
	saved := decode[vanthu.Inspection](t, resp)
	if saved.Revision != 2 || saved.Conclusions != "Đơn vị chấp hành tốt." || saved.UnitName != "Sở Tài chính" {
		t.Fatalf("saved %+v", saved)
	}
	resp = f.json("PUT", path, inspectionJSON(units[0].ID, `,"revision":1,"conclusions":"Bản của thiết bị khác."`), inspector)
	wantStatus(t, resp, http.StatusConflict)
	if e := decode[apiError](t, resp); e.Error.Code != "conflict" || !strings.HasPrefix(e.Error.Message, "Thiết bị khác vừa lưu biên bản này") {
		t.Fatalf("409 body = %+v", e)
	}
	if got, _ := f.st.GetInspection(ctx, in.ID); got.Conclusions != "Đơn vị chấp hành tốt." || got.Revision != 2 {
		t.Fatalf("a stale save changed the record: %+v", got)
	}
	resp = f.json("PUT", path, inspectionJSON(units[0].ID, `,"revision":2,"findings":[{"name":"X","violation":"khong-co"}]`), inspector)
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	if got := problemFields(decode[apiError](t, resp)); !slices.Equal(got, []string{"findings[0].violation"}) {
		t.Fatalf("problems name %v", got)
	}
	wantStatus(t, f.json("PUT", "/api/v1/inspections/424242", inspectionJSON(units[0].ID, `,"revision":1`), inspector), http.StatusNotFound)

	// Listing with filters.
	other := f.createInspection(inspectionJSON(units[1].ID, `,"started_at":"2026-12-02T08:00:00+07:00","ended_at":null,"findings":[{"name":"C","violation":"ruou-bia"}]`))
	for _, tt := range []struct {
		query string
		want  []int64
	}{
		{"", []int64{other.ID, in.ID}},
		{fmt.Sprintf("?unit_id=%d", units[0].ID), []int64{in.ID}},
		{"?violation=ruou-bia", []int64{other.ID}},
		{"?from=2026-11-25&until=2026-11-25", []int64{in.ID}},
		{"?from=2026-11-26", []int64{other.ID}},
		{"?state=finalized", []int64{}},
	} {
		resp := f.do("GET", "/api/v1/inspections"+tt.query, nil, bearer(vanthu.RoleViewer))
		wantStatus(t, resp, http.StatusOK)
		body := decode[struct {
			Inspections []vanthu.Inspection `json:"inspections"`
			Count       int                 `json:"count"`
		}](t, resp)
		var got []int64
		for _, x := range body.Inspections {
			got = append(got, x.ID)
		}
		if !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) || body.Count != len(tt.want) || body.Inspections == nil {
			t.Errorf("GET /api/v1/inspections%s = %v (count %d), want %v", tt.query, got, body.Count, tt.want)
		}
	}
	resp = f.do("GET", "/api/v1/inspections?from=25/11/2026&state=xong", nil, bearer(vanthu.RoleViewer))
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	if got := problemFields(decode[apiError](t, resp)); !slices.Equal(got, []string{"from", "state"}) {
		t.Fatalf("problems name %v", got)
	}
	// Swapped dates are refused, not answered with an empty list.
	resp = f.do("GET", "/api/v1/inspections?from=2026-11-26&until=2026-11-25", nil, bearer(vanthu.RoleViewer))
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	if got := problemFields(decode[apiError](t, resp)); !slices.Equal(got, []string{"from"}) {
		t.Fatalf("swapped dates: problems name %v", got)
	}
	resp = f.do("GET", "/inspections?from=2026-11-26&until=2026-11-25", nil, session(vanthu.RoleViewer))
	wantStatus(t, resp, http.StatusOK)
	if page := bodyString(t, resp); !strings.Contains(page, "Từ ngày phải trước hoặc bằng đến ngày.") {
		t.Fatalf("the list page with swapped dates says nothing:\n%.3000s", page)
	}

	// Finalized (by the finalize task's seam): edits are 409, a correction
	// is a new version.
	wantStatus(t, f.json("POST", path+"/correct", "", inspector), http.StatusConflict)
	doc := f.createDraft(draftJSON("Biên bản kiểm tra", ids(units), nil))
	if err := f.st.MarkInspectionFinalized(ctx, in.ID, doc.ID, "system"); err != nil {
		t.Fatal(err)
	}
	resp = f.json("PUT", path, inspectionJSON(units[0].ID, `,"revision":3`), inspector)
	wantStatus(t, resp, http.StatusConflict)
	resp = f.json("POST", path+"/correct", "", inspector)
	wantStatus(t, resp, http.StatusCreated)
	fix := decode[vanthu.Inspection](t, resp)
	if fix.Version != 2 || fix.Previous != in.ID || fix.State != vanthu.InspectionDraft || resp.Header.Get("Location") != fmt.Sprintf("/api/v1/inspections/%d", fix.ID) {
		t.Fatalf("correction %+v at %s", fix, resp.Header.Get("Location"))
	}
	wantStatus(t, f.json("POST", path+"/correct", "", inspector), http.StatusConflict)
}

func TestCatalogAPI(t *testing.T) {
	f := newFixture(t, withInspections)
	resp := f.do("GET", "/api/v1/catalog?kind=violation", nil, bearer(vanthu.RoleViewer))
	wantStatus(t, resp, http.StatusOK)
	list := decode[struct {
		Entries []vanthu.CatalogEntry `json:"entries"`
	}](t, resp)
	if len(list.Entries) != 12 || list.Entries[0].Code != "vang-khong-ly-do" || list.Entries[0].Name != "Vắng mặt không có lý do" {
		t.Fatalf("violations = %+v", list.Entries)
	}
	wantStatus(t, f.do("GET", "/api/v1/catalog?kind=khen-thuong", nil, bearer(vanthu.RoleViewer)), http.StatusUnprocessableEntity)

	// Only an admin edits; a new entry goes last and is active.
	wantStatus(t, f.json("PUT", "/api/v1/catalog/violation/ngu-gat", `{"name":"Ngủ gật"}`, bearer(vanthu.RoleInspector)), http.StatusForbidden)
	admin := bearer(vanthu.RoleAdmin)
	resp = f.json("PUT", "/api/v1/catalog/violation/ngu-gat", `{"name":"Ngủ gật trong giờ làm việc"}`, admin)
	wantStatus(t, resp, http.StatusCreated)
	if e := decode[vanthu.CatalogEntry](t, resp); e.Order != 13 || !e.Active || e.Kind != vanthu.CatalogViolation {
		t.Fatalf("created %+v", e)
	}
	// Deactivating keeps the name and order that are left out.
	resp = f.json("PUT", "/api/v1/catalog/violation/trang-phuc", `{"name":"Trang phục không đúng quy định","active":false}`, admin)
	wantStatus(t, resp, http.StatusOK)
	if e := decode[vanthu.CatalogEntry](t, resp); e.Active || e.Order != 4 {
		t.Fatalf("deactivated %+v", e)
	}
	resp = f.json("PUT", "/api/v1/catalog/handling/xu-ly-khac", `{"name":"Xử lý khác","group":"nhom-la"}`, admin)
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	if got := problemFields(decode[apiError](t, resp)); !slices.Equal(got, []string{"group"}) {
		t.Fatalf("problems name %v", got)
	}
	resp = f.json("PUT", "/api/v1/catalog/violation/Ngủ-Gật", `{"name":"Ngủ gật"}`, admin)
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	// A new inspection cannot pick the deactivated code.
	units, _ := f.seedUnits()
	resp = f.json("POST", "/api/v1/inspections", inspectionJSON(units[0].ID, `,"findings":[{"name":"A","violation":"trang-phuc"},{"name":"B","violation":"ngu-gat"}]`), bearer(vanthu.RoleInspector))
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	if got := problemFields(decode[apiError](t, resp)); !slices.Equal(got, []string{"findings[0].violation"}) {
		t.Fatalf("problems name %v", got)
	}
}

func TestInspectionsUnconfigured(t *testing.T) {
	f := newFixture(t)
	wantStatus(t, f.do("GET", "/api/v1/inspections", nil, bearer(vanthu.RoleViewer)), http.StatusServiceUnavailable)
	wantStatus(t, f.do("GET", "/inspections", nil, session(vanthu.RoleViewer)), http.StatusServiceUnavailable)
}

func TestInspectionPages(t *testing.T) {
	f := newFixture(t, withInspections)
	units, inactive := f.seedUnits()
	inspector := session(vanthu.RoleInspector)

	// The short form lists the active units and starts a record.
	resp := f.do("GET", "/inspections/new", nil, inspector)
	wantStatus(t, resp, http.StatusOK)
	page := bodyString(t, resp)
	if !strings.Contains(page, "Ủy ban nhân dân xã Hòa Bình") || strings.Contains(page, inactive.Name) || !strings.Contains(page, `name="started_at"`) {
		t.Fatalf("new form:\n%s", page)
	}
	resp = f.form("/inspections/new", url.Values{"place": {"Trụ sở"}, "started_at": {"2026-11-25T07:45"}}, inspector)
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	if page := bodyString(t, resp); !strings.Contains(page, "Chọn đơn vị được kiểm tra.") || !strings.Contains(page, `value="Trụ sở"`) {
		t.Fatalf("refused form:\n%s", page)
	}
	resp = f.form("/inspections/new", url.Values{"unit_id": {fmt.Sprint(units[1].ID)}, "place": {"Trụ sở xã"}, "started_at": {"2026-11-25T07:45"}, "surprise": {"1"}}, inspector)
	wantStatus(t, resp, http.StatusSeeOther)
	var id int64
	if _, err := fmt.Sscanf(resp.Header.Get("Location"), "/inspections/%d", &id); err != nil {
		t.Fatalf("Location %q", resp.Header.Get("Location"))
	}
	in, err := f.st.GetInspection(context.Background(), id)
	if err != nil || in.UnitID != units[1].ID || !in.Surprise || in.StartedAt.In(vanthu.Location).Format("15:04") != "07:45" || in.CreatedBy != f.users[vanthu.RoleInspector].ID {
		t.Fatalf("created %+v %v", in, err)
	}
	wantStatus(t, f.form("/inspections/new", url.Values{"unit_id": {fmt.Sprint(units[1].ID)}}, session(vanthu.RoleViewer)), http.StatusForbidden)

	// Give it counts and findings, then look at it as each role.
	in.Attendance = vanthu.Attendance{Listed: 42, Present: 35, AbsentLeave: 3, AbsentUnexcused: 4, Late: 1}
	in.Findings = []vanthu.Finding{{Name: "Nguyễn Văn <b>Thưởng</b>", Violation: "ruou-bia"}}
	if err := f.st.SaveInspection(context.Background(), &in, "test"); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/inspections/%d", id)
	resp = f.do("GET", path, nil, inspector)
	wantStatus(t, resp, http.StatusOK)
	page = bodyString(t, resp)
	for _, want := range []string{
		`id="inspection-form"`, fmt.Sprintf(`data-revision="%d"`, in.Revision), "Có mặt 35/42 (83,33%)", "Vắng không lý do 4/42 (9,52%)",
		"Số liệu khớp", "Nguyễn Văn &lt;b&gt;Thưởng&lt;/b&gt;", `<option value="ruou-bia" selected>`, "Thêm người vi phạm",
		`/static/inspections.js`, "Đạt", "Không áp dụng", "Đeo thẻ công chức, viên chức",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("inspector's form lacks %q", want)
		}
	}
	for _, role := range []vanthu.Role{vanthu.RoleViewer, vanthu.RoleClerk} {
		resp = f.do("GET", path, nil, session(role))
		wantStatus(t, resp, http.StatusOK)
		page = bodyString(t, resp)
		if strings.Contains(page, `id="inspection-form"`) || !strings.Contains(page, "Có mặt 35/42 (83,33%)") || !strings.Contains(page, "Uống rượu, bia trong giờ làm việc") {
			t.Errorf("%s sees the form, or not the record:\n%s", role, page)
		}
	}
	// The list shows it with its rate; the filter keeps it or not.
	resp = f.do("GET", "/inspections", nil, session(vanthu.RoleViewer))
	wantStatus(t, resp, http.StatusOK)
	if page := bodyString(t, resp); !strings.Contains(page, "Ủy ban nhân dân xã Hòa Bình") || !strings.Contains(page, "35/42 (83,33%)") || strings.Contains(page, "Lập biên bản mới") {
		t.Fatalf("list:\n%s", page)
	}
	resp = f.do("GET", "/inspections?violation=khong-deo-the", nil, inspector)
	if page := bodyString(t, resp); strings.Contains(page, "Ủy ban nhân dân xã Hòa Bình</a>") || !strings.Contains(page, "Lập biên bản mới") {
		t.Fatalf("filtered list:\n%s", page)
	}
}

// TestFinalizedInspectionPage: once finalized, the record's page shows
// the minutes' number and links the signed PDF, for every role.
func TestFinalizedInspectionPage(t *testing.T) {
	f := newFixture(t, withInspections)
	units, _ := f.seedUnits()
	in := f.createInspection(inspectionJSON(units[0].ID, ""))
	number := f.finalize(in, time.Date(2026, 11, 25, 10, 0, 0, 0, vanthu.Location))
	resp := f.do("GET", fmt.Sprintf("/inspections/%d", in.ID), nil, session(vanthu.RoleViewer))
	wantStatus(t, resp, http.StatusOK)
	page := bodyString(t, resp)
	in, _ = f.st.GetInspection(context.Background(), in.ID)
	for _, want := range []string{`<dd id="minutes-number">` + number + `</dd>`, fmt.Sprintf(`href="/api/v1/documents/%d/pdf" id="minutes-pdf"`, in.DocumentID)} {
		if !strings.Contains(page, want) {
			t.Errorf("finalized page lacks %q", want)
		}
	}
	resp = f.do("GET", fmt.Sprintf("/api/v1/documents/%d/pdf", in.DocumentID), nil, session(vanthu.RoleViewer))
	wantStatus(t, resp, http.StatusOK)
	if b := bodyString(t, resp); b != "%PDF-1.7 signed" {
		t.Fatalf("the linked PDF is %q", b)
	}
}
