package mailer

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/mail"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
	gmtextproto "github.com/emersion/go-message/textproto"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/vntext"
)

// Message is an e-mail to compose. Addresses are net/mail addresses (the
// type go-message uses too), so display names may be Vietnamese.
type Message struct {
	From    *mail.Address
	To      []*mail.Address
	Cc      []*mail.Address
	Subject string
	// Date and MessageID are taken as given so the same input composes the
	// same bytes (golden tests, and a retried send repeats its Message-ID).
	Date      time.Time
	MessageID string // without angle brackets
	Text      string
	HTML      string
	// Attachments follow the body parts.
	Attachments []Attachment
	// Header holds extra header fields (Reply-To, Disposition-Notification-To,
	// In-Reply-To, References, Auto-Submitted, ...). Non-ASCII values are
	// RFC 2047 encoded; CR and LF are refused.
	Header map[string]string
}

// Attachment is a file carried by a message.
type Attachment struct {
	Filename    string
	ContentType string // default application/octet-stream
	Data        []byte

	// part is the encoded MIME part (header and base64 body), set by
	// PrepareAttachment; it must describe Filename, ContentType and Data.
	part []byte
}

// PrepareAttachment encodes a once, so that composing it into many
// messages (a directive to hundreds of units) does not base64 the same
// file for each: the profile of a fan-out had this at 9 % of the CPU.
// The result composes to the same bytes as a itself.
func PrepareAttachment(a Attachment) (Attachment, error) {
	part, err := attachmentPart(0, a)
	if err != nil {
		return a, err
	}
	a.part = part
	return a, nil
}

// attachmentPart is the MIME part of attachment i: its header, as go-message
// writes it, and the content in base64 lines of 76 characters, as
// go-message's encoder writes them.
func attachmentPart(i int, a Attachment) ([]byte, error) {
	name := vntext.Clean(a.Filename)
	if name == "" || strings.ContainsAny(name, "/\\\r\n") {
		return nil, vanthu.Invalid("Tên tệp đính kèm không hợp lệ.", vanthu.Problem{Field: fmt.Sprintf("attachments[%d].filename", i), Message: a.Filename})
	}
	ct := a.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	var ah message.Header
	// go-message would put an RFC 2047 word inside a quoted parameter;
	// mime.FormatMediaType writes RFC 2231 (filename*=utf-8''...), which
	// is what the standard prescribes and what Outlook, Thunderbird and
	// Gmail decode.
	ah.Set("Content-Type", mime.FormatMediaType(ct, map[string]string{"name": name}))
	ah.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	ah.Set("Content-Transfer-Encoding", "base64")
	enc := base64.StdEncoding.EncodedLen(len(a.Data))
	var b bytes.Buffer
	b.Grow(256 + enc + 2*(enc/76))
	if err := gmtextproto.WriteHeader(&b, ah.Header); err != nil {
		return nil, fmt.Errorf("compose attachment %s: %w", name, err)
	}
	body := make([]byte, enc)
	base64.StdEncoding.Encode(body, a.Data)
	for len(body) > 76 {
		b.Write(body[:76])
		b.WriteString("\r\n")
		body = body[76:]
	}
	b.Write(body)
	return b.Bytes(), nil
}

// headers Compose sets itself; Header may not override them because a
// second From or Content-Type would make the message ambiguous.
var reserved = map[string]bool{
	"From": true, "To": true, "Cc": true, "Subject": true, "Date": true, "Message-Id": true,
	"Mime-Version": true, "Content-Type": true, "Content-Transfer-Encoding": true, "Content-Disposition": true,
}

// Compose builds the MIME message: multipart/mixed holding a
// multipart/alternative (text/plain and text/html, UTF-8, quoted-printable)
// and the attachments, whose Vietnamese file names are RFC 2231 encoded.
// All text is NFC-normalised first so that a subject typed on a Mac and one
// typed on Windows compare equal in the recipient's client.
func Compose(m Message) ([]byte, error) {
	d, err := ComposeData(m)
	if err != nil {
		return nil, err
	}
	return d.Bytes(), nil
}

// Data is a composed message held as pieces that are sent one after
// another. The encoded part of a prepared attachment is a piece of its own,
// shared by every message that carries it: a directive to 500 units holds
// its PDF once instead of copying it into 500 messages. Copying it cost the
// send path more than the copy itself: every fresh 100 KB message was new
// memory for the allocator, the garbage collector and the CPU caches.
type Data [][]byte

// Len is the message's length in bytes.
func (d Data) Len() int {
	n := 0
	for _, p := range d {
		n += len(p)
	}
	return n
}

// Bytes returns the message in one slice: the only piece as it is, or the
// pieces joined in a new one.
func (d Data) Bytes() []byte {
	if len(d) == 1 {
		return d[0]
	}
	b := make([]byte, 0, d.Len())
	for _, p := range d {
		b = append(b, p...)
	}
	return b
}

// ComposeData builds the same message as Compose, in pieces (see Data).
func ComposeData(m Message) (Data, error) {
	if m.From == nil || m.From.Address == "" {
		return nil, vanthu.Invalid("Thiếu địa chỉ người gửi.", vanthu.Problem{Field: "from", Message: "bắt buộc"})
	}
	if len(m.To) == 0 {
		return nil, vanthu.Invalid("Thiếu địa chỉ người nhận.", vanthu.Problem{Field: "to", Message: "bắt buộc"})
	}
	if m.Text == "" && m.HTML == "" {
		return nil, vanthu.Invalid("Thư không có nội dung.", vanthu.Problem{Field: "text", Message: "bắt buộc"})
	}
	if strings.ContainsAny(m.MessageID, "<>\r\n \t") {
		return nil, vanthu.Invalid("Message-ID không hợp lệ.", vanthu.Problem{Field: "message_id", Message: "không được chứa <, >, khoảng trắng hay xuống dòng"})
	}

	var h gomail.Header
	h.SetAddressList("From", []*mail.Address{nfcAddress(m.From)})
	h.SetAddressList("To", nfcAddresses(m.To))
	h.SetAddressList("Cc", nfcAddresses(m.Cc))
	h.SetSubject(vntext.Clean(m.Subject))
	if m.Date.IsZero() {
		return nil, vanthu.Invalid("Thiếu ngày gửi.", vanthu.Problem{Field: "date", Message: "bắt buộc"})
	}
	h.SetDate(m.Date)
	if m.MessageID != "" {
		h.SetMessageID(m.MessageID)
	}
	h.Set("MIME-Version", "1.0")
	for _, k := range slices.Sorted(maps.Keys(m.Header)) {
		v := m.Header[k]
		if strings.ContainsAny(k+v, "\r\n") || strings.ContainsAny(k, ": ") || k == "" {
			return nil, vanthu.Invalid("Trường thư không hợp lệ: "+k, vanthu.Problem{Field: "header", Message: k})
		}
		if reserved[textproto.CanonicalMIMEHeaderKey(k)] {
			return nil, vanthu.Invalid("Không được đặt lại trường thư "+k+".", vanthu.Problem{Field: "header", Message: k})
		}
		h.SetText(k, vntext.NFC(v))
	}

	w := &pieceWriter{}
	w.cur.Grow(composedSize(m))
	if err := writeEntity(w, h.Header, m); err != nil {
		return nil, err
	}
	return w.data(), nil
}

// pieceWriter collects a message's pieces: what is written goes into the
// current piece; share ends it and adds a shared slice as a piece of its
// own.
type pieceWriter struct {
	pieces Data
	cur    bytes.Buffer
}

func (w *pieceWriter) Write(p []byte) (int, error) { return w.cur.Write(p) }

func (w *pieceWriter) share(p []byte) {
	if w.cur.Len() > 0 {
		w.pieces = append(w.pieces, w.cur.Bytes())
		// The next piece gets a buffer of its own; the last one is still
		// referenced by pieces.
		w.cur = bytes.Buffer{}
	}
	w.pieces = append(w.pieces, p)
}

func (w *pieceWriter) data() Data {
	if w.cur.Len() > 0 {
		w.pieces = append(w.pieces, w.cur.Bytes())
	}
	return w.pieces
}

// composedSize is a generous estimate of the message's length up to its
// first shared piece (and beyond, for attachments not prepared), so that
// the buffer is allocated once instead of grown by doubling.
func composedSize(m Message) int {
	n := 4096 + 3*(len(m.Subject)+len(m.Text)+len(m.HTML))
	for k, v := range m.Header {
		n += 3 * (len(k) + len(v))
	}
	for _, a := range m.Attachments {
		if a.part == nil {
			enc := base64.StdEncoding.EncodedLen(len(a.Data))
			n += 512 + enc + 2*(enc/76)
		}
	}
	return n
}

// writeEntity writes the header and MIME body. The message package is used
// directly rather than go-message/mail's writers because those pick random
// multipart boundaries, and a message must compose to the same bytes every
// time. A boundary starting "=_" cannot occur inside quoted-printable or
// base64 content, so a deterministic one is safe.
func writeEntity(w *pieceWriter, h message.Header, m Message) error {
	sum := sha256.New()
	for _, s := range []string{m.MessageID, m.Subject, m.Date.String(), m.Text, m.HTML} {
		io.WriteString(sum, s)
		sum.Write([]byte{0})
	}
	// Attachments count by name and size, not content: hashing a PDF for
	// every one of a thousand units costs more than the boundary is worth,
	// and "=_" keeps it out of any encoded content anyway.
	for _, a := range m.Attachments {
		fmt.Fprintf(sum, "%s\x00%d\x00", a.Filename, len(a.Data))
	}
	tag := hex.EncodeToString(sum.Sum(nil))[:24]
	altBoundary, mixedBoundary := "=_alt_"+tag, "=_mix_"+tag

	fail := func(what string, err error) error { return fmt.Errorf("compose %s: %w", what, err) }
	alternative := func() message.Header {
		var ah message.Header
		ah.SetContentType("multipart/alternative", map[string]string{"boundary": altBoundary})
		return ah
	}

	var root *message.Writer
	var err error
	if len(m.Attachments) == 0 {
		// No attachment: the alternative part is the whole message, which
		// keeps plain notices small and readable in any client.
		h.SetContentType("multipart/alternative", map[string]string{"boundary": altBoundary})
		if root, err = message.CreateWriter(w, h); err != nil {
			return fail("message", err)
		}
		if err := writeBodies(root, m); err != nil {
			return err
		}
		return root.Close()
	}

	h.SetContentType("multipart/mixed", map[string]string{"boundary": mixedBoundary})
	if root, err = message.CreateWriter(w, h); err != nil {
		return fail("message", err)
	}
	alt, err := root.CreatePart(alternative())
	if err != nil {
		return fail("body", err)
	}
	if err := writeBodies(alt, m); err != nil {
		return err
	}
	if err := alt.Close(); err != nil {
		return fail("body", err)
	}
	// The attachments are written here rather than through root.CreatePart,
	// byte for byte as go-message's multipart writer would, so that a
	// prepared attachment's encoded part is shared instead of encoded
	// again, or even copied, for every message.
	for i, a := range m.Attachments {
		if _, err := fmt.Fprintf(w, "\r\n--%s\r\n", mixedBoundary); err != nil {
			return fail("attachment", err)
		}
		if a.part != nil {
			w.share(a.part)
			continue
		}
		part, err := attachmentPart(i, a)
		if err != nil {
			return err
		}
		if _, err := w.Write(part); err != nil {
			return fail("attachment", err)
		}
	}
	if _, err := fmt.Fprintf(w, "\r\n--%s--\r\n", mixedBoundary); err != nil {
		return fail("message", err)
	}
	return nil
}

func writeBodies(mw *message.Writer, m Message) error {
	part := func(ct, body string) error {
		var ph message.Header
		ph.SetContentType(ct, map[string]string{"charset": "utf-8"})
		ph.Set("Content-Transfer-Encoding", "quoted-printable")
		w, err := mw.CreatePart(ph)
		if err != nil {
			return fmt.Errorf("compose %s: %w", ct, err)
		}
		// Mail lines end in CRLF (RFC 5322); templates are written with LF.
		body = strings.ReplaceAll(strings.ReplaceAll(vntext.NFC(body), "\r\n", "\n"), "\n", "\r\n")
		if _, err := io.WriteString(w, body); err != nil {
			return fmt.Errorf("compose %s: %w", ct, err)
		}
		if err := w.Close(); err != nil {
			return fmt.Errorf("compose %s: %w", ct, err)
		}
		return nil
	}
	// Plain text first: clients show the last alternative they understand.
	if m.Text != "" {
		if err := part("text/plain", m.Text); err != nil {
			return err
		}
	}
	if m.HTML != "" {
		if err := part("text/html", m.HTML); err != nil {
			return err
		}
	}
	return nil
}

func nfcAddress(a *mail.Address) *mail.Address {
	return &mail.Address{Name: vntext.Clean(a.Name), Address: a.Address}
}

func nfcAddresses(as []*mail.Address) []*mail.Address {
	out := make([]*mail.Address, 0, len(as))
	for _, a := range as {
		if a != nil {
			out = append(out, nfcAddress(a))
		}
	}
	return out
}
