package devmail

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const testTimeout = 10 * time.Second

func startServer(t *testing.T) *Server {
	t.Helper()
	s := New(Config{Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err := s.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// dialIMAP logs in as user and selects INBOX.
func dialIMAP(t *testing.T, s *Server, user, password string, opts *imapclient.Options) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(s.IMAPAddr(), opts)
	if err != nil {
		t.Fatalf("imap dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, password).Wait(); err != nil {
		t.Fatalf("imap login %s: %v", user, err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("imap select: %v", err)
	}
	return c
}

func sendSMTP(t *testing.T, addr string, auth bool, from string, to []string, raw string) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatalf("smtp dial: %v", err)
	}
	defer c.Close()
	if err := c.Hello("sender.test"); err != nil {
		t.Fatalf("smtp hello: %v", err)
	}
	if auth {
		if err := c.Auth(sasl.NewPlainClient("", "anyone", "anything")); err != nil {
			t.Fatalf("smtp auth: %v", err)
		}
	}
	if err := c.SendMail(from, to, strings.NewReader(raw)); err != nil {
		t.Fatalf("smtp send: %v", err)
	}
	if err := c.Quit(); err != nil {
		t.Fatalf("smtp quit: %v", err)
	}
}

func TestSMTPToIMAP(t *testing.T) {
	tests := []struct {
		name string
		auth bool
	}{
		{"auth plain", true},
		{"unauthenticated", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t)
			from := "bounce+d42@sonoivu.test"
			to := []string{"UBND.XaA@example.test", "ubnd.xab@example.test"}
			marker := "noi-dung-" + strings.ReplaceAll(tt.name, " ", "-")
			raw := "From: vanthu@sonoivu.test\r\nTo: ubnd.xaa@example.test, ubnd.xab@example.test\r\n" +
				"Subject: test\r\n\r\n" + marker + "\r\n"
			sendSMTP(t, s.SMTPAddr(), tt.auth, from, to, raw)

			for _, rcpt := range []string{"ubnd.xaa@example.test", "ubnd.xab@example.test"} {
				c := dialIMAP(t, s, rcpt, DefaultPassword, nil)
				body := []*imap.FetchItemBodySection{{}}
				msgs, err := c.Fetch(imap.UIDSetNum(1), &imap.FetchOptions{UID: true, BodySection: body}).Collect()
				if err != nil {
					t.Fatalf("%s: uid fetch: %v", rcpt, err)
				}
				if len(msgs) != 1 {
					t.Fatalf("%s: got %d messages, want 1", rcpt, len(msgs))
				}
				got := string(msgs[0].FindBodySection(body[0]))
				if !strings.HasPrefix(got, "Return-Path: <"+from+">\r\n") {
					t.Errorf("%s: message does not start with Return-Path of envelope sender:\n%s", rcpt, got)
				}
				for _, want := range []string{"Delivered-To: " + rcpt + "\r\n", "Received: from sender.test", "\r\n\r\n" + marker + "\r\n"} {
					if !strings.Contains(got, want) {
						t.Errorf("%s: message lacks %q:\n%s", rcpt, want, got)
					}
				}
				if err := c.Logout().Wait(); err != nil {
					t.Errorf("logout: %v", err)
				}
			}

			for _, cred := range []struct{ user, pass string }{
				{"ubnd.xaa@example.test", "wrong"},
				{"nobody@example.test", DefaultPassword},
			} {
				c, err := imapclient.DialInsecure(s.IMAPAddr(), nil)
				if err != nil {
					t.Fatalf("imap dial: %v", err)
				}
				if err := c.Login(cred.user, cred.pass).Wait(); err == nil {
					t.Errorf("login %s/%s succeeded, want refusal", cred.user, cred.pass)
				}
				c.Close()
			}
		})
	}
}

func TestIdleSeesDeliver(t *testing.T) {
	s := startServer(t)
	const addr = "vanthu@sonoivu.test"
	s.EnsureMailbox(addr)

	exists := make(chan uint32, 16)
	c := dialIMAP(t, s, addr, DefaultPassword, &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(data *imapclient.UnilateralDataMailbox) {
				if data.NumMessages != nil {
					select {
					case exists <- *data.NumMessages:
					default:
					}
				}
			},
		},
	})
	idle, err := c.Idle()
	if err != nil {
		t.Fatalf("idle: %v", err)
	}

	// Two deliveries: the first races with the start of IDLE, the second
	// checks that IDLE keeps reporting after the first wake-up.
	for want := uint32(1); want <= 2; want++ {
		errc := make(chan error, 1)
		go func() {
			errc <- s.Deliver("ubnd.xaa@example.test", []string{addr}, []byte("Subject: re\r\n\r\nda nhan\r\n"))
		}()
		deadline := time.After(testTimeout)
		for got := false; !got; {
			select {
			case n := <-exists:
				got = n == want
			case err := <-errc:
				if err != nil {
					t.Fatalf("Deliver: %v", err)
				}
				errc = nil
			case <-deadline:
				t.Fatalf("no EXISTS %d during IDLE before deadline", want)
			}
		}
	}
	if err := idle.Close(); err != nil {
		t.Fatalf("idle close: %v", err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatalf("idle wait: %v", err)
	}
}

// Chỉ thị về tăng cường kỷ luật
const viSubjectEncoded = "=?utf-8?b?Q2jhu4kgdGjhu4sgduG7gSB0xINuZyBjxrDhu51uZyBr4bu3IGx14bqtdA==?="

func buildMultipart(attachment []byte) string {
	enc := base64.StdEncoding.EncodeToString(attachment)
	var wrapped strings.Builder
	for len(enc) > 76 {
		wrapped.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	wrapped.WriteString(enc + "\r\n")
	return "From: =?utf-8?q?S=E1=BB=9F_N=E1=BB=99i_v=E1=BB=A5?= <vanthu@sonoivu.test>\r\n" +
		"To: ubnd.xaa@example.test\r\n" +
		"Subject: " + viSubjectEncoded + "\r\n" +
		"Date: Mon, 02 Mar 2026 08:30:00 +0700\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n" +
		"\r\n" +
		"--XYZ\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n" +
		"\r\n" +
		"K=C3=ADnh g=E1=BB=ADi c=C3=A1c =C4=91=C6=A1n v=E1=BB=8B\r\n" +
		"--XYZ\r\n" +
		"Content-Type: application/pdf\r\n" +
		"Content-Disposition: attachment; filename*=utf-8''Ch%E1%BB%89%20th%E1%BB%8B%2002-CT-UBND.pdf\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"\r\n" +
		wrapped.String() +
		"--XYZ--\r\n"
}

func TestViewerParsing(t *testing.T) {
	pdf := bytes.Repeat([]byte("%PDF-1.7 chi thi\n"), 37) // 629 bytes
	tests := []struct {
		name        string
		raw         string
		wantSubject string
		wantFrom    string
		wantText    string
		wantHTML    string
		wantAtt     []Attachment
		wantDate    time.Time
	}{
		{
			name:        "vietnamese multipart with RFC 2231 attachment",
			raw:         buildMultipart(pdf),
			wantSubject: "Chỉ thị về tăng cường kỷ luật",
			wantFrom:    "Sở Nội vụ <vanthu@sonoivu.test>",
			wantText:    "Kính gửi các đơn vị",
			wantAtt:     []Attachment{{Filename: "Chỉ thị 02-CT-UBND.pdf", ContentType: "application/pdf", Size: len(pdf)}},
			wantDate:    time.Date(2026, 3, 2, 1, 30, 0, 0, time.UTC),
		},
		{
			name: "latin1 alternative",
			raw: "From: a@example.test\nSubject: =?iso-8859-1?q?caf=E9?=\nMIME-Version: 1.0\n" +
				"Content-Type: multipart/alternative; boundary=b\n\n" +
				"--b\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\ncaf=E9\n" +
				"--b\nContent-Type: text/html; charset=utf-8\n\n<p>caf\xc3\xa9</p>\n--b--\n",
			wantSubject: "café",
			wantFrom:    "a@example.test",
			wantText:    "café",
			wantHTML:    "<p>café</p>",
		},
		{
			name:        "unparsable header",
			raw:         "this is not a header line\r\n\r\nbody\r\n",
			wantSubject: unreadableSubject,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Config{Logger: slog.New(slog.DiscardHandler)})
			const rcpt = "ubnd.xaa@example.test"
			before := time.Now()
			if err := s.Deliver("vanthu@sonoivu.test", []string{rcpt}, []byte(tt.raw)); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			msgs, err := s.Messages(rcpt)
			if err != nil {
				t.Fatalf("Messages: %v", err)
			}
			if len(msgs) != 1 {
				t.Fatalf("got %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if m.Subject != tt.wantSubject {
				t.Errorf("Subject = %q, want %q", m.Subject, tt.wantSubject)
			}
			if m.From != tt.wantFrom {
				t.Errorf("From = %q, want %q", m.From, tt.wantFrom)
			}
			if strings.TrimSpace(m.Text) != tt.wantText {
				t.Errorf("Text = %q, want %q", m.Text, tt.wantText)
			}
			if strings.TrimSpace(m.HTML) != tt.wantHTML {
				t.Errorf("HTML = %q, want %q", m.HTML, tt.wantHTML)
			}
			if fmt.Sprint(m.Attachments) != fmt.Sprint(tt.wantAtt) {
				t.Errorf("Attachments = %+v, want %+v", m.Attachments, tt.wantAtt)
			}
			if !tt.wantDate.IsZero() && !m.Date.Equal(tt.wantDate) {
				t.Errorf("Date = %v, want %v", m.Date, tt.wantDate)
			}
			if tt.wantDate.IsZero() && m.Date.Before(before) {
				t.Errorf("Date = %v, want delivery time (after %v)", m.Date, before)
			}
			if !bytes.Contains(m.Raw, []byte("Return-Path: <vanthu@sonoivu.test>\r\n")) {
				t.Errorf("Raw lacks Return-Path:\n%s", m.Raw)
			}
			if m.Seen || m.UID == 0 {
				t.Errorf("UID=%d Seen=%v, want non-zero and unseen", m.UID, m.Seen)
			}
			one, err := s.Message(rcpt, m.UID)
			if err != nil || one.Subject != m.Subject {
				t.Errorf("Message(%d) = %q, %v; want %q", m.UID, one.Subject, err, m.Subject)
			}
		})
	}
}

func TestSeenFromIMAP(t *testing.T) {
	s := startServer(t)
	const rcpt = "ubnd.xaa@example.test"
	for i := range 2 {
		raw := fmt.Sprintf("Subject: so %d\r\n\r\nbody\r\n", i+1)
		if err := s.Deliver("vanthu@sonoivu.test", []string{rcpt}, []byte(raw)); err != nil {
			t.Fatalf("Deliver: %v", err)
		}
	}
	s.EnsureMailbox("empty@example.test")

	wantBoxes := fmt.Sprint([]MailboxInfo{{"empty@example.test", 0, 0}, {rcpt, 2, 2}})
	if got := fmt.Sprint(s.Mailboxes()); got != wantBoxes {
		t.Fatalf("Mailboxes = %s, want %s", got, wantBoxes)
	}
	msgs, err := s.Messages(rcpt)
	if err != nil {
		t.Fatalf("Messages: %v", err)
	}
	if len(msgs) != 2 || msgs[0].Subject != "so 2" || msgs[1].Subject != "so 1" {
		t.Fatalf("Messages not newest first: %+v", msgs)
	}
	firstUID := msgs[1].UID

	c := dialIMAP(t, s, strings.ToUpper(rcpt), DefaultPassword, nil)
	store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}, Silent: true}
	if err := c.Store(imap.UIDSetNum(imap.UID(firstUID)), store, nil).Close(); err != nil {
		t.Fatalf("store \\Seen: %v", err)
	}

	msgs, err = s.Messages(rcpt)
	if err != nil {
		t.Fatalf("Messages: %v", err)
	}
	for _, m := range msgs {
		if want := m.UID == firstUID; m.Seen != want {
			t.Errorf("uid %d Seen = %v, want %v", m.UID, m.Seen, want)
		}
	}
	wantBoxes = fmt.Sprint([]MailboxInfo{{"empty@example.test", 0, 0}, {rcpt, 2, 1}})
	if got := fmt.Sprint(s.Mailboxes()); got != wantBoxes {
		t.Errorf("Mailboxes = %s, want %s", got, wantBoxes)
	}

	// An expunge by the client removes the message from the viewer too.
	if err := c.Store(imap.UIDSetNum(imap.UID(firstUID)),
		&imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatalf("store \\Deleted: %v", err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatalf("expunge: %v", err)
	}
	if _, err := s.Message(rcpt, firstUID); !errors.Is(err, ErrNoMessage) {
		t.Errorf("Message(expunged) err = %v, want ErrNoMessage", err)
	}
	if msgs, _ := s.Messages(rcpt); len(msgs) != 1 {
		t.Errorf("after expunge got %d messages, want 1", len(msgs))
	}
}

func TestErrors(t *testing.T) {
	s := New(Config{Logger: slog.New(slog.DiscardHandler)})
	deliverTests := []struct {
		name string
		from string
		to   []string
		raw  string
	}{
		{"empty message", "a@example.test", []string{"b@example.test"}, " \r\n"},
		{"no recipients", "a@example.test", nil, "Subject: x\r\n\r\nx"},
		{"bad recipient", "a@example.test", []string{"not an address"}, "Subject: x\r\n\r\nx"},
		{"bad sender", "a@@example", []string{"b@example.test"}, "Subject: x\r\n\r\nx"},
	}
	for _, tt := range deliverTests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Deliver(tt.from, tt.to, []byte(tt.raw)); err == nil {
				t.Error("Deliver succeeded, want error")
			}
		})
	}
	if got := s.Mailboxes(); len(got) != 0 {
		t.Errorf("failed deliveries created mailboxes: %v", got)
	}
	if _, err := s.Messages("nobody@example.test"); !errors.Is(err, ErrNoMailbox) {
		t.Errorf("Messages(unknown) err = %v, want ErrNoMailbox", err)
	}
	if _, err := s.Message("nobody@example.test", 1); !errors.Is(err, ErrNoMailbox) {
		t.Errorf("Message(unknown) err = %v, want ErrNoMailbox", err)
	}
	s.EnsureMailbox("b@example.test")
	if _, err := s.Message("b@example.test", 7); !errors.Is(err, ErrNoMessage) {
		t.Errorf("Message(unknown uid) err = %v, want ErrNoMessage", err)
	}
}

func TestStartListenError(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()

	s := New(Config{IMAPAddr: addr, Logger: slog.New(slog.DiscardHandler)})
	err = s.Start(t.Context())
	if err == nil {
		s.Close()
		t.Fatal("Start succeeded on a busy IMAP address")
	}
	if !strings.Contains(err.Error(), "imap") || !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name the imap address %s", err, addr)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close after failed Start: %v", err)
	}
}

func TestClose(t *testing.T) {
	tests := []struct {
		name string
		stop func(s *Server, cancel context.CancelFunc) error
	}{
		{"Close", func(s *Server, _ context.CancelFunc) error { return s.Close() }},
		{"context cancel", func(s *Server, cancel context.CancelFunc) error {
			cancel()
			return s.Close() // waits for the ctx-triggered shutdown
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			s := New(Config{Logger: slog.New(slog.DiscardHandler)})
			if err := s.Start(ctx); err != nil {
				t.Fatalf("Start: %v", err)
			}
			smtpAddr, imapAddr := s.SMTPAddr(), s.IMAPAddr()

			// Leave an IMAP client idling and an SMTP client mid-session:
			// shutdown must not wait for them to leave.
			s.EnsureMailbox("x@example.test")
			ic, err := imapclient.DialInsecure(imapAddr, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer ic.Close()
			if err := ic.Login("x@example.test", DefaultPassword).Wait(); err != nil {
				t.Fatal(err)
			}
			if _, err := ic.Select("INBOX", nil).Wait(); err != nil {
				t.Fatal(err)
			}
			if _, err := ic.Idle(); err != nil {
				t.Fatal(err)
			}
			sc, err := smtp.Dial(smtpAddr)
			if err != nil {
				t.Fatal(err)
			}
			defer sc.Close()
			if err := sc.Hello("x"); err != nil {
				t.Fatal(err)
			}

			if err := tt.stop(s, cancel); err != nil {
				t.Fatalf("stop: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			select {
			case <-ic.Closed():
			case <-time.After(testTimeout):
				t.Error("idling IMAP client not disconnected")
			}
			for _, addr := range []string{smtpAddr, imapAddr} {
				if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
					c.Close()
					t.Errorf("%s still accepts connections after Close", addr)
				}
			}
			if err := s.Start(t.Context()); err == nil {
				t.Error("Start after Close succeeded")
			}
		})
	}
}

// TestRecipientDelimiter: with plus-addressing on, mail to a tagged address
// lands in the base mailbox, and Delivered-To keeps the tag; without it,
// every address is its own mailbox.
func TestRecipientDelimiter(t *testing.T) {
	tests := []struct {
		delim   string
		wantBox string
	}{
		{"+", "vanban@snv.test"},
		{"", "vanban+k3j9x2abcdq7mnpq@snv.test"},
	}
	for _, tt := range tests {
		t.Run("delim="+tt.delim, func(t *testing.T) {
			s := New(Config{RecipientDelimiter: tt.delim, Logger: slog.New(slog.DiscardHandler)})
			raw := "From: a@unit.test\r\nSubject: Re: test\r\n\r\nĐã nhận.\r\n"
			if err := s.Deliver("a@unit.test", []string{"Vanban+K3J9X2ABCDQ7MNPQ@snv.test"}, []byte(raw)); err != nil {
				t.Fatal(err)
			}
			msgs, err := s.Messages(tt.wantBox)
			if err != nil || len(msgs) != 1 {
				t.Fatalf("Messages(%s) = %d, %v", tt.wantBox, len(msgs), err)
			}
			if !bytes.Contains(msgs[0].Raw, []byte("Delivered-To: vanban+k3j9x2abcdq7mnpq@snv.test\r\n")) {
				t.Errorf("Delivered-To lost the tag:\n%s", msgs[0].Raw)
			}
			if tt.delim != "" {
				if _, err := s.Messages("vanban+k3j9x2abcdq7mnpq@snv.test"); err == nil {
					t.Error("a mailbox was made for the tagged address")
				}
			}
		})
	}
}
