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
