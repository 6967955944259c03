package web_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/render"
	"github.com/sonoivu/vanthu/internal/sign"
	"github.com/sonoivu/vanthu/internal/web"
)

// signedMinutes is a PDF rendered by the document engine and signed by the
// inspector of a fresh development CA, with what the tests expect to see.
type signedMinutes struct {
	unsigned []byte
	pdf      []byte
	signer   *sign.Signer
	roots    *x509.CertPool // the CA that issued the inspector's certificate
	at       time.Time      // the signing time
}

func newSignedMinutes(t *testing.T) signedMinutes {
	t.Helper()
	doc, err := render.PDF(render.SampleDirective())
	if err != nil {
		t.Fatal(err)
	}
	ca, p12, pw, err := sign.DevCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	signer, err := sign.LoadPKCS12(p12, pw)
	if err != nil {
		t.Fatal(err)
	}
	roots, err := sign.LoadRoots(ca)
	if err != nil {
		t.Fatal(err)
	}
	m := signedMinutes{unsigned: doc, signer: signer, roots: roots, at: time.Now().Add(-time.Hour).Truncate(time.Minute)}
	m.pdf = m.sign(t, doc)
	return m
}

func (m signedMinutes) sign(t *testing.T, doc []byte) []byte {
	t.Helper()
	out, err := m.signer.Sign(context.Background(), doc, sign.Options{Reason: "Ký biên bản kiểm tra", Location: "Vĩnh Long", Time: m.at})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tampered flips one letter of the document's title, inside the signed bytes.
func tampered(t *testing.T, doc []byte) []byte {
	t.Helper()
	i := bytes.Index(doc, []byte("/Title"))
	if i < 0 {
		t.Fatal("no /Title in the document")
	}
	out := bytes.Clone(doc)
	out[i+12] ^= 0x01
	return out
}

// otherRoots is the CA of another, unrelated development CA.
func otherRoots(t *testing.T) *x509.CertPool {
	t.Helper()
	ca, _, _, err := sign.DevCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	roots, err := sign.LoadRoots(ca)
	if err != nil {
		t.Fatal(err)
	}
	return roots
}

// pdfForm is a multipart form holding one file in the given field.
func pdfForm(t *testing.T, field, name string, data []byte) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, err := mw.CreateFormFile(field, name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &b, mw.FormDataContentType()
}

func (f *fixture) upload(path, name string, data []byte, c cred) *http.Response {
	f.t.Helper()
	body, ctype := pdfForm(f.t, "file", name, data)
	return f.do("POST", path, body, c, "Content-Type", ctype)
}

// verifyResult is the JSON answer of POST /api/v1/verify.
type verifyResult struct {
	OK         bool   `json:"ok"`
	Verdict    string `json:"verdict"`
	Title      string `json:"title"`
	Message    string `json:"message"`
	File       string `json:"file"`
	Size       int64  `json:"size"`
	Signatures []struct {
		Number       int        `json:"number"`
		SignerName   string     `json:"signer_name"`
		SignerOrg    string     `json:"signer_org"`
		Issuer       string     `json:"issuer"`
		SignedAt     *time.Time `json:"signed_at"`
		Reason       string     `json:"reason"`
		Valid        bool       `json:"valid"`
		Problem      string     `json:"problem"`
		StatusText   string     `json:"status_text"`
		Coverage     string     `json:"coverage"`
		CoverageText string     `json:"coverage_text"`
		Change       string     `json:"change"`
		Chain        string     `json:"chain"`
		ChainText    string     `json:"chain_text"`
		ChainProblem string     `json:"chain_problem"`
	} `json:"signatures"`
}

// withRoots sets the trust anchors and an upload limit the signed sample
// fits in (the fixture's 64 KiB does not: that is the over-limit case).
func withRoots(roots *x509.CertPool) fixtureOpt {
	return func(c *web.Config) { c.SignRoots, c.MaxUploadBytes = roots, 1<<20 }
}

func TestVerifyReports(t *testing.T) {
	m := newSignedMinutes(t)
	twice := m.sign(t, m.pdf)
	appended := append(bytes.Clone(m.pdf), "% thêm sau khi ký\n"...)
	type sig struct{ valid, coverage, chain string }
	tests := []struct {
		name    string
		roots   *x509.CertPool
		pdf     []byte
		verdict string
		class   string   // of the banner
		sigs    []sig    // per signature: valid ("true"/"false"), coverage, chain
		page    []string // on the page besides the banner
	}{
		{"valid", m.roots, m.pdf, "valid", "ok", []sig{{"true", "whole", "trusted"}},
			[]string{"Chữ ký số hợp lệ", "Chữ ký hợp lệ", "Văn bản không bị thay đổi sau khi ký", "Chứng thư số do cơ quan tin cậy cấp"}},
		{"two signatures", m.roots, twice, "valid", "ok", []sig{{"true", "signatures_only", "trusted"}, {"true", "whole", "trusted"}},
			[]string{"Sau chữ ký này chỉ có thêm chữ ký khác", "Văn bản không bị thay đổi sau khi ký"}},
		{"tampered byte", m.roots, tampered(t, m.pdf), "invalid", "error", []sig{{"false", "unknown", "not_checked"}},
			[]string{"Chữ ký số không hợp lệ", "Chữ ký không hợp lệ: mã băm không khớp"}},
		{"appended after signing", m.roots, appended, "invalid", "error", []sig{{"true", "modified", "trusted"}},
			[]string{"Văn bản đã bị thay đổi sau khi ký", "byte được thêm vào sau vùng đã ký"}},
		{"unrelated root", otherRoots(t), m.pdf, "untrusted", "error", []sig{{"true", "whole", "untrusted"}},
			[]string{"Chứng thư số không thuộc cơ quan tin cậy đã cấu hình", "Văn bản không bị thay đổi sau khi ký"}},
		{"no roots", nil, m.pdf, "unchecked", "warn", []sig{{"true", "whole", "not_configured"}},
			[]string{"Chưa cấu hình cơ quan tin cậy", "chưa khẳng định được người ký"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, withRoots(tt.roots))

			// The API, anonymous: multipart, and the raw body.
			for _, resp := range []*http.Response{
				f.upload("/api/v1/verify", "biên bản.pdf", tt.pdf, cred{}),
				f.do("POST", "/api/v1/verify", bytes.NewReader(tt.pdf), cred{}, "Content-Type", "application/pdf"),
			} {
				wantStatus(t, resp, http.StatusOK)
				res := decode[verifyResult](t, resp)
				if res.OK != (tt.verdict == "valid") || res.Verdict != tt.verdict || res.Size != int64(len(tt.pdf)) || res.Message == "" {
					t.Errorf("ok=%v verdict=%q size=%d message=%q, want verdict %q", res.OK, res.Verdict, res.Size, res.Message, tt.verdict)
				}
				if len(res.Signatures) != len(tt.sigs) {
					t.Fatalf("%d signatures, want %d: %+v", len(res.Signatures), len(tt.sigs), res.Signatures)
				}
				for i, want := range tt.sigs {
					s := res.Signatures[i]
					got := sig{strconv.FormatBool(s.Valid), s.Coverage, s.Chain}
					if got != want {
						t.Errorf("signature %d = %+v, want %+v (%+v)", i+1, got, want, s)
					}
					if s.SignerName != sign.DevInspectorName || s.SignerOrg != sign.DevInspectorOrg || s.Issuer != sign.DevCAName || s.Number != i+1 {
						t.Errorf("signature %d: signer %q, %q, issuer %q, number %d", i+1, s.SignerName, s.SignerOrg, s.Issuer, s.Number)
					}
					if s.SignedAt == nil || !s.SignedAt.Equal(m.at) || !strings.HasSuffix(s.SignedAt.Format(time.RFC3339), "+07:00") {
						t.Errorf("signature %d signed_at = %v, want %v in +07:00", i+1, s.SignedAt, m.at)
					}
					if !s.Valid && !strings.HasPrefix(s.StatusText, "Chữ ký không hợp lệ: ") || s.Valid && s.StatusText != "Chữ ký hợp lệ" {
						t.Errorf("signature %d status_text = %q", i+1, s.StatusText)
					}
					if s.Chain == "untrusted" && s.ChainProblem == "" {
						t.Errorf("signature %d: untrusted without the reason", i+1)
					}
				}
			}

			// The page, anonymous: the same report for people.
			resp := f.upload("/xac-minh", "biên bản <kiểm tra>.pdf", tt.pdf, cred{})
			wantStatus(t, resp, http.StatusOK)
			page := bodyString(t, resp)
			banner := `<div class="` + tt.class + ` verdict" id="verdict" role="status" data-verdict="` + tt.verdict + `">`
			want := append([]string{banner, sign.DevInspectorName, sign.DevInspectorOrg, m.at.In(vanthu.Location).Format("02/01/2006 15:04"),
				"Ký biên bản kiểm tra", "biên bản &lt;kiểm tra&gt;.pdf", `id="verify-form"`}, tt.page...)
			for _, w := range want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			if tt.verdict != "valid" && strings.Contains(page, "Chữ ký số hợp lệ<") {
				t.Error("page shows the valid banner")
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	m := newSignedMinutes(t)
	tests := []struct {
		name    string
		limit   int64 // 0: the fixture's 64 KiB
		body    func() (io.Reader, string)
		status  int
		code    string
		message string
	}{
		{"not a PDF", 1 << 20, func() (io.Reader, string) { return pdfForm(t, "file", "bien-ban.docx", []byte("PK\x03\x04 not a pdf")) },
			http.StatusUnprocessableEntity, "invalid", "Tệp không phải là PDF."},
		{"empty file", 1 << 20, func() (io.Reader, string) { return pdfForm(t, "file", "rong.pdf", nil) },
			http.StatusUnprocessableEntity, "invalid", "Tệp rỗng"},
		{"no file field", 1 << 20, func() (io.Reader, string) { return pdfForm(t, "other", "x.pdf", m.pdf) },
			http.StatusUnprocessableEntity, "invalid", "Chưa chọn tệp PDF để xác minh."},
		{"empty body", 1 << 20, func() (io.Reader, string) { return strings.NewReader(""), "application/pdf" },
			http.StatusUnprocessableEntity, "invalid", "Tệp rỗng"},
		{"unsigned PDF", 1 << 20, func() (io.Reader, string) { return pdfForm(t, "file", "chua-ky.pdf", m.unsigned) },
			http.StatusUnprocessableEntity, "invalid", "Tệp PDF không có chữ ký số."},
		{"over the limit", 0, func() (io.Reader, string) { return pdfForm(t, "file", "bien-ban.pdf", m.pdf) },
			http.StatusRequestEntityTooLarge, "too_large", "Tệp quá lớn: chỉ nhận tệp PDF đến 64 KiB."},
	}
	// Nothing of an upload is kept: not even a temporary file.
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *web.Config) {
				if tt.limit > 0 {
					c.MaxUploadBytes = tt.limit
				}
			})
			body, ctype := tt.body()
			resp := f.do("POST", "/api/v1/verify", body, cred{}, "Content-Type", ctype)
			wantStatus(t, resp, tt.status)
			e := decode[apiError](t, resp)
			if e.Error.Code != tt.code || !strings.Contains(e.Error.Message, tt.message) {
				t.Errorf("API error = %+v, want %s %q", e.Error, tt.code, tt.message)
			}

			body, ctype = tt.body()
			resp = f.do("POST", "/xac-minh", body, cred{}, "Content-Type", ctype)
			wantStatus(t, resp, tt.status)
			page := bodyString(t, resp)
			if !strings.Contains(page, `id="verify-error">`+tt.message) || !strings.Contains(page, `id="verify-file"`) || strings.Contains(page, `id="verdict"`) {
				t.Errorf("page for %s lacks the message %q or the form:\n%s", tt.name, tt.message, page)
			}
		})
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("uploads left files behind: %v", left)
	}
}

// manualClock is a settable clock for the rate limiter.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestVerifyRateLimit(t *testing.T) {
	clock := &manualClock{now: time.Now()}
	f := newFixture(t, func(c *web.Config) { c.Now = clock.Now })
	notPDF := []byte("không phải PDF")
	// Page and API share the count: 30 uploads in the window pass (bad
	// ones count too), the 31st is refused.
	for i := range 30 {
		path := "/api/v1/verify"
		if i%2 == 1 {
			path = "/xac-minh"
		}
		if resp := f.upload(path, "x.pdf", notPDF, cred{}); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("upload %d to %s: %d", i+1, path, resp.StatusCode)
		}
	}
	resp := f.upload("/api/v1/verify", "x.pdf", notPDF, cred{})
	wantStatus(t, resp, http.StatusTooManyRequests)
	if e := decode[apiError](t, resp); e.Error.Code != "rate_limited" || !strings.Contains(e.Error.Message, "quá nhiều tệp") {
		t.Errorf("429 body = %+v", e)
	}
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra <= 0 || ra > 601 {
		t.Errorf("Retry-After = %q", resp.Header.Get("Retry-After"))
	}
	resp = f.upload("/xac-minh", "x.pdf", notPDF, cred{})
	wantStatus(t, resp, http.StatusTooManyRequests)
	if page := bodyString(t, resp); !strings.Contains(page, "Đã gửi quá nhiều tệp để xác minh") {
		t.Error("429 page lacks the message")
	}
	// The form itself still opens.
	wantStatus(t, f.do("GET", "/xac-minh", nil, cred{}), http.StatusOK)

	clock.add(11 * time.Minute)
	wantStatus(t, f.upload("/api/v1/verify", "x.pdf", notPDF, cred{}), http.StatusUnprocessableEntity)
}

// TestVerifyPublicAndLinked: the page needs no login, keeps the navigation
// of a logged-in user, and is linked from the login page and the menu.
func TestVerifyPublicAndLinked(t *testing.T) {
	f := newFixture(t)
	resp := f.do("GET", "/xac-minh", nil, cred{})
	wantStatus(t, resp, http.StatusOK)
	page := bodyString(t, resp)
	for _, want := range []string{`<form method="post" action="/xac-minh" enctype="multipart/form-data"`, `type="file"`, `accept="application/pdf,.pdf"`, "Tối đa 64 KiB", `name="viewport"`} {
		if !strings.Contains(page, want) {
			t.Errorf("form page lacks %q", want)
		}
	}
	if strings.Contains(page, "Đăng xuất") {
		t.Error("anonymous page shows a logged-in menu")
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("CSP = %q", csp)
	}

	resp = f.do("GET", "/xac-minh", nil, session(vanthu.RoleViewer))
	wantStatus(t, resp, http.StatusOK)
	if page := bodyString(t, resp); !strings.Contains(page, "Đăng xuất") || !strings.Contains(page, "Người dùng Theo dõi") {
		t.Error("a logged-in user loses the menu on /xac-minh")
	}

	resp = f.do("GET", "/login", nil, cred{})
	if page := bodyString(t, resp); !strings.Contains(page, `<a href="/xac-minh">Xác minh chữ ký</a>`) {
		t.Error("login page lacks the link to /xac-minh")
	}
	resp = f.do("GET", "/units", nil, session(vanthu.RoleViewer))
	wantStatus(t, resp, http.StatusOK)
	if page := bodyString(t, resp); !strings.Contains(page, `<a href="/xac-minh">Xác minh chữ ký</a>`) {
		t.Error("menu lacks the link to /xac-minh")
	}

	for _, rt := range f.srv.Routes() {
		if rt.Pattern == "/xac-minh" || rt.Pattern == "/api/v1/verify" {
			if rt.Auth != web.AuthNone || rt.Roles != nil {
				t.Errorf("%s %s is not public", rt.Method, rt.Pattern)
			}
		}
	}
}
