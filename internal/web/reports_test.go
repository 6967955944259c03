package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/store"
	"github.com/sonoivu/vanthu/internal/web"
)

// The real store keeps the reports.
var _ web.ReportStore = (*store.Store)(nil)

// bodyLayout stands in for internal/report (tested there): the body
// names the period and quotes the narrative, so that a test can see the
// draft was laid out again.
type bodyLayout struct{}

func (bodyLayout) Body(f vanthu.ReportFigures, n vanthu.ReportNarrative) (string, error) {
	return fmt.Sprintf("Báo cáo %s.\n\nĐánh giá: %s\n\nNhiệm vụ: %s\n", f.Period.Label(), n.Assessment, strings.Join(n.NextTasks, "; ")), nil
}

func withReports(c *web.Config) {
	c.Reports = c.Store.(*store.Store)
	c.ReportLayout = bodyLayout{}
}

func (j *fakeJobs) reportCalls() [][2]int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.reports)
}

// finishReport does what the generate task does at its end: a BC draft
// and the figures.
func (f *fixture) finishReport(r vanthu.Report, fig vanthu.ReportFigures) vanthu.Document {
	f.t.Helper()
	d := f.reportDraft(r)
	n := vanthu.ReportNarrative{Assessment: "Đánh giá ban đầu.", NextTasks: []string{"Kiểm tra đột xuất."}}
	if ok, err := f.st.FinishReport(context.Background(), r.ID, r.Generation, &fig, &n, []byte("PK\x03\x04 phu luc")); err != nil || !ok {
		f.t.Fatalf("FinishReport = %v, %v", ok, err)
	}
	return d
}

// reportDraft makes the BC draft of r's generation at work, linked to r,
// as the generation task does before it finishes.
func (f *fixture) reportDraft(r vanthu.Report) vanthu.Document {
	f.t.Helper()
	d := vanthu.Document{Kind: vanthu.KindReport, TypeCode: "BC", Issuer: "SNV", Subject: "Kết quả thực hiện kỷ luật, kỷ cương hành chính " + r.Period.Label(),
		CreatedBy: f.users[vanthu.RoleClerk].ID,
		Content: vanthu.Content{Template: "report", Agency: "SỞ NỘI VỤ", Place: "Vĩnh Long", SignerName: "Trần Thị Ngọc Hân", Body: "Báo cáo.",
			Audience: vanthu.Audience{All: true}}}
	if ok, err := f.st.CreateReportDraft(context.Background(), r.ID, r.Generation, &d, "system"); err != nil || !ok {
		f.t.Fatalf("CreateReportDraft = %v, %v", ok, err)
	}
	return d
}

func TestReportsAPI(t *testing.T) {
	f := newFixture(t, withReports)
	f.seedUnits()
	clerk := bearer(vanthu.RoleClerk)

	// Bad periods name the field; nothing is created or enqueued.
	for _, tt := range []struct{ body, field string }{
		{`{"year":2026,"quarter":5}`, "quarter"},
		{`{"year":2099,"quarter":1}`, "year"},
		{`{"year":2026,"quarter":3,"cutoff":"10-9"}`, "cutoff"},
		{`{"year":2026,"kind":"thang"}`, "kind"},
	} {
		resp := f.json("POST", "/api/v1/reports", tt.body, clerk)
		wantStatus(t, resp, http.StatusUnprocessableEntity)
		if body := bodyString(t, resp); !strings.Contains(body, `"field":"`+tt.field+`"`) {
			t.Errorf("%s: %s, want a problem on %s", tt.body, body, tt.field)
		}
	}
	if got := f.jobs.reportCalls(); len(got) != 0 {
		t.Fatalf("bad input enqueued %v", got)
	}
	if list, _ := f.st.ListReports(context.Background(), 0); len(list) != 0 {
		t.Fatalf("bad input stored %+v", list)
	}

	// Roles: viewers read, only clerks and admins generate, inspectors
	// see none of it.
	wantStatus(t, f.json("POST", "/api/v1/reports", `{"year":2026,"quarter":3}`, bearer(vanthu.RoleViewer)), http.StatusForbidden)
	wantStatus(t, f.do("GET", "/api/v1/reports", nil, bearer(vanthu.RoleInspector)), http.StatusForbidden)

	// Two requests for one period: one report, one generation.
	var rep struct {
		vanthu.Report
		Label string `json:"label"`
	}
	for range 2 {
		resp := f.json("POST", "/api/v1/reports", `{"year":2026,"quarter":3}`, clerk)
		wantStatus(t, resp, http.StatusAccepted)
		rep = decode[struct {
			vanthu.Report
			Label string `json:"label"`
		}](t, resp)
	}
	if rep.State != vanthu.ReportGenerating || rep.Generation != 1 || rep.Period != vanthu.QuarterPeriod(2026, 3, vanthu.CutOffCalendar) || rep.Label != "Báo cáo quý III năm 2026" {
		t.Fatalf("requested %+v", rep)
	}
	if got := f.jobs.reportCalls(); len(got) != 2 || got[0] != [2]int64{rep.ID, 1} || got[1] != got[0] {
		t.Fatalf("enqueued %v, want generation 1 of report %d twice (one task ID)", got, rep.ID)
	}
	path := fmt.Sprintf("/api/v1/reports/%d", rep.ID)
	wantStatus(t, f.json("PUT", path+"/narrative", `{"assessment":"x"}`, clerk), http.StatusConflict)
	wantStatus(t, f.do("GET", path+"/xlsx", nil, clerk), http.StatusNotFound)

	// The task finishes.
	fig := vanthu.ReportFigures{Period: rep.Period, Inspections: vanthu.InspectionFigures{Total: 22, Listed: 424, Present: 333}}
	doc := f.finishReport(rep.Report, fig)
	resp := f.do("GET", path, nil, bearer(vanthu.RoleViewer))
	wantStatus(t, resp, http.StatusOK)
	got := decode[vanthu.Report](t, resp)
	if got.State != vanthu.ReportReady || got.Figures == nil || got.Figures.Inspections.Present != 333 || got.DocumentID != doc.ID {
		t.Fatalf("ready report %+v", got)
	}
	// The page polling progress asks without the figures; a bad value
	// names the parameter.
	resp = f.do("GET", path+"?figures=false", nil, bearer(vanthu.RoleViewer))
	wantStatus(t, resp, http.StatusOK)
	if b := bodyString(t, resp); strings.Contains(b, `"figures"`) || !strings.Contains(b, `"state":"ready"`) || !strings.Contains(b, `"progress":100`) {
		t.Fatalf("report without figures: %s", b)
	}
	resp = f.do("GET", path+"?figures=khong", nil, bearer(vanthu.RoleViewer))
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	if b := bodyString(t, resp); !strings.Contains(b, `"field":"figures"`) {
		t.Fatalf("bad figures parameter: %s", b)
	}
	resp = f.do("GET", path+"/xlsx", nil, bearer(vanthu.RoleViewer))
	wantStatus(t, resp, http.StatusOK)
	if b := bodyString(t, resp); b != "PK\x03\x04 phu luc" || !strings.Contains(resp.Header.Get("Content-Disposition"), "bao-cao-2026-quy-3-calendar-phu-luc.xlsx") {
		t.Fatalf("workbook %q, %q", b, resp.Header.Get("Content-Disposition"))
	}
	wantStatus(t, f.do("GET", path+"/pdf", nil, clerk), http.StatusOK)
	if !slices.Contains(f.dirs.previews, doc.ID) {
		t.Fatalf("the PDF of a draft report is not its draft's preview: %v", f.dirs.previews)
	}

	// The narrative: a bad one changes nothing; a good one lays the draft
	// out again.
	tasks := make([]string, 31)
	for i := range tasks {
		tasks[i] = fmt.Sprintf("Nhiệm vụ %d", i+1)
	}
	bad := fmt.Sprintf(`{"assessment":"Tốt.","next_tasks":[%q%s]}`, tasks[0], strings.Repeat(`,"x"`, 30))
	resp = f.json("PUT", path+"/narrative", bad, clerk)
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	if b := bodyString(t, resp); !strings.Contains(b, `"field":"next_tasks"`) {
		t.Fatalf("31 tasks: %s", b)
	}
	if d, _ := f.st.GetDocument(context.Background(), doc.ID); d.Content.Body != "Báo cáo." {
		t.Fatalf("a refused narrative changed the draft: %q", d.Content.Body)
	}
	wantStatus(t, f.json("PUT", path+"/narrative", `{"assessment":"Tỷ lệ vắng giảm.","next_tasks":[" Kiểm tra xã ", ""],"proposals":"Không."}`, bearer(vanthu.RoleViewer)), http.StatusForbidden)
	resp = f.json("PUT", path+"/narrative", `{"assessment":"Tỷ lệ vắng giảm.","next_tasks":[" Kiểm tra xã ", ""],"proposals":"Không."}`, clerk)
	wantStatus(t, resp, http.StatusOK)
	if got := decode[vanthu.Report](t, resp); !slices.Equal(got.Narrative.NextTasks, []string{"Kiểm tra xã"}) {
		t.Fatalf("narrative %+v", got.Narrative)
	}
	d, _ := f.st.GetDocument(context.Background(), doc.ID)
	if want := "Báo cáo quý III năm 2026.\n\nĐánh giá: Tỷ lệ vắng giảm.\n\nNhiệm vụ: Kiểm tra xã\n"; d.Content.Body != want {
		t.Fatalf("draft body %q, want %q", d.Content.Body, want)
	}

	// Generating again is a new generation; once the draft is issued the
	// report is frozen.
	resp = f.json("POST", path+"/regenerate", "", clerk)
	wantStatus(t, resp, http.StatusAccepted)
	if got := decode[vanthu.Report](t, resp); got.Generation != 2 || got.State != vanthu.ReportGenerating {
		t.Fatalf("regenerated %+v", got)
	}
	ctx := context.Background()
	if ok, err := f.st.FinishReport(ctx, rep.ID, 2, &fig, nil, []byte("PK\x03\x04 v2")); err != nil || !ok {
		t.Fatalf("FinishReport 2 = %v, %v", ok, err)
	}
	if _, err := f.dirs.Issue(ctx, doc.ID, "u-clerk"); err != nil {
		t.Fatal(err)
	}
	resp = f.do("GET", path, nil, clerk)
	wantStatus(t, resp, http.StatusOK)
	if got := decode[vanthu.Report](t, resp); got.State != vanthu.ReportIssued || got.Narrative.Assessment != "Tỷ lệ vắng giảm." {
		t.Fatalf("issued report %+v", got)
	}
	wantStatus(t, f.json("POST", path+"/regenerate", "", clerk), http.StatusConflict)
	wantStatus(t, f.json("PUT", path+"/narrative", `{"assessment":"Sửa sau khi ban hành."}`, clerk), http.StatusConflict)
	if got := f.jobs.reportCalls(); len(got) != 3 || got[2] != [2]int64{rep.ID, 2} {
		t.Fatalf("enqueued %v", got)
	}
}

func TestReportPages(t *testing.T) {
	f := newFixture(t, withReports)
	f.seedUnits()
	clerk := session(vanthu.RoleClerk)

	resp := f.do("GET", "/reports", nil, clerk)
	wantStatus(t, resp, http.StatusOK)
	page := bodyString(t, resp)
	// The hint says what regenerating keeps (sections III–V) and what it
	// rewrites (the draft's whole body).
	for _, want := range []string{`id="report-form"`, "Chưa có báo cáo nào.", `<option value="3" selected>Quý III</option>`,
		"giữ nguyên các mục III–V", "toàn bộ nội dung dự thảo"} {
		if !strings.Contains(page, want) {
			t.Errorf("/reports lacks %q", want)
		}
	}
	// A viewer reads the list without the form.
	resp = f.do("GET", "/reports", nil, session(vanthu.RoleViewer))
	wantStatus(t, resp, http.StatusOK)
	if strings.Contains(bodyString(t, resp), `id="report-form"`) {
		t.Error("a viewer is offered the form")
	}

	form := func(v url.Values) *http.Response {
		return f.do("POST", "/reports", strings.NewReader(v.Encode()), clerk, "Content-Type", "application/x-www-form-urlencoded")
	}
	resp = form(url.Values{"year": {"2026"}, "kind": {"quy"}, "quarter": {"3"}, "cutoff": {"15-14"}})
	wantStatus(t, resp, http.StatusSeeOther)
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/reports/") {
		t.Fatalf("redirect to %q", loc)
	}
	resp = form(url.Values{"year": {"năm nay"}, "kind": {"quy"}, "quarter": {"3"}})
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	if b := bodyString(t, resp); !strings.Contains(b, "Năm phải là số") || !strings.Contains(b, `id="report-errors"`) {
		t.Errorf("bad year page lacks the error:\n%s", b)
	}

	resp = f.do("GET", loc, nil, clerk)
	wantStatus(t, resp, http.StatusOK)
	page = bodyString(t, resp)
	for _, want := range []string{"Báo cáo quý III năm 2026 (chốt số liệu ngày 14)", `id="report-progress"`, "/static/reports.js", "từ ngày 15/06/2026 đến ngày 14/09/2026"} {
		if !strings.Contains(page, want) {
			t.Errorf("generating page lacks %q", want)
		}
	}
	list, err := f.st.ListReports(context.Background(), 0)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListReports = %+v, %v", list, err)
	}
	rep, _ := f.st.GetReport(context.Background(), list[0].ID)
	// The draft the generation at work made brings no files yet: the
	// workbook comes when it finishes.
	f.reportDraft(rep)
	resp = f.do("GET", loc, nil, clerk)
	wantStatus(t, resp, http.StatusOK)
	if page = bodyString(t, resp); strings.Contains(page, `id="report-pdf"`) || strings.Contains(page, `id="report-xlsx"`) {
		t.Error("a report not yet generated offers its files")
	}
	listed := func() string {
		resp := f.do("GET", "/reports", nil, clerk)
		wantStatus(t, resp, http.StatusOK)
		return bodyString(t, resp)
	}
	if strings.Contains(listed(), fmt.Sprintf("/api/v1/reports/%d/xlsx", rep.ID)) {
		t.Error("the list offers the files of a report not yet generated")
	}
	prev := vanthu.ReportFigures{Inspections: vanthu.InspectionFigures{Listed: 200, Present: 150}}
	f.finishReport(rep, vanthu.ReportFigures{Period: rep.Period, Inspections: vanthu.InspectionFigures{Total: 22, Listed: 424, Present: 333}, Previous: &prev})
	resp = f.do("GET", loc, nil, clerk)
	wantStatus(t, resp, http.StatusOK)
	page = bodyString(t, resp)
	// Saving rebuilds the draft's body: the page warns that edits made
	// on the document's page do not survive.
	if !strings.Contains(listed(), fmt.Sprintf("/api/v1/reports/%d/xlsx", rep.ID)) {
		t.Error("the list does not offer the files of a generated report")
	}
	for _, want := range []string{"78,54%", "75,00%", `id="narrative-form"`, "Đánh giá ban đầu.", `href="/documents/`, "/xlsx",
		`id="narrative-hint"`, "nội dung dự thảo được lập lại từ số liệu và các mục III–V", "chỉ sửa trên trang văn bản ngay trước khi ban hành"} {
		if !strings.Contains(page, want) {
			t.Errorf("ready page lacks %q", want)
		}
	}
	resp = f.do("POST", loc+"/narrative", strings.NewReader(url.Values{"assessment": {"Đã sửa."}, "next_tasks": {"Một\r\nHai"}}.Encode()), clerk, "Content-Type", "application/x-www-form-urlencoded")
	wantStatus(t, resp, http.StatusSeeOther)
	rep, _ = f.st.GetReport(context.Background(), rep.ID)
	if rep.Narrative.Assessment != "Đã sửa." || !slices.Equal(rep.Narrative.NextTasks, []string{"Một", "Hai"}) {
		t.Fatalf("narrative from the page %+v", rep.Narrative)
	}
}
