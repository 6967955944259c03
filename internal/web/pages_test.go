package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/sonoivu/vanthu"
)

func TestUnitsPage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, u := range []vanthu.Unit{
		{Code: "STC", Name: "Sở Tài chính", Emails: []string{"stc@vinhlong.gov.vn"}, Group: vanthu.GroupDepartment, Active: true},
		{Code: "XA-HOA-BINH", Name: "Ủy ban nhân dân xã Hòa Bình", Emails: []string{"hoabinh@vinhlong.gov.vn"}, Group: vanthu.GroupCommune, Active: true},
		{Code: "XSS", Name: `Đơn vị <script>alert(1)</script>`, Emails: []string{"xss@vinhlong.gov.vn"}, Group: vanthu.GroupOther, Active: true},
	} {
		if err := f.store.CreateUnit(ctx, &u, "test"); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		query     string
		want      []string
		notWanted []string
	}{
		{"", []string{"Sở Tài chính", "Ủy ban nhân dân xã Hòa Bình", "3 đơn vị", "&lt;script&gt;"}, []string{"<script>alert"}},
		{"?group=xa-phuong", []string{"Ủy ban nhân dân xã Hòa Bình", "1 đơn vị"}, []string{"Sở Tài chính"}},
		{"?q=hoa+binh", []string{"Ủy ban nhân dân xã Hòa Bình"}, []string{"Sở Tài chính"}},
	}
	for _, tt := range tests {
		resp := f.do("GET", "/units"+tt.query, nil, session(vanthu.RoleViewer))
		wantStatus(t, resp, http.StatusOK)
		page := bodyString(t, resp)
		for _, w := range tt.want {
			if !strings.Contains(page, w) {
				t.Errorf("%q: page lacks %q", tt.query, w)
			}
		}
		for _, w := range tt.notWanted {
			if strings.Contains(page, w) {
				t.Errorf("%q: page has %q", tt.query, w)
			}
		}
		// A viewer may not import, so the form is not offered.
		if strings.Contains(page, `action="/units/import"`) {
			t.Errorf("%q: import form shown to a viewer", tt.query)
		}
	}
	resp := f.do("GET", "/", nil, cred{})
	wantStatus(t, resp, http.StatusSeeOther)
	if resp.Header.Get("Location") != "/units" {
		t.Errorf("/ redirects to %q", resp.Header.Get("Location"))
	}
}

func TestNavigation(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		role   vanthu.Role
		queues bool
	}{{vanthu.RoleAdmin, true}, {vanthu.RoleClerk, false}}
	for _, tt := range tests {
		page := bodyString(t, f.do("GET", "/units", nil, session(tt.role)))
		for _, w := range []string{`href="/units"`, `href="/dev/mail"`, "Hộp thư thử", "Đăng xuất", tt.role.Label()} {
			if !strings.Contains(page, w) {
				t.Errorf("%s: nav lacks %q", tt.role, w)
			}
		}
		if got := strings.Contains(page, `href="/admin/queues/"`); got != tt.queues {
			t.Errorf("%s: queue link shown = %v", tt.role, got)
		}
	}
}

func TestDevMailPages(t *testing.T) {
	f := newFixture(t)
	viewer := session(vanthu.RoleViewer)
	page := bodyString(t, f.do("GET", "/dev/mail", nil, viewer))
	if !strings.Contains(page, `href="/dev/mail/stc@vinhlong.gov.vn"`) {
		t.Errorf("mailbox list:\n%s", page)
	}
	page = bodyString(t, f.do("GET", "/dev/mail/stc@vinhlong.gov.vn", nil, viewer))
	if !strings.Contains(page, "Chỉ thị số 02/CT-UBND") || !strings.Contains(page, `href="/dev/mail/stc@vinhlong.gov.vn/1"`) {
		t.Errorf("mailbox page:\n%s", page)
	}
	resp := f.do("GET", "/dev/mail/stc@vinhlong.gov.vn/1", nil, viewer)
	wantStatus(t, resp, http.StatusOK)
	page = bodyString(t, resp)
	// The HTML body is only inside a sandboxed srcdoc, escaped: never live markup.
	if strings.Contains(page, `<script>alert("x")</script>`) || strings.Contains(page, "<p>Xin chào</p>") {
		t.Errorf("mail HTML injected into the page:\n%s", page)
	}
	if !strings.Contains(page, `sandbox=""`) || !strings.Contains(page, `srcdoc="&lt;p&gt;Xin chào&lt;/p&gt;&lt;script&gt;`) {
		t.Errorf("mail HTML not in a sandboxed srcdoc:\n%s", page)
	}
	for _, w := range []string{"Kính gửi Sở Tài chính", "chi-thi.pdf", "2.0 KiB", "/dev/mail/stc@vinhlong.gov.vn/1/raw"} {
		if !strings.Contains(page, w) {
			t.Errorf("message page lacks %q", w)
		}
	}
	resp = f.do("GET", "/dev/mail/stc@vinhlong.gov.vn/1/raw", nil, viewer)
	wantStatus(t, resp, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("raw served as %q", ct)
	}
	if b := bodyString(t, resp); !strings.Contains(b, "<script>raw</script>") {
		t.Errorf("raw = %q", b)
	}
	resp = f.do("GET", "/dev/mail/stc@vinhlong.gov.vn/99", nil, viewer)
	wantStatus(t, resp, http.StatusNotFound)
	if b := bodyString(t, resp); !strings.Contains(b, "Không tìm thấy thư.") {
		t.Errorf("404 page:\n%s", b)
	}
}

func TestStatic(t *testing.T) {
	f := newFixture(t)
	resp := f.do("GET", "/static/style.css", nil, cred{})
	wantStatus(t, resp, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("style.css served as %q", ct)
	}
}
