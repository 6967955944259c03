package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sonoivu/vanthu/internal/render"
	"github.com/sonoivu/vanthu/internal/sign"
	"github.com/sonoivu/vanthu/internal/testenv"
)

// signFixture is a directory with the sample directive as in.pdf and the
// dev CA's files.
type signFixture struct {
	dir, in, ca, p12, pwFile string
}

func newSignFixture(t *testing.T) signFixture {
	t.Helper()
	dir := t.TempDir()
	pdf, err := render.PDF(render.SampleDirective())
	if err != nil {
		t.Fatal(err)
	}
	f := signFixture{dir: dir, in: filepath.Join(dir, "bien-ban.pdf")}
	if err := os.WriteFile(f.in, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "ca")
	if f.ca, f.p12, _, err = sign.DevCA(ca); err != nil {
		t.Fatal(err)
	}
	f.pwFile = sign.DevPasswordPath(ca)
	return f
}

// pdfsigOut runs poppler's pdfsig on a file: a skip locally, a failure in
// CI when it is missing.
func pdfsigOut(t *testing.T, path string) string {
	t.Helper()
	bin, err := exec.LookPath("pdfsig")
	if err != nil {
		if testenv.InCI() {
			t.Fatal("pdfsig missing (poppler-utils)")
		}
		t.Skip("pdfsig not installed")
	}
	out, _ := exec.Command(bin, path).CombinedOutput() // exits 0 even on a digest mismatch: read the text
	return string(out)
}

func TestSignAndVerifyCommands(t *testing.T) {
	f := newSignFixture(t)
	once := filepath.Join(f.dir, "ky-1.pdf")
	out, err := runCmd(t, nil, "sign", "--p12", f.p12, "--password-file", f.pwFile,
		"--reason", "Ký biên bản kiểm tra", "--location", "Vĩnh Long", f.in, once)
	if err != nil {
		t.Fatalf("sign: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Người ký: Nguyễn Văn Kiểm — Đoàn kiểm tra Sở Nội vụ tỉnh Vĩnh Long") {
		t.Errorf("sign output:\n%s", out)
	}
	if sig := pdfsigOut(t, once); !strings.Contains(sig, "Signature is Valid") || !strings.Contains(sig, "Total document signed") {
		t.Errorf("pdfsig:\n%s", sig)
	}

	// The team leader signs second, with a PEM key and certificate, flags
	// after the file names.
	key, cert := pemSigner(t, f.dir, "Trần Thị Trưởng")
	twice := filepath.Join(f.dir, "ky-2.pdf")
	if out, err := runCmd(t, nil, "sign", once, twice, "--key", key, "--cert", cert, "--reason", "Trưởng đoàn ký"); err != nil {
		t.Fatalf("second sign: %v\n%s", err, out)
	}
	out, err = runCmd(t, nil, "verify", twice)
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	for _, want := range []string{
		"2 chữ ký số",
		"Chữ ký 1/2 (Signature 1)",
		"Người ký:      Nguyễn Văn Kiểm — Đoàn kiểm tra Sở Nội vụ tỉnh Vĩnh Long",
		"Phạm vi ký:    toàn bộ nội dung; sau đó chỉ thêm chữ ký khác",
		"Chữ ký 2/2 (Signature 2)",
		"Người ký:      Trần Thị Trưởng",
		"Phạm vi ký:    toàn bộ tài liệu",
		"Chứng thư:     chưa kiểm tra",
		"Lý do:         Ký biên bản kiểm tra",
		"Lý do:         Trưởng đoàn ký",
		"Nơi ký:        Vĩnh Long",
		"Kết quả: HỢP LỆ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "Chữ ký:        hợp lệ") != 2 || !strings.Contains(out, "Thời gian ký:  ") || !strings.Contains(out, "+07:00") {
		t.Errorf("verify output:\n%s", out)
	}
	sig := pdfsigOut(t, twice)
	if strings.Count(sig, "Signature is Valid") != 2 {
		t.Errorf("pdfsig of the twice signed file:\n%s", sig)
	}

	// Trust anchors: the dev CA signed the first certificate only.
	out, err = runCmd(t, nil, "verify", "--roots", f.ca, once)
	if err != nil || !strings.Contains(out, "Chứng thư:     tin cậy") {
		t.Errorf("verify --roots dev CA: %v\n%s", err, out)
	}
	other, _, _, err := sign.DevCA(filepath.Join(f.dir, "other-ca"))
	if err != nil {
		t.Fatal(err)
	}
	out, err = runCmd(t, nil, "verify", "--roots", other, once)
	if err == nil || !strings.Contains(out, "Chứng thư:     KHÔNG tin cậy") || !strings.Contains(out, "Kết quả: KHÔNG HỢP LỆ") {
		t.Errorf("verify --roots unrelated CA: %v\n%s", err, out)
	}
}

func TestVerifyCommandRejectsChanges(t *testing.T) {
	f := newSignFixture(t)
	signed := filepath.Join(f.dir, "ky.pdf")
	env := map[string]string{"VANTHU_SIGN_PASSWORD": strings.TrimSpace(readFile(t, f.pwFile))}
	if out, err := runCmd(t, env, "sign", "--p12", f.p12, f.in, signed); err != nil {
		t.Fatalf("sign with VANTHU_SIGN_PASSWORD: %v\n%s", err, out)
	}
	doc := []byte(readFile(t, signed))

	tampered := bytes.Clone(doc)
	i := bytes.Index(tampered, []byte("/Title"))
	tampered[i+12] ^= 0x01
	tamperedPath := filepath.Join(f.dir, "sua.pdf")
	os.WriteFile(tamperedPath, tampered, 0o644)
	out, err := runCmd(t, nil, "verify", tamperedPath)
	if err == nil || !strings.Contains(out, "KHÔNG hợp lệ: mã băm không khớp") || !strings.Contains(err.Error(), tamperedPath) {
		t.Errorf("verify of a changed byte: %v\n%s", err, out)
	}
	if sig := pdfsigOut(t, tamperedPath); strings.Contains(sig, "Signature is Valid") {
		t.Errorf("pdfsig accepts the changed file:\n%s", sig)
	}

	junkPath := filepath.Join(f.dir, "them.pdf")
	os.WriteFile(junkPath, append(bytes.Clone(doc), "\n% thêm\n"...), 0o644)
	out, err = runCmd(t, nil, "verify", junkPath)
	if err == nil || !strings.Contains(out, "Phạm vi ký:    KHÔNG: tài liệu đã bị thay đổi sau khi ký") {
		t.Errorf("verify with bytes appended: %v\n%s", err, out)
	}
}

func TestSignCommandBadInput(t *testing.T) {
	f := newSignFixture(t)
	notPDF := filepath.Join(f.dir, "anh.pdf")
	os.WriteFile(notPDF, []byte("GIF89a..."), 0o644)
	wrongPw := filepath.Join(f.dir, "sai.txt")
	os.WriteFile(wrongPw, []byte("không phải mật khẩu\n"), 0o600)
	out := filepath.Join(f.dir, "out", "ky.pdf")
	os.Mkdir(filepath.Dir(out), 0o755)
	missing := filepath.Join(f.dir, "khong-co.pdf")

	tests := []struct {
		name string
		args []string
		want string // in the error
	}{
		{"missing input", []string{"sign", "--p12", f.p12, "--password-file", f.pwFile, missing, out}, missing + ": không đọc được tệp"},
		{"wrong password", []string{"sign", "--p12", f.p12, "--password-file", wrongPw, f.in, out}, f.p12 + ": mật khẩu không đúng"},
		{"no password", []string{"sign", "--p12", f.p12, f.in, out}, f.p12 + ": mật khẩu không đúng"},
		{"missing p12", []string{"sign", "--p12", missing, f.in, out}, missing + ": không đọc được tệp"},
		{"missing password file", []string{"sign", "--p12", f.p12, "--password-file", missing, f.in, out}, missing + ": không đọc được tệp mật khẩu"},
		{"not a PDF", []string{"sign", "--p12", f.p12, "--password-file", f.pwFile, notPDF, out}, notPDF + ": invalid: Tệp không phải là PDF"},
		{"key without cert", []string{"sign", "--key", f.p12, f.in, out}, "give --p12 FILE, or both --key KEY and --cert CERT"},
		{"one file", []string{"sign", "--p12", f.p12, f.in}, "usage: vanthu sign"},
		{"verify unsigned", []string{"verify", f.in}, f.in + ": invalid: Tệp PDF không có chữ ký số"},
		{"verify missing", []string{"verify", missing}, missing + ": không đọc được tệp"},
		{"verify not a PDF", []string{"verify", notPDF}, notPDF + ": invalid: Tệp không phải là PDF"},
		{"verify missing roots", []string{"verify", "--roots", missing, f.in}, missing + ": không đọc được tệp chứng thư số"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text, err := runCmd(t, nil, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\n%s\nwant an error containing %q", err, text, tc.want)
			}
			if left, _ := os.ReadDir(filepath.Dir(out)); len(left) != 0 {
				t.Errorf("output left behind: %v", left)
			}
		})
	}
}

func TestDevSigningFiles(t *testing.T) {
	data := t.TempDir()
	a, err := devSigning(data)
	if err != nil {
		t.Fatal(err)
	}
	b, err := devSigning(data)
	if err != nil {
		t.Fatal(err)
	}
	if a != b || filepath.Dir(a.p12) != filepath.Join(data, "sign") {
		t.Errorf("dev signing files moved: %+v then %+v", a, b)
	}
	var text strings.Builder
	a.describe(&text)
	for _, want := range []string{a.caCert, a.p12, a.passwordFile, "Nguyễn Văn Kiểm", "vanthu verify --roots " + a.caCert} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, text.String())
		}
	}
	// What the banner says works.
	f := newSignFixture(t)
	signed := filepath.Join(t.TempDir(), "ky.pdf")
	if out, err := runCmd(t, nil, "sign", "--p12", a.p12, "--password-file", a.passwordFile, f.in, signed); err != nil {
		t.Fatalf("sign with the dev files: %v\n%s", err, out)
	}
	if out, err := runCmd(t, nil, "verify", "--roots", a.caCert, signed); err != nil {
		t.Errorf("verify with the dev CA: %v\n%s", err, out)
	}
}

// pemSigner writes a self-signed signing certificate and its key as PEM
// files and returns their paths.
func pemSigner(t *testing.T, dir, cn string) (keyPath, certPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"Đoàn kiểm tra Sở Nội vụ tỉnh Vĩnh Long"}},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPath, certPath = filepath.Join(dir, "truong-doan.key"), filepath.Join(dir, "truong-doan.pem")
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	return keyPath, certPath
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
