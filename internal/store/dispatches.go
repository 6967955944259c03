package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/vntext"
)

// Limits of the reconciler and reminder scans.
const (
	defaultScanLimit = 100
	maxScanLimit     = 10000
)

const dispatchColumns = `d.id, d.document_id, d.unit_id, d.email, d.message_id, d.queued_at, d.sent_at, d.read_at,
	d.acknowledged_at, d.bounced_at, d.failed_at, d.fail_reason, d.reminded, d.deadline, d.mail_tag,
	d.ack_name, d.ack_position, d.ack_note, u.code, u.name, u.grp, u.ord`

const dispatchFrom = ` FROM dispatches d JOIN units u ON u.id = d.unit_id`

// dispatchRow is a dispatch with its unit's place in the official order.
type dispatchRow struct {
	vanthu.Dispatch
	group vanthu.UnitGroup
	order int
}

func scanDispatch(sc interface{ Scan(...any) error }) (dispatchRow, error) {
	var (
		r                                dispatchRow
		d                                = &r.Dispatch
		queued, sent, read, ack, bounced sql.NullInt64
		failed, deadline                 sql.NullInt64
		tag                              sql.NullString
		grp                              string
	)
	if err := sc.Scan(&d.ID, &d.DocumentID, &d.UnitID, &d.Email, &d.MessageID, &queued, &sent, &read,
		&ack, &bounced, &failed, &d.FailReason, &d.Reminded, &deadline, &tag,
		&d.Ack.Name, &d.Ack.Position, &d.Ack.Note, &d.UnitCode, &d.UnitName, &grp, &r.order); err != nil {
		return r, err
	}
	d.QueuedAt, d.SentAt, d.ReadAt = timePtr(queued), timePtr(sent), timePtr(read)
	d.AcknowledgedAt, d.BouncedAt, d.FailedAt = timePtr(ack), timePtr(bounced), timePtr(failed)
	d.Deadline = timePtr(deadline)
	d.MailTag = tag.String
	r.group = vanthu.UnitGroup(grp)
	return r, nil
}

func dispatchSubject(id int64) string { return "dispatch:" + strconv.FormatInt(id, 10) }

func errDispatchNotFound() *vanthu.Error {
	return vanthu.Errorf(vanthu.ENotFound, "Không tìm thấy lượt gửi văn bản.")
}

// afterMS returns the stored-precision bound x such that, for a stored time
// t, "t < x" holds exactly when now.After(t): the SQL filters then agree
// with the Go predicates (vanthu.Dispatch.Overdue) to the millisecond.
func afterMS(now time.Time) int64 {
	ms := toMS(now)
	if now.After(fromMS(ms)) {
		ms++
	}
	return ms
}

func scanLimit(limit int) int {
	if limit <= 0 {
		return defaultScanLimit
	}
	return min(limit, maxScanLimit)
}

// GetDispatch returns the dispatch with id, with its mail tag and unit code
// and name, or ENotFound.
func (s *Store) GetDispatch(ctx context.Context, id int64) (vanthu.Dispatch, error) {
	d, err := s.getDispatch(ctx, s.db, "d.id = ?", id)
	return d, dbError("get dispatch", err)
}

// DispatchByToken returns the dispatch whose acknowledgement token hashes
// to tokenHash, or ENotFound.
func (s *Store) DispatchByToken(ctx context.Context, tokenHash []byte) (vanthu.Dispatch, error) {
	if len(tokenHash) == 0 {
		return vanthu.Dispatch{}, errDispatchNotFound()
	}
	d, err := s.getDispatch(ctx, s.db, "d.token_hash = ?", tokenHash)
	return d, dbError("dispatch by token", err)
}

// DispatchByMailTag returns the dispatch with the plus-address tag, as
// read back from a bounce, read receipt or reply, or ENotFound.
func (s *Store) DispatchByMailTag(ctx context.Context, tag string) (vanthu.Dispatch, error) {
	if tag == "" {
		return vanthu.Dispatch{}, errDispatchNotFound()
	}
	d, err := s.getDispatch(ctx, s.db, "d.mail_tag = ?", tag)
	return d, dbError("dispatch by mail tag", err)
}

func (s *Store) getDispatch(ctx context.Context, q querier, cond string, arg any) (vanthu.Dispatch, error) {
	r, err := scanDispatch(q.QueryRowContext(ctx, s.rebind("SELECT "+dispatchColumns+dispatchFrom+" WHERE "+cond), arg))
	if errors.Is(err, sql.ErrNoRows) {
		return vanthu.Dispatch{}, errDispatchNotFound()
	}
	return r.Dispatch, err
}

// ListDispatches returns the dispatches of a document with their unit code
// and name, in official order: unit group, unit order, then name in
// Vietnamese collation. An unknown document has none.
func (s *Store) ListDispatches(ctx context.Context, documentID int64) ([]vanthu.Dispatch, error) {
	rs, err := queryAll(ctx, s.db, "list dispatches", s.rebind("SELECT "+dispatchColumns+dispatchFrom+" WHERE d.document_id = ? ORDER BY d.id"),
		scanDispatch, documentID)
	if err != nil {
		return nil, err
	}
	c := vntext.NewCollator()
	key := func(r dispatchRow) unitKey {
		return unitKey{code: r.UnitCode, name: r.UnitName, grp: r.group, ord: r.order}
	}
	slices.SortStableFunc(rs, func(a, b dispatchRow) int { return compareUnitKeys(c, key(a), key(b)) })
	out := make([]vanthu.Dispatch, len(rs))
	for i, r := range rs {
		out[i] = r.Dispatch
	}
	return out, nil
}

// DocumentProgress counts the document's dispatches by status as of now in
// one aggregate query. It equals summing vanthu.Progress.Add over
// ListDispatches: each CASE mirrors vanthu.Dispatch.Status (the highest
// milestone reached wins) and Overdue.
func (s *Store) DocumentProgress(ctx context.Context, documentID int64, now time.Time) (vanthu.Progress, error) {
	var p vanthu.Progress
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*),
		COALESCE(SUM(CASE WHEN acknowledged_at IS NULL AND read_at IS NULL AND sent_at IS NULL AND bounced_at IS NULL
			AND failed_at IS NULL AND queued_at IS NOT NULL THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN acknowledged_at IS NULL AND read_at IS NULL AND sent_at IS NOT NULL THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN acknowledged_at IS NULL AND read_at IS NOT NULL THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN acknowledged_at IS NOT NULL THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN acknowledged_at IS NULL AND read_at IS NULL AND sent_at IS NULL AND bounced_at IS NOT NULL THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN acknowledged_at IS NULL AND read_at IS NULL AND sent_at IS NULL AND bounced_at IS NULL
			AND failed_at IS NOT NULL THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN deadline IS NOT NULL AND acknowledged_at IS NULL AND failed_at IS NULL AND deadline < ? THEN 1 ELSE 0 END), 0)
		FROM dispatches WHERE document_id = ?`), afterMS(now), documentID).
		Scan(&p.Total, &p.Queued, &p.Sent, &p.Read, &p.Acknowledged, &p.Bounced, &p.Failed, &p.Overdue)
	if err != nil {
		return vanthu.Progress{}, dbError("document progress", err)
	}
	return p, nil
}

// ClaimDispatch takes a lease on dispatch id for sending it and counts the
// attempt. ok is false, and nothing changes, when the dispatch is already
// sent or failed (d then tells which) or another worker holds an unexpired
// lease. A send task claims first, so a duplicated or retried task never
// sends twice while the first is at work; a worker that dies leaves a lease
// that simply expires.
func (s *Store) ClaimDispatch(ctx context.Context, id int64, lease time.Duration) (d vanthu.Dispatch, ok bool, err error) {
	if lease <= 0 {
		return d, false, fmt.Errorf("store: claim dispatch %d: lease %v is not positive", id, lease)
	}
	now := s.now()
	res, err := s.exec(ctx, s.rebind(`UPDATE dispatches SET lease_until = ?, attempts = attempts + 1
		WHERE id = ? AND sent_at IS NULL AND failed_at IS NULL AND (lease_until IS NULL OR lease_until <= ?)`),
		toMS(now.Add(lease)), id, toMS(now))
	if err != nil {
		return d, false, dbError("claim dispatch", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return d, false, dbError("claim dispatch", err)
	}
	d, err = s.getDispatch(ctx, s.cached(s.db), "d.id = ?", id)
	if err != nil {
		return d, false, dbError("claim dispatch", err)
	}
	return d, n == 1, nil
}

// MarkSent records that the SMTP server accepted dispatch id as messageID
// at at, clears its lease and records dispatch_sent (source smtp, evidence
// the Message-ID). The sent time is set once: marking a sent dispatch again
// changes nothing and records nothing.
func (s *Store) MarkSent(ctx context.Context, id int64, messageID string, at time.Time) error {
	at = fromMS(toMS(at))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		q := s.cached(tx)
		res, err := q.ExecContext(ctx, s.rebind(`UPDATE dispatches SET sent_at = ?, message_id = ?, lease_until = NULL, last_error = ''
			WHERE id = ? AND sent_at IS NULL`), toMS(at), messageID, id)
		if err != nil {
			return err
		}
		if applied, err := s.affected(ctx, tx, res, id); err != nil || !applied {
			return err
		}
		return s.insertEvent(ctx, q, &vanthu.Event{
			At: at, Actor: "system", Action: "dispatch_sent", Source: vanthu.SourceSMTP,
			Subject: dispatchSubject(id), EvidenceRef: messageID,
		})
	})
	return dbError("mark sent", err)
}

// MarkFailed records that dispatch id cannot be delivered (an SMTP 5xx, or
// retries exhausted), with the reason, clears its lease and records
// dispatch_failed (source smtp). A dispatch already sent or failed is left
// alone: the first outcome stands.
func (s *Store) MarkFailed(ctx context.Context, id int64, reason string, at time.Time) error {
	at = fromMS(toMS(at))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE dispatches SET failed_at = ?, fail_reason = ?, lease_until = NULL
			WHERE id = ? AND sent_at IS NULL AND failed_at IS NULL`), toMS(at), reason, id)
		if err != nil {
			return err
		}
		if applied, err := s.affected(ctx, tx, res, id); err != nil || !applied {
			return err
		}
		detail, _ := json.Marshal(map[string]string{"reason": reason})
		return s.insertEvent(ctx, tx, &vanthu.Event{
			At: at, Actor: "system", Action: "dispatch_failed", Source: vanthu.SourceSMTP,
			Subject: dispatchSubject(id), Detail: string(detail),
		})
	})
	return dbError("mark failed", err)
}

// affected reports whether a conditional update of dispatch id changed its
// row; when it did not, it tells a missing dispatch (ENotFound) from one
// whose state made the condition false (no error).
func (s *Store) affected(ctx context.Context, q querier, res sql.Result, id int64) (bool, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	if n > 0 {
		return true, nil
	}
	var one int
	err = q.QueryRowContext(ctx, s.rebind("SELECT 1 FROM dispatches WHERE id = ?"), id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, errDispatchNotFound()
	}
	return false, err
}

// ReleaseDispatch gives up the lease on dispatch id after a retryable
// error and keeps the error for display. It records no event: a flaky
// server would flood the audit log with retries.
func (s *Store) ReleaseDispatch(ctx context.Context, id int64, lastError string) error {
	res, err := s.exec(ctx, s.rebind("UPDATE dispatches SET lease_until = NULL, last_error = ? WHERE id = ?"), lastError, id)
	if err != nil {
		return dbError("release dispatch", err)
	}
	_, err = s.affected(ctx, s.db, res, id)
	return dbError("release dispatch", err)
}

// PendingDispatches returns up to limit (default 100) dispatches neither
// sent nor failed whose lease is absent or expired, by id: the work a lost
// send task left behind, for the reconciler to enqueue again.
func (s *Store) PendingDispatches(ctx context.Context, limit int) ([]int64, error) {
	return s.ids(ctx, "pending dispatches", `SELECT id FROM dispatches
		WHERE sent_at IS NULL AND failed_at IS NULL AND (lease_until IS NULL OR lease_until <= ?)
		ORDER BY id LIMIT ?`, toMS(s.now()), scanLimit(limit))
}

func (s *Store) ids(ctx context.Context, op, query string, args ...any) ([]int64, error) {
	return queryAll(ctx, s.db, op, s.rebind(query), func(sc scanner) (id int64, err error) { return id, sc.Scan(&id) }, args...)
}

// ResendFailed makes the failed dispatches among ids (every failed dispatch
// of the document when ids is empty) pending again: it clears their failure
// and last error and records dispatch_resend for each. Ids that are not
// failed dispatches of the document are ignored. It returns the reset ids
// in order; ENotFound if there is no such document.
func (s *Store) ResendFailed(ctx context.Context, documentID int64, ids []int64, actor string) ([]int64, error) {
	now := s.now()
	var reset []int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		reset = []int64{}
		if _, err := s.getDocument(ctx, tx, documentID); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, s.rebind(`SELECT id, fail_reason FROM dispatches
			WHERE document_id = ? AND failed_at IS NOT NULL AND sent_at IS NULL ORDER BY id`), documentID)
		if err != nil {
			return err
		}
		reasons := map[int64]string{}
		var failed []int64
		for rows.Next() {
			var (
				id     int64
				reason string
			)
			if err := rows.Scan(&id, &reason); err != nil {
				rows.Close()
				return err
			}
			if len(ids) == 0 || slices.Contains(ids, id) {
				failed = append(failed, id)
				reasons[id] = reason
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range failed {
			res, err := tx.ExecContext(ctx, s.rebind(`UPDATE dispatches SET failed_at = NULL, fail_reason = '', last_error = '', lease_until = NULL
				WHERE id = ? AND failed_at IS NOT NULL`), id)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				continue // reset by a concurrent request, which recorded it
			}
			detail, _ := json.Marshal(map[string]string{"previous_reason": reasons[id]})
			if err := s.insertEvent(ctx, tx, &vanthu.Event{
				At: now, Actor: actor, Action: "dispatch_resend", Source: sourceOf(actor),
				Subject: dispatchSubject(id), Detail: string(detail),
			}); err != nil {
				return err
			}
			reset = append(reset, id)
		}
		return nil
	})
	if err != nil {
		return nil, dbError("resend failed", err)
	}
	return reset, nil
}

// ReminderPolicy says how often and how many times a unit that has not
// acknowledged by the deadline is reminded.
type ReminderPolicy struct {
	Every time.Duration // at least this long between two reminders
	Max   int           // reminders per dispatch at most
}

// DueReminder is a reminder to send: the dispatch and the reminder's
// number (reminded so far + 1), which makes the task unique.
type DueReminder struct {
	DispatchID int64
	N          int
}

// DueReminders returns up to limit (default 100) reminders due at now under
// p, by dispatch id: dispatches sent, not acknowledged, not failed or
// bounced, past their deadline, reminded fewer than p.Max times, and not
// reminded within p.Every.
func (s *Store) DueReminders(ctx context.Context, now time.Time, p ReminderPolicy, limit int) ([]DueReminder, error) {
	if p.Max <= 0 {
		return []DueReminder{}, nil
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT id, reminded FROM dispatches
		WHERE sent_at IS NOT NULL AND acknowledged_at IS NULL AND failed_at IS NULL AND bounced_at IS NULL
		AND deadline IS NOT NULL AND deadline < ? AND reminded < ?
		AND (last_reminded_at IS NULL OR last_reminded_at <= ?)
		ORDER BY id LIMIT ?`), afterMS(now), p.Max, toMS(now.Add(-p.Every)), scanLimit(limit))
	if err != nil {
		return nil, dbError("due reminders", err)
	}
	defer rows.Close()
	due := []DueReminder{}
	for rows.Next() {
		var r DueReminder
		if err := rows.Scan(&r.DispatchID, &r.N); err != nil {
			return nil, dbError("due reminders", err)
		}
		r.N++
		due = append(due, r)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("due reminders", err)
	}
	return due, nil
}

// RecordReminder records reminder n of dispatch dispatchID, sent at at as
// messageID: a reminders row, the dispatch's reminded count and time, and
// a dispatch_reminded event. Reminder n is recorded once: if it exists,
// nothing changes and it returns false. ENotFound if there is no such
// dispatch.
func (s *Store) RecordReminder(ctx context.Context, dispatchID int64, n int, messageID string, at time.Time) (bool, error) {
	if n <= 0 {
		return false, fmt.Errorf("store: record reminder: n = %d, want at least 1", n)
	}
	at = fromMS(toMS(at))
	var sentAt sql.NullInt64
	if messageID != "" {
		sentAt = nullMS(&at)
	}
	var recorded bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		recorded = false
		// Lock the dispatch (and learn whether it exists) before the
		// insert, so a missing one is ENotFound rather than a foreign-key
		// error.
		res, err := tx.ExecContext(ctx, s.rebind("UPDATE dispatches SET reminded = reminded WHERE id = ?"), dispatchID)
		if err != nil {
			return err
		}
		if _, err := s.affected(ctx, tx, res, dispatchID); err != nil {
			return err
		}
		// ON CONFLICT DO NOTHING rather than catching the violation: in
		// PostgreSQL an error aborts the whole transaction.
		res, err = tx.ExecContext(ctx, s.rebind(`INSERT INTO reminders (dispatch_id, n, message_id, created_at, sent_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (dispatch_id, n) DO NOTHING`), dispatchID, n, messageID, toMS(at), sentAt)
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil || k == 0 {
			return err
		}
		// A late, lower n (tasks overtaking each other) never lowers the
		// count.
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE dispatches SET reminded = CASE WHEN reminded < ? THEN ? ELSE reminded END,
			last_reminded_at = ? WHERE id = ?`), n, n, toMS(at), dispatchID); err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]int{"n": n})
		if err := s.insertEvent(ctx, tx, &vanthu.Event{
			At: at, Actor: "system", Action: "dispatch_reminded", Source: vanthu.SourceSMTP,
			Subject: dispatchSubject(dispatchID), Detail: string(detail), EvidenceRef: messageID,
		}); err != nil {
			return err
		}
		recorded = true
		return nil
	})
	if err != nil {
		return false, dbError("record reminder", err)
	}
	return recorded, nil
}

// milestoneColumn maps a milestone to its column; the names are constants,
// never input, so they are safe to put in query text.
var milestoneColumn = map[vanthu.Milestone]string{
	vanthu.MilestoneQueued:       "queued_at",
	vanthu.MilestoneSent:         "sent_at",
	vanthu.MilestoneRead:         "read_at",
	vanthu.MilestoneAcknowledged: "acknowledged_at",
	vanthu.MilestoneBounced:      "bounced_at",
	vanthu.MilestoneFailed:       "failed_at",
}

// ApplyMilestone records milestone m of dispatch dispatchID at at, with
// vanthu.Dispatch.Apply semantics: each milestone is set once, and an
// acknowledgement implies read implies sent. It records one event
// (dispatch_<milestone>, with the implied milestones in its detail) from
// source, by actor, with the evidence reference, only when m was newly
// applied; applied reports that. Duplicate evidence changes nothing.
// ENotFound if there is no such dispatch.
func (s *Store) ApplyMilestone(ctx context.Context, dispatchID int64, m vanthu.Milestone, at time.Time, source vanthu.EventSource, actor, evidence string) (applied bool, err error) {
	return s.ApplyEvidence(ctx, vanthu.Evidence{DispatchID: dispatchID, Milestone: m, At: at, Source: source, Actor: actor, Ref: evidence})
}

// ApplyEvidence records ev in one transaction; applied reports whether a
// milestone was newly reached (always false for an Action-only evidence,
// which is recorded every time). ENotFound if there is no such dispatch.
func (s *Store) ApplyEvidence(ctx context.Context, ev vanthu.Evidence) (applied bool, err error) {
	if ev.Milestone != "" {
		if _, ok := milestoneColumn[ev.Milestone]; !ok {
			return false, vanthu.Invalid("Mốc trạng thái không hợp lệ.", vanthu.Problem{Field: "milestone", Message: "Mốc trạng thái không hợp lệ: " + string(ev.Milestone) + "."})
		}
	} else if ev.Action == "" {
		return false, vanthu.Invalid("Thiếu mốc trạng thái.", vanthu.Problem{Field: "milestone", Message: "Thiếu mốc trạng thái."})
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		applied, err = s.applyEvidence(ctx, tx, ev)
		return err
	})
	if err != nil {
		return false, dbError("apply milestone", err)
	}
	return applied, nil
}

// applyEvidence is ApplyEvidence inside the caller's transaction.
func (s *Store) applyEvidence(ctx context.Context, tx *sql.Tx, ev vanthu.Evidence) (applied bool, err error) {
	at := fromMS(toMS(ev.At))
	if ev.At.IsZero() {
		at = s.now()
	}
	actor, source := ev.Actor, ev.Source
	if actor == "" {
		actor = "system"
	}
	if source == "" {
		source = sourceOf(actor)
	}
	old, err := s.getDispatch(ctx, tx, "d.id = ?", ev.DispatchID)
	if err != nil {
		return false, err
	}
	detail := map[string]any{}
	for k, v := range ev.Detail {
		detail[k] = v
	}
	if ev.Milestone == "" {
		b, _ := json.Marshal(detail)
		return false, s.insertEvent(ctx, tx, &vanthu.Event{
			At: at, Actor: actor, Action: ev.Action, Source: source,
			Subject: dispatchSubject(ev.DispatchID), Detail: string(b), EvidenceRef: ev.Ref,
		})
	}
	m, col := ev.Milestone, milestoneColumn[ev.Milestone]
	d := old
	if !d.Apply(m, at) {
		return false, nil
	}
	var (
		sets    []string
		args    []any
		implied = []vanthu.Milestone{}
	)
	for _, k := range []vanthu.Milestone{vanthu.MilestoneQueued, vanthu.MilestoneSent, vanthu.MilestoneRead,
		vanthu.MilestoneAcknowledged, vanthu.MilestoneBounced, vanthu.MilestoneFailed} {
		if old.Reached(k) == nil && d.Reached(k) != nil {
			// COALESCE keeps a value a concurrent writer set first.
			sets = append(sets, milestoneColumn[k]+" = COALESCE("+milestoneColumn[k]+", ?)")
			args = append(args, toMS(*d.Reached(k)))
			if k != m {
				implied = append(implied, k)
			}
		}
	}
	if m == vanthu.MilestoneSent || m == vanthu.MilestoneRead || m == vanthu.MilestoneAcknowledged {
		// Evidence that the unit got the mail ends any send attempt.
		sets = append(sets, "lease_until = NULL")
	}
	if m == vanthu.MilestoneAcknowledged && ev.Ack != nil {
		sets = append(sets, "ack_name = ?", "ack_position = ?", "ack_note = ?")
		args = append(args, ev.Ack.Name, ev.Ack.Position, ev.Ack.Note)
		for k, v := range map[string]string{"name": ev.Ack.Name, "position": ev.Ack.Position, "note": ev.Ack.Note} {
			if v != "" {
				detail[k] = v
			}
		}
	}
	if (m == vanthu.MilestoneBounced || m == vanthu.MilestoneFailed) && ev.Reason != "" {
		sets = append(sets, "fail_reason = CASE WHEN fail_reason = '' THEN ? ELSE fail_reason END")
		args = append(args, ev.Reason)
		detail["reason"] = ev.Reason
	}
	args = append(args, ev.DispatchID)
	// The condition on m's column makes concurrent evidence apply once:
	// the loser matches no row and records no event.
	res, err := tx.ExecContext(ctx, s.rebind("UPDATE dispatches SET "+strings.Join(sets, ", ")+" WHERE id = ? AND "+col+" IS NULL"), args...)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	detail["milestone"], detail["implied"] = m, implied
	b, _ := json.Marshal(detail)
	if err := s.insertEvent(ctx, tx, &vanthu.Event{
		At: at, Actor: actor, Action: "dispatch_" + string(m), Source: source,
		Subject: dispatchSubject(ev.DispatchID), Detail: string(b), EvidenceRef: ev.Ref,
	}); err != nil {
		return false, err
	}
	return true, nil
}
