// Package mailer is vanthu's mail plumbing: it composes MIME messages
// (Compose), submits them over SMTP with pooled connections (Sender),
// reads the office mailbox over IMAP (Mailbox) and says what each message
// found there is: a read receipt, a bounce, a reply or other (Classify).
//
// It knows nothing of the store or the queue: callers hand it bytes and
// addresses and get back errors classified with vanthu error codes, so the
// worker decides in one place whether a failure is retried.
package mailer

import (
	"crypto/tls"
	"fmt"
	"net"
)

// TLSMode is how a connection to a mail server is secured.
type TLSMode string

// TLS modes. They match the values accepted by the configuration.
const (
	TLSNone     TLSMode = "none"     // plain TCP; only sensible on loopback
	TLSStartTLS TLSMode = "starttls" // plain TCP upgraded with STARTTLS (submission port 587, IMAP 143)
	TLSImplicit TLSMode = "tls"      // TLS from the first byte (port 465, IMAP 993)
)

// Valid reports whether m is one of the known modes. The empty mode counts
// as TLSNone.
func (m TLSMode) Valid() bool {
	switch m {
	case "", TLSNone, TLSStartTLS, TLSImplicit:
		return true
	}
	return false
}

// secure reports whether credentials sent over a connection in this mode
// are protected.
func (m TLSMode) secure() bool { return m == TLSStartTLS || m == TLSImplicit }

func tlsConfig(host string, insecure bool) *tls.Config {
	return &tls.Config{ServerName: host, InsecureSkipVerify: insecure, MinVersion: tls.VersionTLS12} //nolint:gosec // InsecureSkipVerify is opt-in for tests.
}

// isLoopback reports whether host names this machine, where a password sent
// in clear cannot be sniffed off the network.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func hostPort(host string, port int) string {
	return net.JoinHostPort(host, fmt.Sprint(port))
}
