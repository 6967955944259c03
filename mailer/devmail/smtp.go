package devmail

import (
	"errors"
	"io"
	"net"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

func (s *Server) newSMTPServer() *smtp.Server {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		remote := ""
		if addr := c.Conn().RemoteAddr(); addr != nil {
			remote = addr.String()
			if host, _, err := net.SplitHostPort(remote); err == nil {
				remote = host
			}
		}
		return &smtpSession{srv: s, helo: c.Hostname(), remote: remote}, nil
	}))
	srv.Domain = s.cfg.Domain
	srv.AllowInsecureAuth = true
	srv.MaxMessageBytes = maxMessageBytes
	srv.MaxRecipients = 1000
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = logAdapter{log: s.log.With("protocol", "smtp")}
	return srv
}

// smtpSession is one SMTP transaction sequence. Authentication is optional
// and any credentials are accepted: this is a dev sink, not a relay.
type smtpSession struct {
	srv          *Server
	helo, remote string
	from         string
	to           []string
}

var _ smtp.AuthSession = (*smtpSession)(nil)

// AuthMechanisms implements smtp.AuthSession.
func (ss *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

// Auth implements smtp.AuthSession; every username/password is accepted.
func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		return nil
	}), nil
}

// Mail implements smtp.Session.
func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

// Rcpt implements smtp.Session; the address must parse, any domain is taken.
func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if _, err := mailboxKey(to); err != nil {
		return &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "Invalid recipient address"}
	}
	ss.to = append(ss.to, to)
	return nil
}

// Data implements smtp.Session.
func (ss *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		var serr *smtp.SMTPError
		if errors.As(err, &serr) {
			return serr
		}
		return err
	}
	if err := ss.srv.deliver(ss.from, ss.to, raw, trace{helo: ss.helo, remote: ss.remote}); err != nil {
		ss.srv.log.Warn("smtp delivery refused", "from", ss.from, "error", err)
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: err.Error()}
	}
	return nil
}

// Reset implements smtp.Session.
func (ss *smtpSession) Reset() {
	ss.from = ""
	ss.to = nil
}

// Logout implements smtp.Session.
func (ss *smtpSession) Logout() error { return nil }
