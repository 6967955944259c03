package mailer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/mailer"
)

// smtpRecorder is an SMTP server backend that records what it receives and
// refuses chosen recipients, so the sender's classification and reuse can
// be observed from the server side.
type smtpRecorder struct {
	mu       sync.Mutex
	conns    int
	authed   []string
	messages []received
	// needAuth refuses MAIL before AUTH.
	needAuth bool
}

type received struct {
	from string
	to   []string
	data string
	tls  bool
}

func (r *smtpRecorder) NewSession(c *smtp.Conn) (smtp.Session, error) {
	r.mu.Lock()
	r.conns++
	r.mu.Unlock()
	return &recSession{r: r, conn: c}, nil
}

func (r *smtpRecorder) snapshot() (int, []received, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns, append([]received(nil), r.messages...), append([]string(nil), r.authed...)
}

type recSession struct {
	r    *smtpRecorder
	conn *smtp.Conn
	user string
	cur  received
}

func (s *recSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *recSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if pass != "mật-khẩu" {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.user = user
		s.r.mu.Lock()
		s.r.authed = append(s.r.authed, user)
		s.r.mu.Unlock()
		return nil
	}), nil
}

func (s *recSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.r.needAuth && s.user == "" {
		return smtp.ErrAuthRequired
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.cur = received{from: from, tls: isTLS}
	return nil
}

func (s *recSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	switch {
	case strings.HasPrefix(to, "khongton"):
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable"}
	case strings.HasPrefix(to, "day"):
		return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "mailbox full, try later"}
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *recSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = string(b)
	s.r.mu.Lock()
	s.r.messages = append(s.r.messages, s.cur)
	s.r.mu.Unlock()
	return nil
}

func (s *recSession) Reset()        { s.cur = received{} }
func (s *recSession) Logout() error { return nil }

// startSMTP serves rec on a loopback port in the given TLS mode and returns
// the sender configuration that reaches it.
func startSMTP(t testing.TB, rec *smtpRecorder, mode mailer.TLSMode) mailer.SMTPConfig {
	t.Helper()
	srv := smtp.NewServer(rec)
	srv.Domain = "mx.test"
	srv.AllowInsecureAuth = mode == mailer.TLSNone
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if mode != mailer.TLSNone {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	}
	if mode == mailer.TLSImplicit {
		l = tls.NewListener(l, srv.TLSConfig)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(l) }()
	// Closing the listener too: srv.Close before Serve has registered it
	// would leave Serve accepting forever.
	t.Cleanup(func() { _ = srv.Close(); _ = l.Close(); <-done })
	host, port, _ := net.SplitHostPort(l.Addr().String())
	p, _ := strconv.Atoi(port)
	return mailer.SMTPConfig{Host: host, Port: p, TLS: mode, InsecureSkipVerify: true}
}

func selfSigned(t testing.TB) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mx.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestSenderReusesConnection(t *testing.T) {
	rec := &smtpRecorder{}
	s := mailer.NewSender(startSMTP(t, rec, mailer.TLSNone), nil)
	defer s.Close()
	ctx := context.Background()
	for i := range 5 {
		msg := "Subject: " + strconv.Itoa(i) + "\r\n\r\nnội dung\r\n"
		if err := s.Send(ctx, "vanthu+d"+strconv.Itoa(i)+"@snv.test", []string{"ubnd@xa.test"}, []byte(msg)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	conns, msgs, _ := rec.snapshot()
	if conns != 1 {
		t.Errorf("5 sequential sends used %d connections, want 1", conns)
	}
	if len(msgs) != 5 {
		t.Fatalf("server received %d messages, want 5", len(msgs))
	}
	for i, m := range msgs {
		if want := "vanthu+d" + strconv.Itoa(i) + "@snv.test"; m.from != want {
			t.Errorf("message %d envelope from %q, want %q", i, m.from, want)
		}
		if !strings.Contains(m.data, "nội dung") {
			t.Errorf("message %d body lost: %q", i, m.data)
		}
	}
}

func TestSenderConcurrent(t *testing.T) {
	rec := &smtpRecorder{}
	cfg := startSMTP(t, rec, mailer.TLSNone)
	cfg.MaxIdle = 3
	s := mailer.NewSender(cfg, nil)
	defer s.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			errs <- s.Send(context.Background(), "a@snv.test", []string{"u" + strconv.Itoa(i) + "@x.test"}, []byte("Subject: x\r\n\r\nx\r\n"))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	conns, msgs, _ := rec.snapshot()
	if len(msgs) != 20 {
		t.Errorf("received %d messages, want 20", len(msgs))
	}
	if conns > 20 || conns < 1 {
		t.Errorf("connections = %d", conns)
	}
}

func TestSenderClassifiesReplies(t *testing.T) {
	rec := &smtpRecorder{}
	s := mailer.NewSender(startSMTP(t, rec, mailer.TLSNone), nil)
	defer s.Close()
	tests := []struct {
		rcpt      string
		code      vanthu.ErrorCode
		retryable bool
		inMessage string
	}{
		{"khongton@x.test", vanthu.EPermanent, false, "550 mailbox unavailable"},
		{"day@x.test", vanthu.EUnavailable, true, "452 mailbox full, try later"},
	}
	for _, tt := range tests {
		t.Run(tt.rcpt, func(t *testing.T) {
			err := s.Send(context.Background(), "a@snv.test", []string{"ok@x.test", tt.rcpt}, []byte("Subject: x\r\n\r\nx\r\n"))
			if err == nil {
				t.Fatal("send succeeded, want a refusal")
			}
			if got := vanthu.ErrorCodeOf(err); got != tt.code {
				t.Errorf("code = %s, want %s (%v)", got, tt.code, err)
			}
			if vanthu.Retryable(vanthu.ErrorCodeOf(err)) != tt.retryable {
				t.Errorf("retryable = %v, want %v", !tt.retryable, tt.retryable)
			}
			if msg := vanthu.ErrorMessageOf(err); !strings.Contains(msg, tt.inMessage) {
				t.Errorf("message %q does not quote the server reply %q", msg, tt.inMessage)
			}
		})
	}
	// After refusals the session was reset and reused, and nothing was
	// delivered for the refused transactions.
	if err := s.Send(context.Background(), "a@snv.test", []string{"ok@x.test"}, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	conns, msgs, _ := rec.snapshot()
	if len(msgs) != 1 {
		t.Errorf("received %d messages, want only the last one", len(msgs))
	}
	if conns != 1 {
		t.Errorf("connections = %d, want 1 (reset and reused after refusals)", conns)
	}
}

func TestSenderUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	l.Close()
	s := mailer.NewSender(mailer.SMTPConfig{Host: "127.0.0.1", Port: addr.Port}, nil)
	err = s.Send(context.Background(), "a@snv.test", []string{"b@x.test"}, []byte("x"))
	if vanthu.ErrorCodeOf(err) != vanthu.EUnavailable {
		t.Fatalf("err = %v, want EUnavailable", err)
	}
	if err := s.Ping(context.Background()); vanthu.ErrorCodeOf(err) != vanthu.EUnavailable {
		t.Fatalf("ping err = %v, want EUnavailable", err)
	}
}

func TestSenderTLSAndAuth(t *testing.T) {
	for _, mode := range []mailer.TLSMode{mailer.TLSStartTLS, mailer.TLSImplicit, mailer.TLSNone} {
		t.Run(string(mode), func(t *testing.T) {
			rec := &smtpRecorder{needAuth: true}
			cfg := startSMTP(t, rec, mode)
			cfg.Username, cfg.Password = "vanthu@snv.test", "mật-khẩu"
			s := mailer.NewSender(cfg, nil)
			defer s.Close()
			if err := s.Ping(context.Background()); err != nil {
				t.Fatalf("ping: %v", err)
			}
			if err := s.Send(context.Background(), "vanthu@snv.test", []string{"b@x.test"}, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
				t.Fatalf("send: %v", err)
			}
			_, msgs, authed := rec.snapshot()
			if len(msgs) != 1 || msgs[0].tls != (mode != mailer.TLSNone) {
				t.Fatalf("messages = %+v, want one with tls=%v", msgs, mode != mailer.TLSNone)
			}
			if len(authed) != 2 || authed[0] != "vanthu@snv.test" {
				t.Errorf("authenticated as %v, want vanthu@snv.test for ping and send", authed)
			}

			bad := cfg
			bad.Password = "sai"
			err := mailer.NewSender(bad, nil).Send(context.Background(), "vanthu@snv.test", []string{"b@x.test"}, []byte("x"))
			if vanthu.ErrorCodeOf(err) != vanthu.EUnavailable || !strings.Contains(vanthu.ErrorMessageOf(err), "từ chối đăng nhập") {
				t.Errorf("bad password: %v, want a retryable login refusal", err)
			}
		})
	}
}

func TestSenderRefusesPlaintextPasswordOffLoopback(t *testing.T) {
	s := mailer.NewSender(mailer.SMTPConfig{Host: "mail.example.vn", Port: 25, Username: "u", Password: "p"}, nil)
	err := s.Ping(context.Background())
	if vanthu.ErrorCodeOf(err) != vanthu.EInvalid || !strings.Contains(vanthu.ErrorMessageOf(err), "không mã hoá") {
		t.Fatalf("err = %v, want EInvalid about an unencrypted password", err)
	}
	// Allowed explicitly, the sender goes on to connect (and here fails to,
	// the address being reserved for documentation).
	s = mailer.NewSender(mailer.SMTPConfig{Host: "192.0.2.1", Port: 25, Username: "u", Password: "p", PlaintextAuth: true, DialTimeout: 50 * time.Millisecond}, nil)
	if err := s.Ping(context.Background()); vanthu.ErrorCodeOf(err) != vanthu.EUnavailable {
		t.Fatalf("with PlaintextAuth: %v, want EUnavailable from the dial", err)
	}
}

func TestSenderCancelled(t *testing.T) {
	rec := &smtpRecorder{}
	s := mailer.NewSender(startSMTP(t, rec, mailer.TLSNone), nil)
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Send(ctx, "a@snv.test", []string{"b@x.test"}, []byte("Subject: x\r\n\r\nx\r\n"))
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, msgs, _ := rec.snapshot(); len(msgs) != 0 {
		t.Errorf("cancelled send delivered %d messages", len(msgs))
	}
}

func TestSenderClosed(t *testing.T) {
	rec := &smtpRecorder{}
	s := mailer.NewSender(startSMTP(t, rec, mailer.TLSNone), nil)
	if err := s.Send(context.Background(), "a@snv.test", []string{"b@x.test"}, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), "a@snv.test", []string{"b@x.test"}, []byte("x")); vanthu.ErrorCodeOf(err) != vanthu.EUnavailable {
		t.Fatalf("send after close: %v", err)
	}
}

// BenchmarkSend compares sending over a reused connection with dialling,
// greeting (and for STARTTLS, handshaking and authenticating) and quitting
// for every message, in the same run; BENCHMARKS.md records the ratio.
func BenchmarkSend(b *testing.B) {
	msg, err := mailer.Compose(directiveMessage())
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []mailer.TLSMode{mailer.TLSNone, mailer.TLSStartTLS} {
		for _, bc := range []struct {
			name    string
			maxIdle int
		}{{"reuse", 2}, {"dial_each", -1}} {
			b.Run(string(mode)+"/"+bc.name, func(b *testing.B) {
				rec := &smtpRecorder{}
				cfg := startSMTP(b, rec, mode)
				cfg.MaxIdle = bc.maxIdle
				if mode == mailer.TLSStartTLS {
					cfg.Username, cfg.Password = "vanthu@snv.test", "mật-khẩu"
				}
				s := mailer.NewSender(cfg, nil)
				defer s.Close()
				b.SetBytes(int64(len(msg)))
				for b.Loop() {
					if err := s.Send(context.Background(), "vanthu@snv.test", []string{"ubnd@xa.test"}, msg); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestSenderCommitTakesTurns: SendCommit runs each commit after the server
// accepted that message, never two commits at once and never while another
// message's end of DATA is pending (the server counts how many messages it
// has accepted that are not committed: never more than one); a refused
// message is not committed; a commit's error comes back as is and the
// connection stays in use.
func TestSenderCommitTakesTurns(t *testing.T) {
	rec := &smtpRecorder{}
	cfg := startSMTP(t, rec, mailer.TLSNone)
	cfg.MaxIdle = 8
	for _, slots := range []int{1, 3} {
		cfg.MaxUnconfirmed = slots
		if others := commitRace(t, mailer.NewSender(cfg, nil), rec); others > slots-1 {
			t.Errorf("MaxUnconfirmed %d: a commit saw %d other messages accepted but uncommitted", slots, others)
		}
	}
	s := mailer.NewSender(cfg, nil)
	defer s.Close()
	called := false
	err := s.SendCommit(context.Background(), "a@snv.test", []string{"khongton@x.test"}, mailer.Data{[]byte("Subject: x\r\n\r\nx\r\n")}, func() error { called = true; return nil })
	if vanthu.ErrorCodeOf(err) != vanthu.EPermanent || called {
		t.Errorf("refused message: err %v, committed %v", err, called)
	}
	conns, _, _ := rec.snapshot()
	boom := errors.New("database down")
	if err := s.SendCommit(context.Background(), "a@snv.test", []string{"ok@x.test"}, mailer.Data{[]byte("Subject: x\r\n\r\nx\r\n")}, func() error { return boom }); err != boom {
		t.Errorf("commit error = %v, want it as is", err)
	}
	if err := s.Send(context.Background(), "a@snv.test", []string{"ok@x.test"}, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	if after, _, _ := rec.snapshot(); after != conns {
		t.Errorf("connections %d → %d: a failed commit dropped a healthy connection", conns, after)
	}
}

// commitRace sends 40 messages at once through s with SendCommit and
// returns the most other messages a commit saw accepted by the server but
// not yet committed. Every commit must come after its own acceptance.
func commitRace(t *testing.T, s *mailer.Sender, rec *smtpRecorder) int {
	t.Helper()
	defer s.Close()
	_, before, _ := rec.snapshot()
	var (
		mu        sync.Mutex
		committed = map[string]bool{}
		maxOthers int
	)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			to := fmt.Sprintf("u%d-%d@x.test", i, len(before))
			errs <- s.SendCommit(context.Background(), "a@snv.test", []string{to}, mailer.Data{[]byte("Subject: x\r\n\r\nx\r\n")}, func() error {
				_, msgs, _ := rec.snapshot()
				msgs = msgs[len(before):]
				mu.Lock()
				defer mu.Unlock()
				accepted := false
				for _, m := range msgs {
					if m.to[0] == to {
						accepted = true
					}
				}
				if !accepted {
					return fmt.Errorf("commit of %s before the server accepted it", to)
				}
				committed[to] = true
				// Other messages the server accepted that are not committed.
				if n := len(msgs) - len(committed); n > maxOthers {
					maxOthers = n
				}
				return nil
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(committed) != 40 {
		t.Fatalf("committed %d of 40", len(committed))
	}
	return maxOthers
}

// TestSendCommitPieces: a message given in pieces reaches the server as
// one message, the pieces in order, with dot-stuffing across their edges.
func TestSendCommitPieces(t *testing.T) {
	rec := &smtpRecorder{}
	s := mailer.NewSender(startSMTP(t, rec, mailer.TLSNone), nil)
	defer s.Close()
	pieces := mailer.Data{
		[]byte("Subject: x\r\n\r\nđầu\r\n"),
		[]byte(".dòng bắt đầu bằng dấu chấm\r\n"),
		[]byte("giữa\r"),
		[]byte("\n.\r\ncuối\r\n"),
	}
	if err := s.SendCommit(context.Background(), "a@snv.test", []string{"ok@x.test"}, pieces, func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	_, msgs, _ := rec.snapshot()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	if msgs[0].data != string(pieces.Bytes()) {
		t.Fatalf("server received %q, want %q", msgs[0].data, pieces.Bytes())
	}
}
