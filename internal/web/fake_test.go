package web_test

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/web"
)

// fakeJobs records what the web layer enqueues.
type fakeJobs struct {
	mu       sync.Mutex
	pingErr  error
	mails    []string
	fanouts  []int64   // document ids
	sends    [][]int64 // dispatch ids per call
	reminds  []int64   // document ids
	webhooks []int64   // delivery ids
	// finalizes are the inspections whose minutes were asked for.
	finalizes []int64
	// onFinalize, when set, runs as the minutes are asked for.
	onFinalize func(inspectionID int64)
	// reports are the report generations asked for: id, generation.
	reports [][2]int64
}

func (j *fakeJobs) EnqueueFanout(ctx context.Context, documentID int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.fanouts = append(j.fanouts, documentID)
	return nil
}

func (j *fakeJobs) EnqueueSend(ctx context.Context, dispatchIDs []int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.sends = append(j.sends, slices.Clone(dispatchIDs))
	return nil
}

func (j *fakeJobs) EnqueueRemind(ctx context.Context, documentID int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.reminds = append(j.reminds, documentID)
	return nil
}

func (j *fakeJobs) EnqueueWebhookDelivery(ctx context.Context, deliveryID int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.webhooks = append(j.webhooks, deliveryID)
	return nil
}

func (j *fakeJobs) EnqueueInspectionFinalize(ctx context.Context, inspectionID, userID int64, username string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.finalizes = append(j.finalizes, inspectionID)
	if j.onFinalize != nil {
		j.onFinalize(inspectionID)
	}
	return nil
}

func (j *fakeJobs) EnqueueReport(ctx context.Context, r vanthu.Report) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.reports = append(j.reports, [2]int64{r.ID, int64(r.Generation)})
	return nil
}

// finalizeCalls returns the inspections whose minutes were asked for.
func (j *fakeJobs) finalizeCalls() []int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.finalizes)
}

// snapshot returns copies of the recorded calls.
func (j *fakeJobs) snapshot() (fanouts []int64, sends [][]int64, reminds []int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.fanouts), slices.Clone(j.sends), slices.Clone(j.reminds)
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
