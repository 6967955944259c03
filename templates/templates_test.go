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
			err := loadOverride(t, "mail", tt.file, []byte(tt.content))
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

func TestDocumentTemplatesRenderTheirSamples(t *testing.T) {
	s, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"directive": {"### 3. Tổ chức thực hiện", "trước ngày 27/11/2026", "1. Không nhũng nhiễu"},
		"minutes":   {"Hồi 07 giờ 45 ngày 25/11/2026", "(tỷ lệ 83,33%)", "| 1 | Nguyễn Văn Thưởng |", "lập thành 02 bản"},
		"report":    {"quý IV năm 2026", "333/424 người (78,54%)", "(6,60%)", "- Khiển trách: 3 trường hợp;"},
		"reminder":  {"(17 giờ 00 ngày 27/11/2026)", "lần đôn đốc thứ 1"},
		"receipts": {"tính đến 08 giờ 00 ngày 28/11/2026", "| Đã xác nhận | 3 | 37,50% |",
			"| 2 | Sở Tư pháp | 09 giờ 02 ngày 25/11/2026 (Máy chủ thư) | 10 giờ 05 ngày 25/11/2026 (Hệ thống của đơn vị (API)) |",
			"| 3 | Sở Y tế | 09 giờ 04 ngày 25/11/2026 (Máy chủ thư) | 11 giờ 16 ngày 25/11/2026 (Thư báo đã đọc) | Chưa có | Đã xem |",
			"- Xem: 10 giờ 05 ngày 25/11/2026, Hệ thống của đơn vị (API): suy ra từ mốc xác nhận;", "- Gửi lỗi: 09 giờ 12 ngày 25/11/2026, Máy chủ thư: lý do: 550 5.7.1 Relay access denied."},
	}
	if got := s.Documents(); strings.Join(got, ",") != "directive,minutes,receipts,reminder,report" {
		t.Fatalf("documents = %v", got)
	}
	for name, parts := range want {
		t.Run(name, func(t *testing.T) {
			in, err := s.Sample(name)
			if err != nil {
				t.Fatal(err)
			}
			if in.Document.Agency == "" || in.Document.SignerName == "" || in.Document.Date == "" {
				t.Errorf("sample frame incomplete: %+v", in.Document)
			}
			body, err := s.Body(name, in.Data)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range parts {
				if !strings.Contains(body, p) {
					t.Errorf("body lacks %q:\n%s", p, body)
				}
			}
		})
	}
}

func TestBodyEscapesUserText(t *testing.T) {
	s, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	in, _ := s.Sample("minutes")
	findings := in.Data["Findings"].([]any)
	f := findings[0].(map[string]any)
	f["Name"] = "Nguye\u0302\u0303n *Văn* | Thưởng" // NFD, emphasis and a pipe
	body, err := s.Body("minutes", in.Data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, `| Nguyễn \*Văn\* \| Thưởng |`) {
		t.Errorf("user text not NFC and escaped:\n%s", body)
	}
}

func TestBrokenDocumentOverride(t *testing.T) {
	tests := []struct{ file, content, want string }{
		{"directive.md.tmpl", "Dòng 1\n\n{{.Preambel}}\n", "documents/directive.md.tmpl:3"},
		{"report.md.tmpl", "{{if .Year}}\nkhông đóng\n", "documents/report.md.tmpl"},
		{"minutes.md.tmpl", "{{pct .Attendance}}", "documents/minutes.md.tmpl:1"},
		{"reminder.sample.json", `{"document": {"agency": "X", "signer_nmae": "Y"}, "data": {}}`, `unknown field "signer_nmae"`},
		// A malformed table is found at load, with the line quoted.
		{"reminder.md.tmpl", "Mở đầu {{.Sender}}.\n\n| STT | Tên |\n|---|---|\n| 1 | {{.N}} | thừa |\n", "dòng 5 của nội dung đã điền dữ liệu «| 1 | 1 | thừa |»: Bảng không hợp lệ"},
		// A frame field the renderer requires, missing from the sample.
		{"reminder.sample.json", `{"document": {"agency": "SỞ NỘI VỤ", "number": "1/SNV-VP", "place": "Vĩnh Long", "date": "2026-11-25", "subject": "Đôn đốc"},
			"data": {"Sender": "Sở", "DocumentRef": "Chỉ thị", "SentAt": "2026-11-25", "Deadline": "2026-11-27", "Today": "2026-11-30", "N": 1, "Contact": "Văn phòng"}}`, "signer_name: Thiếu họ tên người ký"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			err := loadOverride(t, "documents", tt.file, []byte(tt.content))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to name %q", err, tt.want)
			}
		})
	}
}

func TestFuncs(t *testing.T) {
	tests := []struct {
		name string
		got  func() (string, error)
		want string
	}{
		{"thousands", func() (string, error) { return Number(1234567) }, "1.234.567"},
		{"decimal", func() (string, error) { return Number(1234.5) }, "1.234,5"},
		{"negative", func() (string, error) { return Number(-1000) }, "-1.000"},
		{"percent", func() (string, error) { return Percent(333, 424) }, "78,54%"},
		{"percent of zero", func() (string, error) { return Percent(0, 0) }, "0%"},
		{"quarter", func() (string, error) { return Roman(4) }, "IV"},
		{"date in Vietnam", func() (string, error) {
			return formatTime("2022-08-16T20:00:00Z", "02/01/2006")
		}, "17/08/2022"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.got()
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := Roman(0); err == nil {
		t.Error("Roman(0) should fail")
	}
}

// loadOverride loads the templates with one file, sub/file, overridden.
func loadOverride(t *testing.T, sub, file string, content []byte) error {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, sub, file), content, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir)
	return err
}
