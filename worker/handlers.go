package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/mail"
	"time"

	"github.com/hibiken/asynq"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/mailer"
	"github.com/sonoivu/vanthu/templates"
)

// Store is what the handlers need from the database.
type Store interface {
	AppendEvent(ctx context.Context, e *vanthu.Event) error
	DeleteExpiredTokens(ctx context.Context) (int64, error)
}

// Sender delivers a composed message over SMTP (mailer.Sender).
type Sender interface {
	Send(ctx context.Context, from string, to []string, msg []byte) error
}

// Handlers holds the dependencies of every task handler.
type Handlers struct {
	Store     Store
	Mail      Sender
	Templates *templates.Set
	From      *mail.Address // the office mailbox
	Logger    *slog.Logger
	Now       func() time.Time
	// Directives serves the directive pipeline; nil leaves its tasks
	// unregistered.
	Directives *Directives
	// Inbox reads the office mailbox; nil leaves its task unregistered.
	Inbox *Inbox
	// Webhooks delivers milestones to other systems; nil leaves its
	// tasks unregistered.
	Webhooks *Webhooks
	// Inspections makes the signed minutes of inspections; nil leaves its
	// task unregistered.
	Inspections *Inspections
	// Reports generates the quarterly reports; nil leaves their tasks
	// unregistered.
	Reports *Reports
}

// Register adds every handler to mux.
func (h *Handlers) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeMailTest, h.HandleMailTest)
	mux.HandleFunc(TypeTokensCleanup, h.HandleTokensCleanup)
	if h.Directives != nil {
		mux.HandleFunc(TypeDirectiveFanout, h.HandleFanout)
		mux.HandleFunc(TypeDispatchSend, h.HandleSend)
		mux.HandleFunc(TypeReconcile, h.HandleReconcile)
		mux.HandleFunc(TypeDirectiveRemind, h.HandleDirectiveRemind)
		mux.HandleFunc(TypeRemindersSweep, h.HandleRemindersSweep)
		mux.HandleFunc(TypeDispatchRemind, h.HandleRemind)
	}
	if h.Inbox != nil {
		mux.HandleFunc(TypeInboxPoll, h.HandleInboxPoll)
	}
	if h.Webhooks != nil {
		mux.HandleFunc(TypeWebhookDeliver, h.HandleWebhookDeliver)
		mux.HandleFunc(TypeWebhooksSweep, h.HandleWebhooksSweep)
	}
	if h.Inspections != nil {
		mux.HandleFunc(TypeInspectionFinalize, h.HandleInspectionFinalize)
	}
	if h.Reports != nil {
		mux.HandleFunc(TypeReportGenerate, h.HandleReportGenerate)
		mux.HandleFunc(TypeReportsSweep, h.HandleReportsSweep)
	}
}

// lastAttempt reports whether err ends the task for good: it is not
// retryable, or this run was the last retry Asynq allows. Outside Asynq (a
// direct call) only a non-retryable error is final.
func lastAttempt(ctx context.Context, err error) bool {
	if !vanthu.Retryable(vanthu.ErrorCodeOf(err)) {
		return true
	}
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, ok := asynq.GetMaxRetry(ctx)
	return ok && retried >= maxRetry
}

// recordContext is the context a handler records an outcome with: the
// task's values without its deadline, which may have run out during the
// work being recorded, and a deadline of its own.
func recordContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

func (h *Handlers) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// HandleMailTest composes the test message from the "test" mail template and
// sends it. The event records the outcome for the admin who asked.
func (h *Handlers) HandleMailTest(ctx context.Context, t *asynq.Task) error {
	var p MailTestPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return &vanthu.Error{Code: vanthu.EInvalid, Message: "Dữ liệu tác vụ không hợp lệ.", Err: err}
	}
	to, err := mail.ParseAddress(p.To)
	if err != nil {
		return &vanthu.Error{Code: vanthu.EInvalid, Message: "Địa chỉ nhận thư không hợp lệ: " + p.To, Err: err}
	}
	body, err := h.Templates.Mail("test", map[string]string{
		"To":          to.Address,
		"RequestedBy": p.RequestedBy,
		"At":          p.RequestedAt.In(vanthu.Location).Format("15:04 ngày 02/01/2006"),
		"Office":      h.From.Name,
	})
	if err != nil {
		return &vanthu.Error{Code: vanthu.EInvalid, Message: "Mẫu thư thử nghiệm bị lỗi.", Err: err}
	}
	taskID, _ := asynq.GetTaskID(ctx)
	msg, err := mailer.Compose(mailer.Message{
		From:      h.From,
		To:        []*mail.Address{to},
		Subject:   body.Subject,
		Date:      h.now(),
		MessageID: messageID(taskID, h.From.Address),
		Text:      body.Text,
		HTML:      body.HTML,
		Header:    map[string]string{"Auto-Submitted": "auto-generated"},
	})
	if err != nil {
		return fmt.Errorf("compose test mail: %w", err)
	}
	if err := h.Mail.Send(ctx, h.From.Address, []string{to.Address}, msg); err != nil {
		return fmt.Errorf("send test mail to %s: %w", to.Address, err)
	}
	detail, _ := json.Marshal(map[string]string{"to": to.Address, "task_id": taskID})
	return h.Store.AppendEvent(ctx, &vanthu.Event{
		At: h.now(), Actor: p.RequestedBy, Action: "test_mail_sent", Source: vanthu.SourceSMTP,
		Subject: "mail:test", Detail: string(detail),
	})
}

// HandleTokensCleanup deletes expired sessions and tokens.
func (h *Handlers) HandleTokensCleanup(ctx context.Context, _ *asynq.Task) error {
	n, err := h.Store.DeleteExpiredTokens(ctx)
	if err != nil {
		return fmt.Errorf("delete expired tokens: %w", err)
	}
	h.Logger.InfoContext(ctx, "expired tokens deleted", slog.Int64("count", n))
	return nil
}

// messageID derives a stable Message-ID from the task ID, so that a retried
// task sends the same Message-ID and a receiving server can drop the copy.
func messageID(taskID, from string) string {
	domain := "vanthu.invalid"
	if a, err := mail.ParseAddress(from); err == nil {
		if i := lastAt(a.Address); i >= 0 {
			domain = a.Address[i+1:]
		}
	}
	return fmt.Sprintf("%x@%s", hash(taskID), domain)
}

func lastAt(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '@' {
			return i
		}
	}
	return -1
}
