// Package sign adds PAdES digital signatures to PDF documents and checks them.
//
// PAdES: a CMS (PKCS#7) signature over every byte of the file but its own
// value (/ByteRange) sits in a signature dictionary appended as an
// incremental update. A further signature appends a further update, so the
// bytes an earlier one covered never change.
//
// The PDF structure (the appended objects, cross-reference section, field and
// catalog) is written by github.com/digitorus/pdfsign; the CMS signature is
// built here, so that its SubFilter is ETSI.CAdES.detached, its signing time
// is the one asked for and its signed attributes carry signing-certificate-v2.
// Verify parses the CMS with github.com/digitorus/pkcs7, an implementation
// independent of the encoder in this package, and the tests check the output
// with poppler's pdfsig (NSS) and qpdf.
package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/digitorus/pdf"
	pdfsign "github.com/digitorus/pdfsign/sign"
	"golang.org/x/text/unicode/norm"

	"github.com/sonoivu/vanthu"
)

// Signer holds a signing key and the certificate that names its holder.
// The key is any crypto.Signer, so a PKCS#11 device or a remote signing
// service can stand in for a key file later.
type Signer struct {
	key   crypto.Signer
	cert  *x509.Certificate
	chain []*x509.Certificate // issuers of cert, nearest first
}

// New checks that key belongs to cert and orders the issuer certificates in
// chain from cert's issuer upwards (certificates that are not on the path are
// dropped). Only RSA and ECDSA keys are accepted: they are the ones PDF
// readers verify.
func New(key crypto.Signer, cert *x509.Certificate, chain []*x509.Certificate) (*Signer, error) {
	if key == nil || cert == nil {
		return nil, vanthu.Errorf(vanthu.EInvalid, "Thiếu khoá ký hoặc chứng thư số.")
	}
	switch key.Public().(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
	default:
		return nil, &vanthu.Error{Code: vanthu.EInvalid,
			Message: "Khoá ký không được hỗ trợ: chỉ dùng khoá RSA hoặc ECDSA.",
			Err:     fmt.Errorf("unsupported key type %T", key.Public())}
	}
	if !samePublicKey(key.Public(), cert.PublicKey) {
		return nil, &vanthu.Error{Code: vanthu.EInvalid,
			Message: fmt.Sprintf("Khoá ký không khớp với chứng thư số của %s.", subjectName(cert)),
			Err:     errors.New("private key does not match the certificate's public key")}
	}
	return &Signer{key: key, cert: cert, chain: orderChain(cert, chain)}, nil
}

// Certificate returns the signer's certificate.
func (s *Signer) Certificate() *x509.Certificate { return s.cert }

// Chain returns the issuer certificates embedded with each signature,
// nearest first.
func (s *Signer) Chain() []*x509.Certificate { return s.chain }

// Widget places the signature field on a page. Coordinates are PDF points
// from the bottom-left corner of the page. The field has an empty
// appearance: what the reader sees there (names, title, seal) is drawn by
// the document engine, and the field only makes that block clickable as the
// signature in PDF viewers.
type Widget struct {
	Page                     int // 1-based
	Left, Bottom, Right, Top float64
}

// Options describe one signature.
type Options struct {
	Name        string    // the signer as shown by viewers; default: the certificate's common name
	Reason      string    // e.g. "Ký biên bản kiểm tra"
	Location    string    // e.g. "Vĩnh Long"
	ContactInfo string    // optional, e.g. an e-mail address
	Time        time.Time // signing time; zero means now. Recorded in +07:00.
	Widget      *Widget   // nil: an invisible signature field
}

// subFilter is what this package declares: a CAdES detached signature
// (PAdES baseline). pdfsign writes adbe.pkcs7.detached, which has the same
// length, so the name is replaced in place before the bytes are signed.
const (
	subFilterPdfsign = "/SubFilter /adbe.pkcs7.detached"
	subFilterPAdES   = "/SubFilter /ETSI.CAdES.detached"
)

// slotMarker starts the placeholder text that reserves room in the
// signature dictionary for the Vietnamese entries (see Sign).
const slotMarker = "vanthuSignatureSlot"

var byteRangeRE = regexp.MustCompile(`/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]`)

// Sign returns in with one more signature, appended as an incremental
// update: every byte of in is kept as it is, so earlier signatures stay
// valid. The certificate must be valid at the signing time and allow digital
// signatures. Sign may be called concurrently if the key allows it.
func (s *Signer) Sign(ctx context.Context, in []byte, opts Options) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	at := opts.Time
	if at.IsZero() {
		at = time.Now()
	}
	// Whole seconds: both the PDF date and the CMS signing time hold no
	// fraction, and the report should show what was asked for.
	at = at.In(vanthu.Location).Truncate(time.Second)
	if err := usable(s.cert, at); err != nil {
		return nil, err
	}
	if opts.Name == "" {
		opts.Name = s.cert.Subject.CommonName
	}
	rdr, err := openPDF(in)
	if err != nil {
		return nil, err
	}

	// pdfsign writes text as UTF-16 without escaping the bytes that PDF
	// string syntax reserves ("ĩ" is 01 29, and 29 is ")"), and draws
	// /Name into the widget with a font that has no Vietnamese letters. So
	// it gets a plain ASCII placeholder of the right length in /ContactInfo,
	// which is then overwritten with the entries written here as hex
	// strings, and an empty Name.
	entries := infoEntries(opts)
	var slot string
	if entries != "" {
		const wrap = len("/ContactInfo ()")
		if n := len(entries) - wrap; n < len(slotMarker) {
			entries += strings.Repeat(" ", len(slotMarker)-n)
		}
		slot = slotMarker + strings.Repeat("x", len(entries)-wrap-len(slotMarker))
	}

	data := pdfsign.SignData{
		Signature: pdfsign.SignDataSignature{
			// An approval signature: a certification signature (the
			// default) would forbid the second signature of the minutes.
			CertType: pdfsign.ApprovalSignature,
			Info:     pdfsign.SignDataSignatureInfo{ContactInfo: slot, Date: at},
		},
		Signer:            reserve{pub: s.key.Public()},
		DigestAlgorithm:   crypto.SHA256,
		Certificate:       s.cert,
		CertificateChains: [][]*x509.Certificate{append([]*x509.Certificate{s.cert}, s.chain...)},
	}
	if w := opts.Widget; w != nil {
		if w.Page < 1 || w.Right-w.Left < 1 || w.Top-w.Bottom < 1 {
			return nil, vanthu.Errorf(vanthu.EInvalid, "Vị trí ô chữ ký không hợp lệ (trang %d, %.0f×%.0f pt).", w.Page, w.Right-w.Left, w.Top-w.Bottom)
		}
		if w.Page > rdr.NumPage() {
			return nil, vanthu.Errorf(vanthu.EInvalid, "Tài liệu chỉ có %d trang, không có trang %d để đặt ô chữ ký.", rdr.NumPage(), w.Page)
		}
		data.Appearance = pdfsign.Appearance{Visible: true, Page: uint32(w.Page),
			LowerLeftX: w.Left, LowerLeftY: w.Bottom, UpperRightX: w.Right, UpperRightY: w.Top}
	}

	// First pass: pdfsign lays out the update with a throw-away CMS of the
	// right size (reserve signs nothing), so the real key is used once.
	var buf bytes.Buffer
	err = catch(func() error {
		return pdfsign.Sign(bytes.NewReader(in), &buf, rdr, int64(len(in)), data)
	})
	if err != nil {
		return nil, &vanthu.Error{Code: vanthu.EInvalid, Message: "Không thêm được chữ ký vào tệp PDF này.", Err: fmt.Errorf("pdfsign: %w", err)}
	}
	out := buf.Bytes()

	// Find what pdfsign appended: one signature dictionary whose /Contents
	// gap lies after the original bytes.
	update := out[len(in):]
	m := byteRangeRE.FindSubmatchIndex(update)
	if m == nil {
		return nil, fmt.Errorf("sign: no /ByteRange in the appended update")
	}
	var br [4]int
	for i := range br {
		br[i], _ = strconv.Atoi(string(update[m[2+2*i]:m[3+2*i]]))
	}
	start, end := br[1], br[2]
	if br[0] != 0 || start <= len(in) || end <= start+2 || end+br[3] != len(out) || out[start] != '<' || out[end-1] != '>' {
		return nil, fmt.Errorf("sign: unexpected /ByteRange %v in the appended update (input %d bytes, output %d)", br, len(in), len(out))
	}
	if err := replaceOnce(update, subFilterPdfsign, subFilterPAdES); err != nil {
		return nil, err
	}
	if slot != "" {
		if err := replaceOnce(update, "/ContactInfo ("+slot+")", entries); err != nil {
			return nil, err
		}
	}

	// Second pass: the real CMS over the final bytes.
	h := sha256.New()
	h.Write(out[:start])
	h.Write(out[end:])
	der, err := s.cms(h.Sum(nil), at)
	if err != nil {
		return nil, err
	}
	room := end - start - 2
	if 2*len(der) > room {
		return nil, fmt.Errorf("sign: signature of %d bytes does not fit the %d reserved", len(der), room/2)
	}
	hex.Encode(out[start+1:], der)
	for i := start + 1 + 2*len(der); i < end-1; i++ {
		out[i] = '0'
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// usable checks what the issue asks to refuse before signing: a
// certificate outside its validity at the signing time, or one that does
// not allow digital signatures.
func usable(cert *x509.Certificate, at time.Time) error {
	who := subjectName(cert)
	switch {
	case at.After(cert.NotAfter):
		return &vanthu.Error{Code: vanthu.EInvalid,
			Message: fmt.Sprintf("Chứng thư số của %s đã hết hạn ngày %s.", who, cert.NotAfter.In(vanthu.Location).Format("02/01/2006")),
			Err:     fmt.Errorf("certificate expired at %s, signing time %s", cert.NotAfter.Format(time.RFC3339), at.Format(time.RFC3339))}
	case at.Before(cert.NotBefore):
		return &vanthu.Error{Code: vanthu.EInvalid,
			Message: fmt.Sprintf("Chứng thư số của %s chưa có hiệu lực (từ ngày %s).", who, cert.NotBefore.In(vanthu.Location).Format("02/01/2006")),
			Err:     fmt.Errorf("certificate not valid before %s, signing time %s", cert.NotBefore.Format(time.RFC3339), at.Format(time.RFC3339))}
	case cert.KeyUsage&x509.KeyUsageDigitalSignature == 0:
		return &vanthu.Error{Code: vanthu.EInvalid,
			Message: fmt.Sprintf("Chứng thư số của %s không cho phép ký số (thiếu mục đích sử dụng digitalSignature).", who),
			Err:     errors.New("certificate key usage lacks digitalSignature")}
	}
	return nil
}

// openPDF parses in enough for pdfsign, turning the reader's panics on
// malformed input into errors.
func openPDF(in []byte) (*pdf.Reader, error) {
	if !bytes.HasPrefix(in, []byte("%PDF-")) {
		return nil, vanthu.Errorf(vanthu.EInvalid, "Tệp không phải là PDF.")
	}
	var rdr *pdf.Reader
	err := catch(func() (err error) {
		rdr, err = pdf.NewReader(bytes.NewReader(in), int64(len(in)))
		return err
	})
	if err != nil {
		return nil, &vanthu.Error{Code: vanthu.EInvalid, Message: "Không đọc được cấu trúc tệp PDF (tệp hỏng?).", Err: err}
	}
	if !rdr.Trailer().Key("Encrypt").IsNull() {
		return nil, vanthu.Errorf(vanthu.EInvalid, "Tệp PDF được mã hoá: không ký được.")
	}
	// The catalog's /Version, which an earlier signature added, overrides
	// the header's. pdfsign reads only the header and would add the entry
	// a second time beside the copied one (a duplicate key qpdf warns of).
	if v := rdr.Trailer().Key("Root").Key("Version").Name(); v != "" {
		rdr.PDFVersion = v
	}
	return rdr, nil
}

// catch runs f and turns a panic of the PDF reader into an error.
func catch(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed PDF: %v", r)
		}
	}()
	return f()
}

// replaceOnce overwrites the single occurrence of old in b with repl, which
// must not be longer; the rest is padded with spaces so that no offset
// moves.
func replaceOnce(b []byte, old, repl string) error {
	i := bytes.Index(b, []byte(old))
	if i < 0 || bytes.Contains(b[i+1:], []byte(old)) || len(repl) > len(old) {
		return fmt.Errorf("sign: cannot place %.30q in the signature dictionary", old)
	}
	n := copy(b[i:], repl)
	for j := i + n; j < i+len(old); j++ {
		b[j] = ' '
	}
	return nil
}

// infoEntries writes the descriptive entries of the signature dictionary,
// text as UTF-16BE hex strings, which need no escaping.
func infoEntries(o Options) string {
	var b strings.Builder
	for _, e := range []struct{ key, val string }{
		{"Name", o.Name}, {"Reason", o.Reason}, {"Location", o.Location}, {"ContactInfo", o.ContactInfo},
	} {
		v := strings.TrimSpace(norm.NFC.String(e.val))
		if v == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("/" + e.key + " " + pdfText(v))
	}
	return b.String()
}

// pdfText encodes s as a PDF text string: UTF-16BE with a byte order mark,
// in hex.
func pdfText(s string) string {
	var b strings.Builder
	b.WriteString("<FEFF")
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	b.WriteString(">")
	return b.String()
}

// reserve stands in for the key while pdfsign lays out the update: it
// returns zeros as long as the longest signature the key can make. pdfsign
// makes room for its own CMS (growing the room if needed), and the CMS of
// this package has the same parts minus an empty revocation attribute, so
// the real one fits.
type reserve struct{ pub crypto.PublicKey }

func (r reserve) Public() crypto.PublicKey { return r.pub }

func (r reserve) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return make([]byte, maxSignatureLen(r.pub)), nil
}

// maxSignatureLen is the longest signature value a key makes: the modulus
// for RSA, a DER SEQUENCE of two integers one byte longer than the field
// for ECDSA.
func maxSignatureLen(pub crypto.PublicKey) int {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return k.Size()
	case *ecdsa.PublicKey:
		n := (k.Curve.Params().BitSize+7)/8 + 1
		return 2*(n+2) + 3
	}
	return 512
}

func samePublicKey(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// orderChain returns the certificates of pool on the path from cert to its
// root, nearest issuer first.
func orderChain(cert *x509.Certificate, pool []*x509.Certificate) []*x509.Certificate {
	var out []*x509.Certificate
	used := make([]bool, len(pool))
	for cur := cert; ; {
		if bytes.Equal(cur.RawIssuer, cur.RawSubject) && cur.CheckSignatureFrom(cur) == nil {
			return out // self-signed: the root
		}
		next := -1
		for i, c := range pool {
			if !used[i] && !c.Equal(cur) && bytes.Equal(cur.RawIssuer, c.RawSubject) && cur.CheckSignatureFrom(c) == nil {
				next = i
				break
			}
		}
		if next < 0 {
			return out
		}
		used[next] = true
		out = append(out, pool[next])
		cur = pool[next]
	}
}

// subjectName is how a certificate's holder is named in messages.
func subjectName(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return c.Subject.CommonName
	}
	return c.Subject.String()
}
