package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/directive"
	"github.com/sonoivu/vanthu/internal/ratelimit"
	"github.com/sonoivu/vanthu/internal/store"
	"github.com/sonoivu/vanthu/mailer"
)

// Task types of the directive pipeline.
const (
	// TypeDirectiveFanout enqueues a send task for every pending dispatch
	// of an issued document.
	TypeDirectiveFanout = "directive:fanout"
	// TypeDispatchSend sends one document to one unit.
	TypeDispatchSend = "dispatch:send"
	// TypeReconcile re-enqueues the sends that rows say are pending.
	TypeReconcile = "reconcile"
	// TypeDirectiveRemind reminds, now, every unit that has not
	// acknowledged a document (the clerk's "remind now").
	TypeDirectiveRemind = "directive:remind"
	// TypeRemindersSweep finds the dispatches due for a reminder under the
	// schedule and enqueues their reminders.
	TypeRemindersSweep = "reminders:sweep"
	// TypeDispatchRemind sends reminder n of one dispatch.
	TypeDispatchRemind = "dispatch:remind"
)

// Sending policy.
const (
	// sendRetries is how often a send is retried after a temporary failure
	// (SMTP 4xx, a dropped connection) before the dispatch is marked failed.
	sendRetries = 10
	// sendLease is how long a worker owns a dispatch it is sending; a
	// worker killed mid-send loses it after this, and the reconciler hands
	// the dispatch to another.
	sendLease = 3 * time.Minute
	// reconcileBatch bounds the dispatches one reconcile run re-enqueues.
	reconcileBatch = 5000
)

// DocumentPayload names a document.
type DocumentPayload struct {
	DocumentID int64 `json:"document_id"`
}

// DispatchPayload names a dispatch.
type DispatchPayload struct {
	DispatchID int64 `json:"dispatch_id"`
}

func newTask(typ string, payload any, id string, opts ...asynq.Option) (*asynq.Task, []asynq.Option, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, nil, fmt.Errorf("worker: encode %s: %w", typ, err)
	}
	return asynq.NewTask(typ, b), append([]asynq.Option{asynq.TaskID(id)}, opts...), nil
}

// NewFanoutTask builds the fan-out of document id. Its ID is derived from
// the document, so a repeated request while one is queued is the same work.
func NewFanoutTask(documentID int64) (*asynq.Task, []asynq.Option, error) {
	return newTask(TypeDirectiveFanout, DocumentPayload{DocumentID: documentID},
		TypeDirectiveFanout+":"+strconv.FormatInt(documentID, 10),
		asynq.Queue(QueueCritical), asynq.MaxRetry(20), asynq.Timeout(10*time.Minute))
}

// NewSendTask builds the send of dispatch id, with a task ID derived from
// the dispatch: enqueueing it twice is one task.
func NewSendTask(dispatchID int64) (*asynq.Task, []asynq.Option, error) {
	return newTask(TypeDispatchSend, DispatchPayload{DispatchID: dispatchID}, sendTaskID(dispatchID),
		asynq.Queue(QueueDefault), asynq.MaxRetry(sendRetries), asynq.Timeout(2*time.Minute))
}

func sendTaskID(dispatchID int64) string {
	return TypeDispatchSend + ":" + strconv.FormatInt(dispatchID, 10)
}

// NewReconcileTask builds the periodic reconciliation.
func NewReconcileTask() *asynq.Task { return asynq.NewTask(TypeReconcile, nil) }

// NewRemindersSweepTask builds the periodic reminder sweep.
func NewRemindersSweepTask() *asynq.Task { return asynq.NewTask(TypeRemindersSweep, nil) }

// NewDirectiveRemindTask builds "remind now" for a document. Its ID holds
// the minute, so a double click is one task and a later click another.
func NewDirectiveRemindTask(documentID int64, at time.Time) (*asynq.Task, []asynq.Option, error) {
	return newTask(TypeDirectiveRemind, DocumentPayload{DocumentID: documentID},
		fmt.Sprintf("%s:%d:%d", TypeDirectiveRemind, documentID, at.Unix()/60),
		asynq.Queue(QueueCritical), asynq.MaxRetry(10))
}

// RemindPayload names reminder N of a dispatch.
type RemindPayload struct {
	DispatchID int64 `json:"dispatch_id"`
	N          int   `json:"n"`
}

// NewRemindTask builds reminder n of a dispatch; its ID makes each
// (dispatch, n) one task.
func NewRemindTask(dispatchID int64, n int) (*asynq.Task, []asynq.Option, error) {
	return newTask(TypeDispatchRemind, RemindPayload{DispatchID: dispatchID, N: n},
		fmt.Sprintf("%s:%d:%d", TypeDispatchRemind, dispatchID, n),
		asynq.Queue(QueueDefault), asynq.MaxRetry(sendRetries), asynq.Timeout(2*time.Minute))
}

// DirectiveStore is what the directive tasks need from the database.
type DirectiveStore interface {
	GetDocument(ctx context.Context, id int64) (vanthu.Document, error)
	GetArtifact(ctx context.Context, documentID int64) (vanthu.Artifact, []byte, error)
	ListDispatches(ctx context.Context, documentID int64) ([]vanthu.Dispatch, error)
	ClaimDispatch(ctx context.Context, id int64, lease time.Duration) (vanthu.Dispatch, bool, error)
	GetDispatch(ctx context.Context, id int64) (vanthu.Dispatch, error)
	MarkSent(ctx context.Context, id int64, messageID string, at time.Time) error
	MarkFailed(ctx context.Context, id int64, reason string, at time.Time) error
	ReleaseDispatch(ctx context.Context, id int64, lastError string) error
	PendingDispatches(ctx context.Context, limit int) ([]int64, error)
	DueReminders(ctx context.Context, now time.Time, p store.ReminderPolicy, limit int) ([]store.DueReminder, error)
	RecordReminder(ctx context.Context, dispatchID int64, n int, messageID string, at time.Time) (bool, error)
	// ReportWorkbookOf returns the annex workbook of the report whose
	// document is documentID; ENotFound when there is none.
	ReportWorkbookOf(ctx context.Context, documentID int64) ([]byte, error)
}

// Composer writes the message carrying a document to one unit
// (directive.Composer).
type Composer interface {
	Directive(doc vanthu.Document, d vanthu.Dispatch, pdf []byte, annexes ...mailer.Attachment) (directive.Envelope, error)
	Reminder(doc vanthu.Document, d vanthu.Dispatch, n int, pdf []byte, now time.Time) (directive.Envelope, error)
}

// Limiter paces sending under limits shared by every worker
// (ratelimit.Limiter).
type Limiter interface {
	Wait(ctx context.Context, keys []string, rates []ratelimit.Rate) error
}

// Enqueuer enqueues sends and reminders (Client).
type Enqueuer interface {
	EnqueueSend(ctx context.Context, dispatchIDs []int64) error
	Enqueue(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (string, error)
}

// Directives holds what the directive tasks need, beside Handlers' own
// fields.
type Directives struct {
	Store    DirectiveStore
	Composer Composer
	Queue    Enqueuer
	// Limiter and the rates pace sending; a nil Limiter sends unpaced.
	Limiter    Limiter
	ServerKey  string         // names the SMTP server in the limiter, e.g. "smtp:mail.example:587"
	ServerRate ratelimit.Rate // per SMTP server, shared by all workers
	DomainRate ratelimit.Rate // per destination domain
	// SendLease is how long a send owns its dispatch (default sendLease).
	SendLease time.Duration
	// Reminders is the schedule of the sweep: the first reminder at the
	// deadline, then every Every, at most Max.
	Reminders store.ReminderPolicy

	mu    sync.Mutex
	cache map[int64]cachedDoc // issued documents and their PDF, by id
}

// cachedDoc is an issued document with its PDF, and for a report its
// annex workbook. Issued documents never change, so caching them saves
// reading the files once per unit.
type cachedDoc struct {
	doc     vanthu.Document
	pdf     []byte
	annexes []mailer.Attachment
}

// xlsxType is the media type of an Excel workbook.
const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// maxCachedDocs bounds the cache: a few directives are in flight at once.
const maxCachedDocs = 8

func (d *Directives) document(ctx context.Context, id int64) (cachedDoc, error) {
	d.mu.Lock()
	c, ok := d.cache[id]
	d.mu.Unlock()
	if ok {
		return c, nil
	}
	doc, err := d.Store.GetDocument(ctx, id)
	if err != nil {
		return c, err
	}
	if doc.State != vanthu.StateIssued {
		return c, vanthu.Errorf(vanthu.EConflict, "document %d is not issued", id)
	}
	_, pdf, err := d.Store.GetArtifact(ctx, id)
	if err != nil {
		return c, err
	}
	c = cachedDoc{doc: doc, pdf: pdf}
	if doc.Kind == vanthu.KindReport {
		// A report goes with its annex workbook; a report document made
		// by hand, without a generated report, goes without.
		wb, err := d.Store.ReportWorkbookOf(ctx, id)
		switch {
		case err == nil:
			a, err := mailer.PrepareAttachment(mailer.Attachment{Filename: directive.AnnexName(doc), ContentType: xlsxType, Data: wb})
			if err != nil {
				return c, err
			}
			c.annexes = []mailer.Attachment{a}
		case vanthu.ErrorCodeOf(err) != vanthu.ENotFound:
			return c, err
		}
	}
	d.mu.Lock()
	if d.cache == nil || len(d.cache) >= maxCachedDocs {
		d.cache = map[int64]cachedDoc{}
	}
	d.cache[id] = c
	d.mu.Unlock()
	return c, nil
}

// HandleFanout enqueues the send of every dispatch of the document that is
// neither sent nor failed. Rows are the truth: running it twice, or after
// some sends finished, enqueues only what is left.
func (h *Handlers) HandleFanout(ctx context.Context, t *asynq.Task) error {
	var p DocumentPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	ds, err := h.Directives.Store.ListDispatches(ctx, p.DocumentID)
	if err != nil {
		return fmt.Errorf("list dispatches of document %d: %w", p.DocumentID, err)
	}
	n := 0
	for _, d := range ds {
		if d.SentAt != nil || d.FailedAt != nil {
			continue
		}
		if err := h.enqueueSend(ctx, d.ID); err != nil {
			return err
		}
		n++
	}
	h.Logger.InfoContext(ctx, "fan-out done", slog.Int64("document_id", p.DocumentID), slog.Int("enqueued", n))
	return nil
}

func (h *Handlers) enqueueSend(ctx context.Context, id int64) error {
	return h.Directives.Queue.EnqueueSend(ctx, []int64{id})
}

// HandleReconcile re-enqueues every dispatch that is neither sent nor
// failed nor held by a live worker: the tasks of a flushed Redis, of a
// worker killed mid-send, or of a fan-out that never ran. A send already
// queued conflicts on its task ID and counts as done.
func (h *Handlers) HandleReconcile(ctx context.Context, _ *asynq.Task) error {
	ids, err := h.Directives.Store.PendingDispatches(ctx, reconcileBatch)
	if err != nil {
		return fmt.Errorf("pending dispatches: %w", err)
	}
	for _, id := range ids {
		if err := h.enqueueSend(ctx, id); err != nil {
			return err
		}
	}
	if len(ids) > 0 {
		h.Logger.InfoContext(ctx, "reconciled", slog.Int("dispatches", len(ids)))
	}
	return nil
}

// HandleSend sends one document to one unit. It claims the dispatch first,
// so a duplicate or retried task for a dispatch already sent (or being sent
// by another worker) does nothing. A permanent SMTP refusal (5xx) marks
// the dispatch failed with the server's reply and is not retried; a
// temporary one is retried with backoff, and after the last retry the
// dispatch is marked failed with the last error.
func (h *Handlers) HandleSend(ctx context.Context, t *asynq.Task) error {
	var p DispatchPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	dx := h.Directives
	lease := dx.SendLease
	if lease <= 0 {
		lease = sendLease
	}
	d, ok, err := dx.Store.ClaimDispatch(ctx, p.DispatchID, lease)
	if err != nil {
		return fmt.Errorf("claim dispatch %d: %w", p.DispatchID, err)
	}
	if !ok {
		return nil // sent, failed, or in another worker's hands
	}
	doc, err := dx.document(ctx, d.DocumentID)
	if err != nil {
		return h.sendFailed(ctx, t, d, err)
	}
	env, err := dx.Composer.Directive(doc.doc, d, doc.pdf, doc.annexes...)
	if err != nil {
		return h.sendFailed(ctx, t, d, err)
	}
	if dx.Limiter != nil {
		keys := []string{dx.ServerKey, "domain:" + domainOf(d.Email)}
		if err := dx.Limiter.Wait(ctx, keys, []ratelimit.Rate{dx.ServerRate, dx.DomainRate}); err != nil {
			return h.sendFailed(ctx, t, d, err)
		}
	}
	// The record uses a fresh context: the message is out, and its record
	// must not be lost to a task deadline that ran out during the send.
	var recordErr error
	record := func() error {
		rec, cancel := recordContext(ctx)
		defer cancel()
		recordErr = dx.Store.MarkSent(rec, d.ID, env.MessageID, h.now())
		return recordErr
	}
	if cs, ok := h.Mail.(commitSender); ok {
		err = cs.SendCommit(ctx, env.From, env.To, env.Data, record)
	} else if err = h.Mail.Send(ctx, env.From, env.To, env.Data.Bytes()); err == nil {
		err = record()
	}
	if recordErr != nil {
		// Sent but not recorded: keep the lease, so no other attempt
		// sends it again before it runs out.
		return fmt.Errorf("record dispatch %d sent: %w", d.ID, recordErr)
	}
	if err != nil {
		return h.sendFailed(ctx, t, d, fmt.Errorf("send dispatch %d to %s: %w", d.ID, d.Email, err))
	}
	return nil
}

// commitSender is a Sender that records a message in turn with the
// server's acceptance (mailer.Sender.SendCommit), so that a killed worker
// leaves at most one message sent but unrecorded.
type commitSender interface {
	SendCommit(ctx context.Context, from string, to []string, msg mailer.Data, commit func() error) error
}

// sendFailed records a failed attempt: a permanent error, or the last
// retry, marks the dispatch failed with the reason; otherwise the lease is
// released for the retry. The error goes back to the middleware, which
// decides retry or not from its code.
func (h *Handlers) sendFailed(ctx context.Context, t *asynq.Task, d vanthu.Dispatch, cause error) error {
	rec, cancel := recordContext(ctx)
	defer cancel()
	if lastAttempt(ctx, cause) {
		reason := failReason(cause)
		if err := h.Directives.Store.MarkFailed(rec, d.ID, reason, h.now()); err != nil {
			return errors.Join(cause, fmt.Errorf("record dispatch %d failed: %w", d.ID, err))
		}
		if vanthu.Retryable(vanthu.ErrorCodeOf(cause)) {
			return fmt.Errorf("%w: %w", cause, asynq.SkipRetry)
		}
		return cause
	}
	if err := h.Directives.Store.ReleaseDispatch(rec, d.ID, cause.Error()); err != nil {
		return errors.Join(cause, fmt.Errorf("release dispatch %d: %w", d.ID, err))
	}
	return cause
}

// failReason is the reason shown to the clerk: the SMTP server's reply
// when there is one, else the error's message.
func failReason(err error) string {
	var e *vanthu.Error
	if errors.As(err, &e) && e.Err != nil {
		return e.Err.Error()
	}
	return err.Error()
}

// domainOf returns the domain of an e-mail address, lower-cased.
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(addr[i+1:])
	}
	return ""
}

// decode reads a task's JSON payload; a bad payload is not retried.
func decode(t *asynq.Task, v any) error {
	if err := json.Unmarshal(t.Payload(), v); err != nil {
		return &vanthu.Error{Code: vanthu.EInvalid, Message: "Dữ liệu tác vụ không hợp lệ.", Err: fmt.Errorf("%s: %w", t.Type(), err)}
	}
	return nil
}

// remindable reports whether a reminder to d makes sense: it reached the
// unit, which has not acknowledged it.
func remindable(d vanthu.Dispatch) bool {
	return d.SentAt != nil && d.AcknowledgedAt == nil && d.FailedAt == nil && d.BouncedAt == nil
}

func (h *Handlers) enqueueRemind(ctx context.Context, id int64, n int) error {
	task, opts, err := NewRemindTask(id, n)
	if err != nil {
		return err
	}
	_, err = h.Directives.Queue.Enqueue(ctx, task, opts...)
	return err
}

// HandleDirectiveRemind enqueues the next reminder of every dispatch of the
// document that reached its unit and is not acknowledged, deadline or not:
// the clerk asked.
func (h *Handlers) HandleDirectiveRemind(ctx context.Context, t *asynq.Task) error {
	var p DocumentPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	ds, err := h.Directives.Store.ListDispatches(ctx, p.DocumentID)
	if err != nil {
		return fmt.Errorf("list dispatches of document %d: %w", p.DocumentID, err)
	}
	n := 0
	for _, d := range ds {
		if !remindable(d) {
			continue
		}
		if err := h.enqueueRemind(ctx, d.ID, d.Reminded+1); err != nil {
			return err
		}
		n++
	}
	h.Logger.InfoContext(ctx, "reminders enqueued", slog.Int64("document_id", p.DocumentID), slog.Int("count", n))
	return nil
}

// HandleRemindersSweep enqueues the reminders the schedule says are due.
func (h *Handlers) HandleRemindersSweep(ctx context.Context, _ *asynq.Task) error {
	due, err := h.Directives.Store.DueReminders(ctx, h.now(), h.Directives.Reminders, reconcileBatch)
	if err != nil {
		return fmt.Errorf("due reminders: %w", err)
	}
	for _, r := range due {
		if err := h.enqueueRemind(ctx, r.DispatchID, r.N); err != nil {
			return err
		}
	}
	return nil
}

// HandleRemind sends reminder n of a dispatch, unless the unit has
// acknowledged meanwhile or reminder n was already sent. A permanent
// refusal is logged and not retried; the dispatch itself stays sent.
func (h *Handlers) HandleRemind(ctx context.Context, t *asynq.Task) error {
	var p RemindPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	dx := h.Directives
	d, err := dx.Store.GetDispatch(ctx, p.DispatchID)
	if err != nil {
		return fmt.Errorf("dispatch %d: %w", p.DispatchID, err)
	}
	if !remindable(d) || d.Reminded >= p.N {
		return nil
	}
	doc, err := dx.document(ctx, d.DocumentID)
	if err != nil {
		return err
	}
	env, err := dx.Composer.Reminder(doc.doc, d, p.N, doc.pdf, h.now())
	if err != nil {
		return err
	}
	if dx.Limiter != nil {
		keys := []string{dx.ServerKey, "domain:" + domainOf(d.Email)}
		if err := dx.Limiter.Wait(ctx, keys, []ratelimit.Rate{dx.ServerRate, dx.DomainRate}); err != nil {
			return err
		}
	}
	if err := h.Mail.Send(ctx, env.From, env.To, env.Data.Bytes()); err != nil {
		return fmt.Errorf("send reminder %d of dispatch %d to %s: %w", p.N, d.ID, d.Email, err)
	}
	rec, cancel := recordContext(ctx)
	defer cancel()
	if _, err := dx.Store.RecordReminder(rec, d.ID, p.N, env.MessageID, h.now()); err != nil {
		return fmt.Errorf("record reminder %d of dispatch %d: %w", p.N, d.ID, err)
	}
	return nil
}
