// Package worker defines vanthu's background tasks on Asynq: task type
// constants, payload constructors, the handlers (methods on Handlers, which
// holds their dependencies), the server and scheduler wiring, and the client
// other processes use to enqueue work.
//
// Redis carries work, never state: every task can be re-derived from rows
// in the database. Task IDs are derived from what the task is about, so
// enqueueing the same work twice is a conflict that counts as success.
package worker

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// Task types.
const (
	// TypeMailTest sends a test message to check the SMTP configuration.
	TypeMailTest = "mail:test"
	// TypeTokensCleanup deletes expired sessions and API tokens.
	TypeTokensCleanup = "tokens:cleanup"
	// TypeWebhookDeliver POSTs one milestone to one webhook.
	TypeWebhookDeliver = "webhook:deliver"
	// TypeWebhooksSweep enqueues every pending webhook delivery.
	TypeWebhooksSweep = "webhooks:sweep"
)

// Queues and their weights: urgent mail first, routine chores last.
const (
	QueueCritical    = "critical"
	QueueDefault     = "default"
	QueueMaintenance = "maintenance"
)

// Queues maps each queue to its priority weight.
var Queues = map[string]int{QueueCritical: 6, QueueDefault: 3, QueueMaintenance: 1}

// MailTestPayload is the payload of TypeMailTest.
type MailTestPayload struct {
	To          string    `json:"to"`
	RequestedBy string    `json:"requested_by"`
	RequestedAt time.Time `json:"requested_at"`
}

// NewMailTestTask builds a test-mail task. Its ID includes the request time,
// so two requests are two messages but a retried enqueue is one.
func NewMailTestTask(p MailTestPayload) (*asynq.Task, []asynq.Option, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, nil, fmt.Errorf("worker: encode %s: %w", TypeMailTest, err)
	}
	id := fmt.Sprintf("%s:%s:%d", TypeMailTest, p.To, p.RequestedAt.UnixNano())
	return asynq.NewTask(TypeMailTest, b), []asynq.Option{
		asynq.TaskID(id), asynq.Queue(QueueDefault), asynq.MaxRetry(5), asynq.Timeout(2 * time.Minute),
	}, nil
}

// NewTokensCleanupTask builds the periodic clean-up task.
func NewTokensCleanupTask() *asynq.Task {
	return asynq.NewTask(TypeTokensCleanup, nil)
}
