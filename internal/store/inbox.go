package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/sonoivu/vanthu"
)

// The office mailbox watcher's side of the store: its checkpoint per
// mailbox and the record of every message it read.

// DispatchByMessageID returns the dispatch that was sent with Message-ID
// mid (without angle brackets), as named by a reply's In-Reply-To or a
// read receipt's Original-Message-ID, or ENotFound.
func (s *Store) DispatchByMessageID(ctx context.Context, mid string) (vanthu.Dispatch, error) {
	mid = strings.Trim(strings.TrimSpace(mid), "<>")
	if mid == "" {
		return vanthu.Dispatch{}, errDispatchNotFound()
	}
	d, err := s.getDispatch(ctx, s.db, "d.message_id = ?", mid)
	return d, dbError("dispatch by message id", err)
}

// InboxState returns how far mailbox has been read: its UIDVALIDITY and the
// last UID processed; ok is false before the first message.
func (s *Store) InboxState(ctx context.Context, mailbox string) (uidValidity, lastUID uint32, ok bool, err error) {
	var v, last int64
	err = s.db.QueryRowContext(ctx, s.rebind("SELECT uid_validity, last_uid FROM inbox_state WHERE mailbox = ?"), mailbox).Scan(&v, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, dbError("inbox state", err)
	}
	return uint32(v), uint32(last), true, nil
}

// ResetInbox starts mailbox over under a new UIDVALIDITY: the server
// renumbered its messages, so every one is read again (RecordInbound
// recognises those already processed by their Message-ID). It records an
// event, since a rescan is worth knowing about.
func (s *Store) ResetInbox(ctx context.Context, mailbox string, uidValidity uint32) error {
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.saveInboxState(ctx, tx, mailbox, uidValidity, 0, now, true); err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, &vanthu.Event{
			At: now, Actor: "system", Action: "inbox_rescan", Source: vanthu.SourceSystem,
			Subject: "mailbox:" + mailbox, Detail: `{"uid_validity":` + strconv.FormatUint(uint64(uidValidity), 10) + `}`,
		})
	})
	return dbError("reset inbox", err)
}

// saveInboxState moves the checkpoint of mailbox to uid under uidValidity.
// Without reset it only moves forward, so two pollers that overlap cannot
// move it back.
func (s *Store) saveInboxState(ctx context.Context, q querier, mailbox string, uidValidity, uid uint32, now time.Time, reset bool) error {
	set := "last_uid = CASE WHEN inbox_state.uid_validity = excluded.uid_validity AND inbox_state.last_uid > excluded.last_uid THEN inbox_state.last_uid ELSE excluded.last_uid END"
	if reset {
		set = "last_uid = excluded.last_uid"
	}
	_, err := q.ExecContext(ctx, s.rebind(`INSERT INTO inbox_state (mailbox, uid_validity, last_uid, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (mailbox) DO UPDATE SET `+set+`, uid_validity = excluded.uid_validity, updated_at = excluded.updated_at`),
		mailbox, int64(uidValidity), int64(uid), toMS(now))
	return err
}

// RecordInbound records message m and moves the mailbox checkpoint past
// it, and applies ev (when not nil) in the same transaction: a crash
// leaves the message either wholly processed or not at all, so a restart
// neither misses nor repeats it.
//
// A message already recorded under the same mailbox, UIDVALIDITY and UID
// changes nothing (recorded is false). A message whose non-empty
// Message-ID was recorded before under another UID (a rescan) is recorded
// as InboundDuplicate and ev is not applied. Otherwise m.Outcome is kept,
// except that InboundApplied becomes InboundRecorded when the milestone
// had been reached already. m.ID and m.Outcome are set.
func (s *Store) RecordInbound(ctx context.Context, m *vanthu.InboundMail, ev *vanthu.Evidence) (recorded bool, err error) {
	now := s.now()
	if m.ReceivedAt.IsZero() {
		m.ReceivedAt = now
	}
	m.ReceivedAt = fromMS(toMS(m.ReceivedAt))
	if strings.TrimSpace(m.Summary) == "" {
		m.Summary = "{}"
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		recorded = false
		var one int
		err := tx.QueryRowContext(ctx, s.rebind("SELECT 1 FROM inbound_mail WHERE mailbox = ? AND uid_validity = ? AND uid = ?"),
			m.Mailbox, int64(m.UIDValidity), int64(m.UID)).Scan(&one)
		if err == nil {
			return s.saveInboxState(ctx, tx, m.Mailbox, m.UIDValidity, m.UID, now, false)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if m.MessageID != "" {
			err := tx.QueryRowContext(ctx, s.rebind("SELECT 1 FROM inbound_mail WHERE message_id = ? LIMIT 1"), m.MessageID).Scan(&one)
			switch {
			case err == nil:
				m.Outcome, ev = vanthu.InboundDuplicate, nil
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		if ev != nil {
			applied, err := s.applyEvidence(ctx, tx, *ev)
			if err != nil {
				return err
			}
			if !applied && m.Outcome == vanthu.InboundApplied {
				m.Outcome = vanthu.InboundRecorded
			}
		}
		if err := tx.QueryRowContext(ctx, s.rebind(`INSERT INTO inbound_mail (mailbox, uid_validity, uid, message_id, kind, outcome,
			dispatch_id, milestone, from_addr, subject, summary, raw, received_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			m.Mailbox, int64(m.UIDValidity), int64(m.UID), m.MessageID, m.Kind, m.Outcome,
			nullID(m.DispatchID), string(m.Milestone), m.From, m.Subject, m.Summary, m.Raw, toMS(m.ReceivedAt)).Scan(&m.ID); err != nil {
			return err
		}
		recorded = true
		return s.saveInboxState(ctx, tx, m.Mailbox, m.UIDValidity, m.UID, now, false)
	})
	if err != nil {
		return false, dbError("record inbound mail", err)
	}
	return recorded, nil
}

const inboundColumns = `id, mailbox, uid_validity, uid, message_id, kind, outcome, dispatch_id, milestone, from_addr, subject, summary, received_at, reviewed_at, reviewed_by`

func scanInbound(sc scanner) (vanthu.InboundMail, error) {
	var (
		m                  vanthu.InboundMail
		uv, uid, received  int64
		dispatch, reviewed sql.NullInt64
		milestone          string
	)
	err := sc.Scan(&m.ID, &m.Mailbox, &uv, &uid, &m.MessageID, &m.Kind, &m.Outcome, &dispatch, &milestone,
		&m.From, &m.Subject, &m.Summary, &received, &reviewed, &m.ReviewedBy)
	m.UIDValidity, m.UID = uint32(uv), uint32(uid)
	m.DispatchID, m.Milestone = dispatch.Int64, vanthu.Milestone(milestone)
	m.ReceivedAt, m.ReviewedAt = fromMS(received), timePtr(reviewed)
	return m, err
}

// ListInbound returns inbound mail, newest first, without its source.
func (s *Store) ListInbound(ctx context.Context, f vanthu.InboundFilter) ([]vanthu.InboundMail, error) {
	query := "SELECT " + inboundColumns + " FROM inbound_mail"
	var (
		conds []string
		args  []any
	)
	if f.Review {
		conds = append(conds, "outcome IN ('unmatched', 'malformed') AND reviewed_at IS NULL")
	}
	if f.DispatchID != 0 {
		conds = append(conds, "dispatch_id = ?")
		args = append(args, f.DispatchID)
	}
	if len(conds) > 0 {
		query += " WHERE " + strings.Join(conds, " AND ")
	}
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, scanLimit(f.Limit))
	return queryAll(ctx, s.db, "list inbound mail", s.rebind(query), scanInbound, args...)
}

// GetInbound returns one inbound message with its source, or ENotFound.
func (s *Store) GetInbound(ctx context.Context, id int64) (vanthu.InboundMail, error) {
	var raw []byte
	m, err := scanInbound(&appendScan{s.db.QueryRowContext(ctx, s.rebind("SELECT "+inboundColumns+", raw FROM inbound_mail WHERE id = ?"), id), &raw})
	if errors.Is(err, sql.ErrNoRows) {
		return m, vanthu.Errorf(vanthu.ENotFound, "Không tìm thấy thư.")
	}
	m.Raw = raw
	return m, dbError("get inbound mail", err)
}

// appendScan scans one more column after the ones its caller asks for.
type appendScan struct {
	sc    scanner
	extra any
}

func (a *appendScan) Scan(dest ...any) error { return a.sc.Scan(append(dest, a.extra)...) }

// MarkInboundReviewed records that actor looked at an unmatched or
// malformed message, taking it off the review list.
func (s *Store) MarkInboundReviewed(ctx context.Context, id int64, actor string) error {
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind("UPDATE inbound_mail SET reviewed_at = ?, reviewed_by = ? WHERE id = ? AND reviewed_at IS NULL"), toMS(now), actor, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			var one int
			if err := tx.QueryRowContext(ctx, s.rebind("SELECT 1 FROM inbound_mail WHERE id = ?"), id).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return vanthu.Errorf(vanthu.ENotFound, "Không tìm thấy thư.")
			}
			return err
		}
		return s.insertEvent(ctx, tx, &vanthu.Event{At: now, Actor: actor, Action: "inbound_reviewed", Subject: "inbound:" + strconv.FormatInt(id, 10)})
	})
	return dbError("mark inbound reviewed", err)
}
