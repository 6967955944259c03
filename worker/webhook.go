package worker

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/sonoivu/vanthu"
)

// Outgoing webhooks. Every dispatch milestone writes, in its own
// transaction, one delivery row per active webhook; the sweep puts the
// pending rows on the queue and TypeWebhookDeliver POSTs each, signed,
// retrying with Asynq's backoff. Delivery is at least once: a receiver
// drops a repeated X-Vanthu-Delivery (or event_id).

// Headers of a webhook request.
const (
	HeaderWebhookEvent     = "X-Vanthu-Event"     // the event's action, e.g. dispatch_sent
	HeaderWebhookDelivery  = "X-Vanthu-Delivery"  // the delivery id, the same on every retry
	HeaderWebhookTimestamp = "X-Vanthu-Timestamp" // unix seconds when this attempt was signed
	HeaderWebhookSignature = "X-Vanthu-Signature" // sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
)

// Delivery policy.
const (
	// webhookRetries is how often a delivery is retried after a temporary
	// failure; Asynq's backoff (n⁴ + 15 s and some jitter) makes that about
	// half a day before it is given up.
	webhookRetries = 12
	// webhookTimeout bounds one request, connection included.
	webhookTimeout = 10 * time.Second
	// webhookSweepBatch bounds the deliveries one sweep enqueues.
	webhookSweepBatch = 5000
	// webhookSnippet is how much of a refusal's body is kept as its error.
	webhookSnippet = 512
)

// WebhookPayload names a delivery.
type WebhookPayload struct {
	DeliveryID int64 `json:"delivery_id"`
}

// NewWebhookDeliverTask builds the delivery of id. Its ID is derived from
// the delivery: enqueueing it twice is one task.
func NewWebhookDeliverTask(deliveryID int64) (*asynq.Task, []asynq.Option, error) {
	return newTask(TypeWebhookDeliver, WebhookPayload{DeliveryID: deliveryID}, webhookTaskID(deliveryID),
		asynq.Queue(QueueDefault), asynq.MaxRetry(webhookRetries), asynq.Timeout(time.Minute))
}

func webhookTaskID(deliveryID int64) string {
	return TypeWebhookDeliver + ":" + strconv.FormatInt(deliveryID, 10)
}

// NewWebhooksSweepTask builds the periodic sweep of pending deliveries.
func NewWebhooksSweepTask() *asynq.Task { return asynq.NewTask(TypeWebhooksSweep, nil) }

// WebhookBody is the JSON body of a webhook request: one milestone of one
// dispatch.
type WebhookBody struct {
	EventID     int64     `json:"event_id"`
	DeliveryID  int64     `json:"delivery_id"`
	Action      string    `json:"action"`    // dispatch_sent, …
	Milestone   string    `json:"milestone"` // queued, sent, read, acknowledged, bounced, failed
	DispatchID  int64     `json:"dispatch_id"`
	DocumentID  int64     `json:"document_id"`
	UnitCode    string    `json:"unit_code"`
	At          time.Time `json:"at"`     // when the milestone was reached
	Source      string    `json:"source"` // smtp, imap-mdn, imap-dsn, imap-reply, web, api, system
	EvidenceRef string    `json:"evidence_ref"`
}

// SignWebhook returns the X-Vanthu-Signature value of body sent at unix
// time ts: "sha256=" and the hex HMAC-SHA256 under secret of the decimal
// timestamp, a dot, and the body exactly as sent. The timestamp is signed
// so that a captured request cannot be replayed later.
func SignWebhook(secret []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifyWebhook checks a received request as its receiver should: the
// X-Vanthu-Timestamp header value is within tolerance of now (a tolerance
// of 0 skips that check), and the X-Vanthu-Signature header value is the
// signature of body under secret, compared in constant time. It returns
// nil for a genuine request and an error saying what is wrong otherwise.
func VerifyWebhook(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("webhook: bad %s %q", HeaderWebhookTimestamp, timestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)).Abs(); tolerance > 0 && d > tolerance {
		return fmt.Errorf("webhook: %s is %s away from now, over %s", HeaderWebhookTimestamp, d.Round(time.Second), tolerance)
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(signature), "sha256=")
	got, err := hex.DecodeString(hexSig)
	if !ok || err != nil {
		return fmt.Errorf("webhook: %s is not sha256=<hex>", HeaderWebhookSignature)
	}
	want, _ := hex.DecodeString(strings.TrimPrefix(SignWebhook(secret, ts, body), "sha256="))
	if !hmac.Equal(got, want) {
		return errors.New("webhook: signature does not match the body and timestamp")
	}
	return nil
}

// WebhookStore is what the webhook tasks need from the database
// (store.Store).
type WebhookStore interface {
	GetDelivery(ctx context.Context, id int64) (vanthu.Delivery, error)
	RecordAttempt(ctx context.Context, id int64, status int, errText string, at time.Time, delivered, gaveUp bool) error
	PendingDeliveries(ctx context.Context, limit int) ([]int64, error)
}

// WebhookQueue puts pending deliveries back on the queue (Client).
type WebhookQueue interface {
	RequeueWebhookDelivery(ctx context.Context, deliveryID int64) error
}

// Webhooks holds what the webhook tasks need, beside Handlers' own fields.
type Webhooks struct {
	Store WebhookStore
	Queue WebhookQueue
	// Client sends the requests; nil is a client on the default transport
	// that does not follow redirects (a POST must not turn into a GET
	// elsewhere). Timeout bounds each request whatever the client.
	Client  *http.Client
	Timeout time.Duration // default 10 s
}

func (w *Webhooks) client() *http.Client {
	if w.Client != nil {
		return w.Client
	}
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// webhookBody is what delivery d sends.
func webhookBody(d vanthu.Delivery) WebhookBody {
	return WebhookBody{
		EventID: d.EventID, DeliveryID: d.ID, Action: d.Event.Action, Milestone: strings.TrimPrefix(d.Event.Action, "dispatch_"),
		DispatchID: d.DispatchID, DocumentID: d.DocumentID, UnitCode: d.UnitCode,
		At: d.Event.At, Source: string(d.Event.Source), EvidenceRef: d.Event.EvidenceRef,
	}
}

// post sends body to the webhook of d, signed at ts. It returns the HTTP
// status (0 without an answer) and nil for a 2xx; an EPermanent error for
// a refusal that will not change (4xx other than 408 and 429, a redirect,
// an unusable URL); an EUnavailable error for what may pass (5xx, 408,
// 429, a network error, a timeout).
func (w *Webhooks) post(ctx context.Context, d vanthu.Delivery, body []byte, ts int64) (int, error) {
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = webhookTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Webhook.URL, bytes.NewReader(body))
	if err != nil {
		return 0, &vanthu.Error{Code: vanthu.EPermanent, Message: "Địa chỉ webhook không dùng được.", Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "vanthu-webhook/1")
	req.Header.Set(HeaderWebhookEvent, d.Event.Action)
	req.Header.Set(HeaderWebhookDelivery, strconv.FormatInt(d.ID, 10))
	req.Header.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderWebhookSignature, SignWebhook([]byte(d.Webhook.Secret), ts, body))
	resp, err := w.client().Do(req)
	if err != nil {
		return 0, &vanthu.Error{Code: vanthu.EUnavailable, Message: "Không gửi được tới hệ thống nhận webhook.", Err: err}
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, webhookSnippet))
	// Read a little more so the connection can be reused; a receiver
	// sending a large page does not get to hold the worker.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return code, nil
	}
	cause := fmt.Errorf("HTTP %s", resp.Status)
	if s := strings.TrimSpace(strings.ToValidUTF8(string(snippet), "\uFFFD")); s != "" {
		cause = fmt.Errorf("HTTP %s: %s", resp.Status, s)
	}
	if code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests {
		return code, &vanthu.Error{Code: vanthu.EUnavailable, Message: "Hệ thống nhận webhook tạm thời không nhận.", Err: cause}
	}
	return code, &vanthu.Error{Code: vanthu.EPermanent, Message: "Hệ thống nhận webhook từ chối.", Err: cause}
}

// HandleWebhookDeliver POSTs one delivery and records the attempt. A
// delivery already delivered or given up, or whose webhook was
// deactivated, is left alone (a duplicate or late task). A 2xx delivers
// it; a lasting refusal gives it up at once, without retry; anything else
// is retried with backoff, and after the last retry it is given up.
func (h *Handlers) HandleWebhookDeliver(ctx context.Context, t *asynq.Task) error {
	var p WebhookPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	wx := h.Webhooks
	d, err := wx.Store.GetDelivery(ctx, p.DeliveryID)
	if err != nil {
		return fmt.Errorf("webhook delivery %d: %w", p.DeliveryID, err)
	}
	if d.State != vanthu.DeliveryPending || !d.Webhook.Active {
		return nil
	}
	body, err := json.Marshal(webhookBody(d))
	if err != nil {
		return fmt.Errorf("encode webhook delivery %d: %w", d.ID, err)
	}
	status, cause := wx.post(ctx, d, body, h.now().Unix())
	gaveUp := cause != nil && lastAttempt(ctx, cause)
	errText := ""
	if cause != nil {
		errText = failReason(cause)
	}
	// The record uses a fresh context: the attempt happened, whatever is
	// left of the task's deadline.
	rec, cancel := recordContext(ctx)
	defer cancel()
	if err := wx.Store.RecordAttempt(rec, d.ID, status, errText, h.now(), cause == nil, gaveUp); err != nil {
		err = fmt.Errorf("record webhook delivery %d attempt: %w", d.ID, err)
		if cause == nil {
			return err // delivered but not recorded: retried, so sent again
		}
		return errors.Join(cause, err)
	}
	switch {
	case cause == nil:
		return nil
	case gaveUp:
		h.Logger.WarnContext(ctx, "webhook delivery given up", slog.Int64("delivery_id", d.ID),
			slog.Int64("webhook_id", d.WebhookID), slog.Int("attempts", d.Attempts+1), slog.String("error", errText))
		if vanthu.Retryable(vanthu.ErrorCodeOf(cause)) {
			return fmt.Errorf("webhook delivery %d to %s: %w: %w", d.ID, d.Webhook.URL, cause, asynq.SkipRetry)
		}
	}
	return fmt.Errorf("webhook delivery %d to %s: %w", d.ID, d.Webhook.URL, cause)
}

// HandleWebhooksSweep puts every pending delivery on the queue: those of
// milestones just reached, and those whose task a flushed Redis or a lost
// worker took with it. A delivery whose task is waiting or retrying keeps
// it, and its backoff.
func (h *Handlers) HandleWebhooksSweep(ctx context.Context, _ *asynq.Task) error {
	ids, err := h.Webhooks.Store.PendingDeliveries(ctx, webhookSweepBatch)
	if err != nil {
		return fmt.Errorf("pending webhook deliveries: %w", err)
	}
	for _, id := range ids {
		if err := h.Webhooks.Queue.RequeueWebhookDelivery(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// RequeueWebhookDelivery enqueues delivery id unless a task for it is
// already waiting, running or retrying; an archived one (retries spent
// without the outcome being recorded) is replaced.
func (c *Client) RequeueWebhookDelivery(ctx context.Context, deliveryID int64) error {
	return c.enqueueWebhook(ctx, deliveryID, false)
}

// enqueueWebhook enqueues delivery id. A task of the same ID in the
// archive is deleted first, since it would block the new one for as long
// as Asynq keeps it; with now, one waiting out its backoff runs at once.
func (c *Client) enqueueWebhook(ctx context.Context, id int64, now bool) error {
	t, opts, err := NewWebhookDeliverTask(id)
	if err != nil {
		return err
	}
	taskID := webhookTaskID(id)
	for range 2 {
		_, err = c.c.EnqueueContext(ctx, t, opts...)
		if !errors.Is(err, asynq.ErrTaskIDConflict) {
			break
		}
		info, ierr := c.insp.GetTaskInfo(QueueDefault, taskID)
		switch {
		case errors.Is(ierr, asynq.ErrTaskNotFound):
			continue // finished in between: enqueue again
		case ierr != nil:
			err = ierr
		case info.State == asynq.TaskStateArchived:
			if ierr = c.insp.DeleteTask(QueueDefault, taskID); ierr == nil || errors.Is(ierr, asynq.ErrTaskNotFound) {
				continue
			}
			err = ierr
		case now && (info.State == asynq.TaskStateRetry || info.State == asynq.TaskStateScheduled):
			if ierr = c.insp.RunTask(QueueDefault, taskID); ierr == nil || errors.Is(ierr, asynq.ErrTaskNotFound) {
				return nil
			}
			err = ierr
		default:
			return nil // pending or running: the same work
		}
		break
	}
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return &vanthu.Error{Code: vanthu.EUnavailable, Message: "Không đưa được việc vào hàng đợi.", Err: fmt.Errorf("enqueue %s: %w", taskID, err)}
	}
	return nil
}
