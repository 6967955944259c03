package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/sign"
)

// The signature verification page (/xac-minh) and API (/api/v1/verify) are
// public: whoever received signed minutes may check them. What makes a
// signature worth trusting is the signer's certificate chain up to the
// configured anchors (Config.SignRoots), not a login. The uploaded file is
// read into memory, checked and forgotten: nothing is stored.
//
// The web layer calls internal/sign directly, as it calls unitfile to parse
// imports: Verify is a pure function of the bytes and the anchors, so there
// is nothing to put behind an interface, and its Report (with OK, the one
// definition of "intact as signed") is used as is rather than copied into a
// look-alike type that cmd would have to convert.

// maxVerifyUploads uploads from one address within verifyWindow block that
// address for the window: every upload makes the server parse an untrusted
// PDF, so a client must not be able to make it do so at speed.
const (
	maxVerifyUploads = 30
	verifyWindow     = 10 * time.Minute
)

// Verdicts of a verification, from best to worst; part of the JSON API.
const (
	verdictValid     = "valid"     // intact, every signer chains to an anchor
	verdictUnchecked = "unchecked" // intact, but no anchors are configured
	verdictUntrusted = "untrusted" // intact, but a signer does not chain to an anchor
	verdictInvalid   = "invalid"   // a signature fails or the document changed after signing
)

// verifyResult is the answer to a verification, shown by the page and
// returned by the API.
type verifyResult struct {
	// OK: every signature is valid, the document is unchanged after them
	// and every signer's certificate chains to a configured anchor.
	OK         bool              `json:"ok"`
	Verdict    string            `json:"verdict"`
	Title      string            `json:"title"`
	Message    string            `json:"message"`
	File       string            `json:"file,omitempty"`
	Size       int64             `json:"size"`
	Signatures []signatureResult `json:"signatures"`

	Class    string `json:"-"` // the banner's CSS class
	SizeText string `json:"-"`
}

// signatureResult is one signature of a verifyResult.
type signatureResult struct {
	Number       int        `json:"number"` // 1-based, in signing order
	Field        string     `json:"field,omitempty"`
	SignerName   string     `json:"signer_name"`
	SignerOrg    string     `json:"signer_org,omitempty"`
	Issuer       string     `json:"issuer,omitempty"` // the certificate issuer's common name
	SignedAt     *time.Time `json:"signed_at,omitempty"`
	Reason       string     `json:"reason,omitempty"`
	Location     string     `json:"location,omitempty"`
	Valid        bool       `json:"valid"`
	Problem      string     `json:"problem,omitempty"`
	StatusText   string     `json:"status_text"`
	Coverage     string     `json:"coverage"` // whole, signatures_only, modified, unknown
	CoverageText string     `json:"coverage_text"`
	Change       string     `json:"change,omitempty"`
	Chain        string     `json:"chain"` // trusted, untrusted, not_configured, not_checked
	ChainText    string     `json:"chain_text"`
	ChainProblem string     `json:"chain_problem,omitempty"`
}

// verifyPage is the data of the verification page.
type verifyPage struct {
	Result *verifyResult
	Error  string
	Limit  string // the upload limit, for the hint under the file input
}

func (s *Server) pageVerifyForm(w http.ResponseWriter, r *http.Request) error {
	r = s.withOptionalUser(r)
	return s.renderVerify(w, r, http.StatusOK, verifyPage{})
}

func (s *Server) pageVerify(w http.ResponseWriter, r *http.Request) error {
	r = s.withOptionalUser(r)
	res, err := s.verifyUpload(w, r)
	switch code := vanthu.ErrorCodeOf(err); code {
	case "":
		return s.renderVerify(w, r, http.StatusOK, verifyPage{Result: &res})
	case vanthu.EInvalid, vanthu.ETooLarge, vanthu.ERateLimited:
		// The same page with the form, so that another file can be tried.
		s.logError(r, err)
		return s.renderVerify(w, r, vanthu.HTTPStatus(code), verifyPage{Error: vanthu.ErrorMessageOf(err)})
	}
	return err
}

func (s *Server) apiVerify(w http.ResponseWriter, r *http.Request) error {
	res, err := s.verifyUpload(w, r)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, res)
	return nil
}

func (s *Server) renderVerify(w http.ResponseWriter, r *http.Request, status int, p verifyPage) error {
	p.Limit = humanBytes(s.cfg.MaxUploadBytes)
	return s.render(w, r, status, "verify", "Xác minh chữ ký số", p)
}

// withOptionalUser adds the logged-in user, if any, to a public page's
// request, so that staff who open it keep their navigation.
func (s *Server) withOptionalUser(r *http.Request) *http.Request {
	if c, err := r.Cookie(SessionCookie); err != nil || c.Value == "" {
		return r
	}
	u, err := s.authenticate(r, AuthSession)
	if err != nil {
		return r
	}
	if info, ok := r.Context().Value(keyInfo).(*reqInfo); ok {
		info.user = u.Username
	}
	return r.WithContext(context.WithValue(r.Context(), keyUser, u))
}

// verifyUpload rate-limits the caller, reads the uploaded PDF and checks its
// signatures.
func (s *Server) verifyUpload(w http.ResponseWriter, r *http.Request) (verifyResult, error) {
	ip := clientIP(r)
	if wait := s.verifyLimiter.blocked(ip); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return verifyResult{}, vanthu.Errorf(vanthu.ERateLimited,
			"Đã gửi quá nhiều tệp để xác minh. Vui lòng thử lại sau %d phút.", int(wait.Minutes())+1)
	}
	// Every upload counts, good or bad: the cost is in parsing it.
	s.verifyLimiter.fail(ip)

	doc, name, err := uploadedPDF(r, s.cfg.MaxUploadBytes)
	if err != nil {
		return verifyResult{}, err
	}
	rep, err := sign.Verify(r.Context(), doc, s.cfg.SignRoots)
	if err != nil {
		// EInvalid (not a PDF, unreadable, no signature) keeps its
		// Vietnamese message; anything else is ours.
		return verifyResult{}, fmt.Errorf("verify signatures: %w", withFileProblem(err))
	}
	res := newVerifyResult(rep, s.cfg.SignRoots != nil, name)
	s.log.InfoContext(r.Context(), "signatures verified",
		slog.Int64("size", res.Size), slog.Int("signatures", len(res.Signatures)),
		slog.String("verdict", res.Verdict), slog.String("ip", ip))
	return res, nil
}

// withFileProblem points an EInvalid answer at the "file" field, as the
// unit import does, so that API clients know which input was wrong.
func withFileProblem(err error) error {
	var e *vanthu.Error
	if !errors.As(err, &e) || e.Code != vanthu.EInvalid || len(e.Problems) > 0 {
		return err
	}
	return &vanthu.Error{Code: e.Code, Message: e.Message, Err: e.Err,
		Problems: []vanthu.Problem{{Field: "file", Message: e.Message}}}
}

// uploadedPDF returns the file of the multipart field "file", or else the
// whole body (an API client posting application/pdf). The parts are
// streamed into memory, never to temporary files: the body is capped at
// limit by the route, and nothing of an upload is kept.
func uploadedPDF(r *http.Request, limit int64) (doc []byte, name string, err error) {
	noFile := vanthu.Invalid("Chưa chọn tệp PDF để xác minh.", vanthu.Problem{Field: "file", Message: "Cần gửi tệp PDF trong trường \"file\"."})
	empty := vanthu.Invalid("Tệp rỗng: hãy chọn tệp PDF đã ký số.", vanthu.Problem{Field: "file", Message: "Tệp không có nội dung."})
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		doc, err = io.ReadAll(r.Body)
		if err != nil {
			return nil, "", uploadError(err, limit)
		}
		if len(doc) == 0 {
			return nil, "", empty
		}
		return doc, "", nil
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", uploadError(err, limit)
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, "", noFile
		}
		if err != nil {
			return nil, "", uploadError(err, limit)
		}
		if p.FormName() != "file" {
			continue // NextPart skips what is left of it
		}
		doc, err := io.ReadAll(p)
		if err != nil {
			return nil, "", uploadError(err, limit)
		}
		name := displayName(p.FileName())
		switch {
		case len(doc) == 0 && name == "":
			return nil, "", noFile
		case len(doc) == 0:
			return nil, "", empty
		}
		return doc, name, nil
	}
}

// uploadError is the answer to a failed read of the upload: 413 with the
// limit for an oversized one, else 422.
func uploadError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &vanthu.Error{Code: vanthu.ETooLarge, Err: err,
			Message: fmt.Sprintf("Tệp quá lớn: chỉ nhận tệp PDF đến %s.", humanBytes(limit))}
	}
	return &vanthu.Error{Code: vanthu.EInvalid, Message: "Không đọc được tệp gửi lên.", Err: err}
}

// displayName keeps an uploaded file's name printable and short: it is
// shown back and may be anything.
func displayName(name string) string {
	name = strings.ToValidUTF8(strings.TrimSpace(name), "�")
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	if utf8.RuneCountInString(name) > 120 {
		name = string([]rune(name)[:120]) + "…"
	}
	return name
}

// newVerifyResult describes a report for people (Vietnamese) and programs
// (the codes). rootsSet tells "no anchors configured" from "not checked".
func newVerifyResult(rep sign.Report, rootsSet bool, name string) verifyResult {
	res := verifyResult{File: name, Size: rep.Size, SizeText: sizeText(rep.Size), Signatures: []signatureResult{}}
	untrusted := false
	for i, sg := range rep.Signatures {
		out := signatureResult{
			Number: i + 1, Field: sg.Field, SignerName: sg.SignerName, SignerOrg: sg.SignerOrg,
			Reason: sg.Reason, Location: sg.Location, Valid: sg.Valid, Problem: sg.Problem,
		}
		if sg.Certificate != nil {
			out.Issuer = sg.Certificate.Issuer.CommonName
		}
		if !sg.Time.IsZero() {
			t := sg.Time.In(vanthu.Location)
			out.SignedAt = &t
		}
		if sg.Valid {
			out.StatusText = "Chữ ký hợp lệ"
		} else {
			out.StatusText = "Chữ ký không hợp lệ: " + sg.Problem
		}
		switch {
		case !sg.Valid:
			// The byte range may reach the end of the file and still
			// cover changed bytes: say nothing reassuring.
			out.Coverage, out.CoverageText = "unknown", "Không xác định được vì chữ ký không hợp lệ"
		case sg.Coverage == sign.CoversWhole:
			out.Coverage, out.CoverageText = "whole", "Văn bản không bị thay đổi sau khi ký"
		case sg.Coverage == sign.CoversSigned:
			out.Coverage, out.CoverageText = "signatures_only", "Sau chữ ký này chỉ có thêm chữ ký khác"
		default:
			out.Coverage, out.CoverageText, out.Change = "modified", "Văn bản đã bị thay đổi sau khi ký", sg.Change
		}
		switch {
		case !rootsSet:
			out.Chain, out.ChainText = "not_configured", "Chưa cấu hình cơ quan tin cậy"
		case sg.Chain == sign.ChainTrusted:
			out.Chain, out.ChainText = "trusted", "Chứng thư số do cơ quan tin cậy cấp"
		case sg.Chain == sign.ChainUntrusted:
			out.Chain, out.ChainText, out.ChainProblem = "untrusted", "Chứng thư số không thuộc cơ quan tin cậy đã cấu hình", sg.ChainProblem
			untrusted = true
		default: // anchors configured, but an invalid signature's chain is not checked
			out.Chain, out.ChainText = "not_checked", "Không kiểm tra chứng thư số vì chữ ký không hợp lệ"
		}
		res.Signatures = append(res.Signatures, out)
	}
	switch {
	case !intact(rep):
		res.Verdict, res.Class = verdictInvalid, "error"
		res.Title = "Chữ ký số không hợp lệ"
		res.Message = "Chữ ký số không hợp lệ hoặc văn bản đã bị thay đổi sau khi ký: không dùng tệp này làm căn cứ."
	case untrusted:
		res.Verdict, res.Class = verdictUntrusted, "error"
		res.Title = "Chứng thư số không thuộc cơ quan tin cậy"
		res.Message = "Văn bản không bị thay đổi sau khi ký, nhưng chứng thư số của người ký không do cơ quan tin cậy đã cấu hình cấp: không khẳng định được ai đã ký."
	case !rootsSet:
		res.Verdict, res.Class = verdictUnchecked, "warn"
		res.Title = "Chữ ký số còn nguyên vẹn, chưa xác định được cơ quan cấp chứng thư"
		res.Message = "Văn bản không bị thay đổi sau khi ký, nhưng máy chủ chưa cấu hình cơ quan tin cậy nên chưa khẳng định được người ký."
	default:
		res.OK, res.Verdict, res.Class = true, verdictValid, "ok"
		res.Title = "Chữ ký số hợp lệ"
		res.Message = "Văn bản có chữ ký số hợp lệ, không bị thay đổi sau khi ký; chứng thư số do cơ quan tin cậy cấp."
	}
	return res
}

// intact reports whether the document is as signed, leaving aside who
// issued the certificates: Report.OK with every chain taken as unchecked.
func intact(rep sign.Report) bool {
	rep.Signatures = slices.Clone(rep.Signatures)
	for i := range rep.Signatures {
		rep.Signatures[i].Chain = sign.ChainNotChecked
	}
	return rep.OK()
}

// sizeText is a file size for people: "72,2 KiB".
func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return strings.Replace(fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)), ".", ",", 1)
	case n >= 1<<10:
		return strings.Replace(fmt.Sprintf("%.1f KiB", float64(n)/(1<<10)), ".", ",", 1)
	}
	return fmt.Sprintf("%d byte", n)
}
