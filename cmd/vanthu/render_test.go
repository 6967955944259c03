package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sonoivu/vanthu/internal/testenv"
)

func runCmd(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errOut syncBuffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestRenderCommand(t *testing.T) {
	out, err := runCmd(t, nil, "templates", "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"directive", "minutes", "report", "reminder"} {
		if !strings.Contains(out, n) {
			t.Errorf("templates list lacks %s:\n%s", n, out)
		}
	}
	if out, err := runCmd(t, nil, "templates", "check"); err != nil || !strings.Contains(out, "4 document templates OK") {
		t.Fatalf("templates check: %q, %v", out, err)
	}

	broken := t.TempDir()
	os.MkdirAll(filepath.Join(broken, "documents"), 0o755)
	os.WriteFile(filepath.Join(broken, "documents", "directive.md.tmpl"), []byte("Mở đầu\n\n{{.Khong_co}}\n"), 0o644)
	if _, err := runCmd(t, nil, "templates", "check", broken); err == nil || !strings.Contains(err.Error(), "documents/directive.md.tmpl:3") {
		t.Errorf("broken override: %v, want file and line", err)
	}

	pdf := filepath.Join(t.TempDir(), "chi-thi.pdf")
	if out, err := runCmd(t, nil, "render", "--template", "directive", "--sample", "-o", pdf); err != nil {
		t.Fatalf("render: %v\n%s", err, out)
	}
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if testenv.InCI() {
			t.Fatal("pdftotext missing (poppler-utils)")
		}
		t.Skip("pdftotext not installed")
	}
	text, err := exec.Command(bin, pdf, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CHỈ THỊ", "Về tăng cường kỷ luật, kỷ cương hành chính", "Nguyễn Văn Hiếu", "Nơi nhận:", "./."} {
		if !strings.Contains(string(text), want) {
			t.Errorf("rendered PDF lacks %q", want)
		}
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"document": {"agency": "SỞ NỘI VỤ", "date": "2026-11-25"}, "data": {}}`), 0o644)
	_, err = runCmd(t, nil, "render", "--template", "reminder", "--data", bad, "-o", filepath.Join(t.TempDir(), "x.pdf"))
	if err == nil || !strings.Contains(err.Error(), "map has no entry") {
		t.Errorf("data without the template's fields: %v", err)
	}
}
