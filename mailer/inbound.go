package mailer

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	// charset.Reader converts the legacy charsets Vietnamese clients still
	// use (windows-1258, and Latin-1 from old webmail) to UTF-8. Importing
	// it also sets go-message's package-level CharsetReader; Classify does
	// not rely on that and calls charset.Reader itself.
	"github.com/emersion/go-message/charset"

	"github.com/sonoivu/vanthu/internal/vntext"
)

// InboundKind is what an inbound message of the office mailbox is.
type InboundKind string

// Inbound kinds. The values are stored with the evidence; do not rename.
const (
	InboundMDN       InboundKind = "mdn"       // read receipt (RFC 8098)
	InboundDSN       InboundKind = "dsn"       // bounce or delay notice (RFC 3464, or a known non-standard shape)
	InboundReply     InboundKind = "reply"     // a person answering a dispatch
	InboundOther     InboundKind = "other"     // anything else, auto-replies included
	InboundMalformed InboundKind = "malformed" // no readable header, or nothing to identify it by
)

// DefaultMaxPartBytes is ClassifyOptions.MaxPartBytes when unset.
const DefaultMaxPartBytes = 1 << 20

// MaxReplyRunes bounds Inbound.Text: enough for any acknowledgement, and a
// pasted document cannot bloat the evidence table.
const MaxReplyRunes = 2000

// Structural limits, so that hostile nesting cannot make Classify slow or
// deep. Real mail stays far below them.
const (
	maxDepth    = 12  // nested multiparts
	maxParts    = 500 // MIME parts in one message
	maxFields   = 2000
	maxProblems = 40
	maxDiagRune = 500
)

// ClassifyOptions tunes Classify. The zero value is usable.
type ClassifyOptions struct {
	// MaxPartBytes bounds how much of any one part is read (default 1 MiB),
	// so a huge attachment cannot exhaust memory.
	MaxPartBytes int64
	// Office is the office mailbox address (vanban@sonoivu.vinhlong.gov.vn).
	// When set, Inbound.Tags holds the tags TagOf finds in the recipients.
	// When empty, any recipient whose local part ends in TagSeparator and
	// a dispatch tag (16 lower-case base32 characters) counts.
	Office string
	// TagSeparator joins the office local part and a tag; default "+".
	TagSeparator string
}

// Inbound is what Classify found in one message. It is stored as evidence
// of a milestone, so every string is valid UTF-8 and NFC.
type Inbound struct {
	Kind      InboundKind `json:"kind"`
	MessageID string      `json:"message_id,omitempty"` // without angle brackets
	Subject   string      `json:"subject,omitempty"`    // RFC 2047 decoded, NFC
	From      string      `json:"from,omitempty"`       // address, lower-cased
	FromName  string      `json:"from_name,omitempty"`  // display name, decoded
	Date      time.Time   `json:"date,omitzero"`        // zero when missing or unreadable
	// Recipients is every address the message was delivered to, lower-cased:
	// To, Cc and the envelope headers MTAs and IMAP servers add.
	Recipients []string `json:"recipients,omitempty"`
	// Tags are the plus-tags found in Recipients (see ClassifyOptions.Office).
	Tags []string `json:"tags,omitempty"`
	// References are the Message-IDs this message points to, without angle
	// brackets, in order: In-Reply-To, References, then for a report the
	// Original-Message-ID and the returned original's own IDs.
	References []string `json:"references,omitempty"`
	// AutoReply marks a vacation or other automatic answer, classified
	// InboundOther: it must not count as an acknowledgement.
	AutoReply bool `json:"auto_reply,omitempty"`
	MDN       *MDN `json:"mdn,omitempty"`
	DSN       *DSN `json:"dsn,omitempty"`
	// Text is, for a reply or an auto-reply, the sender's own words: quoted
	// lines and the quoted original removed, at most MaxReplyRunes runes.
	Text string `json:"text,omitempty"`
	// Problems lists what was malformed or skipped, for the operator.
	Problems []string `json:"problems,omitempty"`
}

// MDN is the machine-readable part of a read receipt.
type MDN struct {
	// Disposition is the disposition type, lower-cased: displayed, deleted,
	// dispatched, processed, denied or failed.
	Disposition string `json:"disposition,omitempty"`
	// Mode is the action and sending mode, e.g. "manual-action/mdn-sent-manually".
	Mode              string `json:"mode,omitempty"`
	ReportingUA       string `json:"reporting_ua,omitempty"`
	FinalRecipient    string `json:"final_recipient,omitempty"`
	OriginalRecipient string `json:"original_recipient,omitempty"`
	OriginalMessageID string `json:"original_message_id,omitempty"`
}

// DSN is a delivery status notification: a bounce, a delay warning or,
// rarely, a success report.
type DSN struct {
	// Failed is true when delivery failed for good to any recipient.
	Failed bool `json:"failed"`
	// Format is "report" for multipart/report (RFC 3464), "text" for a
	// bounce recognised from its wording (qmail, old Exim, Postfix without
	// a report part, X-Failed-Recipients).
	Format       string         `json:"format"`
	ReportingMTA string         `json:"reporting_mta,omitempty"`
	Recipients   []DSNRecipient `json:"recipients,omitempty"`
}

// DSNRecipient is one per-recipient block of a DSN.
type DSNRecipient struct {
	FinalRecipient    string `json:"final_recipient,omitempty"`
	OriginalRecipient string `json:"original_recipient,omitempty"`
	// Action is failed, delayed, delivered, relayed or expanded.
	Action string `json:"action,omitempty"`
	// Status is the enhanced status code, e.g. "5.1.1".
	Status    string `json:"status,omitempty"`
	RemoteMTA string `json:"remote_mta,omitempty"`
	// DiagnosticCode is the remote server's answer, unfolded, without its
	// type ("smtp;").
	DiagnosticCode string `json:"diagnostic_code,omitempty"`
}

// TagOf returns the plus-tag of addr when its local part is
// local+sep+tag and domain matches officeAddr's (case-insensitive), e.g.
// TagOf("Vanban+K3J9@sonoivu.vn", "vanban@sonoivu.vn", "+") = "k3j9", true.
// The tag is returned lower-cased, as NewTag writes it.
func TagOf(addr, officeAddr, sep string) (string, bool) {
	if sep == "" {
		return "", false
	}
	addr = strings.Trim(strings.TrimSpace(addr), "<>")
	officeAddr = strings.Trim(strings.TrimSpace(officeAddr), "<>")
	at := strings.LastIndexByte(addr, '@')
	oat := strings.LastIndexByte(officeAddr, '@')
	if at <= 0 || oat <= 0 {
		return "", false
	}
	local, domain := strings.ToLower(addr[:at]), addr[at+1:]
	olocal, odomain := strings.ToLower(officeAddr[:oat]), officeAddr[oat+1:]
	if !strings.EqualFold(domain, odomain) {
		return "", false
	}
	tag, ok := strings.CutPrefix(local, olocal+strings.ToLower(sep))
	if !ok || tag == "" {
		return "", false
	}
	return tag, true
}

// Classify reads one raw RFC 5322 message and says what it is.
//
// It never fails: what it cannot read it records in Problems, and a
// message without a readable header is InboundMalformed. It reads at most
// opts.MaxPartBytes of any part; attachments it has no use for are not
// decoded at all.
func Classify(raw []byte, opts ClassifyOptions) (in Inbound) {
	c := &classifier{
		opts:  opts,
		max:   opts.MaxPartBytes,
		words: &mime.WordDecoder{CharsetReader: charset.Reader},
	}
	if c.max <= 0 {
		c.max = DefaultMaxPartBytes
	}
	if c.opts.TagSeparator == "" {
		c.opts.TagSeparator = "+"
	}
	// A parser bug must not take the watcher down with it; the fuzz test
	// fails on this problem, so it is not a way to hide one.
	defer func() {
		if r := recover(); r != nil {
			in = Inbound{Kind: InboundMalformed, Problems: append(c.out.Problems, fmt.Sprintf("internal error: %v", r))}
		}
	}()
	c.classify(raw)
	return c.out
}

// classifier holds the state of one Classify call.
type classifier struct {
	opts  ClassifyOptions
	max   int64
	words *mime.WordDecoder
	out   Inbound
	parts int
	refs  seen
}

// seen keeps a list in first-seen order without duplicates.
type seen struct {
	list []string
	set  map[string]bool
}

func (s *seen) add(v string) {
	if v == "" || s.set[v] {
		return
	}
	if s.set == nil {
		s.set = map[string]bool{}
	}
	s.set[v] = true
	s.list = append(s.list, v)
}

func (c *classifier) problem(format string, args ...any) {
	if len(c.out.Problems) >= maxProblems {
		return
	}
	p := strings.ToValidUTF8(fmt.Sprintf(format, args...), "\uFFFD")
	for _, q := range c.out.Problems {
		if q == p {
			return
		}
	}
	if len(c.out.Problems) == maxProblems-1 {
		p = "more problems not listed"
	}
	c.out.Problems = append(c.out.Problems, p)
}

func (c *classifier) classify(raw []byte) {
	h, body, st := readHeader(raw, c.max, false)
	if len(h) == 0 {
		c.out.Kind = InboundMalformed
		c.problem("header: no readable header field")
		return
	}
	c.noteHeader("message", st)
	c.envelope(h)
	root := c.build("", h, body, 0, "text/plain")

	if c.out.From == "" && c.out.MessageID == "" && len(bytes.TrimSpace(body)) == 0 {
		c.out.Kind = InboundMalformed
		c.problem("message: no From, no Message-ID and no body")
		c.out.References = c.refs.list
		return
	}

	var mdnPart, dsnPart, third *node
	var returned []*node
	walk(root, func(n *node) {
		switch n.mediaType {
		case "message/disposition-notification", "message/global-disposition-notification":
			if mdnPart == nil {
				mdnPart = n
			}
		case "message/delivery-status", "message/global-delivery-status":
			if dsnPart == nil {
				dsnPart = n
			}
		case "message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers":
			returned = append(returned, n)
		}
	})
	reportType := ""
	if root.mediaType == "multipart/report" {
		reportType = strings.ToLower(strings.TrimSpace(root.params["report-type"]))
		// Thunderbird's third part is text/rfc822-headers; some clients
		// send the same headers as text/plain.
		if len(root.children) >= 3 && root.children[2].mediaType == "text/plain" {
			third = root.children[2]
		}
	}
	plain, htmlPart := mainText(root)

	switch {
	case reportType == "disposition-notification" || (mdnPart != nil && reportType != "delivery-status"):
		c.out.Kind = InboundMDN
		c.mdn(mdnPart)
		c.returned(returned, third)
	case reportType == "delivery-status" || dsnPart != nil:
		c.out.Kind = InboundDSN
		c.dsn(h, dsnPart, c.bodyText(plain, htmlPart), "report")
		c.returned(returned, third)
	default:
		text := c.bodyText(plain, htmlPart)
		if c.looksLikeBounce(h, text) {
			c.out.Kind = InboundDSN
			c.dsn(h, nil, text, "text")
			c.returned(returned, nil)
			break
		}
		if autoReplied(h, c.out.Subject) {
			c.out.Kind = InboundOther
			c.out.AutoReply = true
			c.out.Text = c.replyText(plain, htmlPart)
			break
		}
		if len(c.refs.list) > 0 || len(c.out.Tags) > 0 {
			c.out.Kind = InboundReply
			c.out.Text = c.replyText(plain, htmlPart)
			if c.out.Text == "" {
				c.problem("reply: no text of its own")
			}
			break
		}
		c.out.Kind = InboundOther
	}
	c.out.References = c.refs.list
}

// envelope fills the fields every kind has, from the top-level header.
func (c *classifier) envelope(h header) {
	if v := h.get("Message-Id"); v != "" {
		ids := messageIDs(v)
		if len(ids) > 0 {
			c.out.MessageID = ids[0]
		} else {
			c.problem("header: unreadable Message-ID %q", clip(v, 80))
		}
	} else {
		c.problem("header: missing Message-ID")
	}

	c.out.Subject = c.headerText("Subject", h.get("Subject"))

	if v := h.get("From"); v != "" {
		c.out.From, c.out.FromName = c.address("From", v)
	} else {
		c.problem("header: missing From")
	}

	if v := h.get("Date"); v != "" {
		t, err := parseDate(v)
		if err != nil {
			c.problem("header: unreadable Date %q", clip(v, 80))
		} else {
			c.out.Date = t
		}
	} else {
		c.problem("header: missing Date")
	}

	var rcpt seen
	for _, name := range []string{"To", "Cc"} {
		for _, v := range h.values(name) {
			for _, a := range c.addressList(name, v) {
				rcpt.add(a)
			}
		}
	}
	for _, name := range []string{"Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "Original-Recipient"} {
		for _, v := range h.values(name) {
			for _, a := range findAddresses(v) {
				rcpt.add(a)
			}
		}
	}
	c.out.Recipients = rcpt.list

	var tags seen
	for _, a := range c.out.Recipients {
		if c.opts.Office != "" {
			if t, ok := TagOf(a, c.opts.Office, c.opts.TagSeparator); ok {
				tags.add(t)
			}
		} else if t, ok := tagShape(a, c.opts.TagSeparator); ok {
			tags.add(t)
		}
	}
	c.out.Tags = tags.list

	for _, name := range []string{"In-Reply-To", "References"} {
		for _, v := range h.values(name) {
			for _, id := range messageIDs(v) {
				c.refs.add(id)
			}
		}
	}
}

// tagShape reports the tag of addr when its local part ends in sep and a
// tag as NewTag writes it: 16 characters of lower-case base32.
func tagShape(addr, sep string) (string, bool) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "", false
	}
	local := addr[:at]
	i := strings.LastIndex(local, sep)
	if i <= 0 {
		return "", false
	}
	tag := local[i+len(sep):]
	if len(tag) != 16 {
		return "", false
	}
	for _, r := range tag {
		if !(r >= 'a' && r <= 'z' || r >= '2' && r <= '7') {
			return "", false
		}
	}
	return tag, true
}

// headerText decodes an unstructured header field: RFC 2047 words in any
// charset go-message knows, raw UTF-8 (RFC 6532), white space collapsed,
// NFC.
func (c *classifier) headerText(name, v string) string {
	if v == "" {
		return ""
	}
	d, err := c.words.DecodeHeader(v)
	if err != nil {
		c.problem("header %s: %v; kept undecoded", name, err)
		d = v
	}
	if !utf8.ValidString(d) {
		c.problem("header %s: not UTF-8; invalid bytes replaced", name)
		d = strings.ToValidUTF8(d, "\uFFFD")
	}
	return vntext.Clean(d)
}

// address parses a single-address field into its lower-cased address and
// decoded display name.
func (c *classifier) address(name, v string) (addr, display string) {
	p := mail.AddressParser{WordDecoder: c.words}
	if a, err := p.Parse(v); err == nil {
		return normAddr(a.Address), c.headerText(name, a.Name)
	}
	as := findAddresses(v)
	if len(as) == 0 {
		c.problem("header %s: no address in %q", name, clip(v, 80))
		return "", c.headerText(name, v)
	}
	c.problem("header %s: not RFC 5322; took %s", name, as[0])
	return as[0], ""
}

// addressList returns the lower-cased addresses of an address-list field,
// falling back to anything shaped like an address when it does not parse.
func (c *classifier) addressList(name, v string) []string {
	p := mail.AddressParser{WordDecoder: c.words}
	list, err := p.ParseList(v)
	if err != nil {
		as := findAddresses(v)
		if strings.TrimSpace(strings.Trim(v, ":;,")) != "" && len(as) == 0 {
			c.problem("header %s: no address in %q", name, clip(v, 80))
		}
		return as
	}
	out := make([]string, 0, len(list))
	for _, a := range list {
		if s := normAddr(a.Address); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func normAddr(a string) string {
	a = strings.TrimSpace(strings.Trim(strings.TrimSpace(a), "<>"))
	return strings.ToLower(vntext.NFC(strings.ToValidUTF8(a, "")))
}

// addrRE matches something shaped like an address, Unicode included
// (RFC 6531 addresses appear in message/global reports).
var addrRE = regexp.MustCompile("[\\p{L}\\p{N}!#$%&'*+/=?^_`{|}~.-]+@[\\p{L}\\p{N}](?:[\\p{L}\\p{N}-]*[\\p{L}\\p{N}])?(?:\\.[\\p{L}\\p{N}](?:[\\p{L}\\p{N}-]*[\\p{L}\\p{N}])?)*")

// findAddresses returns every address-shaped string in s, lower-cased.
func findAddresses(s string) []string {
	s = strings.ToValidUTF8(s, " ")
	var out seen
	for _, m := range addrRE.FindAllString(s, 50) {
		out.add(normAddr(strings.Trim(m, ".")))
	}
	return out.list
}

var idRE = regexp.MustCompile(`<([^<>\s]+)>`)

// messageIDs returns the msg-ids in a Message-ID, In-Reply-To or
// References value, without angle brackets. Clients that forget the
// brackets get the bare tokens that contain an @.
func messageIDs(v string) []string {
	v = strings.ToValidUTF8(v, "")
	var out []string
	for _, m := range idRE.FindAllStringSubmatch(v, 100) {
		out = append(out, vntext.NFC(m[1]))
	}
	if len(out) > 0 {
		return out
	}
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' || r == '\r' || r == '\n' }) {
		if strings.Contains(f, "@") && !strings.ContainsAny(f, "()\"") {
			out = append(out, vntext.NFC(f))
		}
		if len(out) == 100 {
			break
		}
	}
	return out
}

func parseDate(v string) (time.Time, error) {
	t, err := mail.ParseDate(v)
	if err != nil {
		// "Tue,01 Dec 2020 19:31:46 +0800": seen from qmail-era relays.
		var err2 error
		if t, err2 = mail.ParseDate(strings.Replace(v, ",", ", ", 1)); err2 != nil {
			return time.Time{}, err
		}
	}
	// Keep only what the evidence can store: RFC 3339 has four-digit
	// years and zone offsets within a day, and no real zone is beyond 14h.
	if _, off := t.Zone(); t.Year() < 1 || t.Year() > 9999 || off < -14*3600 || off > 14*3600 {
		return time.Time{}, fmt.Errorf("date out of range")
	}
	return t, nil
}

func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// ---- headers ----

type field struct{ name, value string }

// header is a parsed header block in order; lookups ignore case.
type header []field

func (h header) get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.name, name) {
			return f.value
		}
	}
	return ""
}

func (h header) has(name string) bool {
	for _, f := range h {
		if strings.EqualFold(f.name, name) {
			return true
		}
	}
	return false
}

func (h header) values(name string) []string {
	var out []string
	for _, f := range h {
		if strings.EqualFold(f.name, name) {
			out = append(out, f.value)
		}
	}
	return out
}

// headerStats is what readHeader had to forgive.
type headerStats struct {
	skipped      int  // lines that were neither a field nor a continuation
	unterminated bool // the body began without a blank line
	truncated    bool // the header ran past the limit
	tooMany      bool // more than maxFields fields
}

// readHeader parses the header block at the start of b, leniently: lines
// that are not fields are skipped and counted, a field name may be followed
// by spaces, LF alone ends a line. When part is true a first line that is
// not a field starts the body (a MIME part without header); for a message
// such lines are skipped. It returns the body after the blank line.
func readHeader(b []byte, limit int64, part bool) (header, []byte, headerStats) {
	var h header
	var st headerStats
	type span struct{ start, colon, end int }
	var spans []span
	pos := 0
	finish := func() header {
		for _, s := range spans {
			h = append(h, field{name: string(bytes.TrimRight(b[s.start:s.colon], " \t")), value: unfold(b[s.colon+1 : s.end])})
		}
		return h
	}
	for pos < len(b) {
		if int64(pos) >= limit {
			st.truncated = true
			return finish(), nil, st
		}
		next := len(b)
		end := len(b)
		if i := bytes.IndexByte(b[pos:], '\n'); i >= 0 {
			end, next = pos+i, pos+i+1
		}
		line := bytes.TrimSuffix(b[pos:end], []byte{'\r'})
		switch {
		case len(line) == 0:
			return finish(), b[next:], st
		case line[0] == ' ' || line[0] == '\t':
			if len(spans) > 0 && !st.tooMany {
				spans[len(spans)-1].end = end
			} else if len(spans) == 0 {
				if part {
					st.unterminated = true
					return finish(), b[pos:], st
				}
				st.skipped++
			}
		default:
			colon := bytes.IndexByte(line, ':')
			switch {
			case colon > 0 && validFieldName(bytes.TrimRight(line[:colon], " \t")):
				if len(spans) >= maxFields {
					st.tooMany = true
				} else {
					spans = append(spans, span{start: pos, colon: pos + colon, end: end})
				}
			case pos == 0 && bytes.HasPrefix(line, []byte("From ")):
				// mbox separator left on a saved message
			case len(spans) > 0 || part:
				st.unterminated = true
				return finish(), b[pos:], st
			default:
				st.skipped++
			}
		}
		pos = next
	}
	return finish(), nil, st
}

func validFieldName(n []byte) bool {
	if len(n) == 0 {
		return false
	}
	for _, ch := range n {
		if ch <= ' ' || ch >= 0x7f || ch == ':' {
			return false
		}
	}
	return true
}

// unfold removes the line breaks of a folded field value (RFC 5322
// 2.2.3), keeping the white space that follows them, and trims it.
func unfold(v []byte) string {
	if bytes.IndexByte(v, '\n') < 0 {
		return string(bytes.TrimSpace(bytes.TrimSuffix(v, []byte{'\r'})))
	}
	var b strings.Builder
	b.Grow(len(v))
	for _, ch := range v {
		if ch != '\r' && ch != '\n' {
			b.WriteByte(ch)
		}
	}
	return strings.TrimSpace(b.String())
}

func (c *classifier) noteHeader(where string, st headerStats) {
	if st.skipped > 0 {
		c.problem("%s: %d unreadable header line(s) skipped", where, st.skipped)
	}
	if st.unterminated {
		c.problem("%s: header not ended by a blank line", where)
	}
	if st.truncated {
		c.problem("%s: header longer than %d bytes; rest ignored", where, c.max)
	}
	if st.tooMany {
		c.problem("%s: more than %d header fields; rest ignored", where, maxFields)
	}
}

// ---- MIME structure ----

// node is one MIME entity. body is a sub-slice of the raw message, still
// transfer-encoded: nothing is copied or decoded until it is needed.
type node struct {
	path      string // "" for the message, "1.2" for parts
	h         header
	mediaType string
	params    map[string]string
	body      []byte
	children  []*node
	text      *string // decoded text, once read
}

func (n *node) where() string { return where(n.path) }

// where names a part in a problem: "message", or "part 1.2" as IMAP
// numbers MIME parts.
func where(path string) string {
	if path == "" {
		return "message"
	}
	return "part " + path
}

func (c *classifier) build(path string, h header, body []byte, depth int, def string) *node {
	n := &node{path: path, h: h, body: body}
	n.mediaType, n.params = c.contentType(n, def)
	if !strings.HasPrefix(n.mediaType, "multipart/") {
		return n
	}
	if depth >= maxDepth {
		c.problem("%s: multipart nested deeper than %d; not read", n.where(), maxDepth)
		n.mediaType = "application/octet-stream"
		return n
	}
	boundary := n.params["boundary"]
	if boundary == "" {
		c.problem("%s: %s without boundary; read as text", n.where(), n.mediaType)
		n.mediaType = "text/plain"
		return n
	}
	parts, closed := splitMultipart(body, boundary)
	if len(parts) == 0 {
		c.problem("%s: boundary %q not found; read as text", n.where(), clip(boundary, 70))
		n.mediaType = "text/plain"
		return n
	}
	if !closed {
		c.problem("%s: boundary %q never closed", n.where(), clip(boundary, 70))
	}
	childDef := "text/plain"
	if n.mediaType == "multipart/digest" {
		childDef = "message/rfc822"
	}
	for i, p := range parts {
		if c.parts >= maxParts {
			c.problem("message: more than %d parts; rest ignored", maxParts)
			break
		}
		c.parts++
		cp := strconv.Itoa(i + 1)
		if path != "" {
			cp = path + "." + cp
		}
		ph, pbody, st := readHeader(p, c.max, true)
		c.noteHeader(where(cp), st)
		n.children = append(n.children, c.build(cp, ph, pbody, depth+1, childDef))
	}
	return n
}

var paramRE = regexp.MustCompile(`(?i)([a-z0-9_*.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))`)

// contentType parses Content-Type, falling back to a forgiving reading of
// the parameters when mime.ParseMediaType refuses them (an unquoted
// boundary with a space is common from old mailers).
func (c *classifier) contentType(n *node, def string) (string, map[string]string) {
	v := n.h.get("Content-Type")
	if strings.TrimSpace(v) == "" {
		return def, nil
	}
	mt, params, err := mime.ParseMediaType(v)
	if err == nil {
		return mt, params
	}
	mt, rest, _ := strings.Cut(v, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	if strings.Count(mt, "/") != 1 || strings.ContainsAny(mt, " \t\"") {
		c.problem("%s: unreadable Content-Type %q; taken as %s", n.where(), clip(v, 80), def)
		return def, nil
	}
	params = map[string]string{}
	for _, m := range paramRE.FindAllStringSubmatch(rest, 20) {
		k := strings.ToLower(m[1])
		if _, dup := params[k]; dup {
			continue
		}
		if m[2] != "" {
			params[k] = strings.ReplaceAll(m[2], `\`, "")
		} else {
			params[k] = m[3]
		}
	}
	c.problem("%s: malformed Content-Type %q; read leniently", n.where(), clip(v, 80))
	return mt, params
}

// splitMultipart cuts a multipart body at its boundary delimiter lines
// (RFC 2046 5.1.1). It returns sub-slices of body and whether the close
// delimiter was seen; without one the last part runs to the end.
func splitMultipart(body []byte, boundary string) (parts [][]byte, closed bool) {
	delim := []byte("--" + boundary)
	partStart := -1
	pos := 0
	for pos < len(body) {
		i := bytes.Index(body[pos:], delim)
		if i < 0 {
			break
		}
		at := pos + i
		if at > 0 && body[at-1] != '\n' {
			pos = at + 1
			continue
		}
		after := at + len(delim)
		lineEnd := len(body)
		rest := body[after:]
		if j := bytes.IndexByte(rest, '\n'); j >= 0 {
			rest, lineEnd = rest[:j], after+j+1
		}
		isClose := bytes.HasPrefix(rest, []byte("--"))
		if isClose {
			rest = rest[2:]
		}
		if len(bytes.TrimSpace(rest)) != 0 {
			pos = at + 1 // a longer boundary that starts with ours
			continue
		}
		if partStart >= 0 {
			end := at
			if end > partStart && body[end-1] == '\n' {
				end--
				if end > partStart && body[end-1] == '\r' {
					end--
				}
			}
			parts = append(parts, body[partStart:end])
			if len(parts) > maxParts {
				return parts, false
			}
		}
		if isClose {
			return parts, true
		}
		partStart, pos = lineEnd, lineEnd
	}
	if partStart >= 0 {
		parts = append(parts, body[partStart:])
	}
	return parts, false
}

// walk visits n and its descendants in order. It does not look inside
// message/* parts: a forwarded or returned message is not this one.
func walk(n *node, fn func(*node)) {
	fn(n)
	for _, ch := range n.children {
		walk(ch, fn)
	}
}

// mainText finds the body the sender wrote: the first inline text/plain
// and the first inline text/html outside attachments and returned
// messages.
func mainText(root *node) (plain, markup *node) {
	walk(root, func(n *node) {
		if n.mediaType != "text/plain" && n.mediaType != "text/html" {
			return
		}
		if d, _, _ := mime.ParseMediaType(n.h.get("Content-Disposition")); d == "attachment" {
			return
		}
		if n.mediaType == "text/plain" && plain == nil {
			plain = n
		}
		if n.mediaType == "text/html" && markup == nil {
			markup = n
		}
	})
	return plain, markup
}

// decode returns the body of n with its transfer encoding and, for text,
// its charset undone, reading at most MaxPartBytes of it.
func (c *classifier) decode(n *node, text bool) string {
	var r io.Reader = bytes.NewReader(n.body)
	switch cte := strings.ToLower(strings.TrimSpace(n.h.get("Content-Transfer-Encoding"))); cte {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &base64Filter{r: r})
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "", "7bit", "8bit", "binary":
	default:
		c.problem("%s: unknown Content-Transfer-Encoding %q; read as is", n.where(), clip(cte, 40))
	}
	if text {
		switch cs := strings.ToLower(strings.Trim(strings.TrimSpace(n.params["charset"]), `"'`)); cs {
		case "", "utf-8", "utf8", "us-ascii", "ascii":
		default:
			cr, err := charset.Reader(cs, r)
			if err != nil || cr == nil {
				c.problem("%s: unsupported charset %q; read as UTF-8", n.where(), clip(cs, 40))
			} else {
				r = cr
			}
		}
	}
	// Decoded text is rarely longer than its encoding; sizing the buffer
	// from it spares io.ReadAll's doubling.
	buf := bytes.NewBuffer(make([]byte, 0, min(int64(len(n.body))+bytes.MinRead, c.max+1)))
	_, err := buf.ReadFrom(io.LimitReader(r, c.max+1))
	b := buf.Bytes()
	if err != nil {
		c.problem("%s: %v; kept what was decoded", n.where(), err)
	}
	if int64(len(b)) > c.max {
		b = b[:c.max]
		for len(b) > 0 && !utf8.FullRune(b[max(0, len(b)-utf8.UTFMax):]) {
			b = b[:len(b)-1]
		}
		c.problem("%s: longer than %d bytes; truncated", n.where(), c.max)
	}
	if text && !utf8.Valid(b) {
		c.problem("%s: text is not valid in its charset; invalid bytes replaced", n.where())
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(b)
}

// base64Filter drops what is not base64 (line breaks, the spaces and
// stray characters some mailers put in), so the decoder sees clean input.
type base64Filter struct{ r io.Reader }

func (f *base64Filter) Read(p []byte) (int, error) {
	for {
		n, err := f.r.Read(p)
		j := 0
		for _, ch := range p[:n] {
			if ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '+' || ch == '/' || ch == '=' {
				p[j] = ch
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// textOf decodes a text part once: the bounce check and the reply text
// both read the main text.
func (c *classifier) textOf(n *node) string {
	if n.text == nil {
		s := c.decode(n, true)
		n.text = &s
	}
	return *n.text
}

// bodyText is the decoded main text, as plain text.
func (c *classifier) bodyText(plain, markup *node) string {
	switch {
	case plain != nil:
		return c.textOf(plain)
	case markup != nil:
		return htmlToText(c.textOf(markup))
	}
	return ""
}

// replyText is the sender's own words of a reply (see cleanReply).
func (c *classifier) replyText(plain, markup *node) string {
	switch {
	case plain != nil:
		s := c.textOf(plain)
		if strings.EqualFold(plain.params["format"], "flowed") {
			s = unflow(s, strings.EqualFold(plain.params["delsp"], "yes"))
		}
		return cleanReply(s)
	case markup != nil:
		return cleanReply(htmlToText(c.textOf(markup)))
	}
	return ""
}

// ---- reports ----

type reportField struct {
	name, value string
	group       int // blank-line separated block
}

// reportFields parses the body of a message/delivery-status or
// message/disposition-notification part: header-like blocks separated by
// blank lines, read leniently (a missing final blank line, folded fields
// and LF line ends are all fine).
func (c *classifier) reportFields(n *node) []reportField {
	text := strings.ReplaceAll(c.decode(n, false), "\r\n", "\n")
	text = strings.ToValidUTF8(text, "\uFFFD")
	var out []reportField
	var pieces [][]string // the lines of each field, joined at the end
	group, bad := 0, 0
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSuffix(line, "\r")
		switch {
		case strings.TrimSpace(line) == "":
			if len(out) > 0 && out[len(out)-1].group == group {
				group++
			}
		case line[0] == ' ' || line[0] == '\t':
			if len(out) > 0 && out[len(out)-1].group == group {
				pieces[len(out)-1] = append(pieces[len(out)-1], strings.TrimSpace(line))
			} else {
				bad++
			}
		default:
			name, value, ok := strings.Cut(line, ":")
			if !ok || !validFieldName([]byte(strings.TrimSpace(name))) {
				bad++
				continue
			}
			if len(out) < maxFields {
				out = append(out, reportField{name: strings.ToLower(strings.TrimSpace(name)), group: group})
				pieces = append(pieces, []string{strings.TrimSpace(value)})
			}
		}
	}
	for i := range out {
		out[i].value = strings.Join(pieces[i], " ")
	}
	if bad > 0 {
		c.problem("%s: %d unreadable report line(s) skipped", n.where(), bad)
	}
	return out
}

// typedValue strips the type of a typed report field ("rfc822; a@b",
// "dns; mx.example", "smtp; 550 ...").
func typedValue(v string) string {
	if t, rest, ok := strings.Cut(v, ";"); ok && !strings.ContainsAny(strings.TrimSpace(t), " <@") {
		return strings.TrimSpace(rest)
	}
	return strings.TrimSpace(v)
}

// reportAddress reads an address-typed report field. Thunderbird encodes
// a non-ASCII Final-Recipient as an RFC 2047 word.
func (c *classifier) reportAddress(v string) string {
	v = typedValue(v)
	if d, err := c.words.DecodeHeader(v); err == nil {
		v = d
	}
	return normAddr(v)
}

var dispositionTypes = map[string]bool{"displayed": true, "deleted": true, "dispatched": true, "processed": true, "denied": true, "failed": true}

func (c *classifier) mdn(part *node) {
	m := &MDN{}
	c.out.MDN = m
	if part == nil {
		c.problem("mdn: multipart/report without a disposition-notification part")
		return
	}
	for _, f := range c.reportFields(part) {
		switch f.name {
		case "disposition":
			m.Mode, m.Disposition = parseDisposition(f.value)
			if m.Disposition != "" && !dispositionTypes[m.Disposition] {
				c.problem("mdn: unknown disposition type %q", clip(m.Disposition, 40))
			}
		case "reporting-ua":
			m.ReportingUA = c.headerText("Reporting-UA", f.value)
		case "final-recipient":
			m.FinalRecipient = c.reportAddress(f.value)
		case "original-recipient":
			m.OriginalRecipient = c.reportAddress(f.value)
		case "original-message-id":
			if ids := messageIDs(f.value); len(ids) > 0 {
				m.OriginalMessageID = ids[0]
				c.refs.add(ids[0])
			}
		}
	}
	if m.Disposition == "" {
		c.problem("mdn: no Disposition field")
	}
}

// parseDisposition splits "manual-action/MDN-sent-manually; displayed"
// (RFC 8098 3.2.6) into mode and type. Modifiers after a slash
// ("processed/error", RFC 2298) are dropped; a value without the mode
// part still yields its type.
func parseDisposition(v string) (mode, typ string) {
	v = strings.ToLower(strings.Join(strings.Fields(v), " "))
	mode, typ, ok := strings.Cut(v, ";")
	if !ok {
		typ, mode = mode, ""
	}
	mode = strings.ReplaceAll(strings.TrimSpace(mode), " ", "")
	typ = strings.TrimSpace(typ)
	if i := strings.IndexAny(typ, "/ ;"); i >= 0 {
		typ = typ[:i]
	}
	if typ == "" || strings.Contains(typ, "-action") {
		// "automatic-action/MDN-sent-automatically" alone, or the fields swapped
		for w := range strings.FieldsFuncSeq(v, func(r rune) bool { return r == ';' || r == '/' || r == ' ' }) {
			if dispositionTypes[w] {
				return mode, w
			}
		}
		return mode, ""
	}
	return mode, typ
}

var (
	enhancedRE = regexp.MustCompile(`(?:^|[^0-9.])([245])\.(\d{1,3})\.(\d{1,3})(?:[^0-9]|$)`)
	basicRE    = regexp.MustCompile(`(?:^|[\s:'"(#])([45])\d\d(?:[\s\-]|$)`)
)

// statusIn finds the status a diagnostic text gives: an enhanced code
// ("5.1.1", qmail's "#5.1.1"), else the class of a basic SMTP reply code.
func statusIn(s string) string {
	if m := enhancedRE.FindStringSubmatch(s); m != nil {
		return m[1] + "." + m[2] + "." + m[3]
	}
	if m := basicRE.FindStringSubmatch(s); m != nil {
		return m[1] + ".0.0"
	}
	return ""
}

func validStatus(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	if m := enhancedRE.FindStringSubmatch(f[0]); m != nil && len(f[0]) == len(m[1])+len(m[2])+len(m[3])+2 {
		return f[0]
	}
	return ""
}

func diag(s string) string {
	return clip(strings.Join(strings.Fields(vntext.NFC(strings.ToValidUTF8(s, "\uFFFD"))), " "), maxDiagRune)
}

func (c *classifier) dsn(h header, part *node, text, format string) {
	d := &DSN{Format: format}
	c.out.DSN = d
	if part != nil {
		c.reportRecipients(d, part)
	} else if format == "report" {
		c.problem("dsn: multipart/report without a delivery-status part")
	}
	delayed := delayHint(c.out.Subject, text)
	if len(d.Recipients) == 0 {
		if part != nil {
			c.problem("dsn: delivery-status part has no recipient; read the notice text")
		}
		c.textRecipients(d, h, text, delayed)
	}
	for _, r := range d.Recipients {
		if r.Action == "failed" {
			d.Failed = true
		}
	}
	if len(d.Recipients) == 0 {
		c.problem("dsn: no recipient found")
		d.Failed = !delayed
	}
}

func (c *classifier) reportRecipients(d *DSN, part *node) {
	cur, curGroup := -1, -1
	newRecipient := func(group int) {
		d.Recipients = append(d.Recipients, DSNRecipient{})
		cur, curGroup = len(d.Recipients)-1, group
	}
	for _, f := range c.reportFields(part) {
		switch f.name {
		case "reporting-mta":
			if d.ReportingMTA == "" {
				d.ReportingMTA = strings.ToLower(typedValue(f.value))
			}
			continue
		case "x-original-message-id":
			for _, id := range messageIDs(f.value) {
				c.refs.add(id)
			}
			continue
		case "original-recipient", "final-recipient", "action", "status", "remote-mta", "diagnostic-code":
		default:
			continue // per-message and extension fields
		}
		// A blank line starts the next recipient; so does a repeated
		// recipient field, for reports that forget the blank line. RFC 3464
		// puts Original-Recipient first, Postfix puts it second.
		if cur < 0 || curGroup != f.group ||
			f.name == "final-recipient" && d.Recipients[cur].FinalRecipient != "" ||
			f.name == "original-recipient" && d.Recipients[cur].OriginalRecipient != "" {
			if len(d.Recipients) >= maxParts {
				break
			}
			newRecipient(f.group)
		}
		r := &d.Recipients[cur]
		switch f.name {
		case "final-recipient":
			r.FinalRecipient = c.reportAddress(f.value)
		case "original-recipient":
			r.OriginalRecipient = c.reportAddress(f.value)
		case "action":
			r.Action = strings.ToLower(strings.Fields(f.value + " x")[0])
		case "status":
			r.Status = validStatus(f.value)
			if r.Status == "" && strings.TrimSpace(f.value) != "" {
				c.problem("dsn: unreadable Status %q", clip(f.value, 40))
			}
		case "remote-mta":
			r.RemoteMTA = strings.ToLower(typedValue(f.value))
		case "diagnostic-code":
			r.DiagnosticCode = diag(typedValue(f.value))
		}
	}
	for i := range d.Recipients {
		r := &d.Recipients[i]
		if r.Status == "" {
			r.Status = statusIn(r.DiagnosticCode)
		}
		if r.Action == "" {
			switch {
			case strings.HasPrefix(r.Status, "5"):
				r.Action = "failed"
			case strings.HasPrefix(r.Status, "4"):
				r.Action = "delayed"
			}
			c.problem("dsn: recipient %q has no Action; %s", r.FinalRecipient, orDefault(r.Action, "left empty"))
		}
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return "taken as " + s
}

// ---- non-standard bounces ----

// looksLikeBounce recognises bounces that are not multipart/report by
// their headers and wording: X-Failed-Recipients (Exim, Gmail), the
// qmail and Exim texts, and daemon senders with the usual subjects.
func (c *classifier) looksLikeBounce(h header, text string) bool {
	if h.has("X-Failed-Recipients") || h.has("X-MS-Exchange-Message-Is-Ndr") {
		return true
	}
	daemon := daemonSender(c.out.From, c.out.FromName)
	subject := vntext.Fold(c.out.Subject)
	if replySubject(subject) && !daemon {
		return false // a person answering or forwarding a bounce
	}
	notice := noticeOf(text)
	for _, m := range bounceMarkers {
		if strings.Contains(notice, m) {
			return true
		}
	}
	if bounceSubject(subject) && (daemon || nullReturnPath(h)) {
		return true
	}
	return false
}

var bounceMarkers = []string{
	"this is the qmail-send program",
	"this message was created automatically by mail delivery software",
	"this is the mail system at host",
	"this is the postfix program at host",
	"i'm sorry to have to inform you that your message could not",
	"delivery has failed to these recipients or groups",
	"delivery to the following recipient failed permanently",
	"delivery to the following recipients failed",
	"the following address(es) failed",
	"your message couldn't be delivered",
	"your message wasn't delivered",
	"could not be delivered to one or more of its recipients",
}

var bounceSubjects = []string{
	"undelivered mail returned to sender",
	"delivery status notification",
	"undeliverable",
	"undelivered mail",
	"mail delivery failed",
	"mail delivery failure",
	"delivery failure",
	"failure notice",
	"returned mail",
	"delivery has failed",
	"delivery delayed",
	"delayed mail",
	"warning: message",
	"non remis",
	"khong gui duoc", // Exchange in Vietnamese: "Không gửi được:"
	"khong the gui",
}

func bounceSubject(folded string) bool {
	for _, s := range bounceSubjects {
		if strings.Contains(folded, s) {
			return true
		}
	}
	return false
}

// replySubject reports a folded subject starting with a reply or forward
// prefix, Vietnamese ones included ("Trả lời:", "Chuyển tiếp:").
func replySubject(folded string) bool {
	for _, p := range []string{"re:", "re :", "fwd:", "fw:", "tr:", "aw:", "sv:", "tra loi:", "chuyen tiep:", "phan hoi:"} {
		if strings.HasPrefix(folded, p) {
			return true
		}
	}
	return false
}

func daemonSender(addr, name string) bool {
	local, _, _ := strings.Cut(addr, "@")
	switch local {
	case "mailer-daemon", "mailerdaemon", "mail-daemon", "postmaster":
		return true
	}
	if strings.HasPrefix(local, "microsoftexchange") { // Exchange Online's NDR sender
		return true
	}
	switch vntext.Fold(name) {
	case "mail delivery subsystem", "mail delivery system", "mail administrator", "mailer-daemon", "postmaster":
		return true
	}
	return false
}

func nullReturnPath(h header) bool {
	for _, v := range h.values("Return-Path") {
		if strings.TrimSpace(v) == "<>" {
			return true
		}
	}
	return false
}

// delayHint reports a notice that says delivery is still being tried.
func delayHint(subject, text string) bool {
	s := vntext.Fold(subject)
	if strings.Contains(s, "delay") || strings.Contains(s, "tri hoan") {
		return true
	}
	t := noticeOf(text)
	for _, m := range []string{"has not yet been delivered", "still being retried", "will continue to try", "will keep trying", "will retry", "delivery has been delayed", "delivery delayed"} {
		if strings.Contains(t, m) {
			return true
		}
	}
	return false
}

func permanentHint(text string) bool {
	t := noticeOf(text)
	for _, m := range []string{"permanent error", "permanent failure", "failed permanently", "i've given up", "i have given up"} {
		if strings.Contains(t, m) {
			return true
		}
	}
	return false
}

var copyMarkers = []string{
	"below this line is a copy of the message",
	"this is a copy of the message",
	"original message headers:",
	"original message follows",
	"the header of the original message is following",
}

// noticeHead bounds the text the bounce heuristics search: a notice says
// what it is in its first lines, and a long reply need not be scanned.
const noticeHead = 64 << 10

// noticeOf is the start of a bounce's own text, lower-cased: what comes
// before the copy of the returned message.
func noticeOf(text string) string {
	if len(text) > noticeHead {
		text = text[:noticeHead]
	}
	n, _ := splitCopy(text)
	return strings.ToLower(n)
}

// splitCopy cuts a bounce text at the line that introduces the copy of
// the returned message (qmail, Exim, Exchange's "Original message
// headers:") and returns the notice and the copy.
func splitCopy(text string) (notice, copied string) {
	lower := strings.ToLower(text)
	best := -1
	for _, m := range copyMarkers {
		if i := strings.Index(lower, m); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	if best < 0 {
		return text, ""
	}
	start := strings.LastIndexByte(text[:best], '\n') + 1
	end := len(text)
	if j := strings.IndexByte(text[best:], '\n'); j >= 0 {
		end = best + j + 1
	}
	return text[:start], text[end:]
}

// textRecipients reads failed recipients from a bounce's wording and its
// X-Failed-Recipients header: an address alone on a line (Exim, Exchange,
// old Gmail) or "<address>:" (qmail, Postfix), with the indented lines
// that follow as its diagnostic.
func (c *classifier) textRecipients(d *DSN, h header, text string, delayed bool) {
	notice, copied := splitCopy(strings.ReplaceAll(text, "\r\n", "\n"))
	ours := map[string]bool{}
	for _, a := range c.out.Recipients {
		ours[a] = true
	}
	if c.out.From != "" {
		ours[c.out.From] = true
	}
	skip := func(a string) bool {
		local, _, _ := strings.Cut(a, "@")
		return ours[a] || daemonSender(a, "") || local == ""
	}

	type found struct {
		addr  string
		diags []string
	}
	var list []found
	lines := strings.Split(notice, "\n")
	for i := 0; i < len(lines); i++ {
		addr, rest, ok := addressLine(lines[i])
		if !ok || skip(addr) {
			continue
		}
		f := found{addr: addr}
		if rest != "" {
			f.diags = append(f.diags, rest)
		}
		for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
			if _, _, ok := addressLine(lines[i+1]); ok {
				break
			}
			i++
			f.diags = append(f.diags, strings.TrimSpace(lines[i]))
		}
		list = append(list, f)
		if len(list) >= 100 {
			break
		}
	}

	global := globalDiagnostic(lines)
	var have seen
	add := func(addr string, diags []string) {
		if have.set[addr] {
			return
		}
		have.add(addr)
		r := DSNRecipient{FinalRecipient: addr, DiagnosticCode: diag(strings.Join(diags, " "))}
		if r.DiagnosticCode == "" {
			r.DiagnosticCode = global
		}
		r.Status = statusIn(r.DiagnosticCode)
		switch {
		case strings.HasPrefix(r.Status, "5"):
			r.Action = "failed"
		case strings.HasPrefix(r.Status, "4") && !permanentHint(text):
			r.Action = "delayed"
		case r.Status == "" && delayed:
			r.Action = "delayed"
		default:
			r.Action = "failed"
		}
		d.Recipients = append(d.Recipients, r)
	}
	for _, v := range h.values("X-Failed-Recipients") {
		for _, a := range findAddresses(v) {
			var diags []string
			for _, f := range list {
				if f.addr == a {
					diags = f.diags
				}
			}
			add(a, diags)
		}
	}
	for _, f := range list {
		add(f.addr, f.diags)
	}

	if copied != "" {
		ch, _, _ := readHeader([]byte(strings.TrimLeft(copied, "\n")), c.max, true)
		c.headerRefs(ch)
	}
}

// addressLine recognises a line naming a failed recipient: "<a@b>:" with
// an optional diagnostic after it (qmail, Postfix), or an address alone,
// possibly repeated as "a@b (a@b)" or "a@b<mailto:a@b>" (Exchange).
func addressLine(line string) (addr, rest string, ok bool) {
	t := strings.TrimSpace(line)
	if t == "" || len(t) > 300 {
		return "", "", false
	}
	if strings.HasPrefix(t, "<") {
		if i := strings.Index(t, ">:"); i > 1 {
			as := findAddresses(t[1:i])
			if len(as) == 1 && strings.EqualFold(strings.TrimSpace(t[1:i]), as[0]) {
				return as[0], strings.TrimSpace(t[i+2:]), true
			}
		}
	}
	as := findAddresses(t)
	if len(as) != 1 {
		return "", "", false
	}
	left := addrRE.ReplaceAllString(t, "")
	left = strings.ReplaceAll(strings.ToLower(left), "mailto:", "")
	if strings.Trim(left, " \t<>()[]:,;\"'") != "" {
		return "", "", false
	}
	return as[0], "", true
}

// globalDiagnostic is the server's answer when the notice does not tie it
// to an address: Gmail's "The response was:", Exchange's "Remote Server
// returned", else the first line with an SMTP code.
func globalDiagnostic(lines []string) string {
	for i, l := range lines {
		t := strings.TrimSpace(l)
		lt := strings.ToLower(t)
		switch {
		case strings.HasPrefix(lt, "the response was:") || strings.HasPrefix(lt, "the response from the remote server was:"):
			var out []string
			for _, n := range lines[i+1:] {
				n = strings.TrimSpace(n)
				if n == "" {
					if len(out) > 0 {
						break
					}
					continue
				}
				out = append(out, n)
			}
			if len(out) > 0 {
				return diag(strings.Join(out, " "))
			}
		case strings.Contains(lt, "remote server returned"):
			return diag(t)
		}
	}
	for _, l := range lines {
		if statusIn(l) != "" && basicRE.MatchString(l) {
			return diag(l)
		}
	}
	return ""
}

// ---- returned headers ----

// returned adds the IDs of the original message a report returns.
func (c *classifier) returned(parts []*node, third *node) {
	if third != nil {
		parts = append(parts, third)
	}
	for _, n := range parts {
		b := n.body
		if cte := strings.ToLower(strings.TrimSpace(n.h.get("Content-Transfer-Encoding"))); cte == "base64" || cte == "quoted-printable" {
			b = []byte(c.decode(n, false))
		} else if int64(len(b)) > c.max {
			b = b[:c.max]
		}
		h, _, _ := readHeader(b, c.max, true)
		c.headerRefs(h)
	}
}

func (c *classifier) headerRefs(h header) {
	for _, name := range []string{"Message-Id", "In-Reply-To", "References"} {
		for _, v := range h.values(name) {
			for _, id := range messageIDs(v) {
				c.refs.add(id)
			}
		}
	}
}

// ---- auto-replies ----

// autoReplied recognises vacation and other automatic answers (RFC 3834
// Auto-Submitted, the X- headers of common responders, and subjects like
// "Automatic reply:" or "Vắng mặt:").
func autoReplied(h header, subject string) bool {
	if v, _, _ := strings.Cut(h.get("Auto-Submitted"), ";"); strings.TrimSpace(v) != "" && !strings.EqualFold(strings.TrimSpace(v), "no") {
		return true
	}
	for _, name := range []string{"X-Autoreply", "X-Autorespond", "X-Mail-Autoreply", "X-Autoreply-From"} {
		if h.has(name) {
			switch strings.ToLower(strings.TrimSpace(h.get(name))) {
			case "no", "false", "0":
			default:
				return true
			}
		}
	}
	for _, name := range []string{"Precedence", "X-Precedence"} {
		if strings.EqualFold(strings.TrimSpace(h.get(name)), "auto_reply") {
			return true
		}
	}
	if strings.EqualFold(strings.TrimSpace(h.get("X-Autogenerated")), "reply") ||
		strings.Contains(strings.ToLower(h.get("X-POST-MessageClass")), "autoresponder") {
		return true
	}
	s := strings.TrimLeft(vntext.Fold(subject), "[( ")
	for _, p := range []string{"auto:", "automatic reply", "autoreply", "auto-reply", "auto reply", "auto response", "autoresponse",
		"out of office", "out of the office", "vang mat", "tra loi tu dong", "tu dong tra loi", "thu tra loi tu dong", "thu tu dong"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// ---- reply text ----

// cleanReply keeps the sender's own words: it drops quoted lines and
// attribution lines ("On … wrote:", "Vào … đã viết:"), which clients put
// above the quote whether the sender writes above it or below it, and
// everything from the first line that introduces an unquoted original
// (Outlook's "-----Original Message-----", its line of underscores, a
// "From:"/"Sent:" block). It then trims, normalises to NFC and cuts at
// MaxReplyRunes.
func cleanReply(s string) string {
	lines := splitLines(s)
	var out []string
	// Past 16 bytes a rune of kept text, the cap is reached whatever NFC
	// composes; the rest need not be cleaned.
	blank, size := 0, 0
	for i := 0; i < len(lines) && size <= 16*MaxReplyRunes; i++ {
		if originalStarts(lines, i) {
			break
		}
		if n := attributionLines(lines, i); n > 0 {
			i += n - 1
			continue
		}
		l := lines[i]
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, ">") {
			continue
		}
		if t == "" {
			blank++
			if blank > 1 || len(out) == 0 {
				continue
			}
		} else {
			blank = 0
		}
		l = strings.TrimRight(l, " \t\u00a0")
		out = append(out, l)
		size += len(l) + 1
	}
	text := vntext.NFC(strings.TrimSpace(strings.Join(out, "\n")))
	text = strings.ToValidUTF8(text, "\uFFFD")
	n := 0
	for i := range text {
		if n == MaxReplyRunes {
			return strings.TrimSpace(text[:i])
		}
		n++
	}
	return text
}

// splitLines splits s at CRLF, LF or CR.
func splitLines(s string) []string {
	lines := make([]string, 0, strings.Count(s, "\n")+1)
	for len(s) > 0 {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			break
		}
		lines = append(lines, s[:i])
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		s = s[i+1:]
	}
	return append(lines, s)
}

var (
	origMsgRE   = regexp.MustCompile(`(?i)^-{2,}\s*(original message|forwarded message|tin nhắn gốc|thư gốc|thư chuyển tiếp)\s*-{2,}$`)
	underlineRE = regexp.MustCompile(`^_{10,}$`)
)

func trimLine(l string) string {
	return strings.TrimSpace(strings.Trim(strings.TrimSpace(l), "*"))
}

// originalStarts reports whether lines[i] introduces an unquoted copy of
// the original: "-----Original Message-----", Outlook's line of
// underscores, or a "From:" line followed within four lines by "Sent:"
// or "Date:" (Outlook, in English or Vietnamese).
func originalStarts(lines []string, i int) bool {
	t := trimLine(lines[i])
	if t == "" {
		return false
	}
	if origMsgRE.MatchString(t) || underlineRE.MatchString(t) {
		return true
	}
	for _, from := range []string{"From:", "Từ:"} {
		if !strings.HasPrefix(t, from) {
			continue
		}
		for k := i + 1; k < len(lines) && k <= i+4; k++ {
			n := trimLine(lines[k])
			for _, sent := range []string{"Sent:", "Date:", "Đã gửi:", "Gửi:", "Ngày:"} {
				if strings.HasPrefix(n, sent) {
					return true
				}
			}
		}
	}
	return false
}

// attributionLines returns how many lines, from lines[i], make up an
// attribution such as "On Wed, 25 Nov 2026 … wrote:" or "Vào lúc 08:00
// ngày 25/11/2026, Sở Nội vụ đã viết:", which clients wrap over up to
// three lines; 0 when lines[i] does not start one.
func attributionLines(lines []string, i int) int {
	t := trimLine(lines[i])
	if t == "" {
		return 0
	}
	joined := t
	for k := 0; k < 3; k++ {
		if attribution(joined, k == 0) {
			return k + 1
		}
		if i+k+1 >= len(lines) || strings.TrimSpace(lines[i+k+1]) == "" {
			break
		}
		joined += " " + trimLine(lines[i+k+1])
	}
	return 0
}

func attribution(s string, firstLine bool) bool {
	s = vntext.NFC(s)
	if !strings.HasSuffix(s, "wrote:") && !strings.HasSuffix(s, "viết:") {
		return false
	}
	for _, p := range []string{"On ", "Vào ", "Ngày ", "Lúc ", "Le ", "Am "} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	// "Sở Nội vụ <vanban@…> wrote:" with no lead-in: only on one line.
	return firstLine && strings.Contains(s, "@")
}

// unflow joins the soft line breaks of format=flowed text (RFC 3676),
// keeping quote depth, so quoted paragraphs stay recognisable.
func unflow(s string, delsp bool) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var out []string
	var cur strings.Builder
	curDepth, open := 0, false
	flush := func() {
		if open {
			out = append(out, strings.Repeat(">", curDepth)+prefixSpace(curDepth)+cur.String())
			cur.Reset()
			open = false
		}
	}
	for l := range strings.SplitSeq(s, "\n") {
		depth := 0
		for depth < len(l) && l[depth] == '>' {
			depth++
		}
		content := strings.TrimPrefix(l[depth:], " ") // space-stuffing
		if open && depth != curDepth {
			flush()
		}
		flowed := strings.HasSuffix(content, " ") && content != "-- "
		if flowed && delsp {
			content = content[:len(content)-1]
		}
		cur.WriteString(content)
		curDepth, open = depth, true
		if !flowed {
			flush()
		}
	}
	flush()
	return strings.Join(out, "\n")
}

func prefixSpace(depth int) string {
	if depth > 0 {
		return " "
	}
	return ""
}

// htmlToText renders an HTML body as plain text: tags dropped, entities
// unescaped, block ends as line breaks. Scripts, styles and quoted
// blocks (<blockquote>) are dropped; the start of a client's quote
// container (Gmail's gmail_quote, Outlook's divRplyFwdMsg, Thunderbird's
// moz-cite-prefix) and <hr> become a line of underscores, which
// cleanReply takes as the start of the quoted original.
func htmlToText(s string) string {
	var b strings.Builder
	skip := 0
	for len(s) > 0 {
		lt := strings.IndexByte(s, '<')
		if lt < 0 {
			if skip == 0 {
				b.WriteString(htmlEntities(s))
			}
			break
		}
		if skip == 0 {
			b.WriteString(htmlEntities(s[:lt]))
		}
		s = s[lt:]
		if strings.HasPrefix(s, "<!--") {
			end := strings.Index(s, "-->")
			if end < 0 {
				break
			}
			s = s[end+3:]
			continue
		}
		gt := strings.IndexByte(s, '>')
		if gt < 0 {
			break
		}
		tag := s[1:gt]
		s = s[gt+1:]
		closing := strings.HasPrefix(tag, "/")
		name := strings.ToLower(strings.TrimLeft(tag, "/"))
		if i := strings.IndexAny(name, " \t\r\n/"); i >= 0 {
			name = name[:i]
		}
		switch name {
		case "script", "style", "head", "title", "blockquote":
			if closing {
				if skip > 0 {
					skip--
				}
			} else if !strings.HasSuffix(tag, "/") {
				skip++
			}
			continue
		}
		if skip > 0 {
			continue
		}
		switch name {
		case "br":
			b.WriteString("\n")
		case "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre":
			// A block starts on a new line, but nested blocks do not
			// add blank lines: Gmail writes each line as a <div>.
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
				b.WriteString("\n")
			}
		case "hr":
			b.WriteString("\n________________________________\n")
		}
		if !closing && name == "div" {
			lt := strings.ToLower(tag)
			if strings.Contains(lt, "gmail_quote") || strings.Contains(lt, "divrplyfwdmsg") || strings.Contains(lt, "moz-cite-prefix") {
				b.WriteString("\n________________________________\n")
			}
		}
	}
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

// htmlEntities unescapes text between tags, where line breaks are only
// white space.
func htmlEntities(s string) string {
	s = strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	return strings.ReplaceAll(html.UnescapeString(s), "\u00a0", " ")
}
