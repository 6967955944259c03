package mailer_test

import (
	"bytes"
	"flag"
	"io"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gomessage "github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/mailer"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func directiveMessage() mailer.Message {
	// The subject is typed decomposed (NFD, as macOS produces) to prove that
	// Compose normalises it.
	return mailer.Message{
		From:      &mail.Address{Name: "Sở Nội vụ tỉnh Vĩnh Long", Address: "vanthu+d42.ab12@snv.vinhlong.gov.vn"},
		To:        []*mail.Address{{Name: "UBND phường 1", Address: "ubnd.p1@vinhlong.gov.vn"}},
		Subject:   "Chỉ thị về tăng cường kỷ luật, kỷ cương hành chính",
		Date:      time.Date(2026, 11, 25, 7, 45, 0, 0, vanthu.Location),
		MessageID: "d42.ab12@snv.vinhlong.gov.vn",
		Text:      "Kính gửi: UBND phường 1\n\nSở Nội vụ gửi Chỉ thị số 02/CT-UBND.\n",
		HTML:      "<p>Kính gửi: UBND phường 1</p><p>Sở Nội vụ gửi Chỉ thị số <b>02/CT-UBND</b>.</p>",
		Attachments: []mailer.Attachment{{
			Filename:    "Chỉ thị 02-CT-UBND.pdf",
			ContentType: "application/pdf",
			Data:        []byte("%PDF-1.7\n% giả lập\n%%EOF\n"),
		}},
		Header: map[string]string{
			"Disposition-Notification-To": "vanthu+d42.ab12@snv.vinhlong.gov.vn",
			"Reply-To":                    "vanthu+d42.ab12@snv.vinhlong.gov.vn",
			"Auto-Submitted":              "auto-generated",
		},
	}
}

func TestComposeGolden(t *testing.T) {
	tests := []struct {
		name string
		msg  func() mailer.Message
	}{
		{"directive", directiveMessage},
		{"text_only", func() mailer.Message {
			m := directiveMessage()
			m.HTML, m.Attachments, m.Header = "", nil, nil
			return m
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mailer.Compose(tt.msg())
			if err != nil {
				t.Fatal(err)
			}
			again, _ := mailer.Compose(tt.msg())
			if !bytes.Equal(got, again) {
				t.Fatal("Compose is not deterministic for the same input")
			}
			path := filepath.Join("testdata", tt.name+".eml")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./mailer -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("composed message differs from %s; rerun with -update if intended:\n%s", path, got)
			}
		})
	}
}

// TestComposeReadsBack parses the composed bytes with go-message, an
// independent reader, and checks what a recipient's client would show.
func TestComposeReadsBack(t *testing.T) {
	in := directiveMessage()
	in.Subject = "Chi\u0309 thi\u0323 về tăng cường kỷ luật" // NFD "Chỉ thị"
	raw, err := mailer.Compose(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("line longer than RFC 5322 allows: %d", len(line))
		}
		for _, r := range line {
			if r > 127 {
				t.Fatalf("non-ASCII byte on the wire: %q", line)
			}
		}
	}
	if !strings.Contains(string(raw), "filename*=utf-8''Ch%E1%BB%89%20th%E1%BB%8B%2002-CT-UBND.pdf") {
		t.Errorf("attachment file name is not RFC 2231 encoded:\n%s", raw)
	}
	r, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	subj, err := r.Header.Subject()
	if err != nil || subj != "Chỉ thị về tăng cường kỷ luật" {
		t.Errorf("subject = %q, %v; want the NFC string", subj, err)
	}
	from, _ := r.Header.AddressList("From")
	if len(from) != 1 || from[0].Name != "Sở Nội vụ tỉnh Vĩnh Long" {
		t.Errorf("from = %v", from)
	}
	if id, _ := r.Header.MessageID(); id != in.MessageID {
		t.Errorf("Message-ID = %q, want %q", id, in.MessageID)
	}
	if got := r.Header.Get("Disposition-Notification-To"); got != in.Header["Disposition-Notification-To"] {
		t.Errorf("Disposition-Notification-To = %q", got)
	}
	var text, html, filename string
	var data []byte
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p.Body)
		if _, ok := p.Header.(*gomail.InlineHeader); ok {
			// Lines travel as CRLF; the reader hands them back that way.
			b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
		}
		switch h := p.Header.(type) {
		case *gomail.InlineHeader:
			ct, _, _ := h.ContentType()
			if ct == "text/plain" {
				text = string(b)
			} else {
				html = string(b)
			}
		case *gomail.AttachmentHeader:
			filename, _ = h.Filename()
			data = b
		}
	}
	if text != in.Text {
		t.Errorf("text part = %q, want %q", text, in.Text)
	}
	if html != in.HTML {
		t.Errorf("html part = %q", html)
	}
	if filename != "Chỉ thị 02-CT-UBND.pdf" {
		t.Errorf("filename = %q", filename)
	}
	if !bytes.Equal(data, in.Attachments[0].Data) {
		t.Errorf("attachment bytes differ")
	}
}

func TestComposeRejects(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*mailer.Message)
		field string
	}{
		{"no sender", func(m *mailer.Message) { m.From = nil }, "from"},
		{"no recipient", func(m *mailer.Message) { m.To = nil }, "to"},
		{"no body", func(m *mailer.Message) { m.Text, m.HTML = "", "" }, "text"},
		{"no date", func(m *mailer.Message) { m.Date = time.Time{} }, "date"},
		{"header injection", func(m *mailer.Message) { m.Header = map[string]string{"Reply-To": "a@b\r\nBcc: x@y"} }, "header"},
		{"reserved header", func(m *mailer.Message) { m.Header = map[string]string{"content-type": "text/plain"} }, "header"},
		{"bad message id", func(m *mailer.Message) { m.MessageID = "<x@y>" }, "message_id"},
		{"path in file name", func(m *mailer.Message) { m.Attachments[0].Filename = "../x.pdf" }, "attachments[0].filename"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := directiveMessage()
			tt.edit(&m)
			_, err := mailer.Compose(m)
			if vanthu.ErrorCodeOf(err) != vanthu.EInvalid {
				t.Fatalf("err = %v, want EInvalid", err)
			}
			ps := vanthu.ProblemsOf(err)
			if len(ps) == 0 || ps[0].Field != tt.field {
				t.Errorf("problems = %+v, want field %q", ps, tt.field)
			}
		})
	}
}

// TestPreparedAttachment: a prepared attachment composes to the same bytes
// as one encoded on the spot, and both read back to the file's bytes, for
// sizes on both sides of the 76-character line and 3-byte group edges;
// two attachments read back in order.
func TestPreparedAttachment(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 56, 57, 58, 113, 114, 115, 1000, 100000} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i*7 + n)
		}
		m := directiveMessage()
		m.Attachments = []mailer.Attachment{{Filename: "Báo cáo.pdf", ContentType: "application/pdf", Data: data}, {Filename: "phụ lục.xlsx", Data: []byte("xlsx")}}
		plain, err := mailer.Compose(m)
		if err != nil {
			t.Fatal(err)
		}
		for i := range m.Attachments {
			if m.Attachments[i], err = mailer.PrepareAttachment(m.Attachments[i]); err != nil {
				t.Fatal(err)
			}
		}
		prepared, err := mailer.Compose(m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(plain, prepared) {
			t.Fatalf("size %d: prepared attachment composes differently", n)
		}
		// The part is byte for byte what go-message's own writer makes.
		var ah gomessage.Header
		ah.Set("Content-Type", mime.FormatMediaType("application/pdf", map[string]string{"name": "Báo cáo.pdf"}))
		ah.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "Báo cáo.pdf"}))
		ah.Set("Content-Transfer-Encoding", "base64")
		var ref bytes.Buffer
		w, err := gomessage.CreateWriter(&ref, ah)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		w.Close()
		// (A top-level writer adds MIME-Version, which a part does not have.)
		part := bytes.TrimPrefix(ref.Bytes(), []byte("Mime-Version: 1.0\r\n"))
		if len(part) == ref.Len() || !bytes.Contains(prepared, append(part, "\r\n--"...)) {
			t.Fatalf("size %d: the attachment part differs from go-message's", n)
		}
		r, err := gomail.CreateReader(bytes.NewReader(prepared))
		if err != nil {
			t.Fatal(err)
		}
		var got [][]byte
		for {
			p, err := r.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("size %d: %v", n, err)
			}
			if _, ok := p.Header.(*gomail.AttachmentHeader); ok {
				b, err := io.ReadAll(p.Body)
				if err != nil {
					t.Fatalf("size %d: %v", n, err)
				}
				got = append(got, b)
			}
		}
		if len(got) != 2 || !bytes.Equal(got[0], data) || string(got[1]) != "xlsx" {
			t.Fatalf("size %d: attachments read back wrong (%d parts)", n, len(got))
		}
		for _, line := range strings.Split(string(prepared), "\r\n") {
			if len(line) > 76 && !strings.HasPrefix(line, "Content-") && !strings.Contains(line, ": ") {
				t.Fatalf("size %d: body line of %d characters", n, len(line))
			}
		}
	}
	if _, err := mailer.PrepareAttachment(mailer.Attachment{Filename: "a/b.pdf"}); vanthu.ErrorCodeOf(err) != vanthu.EInvalid {
		t.Errorf("bad file name prepared: %v", err)
	}
}

// TestComposeDataSharesAttachment: composed in pieces, a message is
// Compose's bytes, and two messages carrying the same prepared attachment
// share its encoded part instead of each holding a copy of it.
func TestComposeDataSharesAttachment(t *testing.T) {
	pdf := bytes.Repeat([]byte("%PDF-1.7 nội dung chỉ thị "), 4000)
	a, err := mailer.PrepareAttachment(mailer.Attachment{Filename: "Chỉ thị 02.pdf", ContentType: "application/pdf", Data: pdf})
	if err != nil {
		t.Fatal(err)
	}
	m := directiveMessage()
	m.Attachments = []mailer.Attachment{a}
	first, err := mailer.ComposeData(m)
	if err != nil {
		t.Fatal(err)
	}
	m.MessageID = "d2.x@snv.test"
	m.To = []*mail.Address{{Name: "UBND xã Tân Phú", Address: "ubnd@tanphu.test"}}
	second, err := mailer.ComposeData(m)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := mailer.Compose(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(second.Bytes(), whole) || second.Len() != len(whole) {
		t.Fatalf("pieces (%d bytes) differ from the composed message (%d bytes)", second.Len(), len(whole))
	}
	shared := 0
	for _, p := range first {
		for _, q := range second {
			if len(p) > len(pdf) && len(p) == len(q) && &p[0] == &q[0] {
				shared++
			}
		}
	}
	if shared != 1 {
		t.Errorf("%d pieces of the PDF's size are shared by the two messages, want 1 (%d and %d pieces)", shared, len(first), len(second))
	}
}
