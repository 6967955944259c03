// Package smtpsink is a loopback SMTP server for tests and benchmarks: it
// records the messages it accepts and can inject the faults a real
// submission server produces, so the sending path's retry and failure
// handling can be exercised end to end without a mail server.
//
// Faults are chosen per message by Config.Decide: a temporary refusal (421,
// the task must retry), a permanent one (550, the dispatch fails for good)
// or a connection dropped in the middle of DATA with no reply at all (the
// client cannot know whether the message went through, which is what makes
// a stable Message-ID and duplicate detection necessary). Stats counts
// accepted messages whose Message-ID was already accepted, the measure of
// duplicate deliveries.
//
// The sink handles many concurrent connections and is safe for concurrent
// use.
package smtpsink

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Fault is what the sink does with one message.
type Fault int

// Faults.
const (
	None     Fault = iota // accept: 250
	TempFail              // 421 at the end of DATA: retry later
	PermFail              // 550 at the end of DATA: refused for good
	Drop                  // close the connection mid-DATA, without a reply
)

// String names the fault, for test names and logs.
func (f Fault) String() string {
	switch f {
	case None:
		return "none"
	case TempFail:
		return "temp_fail"
	case PermFail:
		return "perm_fail"
	case Drop:
		return "drop"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// dropAfter is how much of the body the sink reads before dropping a
// connection, so the client is cut off while still sending.
const dropAfter = 512

// Config configures a Sink.
type Config struct {
	// Decide is called once per message, after MAIL FROM and RCPT and
	// after the message's header has been read, before DATA's end is
	// answered. seq numbers the messages from 1 in the order Decide is
	// called; messageID is the Message-ID header without angle brackets
	// ("" if absent). It must be safe for concurrent use. nil accepts all.
	Decide func(seq int64, messageID string) Fault
	// Latency delays the final reply to each message, to simulate a real
	// server's processing time.
	Latency time.Duration
	// Logger receives the SMTP server's connection errors at debug level
	// (dropped connections produce some by design); nil discards them.
	Logger *slog.Logger
}

// Received is one accepted message.
type Received struct {
	From      string
	To        []string
	MessageID string // without angle brackets
	Data      []byte
	At        time.Time
}

// Stats counts what the sink did.
type Stats struct {
	Accepted    int
	TempFailed  int
	PermFailed  int
	Dropped     int
	Connections int // SMTP sessions opened (at EHLO/HELO)
	// DuplicateMessageIDs counts accepted messages whose Message-ID had
	// already been accepted: duplicate deliveries.
	DuplicateMessageIDs int
}

// Sink is a running SMTP server on 127.0.0.1.
type Sink struct {
	cfg  Config
	srv  *smtp.Server
	ln   net.Listener
	addr *net.TCPAddr

	served chan struct{} // closed when Serve returns
	done   chan struct{} // closed by Close: aborts latency waits

	mu      sync.Mutex
	seq     int64
	closed  bool
	active  int        // sessions not yet logged out
	idle    *sync.Cond // signalled when active drops to 0
	msgs    []Received
	seen    map[string]int
	stats   Stats
	changed chan struct{} // closed and replaced on every accepted message

	closeOnce sync.Once
	closeErr  error
}

// Start listens on a free loopback port and serves until Close.
func Start(cfg Config) (*Sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("smtpsink: listen: %w", err)
	}
	s := &Sink{
		cfg:     cfg,
		ln:      ln,
		addr:    ln.Addr().(*net.TCPAddr),
		served:  make(chan struct{}),
		done:    make(chan struct{}),
		seen:    make(map[string]int),
		changed: make(chan struct{}),
	}
	s.idle = sync.NewCond(&s.mu)
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "smtpsink.test"
	srv.AllowInsecureAuth = true
	srv.MaxMessageBytes = 64 << 20
	srv.MaxRecipients = 10000
	srv.EnableSMTPUTF8 = true
	// A client that vanishes must not pin a goroutine forever.
	srv.ReadTimeout = 5 * time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = logAdapter{logger}
	s.srv = srv
	go func() {
		defer close(s.served)
		_ = srv.Serve(ln)
	}()
	return s, nil
}

// Addr is the "127.0.0.1:port" the sink listens on.
func (s *Sink) Addr() string { return s.addr.String() }

// Host is the sink's IP address, "127.0.0.1".
func (s *Sink) Host() string { return s.addr.IP.String() }

// Port is the sink's TCP port.
func (s *Sink) Port() int { return s.addr.Port }

// Close stops listening, cuts every open connection and waits for their
// handlers to finish. Calling it again returns the first call's result.
func (s *Sink) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.done)
		s.mu.Unlock()

		s.closeErr = s.srv.Close()
		<-s.served
		s.mu.Lock()
		for s.active > 0 {
			s.idle.Wait()
		}
		s.mu.Unlock()
	})
	return s.closeErr
}

// Messages returns the accepted messages in the order they were accepted.
func (s *Sink) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Received, len(s.msgs))
	copy(out, s.msgs)
	return out
}

// Count is the number of accepted messages.
func (s *Sink) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// Stats returns the counters so far.
func (s *Sink) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// ErrClosed is returned by WaitCount when the sink closes before enough
// messages arrive.
var ErrClosed = errors.New("smtpsink: closed")

// WaitCount blocks until at least n messages have been accepted. It
// returns ctx.Err() if ctx ends first and ErrClosed if the sink is closed.
func (s *Sink) WaitCount(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		count, changed := len(s.msgs), s.changed
		s.mu.Unlock()
		if count >= n {
			return nil
		}
		select {
		case <-changed:
		case <-s.done:
			if s.Count() >= n {
				return nil
			}
			return ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *Sink) newSession(c *smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Sink closing"}
	}
	s.active++
	s.stats.Connections++
	return &session{sink: s, conn: c}, nil
}

func (s *Sink) logout() {
	s.mu.Lock()
	s.active--
	if s.active == 0 {
		s.idle.Broadcast()
	}
	s.mu.Unlock()
}

// decide numbers the message and asks Config.Decide about it.
func (s *Sink) decide(messageID string) Fault {
	s.mu.Lock()
	s.seq++
	seq := s.seq
	s.mu.Unlock()
	if s.cfg.Decide == nil {
		return None
	}
	return s.cfg.Decide(seq, messageID)
}

// record counts the outcome of one message and stores it if accepted.
func (s *Sink) record(f Fault, r Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch f {
	case TempFail:
		s.stats.TempFailed++
	case PermFail:
		s.stats.PermFailed++
	case Drop:
		s.stats.Dropped++
	default:
		s.stats.Accepted++
		if r.MessageID != "" {
			if s.seen[r.MessageID] > 0 {
				s.stats.DuplicateMessageIDs++
			}
			s.seen[r.MessageID]++
		}
		s.msgs = append(s.msgs, r)
		close(s.changed)
		s.changed = make(chan struct{})
	}
}

// delay waits for the configured latency. It reports false if Close cut
// the wait short.
func (s *Sink) delay() bool {
	if s.cfg.Latency <= 0 {
		return true
	}
	t := time.NewTimer(s.cfg.Latency)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.done:
		return false
	}
}

// session is one SMTP connection. Any AUTH PLAIN credentials are accepted,
// so a Sender configured with a password works against the sink.
type session struct {
	sink *Sink
	conn *smtp.Conn
	from string
	to   []string
}

var _ smtp.AuthSession = (*session)(nil)

// AuthMechanisms implements smtp.AuthSession.
func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

// Auth implements smtp.AuthSession.
func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, _, _ string) error { return nil }), nil
}

// Mail implements smtp.Session.
func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

// Rcpt implements smtp.Session.
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

var (
	errTemp = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary failure injected by smtpsink"}
	errPerm = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Message refused by smtpsink"}
)

// Data implements smtp.Session: it reads the header, asks for a fault,
// then reads the rest (or drops the connection part-way) and answers.
func (ss *session) Data(r io.Reader) error {
	var raw bytes.Buffer
	br := bufio.NewReader(io.TeeReader(r, &raw))
	// A malformed header leaves the ID empty; the message is still read.
	hdr, _ := textproto.NewReader(br).ReadMIMEHeader()
	id := strings.TrimSpace(hdr.Get("Message-Id"))
	id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")

	fault := ss.sink.decide(id)
	if fault == Drop {
		_, _ = io.CopyN(io.Discard, br, dropAfter)
		ss.sink.record(Drop, Received{})
		// Closing the socket, not the smtp.Conn: the server's own loop
		// notices and ends the session, with no reply written.
		_ = ss.conn.Conn().Close()
		return errors.New("smtpsink: connection dropped")
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		// The client went away or sent too much; nothing to record.
		return err
	}
	if !ss.sink.delay() {
		// Closing: a message whose reply never left was not accepted.
		_ = ss.conn.Conn().Close()
		return errors.New("smtpsink: closed")
	}
	ss.sink.record(fault, Received{
		From:      ss.from,
		To:        append([]string(nil), ss.to...),
		MessageID: id,
		Data:      raw.Bytes(),
		At:        time.Now(),
	})
	switch fault {
	case TempFail:
		return errTemp
	case PermFail:
		return errPerm
	}
	return nil
}

// Reset implements smtp.Session.
func (ss *session) Reset() {
	ss.from = ""
	ss.to = nil
}

// Logout implements smtp.Session.
func (ss *session) Logout() error {
	ss.sink.logout()
	return nil
}

// logAdapter turns go-smtp's Printf logging into slog debug records.
type logAdapter struct{ log *slog.Logger }

func (l logAdapter) Printf(format string, v ...any) {
	l.log.Debug("smtpsink: " + fmt.Sprintf(format, v...))
}

func (l logAdapter) Println(v ...any) {
	l.log.Debug("smtpsink: " + strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}
