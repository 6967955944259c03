package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// PDFTool returns the path of an independent PDF checker from poppler-utils
// or qpdf (pdftotext, pdffonts, pdfsig, qpdf, …): a skip when it is
// missing, a failure in CI.
func PDFTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, name, "install poppler-utils and qpdf")
	}
	return p
}

// RunPDFTool writes pdf to a temporary file, runs the checker name on it
// with args (pdftotext writes to standard output) and returns what it
// printed. Times print in +07:00 (POSIX "ICT-7" needs no tzdata), as the
// documents show them. A non-zero exit fails the test unless allowFail:
// pdfsig's exit status is not its verdict, its output is.
func RunPDFTool(t testing.TB, pdf []byte, allowFail bool, name string, args ...string) string {
	t.Helper()
	bin := PDFTool(t, name)
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	args = append(args, path)
	if name == "pdftotext" {
		args = append(args, "-")
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TZ=ICT-7")
	out, err := cmd.CombinedOutput()
	if err != nil && !allowFail {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}
