package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/store"
	"github.com/sonoivu/vanthu/internal/testenv"
	"github.com/sonoivu/vanthu/internal/web"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// password is every fixture user's password.
const password = "mat-khau-thu-nghiem"

// fixture is a running server with one user per role, each holding an API
// token ("api-<role>") and a session ("sess-<role>").
type fixture struct {
	t     *testing.T
	srv   *web.Server
	store web.Store
	jobs  *fakeJobs
	dirs  *fakeDirectives
	st    *store.Store // the same store, for state changes the API does not offer
	http  *httptest.Server
	users map[vanthu.Role]vanthu.User
}

type fixtureOpt func(*web.Config)

func newFixture(t *testing.T, opts ...fixtureOpt) *fixture {
	t.Helper()
	ctx := context.Background()
	st := openStore(t)
	f := &fixture{t: t, store: st, jobs: &fakeJobs{}, users: map[vanthu.Role]vanthu.User{}}
	f.st = st.(*store.Store)
	f.dirs = &fakeDirectives{st: f.st}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range vanthu.Roles {
		u := vanthu.User{Username: "u-" + string(r), FullName: "Người dùng " + r.Label(), Role: r, PasswordHash: string(hash), Active: true}
		if err := st.CreateUser(ctx, &u, "test"); err != nil {
			t.Fatal(err)
		}
		f.users[r] = u
		for kind, secret := range map[string]string{vanthu.TokenAPI: "api-" + string(r), vanthu.TokenSession: "sess-" + string(r)} {
			exp := time.Now().Add(time.Hour)
			if err := st.CreateToken(ctx, &vanthu.Token{UserID: u.ID, Kind: kind, Name: "fixture", Hash: web.HashSecret(secret), ExpiresAt: &exp}); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfg := web.Config{
		Store: st, Jobs: f.jobs, Directives: f.dirs,
		QueueMonitor: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "asynqmon") }),
		Metrics:      http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "metrics") }),
		Mail: fakeMail{msgs: map[string][]web.MailMessage{"stc@vinhlong.gov.vn": {{
			UID: 1, From: "vanthu@snv.test", To: "stc@vinhlong.gov.vn", Subject: "Chỉ thị số 02/CT-UBND", Date: time.Now(),
			Text: "Kính gửi Sở Tài chính", HTML: `<p>Xin chào</p><script>alert("x")</script>`,
			Attachments: []web.MailAttachment{{Filename: "chi-thi.pdf", ContentType: "application/pdf", Size: 2048}},
			Raw:         []byte("Subject: test\r\n\r\n<script>raw</script>"),
		}}}},
		MaxBodyBytes:   4 << 10,
		MaxUploadBytes: 64 << 10,
	}
	for _, o := range opts {
		o(&cfg)
	}
	f.srv, err = web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.http = httptest.NewServer(f.srv.Handler())
	t.Cleanup(f.http.Close)
	return f
}

// cred says how a request authenticates.
type cred struct {
	bearer  string
	session string
}

func bearer(r vanthu.Role) cred  { return cred{bearer: "api-" + string(r)} }
func session(r vanthu.Role) cred { return cred{session: "sess-" + string(r)} }

// do sends a request without following redirects.
func (f *fixture) do(method, path string, body io.Reader, c cred, hdr ...string) *http.Response {
	f.t.Helper()
	req, err := http.NewRequest(method, f.http.URL+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	if c.session != "" {
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: c.session})
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (f *fixture) json(method, path, body string, c cred) *http.Response {
	f.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	return f.do(method, path, r, c, "Content-Type", "application/json")
}

// apiError is the JSON error body.
type apiError struct {
	Error struct {
		Code     string           `json:"code"`
		Message  string           `json:"message"`
		Problems []vanthu.Problem `json:"problems"`
	} `json:"error"`
}

func decode[T any](t *testing.T, resp *http.Response) T {
	t.Helper()
	var v T
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v\n%s", resp.Request.URL.Path, err, b)
	}
	return v
}

func bodyString(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantStatus(t *testing.T, resp *http.Response, want int) {
	t.Helper()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: status %d, want %d\n%s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, want, b)
	}
}

// newBrowser starts headless Chromium (chromium is testenv.Chromium's
// path) with the flags this sandbox needs, and returns a context driving
// one tab for at most timeout; everything stops at the test's cleanup.
func newBrowser(t *testing.T, chromium string, timeout time.Duration) context.Context {
	t.Helper()
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	bctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	bctx, cancelTimeout := context.WithTimeout(bctx, timeout)
	t.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })
	return bctx
}
