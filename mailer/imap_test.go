package mailer_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/sonoivu/vanthu/internal/testenv"
	"github.com/sonoivu/vanthu/mailer"
	"github.com/sonoivu/vanthu/mailer/devmail"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// imapBackend is a mail server the IMAP wrapper is tested against: the
// embedded devmail and a real Dovecot must behave the same for it.
type imapBackend struct {
	addr, user, pass string
	deliver          func(t *testing.T, raw []byte)
}

func imapBackends(t *testing.T) map[string]func(t *testing.T) imapBackend {
	const user, pass = "vanban@snv.test", "mật-khẩu-1"
	return map[string]func(t *testing.T) imapBackend{
		"devmail": func(t *testing.T) imapBackend {
			s := devmail.New(devmail.Config{SMTPAddr: "127.0.0.1:0", IMAPAddr: "127.0.0.1:0", Password: pass})
			if err := s.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			s.EnsureMailbox(user)
			return imapBackend{addr: s.IMAPAddr(), user: user, pass: pass, deliver: func(t *testing.T, raw []byte) {
				if err := s.Deliver("ubnd@xa.test", []string{user}, raw); err != nil {
					t.Error(err)
				}
			}}
		},
		"dovecot": func(t *testing.T) imapBackend {
			d := testenv.Dovecot(t, map[string]string{user: pass})
			return imapBackend{addr: d.Addr, user: user, pass: pass, deliver: func(t *testing.T, raw []byte) { d.Deliver(t, user, raw) }}
		},
	}
}

func note(n int) []byte {
	return []byte(fmt.Sprintf("From: ubnd@xa.test\r\nTo: vanban@snv.test\r\nSubject: Xác nhận %d\r\nMessage-ID: <n%d@xa.test>\r\n\r\nĐã nhận văn bản %d.\r\n", n, n, n))
}

func TestMailbox(t *testing.T) {
	for name, start := range imapBackends(t) {
		t.Run(name, func(t *testing.T) {
			b := start(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			b.deliver(t, note(1))
			b.deliver(t, note(2))

			host, port, _ := net.SplitHostPort(b.addr)
			p, _ := strconv.Atoi(port)
			cfg := mailer.IMAPConfig{Host: host, Port: p, TLS: mailer.TLSNone, Username: b.user, Password: b.pass}
			mb, err := mailer.DialIMAP(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer mb.Close()
			if mb.UIDValidity() == 0 {
				t.Error("UIDVALIDITY is zero")
			}

			got, err := mb.FetchSince(ctx, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 {
				t.Fatalf("FetchSince(0) returned %d messages, want 2", len(got))
			}
			for i, f := range got {
				if !strings.Contains(string(f.Raw), fmt.Sprintf("Đã nhận văn bản %d.", i+1)) {
					t.Errorf("message %d body: %q", i, f.Raw)
				}
				if f.InternalDate.IsZero() {
					t.Errorf("message %d has no internal date", i)
				}
			}
			if got[0].UID >= got[1].UID {
				t.Errorf("not in UID order: %d, %d", got[0].UID, got[1].UID)
			}
			last := got[1].UID
			if more, err := mb.FetchSince(ctx, last, 10); err != nil || len(more) != 0 {
				t.Errorf("FetchSince(last) = %d messages, %v; want none (the n:* rule must not return the last again)", len(more), err)
			}
			if one, err := mb.FetchSince(ctx, 0, 1); err != nil || len(one) != 1 || one[0].UID != got[0].UID {
				t.Errorf("FetchSince with limit 1 = %+v, %v", one, err)
			}

			if !mb.SupportsIdle() {
				t.Fatal("server does not advertise IDLE")
			}
			// Deliver from another goroutine while the wrapper idles; the
			// server must push EXISTS and WaitNew must wake for it.
			delivered := make(chan struct{})
			go func() {
				defer close(delivered)
				b.deliver(t, note(3))
			}()
			arrived, err := mb.WaitNew(ctx, 30*time.Second)
			<-delivered
			if err != nil || !arrived {
				t.Fatalf("WaitNew = %v, %v; want true", arrived, err)
			}
			fresh, err := mb.FetchSince(ctx, last, 10)
			if err != nil || len(fresh) != 1 || !strings.Contains(string(fresh[0].Raw), "Đã nhận văn bản 3.") {
				t.Fatalf("after WaitNew, FetchSince = %d messages, %v", len(fresh), err)
			}

			if err := mb.AddFlags(ctx, fresh[0].UID, `\Seen`); err != nil {
				t.Fatal(err)
			}
			flags := flagsOf(t, b, fresh[0].UID)
			if !slices.Contains(flags, imap.FlagSeen) {
				t.Errorf("flags after AddFlags = %v, want \\Seen", flags)
			}
			if flags := flagsOf(t, b, got[0].UID); slices.Contains(flags, imap.FlagSeen) {
				t.Errorf("FetchSince marked message %d seen: %v (must peek)", got[0].UID, flags)
			}

			// A short wait with nothing arriving reports false, not an error.
			if arrived, err := mb.WaitNew(ctx, 50*time.Millisecond); err != nil || arrived {
				t.Errorf("idle with no mail = %v, %v", arrived, err)
			}

			bad := cfg
			bad.Password = "sai"
			if _, err := mailer.DialIMAP(ctx, bad); err == nil || !strings.Contains(err.Error(), "từ chối đăng nhập") {
				t.Errorf("wrong password: %v", err)
			}
		})
	}
}

// flagsOf reads a message's flags over a separate connection, so the check
// does not trust the wrapper under test.
func flagsOf(t *testing.T, b imapBackend, uid uint32) []imap.Flag {
	t.Helper()
	c, err := imapclient.DialInsecure(b.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(b.user, b.pass).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.UIDSetNum(imap.UID(uid)), &imap.FetchOptions{Flags: true, UID: true}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("fetch flags of %d: %v (%d messages)", uid, err, len(msgs))
	}
	return msgs[0].Flags
}
