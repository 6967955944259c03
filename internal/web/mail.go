package web

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/sonoivu/vanthu"
)

// The /dev/mail pages are a small webmail over the built-in mail server, so
// that a newcomer sees what the service sends without a mail client.

func (s *Server) pageMailboxes(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, http.StatusOK, "mailboxes", "Hộp thư thử", s.cfg.Mail.Mailboxes())
}

type mailboxPage struct {
	Address  string
	Messages []MailMessage
}

func (s *Server) pageMailbox(w http.ResponseWriter, r *http.Request) error {
	addr := r.PathValue("addr")
	ms, err := s.cfg.Mail.Messages(addr)
	if err != nil {
		return &vanthu.Error{Code: vanthu.ENotFound, Message: "Không tìm thấy hộp thư " + addr + ".", Err: err}
	}
	return s.render(w, r, http.StatusOK, "mailbox", addr, mailboxPage{Address: addr, Messages: ms})
}

type messagePage struct {
	Address string
	Msg     MailMessage
}

func (s *Server) message(r *http.Request) (MailMessage, error) {
	addr := r.PathValue("addr")
	uid, err := strconv.ParseUint(r.PathValue("uid"), 10, 32)
	if err != nil {
		return MailMessage{}, vanthu.Errorf(vanthu.ENotFound, "Không tìm thấy thư.")
	}
	m, err := s.cfg.Mail.Message(addr, uint32(uid))
	if err != nil {
		return MailMessage{}, &vanthu.Error{Code: vanthu.ENotFound, Message: "Không tìm thấy thư.", Err: fmt.Errorf("message %s/%d: %w", addr, uid, err)}
	}
	return m, nil
}

func (s *Server) pageMessage(w http.ResponseWriter, r *http.Request) error {
	m, err := s.message(r)
	if err != nil {
		return err
	}
	title := m.Subject
	if title == "" {
		title = "(không có tiêu đề)"
	}
	return s.render(w, r, http.StatusOK, "message", title, messagePage{Address: r.PathValue("addr"), Msg: m})
}

// pageMessageRaw shows the source as plain text; nosniff (set for pages)
// keeps a browser from reading it as HTML.
func (s *Server) pageMessageRaw(w http.ResponseWriter, r *http.Request) error {
	m, err := s.message(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err = w.Write(m.Raw)
	return err
}
