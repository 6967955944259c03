package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

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
	for _, n := range []string{"directive", "minutes", "report", "reminder", "tracking", "findings", "annexes", "receipts", "inspections", "mail/directive", "mail/reminder"} {
		if !strings.Contains(out, n) {
			t.Errorf("templates list lacks %s:\n%s", n, out)
		}
	}
	if out, err := runCmd(t, nil, "templates", "check"); err != nil || !strings.Contains(out, "5 document, 5 Excel and 5 mail templates OK") {
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

func TestRenderExcelAndMail(t *testing.T) {
	dir := t.TempDir()
	xlsx := filepath.Join(dir, "theo-doi.xlsx")
	if out, err := runCmd(t, nil, "render", "--template", "tracking", "--sample", "-o", xlsx); err != nil {
		t.Fatalf("render tracking: %v\n%s", err, out)
	}
	f, err := excelize.OpenFile(xlsx)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if v, _ := f.GetCellValue("Theo dõi", "C5"); v != "Sở Tài chính" {
		t.Errorf("C5 = %q, want the first sample unit", v)
	}

	// Data from a file: 3 units, one of them with a formula-like note.
	data := filepath.Join(dir, "data.json")
	os.WriteFile(data, []byte(`{"values": {"Number": "07/CT-UBND", "Subject": "Thử"},
		"rows": {"": [
			{"Name": "Sở Y tế", "SentAt": "2026-11-25T09:00:00+07:00", "AckAt": "2026-11-25T10:00:00+07:00", "Reminders": 0},
			{"Name": "Sở Tư pháp", "SentAt": "2026-11-25T09:00:00+07:00", "Reminders": 2, "Note": "=1+1"},
			{"Name": "Sở Xây dựng", "SentAt": "2026-11-25T09:00:00+07:00", "Reminders": 1}]}}`), 0o644)
	out3 := filepath.Join(dir, "three.xlsx")
	if out, err := runCmd(t, nil, "render", "--template", "tracking", "--data", data, "-o", out3); err != nil {
		t.Fatalf("render --data: %v\n%s", err, out)
	}
	g, err := excelize.OpenFile(out3)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if v, _ := g.CalcCellValue("Theo dõi", "G8"); v != "3" {
		t.Errorf("reminders total G8 = %q, want 3", v)
	}
	if v, _ := g.GetCellValue("Theo dõi", "I6"); v != "=1+1" {
		t.Errorf("note I6 = %q, want the text =1+1", v)
	}

	html := filepath.Join(dir, "thu.html")
	if out, err := runCmd(t, nil, "render", "--template", "mail/directive", "--sample", "-o", html); err != nil {
		t.Fatalf("render mail: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(html); !strings.Contains(string(b), "Xác nhận đã nhận văn bản") {
		t.Errorf("mail HTML lacks the acknowledgement button")
	}

	// The receipt report is both a document and an Excel template: the
	// output's extension picks which.
	for _, ext := range []string{".pdf", ".xlsx"} {
		file := filepath.Join(dir, "tiep-nhan"+ext)
		if out, err := runCmd(t, nil, "render", "--template", "receipts", "--sample", "-o", file); err != nil {
			t.Fatalf("render receipts%s: %v\n%s", ext, err, out)
		}
		b, _ := os.ReadFile(file)
		if magic := map[string]string{".pdf": "%PDF-", ".xlsx": "PK"}[ext]; !bytes.HasPrefix(b, []byte(magic)) {
			t.Errorf("receipts%s starts with %q", ext, b[:min(len(b), 8)])
		}
	}

	// A template that does not write the asked kind names what does.
	_, err = runCmd(t, nil, "render", "--template", "tracking", "--sample", "-o", filepath.Join(dir, "x.pdf"))
	if err == nil || !strings.Contains(err.Error(), "Excel (.xlsx): annexes, findings, inspections, receipts, tracking") {
		t.Errorf("tracking to .pdf: %v", err)
	}
}

func TestBenchRender(t *testing.T) {
	if testing.Short() {
		t.Skip("bench render takes a few seconds")
	}
	out, err := runCmd(t, nil, "bench", "render", "--runs", "1", "--rows", "2000", "--units", "50", "--pages", "5")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "RESULT render ") {
		t.Fatalf("last line %q", last)
	}
	fields := map[string]string{}
	for _, kv := range strings.Fields(last)[2:] {
		k, v, _ := strings.Cut(kv, "=")
		fields[k] = v
	}
	for _, k := range []string{"annex_ms", "annex_peak_heap_mb", "directive_ms", "report_ms", "tracking_ms"} {
		if v, err := strconv.ParseFloat(fields[k], 64); err != nil || v <= 0 {
			t.Errorf("%s = %q, want a positive number", k, fields[k])
		}
	}
	if fields["annex_rows"] != "2000" || fields["tracking_units"] != "50" {
		t.Errorf("sizes not honoured: %s", last)
	}
	if p, _ := strconv.Atoi(fields["report_pages"]); p < 4 || p > 6 {
		t.Errorf("report_pages = %s, want about 5", fields["report_pages"])
	}
}
