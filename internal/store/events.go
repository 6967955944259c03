package store

import (
	"context"
	"strings"

	"github.com/sonoivu/vanthu"
)

// Limits of ListEvents.
const (
	defaultEventLimit = 100
	maxEventLimit     = 1000
)

// AppendEvent records e and sets e.ID; a zero e.At becomes now. Events are
// never updated or deleted.
func (s *Store) AppendEvent(ctx context.Context, e *vanthu.Event) error {
	return dbError("append event", s.insertEvent(ctx, s.db, e))
}

func (s *Store) insertEvent(ctx context.Context, q querier, e *vanthu.Event) error {
	if e.At.IsZero() {
		e.At = s.now()
	} else {
		e.At = fromMS(toMS(e.At))
	}
	if strings.TrimSpace(e.Detail) == "" {
		e.Detail = "{}"
	}
	if err := q.QueryRowContext(ctx, s.rebind(`INSERT INTO events (at, actor, action, source, subject, detail, evidence_ref)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		toMS(e.At), e.Actor, e.Action, string(e.Source), e.Subject, e.Detail, e.EvidenceRef).Scan(&e.ID); err != nil {
		return err
	}
	// A dispatch milestone becomes due to the webhooks in the event's own
	// transaction: committed together, or not at all.
	if isWebhookAction(e.Action) {
		return s.insertDeliveries(ctx, q, e)
	}
	return nil
}

// ListEvents returns the latest events about subject ("" for all), newest
// first, at most limit (default 100, at most 1000).
func (s *Store) ListEvents(ctx context.Context, subject string, limit int) ([]vanthu.Event, error) {
	if limit <= 0 {
		limit = defaultEventLimit
	}
	limit = min(limit, maxEventLimit)
	query := "SELECT id, at, actor, action, source, subject, detail, evidence_ref FROM events"
	args := []any{}
	if subject != "" {
		query += " WHERE subject = ?"
		args = append(args, subject)
	}
	query += " ORDER BY at DESC, id DESC LIMIT ?"
	args = append(args, limit)
	return queryAll(ctx, s.db, "list events", s.rebind(query), scanEvent, args...)
}
