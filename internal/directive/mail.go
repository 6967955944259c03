package directive

import (
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/render"
	"github.com/sonoivu/vanthu/mailer"
	"github.com/sonoivu/vanthu/templates"
)

// Composer writes the e-mail that carries a document to one unit.
type Composer struct {
	Templates *templates.Set
	// From is the office mailbox; its display name is the office's name.
	From *mail.Address
	// TagSeparator joins the mailbox's local part and a dispatch's tag.
	TagSeparator string
	// BaseURL is the public URL of the web server, for the link.
	BaseURL string
	// Key signs acknowledgement tokens (see Token).
	Key []byte

	mu   sync.Mutex
	pdfs map[pdfKey]mailer.Attachment // prepared PDF attachments of issued documents
}

// pdfKey names an issued document's PDF: issued documents never change.
type pdfKey struct {
	doc  int64
	size int
}

// maxPreparedPDFs bounds the prepared attachments kept: a few documents
// are sent at a time.
const maxPreparedPDFs = 8

// pdfAttachment returns doc's PDF as an attachment, encoded once per
// issued document rather than once per unit.
func (c *Composer) pdfAttachment(doc vanthu.Document, pdf []byte) (mailer.Attachment, error) {
	a := mailer.Attachment{Filename: FileName(doc), ContentType: "application/pdf", Data: pdf}
	if doc.ID == 0 || doc.State != vanthu.StateIssued {
		return a, nil
	}
	k := pdfKey{doc.ID, len(pdf)}
	c.mu.Lock()
	p, ok := c.pdfs[k]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := mailer.PrepareAttachment(a)
	if err != nil {
		return a, err
	}
	c.mu.Lock()
	if c.pdfs == nil || len(c.pdfs) >= maxPreparedPDFs {
		c.pdfs = map[pdfKey]mailer.Attachment{}
	}
	c.pdfs[k] = p
	c.mu.Unlock()
	return p, nil
}

// Envelope is a composed message with its SMTP envelope.
type Envelope struct {
	From      string // envelope sender (Return-Path): the tagged office address
	To        []string
	MessageID string      // without angle brackets
	Data      mailer.Data // pieces: the attachments are shared, not copied
}

// TaggedAddress returns the office address with tag added to its local
// part: vanban@snv.gov.vn → vanban+tag@snv.gov.vn.
func TaggedAddress(addr, sep, tag string) string {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok {
		return addr
	}
	return local + sep + tag + "@" + domain
}

// MessageID is the stable Message-ID of a dispatch: a retried send repeats
// it, so the unit's mail client and the sink of a test see the same
// message, and read receipts and replies name the dispatch.
func MessageID(d vanthu.Dispatch, officeAddr string) string {
	_, domain, _ := strings.Cut(officeAddr, "@")
	if domain == "" {
		domain = "vanthu.invalid"
	}
	return fmt.Sprintf("vanthu.d%d.%s@%s", d.ID, d.MailTag, domain)
}

// AckURL is the acknowledgement link of a dispatch.
func (c *Composer) AckURL(d vanthu.Dispatch) string {
	return strings.TrimRight(c.BaseURL, "/") + "/a/" + Token(c.Key, d.MailTag)
}

// Directive composes the message carrying doc's PDF to the unit of d: the
// "directive" mail template (text and HTML; the "report" one for a
// report), the PDF attached with the annexes after it (a report's
// workbook), the stable Message-ID, and the dispatch's tagged office
// address as envelope sender, Reply-To and Disposition-Notification-To.
// Thunderbird sends a read receipt without asking only when the
// Return-Path and the Disposition-Notification-To are the same address.
func (c *Composer) Directive(doc vanthu.Document, d vanthu.Dispatch, pdf []byte, annexes ...mailer.Attachment) (Envelope, error) {
	if d.MailTag == "" {
		return Envelope{}, fmt.Errorf("directive: dispatch %d has no mail tag", d.ID)
	}
	issued := time.Time{}
	if doc.IssuedAt != nil {
		issued = doc.IssuedAt.In(vanthu.Location)
	}
	var deadline any
	if d.Deadline != nil {
		deadline = d.Deadline.In(vanthu.Location)
	}
	contact := doc.Content.AddressLine
	if contact == "" {
		contact = "thư điện tử " + c.From.Address
	}
	data := map[string]any{
		"Unit":       d.UnitName,
		"Office":     officeName(c.From),
		"Contact":    contact,
		"TypeName":   typeName(doc),
		"Number":     doc.Symbol,
		"Date":       issued,
		"Issuer":     "",
		"Subject":    doc.Subject,
		"Urgency":    render.Urgency(doc.Content.Urgency).Label(),
		"Deadline":   deadline,
		"AckURL":     c.AckURL(d),
		"Attachment": FileName(doc),
	}
	names := []string{FileName(doc)}
	for _, a := range annexes {
		names = append(names, a.Filename)
	}
	data["Attachments"] = names
	name := "directive"
	if doc.Kind == vanthu.KindReport {
		name = "report"
	}
	body, err := c.Templates.Mail(name, data)
	if err != nil {
		return Envelope{}, err
	}
	tagged := TaggedAddress(c.From.Address, c.TagSeparator, d.MailTag)
	id := MessageID(d, c.From.Address)
	att, err := c.pdfAttachment(doc, pdf)
	if err != nil {
		return Envelope{}, err
	}
	msg, err := mailer.ComposeData(mailer.Message{
		From:        c.From,
		To:          []*mail.Address{{Name: d.UnitName, Address: d.Email}},
		Subject:     body.Subject,
		Date:        issued,
		MessageID:   id,
		Text:        body.Text,
		HTML:        body.HTML,
		Attachments: append([]mailer.Attachment{att}, annexes...),
		Header: map[string]string{
			"Reply-To":                    tagged,
			"Disposition-Notification-To": tagged,
		},
	})
	if err != nil {
		return Envelope{}, err
	}
	return Envelope{From: tagged, To: []string{d.Email}, MessageID: id, Data: msg}, nil
}

// AnnexName is the attachment name of a report's annex workbook:
// "01-BC-SNV-phu-luc.xlsx".
func AnnexName(doc vanthu.Document) string {
	return strings.TrimSuffix(FileName(doc), ".pdf") + "-phu-luc.xlsx"
}

// officeName is the office as named in a mail body: the From display name,
// else its address.
func officeName(a *mail.Address) string {
	if a.Name != "" {
		return a.Name
	}
	return a.Address
}

// typeName is the document type as written inside a sentence: "Chỉ thị",
// "Công văn" when there is none.
func typeName(doc vanthu.Document) string {
	t := strings.TrimSpace(doc.Content.TypeName)
	if t == "" {
		return "Công văn"
	}
	r := []rune(strings.ToLower(t))
	return strings.ToUpper(string(r[0])) + string(r[1:])
}

// Reminder composes the n-th reminder to the unit of d that has not
// acknowledged doc: the "reminder" mail template, the reminder letter
// (công văn đôn đốc) laid out from the "reminder" document template, the
// original PDF attached again, threaded under the original message
// (In-Reply-To, References) and tagged like it, so that the unit's reply
// or read receipt is matched to the same dispatch.
//
// The letter's frame (agency, signer, symbol) comes from the template's
// sample file, which the office overrides with its own; the letter carries
// the symbol without a number.
func (c *Composer) Reminder(doc vanthu.Document, d vanthu.Dispatch, n int, pdf []byte, now time.Time) (Envelope, error) {
	if d.MailTag == "" || d.SentAt == nil {
		return Envelope{}, fmt.Errorf("directive: dispatch %d was not sent; nothing to remind of", d.ID)
	}
	now = now.In(vanthu.Location)
	issued := time.Time{}
	if doc.IssuedAt != nil {
		issued = doc.IssuedAt.In(vanthu.Location)
	}
	deadline := now
	if d.Deadline != nil {
		deadline = d.Deadline.In(vanthu.Location)
	}
	office := officeName(c.From)
	contact := doc.Content.AddressLine
	if contact == "" {
		contact = "thư điện tử " + c.From.Address
	}
	in, err := c.Templates.Sample("reminder")
	if err != nil {
		return Envelope{}, err
	}
	ref := fmt.Sprintf("%s số %s ngày %s %s", typeName(doc), doc.Symbol, issued.Format("02/01/2006"), templates.LowerFirst(doc.Subject))
	in.Data = map[string]any{
		"Sender": office, "DocumentRef": ref, "SentAt": d.SentAt.In(vanthu.Location), "Deadline": deadline,
		"Today": now, "N": n, "Contact": contact,
	}
	in.Document.Date = now.Format("2006-01-02")
	in.Document.KinhGui = []string{d.UnitName}
	in.Document.Subject = fmt.Sprintf("Đôn đốc xác nhận tiếp nhận %s số %s", typeName(doc), doc.Symbol)
	if _, sym, ok := strings.Cut(in.Document.Number, "/"); ok {
		in.Document.Number = "/" + sym // no number: see the doc comment
	}
	letter, err := c.Templates.Document("reminder", in)
	if err != nil {
		return Envelope{}, err
	}
	letterPDF, err := render.PDF(letter)
	if err != nil {
		return Envelope{}, err
	}
	letterName := fmt.Sprintf("don-doc-lan-%d-%s", n, FileName(doc))
	body, err := c.Templates.Mail("reminder", map[string]any{
		"Unit": d.UnitName, "Office": office, "Contact": contact, "N": n, "Number": in.Document.Number,
		"TypeName": typeName(doc), "OriginalNumber": doc.Symbol, "OriginalDate": issued, "Subject": doc.Subject,
		"SentAt": d.SentAt.In(vanthu.Location), "Deadline": deadline, "AckURL": c.AckURL(d), "Attachment": letterName,
	})
	if err != nil {
		return Envelope{}, err
	}
	tagged := TaggedAddress(c.From.Address, c.TagSeparator, d.MailTag)
	original := MessageID(d, c.From.Address)
	id := strings.Replace(original, fmt.Sprintf(".d%d.", d.ID), fmt.Sprintf(".d%d.r%d.", d.ID, n), 1)
	msg, err := mailer.ComposeData(mailer.Message{
		From:      c.From,
		To:        []*mail.Address{{Name: d.UnitName, Address: d.Email}},
		Subject:   body.Subject,
		Date:      now,
		MessageID: id,
		Text:      body.Text,
		HTML:      body.HTML,
		Attachments: []mailer.Attachment{
			{Filename: letterName, ContentType: "application/pdf", Data: letterPDF},
			{Filename: FileName(doc), ContentType: "application/pdf", Data: pdf},
		},
		Header: map[string]string{
			"Reply-To":                    tagged,
			"Disposition-Notification-To": tagged,
			"In-Reply-To":                 "<" + original + ">",
			"References":                  "<" + original + ">",
		},
	})
	if err != nil {
		return Envelope{}, err
	}
	return Envelope{From: tagged, To: []string{d.Email}, MessageID: id, Data: msg}, nil
}
