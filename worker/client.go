package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/sonoivu/vanthu"
)

// Client enqueues tasks and inspects queues. It is what the web process
// holds; it shares one Redis connection pool.
type Client struct {
	rdb  redis.UniversalClient
	c    *asynq.Client
	insp *asynq.Inspector
	now  func() time.Time
}

// NewClient returns a client on rdb.
func NewClient(rdb redis.UniversalClient) *Client {
	return &Client{rdb: rdb, c: asynq.NewClientFromRedisClient(rdb), insp: asynq.NewInspectorFromRedisClient(rdb), now: time.Now}
}

// Close releases the client (the shared Redis pool is closed by its owner).
func (c *Client) Close() error { return c.c.Close() }

// Ping checks that Redis answers.
func (c *Client) Ping(ctx context.Context) error {
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		return &vanthu.Error{Code: vanthu.EUnavailable, Message: "Không kết nối được Redis.", Err: err}
	}
	return nil
}

// Enqueue adds a task; a task with the same ID already queued counts as
// success, since it is the same work.
func (c *Client) Enqueue(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (string, error) {
	info, err := c.c.EnqueueContext(ctx, t, opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		for _, o := range opts {
			if o.Type() == asynq.TaskIDOpt {
				return o.Value().(string), nil
			}
		}
		return "", nil
	}
	if err != nil {
		return "", &vanthu.Error{Code: vanthu.EUnavailable, Message: "Không đưa được việc vào hàng đợi.", Err: fmt.Errorf("enqueue %s: %w", t.Type(), err)}
	}
	return info.ID, nil
}

// EnqueueTestMail asks a worker to send a test message to the address.
func (c *Client) EnqueueTestMail(ctx context.Context, to, requestedBy string) (string, error) {
	t, opts, err := NewMailTestTask(MailTestPayload{To: to, RequestedBy: requestedBy, RequestedAt: c.now()})
	if err != nil {
		return "", err
	}
	return c.Enqueue(ctx, t, opts...)
}

// EnqueueFanout asks a worker to send every pending dispatch of an issued
// document.
func (c *Client) EnqueueFanout(ctx context.Context, documentID int64) error {
	t, opts, err := NewFanoutTask(documentID)
	if err != nil {
		return err
	}
	_, err = c.Enqueue(ctx, t, opts...)
	return err
}

// EnqueueSend enqueues the send of each dispatch. A send task of the same
// dispatch still waiting or running makes it a no-op; one archived after
// its retries ran out (the dispatch was failed, then resent, or its failure
// could not be recorded) is replaced (enqueueOver).
func (c *Client) EnqueueSend(ctx context.Context, dispatchIDs []int64) error {
	for _, id := range dispatchIDs {
		t, opts, err := NewSendTask(id)
		if err != nil {
			return err
		}
		if err := c.enqueueOver(ctx, t, opts, sendTaskID(id)); err != nil {
			return err
		}
	}
	return nil
}

// enqueueOver enqueues t, whose ID is taskID. A task of that ID still
// pending, scheduled, retrying or running is the same work, and nothing
// is enqueued; one that is archived (its retries ran out, or it was
// refused) or completed (kept for its retention) is deleted first and t
// enqueued in its place: the caller asks again because the work must be
// done again, and the dead task's ID would block it for as long as Asynq
// keeps it.
func (c *Client) enqueueOver(ctx context.Context, t *asynq.Task, opts []asynq.Option, taskID string) error {
	_, err := c.c.EnqueueContext(ctx, t, opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		info, ierr := c.insp.GetTaskInfo(QueueDefault, taskID)
		if ierr != nil || (info.State != asynq.TaskStateArchived && info.State != asynq.TaskStateCompleted) {
			return nil // queued, running, or just finished: the same work
		}
		if derr := c.insp.DeleteTask(QueueDefault, taskID); derr != nil && !errors.Is(derr, asynq.ErrTaskNotFound) {
			return &vanthu.Error{Code: vanthu.EUnavailable, Message: "Không đưa được việc vào hàng đợi.", Err: fmt.Errorf("delete finished %s: %w", taskID, derr)}
		}
		_, err = c.c.EnqueueContext(ctx, t, opts...)
		if errors.Is(err, asynq.ErrTaskIDConflict) {
			return nil
		}
	}
	if err != nil {
		return &vanthu.Error{Code: vanthu.EUnavailable, Message: "Không đưa được việc vào hàng đợi.", Err: fmt.Errorf("enqueue %s: %w", t.Type(), err)}
	}
	return nil
}

// EnqueueRemind asks a worker to remind, now, every unit that has not
// acknowledged the document.
func (c *Client) EnqueueRemind(ctx context.Context, documentID int64) error {
	t, opts, err := NewDirectiveRemindTask(documentID, c.now())
	if err != nil {
		return err
	}
	_, err = c.Enqueue(ctx, t, opts...)
	return err
}

// EnqueueWebhookDelivery asks a worker to send webhook delivery id now,
// after a replay: a task of it waiting out its backoff runs at once, and
// one archived after a refusal is replaced.
func (c *Client) EnqueueWebhookDelivery(ctx context.Context, deliveryID int64) error {
	return c.enqueueWebhook(ctx, deliveryID, true)
}

// QueueSizes reports tasks per queue and state, for metrics.
func (c *Client) QueueSizes(ctx context.Context) (map[string]map[string]int, error) {
	queues, err := c.insp.Queues()
	if err != nil {
		return nil, fmt.Errorf("worker: list queues: %w", err)
	}
	out := map[string]map[string]int{}
	for _, q := range queues {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		info, err := c.insp.GetQueueInfo(q)
		if err != nil {
			return nil, fmt.Errorf("worker: queue %s: %w", q, err)
		}
		out[q] = map[string]int{
			"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
			"retry": info.Retry, "archived": info.Archived, "completed": info.Completed,
		}
	}
	return out, nil
}

// Inspector exposes the Asynq inspector (queue page, tests).
func (c *Client) Inspector() *asynq.Inspector { return c.insp }

// EnqueueInspectionFinalize asks a worker for the signed minutes of an
// inspection; asking again while it is queued is the same work. After a
// task that failed for good (the record was incomplete, the key could not
// sign), asking again runs it again (enqueueOver).
func (c *Client) EnqueueInspectionFinalize(ctx context.Context, inspectionID, userID int64, username string) error {
	t, opts, err := NewInspectionFinalizeTask(InspectionPayload{InspectionID: inspectionID, UserID: userID, RequestedBy: username})
	if err != nil {
		return err
	}
	return c.enqueueOver(ctx, t, opts, finalizeTaskID(inspectionID))
}

// EnqueueReport asks a worker for the generation report r is at. A task
// of it still queued, retrying or running absorbs the request. An archived
// one is replaced (enqueueOver): its last attempt was lost without the
// failure being recorded (the worker died during it, or FailReport
// failed), so the row still says generating, and the dead task's ID would
// otherwise keep the sweep from running the generation for as long as
// Asynq keeps the archive.
func (c *Client) EnqueueReport(ctx context.Context, r vanthu.Report) error {
	p := ReportPayload{ReportID: r.ID, Generation: r.Generation}
	t, opts, err := NewReportGenerateTask(p)
	if err != nil {
		return err
	}
	return c.enqueueOver(ctx, t, opts, reportTaskID(p))
}
