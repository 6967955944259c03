package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/directive"
	"github.com/sonoivu/vanthu/internal/store"
	"github.com/sonoivu/vanthu/internal/web"
	"github.com/sonoivu/vanthu/templates"
)

// The real directive service and store satisfy the web's interface.
var _ web.Receipts = directive.Receipts{}

// withReceipts wires the real receipt report over the fixture's store.
func withReceipts(t *testing.T) fixtureOpt {
	tpl, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return func(cfg *web.Config) {
		cfg.Receipts = directive.Receipts{Service: &directive.Service{Templates: tpl}, ReceiptStore: cfg.Store.(*store.Store)}
	}
}

// receiptsBody is the JSON of GET /api/v1/documents/{id}/receipts.
type receiptsBody struct {
	Document vanthu.Document `json:"document"`
	Artifact vanthu.Artifact `json:"artifact"`
	AsOf     time.Time       `json:"as_of"`
	Progress vanthu.Progress `json:"progress"`
	Receipts []struct {
		vanthu.Dispatch
		Status      vanthu.Milestone `json:"status"`
		StatusLabel string           `json:"status_label"`
		Evidence    map[vanthu.Milestone]struct {
			Source    vanthu.EventSource `json:"source"`
			Channel   string             `json:"channel"`
			Actor     string             `json:"actor"`
			Ref       string             `json:"evidence_ref"`
			ImpliedBy vanthu.Milestone   `json:"implied_by"`
			Detail    map[string]any     `json:"detail"`
		} `json:"evidence"`
	} `json:"receipts"`
}

// TestReceiptRoutes runs the receipt report end to end: units confirm on
// the acknowledgement page and through the API, then the three forms of
// the report show it.
func TestReceiptRoutes(t *testing.T) {
	f := newFixture(t, withReceipts(t))
	ctx := context.Background()
	d, units := f.issuedDocument()
	base := fmt.Sprintf("/api/v1/documents/%d", d.ID)
	ds, err := f.store.ListDispatches(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, dp := range ds {
		if err := f.st.MarkSent(ctx, dp.ID, fmt.Sprintf("<vanthu.%d@snv.test>", dp.ID), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	// units[0] does nothing yet; units[1] opens the page and confirms;
	// units[2]'s document system registers it (03).
	page := "/a/" + ackToken(d.ID, units[1].ID)
	wantStatus(t, f.do("GET", page, nil, cred{}), http.StatusOK)
	form := url.Values{"name": {"Nguyễn Thị Hồng"}, "position": {"Văn thư"}, "note": {"Đã vào sổ."}}
	wantStatus(t, f.do("POST", page, strings.NewReader(form.Encode()), cred{},
		"Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Site", "same-origin"), http.StatusOK)
	wantStatus(t, f.json("POST", "/api/v1/acks/"+ackToken(d.ID, units[2].ID), `{"status":"03","name":"Trần Văn Bình","position":"Chánh Văn phòng"}`, cred{}), http.StatusOK)

	// JSON: the dispatches' order, the evidence of each milestone, the
	// artifact's hash as sent.
	resp := f.do("GET", base+"/receipts", nil, bearer(vanthu.RoleViewer))
	wantStatus(t, resp, http.StatusOK)
	body := decode[receiptsBody](t, resp)
	sum := sha256.Sum256([]byte("%PDF-1.7\n% 01/CT-UBND")) // what fakeDirectives stored
	if body.Artifact.SHA256 != hex.EncodeToString(sum[:]) || body.Document.Symbol != "01/CT-UBND" {
		t.Errorf("artifact %+v of %s", body.Artifact, body.Document.Symbol)
	}
	var order, want []int64
	for _, r := range body.Receipts {
		order = append(order, r.ID)
	}
	for _, dp := range ds {
		want = append(want, dp.ID)
	}
	if !slices.Equal(order, want) {
		t.Fatalf("receipts in order %v, want the dispatch listing's %v", order, want)
	}
	if p := body.Progress; p.Total != 3 || p.Acknowledged != 2 || p.Sent != 1 {
		t.Errorf("progress = %+v", p)
	}
	byUnit := map[int64]int{}
	for i, r := range body.Receipts {
		byUnit[r.UnitID] = i
	}
	r0, r1, r2 := body.Receipts[byUnit[units[0].ID]], body.Receipts[byUnit[units[1].ID]], body.Receipts[byUnit[units[2].ID]]
	if r0.Status != vanthu.MilestoneSent || len(r0.Evidence) != 1 || r0.Evidence["sent"].Channel != "Máy chủ thư" || r0.Evidence["sent"].Ref != fmt.Sprintf("<vanthu.%d@snv.test>", r0.ID) {
		t.Errorf("sent only: %+v", r0)
	}
	read, ack := r1.Evidence["read"], r1.Evidence["acknowledged"]
	if r1.StatusLabel != "Đã xác nhận" || read.Source != vanthu.SourceWeb || read.Channel != "Trang xác nhận" || !strings.HasPrefix(read.Ref, "ack page from ") ||
		!strings.HasPrefix(ack.Ref, "ack form from ") || ack.Detail["name"] != "Nguyễn Thị Hồng" || ack.Detail["position"] != "Văn thư" || read.ImpliedBy != "" {
		t.Errorf("ack page: read %+v, acknowledged %+v", read, ack)
	}
	read, ack = r2.Evidence["read"], r2.Evidence["acknowledged"]
	if ack.Source != vanthu.SourceAPI || ack.Channel != "Hệ thống của đơn vị (API)" || ack.Detail["ladder"] != "03" || ack.Detail["name"] != "Trần Văn Bình" ||
		read.ImpliedBy != vanthu.MilestoneAcknowledged || read.Source != vanthu.SourceAPI || read.Ref != ack.Ref {
		t.Errorf("API: read %+v, acknowledged %+v", read, ack)
	}

	// PDF and XLSX, as attachments named after the symbol.
	resp = f.do("GET", base+"/receipts.pdf", nil, bearer(vanthu.RoleViewer))
	wantStatus(t, resp, http.StatusOK)
	if ct, cd := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"); ct != "application/pdf" || !strings.Contains(cd, `attachment; filename="tiep-nhan-01-CT-UBND.pdf"`) {
		t.Errorf("pdf headers %q, %q", ct, cd)
	}
	if b := bodyString(t, resp); !strings.HasPrefix(b, "%PDF-") {
		t.Errorf("pdf = %.20q", b)
	}
	resp = f.do("GET", base+"/receipts.xlsx", nil, bearer(vanthu.RoleViewer))
	wantStatus(t, resp, http.StatusOK)
	if ct, cd := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"); ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" ||
		!strings.Contains(cd, `filename="tiep-nhan-01-CT-UBND.xlsx"`) {
		t.Errorf("xlsx headers %q, %q", ct, cd)
	}
	x, err := excelize.OpenReader(bytes.NewReader([]byte(bodyString(t, resp))))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	for i, dp := range ds {
		if got, _ := x.GetCellValue("Tiếp nhận", fmt.Sprint("C", 5+i)); got != dp.UnitName {
			t.Errorf("C%d = %q, want %q", 5+i, got, dp.UnitName)
		}
	}
	if a3, _ := x.GetCellValue("Tiếp nhận", "A3"); !strings.Contains(a3, body.Artifact.SHA256) {
		t.Errorf("A3 = %q lacks the SHA-256", a3)
	}

	// The document page links to both.
	html := bodyString(t, f.do("GET", fmt.Sprintf("/documents/%d", d.ID), nil, session(vanthu.RoleViewer)))
	for _, w := range []string{`href="` + base + `/receipts.pdf">Báo cáo tiếp nhận (PDF)`, `href="` + base + `/receipts.xlsx">Báo cáo tiếp nhận (XLSX)`} {
		if !strings.Contains(html, w) {
			t.Errorf("document page lacks %s", w)
		}
	}

	// A draft has no report; an unknown document is 404.
	draft := f.createDraft(draftJSON("Về việc nháp", ids(units), nil))
	for _, suffix := range []string{"/receipts", "/receipts.pdf", "/receipts.xlsx"} {
		wantStatus(t, f.do("GET", fmt.Sprintf("/api/v1/documents/%d%s", draft.ID, suffix), nil, bearer(vanthu.RoleViewer)), http.StatusConflict)
		wantStatus(t, f.do("GET", "/api/v1/documents/999999"+suffix, nil, bearer(vanthu.RoleViewer)), http.StatusNotFound)
	}
}

// TestReceiptRoutesUnconfigured: without Config.Receipts the routes
// answer 503, and everything else still works.
func TestReceiptRoutesUnconfigured(t *testing.T) {
	f := newFixture(t)
	d, _ := f.issuedDocument()
	for _, suffix := range []string{"/receipts", "/receipts.pdf", "/receipts.xlsx"} {
		resp := f.do("GET", fmt.Sprintf("/api/v1/documents/%d%s", d.ID, suffix), nil, bearer(vanthu.RoleClerk))
		wantStatus(t, resp, http.StatusServiceUnavailable)
		if e := decode[apiError](t, resp); e.Error.Message == "" {
			t.Errorf("%s: 503 without a message", suffix)
		}
	}
}
