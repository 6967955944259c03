package web_test

import (
	"context"
	"fmt"
	"golang.org/x/text/unicode/norm"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/web"
)

// seedUnits creates three active units and one inactive one.
func (f *fixture) seedUnits() (active []vanthu.Unit, inactive vanthu.Unit) {
	f.t.Helper()
	ctx := context.Background()
	for _, u := range []vanthu.Unit{
		{Code: "STC", Name: "Sở Tài chính", Emails: []string{"stc@vinhlong.gov.vn"}, Group: vanthu.GroupDepartment, Order: 1, Active: true},
		{Code: "XA-HOA-BINH", Name: "Ủy ban nhân dân xã Hòa Bình", Emails: []string{"hoabinh@vinhlong.gov.vn"}, Group: vanthu.GroupCommune, Order: 2, Active: true},
		{Code: "TT-DVC", Name: "Trung tâm Phục vụ hành chính công tỉnh", Emails: []string{"dvc@vinhlong.gov.vn"}, Group: vanthu.GroupPublic, Order: 3, Active: true},
		{Code: "XA-CU", Name: "Ủy ban nhân dân xã Cũ", Emails: []string{"xacu@vinhlong.gov.vn"}, Group: vanthu.GroupCommune, Order: 4, Active: true},
	} {
		if err := f.store.CreateUnit(ctx, &u, "test"); err != nil {
			f.t.Fatal(err)
		}
		if u.Code == "XA-CU" {
			if err := f.store.SetUnitActive(ctx, u.ID, false, "test"); err != nil {
				f.t.Fatal(err)
			}
			u.Active = false
			inactive = u
			continue
		}
		active = append(active, u)
	}
	return active, inactive
}

// draftJSON is a draft ready to issue to the given units.
func draftJSON(subject string, unitIDs []int64, deadline *time.Time) string {
	ids := make([]string, len(unitIDs))
	for i, id := range unitIDs {
		ids[i] = fmt.Sprint(id)
	}
	dl := ""
	if deadline != nil {
		dl = `,"deadline":"` + deadline.Format(time.RFC3339) + `"`
	}
	return `{"kind":"directive","type_code":"CT","issuer":"UBND","subject":"` + subject + `",
		"content":{"template":"directive","agency":"ỦY BAN NHÂN DÂN TỈNH VĨNH LONG","place":"Vĩnh Long","type_name":"CHỈ THỊ",
		"signer_name":"Nguyễn Văn A","body":"Các đơn vị thực hiện nghiêm.","noi_nhan":["Như trên;","Lưu: VT."],
		"audience":{"unit_ids":[` + strings.Join(ids, ",") + `]}` + dl + `}}`
}

func ids(units []vanthu.Unit) []int64 {
	out := make([]int64, len(units))
	for i, u := range units {
		out[i] = u.ID
	}
	return out
}

// createDraft creates a draft through the API as a clerk.
func (f *fixture) createDraft(body string) vanthu.Document {
	f.t.Helper()
	resp := f.json("POST", "/api/v1/documents", body, bearer(vanthu.RoleClerk))
	wantStatus(f.t, resp, http.StatusCreated)
	return decode[vanthu.Document](f.t, resp)
}

// issuedDocument creates and issues a directive to the active units.
func (f *fixture) issuedDocument() (vanthu.Document, []vanthu.Unit) {
	f.t.Helper()
	units, _ := f.seedUnits()
	deadline := time.Now().Add(48 * time.Hour)
	d := f.createDraft(draftJSON("Về tăng cường kỷ luật hành chính", ids(units), &deadline))
	resp := f.json("POST", fmt.Sprintf("/api/v1/documents/%d/issue", d.ID), "", bearer(vanthu.RoleClerk))
	wantStatus(f.t, resp, http.StatusOK)
	return decode[vanthu.Document](f.t, resp), units
}

func problemFields(e apiError) []string {
	var out []string
	for _, p := range e.Error.Problems {
		out = append(out, p.Field)
	}
	return out
}

func TestCreateDocumentValidation(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		body   string
		fields []string
	}{
		{"no subject", `{"kind":"directive","issuer":"UBND","subject":"  "}`, []string{"subject"}},
		{"bad kind and no issuer", `{"kind":"thong-bao","issuer":"","subject":"Về việc A"}`, []string{"kind", "issuer"}},
		{"bad urgency", `{"kind":"directive","issuer":"UBND","subject":"Về việc A","content":{"urgency":"gap"}}`, []string{"content.urgency"}},
		{"bad group", `{"kind":"directive","issuer":"UBND","subject":"Về việc A","content":{"audience":{"groups":["tinh"]}}}`, []string{"content.audience.groups"}},
		{"unknown field", `{"kind":"directive","issuer":"UBND","subject":"Về việc A","signer":"x"}`, []string{"signer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := f.json("POST", "/api/v1/documents", tt.body, bearer(vanthu.RoleClerk))
			wantStatus(t, resp, http.StatusUnprocessableEntity)
			e := decode[apiError](t, resp)
			for _, want := range tt.fields {
				if !slices.Contains(problemFields(e), want) {
					t.Errorf("problems %+v do not name %q", e.Error.Problems, want)
				}
			}
		})
	}
	docs, err := f.store.ListDocuments(context.Background(), vanthu.DocumentFilter{})
	if err != nil || len(docs) != 0 {
		t.Errorf("rejected drafts were stored: %v %v", docs, err)
	}

	// A valid draft: the server sets state and author, whatever the body says.
	resp := f.json("POST", "/api/v1/documents", `{"kind":"directive","issuer":"ubnd","type_code":"CT","subject":"Về  việc A","state":"issued","number":7,"created_by":999}`, bearer(vanthu.RoleClerk))
	wantStatus(t, resp, http.StatusCreated)
	d := decode[vanthu.Document](t, resp)
	if d.ID == 0 || d.State != vanthu.StateDraft || d.Number != 0 || d.CreatedBy != f.users[vanthu.RoleClerk].ID || d.Issuer != "UBND" || d.Subject != "Về việc A" {
		t.Errorf("created %+v", d)
	}
	if loc := resp.Header.Get("Location"); loc != fmt.Sprintf("/api/v1/documents/%d", d.ID) {
		t.Errorf("Location = %q", loc)
	}
}

func TestDocumentLifecycleAPI(t *testing.T) {
	f := newFixture(t)
	units, _ := f.seedUnits()
	clerk := bearer(vanthu.RoleClerk)
	d := f.createDraft(draftJSON("Về việc B", ids(units), nil))
	base := fmt.Sprintf("/api/v1/documents/%d", d.ID)

	// Edit the draft.
	resp := f.json("PUT", base, draftJSON("Về tăng cường kỷ luật hành chính", ids(units[:2]), nil), clerk)
	wantStatus(t, resp, http.StatusOK)
	if got := decode[vanthu.Document](t, resp); got.Subject != "Về tăng cường kỷ luật hành chính" || len(got.Content.Audience.UnitIDs) != 2 {
		t.Errorf("updated %+v", got)
	}
	resp = f.json("PUT", base, `{"kind":"directive","issuer":"UBND","subject":""}`, clerk)
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	if e := decode[apiError](t, resp); !slices.Contains(problemFields(e), "subject") {
		t.Errorf("PUT problems = %+v", e.Error.Problems)
	}

	// Preview of the stored draft.
	resp = f.do("POST", base+"/preview", nil, clerk)
	wantStatus(t, resp, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); ct != "application/pdf" {
		t.Errorf("preview Content-Type = %q", ct)
	}
	if b := bodyString(t, resp); !strings.HasPrefix(b, "%PDF-") || !strings.Contains(b, "Về tăng cường kỷ luật hành chính") {
		t.Errorf("preview = %q", b)
	}

	// Issue: numbered, dispatched, fan-out enqueued once.
	resp = f.json("POST", base+"/issue", "", clerk)
	wantStatus(t, resp, http.StatusOK)
	issued := decode[vanthu.Document](t, resp)
	if issued.State != vanthu.StateIssued || issued.Symbol != "01/CT-UBND" || issued.IssuedAt == nil {
		t.Errorf("issued %+v", issued)
	}
	fanouts, _, _ := f.jobs.snapshot()
	if !slices.Equal(fanouts, []int64{d.ID}) {
		t.Errorf("fanouts = %v, want [%d]", fanouts, d.ID)
	}

	// A duplicate issue request is a conflict and sends nothing again.
	resp = f.json("POST", base+"/issue", "", clerk)
	wantStatus(t, resp, http.StatusConflict)
	if e := decode[apiError](t, resp); e.Error.Code != "conflict" || e.Error.Message == "" {
		t.Errorf("duplicate issue = %+v", e)
	}
	if fanouts, _, _ := f.jobs.snapshot(); len(fanouts) != 1 {
		t.Errorf("duplicate issue enqueued again: %v", fanouts)
	}

	// An issued document is frozen.
	wantStatus(t, f.json("PUT", base, draftJSON("Đổi", ids(units), nil), clerk), http.StatusConflict)
	wantStatus(t, f.do("POST", base+"/preview", nil, clerk), http.StatusConflict)

	// The issued PDF, with its Vietnamese file name (RFC 6266 / 5987).
	resp = f.do("GET", base+"/pdf", nil, bearer(vanthu.RoleViewer))
	wantStatus(t, resp, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); ct != "application/pdf" {
		t.Errorf("pdf Content-Type = %q", ct)
	}
	cd := resp.Header.Get("Content-Disposition")
	if want := `attachment; filename="Chi thi 01-CT-UBND.pdf"; filename*=UTF-8''Ch%E1%BB%89%20th%E1%BB%8B%2001-CT-UBND.pdf`; cd != want {
		t.Errorf("Content-Disposition = %q, want %q", cd, want)
	}
	if b := bodyString(t, resp); b != "%PDF-1.7\n% 01/CT-UBND" {
		t.Errorf("pdf = %q", b)
	}

	// Dispatches: one per chosen unit, all queued.
	resp = f.do("GET", base+"/dispatches", nil, bearer(vanthu.RoleViewer))
	wantStatus(t, resp, http.StatusOK)
	tr := decode[trackingBody](t, resp)
	if len(tr.Dispatches) != 2 || tr.Progress.Total != 2 || tr.Progress.Queued != 2 || tr.Final {
		t.Errorf("dispatches = %+v", tr)
	}
	for _, d := range tr.Dispatches {
		if d.Status != "queued" || d.StatusLabel != "Chờ gửi" || d.UnitName == "" || d.Email == "" {
			t.Errorf("dispatch %+v", d)
		}
	}

	// Tracking sheet.
	resp = f.do("GET", base+"/tracking.xlsx", nil, bearer(vanthu.RoleViewer))
	wantStatus(t, resp, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Errorf("xlsx Content-Type = %q", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename="theo-doi-01-CT-UBND.xlsx"`) {
		t.Errorf("xlsx Content-Disposition = %q", cd)
	}
	if b := bodyString(t, resp); !strings.HasPrefix(b, "PK") {
		t.Errorf("xlsx = %q", b)
	}

	// Remind now.
	resp = f.do("POST", base+"/remind", nil, clerk)
	wantStatus(t, resp, http.StatusAccepted)
	if _, _, reminds := f.jobs.snapshot(); !slices.Equal(reminds, []int64{d.ID}) {
		t.Errorf("reminds = %v", reminds)
	}

	// Listing.
	resp = f.do("GET", "/api/v1/documents?state=issued", nil, bearer(vanthu.RoleViewer))
	wantStatus(t, resp, http.StatusOK)
	list := decode[struct {
		Documents []vanthu.Document `json:"documents"`
		Count     int               `json:"count"`
	}](t, resp)
	if list.Count != 1 || list.Documents[0].ID != d.ID {
		t.Errorf("list = %+v", list)
	}
	resp = f.do("GET", "/api/v1/documents?state=sent", nil, bearer(vanthu.RoleViewer))
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	if resp := f.do("GET", "/api/v1/documents?state=draft", nil, bearer(vanthu.RoleViewer)); decode[struct {
		Count int `json:"count"`
	}](t, resp).Count != 0 {
		t.Error("issued document listed as draft")
	}
}

// trackingBody is the JSON of GET /api/v1/documents/{id}/dispatches.
type trackingBody struct {
	Progress   vanthu.Progress `json:"progress"`
	Final      bool            `json:"final"`
	Dispatches []struct {
		vanthu.Dispatch
		Status      string `json:"status"`
		StatusLabel string `json:"status_label"`
		Overdue     bool   `json:"overdue"`
	} `json:"dispatches"`
}

// TestIssueBadInput: each refusal is a clear 422 naming the field, and
// nothing is numbered, stored or sent.
func TestIssueBadInput(t *testing.T) {
	f := newFixture(t)
	units, inactive := f.seedUnits()
	past := time.Now().Add(-time.Hour)
	tests := []struct {
		name  string
		body  string
		field string
		text  string
	}{
		{"no recipients", draftJSON("Về việc C", nil, nil), "content.audience", ""},
		{"inactive unit", draftJSON("Về việc C", append(ids(units), inactive.ID), nil), "content.audience.unit_ids", inactive.Name},
		{"deadline in the past", draftJSON("Về việc C", ids(units), &past), "content.deadline", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := f.createDraft(tt.body)
			resp := f.json("POST", fmt.Sprintf("/api/v1/documents/%d/issue", d.ID), "", bearer(vanthu.RoleClerk))
			wantStatus(t, resp, http.StatusUnprocessableEntity)
			e := decode[apiError](t, resp)
			var msgs []string
			for _, p := range e.Error.Problems {
				if p.Field == tt.field {
					msgs = append(msgs, p.Message)
				}
			}
			if len(msgs) == 0 || !strings.Contains(strings.Join(msgs, " "), tt.text) {
				t.Errorf("problems %+v: want field %s mentioning %q", e.Error.Problems, tt.field, tt.text)
			}
			got, err := f.store.GetDocument(context.Background(), d.ID)
			if err != nil || got.State != vanthu.StateDraft || got.Number != 0 {
				t.Errorf("after refusal: %+v %v", got, err)
			}
			if ds, err := f.store.ListDispatches(context.Background(), d.ID); err != nil || len(ds) != 0 {
				t.Errorf("dispatches created: %v %v", ds, err)
			}
		})
	}
	if fanouts, _, _ := f.jobs.snapshot(); len(fanouts) != 0 {
		t.Errorf("refused issues enqueued %v", fanouts)
	}
}

func TestResendAndProgress(t *testing.T) {
	f := newFixture(t)
	d, _ := f.issuedDocument()
	ctx := context.Background()
	ds, err := f.store.ListDispatches(ctx, d.ID)
	if err != nil || len(ds) != 3 {
		t.Fatalf("dispatches %v %v", ds, err)
	}
	now := time.Now()
	// One of each: failed, acknowledged, sent.
	if err := f.st.MarkFailed(ctx, ds[0].ID, "550 5.1.1 hộp thư không tồn tại", now); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.ApplyMilestone(ctx, ds[1].ID, vanthu.MilestoneAcknowledged, now, vanthu.SourceAPI, "test", ""); err != nil {
		t.Fatal(err)
	}
	if err := f.st.MarkSent(ctx, ds[2].ID, "<m2@snv.test>", now); err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("/api/v1/documents/%d", d.ID)
	tr := decode[trackingBody](t, f.do("GET", base+"/dispatches", nil, bearer(vanthu.RoleViewer)))
	counts := map[string]int{}
	for _, d := range tr.Dispatches {
		counts[d.Status]++
		if d.Status == "failed" && (d.FailReason != "550 5.1.1 hộp thư không tồn tại" || d.StatusLabel != "Gửi lỗi") {
			t.Errorf("failed dispatch %+v", d)
		}
	}
	p := tr.Progress
	if p.Total != 3 || p.Failed != 1 || p.Acknowledged != 1 || p.Sent != 1 || p.Queued != 0 ||
		counts["failed"] != p.Failed || counts["acknowledged"] != p.Acknowledged || counts["sent"] != p.Sent {
		t.Errorf("progress %+v vs statuses %v", p, counts)
	}
	if storeP, err := f.store.DocumentProgress(ctx, d.ID, time.Now()); err != nil || storeP != p {
		t.Errorf("store progress %+v (%v) != API progress %+v", storeP, err, p)
	}

	// Resending a dispatch that did not fail changes nothing.
	resp := f.json("POST", base+"/resend", fmt.Sprintf(`{"dispatch_ids":[%d]}`, ds[2].ID), bearer(vanthu.RoleClerk))
	wantStatus(t, resp, http.StatusOK)
	if r := decode[struct {
		Count int `json:"count"`
	}](t, resp); r.Count != 0 {
		t.Errorf("resent a sent dispatch: %+v", r)
	}
	// Without a body: every failed one.
	resp = f.do("POST", base+"/resend", nil, bearer(vanthu.RoleClerk))
	wantStatus(t, resp, http.StatusOK)
	r := decode[struct {
		DispatchIDs []int64 `json:"dispatch_ids"`
		Count       int     `json:"count"`
	}](t, resp)
	if r.Count != 1 || !slices.Equal(r.DispatchIDs, []int64{ds[0].ID}) {
		t.Errorf("resend = %+v", r)
	}
	if _, sends, _ := f.jobs.snapshot(); len(sends) != 1 || !slices.Equal(sends[0], []int64{ds[0].ID}) {
		t.Errorf("sends = %v", sends)
	}
	got, err := f.st.GetDispatch(ctx, ds[0].ID)
	if err != nil || got.FailedAt != nil || got.Status() != vanthu.MilestoneQueued {
		t.Errorf("after resend: %+v %v", got, err)
	}
	// Bad body.
	wantStatus(t, f.json("POST", base+"/resend", `{"dispatch_ids":"all"}`, bearer(vanthu.RoleClerk)), http.StatusUnprocessableEntity)
}

// TestDraftAPIsOnDrafts: what only an issued document has is refused on a
// draft with a clear conflict.
func TestDraftConflicts(t *testing.T) {
	f := newFixture(t)
	d := f.createDraft(`{"kind":"directive","issuer":"UBND","subject":"Về việc D"}`)
	base := fmt.Sprintf("/api/v1/documents/%d", d.ID)
	wantStatus(t, f.do("GET", base+"/tracking.xlsx", nil, bearer(vanthu.RoleClerk)), http.StatusConflict)
	wantStatus(t, f.do("POST", base+"/remind", nil, bearer(vanthu.RoleClerk)), http.StatusConflict)
	wantStatus(t, f.do("POST", base+"/resend", nil, bearer(vanthu.RoleClerk)), http.StatusConflict)
	wantStatus(t, f.do("GET", base+"/pdf", nil, bearer(vanthu.RoleClerk)), http.StatusNotFound)
	wantStatus(t, f.do("GET", "/api/v1/documents/abc", nil, bearer(vanthu.RoleClerk)), http.StatusNotFound)
	if _, _, reminds := f.jobs.snapshot(); len(reminds) != 0 {
		t.Errorf("reminded a draft: %v", reminds)
	}
}

// form posts an HTML form with a session.
func (f *fixture) form(path string, v url.Values, c cred) *http.Response {
	f.t.Helper()
	return f.do("POST", path, strings.NewReader(v.Encode()), c, "Content-Type", "application/x-www-form-urlencoded")
}

func TestDraftFormPages(t *testing.T) {
	f := newFixture(t)
	units, _ := f.seedUnits()
	clerk := session(vanthu.RoleClerk)

	// The new form is prefilled from the template.
	resp := f.do("GET", "/documents/new?template=directive", nil, clerk)
	wantStatus(t, resp, http.StatusOK)
	page := bodyString(t, resp)
	for _, w := range []string{`action="/documents/new"`, "ỦY BAN NHÂN DÂN TỈNH VĨNH LONG", "Các sở, ban, ngành thực hiện nghiêm.", "Tất cả đơn vị đang hoạt động", "Sở Tài chính", `type="datetime-local"`} {
		if !strings.Contains(page, w) {
			t.Errorf("new form lacks %q", w)
		}
	}
	if strings.Contains(page, "Ủy ban nhân dân xã Cũ") {
		t.Error("inactive unit offered as a recipient")
	}
	wantStatus(t, f.do("GET", "/documents/new?template=bao-cao", nil, clerk), http.StatusNotFound)

	// Creating: a bad form comes back with the typed input and the errors.
	typed := "Nội dung gõ dở, không được mất <b>đậm</b>"
	v := url.Values{
		"template": {"directive"}, "issuer": {"UBND"}, "type_code": {"CT"}, "subject": {"  "},
		"content.body": {typed}, "content.agency": {"ỦY BAN NHÂN DÂN TỈNH VĨNH LONG"}, "content.signer_name": {"Nguyễn Văn A"},
		"content.place": {"Vĩnh Long"}, "content.noi_nhan": {"Như trên;\r\n\r\nLưu: VT, NC."},
		"content.audience.unit_ids": {fmt.Sprint(units[0].ID), fmt.Sprint(units[2].ID)},
		"content.audience.groups":   {"xa-phuong"},
		"content.deadline":          {"ngày mai"},
	}
	resp = f.form("/documents/new", v, clerk)
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	page = bodyString(t, resp)
	for _, w := range []string{
		"Nội dung gõ dở, không được mất &lt;b&gt;đậm&lt;/b&gt;", // kept, escaped
		`value="ngày mai"`, // even the unparseable deadline
		fmt.Sprintf(`value="%d" checked`, units[0].ID), fmt.Sprintf(`value="%d" checked`, units[2].ID),
		`value="xa-phuong" checked`,
		`id="form-errors"`, "Hạn xác nhận phải có dạng ngày và giờ", // summary
		`class="field-error"`,
	} {
		if !strings.Contains(page, w) {
			t.Errorf("422 form lacks %q", w)
		}
	}
	if strings.Contains(page, fmt.Sprintf(`value="%d" checked`, units[1].ID)) {
		t.Error("an unchosen unit came back ticked")
	}
	if docs, _ := f.store.ListDocuments(context.Background(), vanthu.DocumentFilter{}); len(docs) != 0 {
		t.Errorf("bad form stored %d documents", len(docs))
	}
	// The store's own validation (empty subject) also comes back next to the field.
	v.Set("content.deadline", "")
	resp = f.form("/documents/new", v, clerk)
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	page = bodyString(t, resp)
	if !strings.Contains(page, "Trích yếu không được để trống.") || !strings.Contains(page, "Nội dung gõ dở") {
		t.Errorf("subject error or input missing:\n%s", page)
	}

	// A good form creates the draft and redirects to it.
	v.Set("subject", "Về  tăng cường   kỷ luật")
	v.Set("content.deadline", time.Now().Add(72*time.Hour).In(vanthu.Location).Format("2006-01-02T15:04"))
	resp = f.form("/documents/new", v, clerk)
	wantStatus(t, resp, http.StatusSeeOther)
	var id int64
	if _, err := fmt.Sscanf(resp.Header.Get("Location"), "/documents/%d?saved=1", &id); err != nil {
		t.Fatalf("Location = %q", resp.Header.Get("Location"))
	}
	d, err := f.store.GetDocument(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Subject != "Về tăng cường kỷ luật" || d.Content.Body != typed || d.Content.Place != "Vĩnh Long" || d.Content.Deadline == nil ||
		!slices.Equal(d.Content.NoiNhan, []string{"Như trên;", "Lưu: VT, NC."}) || d.Content.Template != "directive" || d.Kind != vanthu.KindDirective ||
		!slices.Equal(d.Content.Audience.UnitIDs, []int64{units[0].ID, units[2].ID}) || d.CreatedBy != f.users[vanthu.RoleClerk].ID {
		t.Errorf("created draft %+v", d)
	}

	// The draft page is the edit form, with Save, Preview and Issue.
	page = bodyString(t, f.do("GET", fmt.Sprintf("/documents/%d?saved=1", id), nil, clerk))
	for _, w := range []string{"Đã lưu dự thảo.", fmt.Sprintf(`formaction="/documents/%d/preview"`, id), fmt.Sprintf(`formaction="/documents/%d/issue"`, id), ">Lưu<"} {
		if !strings.Contains(page, w) {
			t.Errorf("draft page lacks %q", w)
		}
	}
	// A viewer sees the draft read-only.
	page = bodyString(t, f.do("GET", fmt.Sprintf("/documents/%d", id), nil, session(vanthu.RoleViewer)))
	if strings.Contains(page, "formaction=") || !strings.Contains(page, "Dự thảo") {
		t.Errorf("viewer draft page:\n%s", page)
	}

	// Saving with a bad field keeps the input; nothing is stored.
	v.Set("subject", "")
	v.Set("content.body", "Bản sửa thứ hai")
	resp = f.form(fmt.Sprintf("/documents/%d", id), v, clerk)
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	if page := bodyString(t, resp); !strings.Contains(page, "Bản sửa thứ hai") {
		t.Error("edit lost the typed body")
	}
	if d2, _ := f.store.GetDocument(context.Background(), id); d2.Content.Body != typed {
		t.Errorf("a rejected save changed the draft: %q", d2.Content.Body)
	}
	v.Set("subject", "Về tăng cường kỷ luật (sửa)")
	wantStatus(t, f.form(fmt.Sprintf("/documents/%d", id), v, clerk), http.StatusSeeOther)

	// Preview saves, then answers the PDF.
	resp = f.form(fmt.Sprintf("/documents/%d/preview", id), v, clerk)
	wantStatus(t, resp, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); ct != "application/pdf" || !strings.Contains(bodyString(t, resp), "(sửa)") {
		t.Errorf("preview %q", ct)
	}

	// Issue needs the confirmation box.
	resp = f.form(fmt.Sprintf("/documents/%d/issue", id), v, clerk)
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	if page := bodyString(t, resp); !strings.Contains(page, "Hãy đánh dấu ô xác nhận trước khi ban hành.") {
		t.Error("missing confirmation not explained")
	}
	if calls := f.dirs.issueCalls(); len(calls) != 0 {
		t.Errorf("issued without confirmation: %v", calls)
	}
	v.Set("confirm_issue", "1")
	resp = f.form(fmt.Sprintf("/documents/%d/issue", id), v, clerk)
	wantStatus(t, resp, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != fmt.Sprintf("/documents/%d?issued=1", id) {
		t.Errorf("Location = %q", loc)
	}
	if fanouts, _, _ := f.jobs.snapshot(); !slices.Equal(fanouts, []int64{id}) {
		t.Errorf("fanouts = %v", fanouts)
	}
	// Issuing again from a stale form: a conflict page, nothing sent.
	resp = f.form(fmt.Sprintf("/documents/%d/issue", id), v, clerk)
	wantStatus(t, resp, http.StatusConflict)
	if fanouts, _, _ := f.jobs.snapshot(); len(fanouts) != 1 {
		t.Errorf("fanouts = %v", fanouts)
	}
}

func TestIssueFormShowsStoreProblems(t *testing.T) {
	f := newFixture(t)
	_, inactive := f.seedUnits()
	d := f.createDraft(draftJSON("Về việc E", []int64{inactive.ID}, nil))
	v := url.Values{"template": {"directive"}, "issuer": {"UBND"}, "type_code": {"CT"}, "subject": {"Về việc E"},
		"content.body": {"Nội dung"}, "content.agency": {"ỦY BAN NHÂN DÂN TỈNH VĨNH LONG"}, "content.signer_name": {"Nguyễn Văn A"},
		"content.audience.unit_ids": {fmt.Sprint(inactive.ID)}, "confirm_issue": {"1"}}
	resp := f.form(fmt.Sprintf("/documents/%d/issue", d.ID), v, session(vanthu.RoleClerk))
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	page := bodyString(t, resp)
	// The inactive unit is still listed, ticked, so it can be unticked.
	for _, w := range []string{inactive.Name, fmt.Sprintf(`value="%d" checked`, inactive.ID), "ngừng hoạt động"} {
		if !strings.Contains(page, w) {
			t.Errorf("issue error page lacks %q", w)
		}
	}
	if fanouts, _, _ := f.jobs.snapshot(); len(fanouts) != 0 {
		t.Errorf("fanouts = %v", fanouts)
	}
}

func TestIssuedDocumentPage(t *testing.T) {
	f := newFixture(t)
	d, units := f.issuedDocument()
	ctx := context.Background()
	ds, _ := f.store.ListDispatches(ctx, d.ID)
	if err := f.st.MarkFailed(ctx, ds[0].ID, "Hộp thư đầy", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.ApplyMilestone(ctx, ds[1].ID, vanthu.MilestoneAcknowledged, time.Now(), vanthu.SourceAPI, "test", ""); err != nil {
		t.Fatal(err)
	}
	page := bodyString(t, f.do("GET", fmt.Sprintf("/documents/%d", d.ID), nil, session(vanthu.RoleClerk)))
	want := []string{
		"01/CT-UBND", `id="progress-bar"`, fmt.Sprintf(`data-live="/api/v1/documents/%d/dispatches"`, d.ID),
		`data-seg="acknowledged" x="0" y="0" width="333"`, `data-count="failed">1<`, `data-count="acknowledged">1<`, `data-count="queued">1<`,
		"1/3 đã xác nhận", "Chờ gửi", "Đã gửi", "Đã xem", "Đã xác nhận", "Bị trả lại", "Gửi lỗi",
		"Hộp thư đầy", "Gửi lại các đơn vị lỗi", "Đôn đốc ngay", "/static/documents.js",
		fmt.Sprintf(`href="/api/v1/documents/%d/pdf"`, d.ID), fmt.Sprintf(`href="/api/v1/documents/%d/tracking.xlsx"`, d.ID),
	}
	for _, u := range units {
		want = append(want, u.Name)
	}
	for _, dp := range ds {
		want = append(want, fmt.Sprintf(`data-id="%d"`, dp.ID))
	}
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("issued page lacks %q", w)
		}
	}
	// A viewer watches but may not resend or remind.
	page = bodyString(t, f.do("GET", fmt.Sprintf("/documents/%d", d.ID), nil, session(vanthu.RoleViewer)))
	if strings.Contains(page, "Đôn đốc ngay") || !strings.Contains(page, `id="progress-bar"`) {
		t.Error("viewer page: buttons shown or bar missing")
	}

	// The page buttons.
	resp := f.do("POST", fmt.Sprintf("/documents/%d/resend", d.ID), nil, session(vanthu.RoleClerk))
	wantStatus(t, resp, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != fmt.Sprintf("/documents/%d?resent=1", d.ID) {
		t.Errorf("resend Location = %q", loc)
	}
	if page := bodyString(t, f.do("GET", resp.Header.Get("Location"), nil, session(vanthu.RoleClerk))); !strings.Contains(page, "Đã đưa 1 đơn vị gửi lỗi vào hàng đợi gửi lại.") {
		t.Error("resend notice missing")
	}
	resp = f.do("POST", fmt.Sprintf("/documents/%d/remind", d.ID), nil, session(vanthu.RoleClerk))
	wantStatus(t, resp, http.StatusSeeOther)
	if _, sends, reminds := f.jobs.snapshot(); len(sends) != 1 || !slices.Equal(reminds, []int64{d.ID}) {
		t.Errorf("sends %v reminds %v", sends, reminds)
	}

	// The list shows the progress.
	page = bodyString(t, f.do("GET", "/documents", nil, session(vanthu.RoleViewer)))
	for _, w := range []string{"01/CT-UBND", "Về tăng cường kỷ luật hành chính", "Đã ban hành", "1/3 đã xác nhận", `href="/documents"`} {
		if !strings.Contains(page, w) {
			t.Errorf("list page lacks %q", w)
		}
	}
}

func TestAcknowledgementPage(t *testing.T) {
	f := newFixture(t)
	d, units := f.issuedDocument()
	ctx := context.Background()
	ds, err := f.store.ListDispatches(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	byUnit := map[int64]vanthu.Dispatch{}
	for _, dp := range ds {
		byUnit[dp.UnitID] = dp
	}
	unit := units[1]
	disp := byUnit[unit.ID]
	tok := ackToken(d.ID, unit.ID)
	path := "/a/" + tok

	// Opening the page: no login, shows the document, marks it read.
	resp := f.do("GET", path, nil, cred{})
	wantStatus(t, resp, http.StatusOK)
	if resp.Header.Get("Content-Security-Policy") == "" || resp.Header.Get("Referrer-Policy") != "same-origin" {
		t.Error("ack page without the page security headers")
	}
	page := bodyString(t, resp)
	for _, w := range []string{unit.Name, "01/CT-UBND", "Về tăng cường kỷ luật hành chính", "Xác nhận đã nhận văn bản", path + "/van-ban.pdf", `action="` + path + `"`} {
		if !strings.Contains(page, w) {
			t.Errorf("ack page lacks %q", w)
		}
	}
	got, err := f.st.GetDispatch(ctx, disp.ID)
	if err != nil || got.ReadAt == nil || got.AcknowledgedAt != nil {
		t.Fatalf("after opening: %+v %v", got, err)
	}

	// The form asks for the person: without a name nothing is recorded.
	form := func(v url.Values) io.Reader { return strings.NewReader(v.Encode()) }
	formHdr := []string{"Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Site", "same-origin"}
	resp = f.do("POST", path, form(url.Values{"name": {"  "}, "position": {"Văn thư"}}), cred{}, formHdr...)
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	page = bodyString(t, resp)
	if !strings.Contains(page, "Vui lòng nhập họ và tên người xác nhận.") || !strings.Contains(page, `value="Văn thư"`) {
		t.Errorf("refused form page lacks the field error or lost the typed position:\n%s", page)
	}
	if got, _ := f.st.GetDispatch(ctx, disp.ID); got.AcknowledgedAt != nil {
		t.Fatal("a form without a name acknowledged")
	}

	// Acknowledging, with decomposed (NFD) input stored as NFC.
	resp = f.do("POST", path, form(url.Values{"name": {norm.NFD.String("Nguyễn Thị Hồng")}, "position": {"Văn thư"}, "note": {"Đã vào sổ công văn đến."}}), cred{}, formHdr...)
	wantStatus(t, resp, http.StatusOK)
	page = bodyString(t, resp)
	if !strings.Contains(page, "Cảm ơn! Đơn vị đã xác nhận nhận văn bản lúc") || strings.Contains(page, `id="ack-button"`) ||
		!strings.Contains(page, "Nguyễn Thị Hồng") {
		t.Errorf("thank-you page:\n%s", page)
	}
	got, err = f.st.GetDispatch(ctx, disp.ID)
	if err != nil || got.AcknowledgedAt == nil || got.Ack != (vanthu.Ack{Name: "Nguyễn Thị Hồng", Position: "Văn thư", Note: "Đã vào sổ công văn đến."}) {
		t.Fatalf("after ack: %+v %v", got, err)
	}
	ackAt := *got.AcknowledgedAt
	evs, err := f.store.ListEvents(ctx, fmt.Sprintf("dispatch:%d", disp.ID), 10)
	if err != nil {
		t.Fatal(err)
	}
	var acks []vanthu.Event
	for _, e := range evs {
		if e.Action == "dispatch_acknowledged" {
			acks = append(acks, e)
		}
	}
	if len(acks) != 1 || acks[0].Source != vanthu.SourceWeb || acks[0].Actor != unit.Code || !strings.Contains(acks[0].Detail, `"name":"Nguyễn Thị Hồng"`) {
		t.Errorf("ack events %+v", acks)
	}

	// A second POST is idempotent and shows the first confirmation.
	resp = f.do("POST", path, form(url.Values{"name": {"Trần Văn Khác"}}), cred{}, formHdr...)
	wantStatus(t, resp, http.StatusOK)
	page = bodyString(t, resp)
	when := ackAt.In(vanthu.Location).Format("02/01/2006 15:04")
	if !strings.Contains(page, "Văn bản đã được xác nhận trước đó, lúc "+when) || !strings.Contains(page, "Nguyễn Thị Hồng") || strings.Contains(page, "Trần Văn Khác") {
		t.Errorf("second ack page lacks the first confirmation %s:\n%s", when, page)
	}
	if again, _ := f.st.GetDispatch(ctx, disp.ID); !again.AcknowledgedAt.Equal(ackAt) || again.Ack.Name != "Nguyễn Thị Hồng" {
		t.Errorf("second ack changed the first: %v %+v", again.AcknowledgedAt, again.Ack)
	}
	evs, _ = f.store.ListEvents(ctx, fmt.Sprintf("dispatch:%d", disp.ID), 10)
	n := 0
	for _, e := range evs {
		if e.Action == "dispatch_acknowledged" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d ack events after a second POST", n)
	}

	// A cross-site POST is still refused: the ack form keeps CSRF protection.
	other := units[0]
	resp = f.do("POST", "/a/"+ackToken(d.ID, other.ID), nil, cred{}, "Sec-Fetch-Site", "cross-site")
	wantStatus(t, resp, http.StatusForbidden)
	if got, _ := f.st.GetDispatch(ctx, byUnit[other.ID].ID); got.AcknowledgedAt != nil {
		t.Error("cross-site POST acknowledged")
	}

	// Downloading the PDF marks it read too.
	resp = f.do("GET", "/a/"+ackToken(d.ID, other.ID)+"/van-ban.pdf", nil, cred{})
	wantStatus(t, resp, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); ct != "application/pdf" || !strings.HasPrefix(bodyString(t, resp), "%PDF-") {
		t.Errorf("pdf %q", ct)
	}
	if got, _ := f.st.GetDispatch(ctx, byUnit[other.ID].ID); got.ReadAt == nil || got.AcknowledgedAt != nil {
		t.Errorf("after download: %+v", got)
	}

	// Unknown tokens: a Vietnamese 404, nothing touched.
	for _, p := range []string{"/a/khong-co", "/a/" + strings.Repeat("x", 300), "/a/khong-co/van-ban.pdf"} {
		resp = f.do("GET", p, nil, cred{})
		wantStatus(t, resp, http.StatusNotFound)
		if b := bodyString(t, resp); !strings.Contains(b, "Liên kết xác nhận không đúng") {
			t.Errorf("%s: 404 page:\n%s", p, b)
		}
	}
	wantStatus(t, f.do("POST", "/a/khong-co", nil, cred{}), http.StatusNotFound)
}

// TestAcknowledgementLinkLimits: an expired link answers 410, and an
// address that keeps trying unknown tokens is slowed down with 429 while
// other addresses are not.
func TestAcknowledgementLinkLimits(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := newFixture(t, func(c *web.Config) { c.Now = clock; c.AckLinkTTL = 30 * 24 * time.Hour })
	d, units := f.issuedDocument()
	tok := ackToken(d.ID, units[0].ID)
	wantStatus(t, f.do("GET", "/a/"+tok, nil, cred{}), http.StatusOK)

	for i := range 20 {
		resp := f.do("GET", fmt.Sprintf("/a/doan-bua-%d", i), nil, cred{})
		wantStatus(t, resp, http.StatusNotFound)
	}
	resp := f.do("GET", "/a/"+tok, nil, cred{})
	wantStatus(t, resp, http.StatusTooManyRequests)
	if b := bodyString(t, resp); !strings.Contains(b, "Quá nhiều lần mở liên kết không đúng") {
		t.Errorf("429 page:\n%s", b)
	}
	resp = f.json("POST", "/api/v1/acks/"+tok, `{"status":"03"}`, cred{})
	wantStatus(t, resp, http.StatusTooManyRequests)
	// The block lasts the window, then the good link works again.
	mu.Lock()
	now = now.Add(11 * time.Minute)
	mu.Unlock()
	wantStatus(t, f.do("GET", "/a/"+tok, nil, cred{}), http.StatusOK)
}

func TestAcknowledgementLinkExpired(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := newFixture(t, func(c *web.Config) { c.Now = clock; c.AckLinkTTL = 30 * 24 * time.Hour })
	d, units := f.issuedDocument()
	tok := ackToken(d.ID, units[0].ID)
	mu.Lock()
	now = now.Add(31 * 24 * time.Hour)
	mu.Unlock()
	for _, p := range []string{"/a/" + tok, "/a/" + tok + "/van-ban.pdf"} {
		resp := f.do("GET", p, nil, cred{})
		wantStatus(t, resp, http.StatusGone)
		if b := bodyString(t, resp); !strings.Contains(b, "Liên kết xác nhận đã hết hạn") {
			t.Errorf("%s: 410 page:\n%s", p, b)
		}
	}
	wantStatus(t, f.json("POST", "/api/v1/acks/"+tok, `{"status":"acknowledged"}`, cred{}), http.StatusGone)
	ds, _ := f.st.ListDispatches(context.Background(), d.ID)
	for _, x := range ds {
		if x.ReadAt != nil || x.AcknowledgedAt != nil {
			t.Fatalf("an expired link recorded something: %+v", x)
		}
	}
}

// TestMachineAcknowledgement: a unit's document system reports the steps
// of the national exchange ladder through the API.
func TestMachineAcknowledgement(t *testing.T) {
	f := newFixture(t)
	d, units := f.issuedDocument()
	ctx := context.Background()
	ds, _ := f.st.ListDispatches(ctx, d.ID)
	byUnit := map[int64]vanthu.Dispatch{}
	for _, x := range ds {
		byUnit[x.UnitID] = x
	}
	u := units[0]
	tok := ackToken(d.ID, u.ID)
	type ackResp struct {
		DispatchID     int64      `json:"dispatch_id"`
		Document       string     `json:"document"`
		Status         string     `json:"status"`
		Applied        bool       `json:"applied"`
		ReadAt         *time.Time `json:"read_at"`
		AcknowledgedAt *time.Time `json:"acknowledged_at"`
		Ack            vanthu.Ack `json:"ack"`
	}
	post := func(body string, want int) ackResp {
		t.Helper()
		resp := f.json("POST", "/api/v1/acks/"+tok, body, cred{})
		wantStatus(t, resp, want)
		if want != http.StatusOK {
			return ackResp{}
		}
		return decode[ackResp](t, resp)
	}
	// Bad input names the field and records nothing.
	resp := f.json("POST", "/api/v1/acks/"+tok, `{"status":"07"}`, cred{})
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	if e := decode[apiError](t, resp); !slices.Equal(problemFields(e), []string{"status"}) {
		t.Errorf("bad status problems = %v", problemFields(e))
	}
	resp = f.json("POST", "/api/v1/acks/"+tok, `{"status":"03","name":"`+strings.Repeat("x", 201)+`"}`, cred{})
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	wantStatus(t, f.json("POST", "/api/v1/acks/khong-co", `{"status":"03"}`, cred{}), http.StatusNotFound)
	if got, _ := f.st.GetDispatch(ctx, byUnit[u.ID].ID); got.ReadAt != nil || got.AcknowledgedAt != nil {
		t.Fatalf("bad requests recorded: %+v", got)
	}
	evs, _ := f.store.ListEvents(ctx, fmt.Sprintf("dispatch:%d", byUnit[u.ID].ID), 10)
	before := len(evs)

	// 01 arrived: recorded, status unchanged.
	r := post(`{"status":"01"}`, http.StatusOK)
	if r.Applied || r.Status != "queued" || r.DispatchID != byUnit[u.ID].ID || r.Document != d.Symbol {
		t.Errorf("01 = %+v", r)
	}
	// read, then 03 registered = acknowledged, with the person.
	if r = post(`{"status":"read"}`, http.StatusOK); !r.Applied || r.Status != "read" || r.ReadAt == nil {
		t.Errorf("read = %+v", r)
	}
	r = post(`{"status":"03","name":"Lê Văn Bình","position":"Văn thư"}`, http.StatusOK)
	if !r.Applied || r.Status != "acknowledged" || r.AcknowledgedAt == nil || r.Ack.Name != "Lê Văn Bình" {
		t.Errorf("03 = %+v", r)
	}
	first := *r.AcknowledgedAt
	// 06 done later: idempotent, the first acknowledgement stands.
	r = post(`{"status":"06","name":"Người khác"}`, http.StatusOK)
	if r.Applied || !r.AcknowledgedAt.Equal(first) || r.Ack.Name != "Lê Văn Bình" {
		t.Errorf("06 after 03 = %+v", r)
	}
	evs, _ = f.store.ListEvents(ctx, fmt.Sprintf("dispatch:%d", byUnit[u.ID].ID), 10)
	var actions []string
	for _, e := range evs[:len(evs)-before] {
		actions = append(actions, e.Action+"/"+string(e.Source))
	}
	if want := []string{"dispatch_acknowledged/api", "dispatch_read/api", "dispatch_arrived/api"}; !slices.Equal(actions, want) {
		t.Errorf("events = %v, want %v", actions, want)
	}
	if !strings.Contains(evs[0].Detail, `"ladder":"03"`) {
		t.Errorf("ack event detail %s lacks the ladder code", evs[0].Detail)
	}
}
