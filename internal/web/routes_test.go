package web_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/web"
)

// concrete fills the path parameters of a pattern.
func concrete(pattern string) string {
	// An id that exists nowhere: the walk must not delete the fixture tokens.
	r := strings.NewReplacer("{id}", "999999", "{addr}", "stc@vinhlong.gov.vn", "{uid}", "1", "{$}", "")
	return r.Replace(pattern)
}

// TestRouteTableAuthorization walks every protected route: no credentials
// are refused, every role outside the route's list is forbidden, and every
// role inside it gets through.
func TestRouteTableAuthorization(t *testing.T) {
	f := newFixture(t)
	protected := 0
	for _, rt := range f.srv.Routes() {
		if rt.Roles == nil {
			if rt.Auth != web.AuthNone {
				t.Errorf("%s %s: authenticated route without roles", rt.Method, rt.Pattern)
			}
			continue
		}
		protected++
		method := rt.Method
		if method == "" {
			method = http.MethodGet
		}
		path := concrete(rt.Pattern)
		t.Run(method+" "+rt.Pattern, func(t *testing.T) {
			resp := f.do(method, path, nil, cred{})
			switch rt.Auth {
			case web.AuthAPI:
				wantStatus(t, resp, http.StatusUnauthorized)
				if resp.Header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				if e := decode[apiError](t, resp); e.Error.Code != "unauthorized" || e.Error.Message == "" {
					t.Errorf("401 body = %+v", e)
				}
			case web.AuthSession:
				wantStatus(t, resp, http.StatusSeeOther)
				if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/login?next=") {
					t.Errorf("Location = %q", loc)
				}
			}
			for _, role := range vanthu.Roles {
				c := bearer(role)
				if rt.Auth == web.AuthSession {
					c = session(role)
				}
				resp := f.do(method, path, nil, c)
				allowed := role == vanthu.RoleAdmin || slices.Contains(rt.Roles, role)
				if !allowed {
					wantStatus(t, resp, http.StatusForbidden)
					if rt.Auth == web.AuthAPI {
						if e := decode[apiError](t, resp); e.Error.Code != "forbidden" {
							t.Errorf("%s: 403 body = %+v", role, e)
						}
					} else if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(bodyString(t, resp), "Không có quyền") {
						t.Errorf("%s: 403 page not HTML in Vietnamese (%s)", role, ct)
					}
					continue
				}
				if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusSeeOther && rt.Auth == web.AuthSession {
					t.Errorf("%s: allowed role got %d", role, resp.StatusCode)
				}
			}
		})
	}
	if protected < 20 {
		t.Errorf("only %d protected routes walked; route table incomplete?", protected)
	}
}

// TestSessionWorksForAPI checks that a browser session may call the API too.
func TestSessionWorksForAPI(t *testing.T) {
	f := newFixture(t)
	resp := f.do("GET", "/api/v1/me", nil, session(vanthu.RoleViewer))
	wantStatus(t, resp, http.StatusOK)
	me := decode[struct {
		Username  string `json:"username"`
		RoleLabel string `json:"role_label"`
	}](t, resp)
	if me.Username != "u-viewer" || me.RoleLabel != "Theo dõi" {
		t.Errorf("me = %+v", me)
	}
	// A page does not take a bearer token: it is a browser thing.
	resp = f.do("GET", "/units", nil, bearer(vanthu.RoleAdmin))
	wantStatus(t, resp, http.StatusSeeOther)
}

func TestOptionalRoutesAbsent(t *testing.T) {
	f := newFixture(t, func(c *web.Config) { c.Mail, c.QueueMonitor, c.Metrics = nil, nil, nil })
	for _, rt := range f.srv.Routes() {
		if strings.HasPrefix(rt.Pattern, "/dev/") || strings.HasPrefix(rt.Pattern, "/admin/queues") || rt.Pattern == "/metrics" {
			t.Errorf("route %s %s registered without its handler", rt.Method, rt.Pattern)
		}
	}
	resp := f.do("GET", "/dev/mail", nil, session(vanthu.RoleAdmin))
	wantStatus(t, resp, http.StatusNotFound)
}
