package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/sonoivu/vanthu"
)

// SMTPConfig is how to reach the submission server.
type SMTPConfig struct {
	Host     string
	Port     int
	TLS      TLSMode
	Username string
	Password string
	// InsecureSkipVerify accepts any server certificate; for tests with
	// self-signed certificates only.
	InsecureSkipVerify bool
	// PlaintextAuth allows the password over an unencrypted connection to
	// a host other than this machine; by default that is refused.
	PlaintextAuth bool
	// MaxIdle is how many idle connections are kept for reuse (default 2;
	// negative: none, a new connection per message).
	MaxIdle int
	// IdleTimeout closes connections idle for longer (default 30 s), before
	// the server's own timeout would cut them mid-command.
	IdleTimeout time.Duration
	// HeloName is the name said in EHLO (default "localhost").
	HeloName string
	// DialTimeout bounds connecting and greeting (default 30 s).
	DialTimeout time.Duration
	// MaxUnconfirmed is how many SendCommit calls may be between the end
	// of DATA and their commit at once (default 1): the most messages a
	// crash can leave delivered but unrecorded, hence sent twice.
	MaxUnconfirmed int
}

// Sender submits messages over SMTP. It keeps a few authenticated
// connections open between messages, because a fan-out to hundreds of units
// would otherwise pay a TCP, TLS and AUTH handshake for every one. It is
// safe for concurrent use.
type Sender struct {
	cfg    SMTPConfig
	logger *slog.Logger
	dialer net.Dialer

	mu     sync.Mutex
	idle   []idleClient
	closed bool

	// commits holds a slot for each SendCommit between its end of DATA
	// and its commit: see SendCommit.
	commits chan struct{}
}

type idleClient struct {
	c     *smtp.Client
	since time.Time
}

// NewSender returns a Sender for cfg. It does not connect until the first
// Send or Ping.
func NewSender(cfg SMTPConfig, logger *slog.Logger) *Sender {
	if cfg.MaxIdle == 0 {
		cfg.MaxIdle = 2
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 30 * time.Second
	}
	if cfg.HeloName == "" {
		cfg.HeloName = "localhost"
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 30 * time.Second
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSNone
	}
	if cfg.MaxUnconfirmed <= 0 {
		cfg.MaxUnconfirmed = 1
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Sender{cfg: cfg, logger: logger, dialer: net.Dialer{Timeout: cfg.DialTimeout}, commits: make(chan struct{}, cfg.MaxUnconfirmed)}
}

// Send submits msg to the recipients with from as envelope sender (the
// Return-Path the receiving server records, where bounces go).
//
// Errors carry a vanthu code: a 5xx reply to MAIL, RCPT or DATA is
// EPermanent (the server refused this message; retrying cannot help) and
// its message quotes the server's reply; 4xx replies, network failures and
// timeouts are EUnavailable (retry later).
func (s *Sender) Send(ctx context.Context, from string, to []string, msg []byte) error {
	return s.send(ctx, from, to, Data{msg}, nil)
}

// SendCommit sends like Send and, as soon as the server has accepted the
// message, runs commit (the caller records it as sent). At most
// SMTPConfig.MaxUnconfirmed calls (default 1) are between their end of
// DATA and the end of their commit at a time; messages are still
// transferred concurrently.
//
// Why: a process killed between the server's acceptance and the commit
// leaves a message that was delivered but is not recorded, and will be
// sent again. Taking turns bounds those to MaxUnconfirmed per Sender, so
// each crash of a worker costs at most that many duplicates, whatever its
// concurrency. The cost: with one slot, one server reply plus one commit
// per message in sequence; on a submission server that answers the end of
// DATA in 50 ms, 20 messages a second per worker process.
//
// The message is given in pieces (ComposeData), sent one after another.
// An error from commit is returned as it is; the message was sent.
func (s *Sender) SendCommit(ctx context.Context, from string, to []string, msg Data, commit func() error) error {
	return s.send(ctx, from, to, msg, commit)
}

// commitError carries the error of a SendCommit's commit: the SMTP
// session is fine, and the error is not the server's.
type commitError struct{ err error }

func (e *commitError) Error() string { return e.err.Error() }

func (s *Sender) send(ctx context.Context, from string, to []string, msg Data, commit func() error) error {
	if len(to) == 0 {
		return vanthu.Invalid("Thư không có người nhận.", vanthu.Problem{Field: "to", Message: "bắt buộc"})
	}
	c, reused, err := s.get(ctx)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	err = s.transact(c, from, to, msg, commit)
	var ce *commitError
	if errors.As(err, &ce) {
		stop()
		s.put(c)
		return ce.err
	}
	if !stop() {
		// The context ended mid-transaction and closed the connection:
		// report the cancellation rather than the broken pipe it caused.
		return &vanthu.Error{Code: vanthu.EUnavailable, Message: "Gửi thư bị dừng giữa chừng.", Err: ctx.Err()}
	}
	if err == nil {
		s.put(c)
		s.logger.DebugContext(ctx, "smtp message sent", slog.Int("recipients", len(to)), slog.Bool("reused_conn", reused))
		return nil
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) && c.Reset() == nil {
		// The server refused this message but the session is healthy.
		s.put(c)
	} else {
		_ = c.Close()
	}
	return classify(err)
}

func (s *Sender) transact(c *smtp.Client, from string, to []string, msg Data, commit func() error) error {
	if err := c.Mail(from, nil); err != nil {
		return fmt.Errorf("MAIL FROM <%s>: %w", from, err)
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt, nil); err != nil {
			return fmt.Errorf("RCPT TO <%s>: %w", rcpt, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	for _, p := range msg {
		if _, err := w.Write(p); err != nil {
			_ = w.Close()
			return fmt.Errorf("DATA: %w", err)
		}
	}
	if commit != nil {
		s.commits <- struct{}{}
		defer func() { <-s.commits }()
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("end of DATA: %w", err)
	}
	if commit != nil {
		if err := commit(); err != nil {
			return &commitError{err}
		}
	}
	return nil
}

// classify maps an SMTP or network error to the vanthu code that decides
// retrying: the only place that knows what an SMTP reply means for a task.
func classify(err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		reply := fmt.Sprintf("%d %s", se.Code, se.Message)
		if se.Code >= 500 {
			return &vanthu.Error{Code: vanthu.EPermanent, Message: "Máy chủ thư từ chối: " + reply, Err: err}
		}
		return &vanthu.Error{Code: vanthu.EUnavailable, Message: "Máy chủ thư tạm thời không nhận: " + reply, Err: err}
	}
	return &vanthu.Error{Code: vanthu.EUnavailable, Message: "Không kết nối được máy chủ thư.", Err: err}
}

// get returns a ready client: an idle one that still answers RSET, or a new
// connection.
func (s *Sender) get(ctx context.Context) (*smtp.Client, bool, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, false, vanthu.Errorf(vanthu.EUnavailable, "Bộ gửi thư đã đóng.")
		}
		var ic idleClient
		n := len(s.idle)
		if n > 0 {
			ic = s.idle[n-1]
			s.idle = s.idle[:n-1]
		}
		s.mu.Unlock()
		if ic.c == nil {
			break
		}
		if time.Since(ic.since) > s.cfg.IdleTimeout {
			// Likely dropped by the server already; QUIT could wait a
			// whole command timeout for an answer that never comes.
			_ = ic.c.Close()
			continue
		}
		// RSET doubles as a liveness check: a connection the server has
		// dropped fails here rather than in the middle of MAIL.
		if err := ic.c.Reset(); err != nil {
			_ = ic.c.Close()
			continue
		}
		return ic.c, true, nil
	}
	c, err := s.dial(ctx)
	return c, false, err
}

func (s *Sender) put(c *smtp.Client) {
	s.mu.Lock()
	if s.closed || len(s.idle) >= s.cfg.MaxIdle {
		s.mu.Unlock()
		_ = c.Quit()
		return
	}
	s.idle = append(s.idle, idleClient{c: c, since: time.Now()})
	s.mu.Unlock()
}

// dial connects, greets and authenticates.
func (s *Sender) dial(ctx context.Context) (*smtp.Client, error) {
	cfg := s.cfg
	if cfg.Host == "" || cfg.Port == 0 {
		return nil, vanthu.Errorf(vanthu.EUnavailable, "Chưa cấu hình máy chủ gửi thư (SMTP).")
	}
	if !cfg.TLS.Valid() {
		return nil, vanthu.Errorf(vanthu.EInvalid, "Chế độ TLS không hợp lệ: %q.", cfg.TLS)
	}
	if cfg.Username != "" && !cfg.TLS.secure() && !isLoopback(cfg.Host) && !cfg.PlaintextAuth {
		// A password in clear over the network would be readable by anyone
		// on the path; refuse rather than leak it.
		return nil, vanthu.Errorf(vanthu.EInvalid, "Không gửi mật khẩu SMTP qua kết nối không mã hoá tới %s; hãy dùng TLS hoặc STARTTLS.", cfg.Host)
	}
	addr := hostPort(cfg.Host, cfg.Port)
	dctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	conn, err := s.dialer.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, &vanthu.Error{Code: vanthu.EUnavailable, Message: "Không kết nối được máy chủ thư " + addr + ".", Err: err}
	}
	// Bound the handshake by the context as well as by the timeout.
	if dl, ok := dctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(dctx, func() { _ = conn.Close() })
	defer stop()

	var c *smtp.Client
	tc := tlsConfig(cfg.Host, cfg.InsecureSkipVerify)
	switch cfg.TLS {
	case TLSImplicit:
		c = smtp.NewClient(tls.Client(conn, tc))
	case TLSStartTLS:
		c, err = smtp.NewClientStartTLS(conn, tc)
	default:
		c = smtp.NewClient(conn)
	}
	if err != nil {
		_ = conn.Close()
		return nil, &vanthu.Error{Code: vanthu.EUnavailable, Message: "Không thiết lập được TLS với máy chủ thư " + addr + ".", Err: err}
	}
	// RFC 5321's five minutes per command would hold a worker far too long
	// behind a stuck server; the task is retried instead.
	c.CommandTimeout = time.Minute
	if err := c.Hello(cfg.HeloName); err != nil {
		_ = c.Close()
		return nil, &vanthu.Error{Code: vanthu.EUnavailable, Message: "Máy chủ thư " + addr + " không chào hỏi.", Err: err}
	}
	if cfg.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", cfg.Username, cfg.Password)); err != nil {
			_ = c.Close()
			// A refused login is a configuration problem, not a refusal of
			// the message: keep it retryable so work resumes once an
			// administrator fixes the password.
			return nil, &vanthu.Error{Code: vanthu.EUnavailable, Message: "Máy chủ thư " + addr + " từ chối đăng nhập.", Err: err}
		}
	}
	_ = conn.SetDeadline(time.Time{})
	return c, nil
}

// Ping connects, greets, authenticates and quits: a check that the
// configuration works, for readiness and for the admin's test page.
func (s *Sender) Ping(ctx context.Context) error {
	c, err := s.dial(ctx)
	if err != nil {
		return err
	}
	if err := c.Quit(); err != nil {
		return &vanthu.Error{Code: vanthu.EUnavailable, Message: "Máy chủ thư không đóng phiên.", Err: err}
	}
	return nil
}

// Close quits the idle connections. Sends after Close fail.
func (s *Sender) Close() error {
	s.mu.Lock()
	idle := s.idle
	s.idle = nil
	s.closed = true
	s.mu.Unlock()
	var errs []error
	for _, ic := range idle {
		if err := ic.c.Quit(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
