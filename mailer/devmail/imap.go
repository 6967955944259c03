package devmail

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

func (s *Server) newIMAPServer() *imapserver.Server {
	return imapserver.New(&imapserver.Options{
		NewSession: s.newIMAPSession,
		Caps: imap.CapSet{
			imap.CapIMAP4rev1: {},
			imap.CapIMAP4rev2: {},
		},
		Logger:       logAdapter{log: s.log.With("protocol", "imap")},
		InsecureAuth: true,
	})
}

func (s *Server) newIMAPSession(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	if s.sessClosing {
		return nil, nil, &imap.Error{Type: imap.StatusResponseTypeBye, Text: "Server shutting down"}
	}
	s.sessWG.Add(1)
	return &imapSession{srv: s}, nil, nil
}

// imapSession is imapmemserver's per-user session with our own Login, so
// that logins are case-insensitive and look up devmail's users, and with a
// Close that lets shutdown wait for the connection.
type imapSession struct {
	*imapmemserver.UserSession // nil until Login

	srv    *Server
	key    string // mailbox address, set by Login
	closed bool
}

var _ imapserver.SessionIMAP4rev2 = (*imapSession)(nil)

// Login implements imapserver.Session: the username is the mailbox address
// (any case), the password the shared dev password.
func (is *imapSession) Login(username, password string) error {
	key := strings.ToLower(strings.TrimSpace(username))
	u := is.srv.user(key)
	if u == nil {
		return imapserver.ErrAuthFailed
	}
	if err := u.Login(key, password); err != nil {
		return err
	}
	is.UserSession = imapmemserver.NewUserSession(u)
	is.key = key
	return nil
}

// Idle implements imapserver.Session.
//
// imapmemserver's Idle only wakes up for updates queued after it has
// registered, but imapserver starts it in a goroutine after telling the
// client "+ idling": a delivery in between would go unreported until the
// next one. So deliveries to this address also wake us through Server.watch
// (subscribed before the first Poll, so nothing is lost); we then stop the
// inner Idle, Poll, and start it again. Poll and the inner Idle never run
// concurrently, so writes to w are never interleaved.
func (is *imapSession) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	if is.UserSession == nil {
		return nil
	}
	notify, unwatch := is.srv.watch(is.key)
	defer unwatch()
	for {
		if err := is.UserSession.Poll(w, true); err != nil {
			return err
		}
		innerStop := make(chan struct{})
		done := make(chan error, 1)
		go func() { done <- is.UserSession.Idle(w, innerStop) }()
		select {
		case <-stop:
			close(innerStop)
			return <-done
		case err := <-done:
			// Not selected (imapmemserver returns at once) or write error.
			if err != nil {
				return err
			}
			<-stop
			return nil
		case <-notify:
			close(innerStop)
			if err := <-done; err != nil {
				return err
			}
		}
	}
}

// Close implements imapserver.Session.
func (is *imapSession) Close() error {
	err := is.UserSession.Close() // nil-safe
	if !is.closed {
		is.closed = true
		is.srv.sessWG.Done()
	}
	return err
}
