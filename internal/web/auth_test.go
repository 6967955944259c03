package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/web"
)

func login(f *fixture, username, pw, next string, hdr ...string) *http.Response {
	f.t.Helper()
	form := url.Values{"username": {username}, "password": {pw}, "next": {next}}
	return f.do("POST", "/login", strings.NewReader(form.Encode()), cred{}, append([]string{"Content-Type", "application/x-www-form-urlencoded"}, hdr...)...)
}

func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == web.SessionCookie {
			return c
		}
	}
	return nil
}

func TestLoginLogout(t *testing.T) {
	f := newFixture(t, func(c *web.Config) { c.SecureCookies = true; c.SessionTTL = 2 * time.Hour })

	resp := f.do("GET", "/units?group=xa-phuong", nil, cred{})
	wantStatus(t, resp, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/login?next="+url.QueryEscape("/units?group=xa-phuong") {
		t.Fatalf("redirect to %q", loc)
	}
	resp = f.do("GET", "/login?next=/units", nil, cred{})
	wantStatus(t, resp, http.StatusOK)
	if b := bodyString(t, resp); !strings.Contains(b, "Tên đăng nhập") || !strings.Contains(b, `name="next" value="/units"`) {
		t.Errorf("login page:\n%s", b)
	}

	resp = login(f, "u-clerk", "sai-mat-khau", "/units")
	wantStatus(t, resp, http.StatusUnauthorized)
	if sessionCookie(resp) != nil || !strings.Contains(bodyString(t, resp), "Tên đăng nhập hoặc mật khẩu không đúng.") {
		t.Error("failed login set a cookie or gave no message")
	}
	wantStatus(t, login(f, "khong-ai", password, "/units"), http.StatusUnauthorized)

	resp = login(f, "U-Clerk", password, "/units?group=xa-phuong")
	wantStatus(t, resp, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/units?group=xa-phuong" {
		t.Errorf("after login to %q", loc)
	}
	c := sessionCookie(resp)
	if c == nil {
		t.Fatal("no session cookie")
	}
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 7200 || len(c.Value) < 43 {
		t.Errorf("cookie attributes: %+v", c)
	}
	sess := cred{session: c.Value}
	resp = f.do("GET", "/units", nil, sess)
	wantStatus(t, resp, http.StatusOK)
	page := bodyString(t, resp)
	if !strings.Contains(page, "Người dùng Văn thư") || !strings.Contains(page, "(Văn thư)") || !strings.Contains(page, "Nhập từ tệp") {
		t.Errorf("units page lacks the user or the import form:\n%s", page)
	}
	for h, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "same-origin",
	} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q", h, got)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP = %q", csp)
	}

	resp = f.do("POST", "/logout", nil, sess)
	wantStatus(t, resp, http.StatusSeeOther)
	if c := sessionCookie(resp); c == nil || c.MaxAge >= 0 {
		t.Errorf("logout did not clear the cookie: %+v", c)
	}
	// The old secret no longer works, even if a client kept it.
	wantStatus(t, f.do("GET", "/units", nil, sess), http.StatusSeeOther)
	wantStatus(t, f.do("GET", "/api/v1/me", nil, sess), http.StatusUnauthorized)
}

func TestLoginNextIsSameSite(t *testing.T) {
	f := newFixture(t)
	for next, want := range map[string]string{
		"/units?q=a":            "/units?q=a",
		"https://evil.example/": "/units",
		"//evil.example/":       "/units",
		"/\\evil.example":       "/units",
		"javascript:alert(1)":   "/units",
		"":                      "/units",
	} {
		resp := login(f, "u-viewer", password, next)
		wantStatus(t, resp, http.StatusSeeOther)
		if loc := resp.Header.Get("Location"); loc != want {
			t.Errorf("next %q → %q, want %q", next, loc, want)
		}
	}
}

func TestLoginRateLimit(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	f := newFixture(t, func(c *web.Config) {
		c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	})
	for range 5 {
		wantStatus(t, login(f, "u-admin", "sai", "/"), http.StatusUnauthorized)
	}
	// Blocked now, even with the right password.
	resp := login(f, "u-admin", password, "/")
	wantStatus(t, resp, http.StatusTooManyRequests)
	if resp.Header.Get("Retry-After") == "" || !strings.Contains(bodyString(t, resp), "quá nhiều lần") {
		t.Error("429 without Retry-After or message")
	}
	// Another user from the same address is not blocked.
	wantStatus(t, login(f, "u-viewer", password, "/"), http.StatusSeeOther)

	mu.Lock()
	now = now.Add(16 * time.Minute)
	mu.Unlock()
	wantStatus(t, login(f, "u-admin", password, "/"), http.StatusSeeOther)
}

func TestCrossOriginRefused(t *testing.T) {
	f := newFixture(t)
	resp := login(f, "u-clerk", password, "/", "Sec-Fetch-Site", "cross-site")
	wantStatus(t, resp, http.StatusForbidden)
	if sessionCookie(resp) != nil {
		t.Error("cross-site login set a session")
	}
	body := `{"code":"X","name":"Xã X","emails":["x@vinhlong.gov.vn"],"group":"khac"}`
	resp = f.do("POST", "/api/v1/units", strings.NewReader(body), session(vanthu.RoleClerk), "Content-Type", "application/json", "Sec-Fetch-Site", "cross-site")
	wantStatus(t, resp, http.StatusForbidden)
	if e := decode[apiError](t, resp); e.Error.Code != "forbidden" {
		t.Errorf("error = %+v", e)
	}
	resp = f.do("POST", "/api/v1/units", strings.NewReader(body), session(vanthu.RoleClerk), "Content-Type", "application/json", "Origin", "https://evil.example")
	wantStatus(t, resp, http.StatusForbidden)
	if n := countUnits(t, f); n != 0 {
		t.Fatalf("cross-site request created %d units", n)
	}
	// Same-origin browsers and programs without browser headers pass.
	resp = f.do("POST", "/api/v1/units", strings.NewReader(body), session(vanthu.RoleClerk), "Content-Type", "application/json", "Sec-Fetch-Site", "same-origin")
	wantStatus(t, resp, http.StatusCreated)
	wantStatus(t, f.json("PUT", fmt.Sprintf("/api/v1/units/%d", decode[vanthu.Unit](t, resp).ID), body, bearer(vanthu.RoleClerk)), http.StatusOK)
}

func TestHashSecretAndNewSecret(t *testing.T) {
	a, err := web.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := web.NewSecret()
	if a == b || len(a) != 43 || strings.ContainsAny(a, "+/=") {
		t.Errorf("secrets %q %q", a, b)
	}
	if h := web.HashSecret(a); len(h) != 32 || string(h) == string(web.HashSecret(b)) {
		t.Error("hash is not a distinct SHA-256")
	}
}
