package web_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/sonoivu/vanthu/internal/web"
)

// fakeJobs records enqueued test mails.
type fakeJobs struct {
	mu      sync.Mutex
	pingErr error
	mails   []string
}

func (j *fakeJobs) Ping(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.pingErr
}

func (j *fakeJobs) EnqueueTestMail(ctx context.Context, to, requestedBy string) (string, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.mails = append(j.mails, to+" by "+requestedBy)
	return fmt.Sprintf("mail:test:%d", len(j.mails)), nil
}

// fakeMail is a development mailbox holding one hostile message.
type fakeMail struct{ msgs map[string][]web.MailMessage }

func (m fakeMail) Mailboxes() []web.MailboxInfo {
	var out []web.MailboxInfo
	for a, ms := range m.msgs {
		out = append(out, web.MailboxInfo{Address: a, Messages: len(ms), Unseen: len(ms)})
	}
	return out
}

func (m fakeMail) Messages(addr string) ([]web.MailMessage, error) {
	ms, ok := m.msgs[addr]
	if !ok {
		return nil, fmt.Errorf("no mailbox %s", addr)
	}
	return ms, nil
}

func (m fakeMail) Message(addr string, uid uint32) (web.MailMessage, error) {
	for _, msg := range m.msgs[addr] {
		if msg.UID == uid {
			return msg, nil
		}
	}
	return web.MailMessage{}, fmt.Errorf("no message %d", uid)
}
