package web_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/web"
)

func TestUnitsAPI(t *testing.T) {
	f := newFixture(t)
	clerk := bearer(vanthu.RoleClerk)

	// NFD input (as typed on some systems) is stored NFC.
	nfdName := norm.NFD.String("Ủy ban nhân dân phường Phước Hậu")
	if nfdName == norm.NFC.String(nfdName) {
		t.Fatal("test input is not decomposed")
	}
	body := fmt.Sprintf(`{"code":"xa-phuoc-hau","name":%q,"emails":["PhuocHau@VinhLong.gov.vn"],"group":"xa-phuong","order":3}`, nfdName)
	resp := f.json("POST", "/api/v1/units", body, clerk)
	wantStatus(t, resp, http.StatusCreated)
	created := decode[vanthu.Unit](t, resp)
	if created.ID == 0 || created.Code != "XA-PHUOC-HAU" || created.Name != "Ủy ban nhân dân phường Phước Hậu" || !norm.NFC.IsNormalString(created.Name) || !created.Active {
		t.Fatalf("created = %+v", created)
	}
	stored, err := f.store.GetUnit(context.Background(), created.ID)
	if err != nil || stored.Name != norm.NFC.String(nfdName) || stored.Emails[0] != "phuochau@vinhlong.gov.vn" {
		t.Fatalf("stored = %+v, %v", stored, err)
	}

	t.Run("get", func(t *testing.T) {
		resp := f.do("GET", fmt.Sprintf("/api/v1/units/%d", created.ID), nil, bearer(vanthu.RoleViewer))
		wantStatus(t, resp, http.StatusOK)
		if u := decode[vanthu.Unit](t, resp); u.Code != "XA-PHUOC-HAU" {
			t.Errorf("got %+v", u)
		}
		wantStatus(t, f.do("GET", "/api/v1/units/999999", nil, clerk), http.StatusNotFound)
		wantStatus(t, f.do("GET", "/api/v1/units/abc", nil, clerk), http.StatusNotFound)
	})

	t.Run("list and search", func(t *testing.T) {
		resp := f.do("GET", "/api/v1/units?group=xa-phuong&q="+strings.ReplaceAll("phuoc hau", " ", "+"), nil, clerk)
		wantStatus(t, resp, http.StatusOK)
		l := decode[struct {
			Units []vanthu.Unit `json:"units"`
			Count int           `json:"count"`
		}](t, resp)
		if l.Count != 1 || len(l.Units) != 1 || l.Units[0].ID != created.ID {
			t.Errorf("list = %+v", l)
		}
		resp = f.do("GET", "/api/v1/units?group=huyen", nil, clerk)
		wantStatus(t, resp, http.StatusUnprocessableEntity)
		if e := decode[apiError](t, resp); len(e.Error.Problems) != 1 || e.Error.Problems[0].Field != "group" {
			t.Errorf("bad group error = %+v", e)
		}
	})

	t.Run("validation names the field", func(t *testing.T) {
		resp := f.json("POST", "/api/v1/units", `{"code":"STC","name":"Sở Tài chính","emails":["không-phải-thư"],"group":"so-nganh"}`, clerk)
		wantStatus(t, resp, http.StatusUnprocessableEntity)
		e := decode[apiError](t, resp)
		if e.Error.Code != "invalid" || len(e.Error.Problems) == 0 || e.Error.Problems[0].Field != "emails" || e.Error.Message == "" {
			t.Errorf("error = %+v", e)
		}
	})

	t.Run("duplicate is a conflict", func(t *testing.T) {
		resp := f.json("POST", "/api/v1/units", `{"code":"XA-PHUOC-HAU","name":"Trùng mã","emails":["a@b.vn"],"group":"khac"}`, clerk)
		wantStatus(t, resp, http.StatusConflict)
		if e := decode[apiError](t, resp); e.Error.Code != "conflict" {
			t.Errorf("error = %+v", e)
		}
	})

	t.Run("unknown field rejected and named", func(t *testing.T) {
		resp := f.json("POST", "/api/v1/units", `{"code":"A","name":"A","emails":["a@b.vn"],"group":"khac","id":7}`, clerk)
		wantStatus(t, resp, http.StatusUnprocessableEntity)
		if e := decode[apiError](t, resp); len(e.Error.Problems) != 1 || e.Error.Problems[0].Field != "id" {
			t.Errorf("error = %+v", e)
		}
	})

	t.Run("malformed JSON", func(t *testing.T) {
		for _, body := range []string{`{"code":`, `{"code": 12}`, `not json`, `{} {}`} {
			resp := f.json("POST", "/api/v1/units", body, clerk)
			wantStatus(t, resp, http.StatusUnprocessableEntity)
			if e := decode[apiError](t, resp); e.Error.Code != "invalid" || e.Error.Message == "" {
				t.Errorf("%s: error = %+v", body, e)
			}
		}
	})

	t.Run("body too large", func(t *testing.T) {
		big := `{"code":"A","name":"` + strings.Repeat("x", 8<<10) + `","emails":["a@b.vn"],"group":"khac"}`
		resp := f.json("POST", "/api/v1/units", big, clerk)
		wantStatus(t, resp, http.StatusRequestEntityTooLarge)
		if e := decode[apiError](t, resp); e.Error.Code != "too_large" {
			t.Errorf("error = %+v", e)
		}
	})

	t.Run("update and deactivate", func(t *testing.T) {
		path := fmt.Sprintf("/api/v1/units/%d", created.ID)
		resp := f.json("PUT", path, `{"code":"XA-PHUOC-HAU","name":"Phường Phước Hậu","emails":["phuochau@vinhlong.gov.vn","vp@phuochau.vn"],"group":"xa-phuong","order":4}`, clerk)
		wantStatus(t, resp, http.StatusOK)
		if u := decode[vanthu.Unit](t, resp); u.Name != "Phường Phước Hậu" || len(u.Emails) != 2 || u.Order != 4 {
			t.Errorf("updated = %+v", u)
		}
		resp = f.do("POST", path+"/deactivate", nil, clerk)
		wantStatus(t, resp, http.StatusOK)
		if u := decode[vanthu.Unit](t, resp); u.Active {
			t.Error("still active after deactivate")
		}
		resp = f.do("GET", "/api/v1/units?active=true", nil, clerk)
		if l := decode[struct{ Count int }](t, resp); l.Count != 0 {
			t.Errorf("active listing has %d units", l.Count)
		}
		resp = f.do("POST", path+"/activate", nil, clerk)
		if u := decode[vanthu.Unit](t, resp); !u.Active {
			t.Error("not active after activate")
		}
	})

	t.Run("events", func(t *testing.T) {
		resp := f.do("GET", fmt.Sprintf("/api/v1/events?subject=unit:%d", created.ID), nil, bearer(vanthu.RoleViewer))
		wantStatus(t, resp, http.StatusOK)
		ev := decode[struct{ Events []vanthu.Event }](t, resp)
		if len(ev.Events) < 4 {
			t.Fatalf("events = %+v", ev.Events)
		}
		for _, e := range ev.Events {
			if e.Subject != fmt.Sprintf("unit:%d", created.ID) || e.Actor != "u-clerk" {
				t.Errorf("event %+v", e)
			}
		}
		wantStatus(t, f.do("GET", "/api/v1/events", nil, bearer(vanthu.RoleViewer)), http.StatusUnprocessableEntity)
	})
}

func TestUsersAndTokensAPI(t *testing.T) {
	f := newFixture(t)
	admin := bearer(vanthu.RoleAdmin)

	resp := f.json("POST", "/api/v1/users", `{"username":"NguyenVanA","full_name":"Nguyễn Văn A","role":"inspector","password":"ngắn"}`, admin)
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	if e := decode[apiError](t, resp); len(e.Error.Problems) != 1 || e.Error.Problems[0].Field != "password" {
		t.Errorf("short password error = %+v", e)
	}
	resp = f.json("POST", "/api/v1/users", `{"username":"NguyenVanA","full_name":"Nguyễn Văn A","role":"inspector","password":"một-mật-khẩu-dài"}`, admin)
	wantStatus(t, resp, http.StatusCreated)
	b := bodyString(t, resp)
	if strings.Contains(b, "password") || !strings.Contains(b, `"username":"nguyenvana"`) {
		t.Errorf("created user body = %s", b)
	}
	u, err := f.store.GetUserByUsername(context.Background(), "nguyenvana")
	if err != nil || !strings.HasPrefix(u.PasswordHash, "$2") {
		t.Fatalf("stored user = %+v, %v", u, err)
	}
	resp = f.do("GET", "/api/v1/users", nil, admin)
	if l := decode[struct{ Users []vanthu.User }](t, resp); len(l.Users) != len(vanthu.Roles)+1 {
		t.Errorf("users = %d", len(l.Users))
	}

	// A token is created for its owner, works as a bearer, and can be revoked.
	insp := bearer(vanthu.RoleInspector)
	resp = f.json("POST", "/api/v1/tokens", `{"name":"Máy chấm công","expires_in_days":30}`, insp)
	wantStatus(t, resp, http.StatusCreated)
	tok := decode[struct {
		Token  vanthu.Token `json:"token"`
		Secret string       `json:"secret"`
	}](t, resp)
	if tok.Secret == "" || tok.Token.ID == 0 || tok.Token.ExpiresAt == nil {
		t.Fatalf("token = %+v", tok)
	}
	me := f.do("GET", "/api/v1/me", nil, cred{bearer: tok.Secret})
	wantStatus(t, me, http.StatusOK)
	if m := decode[vanthu.User](t, me); m.Username != "u-inspector" {
		t.Errorf("token user = %s", m.Username)
	}
	resp = f.do("GET", "/api/v1/tokens", nil, insp)
	list := decode[struct{ Tokens []vanthu.Token }](t, resp)
	found := false
	for _, x := range list.Tokens {
		found = found || x.ID == tok.Token.ID
	}
	if !found || strings.Contains(fmt.Sprint(list), tok.Secret) {
		t.Errorf("tokens = %+v", list)
	}
	// Another user cannot revoke it.
	wantStatus(t, f.do("DELETE", fmt.Sprintf("/api/v1/tokens/%d", tok.Token.ID), nil, bearer(vanthu.RoleViewer)), http.StatusNotFound)
	wantStatus(t, f.do("DELETE", fmt.Sprintf("/api/v1/tokens/%d", tok.Token.ID), nil, insp), http.StatusNoContent)
	wantStatus(t, f.do("GET", "/api/v1/me", nil, cred{bearer: tok.Secret}), http.StatusUnauthorized)
	wantStatus(t, f.do("GET", "/api/v1/me", nil, cred{}, "Authorization", "Basic abc"), http.StatusUnauthorized)
}

func TestTestMailAPI(t *testing.T) {
	f := newFixture(t)
	resp := f.json("POST", "/api/v1/admin/test-mail", `{"to":"STC@vinhlong.gov.vn"}`, bearer(vanthu.RoleAdmin))
	wantStatus(t, resp, http.StatusAccepted)
	if r := decode[struct {
		TaskID string `json:"task_id"`
	}](t, resp); r.TaskID != "mail:test:1" {
		t.Errorf("task id = %q", r.TaskID)
	}
	f.jobs.mu.Lock()
	mails := f.jobs.mails
	f.jobs.mu.Unlock()
	if len(mails) != 1 || mails[0] != "stc@vinhlong.gov.vn by u-admin" {
		t.Errorf("enqueued = %v", mails)
	}
	resp = f.json("POST", "/api/v1/admin/test-mail", `{"to":"không hợp lệ"}`, bearer(vanthu.RoleAdmin))
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	if e := decode[apiError](t, resp); e.Error.Problems[0].Field != "to" {
		t.Errorf("error = %+v", e)
	}
}

func TestHealth(t *testing.T) {
	f := newFixture(t)
	resp := f.do("GET", "/healthz", nil, cred{})
	wantStatus(t, resp, http.StatusOK)
	if b := bodyString(t, resp); strings.TrimSpace(b) != "ok" {
		t.Errorf("healthz = %q", b)
	}
	wantStatus(t, f.do("GET", "/readyz", nil, cred{}), http.StatusOK)

	f.jobs.mu.Lock()
	f.jobs.pingErr = errors.New("dial tcp 127.0.0.1:6379: connection refused")
	f.jobs.mu.Unlock()
	resp = f.do("GET", "/readyz", nil, cred{})
	wantStatus(t, resp, http.StatusServiceUnavailable)
	r := decode[struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}](t, resp)
	if r.Status != "unavailable" || r.Checks["queue"] != "unavailable" || r.Checks["store"] != "ok" {
		t.Errorf("readyz = %+v", r)
	}
	wantStatus(t, f.do("GET", "/metrics", nil, cred{}), http.StatusOK)
}

func TestObserveRequest(t *testing.T) {
	// The hook runs after the response is written, so it reports on a
	// channel rather than a slice the test would read too early.
	got := make(chan string, 10)
	f := newFixture(t, func(c *web.Config) {
		c.ObserveRequest = func(method, route string, status int, _ time.Duration) {
			got <- fmt.Sprintf("%s %s %d", method, route, status)
		}
	})
	for _, tc := range []struct {
		path string
		want string
	}{
		{"/api/v1/units/42", "GET GET /api/v1/units/{id} 404"},
		{"/nowhere", "GET unmatched 404"},
	} {
		f.do("GET", tc.path, nil, bearer(vanthu.RoleViewer))
		select {
		case g := <-got:
			if g != tc.want {
				t.Errorf("observed %q, want %q", g, tc.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no observation", tc.path)
		}
	}
}

// brokenStore fails or panics in ListUnits, as a store with a bug would.
type brokenStore struct {
	web.Store
	panic bool
}

func (b brokenStore) ListUnits(ctx context.Context, f vanthu.UnitFilter) ([]vanthu.Unit, error) {
	if b.panic {
		panic("nil map in store")
	}
	return nil, errors.New(`sql: relation "units_secret" does not exist`)
}

func TestInternalErrorsDoNotLeak(t *testing.T) {
	for _, panics := range []bool{false, true} {
		f := newFixture(t, func(c *web.Config) { c.Store = brokenStore{Store: c.Store, panic: panics} })
		resp := f.do("GET", "/api/v1/units", nil, bearer(vanthu.RoleViewer))
		wantStatus(t, resp, http.StatusInternalServerError)
		e := decode[apiError](t, resp)
		if e.Error.Code != "internal" || e.Error.Message != vanthu.ErrorMessageOf(errors.New("x")) || strings.Contains(e.Error.Message, "units_secret") {
			t.Errorf("panic=%v: error = %+v", panics, e)
		}
		resp = f.do("GET", "/units", nil, session(vanthu.RoleViewer))
		wantStatus(t, resp, http.StatusInternalServerError)
		if b := bodyString(t, resp); strings.Contains(b, "units_secret") || strings.Contains(b, "nil map") || !strings.Contains(b, "Lỗi hệ thống") {
			t.Errorf("panic=%v: page leaks or lacks message:\n%s", panics, b)
		}
		// The server keeps serving.
		wantStatus(t, f.do("GET", "/healthz", nil, cred{}), http.StatusOK)
	}
}
