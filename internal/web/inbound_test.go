package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sonoivu/vanthu"
)

// TestInboundReview: the mail the watcher could not match waits on the
// clerk's list with its source (shown as text, never as HTML), until a
// clerk marks it looked at; viewers may read but not mark.
func TestInboundReview(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	unmatched := &vanthu.InboundMail{Mailbox: "INBOX", UIDValidity: 1, UID: 1, MessageID: "tin@bao.vn", Kind: vanthu.InboundKindReply,
		Outcome: vanthu.InboundUnmatched, From: "Trần Thị Mai <mai@xa.vn>", Subject: "Re: Chỉ thị số 02/CT-UBND",
		Raw: []byte("From: mai@xa.vn\r\nSubject: Re\r\n\r\n<script>alert(1)</script> Đã nhận.\r\n")}
	applied := &vanthu.InboundMail{Mailbox: "INBOX", UIDValidity: 1, UID: 2, MessageID: "mdn@xa.vn", Kind: vanthu.InboundKindMDN,
		Outcome: vanthu.InboundRecorded, From: "xa@xa.vn", Subject: "Đã đọc"}
	for _, m := range []*vanthu.InboundMail{unmatched, applied} {
		if _, err := f.st.RecordInbound(ctx, m, nil); err != nil {
			t.Fatal(err)
		}
	}

	page := bodyString(t, f.do("GET", "/inbound", nil, session(vanthu.RoleViewer)))
	if !strings.Contains(page, "Re: Chỉ thị số 02/CT-UBND") || strings.Contains(page, "Đã đọc") || strings.Contains(page, `action="/inbound/`) {
		t.Errorf("viewer's review list:\n%s", page)
	}
	view := f.do("GET", fmt.Sprintf("/inbound/%d", unmatched.ID), nil, session(vanthu.RoleViewer))
	wantStatus(t, view, http.StatusOK)
	if b := bodyString(t, view); strings.Contains(b, "<script>alert") || !strings.Contains(b, "&lt;script&gt;alert(1)&lt;/script&gt; Đã nhận.") {
		t.Errorf("source not shown as escaped text:\n%s", b)
	}
	raw := f.do("GET", fmt.Sprintf("/api/v1/inbound/%d/raw", unmatched.ID), nil, bearer(vanthu.RoleViewer))
	wantStatus(t, raw, http.StatusOK)
	if ct, cd := raw.Header.Get("Content-Type"), raw.Header.Get("Content-Disposition"); ct != "message/rfc822" || !strings.HasPrefix(cd, "attachment") {
		t.Errorf("raw download: %q %q", ct, cd)
	}
	if b := bodyString(t, raw); b != string(unmatched.Raw) {
		t.Errorf("raw = %q", b)
	}

	wantStatus(t, f.do("POST", fmt.Sprintf("/inbound/%d/reviewed", unmatched.ID), nil, session(vanthu.RoleViewer), "Sec-Fetch-Site", "same-origin"), http.StatusForbidden)
	wantStatus(t, f.do("POST", fmt.Sprintf("/api/v1/inbound/%d/reviewed", unmatched.ID), nil, bearer(vanthu.RoleInspector)), http.StatusForbidden)
	resp := f.do("POST", fmt.Sprintf("/inbound/%d/reviewed", unmatched.ID), nil, session(vanthu.RoleClerk), "Sec-Fetch-Site", "same-origin")
	wantStatus(t, resp, http.StatusSeeOther)
	page = bodyString(t, f.do("GET", resp.Header.Get("Location"), nil, session(vanthu.RoleClerk)))
	if !strings.Contains(page, "Đã đánh dấu thư là đã xem.") || !strings.Contains(page, "Không có thư nào cần xem.") {
		t.Errorf("list after review:\n%s", page)
	}
	wantStatus(t, f.do("POST", "/api/v1/inbound/999/reviewed", nil, bearer(vanthu.RoleClerk)), http.StatusNotFound)

	type list struct {
		Mail []vanthu.InboundMail `json:"mail"`
	}
	all := decode[list](t, f.do("GET", "/api/v1/inbound?all=1", nil, bearer(vanthu.RoleClerk)))
	if len(all.Mail) != 2 || all.Mail[1].ReviewedBy != f.users[vanthu.RoleClerk].Username || all.Mail[1].ReviewedAt == nil {
		t.Errorf("all mail = %+v", all.Mail)
	}
	resp = f.do("GET", "/api/v1/inbound?limit=0", nil, bearer(vanthu.RoleClerk))
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	if e := decode[apiError](t, resp); len(problemFields(e)) != 1 || problemFields(e)[0] != "limit" {
		t.Errorf("bad limit problems = %v", problemFields(e))
	}
}
