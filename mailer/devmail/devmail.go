// Package devmail is an embedded, in-memory SMTP + IMAP server for
// `vanthu dev` and for tests.
//
// The SMTP side accepts mail for any recipient (with or without AUTH PLAIN,
// any credentials) and delivers each message into the recipient's INBOX. The
// IMAP side serves those mailboxes: every address is a user whose login is
// the lower-cased address and whose password is the shared dev password.
// Neither side uses TLS, so the server must only listen on loopback.
//
// devmail knows nothing about vanthu's store or queue; it only moves bytes
// between SMTP, IMAP and the dev web mail viewer (Mailboxes, Messages).
package devmail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-smtp"
)

// Defaults applied by New to empty Config fields.
const (
	DefaultPassword = "vanthu"
	DefaultDomain   = "devmail.local"
	defaultAddr     = "127.0.0.1:0"

	// maxMessageBytes bounds one SMTP DATA; generous because official
	// documents travel with scanned PDFs.
	maxMessageBytes = 64 << 20
	// shutdownTimeout bounds how long Close waits for connection handlers.
	shutdownTimeout = 5 * time.Second
)

// Config configures a Server. The zero value is usable.
type Config struct {
	// SMTPAddr and IMAPAddr are the listen addresses; empty means
	// "127.0.0.1:0" (a random free port on loopback).
	SMTPAddr, IMAPAddr string
	// Password is the IMAP password shared by every mailbox; empty means
	// DefaultPassword.
	Password string
	// Domain is the server's name in the SMTP greeting and in Received
	// headers; empty means DefaultDomain.
	Domain string
	// RecipientDelimiter, when set (e.g. "+"), delivers mail for
	// local+extension@domain to local@domain's mailbox, as a real MDA with
	// plus-addressing does; empty keeps every address its own mailbox.
	RecipientDelimiter string
	// Logger receives operational logs; nil means slog.Default().
	Logger *slog.Logger
}

// Server is the embedded mail server. Create it with New, then Start it.
// Deliver, EnsureMailbox, Mailboxes and Messages work before Start too.
type Server struct {
	cfg Config
	log *slog.Logger

	// mem is the IMAP state (mailboxes, UIDs, flags) and is the single
	// source of truth for which messages exist and which are \Seen.
	mem *imapmemserver.Server

	mu    sync.Mutex
	users map[string]*imapmemserver.User    // lower-cased address → IMAP user
	raw   map[string]map[imap.UID]storedMsg // address → UID → delivered bytes
	// watchers wake IMAP IDLE sessions of an address after a delivery.
	watchers map[string]map[chan struct{}]struct{}

	startMu  sync.Mutex
	started  bool
	smtpSrv  *smtp.Server
	imapSrv  *imapserver.Server
	smtpLn   *trackingListener
	imapLn   *trackingListener
	serveWG  sync.WaitGroup // the two Serve loops
	watchWG  sync.WaitGroup // the ctx watcher
	stopped  chan struct{}
	stopOnce sync.Once
	closeErr error

	sessMu      sync.Mutex
	sessClosing bool
	sessWG      sync.WaitGroup // open IMAP sessions
}

// storedMsg is what the viewer needs that imapmemserver does not expose
// outside a protocol session: the bytes as delivered and the delivery time.
type storedMsg struct {
	raw       []byte
	delivered time.Time
}

// New returns a Server configured by cfg, with defaults applied. It does not
// listen until Start.
func New(cfg Config) *Server {
	if cfg.SMTPAddr == "" {
		cfg.SMTPAddr = defaultAddr
	}
	if cfg.IMAPAddr == "" {
		cfg.IMAPAddr = defaultAddr
	}
	if cfg.Password == "" {
		cfg.Password = DefaultPassword
	}
	if cfg.Domain == "" {
		cfg.Domain = DefaultDomain
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Server{
		cfg:      cfg,
		log:      log.With("component", "devmail"),
		mem:      imapmemserver.New(),
		users:    make(map[string]*imapmemserver.User),
		raw:      make(map[string]map[imap.UID]storedMsg),
		watchers: make(map[string]map[chan struct{}]struct{}),
		stopped:  make(chan struct{}),
	}
}

// Start listens on the SMTP and IMAP addresses and serves both in background
// goroutines until ctx is done or Close is called. It returns once both
// listeners are open; a listen error names the address that failed.
func (s *Server) Start(ctx context.Context) error {
	s.startMu.Lock()
	defer s.startMu.Unlock()
	if s.started {
		return errors.New("devmail: already started")
	}
	select {
	case <-s.stopped:
		return errors.New("devmail: server closed")
	default:
	}

	var lc net.ListenConfig
	smtpLn, err := lc.Listen(ctx, "tcp", s.cfg.SMTPAddr)
	if err != nil {
		return fmt.Errorf("devmail: listen smtp on %s: %w", s.cfg.SMTPAddr, err)
	}
	imapLn, err := lc.Listen(ctx, "tcp", s.cfg.IMAPAddr)
	if err != nil {
		_ = smtpLn.Close()
		return fmt.Errorf("devmail: listen imap on %s: %w", s.cfg.IMAPAddr, err)
	}
	s.smtpLn = newTrackingListener(smtpLn)
	s.imapLn = newTrackingListener(imapLn)
	s.smtpSrv = s.newSMTPServer()
	s.imapSrv = s.newIMAPServer()
	s.started = true

	s.serveWG.Add(2)
	go func() {
		defer s.serveWG.Done()
		if err := s.smtpSrv.Serve(s.smtpLn); err != nil && !errors.Is(err, net.ErrClosed) {
			s.log.Error("smtp serve stopped", "error", err)
		}
	}()
	go func() {
		defer s.serveWG.Done()
		if err := s.imapSrv.Serve(s.imapLn); err != nil && !errors.Is(err, net.ErrClosed) {
			s.log.Error("imap serve stopped", "error", err)
		}
	}()
	s.watchWG.Add(1)
	go func() {
		defer s.watchWG.Done()
		select {
		case <-ctx.Done():
			s.stopOnce.Do(s.shutdown)
		case <-s.stopped:
		}
	}()
	s.log.Info("devmail listening", "smtp_addr", smtpLn.Addr().String(), "imap_addr", imapLn.Addr().String())
	return nil
}

// SMTPAddr returns the address the SMTP server listens on, or "" before
// Start.
func (s *Server) SMTPAddr() string {
	s.startMu.Lock()
	defer s.startMu.Unlock()
	if s.smtpLn == nil {
		return ""
	}
	return s.smtpLn.Addr().String()
}

// IMAPAddr returns the address the IMAP server listens on, or "" before
// Start.
func (s *Server) IMAPAddr() string {
	s.startMu.Lock()
	defer s.startMu.Unlock()
	if s.imapLn == nil {
		return ""
	}
	return s.imapLn.Addr().String()
}

// Close stops both servers, drops open connections and waits for the
// serving goroutines to finish. It is idempotent and safe to call
// concurrently with ctx cancellation.
func (s *Server) Close() error {
	s.stopOnce.Do(s.shutdown)
	s.watchWG.Wait()
	return s.closeErr
}

// shutdown runs exactly once, from Close or from the ctx watcher.
func (s *Server) shutdown() {
	close(s.stopped)
	s.startMu.Lock()
	started := s.started
	s.startMu.Unlock()
	if !started {
		return
	}

	// Close listeners and every accepted connection first so that both
	// Serve loops return and no handler is left blocked on a read; only
	// then is it safe to wait for go-smtp's handler WaitGroup.
	s.smtpLn.closeAll()
	s.imapLn.closeAll()
	s.serveWG.Wait()

	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := s.smtpSrv.Shutdown(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
		s.closeErr = fmt.Errorf("devmail: smtp shutdown: %w", err)
	}
	if err := s.imapSrv.Close(); err != nil && !errors.Is(err, net.ErrClosed) && s.closeErr == nil {
		s.closeErr = fmt.Errorf("devmail: imap close: %w", err)
	}

	// imapserver does not wait for its connection goroutines; our sessions
	// count them instead (Close is the last thing a connection does).
	s.sessMu.Lock()
	s.sessClosing = true
	s.sessMu.Unlock()
	done := make(chan struct{})
	go func() {
		s.sessWG.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.log.Warn("imap sessions still open after shutdown timeout")
	}
	s.log.Info("devmail stopped")
}

// trackingListener remembers accepted connections so shutdown can close
// them all, and refuses connections accepted after shutdown began.
type trackingListener struct {
	net.Listener

	mu     sync.Mutex
	closed bool
	conns  map[*trackedConn]struct{}
}

func newTrackingListener(l net.Listener) *trackingListener {
	return &trackingListener{Listener: l, conns: make(map[*trackedConn]struct{})}
}

// Accept implements net.Listener.
func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		_ = c.Close()
		return nil, net.ErrClosed
	}
	tc := &trackedConn{Conn: c, l: l}
	l.conns[tc] = struct{}{}
	return tc, nil
}

// Close implements net.Listener; closing twice is not an error because both
// the servers and shutdown close it.
func (l *trackingListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closeLocked()
}

func (l *trackingListener) closeLocked() error {
	if l.closed {
		return nil
	}
	l.closed = true
	return l.Listener.Close()
}

// closeAll closes the listener and every connection it handed out.
func (l *trackingListener) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.closeLocked()
	for c := range l.conns {
		_ = c.Conn.Close()
	}
}

type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
}

// Close implements net.Conn.
func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return err
}

// logAdapter lets the protocol libraries' Printf-style loggers write to slog.
type logAdapter struct {
	log *slog.Logger
}

// Printf implements imapserver.Logger and smtp.Logger.
func (a logAdapter) Printf(format string, v ...any) {
	a.log.Warn(fmt.Sprintf(format, v...))
}

// Println implements smtp.Logger.
func (a logAdapter) Println(v ...any) {
	a.log.Warn(fmt.Sprint(v...))
}
