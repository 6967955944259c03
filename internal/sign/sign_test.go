package sign_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digitorus/pdf"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/render"
	"github.com/sonoivu/vanthu/internal/sign"
	"github.com/sonoivu/vanthu/internal/testenv"
)

// run runs an independent PDF checker on doc (testenv.RunPDFTool).
func run(t testing.TB, doc []byte, allowFail bool, name string, args ...string) string {
	t.Helper()
	return testenv.RunPDFTool(t, doc, allowFail, name, args...)
}

// pdfsigInfo is one "Signature #N" block of pdfsig's output.
type pdfsigInfo struct{ text string }

func (p pdfsigInfo) has(s string) bool { return strings.Contains(p.text, s) }

// pdfsig runs poppler's pdfsig and splits its report per signature.
// Poppler checks with NSS, an implementation independent of this package's
// encoder and of the pkcs7 package Verify uses. pdfsig exits 0 even on a
// digest mismatch, so its text is what counts.
func pdfsig(t testing.TB, doc []byte) []pdfsigInfo {
	t.Helper()
	out := run(t, doc, true, "pdfsig")
	parts := regexp.MustCompile(`(?m)^Signature #\d+:`).Split(out, -1)
	var sigs []pdfsigInfo
	for _, p := range parts[1:] {
		sigs = append(sigs, pdfsigInfo{p})
	}
	return sigs
}

var (
	sampleOnce sync.Once
	sample     []byte
	sampleErr  error
)

// samplePDF is the document engine's two-page sample directive.
func samplePDF(t testing.TB) []byte {
	t.Helper()
	sampleOnce.Do(func() { sample, sampleErr = render.PDF(render.SampleDirective()) })
	if sampleErr != nil {
		t.Fatal(sampleErr)
	}
	return bytes.Clone(sample)
}

// devSigner is the development inspector of a fresh DevCA, with the CA
// certificate's path.
func devSigner(t testing.TB) (*sign.Signer, string) {
	t.Helper()
	ca, p12, pw, err := sign.DevCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.LoadPKCS12(p12, pw)
	if err != nil {
		t.Fatal(err)
	}
	return s, ca
}

// signedAt is a signing time inside the dev certificates' validity, in
// whole seconds as PDF and CMS record it.
func signedAt() time.Time {
	return time.Now().In(vanthu.Location).Add(-time.Hour).Truncate(time.Second)
}

var minutes = sign.Options{Reason: "Ký biên bản kiểm tra", Location: "Vĩnh Long"}

func mustSign(t testing.TB, s *sign.Signer, doc []byte, o sign.Options) []byte {
	t.Helper()
	out, err := s.Sign(context.Background(), doc, o)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return out
}

func mustVerify(t testing.TB, doc []byte, roots *x509.CertPool) sign.Report {
	t.Helper()
	rep, err := sign.Verify(context.Background(), doc, roots)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

func TestSignCheckedByPopplerAndQpdf(t *testing.T) {
	in := samplePDF(t)
	s, _ := devSigner(t)
	at := signedAt()
	o := minutes
	o.Time = at
	out := mustSign(t, s, in, o)

	if !bytes.HasPrefix(out, in) {
		t.Fatal("the signed file does not start with the original bytes: not an incremental update")
	}
	sigs := pdfsig(t, out)
	if len(sigs) != 1 {
		t.Fatalf("pdfsig found %d signatures, want 1", len(sigs))
	}
	for _, want := range []string{
		"Signature Validation: Signature is Valid.",
		"Total document signed",
		"Signer Certificate Common Name: Nguyễn Văn Kiểm",
		"O=Đoàn kiểm tra Sở Nội vụ tỉnh Vĩnh Long",
		"Signing Time: " + at.Format("Jan 02 2006 15:04:05"),
		"Signing Hash Algorithm: SHA-256",
		"Signature Type: ETSI.CAdES.detached",
	} {
		if !sigs[0].has(want) {
			t.Errorf("pdfsig lacks %q:\n%s", want, sigs[0].text)
		}
	}
	if sigs[0].has("Not total document signed") {
		t.Errorf("pdfsig: not the whole document signed:\n%s", sigs[0].text)
	}
	if got := run(t, out, false, "qpdf", "--check"); !strings.Contains(got, "No syntax or stream encoding errors") {
		t.Errorf("qpdf --check:\n%s", got)
	}
	if a, b := run(t, in, false, "pdftotext"), run(t, out, false, "pdftotext"); a != b || !strings.Contains(b, "CHỈ THỊ") {
		t.Errorf("pdftotext of the signed file differs from the original's (%d vs %d bytes)", len(b), len(a))
	}

	rep := mustVerify(t, out, nil)
	if !rep.OK() || len(rep.Signatures) != 1 {
		t.Fatalf("Verify: OK=%v, %+v", rep.OK(), rep)
	}
	got := rep.Signatures[0]
	want := sign.Signature{
		Field: "Signature 1", SignerName: "Nguyễn Văn Kiểm", SignerOrg: "Đoàn kiểm tra Sở Nội vụ tỉnh Vĩnh Long",
		Name: "Nguyễn Văn Kiểm", Reason: "Ký biên bản kiểm tra", Location: "Vĩnh Long", SubFilter: "ETSI.CAdES.detached",
		Valid: true, Coverage: sign.CoversWhole, Chain: sign.ChainNotChecked,
	}
	if got.Field != want.Field || got.SignerName != want.SignerName || got.SignerOrg != want.SignerOrg || got.Name != want.Name ||
		got.Reason != want.Reason || got.Location != want.Location || got.SubFilter != want.SubFilter ||
		got.Valid != want.Valid || got.Coverage != want.Coverage || got.Chain != want.Chain {
		t.Errorf("Verify:\n got %+v\nwant %+v", got, want)
	}
	if !got.Time.Equal(at) || got.Time.Format("-07:00") != "+07:00" {
		t.Errorf("signing time %v, want %v in +07:00", got.Time, at)
	}
	if end := got.ByteRange[2] + got.ByteRange[3]; end != int64(len(out)) || got.ByteRange[1] <= int64(len(in)) {
		t.Errorf("ByteRange %v: want the gap after the original %d bytes and the end at %d", got.ByteRange, len(in), len(out))
	}
	// The signature dictionary carries the signing time in +07:00 too.
	if !bytes.Contains(out[len(in):], []byte("/M (D:"+at.Format("20060102150405")+"+07'00')")) {
		t.Error("no /M date in +07:00 in the signature dictionary")
	}
}

func TestSecondSignatureKeepsTheFirstValid(t *testing.T) {
	s, caPath := devSigner(t)
	leader := issue(t, caPath, "Trần Thị Trưởng", x509.KeyUsageDigitalSignature, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	at := signedAt()

	first := minutes
	first.Time = at.Add(-10 * time.Minute)
	once := mustSign(t, s, samplePDF(t), first)
	// The team leader signs after the secretary, with a field over the
	// signature block that the document engine drew on page 2.
	second := sign.Options{Reason: "Trưởng đoàn ký biên bản", Location: "Vĩnh Long", Time: at,
		Widget: &sign.Widget{Page: 2, Left: 320, Bottom: 420, Right: 540, Top: 520}}
	twice := mustSign(t, leader, once, second)
	if !bytes.HasPrefix(twice, once) {
		t.Fatal("second signature rewrote bytes of the first revision")
	}

	sigs := pdfsig(t, twice)
	if len(sigs) != 2 {
		t.Fatalf("pdfsig found %d signatures, want 2", len(sigs))
	}
	for i, p := range sigs {
		if !p.has("Signature Validation: Signature is Valid.") {
			t.Errorf("pdfsig signature %d not valid:\n%s", i+1, p.text)
		}
	}
	if !sigs[0].has("Not total document signed") || !sigs[1].has("Total document signed") || sigs[1].has("Not total") {
		t.Errorf("pdfsig coverage: first %q, second %q", sigs[0].text, sigs[1].text)
	}
	if !sigs[1].has("Common Name: Trần Thị Trưởng") {
		t.Errorf("second signer:\n%s", sigs[1].text)
	}
	if got := run(t, twice, false, "qpdf", "--check"); !strings.Contains(got, "No syntax or stream encoding errors") {
		t.Errorf("qpdf --check:\n%s", got)
	}
	// The widget is on page 2, with an empty appearance: the page's text
	// is the document engine's.
	if a, b := run(t, samplePDF(t), false, "pdftotext"), run(t, twice, false, "pdftotext"); a != b {
		t.Error("pdftotext of the twice signed file differs from the original's")
	}
	assertWidgetOnPage(t, twice, 2, [4]float64{320, 420, 540, 520})

	rep := mustVerify(t, twice, nil)
	if !rep.OK() || len(rep.Signatures) != 2 {
		t.Fatalf("Verify: OK=%v %+v", rep.OK(), rep)
	}
	a, b := rep.Signatures[0], rep.Signatures[1]
	if !a.Valid || a.Coverage != sign.CoversSigned || a.SignerName != "Nguyễn Văn Kiểm" || !a.Time.Equal(first.Time) {
		t.Errorf("first signature: %+v", a)
	}
	if !b.Valid || b.Coverage != sign.CoversWhole || b.SignerName != "Trần Thị Trưởng" || b.Reason != "Trưởng đoàn ký biên bản" || !b.Time.Equal(at) {
		t.Errorf("second signature: %+v", b)
	}
}

// assertWidgetOnPage checks that page n lists a signature widget at rect.
func assertWidgetOnPage(t *testing.T, doc []byte, n int, rect [4]float64) {
	t.Helper()
	r, err := pdf.NewReader(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		t.Fatal(err)
	}
	annots := r.Page(n).V.Key("Annots")
	for i := 0; i < annots.Len(); i++ {
		a := annots.Index(i)
		if a.Key("FT").Name() != "Sig" {
			continue
		}
		var got [4]float64
		for j := range got {
			got[j] = a.Key("Rect").Index(j).Float64()
		}
		if got != rect {
			t.Errorf("widget at %v, want %v", got, rect)
		}
		return
	}
	t.Errorf("page %d has no signature widget", n)
}

func TestTamperedSignedBytes(t *testing.T) {
	s, _ := devSigner(t)
	signed := mustSign(t, s, samplePDF(t), minutes)
	twice := mustSign(t, s, signed, minutes)

	// One byte of the original document: a letter of the title in the
	// document information (inside both signatures' ranges).
	i := bytes.Index(twice, []byte("/Title"))
	if i < 0 || i > len(signed) {
		t.Fatal("no /Title in the original document")
	}
	tampered := bytes.Clone(twice)
	tampered[i+12] ^= 0x01

	rep := mustVerify(t, tampered, nil)
	if rep.OK() || len(rep.Signatures) != 2 {
		t.Fatalf("Verify of a tampered file: OK=%v %+v", rep.OK(), rep)
	}
	for i, sg := range rep.Signatures {
		if sg.Valid || !strings.Contains(sg.Problem, "mã băm không khớp") {
			t.Errorf("signature %d: valid=%v problem=%q", i+1, sg.Valid, sg.Problem)
		}
	}
	for i, p := range pdfsig(t, tampered) {
		if p.has("Signature is Valid") || !p.has("Digest Mismatch") {
			t.Errorf("pdfsig signature %d of a tampered file:\n%s", i+1, p.text)
		}
	}

	// A byte of the second update only breaks the second signature.
	j := bytes.LastIndex(twice, []byte("/Type /Catalog"))
	tampered = bytes.Clone(twice)
	tampered[j+7] = 'X' // "/Type /Xatalog"
	rep = mustVerify(t, tampered, nil)
	if rep.OK() || len(rep.Signatures) != 2 || rep.Signatures[1].Valid {
		t.Errorf("tampered second update: OK=%v %+v", rep.OK(), rep.Signatures)
	}
}

func TestChangesAfterSigning(t *testing.T) {
	s, _ := devSigner(t)
	signed := mustSign(t, s, samplePDF(t), minutes)

	// Bytes appended after the last signature.
	junk := append(bytes.Clone(signed), []byte("% thêm sau khi ký\n")...)
	rep := mustVerify(t, junk, nil)
	if rep.OK() || rep.Signatures[0].Coverage != sign.CoversPart || !rep.Signatures[0].Valid ||
		!strings.Contains(rep.Signatures[0].Change, "byte được thêm vào sau vùng đã ký") {
		t.Errorf("appended junk: OK=%v %+v", rep.OK(), rep.Signatures[0])
	}
	if p := pdfsig(t, junk); len(p) != 1 || !p[0].has("Not total document signed") {
		t.Errorf("pdfsig with junk appended: %v", p)
	}

	// A real incremental update that rotates page 1, then a second
	// signature over it: the second covers all, but the first must not
	// count as followed by signatures only.
	changed := rotatePage(t, signed, 1)
	if got := run(t, changed, false, "qpdf", "--check"); !strings.Contains(got, "No syntax or stream encoding errors") {
		t.Fatalf("test update is broken: %s", got)
	}
	resigned := mustSign(t, s, changed, minutes)
	rep = mustVerify(t, resigned, nil)
	if rep.OK() || len(rep.Signatures) != 2 {
		t.Fatalf("change between signatures: OK=%v %+v", rep.OK(), rep)
	}
	if a := rep.Signatures[0]; !a.Valid || a.Coverage != sign.CoversPart || !strings.Contains(a.Change, "/Rotate") {
		t.Errorf("first signature after a page change: %+v", a)
	}
	if b := rep.Signatures[1]; !b.Valid || b.Coverage != sign.CoversWhole {
		t.Errorf("second signature: %+v", b)
	}
}

// rotatePage appends an incremental update giving page n a /Rotate 90.
func rotatePage(t *testing.T, doc []byte, n int) []byte {
	t.Helper()
	r, err := pdf.NewReader(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		t.Fatal(err)
	}
	page := r.Page(n).V
	p := page.GetPtr()
	id := p.GetID()
	root := r.Trailer().Key("Root").GetPtr()
	var dict strings.Builder
	dict.WriteString("<<")
	for _, k := range page.Keys() {
		v := page.Key(k)
		if vp := v.GetPtr(); vp.GetID() != id { // indirect: keep the reference
			fmt.Fprintf(&dict, " /%s %d %d R", k, vp.GetID(), vp.GetGen())
		} else {
			fmt.Fprintf(&dict, " /%s %s", k, v.String())
		}
	}
	dict.WriteString(" /Rotate 90 >>")
	prev := regexp.MustCompile(`startxref\s+(\d+)\s+%%EOF\s*$`).FindSubmatch(doc)
	if prev == nil {
		t.Fatal("no startxref")
	}
	var b bytes.Buffer
	b.Write(doc)
	off := b.Len()
	fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", id, dict.String())
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 1\n0000000000 65535 f \n%d 1\n%010d 00000 n \n", id, off)
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %d %d R /Prev %s >>\nstartxref\n%d\n%%%%EOF\n",
		len(r.Xref()), root.GetID(), root.GetGen(), prev[1], xref)
	return b.Bytes()
}

func TestChainToRoots(t *testing.T) {
	s, caPath := devSigner(t)
	signed := mustSign(t, s, samplePDF(t), minutes)

	roots, err := sign.LoadRoots(caPath)
	if err != nil {
		t.Fatal(err)
	}
	rep := mustVerify(t, signed, roots)
	if !rep.OK() || rep.Signatures[0].Chain != sign.ChainTrusted {
		t.Errorf("with the dev CA as root: OK=%v chain=%v %s", rep.OK(), rep.Signatures[0].Chain, rep.Signatures[0].ChainProblem)
	}

	other, _, _, err := sign.DevCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	otherRoots, err := sign.LoadRoots(other)
	if err != nil {
		t.Fatal(err)
	}
	rep = mustVerify(t, signed, otherRoots)
	if rep.OK() || rep.Signatures[0].Chain != sign.ChainUntrusted || rep.Signatures[0].ChainProblem == "" || !rep.Signatures[0].Valid {
		t.Errorf("with an unrelated CA: OK=%v %+v", rep.OK(), rep.Signatures[0])
	}
}

func TestLoadPEMWithRSAKeyAndChain(t *testing.T) {
	_, caPath := devSigner(t)
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cert := issueFor(t, caPath, &key.PublicKey, "Lê Văn Thư Ký", x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	caPEM, _ := os.ReadFile(caPath)
	keyPath, certPath := filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem")
	// PKCS#1 key; the chain before the signer's certificate.
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	os.WriteFile(certPath, append(caPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})...), 0o644)

	s, err := sign.LoadPEM(keyPath, certPath)
	if err != nil {
		t.Fatal(err)
	}
	if s.Certificate().Subject.CommonName != "Lê Văn Thư Ký" || len(s.Chain()) != 1 {
		t.Fatalf("LoadPEM: signer %q, chain of %d", s.Certificate().Subject.CommonName, len(s.Chain()))
	}
	signed := mustSign(t, s, samplePDF(t), minutes)
	roots, _ := sign.LoadRoots(caPath)
	if rep := mustVerify(t, signed, roots); !rep.OK() {
		t.Errorf("RSA signature: %+v", rep.Signatures)
	}
	if p := pdfsig(t, signed); len(p) != 1 || !p[0].has("Signature is Valid") {
		t.Errorf("pdfsig, RSA: %v", p)
	}
}

func TestRefusals(t *testing.T) {
	s, caPath := devSigner(t)
	dir := t.TempDir()
	expired := issue(t, caPath, "Hết Hạn", x509.KeyUsageDigitalSignature, time.Now().AddDate(-2, 0, 0), time.Now().AddDate(0, 0, -1))
	noDS := issue(t, caPath, "Chỉ Mã Hoá", x509.KeyUsageKeyEncipherment, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	ctx := context.Background()
	garbage := filepath.Join(dir, "garbage.p12")
	os.WriteFile(garbage, []byte("not a p12"), 0o600)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherKey, _ := x509.MarshalPKCS8PrivateKey(other)
	otherPath := filepath.Join(dir, "other.pem")
	os.WriteFile(otherPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: otherKey}), 0o600)
	_, p12, _, _ := sign.DevCA(filepath.Dir(caPath))

	tests := []struct {
		name string
		err  func() error
		want string
	}{
		{"expired certificate", func() error { _, err := expired.Sign(ctx, samplePDF(t), minutes); return err }, "Chứng thư số của Hết Hạn đã hết hạn"},
		{"no digitalSignature", func() error { _, err := noDS.Sign(ctx, samplePDF(t), minutes); return err }, "không cho phép ký số"},
		{"not a PDF", func() error { _, err := s.Sign(ctx, []byte("hello"), minutes); return err }, "không phải là PDF"},
		{"broken PDF", func() error { _, err := s.Sign(ctx, []byte("%PDF-1.4\ngarbage"), minutes); return err }, "Không đọc được cấu trúc"},
		{"no such page", func() error {
			_, err := s.Sign(ctx, samplePDF(t), sign.Options{Widget: &sign.Widget{Page: 9, Right: 100, Top: 50}})
			return err
		}, "không có trang 9"},
		{"wrong password", func() error { _, err := sign.LoadPKCS12(p12, "sai mật khẩu"); return err }, p12 + ": mật khẩu không đúng"},
		{"not a p12", func() error { _, err := sign.LoadPKCS12(garbage, ""); return err }, garbage + ": không phải tệp PKCS#12"},
		{"missing file", func() error { _, err := sign.LoadPKCS12(filepath.Join(dir, "none.p12"), ""); return err }, "none.p12: không đọc được tệp"},
		{"key of another certificate", func() error { _, err := sign.LoadPEM(otherPath, caPath); return err }, caPath + ": không có chứng thư số nào khớp"},
		{"certificate file without certificates", func() error { _, err := sign.LoadPEM(otherPath, otherPath); return err }, otherPath + ": không có chứng thư số PEM"},
		{"verify unsigned", func() error { _, err := sign.Verify(ctx, samplePDF(t), nil); return err }, "không có chữ ký số"},
		{"verify not a PDF", func() error { _, err := sign.Verify(ctx, []byte("GIF89a"), nil); return err }, "không phải là PDF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			if vanthu.ErrorCodeOf(err) != vanthu.EInvalid || !strings.Contains(vanthu.ErrorMessageOf(err), tc.want) {
				t.Errorf("got %v (code %s), want an invalid error saying %q", err, vanthu.ErrorCodeOf(err), tc.want)
			}
		})
	}
}

func TestDevCAIsKeptAndProtected(t *testing.T) {
	dir := t.TempDir()
	ca1, p121, pw1, err := sign.DevCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(p121)
	ca2, p122, pw2, err := sign.DevCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(p122)
	if ca1 != ca2 || p121 != p122 || pw1 != pw2 || !bytes.Equal(before, after) {
		t.Error("second DevCA call made new files")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		info, _ := e.Info()
		if strings.Contains(e.Name(), "key") || strings.HasSuffix(e.Name(), ".p12") || strings.Contains(e.Name(), "password") {
			if info.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", e.Name(), info.Mode().Perm())
			}
		}
	}
	s, err := sign.LoadPKCS12(p121, pw1)
	if err != nil {
		t.Fatal(err)
	}
	c := s.Certificate()
	if c.Subject.CommonName != sign.DevInspectorName || c.Subject.Organization[0] != sign.DevInspectorOrg ||
		c.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment || len(s.Chain()) != 1 ||
		s.Chain()[0].Subject.CommonName != sign.DevCAName {
		t.Errorf("inspector certificate: %v %v ku=%v chain=%d", c.Subject, c.Issuer, c.KeyUsage, len(s.Chain()))
	}
	// Vietnamese names are UTF8String (tag 12), which PrintableString
	// could not hold.
	if !bytes.Contains(c.RawSubject, append([]byte{12, byte(len(sign.DevInspectorName))}, sign.DevInspectorName...)) {
		t.Error("the inspector's name is not a UTF8String in the certificate")
	}
}

// issue makes a certificate signed by the dev CA in caPath's directory,
// with a fresh ECDSA key, and returns it as a Signer (New does not check
// validity or key usage: Sign does).
func issue(t testing.TB, caPath, cn string, ku x509.KeyUsage, from, to time.Time) *sign.Signer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert := issueFor(t, caPath, &key.PublicKey, cn, ku, from, to)
	ca := readCA(t, caPath)
	s, err := sign.New(key, cert, []*x509.Certificate{ca.cert})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type devCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func readCA(t testing.TB, caPath string) devCA {
	t.Helper()
	certPEM, err := os.ReadFile(caPath)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(filepath.Dir(caPath), "dev-ca-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return devCA{cert, key.(crypto.Signer)}
}

func issueFor(t testing.TB, caPath string, pub crypto.PublicKey, cn string, ku x509.KeyUsage, from, to time.Time) *x509.Certificate {
	t.Helper()
	ca := readCA(t, caPath)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"Đoàn kiểm tra Sở Nội vụ tỉnh Vĩnh Long"}},
		NotBefore:    from, NotAfter: to, KeyUsage: ku,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// BenchmarkSign signs the two-page sample directive once per iteration.
func BenchmarkSign(b *testing.B) {
	s, _ := devSigner(b)
	in := samplePDF(b)
	ctx := context.Background()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(ctx, in, minutes); err != nil {
			b.Fatal(err)
		}
	}
}
