package directive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"
	"github.com/xuri/excelize/v2"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/mailer"
	"github.com/sonoivu/vanthu/templates"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func service(t *testing.T) *Service {
	t.Helper()
	tpl, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return &Service{Templates: tpl, Key: []byte("k"), Now: func() time.Time { return time.Date(2026, 11, 25, 9, 0, 0, 0, vanthu.Location) }}
}

func TestNewDraft(t *testing.T) {
	s := service(t)
	tests := []struct {
		template, code, issuer string
		kind                   vanthu.DocumentKind
	}{
		{"directive", "CT", "UBND", vanthu.KindDirective},
		{"minutes", "BB", "ĐKT", vanthu.KindMinutes},
		{"report", "BC", "SNV", vanthu.KindReport},
		{"reminder", "", "SNV-VP", vanthu.KindReminder},
	}
	for _, tt := range tests {
		t.Run(tt.template, func(t *testing.T) {
			d, err := s.NewDraft(tt.template)
			if err != nil {
				t.Fatal(err)
			}
			if d.Kind != tt.kind || d.TypeCode != tt.code || d.Issuer != tt.issuer || d.State != vanthu.StateDraft {
				t.Errorf("draft = kind %s code %q issuer %q state %s", d.Kind, d.TypeCode, d.Issuer, d.State)
			}
			if d.Subject == "" || d.Content.Body == "" || d.Content.SignerName == "" || d.Content.Template != tt.template {
				t.Errorf("draft not prefilled: %+v", d)
			}
			if ps := d.ValidateDraft(); len(ps) > 0 {
				t.Errorf("a fresh draft is invalid: %v", ps)
			}
		})
	}
	if _, err := s.NewDraft("khong-co"); vanthu.ErrorCodeOf(err) != vanthu.EInvalid {
		t.Errorf("unknown template: %v, want EInvalid", err)
	}
}

func TestLayoutNumber(t *testing.T) {
	s := service(t)
	d, _ := s.NewDraft("directive")
	if got := Layout(d, s.now()).Number; got != "/CT-UBND" {
		t.Errorf("draft number %q, want the symbol with a blank for the number", got)
	}
	issued := s.now().Add(time.Hour)
	d.State, d.Symbol, d.IssuedAt = vanthu.StateIssued, "02/CT-UBND", &issued
	if l := Layout(d, s.now()); l.Number != "02/CT-UBND" || !l.Date.Equal(issued) {
		t.Errorf("issued: number %q date %v", l.Number, l.Date)
	}
	m, _ := s.NewDraft("minutes")
	if !Layout(m, s.now()).NoDateLine {
		t.Error("minutes must have no date line (form 1.9)")
	}
	pdf, err := s.Preview(context.Background(), d)
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("preview: %v", err)
	}
}

func TestTokens(t *testing.T) {
	tag, err := NewTag()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[a-z2-7]{16}$`).MatchString(tag) {
		t.Errorf("tag %q", tag)
	}
	other, _ := NewTag()
	if other == tag {
		t.Error("two tags are equal")
	}
	tok := Token([]byte("key-1"), tag)
	if tok != Token([]byte("key-1"), tag) {
		t.Error("token is not deterministic: a retried send would carry another link")
	}
	if tok == Token([]byte("key-2"), tag) || tok == Token([]byte("key-1"), other) {
		t.Error("token does not depend on key and tag")
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{32}$`).MatchString(tok) {
		t.Errorf("token %q: want 32 URL-safe characters (192 bits)", tok)
	}
	want := sha256.Sum256([]byte(tok))
	if !bytes.Equal(HashToken(tok), want[:]) {
		t.Error("HashToken is not SHA-256")
	}
}

func TestAddresses(t *testing.T) {
	tests := []struct{ addr, sep, want string }{
		{"vanban@snv.vinhlong.gov.vn", "+", "vanban+abc@snv.vinhlong.gov.vn"},
		{"vanban@snv.vinhlong.gov.vn", "-", "vanban-abc@snv.vinhlong.gov.vn"},
		{"not-an-address", "+", "not-an-address"},
	}
	for _, tt := range tests {
		if got := TaggedAddress(tt.addr, tt.sep, "abc"); got != tt.want {
			t.Errorf("TaggedAddress(%q, %q) = %q, want %q", tt.addr, tt.sep, got, tt.want)
		}
	}
	d := vanthu.Dispatch{ID: 42, MailTag: "abc"}
	if got := MessageID(d, "vanban@snv.test"); got != "vanthu.d42.abc@snv.test" {
		t.Errorf("MessageID = %q", got)
	}
	if got := FileName(vanthu.Document{Symbol: "15/BB-ĐKT"}); got != "15-BB-ĐKT.pdf" {
		t.Errorf("FileName = %q", got)
	}
}

// issuedSample is the directive template's sample as an issued document
// with one dispatch.
func issuedSample(t *testing.T, s *Service) (vanthu.Document, vanthu.Dispatch) {
	t.Helper()
	doc, err := s.NewDraft("directive")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, vanthu.Location)
	deadline := at.Add(56 * time.Hour)
	doc.ID, doc.Number, doc.Year, doc.Symbol, doc.State, doc.IssuedAt = 7, 2, 2026, "02/CT-UBND", vanthu.StateIssued, &at
	doc.Content.Deadline = &deadline
	d := vanthu.Dispatch{ID: 42, DocumentID: 7, UnitID: 3, Email: "ubnd@thanhduc.vinhlong.gov.vn", MailTag: "q7vj2mx0cypr8tkw",
		UnitCode: "P-THANH-DUC", UnitName: "Ủy ban nhân dân phường Thanh Đức", Deadline: &deadline, SentAt: &at}
	return doc, d
}

// TestComposeDirectiveGolden: the message a unit receives, byte for byte.
func TestComposeDirectiveGolden(t *testing.T) {
	s := service(t)
	doc, d := issuedSample(t, s)
	c := &Composer{Templates: s.Templates, From: &mail.Address{Name: "Sở Nội vụ", Address: "vanban@snv.vinhlong.gov.vn"},
		TagSeparator: "+", BaseURL: "https://vanthu.snv.vinhlong.gov.vn/", Key: []byte("golden-key")}
	env, err := c.Directive(doc, d, []byte("%PDF-1.7 placeholder"))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := c.Directive(doc, d, []byte("%PDF-1.7 placeholder"))
	if !bytes.Equal(env.Data.Bytes(), again.Data.Bytes()) {
		t.Fatal("composing twice gives different bytes")
	}
	if env.From != "vanban+q7vj2mx0cypr8tkw@snv.vinhlong.gov.vn" || env.MessageID != "vanthu.d42.q7vj2mx0cypr8tkw@snv.vinhlong.gov.vn" {
		t.Errorf("envelope from %q, id %q", env.From, env.MessageID)
	}
	if link := c.AckURL(d); !strings.HasPrefix(link, "https://vanthu.snv.vinhlong.gov.vn/a/") || strings.Contains(link, "//xac") {
		t.Errorf("ack URL %q", link)
	}
	golden(t, "directive.eml", env.Data.Bytes())
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; if intended, run go test ./internal/directive -update", name)
	}
}

func TestTrackingSheet(t *testing.T) {
	s := service(t)
	doc, d := issuedSample(t, s)
	now := d.Deadline.Add(time.Hour) // past the deadline
	acked := *d.SentAt
	ds := []vanthu.Dispatch{d, d, d}
	ds[1].UnitName, ds[1].AcknowledgedAt, ds[1].ReadAt = "Sở Y tế", &acked, &acked
	ds[2].UnitName, ds[2].SentAt, ds[2].FailedAt, ds[2].FailReason = "=Sở Tư pháp", nil, &acked, "550 5.1.1 mailbox unavailable"
	xlsx, err := s.TrackingSheet(context.Background(), doc, ds, now)
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(xlsx))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const sh = "Theo dõi"
	cells := map[string]string{
		"C5": "Ủy ban nhân dân phường Thanh Đức", "H5": "Có", // not acknowledged, past the deadline
		"C6": "Sở Y tế", "H6": "Không",
		"C7": "=Sở Tư pháp", "H7": "Không", "I7": "550 5.1.1 mailbox unavailable", // failed: not overdue
	}
	for ref, want := range cells {
		if got, _ := f.GetCellValue(sh, ref); got != want {
			t.Errorf("%s = %q, want %q", ref, got, want)
		}
	}
	for ref, want := range map[string]string{"D8": "2", "F8": "1", "H8": "1"} {
		if got, _ := f.CalcCellValue(sh, ref); got != want {
			t.Errorf("total %s = %q, want %s", ref, got, want)
		}
	}
}

// TestComposeReport: a report goes out with the report mail template, its
// PDF and its annex workbook attached in that order, and the same
// acknowledgement link as a directive; a reader of the MIME finds both
// files with their names.
func TestComposeReport(t *testing.T) {
	s := service(t)
	doc, d := issuedSample(t, s)
	doc.Kind, doc.TypeCode, doc.Symbol = vanthu.KindReport, "BC", "01/BC-SNV"
	doc.Subject = "Kết quả thực hiện kỷ luật, kỷ cương hành chính quý III năm 2026"
	c := &Composer{Templates: s.Templates, From: &mail.Address{Name: "Sở Nội vụ", Address: "vanban@snv.vinhlong.gov.vn"},
		TagSeparator: "+", BaseURL: "https://vanthu.snv.vinhlong.gov.vn/", Key: []byte("golden-key")}
	wb := mailer.Attachment{Filename: AnnexName(doc), ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Data: []byte("PK\x03\x04 annex")}
	env, err := c.Directive(doc, d, []byte("%PDF-1.7 report"), wb)
	if err != nil {
		t.Fatal(err)
	}
	m, err := gomail.CreateReader(bytes.NewReader(env.Data.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := m.Header.Subject()
	if subject != "Báo cáo số 01/BC-SNV: kết quả thực hiện kỷ luật, kỷ cương hành chính quý III năm 2026" {
		t.Errorf("subject %q", subject)
	}
	var files []string
	var text string
	for {
		p, err := m.NextPart()
		if err != nil {
			break
		}
		body, _ := io.ReadAll(p.Body)
		switch h := p.Header.(type) {
		case *gomail.AttachmentHeader:
			name, _ := h.Filename()
			files = append(files, name+"="+string(body))
		case *gomail.InlineHeader:
			if ct, _, _ := h.ContentType(); ct == "text/plain" {
				text = string(body)
			}
		}
	}
	if want := []string{"01-BC-SNV.pdf=%PDF-1.7 report", "01-BC-SNV-phu-luc.xlsx=PK\x03\x04 annex"}; !slices.Equal(files, want) {
		t.Errorf("attachments %q, want %q", files, want)
	}
	for _, want := range []string{"gửi Báo cáo số 01/BC-SNV", "về kết quả thực hiện", "01-BC-SNV-phu-luc.xlsx", c.AckURL(d)} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
}
