package templates

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var testData = map[string]string{"To": "Sở Tài chính", "RequestedBy": "Nguyễn Văn An", "At": "08:00 ngày 05/01/2026", "Office": "Sở Nội vụ"}

func TestDefaultsRender(t *testing.T) {
	s, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Mail("test", testData)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "[vanthu] Thư thử nghiệm cấu hình gửi thư" {
		t.Errorf("subject = %q", m.Subject)
	}
	if !strings.Contains(m.Text, "Kính gửi Sở Tài chính,") || !strings.Contains(m.HTML, "<strong>Nguyễn Văn An</strong>") {
		t.Errorf("body not rendered:\n%s\n%s", m.Text, m.HTML)
	}
}

func TestOverride(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "mail"), 0o755)
	// NFD input in the override must come out NFC.
	os.WriteFile(filepath.Join(dir, "mail", "test.subject.tmpl"), []byte("Thu\u0301 thử {{.To}}"), 0o644)
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Mail("test", testData)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Thú thử Sở Tài chính" {
		t.Errorf("subject = %q", m.Subject)
	}
	if len(s.Overridden) != 1 {
		t.Errorf("Overridden = %v", s.Overridden)
	}
}

func TestBrokenTemplateNamesFileAndLine(t *testing.T) {
	tests := []struct{ file, content, want string }{
		{"test.txt.tmpl", "dòng 1\ndòng 2 {{.To\n", "mail/test.txt.tmpl:2"},
		{"test.html.tmpl", "<p>\n\n{{.To | nosuchfunc}}</p>\n", "mail/test.html.tmpl:3"},
		{"tset.txt.tmpl", "typo in the name", "mail/tset.txt.tmpl"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "mail"), 0o755)
			os.WriteFile(filepath.Join(dir, "mail", tt.file), []byte(tt.content), 0o644)
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to name %q", err, tt.want)
			}
		})
	}
}

func TestMissingKeyIsAnError(t *testing.T) {
	s, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Mail("test", map[string]string{"To": "x"}); err == nil {
		t.Fatal("rendering with missing data should fail")
	}
}
