package devmail

import (
	"bytes"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// inbox is the only mailbox devmail delivers to.
const inbox = "INBOX"

// ErrNoMailbox is returned (wrapped) for an address that has no mailbox yet.
var ErrNoMailbox = errors.New("devmail: no such mailbox")

// ErrNoMessage is returned (wrapped) by Message for a UID that is not in the
// mailbox (never delivered, or expunged by an IMAP client).
var ErrNoMessage = errors.New("devmail: no such message")

// trace describes where a delivery came from, for the Received header.
type trace struct {
	helo   string // SMTP client's HELO/EHLO name; empty for Deliver
	remote string // SMTP client's address; empty for Deliver
}

// EnsureMailbox creates the mailbox (IMAP user with an INBOX) for addr if it
// does not exist yet. Dev mode uses it to pre-create the office mailbox and
// the units' mailboxes so IMAP logins work before any mail arrives. An
// unparsable address is logged and ignored.
func (s *Server) EnsureMailbox(addr string) {
	key, err := mailboxKey(addr)
	if err != nil {
		s.log.Warn("ensure mailbox: invalid address", "address", addr, "error", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userLocked(key)
}

// Deliver puts raw into the INBOX of every recipient in to, creating
// mailboxes as needed, exactly as an SMTP delivery would. from is the
// envelope sender (empty for a null sender). IMAP clients that have the
// INBOX selected are notified (EXISTS), including those in IDLE.
func (s *Server) Deliver(from string, to []string, raw []byte) error {
	return s.deliver(from, to, raw, trace{})
}

func (s *Server) deliver(from string, to []string, raw []byte, tr trace) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return errors.New("devmail: deliver: empty message")
	}
	if len(to) == 0 {
		return errors.New("devmail: deliver: no recipients")
	}
	var sender string
	if strings.TrimSpace(from) != "" {
		a, err := mail.ParseAddress(from)
		if err != nil {
			return fmt.Errorf("devmail: deliver: invalid sender %q: %w", from, err)
		}
		sender = a.Address
	}
	// Each recipient is delivered to its mailbox: the address itself, or
	// with RecipientDelimiter set, the address without its extension
	// (vanban+tag@ → vanban@), as Postfix and Dovecot do; Delivered-To
	// keeps the full address, which is how the tag comes back.
	type rcptBox struct{ rcpt, box string }
	rcpts := make([]rcptBox, 0, len(to))
	seen := make(map[string]bool, len(to))
	for _, t := range to {
		key, err := mailboxKey(t)
		if err != nil {
			return fmt.Errorf("devmail: deliver: invalid recipient %q: %w", t, err)
		}
		if !seen[key] {
			seen[key] = true
			rcpts = append(rcpts, rcptBox{rcpt: key, box: s.baseMailbox(key)})
		}
	}

	body := toCRLF(raw)
	now := time.Now()

	// Holding mu across the appends keeps the raw store and imapmemserver in
	// step: a viewer never sees a UID whose bytes are not stored yet.
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rb := range rcpts {
		rcpt := rb.box
		msg := append(s.traceHeader(sender, rb.rcpt, tr, now), body...)
		u := s.userLocked(rcpt)
		data, err := u.Append(inbox, bytes.NewReader(msg), &imap.AppendOptions{Time: now})
		if err != nil {
			// An IMAP client may have deleted INBOX; recreate it like a real
			// MDA would and try once more.
			if cerr := u.Create(inbox, nil); cerr != nil {
				return fmt.Errorf("devmail: deliver to %s: %w", rcpt, err)
			}
			if data, err = u.Append(inbox, bytes.NewReader(msg), &imap.AppendOptions{Time: now}); err != nil {
				return fmt.Errorf("devmail: deliver to %s: %w", rcpt, err)
			}
		}
		s.raw[rcpt][data.UID] = storedMsg{raw: msg, delivered: now}
		for ch := range s.watchers[rcpt] {
			select {
			case ch <- struct{}{}:
			default: // a wake-up is already pending
			}
		}
		s.log.Info("mail delivered", "from", sender, "rcpt", rcpt, "uid", uint32(data.UID), "size", len(msg))
	}
	return nil
}

// userLocked returns the IMAP user for key, creating it with an INBOX.
// s.mu must be held.
func (s *Server) userLocked(key string) *imapmemserver.User {
	if u := s.users[key]; u != nil {
		return u
	}
	u := imapmemserver.NewUser(key, s.cfg.Password)
	// Create cannot fail on a fresh user.
	_ = u.Create(inbox, nil)
	_ = u.Subscribe(inbox)
	s.mem.AddUser(u)
	s.users[key] = u
	s.raw[key] = make(map[imap.UID]storedMsg)
	s.log.Debug("mailbox created", "address", key)
	return u
}

// watch returns a channel that receives a wake-up after each delivery to
// key, and a function to stop watching. Used by IMAP IDLE.
func (s *Server) watch(key string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	if s.watchers[key] == nil {
		s.watchers[key] = make(map[chan struct{}]struct{})
	}
	s.watchers[key][ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.watchers[key], ch)
		s.mu.Unlock()
	}
}

// user returns the IMAP user for key or nil.
func (s *Server) user(key string) *imapmemserver.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[key]
}

// traceHeader builds the header block a delivering MTA/MDA prepends.
// Return-Path is what later bounce handling keys on.
func (s *Server) traceHeader(sender, rcpt string, tr trace, now time.Time) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Return-Path: <%s>\r\n", sender)
	fmt.Fprintf(&b, "Delivered-To: %s\r\n", rcpt)
	if tr.remote != "" {
		helo := tr.helo
		if helo == "" {
			helo = "unknown"
		}
		fmt.Fprintf(&b, "Received: from %s (%s)\r\n\tby %s (vanthu devmail) with ESMTP\r\n\tfor <%s>; %s\r\n",
			helo, tr.remote, s.cfg.Domain, rcpt, now.Format(time.RFC1123Z))
	} else {
		fmt.Fprintf(&b, "Received: by %s (vanthu devmail) with local delivery\r\n\tfor <%s>; %s\r\n",
			s.cfg.Domain, rcpt, now.Format(time.RFC1123Z))
	}
	return b.Bytes()
}

// baseMailbox strips the extension of key's local part when the server has
// a recipient delimiter.
func (s *Server) baseMailbox(key string) string {
	d := s.cfg.RecipientDelimiter
	if d == "" {
		return key
	}
	local, domain, ok := strings.Cut(key, "@")
	if !ok {
		return key
	}
	if base, _, found := strings.Cut(local, d); found && base != "" {
		return base + "@" + domain
	}
	return key
}

// mailboxKey validates addr and returns the bare, lower-cased address that
// names its mailbox and IMAP login.
func mailboxKey(addr string) (string, error) {
	a, err := mail.ParseAddress(strings.TrimSpace(addr))
	if err != nil {
		return "", err
	}
	return strings.ToLower(a.Address), nil
}

// toCRLF turns bare LF line endings into CRLF, as IMAP clients expect
// RFC 5322 messages with CRLF (and RFC822.SIZE counts them).
func toCRLF(raw []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(raw) + len(raw)/32)
	for i, c := range raw {
		if c == '\n' && (i == 0 || raw[i-1] != '\r') {
			b.WriteByte('\r')
		}
		b.WriteByte(c)
	}
	return b.Bytes()
}
