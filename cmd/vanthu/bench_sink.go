package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// countingSink is a loopback SMTP server that accepts every message and
// keeps only its Message-ID. internal/smtpsink stores every message it
// accepts, which at 10,000 directives of 90 KB would put close to a
// gigabyte in the benchmark's own heap and hide the worker's memory.
type countingSink struct {
	srv  *smtp.Server
	ln   net.Listener
	addr *net.TCPAddr
	done chan struct{}

	mu         sync.Mutex
	seen       map[string]int
	accepted   int
	duplicates int
	size       int // bytes of the last message
}

func startCountingSink() (*countingSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sink: listen: %w", err)
	}
	s := &countingSink{ln: ln, addr: ln.Addr().(*net.TCPAddr), done: make(chan struct{}), seen: map[string]int{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &countingSession{sink: s}, nil }))
	srv.Domain = "bench.test"
	srv.MaxMessageBytes = 64 << 20
	srv.MaxRecipients = 100
	srv.EnableSMTPUTF8 = true
	srv.ReadTimeout = 5 * time.Minute
	srv.WriteTimeout = time.Minute
	s.srv = srv
	go func() {
		defer close(s.done)
		_ = srv.Serve(ln)
	}()
	return s, nil
}

func (s *countingSink) Host() string { return s.addr.IP.String() }
func (s *countingSink) Port() int    { return s.addr.Port }
func (s *countingSink) Addr() string { return s.addr.String() }

// Close stops the server and cuts its connections.
func (s *countingSink) Close() error {
	err := s.srv.Close()
	<-s.done
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// counts returns the messages accepted, how many of them repeated a
// Message-ID already accepted, and the size of the last one.
func (s *countingSink) counts() (accepted, duplicates, size int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted, s.duplicates, s.size
}

type countingSession struct{ sink *countingSink }

func (*countingSession) Mail(string, *smtp.MailOptions) error { return nil }
func (*countingSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (*countingSession) Reset()                               {}
func (*countingSession) Logout() error                        { return nil }

// Data reads the header for the Message-ID and discards the rest.
func (ss *countingSession) Data(r io.Reader) error {
	cr := &byteCounter{r: r}
	br := bufio.NewReader(cr)
	hdr, _ := textproto.NewReader(br).ReadMIMEHeader()
	if _, err := io.Copy(io.Discard, br); err != nil {
		return err
	}
	id := strings.Trim(strings.TrimSpace(hdr.Get("Message-Id")), "<>")
	s := ss.sink
	s.mu.Lock()
	s.accepted++
	s.size = cr.n
	if id != "" {
		if s.seen[id] > 0 {
			s.duplicates++
		}
		s.seen[id]++
	}
	s.mu.Unlock()
	return nil
}

type byteCounter struct {
	r io.Reader
	n int
}

func (c *byteCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
