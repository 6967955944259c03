package web_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/web"
	"github.com/sonoivu/vanthu/templates"
)

// The default templates fill the exports.
var _ web.Sheets = (*templates.Set)(nil)

// withExports wires the inspection store and the default Excel templates.
func withExports(t *testing.T) fixtureOpt {
	tpl, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return func(c *web.Config) {
		withInspections(c)
		c.Sheets = tpl
	}
}

// xlsxRows downloads path as cred, checks it is an XLSX attachment named
// ascii (with a UTF-8 filename* when utf8 is set), and returns the cells of
// its only sheet: formatted as Excel shows them, and raw (numbers as
// stored, formulas' cached values).
func (f *fixture) xlsxRows(path string, c cred, ascii, utf8 string) (shown, raw [][]string) {
	f.t.Helper()
	resp := f.do("GET", path, nil, c)
	wantStatus(f.t, resp, http.StatusOK)
	if got := resp.Header.Get("Content-Type"); got != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		f.t.Fatalf("Content-Type = %q", got)
	}
	cd := resp.Header.Get("Content-Disposition")
	if want := `attachment; filename="` + ascii + `"`; !strings.HasPrefix(cd, want) {
		f.t.Errorf("Content-Disposition = %q, want it to start with %q", cd, want)
	}
	if utf8 != "" && !strings.HasSuffix(cd, "; filename*=UTF-8''"+utf8) {
		f.t.Errorf("Content-Disposition = %q, want filename*=UTF-8''%s", cd, utf8)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		f.t.Fatal(err)
	}
	x, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		f.t.Fatalf("%s is not a workbook: %v", path, err)
	}
	defer x.Close()
	sheets := x.GetSheetList()
	if len(sheets) != 1 {
		f.t.Fatalf("sheets %v, want one", sheets)
	}
	if shown, err = x.GetRows(sheets[0]); err != nil {
		f.t.Fatal(err)
	}
	if raw, err = x.GetRows(sheets[0], excelize.Options{RawCellValue: true}); err != nil {
		f.t.Fatal(err)
	}
	return shown, raw
}

// cell is row r (1-based) column col ("A") of rows, "" when absent.
func cell(rows [][]string, col string, r int) string {
	c, err := excelize.ColumnNameToNumber(col)
	if err != nil || r < 1 || r > len(rows) || c > len(rows[r-1]) {
		return ""
	}
	return rows[r-1][c-1]
}

// finalize numbers and finalizes in as the finalize task does, and
// returns the minutes' number.
func (f *fixture) finalize(in vanthu.Inspection, at time.Time) string {
	f.t.Helper()
	ctx := context.Background()
	d := vanthu.Document{Kind: vanthu.KindMinutes, TypeCode: "BB", Issuer: "ĐKT", Subject: "Kiểm tra tại " + in.UnitName,
		CreatedBy: f.users[vanthu.RoleInspector].ID,
		Content:   vanthu.Content{Template: "minutes", Agency: "SỞ NỘI VỤ", Place: "Vĩnh Long", SignerName: "Trần Thị Ngọc Hân", Body: "Nội dung."}}
	doc, err := f.st.IssueMinutes(ctx, in.ID, d, "test", at, func(context.Context, vanthu.Document) (vanthu.Artifact, []byte, error) {
		return vanthu.Artifact{Name: "bien-ban.pdf", ContentType: "application/pdf"}, []byte("%PDF-1.7 signed"), nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.st.MarkInspectionFinalized(ctx, in.ID, doc.ID, "test"); err != nil {
		f.t.Fatal(err)
	}
	return doc.Symbol
}

// TestExportFindings: the persons in violation of one inspection, with
// the catalog's names and each person's proposed handling; "(dự thảo)"
// for a draft, the minutes' number once finalized; everyone may read it.
func TestExportFindings(t *testing.T) {
	f := newFixture(t, withExports(t))
	units, _ := f.seedUnits()
	in := f.createInspection(inspectionJSON(units[0].ID, `,"handling":[
		{"code":"kiem-diem","person":"Nguyễn Văn Thưởng"},
		{"code":"nhac-nho","person":"lê thị  hoà","note":"lần đầu"},
		{"code":"phe-binh","person":"Lê Thị Hoà"},
		{"code":"trach-nhiem-nguoi-dung-dau"}]`))
	path := fmt.Sprintf("/api/v1/inspections/%d/findings.xlsx", in.ID)

	wantStatus(t, f.do("GET", path, nil, cred{}), http.StatusUnauthorized)
	wantStatus(t, f.do("GET", "/api/v1/inspections/424242/findings.xlsx", nil, bearer(vanthu.RoleViewer)), http.StatusNotFound)

	draftName := fmt.Sprintf("phat-hien-bien-ban-%d-du-thao.xlsx", in.ID)
	rows, raw := f.xlsxRows(path, bearer(vanthu.RoleViewer), draftName,
		fmt.Sprintf("ph%%C3%%A1t-hi%%E1%%BB%%87n-bi%%C3%%AAn-b%%E1%%BA%%A3n-%d-d%%E1%%BB%%B1-th%%E1%%BA%%A3o.xlsx", in.ID))
	if got := cell(rows, "A", 2); got != "Kèm theo biên bản kiểm tra số (dự thảo) ngày 25/11/2026" {
		t.Errorf("A2 = %q", got)
	}
	want := [][]string{
		{"1", "Nguyễn Văn Thưởng", "", "Phòng Kế hoạch, Sở Tài chính", "Vắng mặt không có lý do", "vang-khong-ly-do", "Kiểm điểm, rút kinh nghiệm"},
		{"2", "Lê Thị Hoà", "", "Sở Tài chính", "Không đeo thẻ công chức, viên chức (lúc 08 giờ 05)", "khong-deo-the", "Nhắc nhở (lần đầu); Phê bình"},
	}
	for i, w := range want {
		for j, v := range w {
			col, _ := excelize.ColumnNumberToName(j + 1)
			if got := cell(rows, col, 5+i); got != v {
				t.Errorf("%s%d = %q, want %q", col, 5+i, got, v)
			}
		}
	}
	if got := cell(raw, "A", 7); got != "2" {
		t.Errorf("total persons A7 = %q, want 2", got)
	}
	if got := cell(rows, "B", 8); got != "" {
		t.Errorf("row 8 should be empty, B8 = %q", got)
	}

	// Finalized: the number of the minutes, in the title and the name.
	number := f.finalize(in, time.Date(2026, 11, 25, 10, 0, 0, 0, vanthu.Location))
	if number != "01/BB-ĐKT" {
		t.Fatalf("number %q", number)
	}
	for _, role := range []vanthu.Role{vanthu.RoleViewer, vanthu.RoleClerk, vanthu.RoleInspector, vanthu.RoleAdmin} {
		rows, _ = f.xlsxRows(path, bearer(role), "phat-hien-01-BB-DKT.xlsx", "ph%C3%A1t-hi%E1%BB%87n-01-BB-%C4%90KT.xlsx")
		if got := cell(rows, "A", 2); got != "Kèm theo biên bản kiểm tra số 01/BB-ĐKT ngày 25/11/2026" {
			t.Errorf("%s: A2 = %q", role, got)
		}
		if got := cell(rows, "B", 6); got != "Lê Thị Hoà" {
			t.Errorf("%s: B6 = %q", role, got)
		}
	}
}

// TestExportInspections: the filtered list, one row per inspection,
// oldest first, with each filter's effect, the period's boundaries
// included, and a refused filter naming its parameter.
func TestExportInspections(t *testing.T) {
	f := newFixture(t, withExports(t))
	units, inactive := f.seedUnits()
	at := func(s string) string { return fmt.Sprintf(`,"started_at":%q,"ended_at":null`, s) }
	none := `,"findings":[],"handling":[]`
	// Created out of order: the file sorts by the start.
	b := f.createInspection(inspectionJSON(units[1].ID, at("2026-12-02T08:00:00+07:00")+`,"surprise":false,"place":"Hội trường xã",
		"attendance":{"listed":10,"present":9,"absent_leave":0,"absent_assignment":0,"absent_study":0,"absent_unexcused":1,"late":0,"left_early":1},
		"findings":[{"name":"C","violation":"ruou-bia"}],"handling":[]`))
	a := f.createInspection(inspectionJSON(units[0].ID, ""))
	c := f.createInspection(inspectionJSON(units[0].ID, at("2026-01-01T00:00:00+07:00")+none))
	d := f.createInspection(inspectionJSON(units[2].ID, at("2026-12-31T23:59:00+07:00")+none))
	e := f.createInspection(inspectionJSON(units[2].ID, at("2027-01-01T00:00:00+07:00")+none))
	g := f.createInspection(inspectionJSON(units[1].ID, at("2025-12-31T23:59:00+07:00")+none))
	number := f.finalize(a, time.Date(2026, 11, 25, 10, 0, 0, 0, vanthu.Location))
	viewer := bearer(vanthu.RoleViewer)

	// ids lists the inspections of a file by their place and time, which
	// tell them apart, from row 5 up to the totals.
	byStart := map[string]int64{}
	for _, in := range []vanthu.Inspection{a, b, c, d, e, g} {
		byStart[in.StartedAt.In(vanthu.Location).Format("02/01/2006 15:04")] = in.ID
	}
	ids := func(rows, raw [][]string) []int64 {
		t.Helper()
		if cell(rows, "B", 6) == "Tổng cộng" && cell(rows, "C", 5) == "" {
			// No inspection: the template's record row stays, empty.
			if total := cell(raw, "A", 6); total != "0" {
				t.Errorf("count of an empty file = %q", total)
			}
			return nil
		}
		var out []int64
		for r := 5; cell(rows, "B", r) != "Tổng cộng"; r++ {
			if r > len(rows) {
				t.Fatalf("no totals row in %v", rows)
			}
			if got := cell(rows, "A", r); got != strconv.Itoa(r-4) {
				t.Errorf("A%d = %q, want %d", r, got, r-4)
			}
			id, ok := byStart[cell(rows, "C", r)]
			if !ok {
				t.Fatalf("C%d = %q is no inspection's start", r, cell(rows, "C", r))
			}
			out = append(out, id)
		}
		if total := cell(raw, "A", 5+len(out)); total != strconv.Itoa(len(out)) {
			t.Errorf("count in the totals row = %q, want %d", total, len(out))
		}
		return out
	}

	rows, raw := f.xlsxRows("/api/v1/inspections.xlsx", viewer, "danh-sach-kiem-tra.xlsx", "danh-s%C3%A1ch-ki%E1%BB%83m-tra.xlsx")
	if got := ids(rows, raw); !slices.Equal(got, []int64{g.ID, c.ID, a.ID, b.ID, d.ID, e.ID}) {
		t.Errorf("all: %v, want g c a b d e (%d %d %d %d %d %d)", got, g.ID, c.ID, a.ID, b.ID, d.ID, e.ID)
	}
	if got := cell(rows, "A", 2); !strings.HasPrefix(got, "Tất cả các cuộc kiểm tra (số liệu tính đến ") {
		t.Errorf("A2 = %q", got)
	}
	// Row 7 is a: finalized, with its number and figures; row 8 is b.
	for col, want := range map[string]string{
		"B": number, "C": "25/11/2026 07:45", "D": "Sở Tài chính", "E": "Trụ sở Sở Tài chính", "F": "Đột xuất",
		"G": "42", "H": "35", "I": "4", "J": "3", "K": "2", "M": "2", "N": "vang-khong-ly-do, khong-deo-the",
		"O": "Đã hoàn tất", "P": "1",
	} {
		if got := cell(rows, col, 7); got != want {
			t.Errorf("%s7 = %q, want %q", col, got, want)
		}
	}
	if got, err := strconv.ParseFloat(cell(raw, "L", 7), 64); err != nil || got < 35.0/42-1e-9 || got > 35.0/42+1e-9 {
		t.Errorf("presence rate L7 = %q, want 35/42", cell(raw, "L", 7))
	}
	for col, want := range map[string]string{
		"B": "", "D": "Ủy ban nhân dân xã Hòa Bình", "E": "Hội trường xã", "F": "Theo kế hoạch",
		"G": "10", "H": "9", "I": "0", "J": "1", "K": "1", "M": "1", "N": "ruou-bia", "O": "Đang lập",
	} {
		if got := cell(rows, col, 8); got != want {
			t.Errorf("%s8 = %q, want %q", col, got, want)
		}
	}
	// Totals: staff and present of all six, and their rate.
	if got := cell(raw, "G", 11); got != strconv.Itoa(5*42+10) {
		t.Errorf("G11 = %q, want %d", got, 5*42+10)
	}
	if got, err := strconv.ParseFloat(cell(raw, "L", 11), 64); err != nil || got < float64(5*35+9)/220-1e-9 || got > float64(5*35+9)/220+1e-9 {
		t.Errorf("total presence rate L11 = %q, want %v", cell(raw, "L", 11), float64(5*35+9)/220)
	}

	for _, tt := range []struct {
		query, ascii string
		want         []int64
	}{
		// Both days of the period are included, the days around it not.
		{"from=2026-01-01&until=2026-12-31", "danh-sach-kiem-tra-tu-2026-01-01-den-2026-12-31.xlsx", []int64{c.ID, a.ID, b.ID, d.ID}},
		{"from=2026-12-01", "danh-sach-kiem-tra-tu-2026-12-01.xlsx", []int64{b.ID, d.ID, e.ID}},
		{"until=2026-01-01", "danh-sach-kiem-tra-den-2026-01-01.xlsx", []int64{g.ID, c.ID}},
		{fmt.Sprintf("unit_id=%d", units[0].ID), "danh-sach-kiem-tra.xlsx", []int64{c.ID, a.ID}},
		{fmt.Sprintf("unit_id=%d&from=2026-06-01", units[0].ID), "danh-sach-kiem-tra-tu-2026-06-01.xlsx", []int64{a.ID}},
		{"violation=ruou-bia", "danh-sach-kiem-tra.xlsx", []int64{b.ID}},
		{"violation=khong-deo-the&state=finalized", "danh-sach-kiem-tra.xlsx", []int64{a.ID}},
		{"state=draft&until=2026-11-30", "danh-sach-kiem-tra-den-2026-11-30.xlsx", []int64{g.ID, c.ID}},
		{fmt.Sprintf("unit_id=%d", inactive.ID), "danh-sach-kiem-tra.xlsx", nil},
		// The list's limit does not apply to the file.
		{"limit=1", "danh-sach-kiem-tra.xlsx", []int64{g.ID, c.ID, a.ID, b.ID, d.ID, e.ID}},
	} {
		rows, raw := f.xlsxRows("/api/v1/inspections.xlsx?"+tt.query, viewer, tt.ascii, "")
		if got := ids(rows, raw); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.query, got, tt.want)
		}
	}
	rows, _ = f.xlsxRows(fmt.Sprintf("/api/v1/inspections.xlsx?unit_id=%d&from=2026-01-01&until=2026-12-31&violation=vang-khong-ly-do", units[0].ID),
		viewer, "danh-sach-kiem-tra-tu-2026-01-01-den-2026-12-31.xlsx", "")
	if got, want := cell(rows, "A", 2), "Các cuộc kiểm tra tại Sở Tài chính, từ ngày 01/01/2026 đến ngày 31/12/2026, có vi phạm “Vắng mặt không có lý do”"; !strings.HasPrefix(got, want) {
		t.Errorf("A2 = %q, want it to start with %q", got, want)
	}

	// Refused filters name their parameter; anonymous callers are refused.
	for _, tt := range []struct{ query, field string }{
		{"from=2026-12-31&until=2026-01-01", "from"},
		{"from=2026-13-01", "from"},
		{"until=31/12/2026", "until"},
		{"violation=ngu-gat", "violation"},
		{"unit_id=abc", "unit_id"},
		{"unit_id=424242", "unit_id"},
		{"state=signed", "state"},
	} {
		resp := f.do("GET", "/api/v1/inspections.xlsx?"+tt.query, nil, viewer)
		wantStatus(t, resp, http.StatusUnprocessableEntity)
		if got := problemFields(decode[apiError](t, resp)); !slices.Equal(got, []string{tt.field}) {
			t.Errorf("%s: problems name %v, want [%s]", tt.query, got, tt.field)
		}
	}
	wantStatus(t, f.do("GET", "/api/v1/inspections.xlsx", nil, cred{}), http.StatusUnauthorized)
}

// TestExportInspectionsWithoutLimit: a year's file holds every inspection,
// beyond the 100 the JSON list returns by default.
func TestExportInspectionsWithoutLimit(t *testing.T) {
	f := newFixture(t, withExports(t))
	units, _ := f.seedUnits()
	ctx := context.Background()
	const n = 105
	for i := range n {
		start := time.Date(2026, 1, 1, 7, 30, 0, 0, vanthu.Location).Add(time.Duration(i) * 24 * time.Hour)
		in := vanthu.Inspection{UnitID: units[i%len(units)].ID, Place: "Trụ sở", Surprise: true, StartedAt: &start,
			Attendance: vanthu.Attendance{Listed: 10, Present: 10}, CreatedBy: f.users[vanthu.RoleInspector].ID}
		if err := f.st.CreateInspection(ctx, &in, "test"); err != nil {
			t.Fatal(err)
		}
	}
	resp := f.do("GET", "/api/v1/inspections", nil, bearer(vanthu.RoleViewer))
	wantStatus(t, resp, http.StatusOK)
	if got := decode[struct{ Count int }](t, resp).Count; got != 100 {
		t.Fatalf("the JSON list returned %d, want its default limit 100", got)
	}
	rows, raw := f.xlsxRows("/api/v1/inspections.xlsx?from=2026-01-01&until=2026-12-31", bearer(vanthu.RoleViewer),
		"danh-sach-kiem-tra-tu-2026-01-01-den-2026-12-31.xlsx", "")
	if got := cell(rows, "B", 5+n); got != "Tổng cộng" {
		t.Fatalf("B%d = %q, want the totals row after %d inspections", 5+n, got, n)
	}
	if got := cell(raw, "A", 5+n); got != strconv.Itoa(n) {
		t.Errorf("count = %q, want %d", got, n)
	}
	if got := cell(rows, "C", 5); got != "01/01/2026 07:30" {
		t.Errorf("first row starts %q, want the oldest", got)
	}
	if got := cell(raw, "H", 5+n); got != strconv.Itoa(10*n) {
		t.Errorf("present total = %q, want %d", got, 10*n)
	}
}

// TestExportLinks: the list page's link carries its filters to the file,
// and every inspection page links its findings.
func TestExportLinks(t *testing.T) {
	f := newFixture(t, withExports(t))
	units, _ := f.seedUnits()
	a := f.createInspection(inspectionJSON(units[0].ID, ""))
	b := f.createInspection(inspectionJSON(units[1].ID, `,"findings":[{"name":"C","violation":"ruou-bia"}],"handling":[]`))
	viewer := session(vanthu.RoleViewer)

	page := bodyString(t, f.do("GET", fmt.Sprintf("/inspections?unit_id=%d&from=2026-11-01&until=2026-11-30&violation=vang-khong-ly-do", units[0].ID), nil, viewer))
	m := regexp.MustCompile(`id="export-xlsx" href="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no export link on the list:\n%.3000s", page)
	}
	link := html.UnescapeString(m[1])
	want := fmt.Sprintf("/api/v1/inspections.xlsx?unit_id=%d&from=2026-11-01&until=2026-11-30&violation=vang-khong-ly-do", units[0].ID)
	if link != want {
		t.Errorf("export link %q, want %q", link, want)
	}
	rows, _ := f.xlsxRows(link, viewer, "danh-sach-kiem-tra-tu-2026-11-01-den-2026-11-30.xlsx", "")
	if got := cell(rows, "D", 5); got != "Sở Tài chính" || cell(rows, "B", 6) != "Tổng cộng" {
		t.Errorf("the link's file: D5 %q, B6 %q; want a only", got, cell(rows, "B", 6))
	}
	// Without filters the link asks for everything.
	page = bodyString(t, f.do("GET", "/inspections", nil, viewer))
	if !strings.Contains(page, `id="export-xlsx" href="/api/v1/inspections.xlsx?unit_id=&amp;from=&amp;until=&amp;violation="`) {
		t.Errorf("export link without filters:\n%.3000s", page)
	}
	rows, _ = f.xlsxRows("/api/v1/inspections.xlsx?unit_id=&from=&until=&violation=", viewer, "danh-sach-kiem-tra.xlsx", "")
	if cell(rows, "B", 7) != "Tổng cộng" {
		t.Errorf("the unfiltered link's file does not hold both inspections: %v", rows)
	}

	// The record: the inspector's form of a draft, the view of finalized
	// minutes.
	f.finalize(b, time.Date(2026, 11, 25, 10, 0, 0, 0, vanthu.Location))
	for _, tt := range []struct {
		in   vanthu.Inspection
		role vanthu.Role
	}{{a, vanthu.RoleInspector}, {a, vanthu.RoleViewer}, {b, vanthu.RoleInspector}} {
		page := bodyString(t, f.do("GET", fmt.Sprintf("/inspections/%d", tt.in.ID), nil, session(tt.role)))
		want := fmt.Sprintf(`<a id="findings-xlsx" href="/api/v1/inspections/%d/findings.xlsx">Tải danh sách vi phạm (Excel)</a>`, tt.in.ID)
		if !strings.Contains(page, want) {
			t.Errorf("page of %d for %s lacks %s", tt.in.ID, tt.role, want)
		}
	}
}

// TestExportsUnconfigured: without templates the exports are unavailable.
func TestExportsUnconfigured(t *testing.T) {
	f := newFixture(t, withInspections)
	units, _ := f.seedUnits()
	in := f.createInspection(inspectionJSON(units[0].ID, ""))
	for _, path := range []string{"/api/v1/inspections.xlsx", fmt.Sprintf("/api/v1/inspections/%d/findings.xlsx", in.ID)} {
		wantStatus(t, f.do("GET", path, nil, bearer(vanthu.RoleViewer)), http.StatusServiceUnavailable)
	}
}
