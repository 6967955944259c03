package devmail

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode non-UTF-8 charsets (windows-1258, iso-8859-x, …)
	"github.com/emersion/go-message/mail"
)

// unreadableSubject is shown for a message whose header cannot be parsed.
const unreadableSubject = "(không đọc được)"

// MailboxInfo summarises one mailbox for the dev web mail viewer.
type MailboxInfo struct {
	Address  string // lower-cased mailbox address (the IMAP login)
	Messages int    // messages currently in INBOX
	Unseen   int    // of which not \Seen by any IMAP client
}

// Message is a delivered message parsed for display.
type Message struct {
	UID         uint32 // IMAP UID in the mailbox's INBOX
	From, To    string // decoded, comma-separated "Name <addr>" lists
	Subject     string // decoded (RFC 2047); "(không đọc được)" if unparsable
	Date        time.Time
	Text, HTML  string // first inline text/plain and text/html bodies, decoded
	Attachments []Attachment
	Raw         []byte // the message as stored, trace headers included
	Seen        bool   // \Seen flag as set by IMAP clients
}

// Attachment describes one non-body part of a Message.
type Attachment struct {
	Filename    string // decoded (RFC 2231 / RFC 2047)
	ContentType string // media type without parameters
	Size        int    // decoded size in bytes
}

// Mailboxes lists every mailbox sorted by address, with message counts taken
// from the IMAP state.
func (s *Server) Mailboxes() []MailboxInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]MailboxInfo, 0, len(s.users))
	for addr, u := range s.users {
		info := MailboxInfo{Address: addr}
		st, err := u.Status(inbox, &imap.StatusOptions{NumMessages: true, NumUnseen: true})
		if err == nil {
			if st.NumMessages != nil {
				info.Messages = int(*st.NumMessages)
			}
			if st.NumUnseen != nil {
				info.Unseen = int(*st.NumUnseen)
			}
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}

// Messages returns the messages in addr's INBOX, newest first, parsed for
// display. Messages expunged by an IMAP client are gone here too. An unknown
// address yields an error wrapping ErrNoMailbox.
func (s *Server) Messages(addr string) ([]Message, error) {
	snaps, err := s.snapshot(addr, 0)
	if err != nil {
		return nil, err
	}
	out := make([]Message, 0, len(snaps))
	for _, sn := range snaps {
		out = append(out, sn.parse())
	}
	return out, nil
}

// Message returns one message of addr's INBOX by UID. Errors wrap
// ErrNoMailbox or ErrNoMessage.
func (s *Server) Message(addr string, uid uint32) (Message, error) {
	if uid == 0 {
		return Message{}, fmt.Errorf("devmail: %s uid 0: %w", addr, ErrNoMessage)
	}
	snaps, err := s.snapshot(addr, imap.UID(uid))
	if err != nil {
		return Message{}, err
	}
	if len(snaps) == 0 {
		return Message{}, fmt.Errorf("devmail: %s uid %d: %w", addr, uid, ErrNoMessage)
	}
	return snaps[0].parse(), nil
}

// msgSnapshot is the unparsed state of one message, copied out under the
// lock so parsing happens without it.
type msgSnapshot struct {
	uid  imap.UID
	seen bool
	storedMsg
}

// snapshot returns addr's INBOX messages (only the one with UID only, if
// non-zero), newest first. Existence and \Seen come from imapmemserver, the
// bytes from the raw store.
func (s *Server) snapshot(addr string, only imap.UID) ([]msgSnapshot, error) {
	key, err := mailboxKey(addr)
	if err != nil {
		return nil, fmt.Errorf("devmail: %q: %w", addr, ErrNoMailbox)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[key]
	if u == nil {
		return nil, fmt.Errorf("devmail: %s: %w", key, ErrNoMailbox)
	}
	all, seen, err := inboxState(u)
	if err != nil {
		return nil, fmt.Errorf("devmail: %s: %w", key, err)
	}
	var out []msgSnapshot
	for _, uid := range slices.Backward(all) {
		if only != 0 && uid != only {
			continue
		}
		st, ok := s.raw[key][uid]
		if !ok {
			// Appended by an IMAP client, not delivered by us.
			continue
		}
		out = append(out, msgSnapshot{uid: uid, seen: seen.Contains(uid), storedMsg: st})
	}
	return out, nil
}

// inboxState asks imapmemserver, through a throwaway session that selects
// INBOX, which UIDs exist (ascending) and which of them are \Seen.
func inboxState(u *imapmemserver.User) ([]imap.UID, imap.UIDSet, error) {
	sess := imapmemserver.NewUserSession(u)
	defer sess.Close()
	if _, err := sess.Select(inbox, nil); err != nil {
		return nil, nil, fmt.Errorf("select %s: %w", inbox, err)
	}
	allData, err := sess.Search(imapserver.NumKindUID, &imap.SearchCriteria{}, &imap.SearchOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("search all: %w", err)
	}
	seenData, err := sess.Search(imapserver.NumKindUID,
		&imap.SearchCriteria{Flag: []imap.Flag{imap.FlagSeen}}, &imap.SearchOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("search seen: %w", err)
	}
	allSet, _ := allData.All.(imap.UIDSet)
	seenSet, _ := seenData.All.(imap.UIDSet)
	all, _ := allSet.Nums()
	return all, seenSet, nil
}

func (sn msgSnapshot) parse() Message {
	m := parseMessage(sn.raw, sn.delivered)
	m.UID = uint32(sn.uid)
	m.Seen = sn.seen
	return m
}

// parseMessage decodes raw for display. It never fails: whatever cannot be
// parsed is left empty, and an unparsable header yields unreadableSubject.
func parseMessage(raw []byte, delivered time.Time) Message {
	m := Message{Raw: raw, Date: delivered}
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) {
		m.Subject = unreadableSubject
		return m
	}
	defer mr.Close()

	h := mr.Header
	if subj, err := h.Subject(); err == nil {
		m.Subject = subj
	} else {
		m.Subject = h.Get("Subject")
	}
	m.From = addressList(h, "From")
	m.To = addressList(h, "To")
	if d, err := h.Date(); err == nil && !d.IsZero() {
		m.Date = d
	}

	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil && (p == nil || !message.IsUnknownCharset(err)) {
			// Keep what was decoded so far; Raw still has everything.
			break
		}
		switch ph := p.Header.(type) {
		case *mail.InlineHeader:
			ct, _, _ := ph.ContentType()
			switch {
			case ct == "text/plain" && m.Text == "":
				b, _ := io.ReadAll(p.Body)
				m.Text = string(b)
				continue
			case ct == "text/html" && m.HTML == "":
				b, _ := io.ReadAll(p.Body)
				m.HTML = string(b)
				continue
			case strings.HasPrefix(ct, "text/"):
				// An alternative body we do not show.
				continue
			}
			// Inline non-text parts (e.g. images) are listed like attachments.
			_, params, _ := ph.ContentDisposition()
			name := params["filename"]
			if name == "" {
				_, cparams, _ := ph.ContentType()
				name = cparams["name"]
			}
			m.Attachments = append(m.Attachments, attachment(name, ct, p.Body))
		case *mail.AttachmentHeader:
			ct, _, _ := ph.ContentType()
			name, _ := ph.Filename()
			m.Attachments = append(m.Attachments, attachment(name, ct, p.Body))
		}
	}
	return m
}

func attachment(name, contentType string, body io.Reader) Attachment {
	n, _ := io.Copy(io.Discard, body)
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	return Attachment{Filename: name, ContentType: contentType, Size: int(n)}
}

// addressList formats an address header with decoded display names; if it
// does not parse, the raw (decoded where possible) value is returned.
func addressList(h mail.Header, key string) string {
	addrs, err := h.AddressList(key)
	if err != nil {
		if v, err := h.Text(key); err == nil {
			return v
		}
		return h.Get(key)
	}
	parts := make([]string, 0, len(addrs))
	for _, a := range addrs {
		if a.Name != "" {
			parts = append(parts, a.Name+" <"+a.Address+">")
		} else {
			parts = append(parts, a.Address)
		}
	}
	return strings.Join(parts, ", ")
}
