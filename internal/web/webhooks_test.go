package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/store"
	"github.com/sonoivu/vanthu/internal/testenv"
	"github.com/sonoivu/vanthu/internal/web"
)

// The real store keeps the webhooks.
var _ web.WebhookStore = (*store.Store)(nil)

// withWebhooks wires the fixture's own store as the webhook store.
func withWebhooks(c *web.Config) { c.Webhooks = c.Store.(*store.Store) }

func (j *fakeJobs) webhookCalls() []int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.webhooks)
}

// sentDeliveries issues a directive, marks its first dispatch sent and
// returns the deliveries of that milestone, newest first.
func (f *fixture) sentDeliveries() []vanthu.WebhookDelivery {
	f.t.Helper()
	ctx := context.Background()
	d, _ := f.issuedDocument()
	ds, err := f.st.ListDispatches(ctx, d.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.st.MarkSent(ctx, ds[0].ID, "<m1@snv.test>", time.Now()); err != nil {
		f.t.Fatal(err)
	}
	all, err := f.st.ListDeliveries(ctx, 0, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	// Issuing made one delivery per dispatch too (queued); keep the sent one.
	var sent []vanthu.WebhookDelivery
	for _, d := range all {
		if d.Event.Action == "dispatch_sent" {
			sent = append(sent, d)
		}
	}
	return sent
}

func TestWebhooksAPI(t *testing.T) {
	f := newFixture(t, withWebhooks)
	admin := bearer(vanthu.RoleAdmin)

	resp := f.json("POST", "/api/v1/webhooks", `{"url":"ftp://egov.vinhlong.gov.vn/hook","secret":"ngắn"}`, admin)
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	if got := problemFields(decode[apiError](t, resp)); !slices.Equal(got, []string{"url", "secret"}) {
		t.Errorf("problems name %v, want url and secret", got)
	}
	resp = f.json("POST", "/api/v1/webhooks", `{"url":"https://egov.vinhlong.gov.vn/hook","active":false}`, admin)
	wantStatus(t, resp, http.StatusUnprocessableEntity)

	resp = f.json("POST", "/api/v1/webhooks", `{"url":"https://egov.vinhlong.gov.vn/hook","description":"Cổng dịch vụ công"}`, admin)
	wantStatus(t, resp, http.StatusCreated)
	a := decode[vanthu.Webhook](t, resp)
	if a.ID == 0 || !a.Active || len(a.Secret) < 43 || a.CreatedBy != "u-admin" || a.Description != "Cổng dịch vụ công" {
		t.Fatalf("created = %+v", a)
	}
	resp = f.json("POST", "/api/v1/webhooks", `{"url":"http://10.1.2.3:8080/vanthu","secret":"0123456789abcdef-khóa"}`, admin)
	wantStatus(t, resp, http.StatusCreated)
	b := decode[vanthu.Webhook](t, resp)
	if b.Secret != "0123456789abcdef-khóa" {
		t.Fatalf("secret = %q", b.Secret)
	}

	resp = f.do("GET", "/api/v1/webhooks", nil, admin)
	wantStatus(t, resp, http.StatusOK)
	raw := bodyString(t, resp)
	if strings.Contains(raw, a.Secret) || strings.Contains(raw, `"secret"`) || !strings.Contains(raw, "10.1.2.3:8080") {
		t.Fatalf("listing = %s", raw)
	}

	ds := f.sentDeliveries()
	if len(ds) != 2 {
		t.Fatalf("%d deliveries, want one per webhook", len(ds))
	}
	resp = f.do("GET", fmt.Sprintf("/api/v1/webhooks/%d/deliveries", a.ID), nil, admin)
	wantStatus(t, resp, http.StatusOK)
	log := decode[struct {
		Deliveries []vanthu.WebhookDelivery `json:"deliveries"`
	}](t, resp).Deliveries
	// Newest first: the sent milestone, then the three queued ones of the issue.
	if len(log) != 4 || log[0].WebhookID != a.ID || log[0].State != "pending" || log[0].Event.Action != "dispatch_sent" || log[0].Event.EvidenceRef != "<m1@snv.test>" ||
		log[3].Event.Action != "dispatch_queued" {
		t.Fatalf("delivery log = %+v", log)
	}
	wantStatus(t, f.do("GET", fmt.Sprintf("/api/v1/webhooks/%d/deliveries?limit=0", a.ID), nil, admin), http.StatusUnprocessableEntity)
	wantStatus(t, f.do("GET", "/api/v1/webhooks/999999/deliveries", nil, admin), http.StatusNotFound)

	// Replay of a given-up delivery: due again, and queued.
	id := log[0].ID
	if err := f.st.RecordAttempt(context.Background(), id, 410, "HTTP 410 Gone", time.Now(), false, true); err != nil {
		t.Fatal(err)
	}
	resp = f.do("POST", fmt.Sprintf("/api/v1/webhook-deliveries/%d/replay", id), nil, admin)
	wantStatus(t, resp, http.StatusAccepted)
	if d := decode[vanthu.WebhookDelivery](t, resp); d.ID != id || d.State != "pending" || d.Attempts != 1 || d.GaveUpAt != nil {
		t.Fatalf("replayed = %+v", d)
	}
	if got := f.jobs.webhookCalls(); !slices.Equal(got, []int64{id}) {
		t.Fatalf("enqueued %v, want [%d]", got, id)
	}
	wantStatus(t, f.do("POST", "/api/v1/webhook-deliveries/999999/replay", nil, admin), http.StatusNotFound)

	// Deactivated: its deliveries cannot be replayed.
	resp = f.do("POST", fmt.Sprintf("/api/v1/webhooks/%d/deactivate", a.ID), nil, admin)
	wantStatus(t, resp, http.StatusOK)
	if w := decode[vanthu.Webhook](t, resp); w.Active || w.ID != a.ID || w.Secret != "" {
		t.Fatalf("deactivated = %+v", w)
	}
	wantStatus(t, f.do("POST", fmt.Sprintf("/api/v1/webhook-deliveries/%d/replay", id), nil, admin), http.StatusConflict)
	wantStatus(t, f.do("POST", "/api/v1/webhooks/999999/deactivate", nil, admin), http.StatusNotFound)
	// Only admins.
	wantStatus(t, f.do("GET", "/api/v1/webhooks", nil, bearer(vanthu.RoleClerk)), http.StatusForbidden)
}

func TestWebhooksUnconfigured(t *testing.T) {
	f := newFixture(t)
	resp := f.do("GET", "/api/v1/webhooks", nil, bearer(vanthu.RoleAdmin))
	wantStatus(t, resp, http.StatusServiceUnavailable)
	if e := decode[apiError](t, resp); e.Error.Code != "unavailable" {
		t.Errorf("error = %+v", e)
	}
	wantStatus(t, f.do("GET", "/admin/webhooks", nil, session(vanthu.RoleAdmin)), http.StatusServiceUnavailable)
}

func TestWebhooksPage(t *testing.T) {
	f := newFixture(t, withWebhooks)
	admin := session(vanthu.RoleAdmin)
	ctx := context.Background()

	resp := f.do("GET", "/admin/webhooks", nil, admin)
	wantStatus(t, resp, http.StatusOK)
	if page := bodyString(t, resp); !strings.Contains(page, "Chưa có webhook nào.") || !strings.Contains(page, `href="/admin/webhooks"`) {
		t.Fatalf("empty page:\n%s", page)
	}
	// Only admins see the link.
	if page := bodyString(t, f.do("GET", "/units", nil, session(vanthu.RoleClerk))); strings.Contains(page, `href="/admin/webhooks"`) {
		t.Error("a clerk is offered the webhook page")
	}

	// A refused creation keeps what was typed, except the secret.
	resp = f.form("/admin/webhooks", url.Values{"url": {"egov.vinhlong.gov.vn/hook"}, "description": {"Cổng dịch vụ công"}, "secret": {"ngắn-quá"}}, admin)
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	page := bodyString(t, resp)
	for _, want := range []string{"Thông tin webhook không hợp lệ.", "http:// hoặc https://", "ít nhất 16 ký tự", `value="egov.vinhlong.gov.vn/hook"`, `value="Cổng dịch vụ công"`} {
		if !strings.Contains(page, want) {
			t.Errorf("refused form lacks %q", want)
		}
	}
	if strings.Contains(page, "ngắn-quá") {
		t.Error("the refused secret is shown back")
	}

	// Created: the generated secret is shown once, on this answer only.
	resp = f.form("/admin/webhooks", url.Values{"url": {"https://egov.vinhlong.gov.vn/hook"}, "description": {"Cổng dịch vụ công"}}, admin)
	wantStatus(t, resp, http.StatusOK)
	page = bodyString(t, resp)
	m := regexp.MustCompile(`<code id="webhook-secret">([A-Za-z0-9_-]{43,})</code>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no secret shown:\n%s", page)
	}
	secret := m[1]
	ds := f.sentDeliveries()
	if len(ds) != 1 {
		t.Fatalf("%d deliveries", len(ds))
	}
	d := ds[0]
	if got, err := f.st.GetDelivery(ctx, d.ID); err != nil || got.Webhook.Secret != secret {
		t.Fatalf("the secret shown is not the one stored (%v)", err)
	}
	if page := bodyString(t, f.do("GET", "/admin/webhooks", nil, admin)); strings.Contains(page, secret) {
		t.Fatal("the secret is shown again")
	}

	// The log: given up with a hostile error text, shown escaped.
	if err := f.st.RecordAttempt(ctx, d.ID, 410, `HTTP 410 Gone: <script>alert(1)</script>`, time.Now(), false, true); err != nil {
		t.Fatal(err)
	}
	page = bodyString(t, f.do("GET", "/admin/webhooks", nil, admin))
	replay := fmt.Sprintf(`action="/admin/webhook-deliveries/%d/replay"`, d.ID)
	for _, want := range []string{`id="delivery-` + fmt.Sprint(d.ID), "Đã gửi", "Đã dừng gửi", "HTTP 410", "&lt;script&gt;", replay, "Gửi lại", `class="stack" id="deliveries"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>alert") {
		t.Error("the receiver's answer is not escaped")
	}

	// Gửi lại: back to the page with a notice; the delivery is due and queued.
	resp = f.do("POST", fmt.Sprintf("/admin/webhook-deliveries/%d/replay", d.ID), nil, admin)
	wantStatus(t, resp, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != fmt.Sprintf("/admin/webhooks?replayed=%d#delivery-%d", d.ID, d.ID) {
		t.Errorf("Location = %q", loc)
	}
	if got := f.jobs.webhookCalls(); !slices.Equal(got, []int64{d.ID}) {
		t.Errorf("enqueued %v", got)
	}
	page = bodyString(t, f.do("GET", fmt.Sprintf("/admin/webhooks?replayed=%d", d.ID), nil, admin))
	if !strings.Contains(page, "Đã đưa lượt gửi vào hàng đợi để gửi lại.") || !strings.Contains(page, "Đang thử lại") {
		t.Errorf("after the replay:\n%s", page)
	}

	// One webhook's log; an unknown one is 404.
	page = bodyString(t, f.do("GET", fmt.Sprintf("/admin/webhooks?webhook=%d", d.WebhookID), nil, admin))
	if !strings.Contains(page, "tới https://egov.vinhlong.gov.vn/hook") || !strings.Contains(page, replay) {
		t.Errorf("filtered page lacks the webhook's log")
	}
	wantStatus(t, f.do("GET", "/admin/webhooks?webhook=999999", nil, admin), http.StatusNotFound)

	// Ngừng gửi: the webhook stops and its deliveries lose the button.
	resp = f.do("POST", fmt.Sprintf("/admin/webhooks/%d/deactivate", d.WebhookID), nil, admin)
	wantStatus(t, resp, http.StatusSeeOther)
	page = bodyString(t, f.do("GET", "/admin/webhooks?deactivated=1", nil, admin))
	if !strings.Contains(page, "Đã ngừng gửi tới webhook.") || !strings.Contains(page, "Đã ngừng") || strings.Contains(page, replay) {
		t.Errorf("after deactivating:\n%s", page)
	}
}

// TestBrowserWebhooksOnPhone: an admin on a phone-sized screen reads the
// delivery log without scrolling sideways and presses Gửi lại.
func TestBrowserWebhooksOnPhone(t *testing.T) {
	chromium := testenv.Chromium(t)
	f := newFixture(t, withWebhooks)
	ctx := context.Background()
	w := vanthu.Webhook{URL: "https://he-thong-quan-ly-van-ban.vinhlong.gov.vn/api/v2/thong-bao/vanthu?nguon=so-noi-vu", Description: "Hệ thống quản lý văn bản và điều hành của tỉnh"}
	if err := f.st.CreateWebhook(ctx, &w, "u-admin"); err != nil {
		t.Fatal(err)
	}
	d := f.sentDeliveries()[0]
	if err := f.st.RecordAttempt(ctx, d.ID, 0, `Post "https://he-thong-quan-ly-van-ban.vinhlong.gov.vn/api/v2/thong-bao/vanthu?nguon=so-noi-vu": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, time.Now(), false, true); err != nil {
		t.Fatal(err)
	}

	bctx := newBrowser(t, chromium, 90*time.Second)

	if err := chromedp.Do(bctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile),
		chromedp.Navigate(f.http.URL+"/login?next=%2Fadmin%2Fwebhooks"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "u-admin"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS("form.login button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("deliveries")),
	); err != nil {
		t.Fatalf("open the page: %v", err)
	}
	// Neither the page nor a table scrolls sideways: each delivery is a
	// card of labelled lines, long URLs and errors wrapped.
	fits, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth &&
		[...document.querySelectorAll('.table-wrap')].every(w => w.scrollWidth <= w.clientWidth)`))
	if err != nil || !fits {
		t.Errorf("the page or a table is wider than the phone's screen (%v)", err)
	}
	if err := chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#delivery-%d button`, d.ID))),
		chromedp.WaitVisible(chromedp.CSS(`p.ok[role=status]`)),
	); err != nil {
		t.Fatalf("Gửi lại: %v", err)
	}
	notice, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(`p.ok[role=status]`)))
	if err != nil || !strings.Contains(notice, "gửi lại") {
		t.Errorf("notice = %q, %v", notice, err)
	}
	if got, _ := f.st.GetDelivery(ctx, d.ID); got.State != vanthu.DeliveryPending {
		t.Errorf("state after Gửi lại = %s", got.State)
	}
	if got := f.jobs.webhookCalls(); !slices.Equal(got, []int64{d.ID}) {
		t.Errorf("enqueued %v", got)
	}
}
