package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/vntext"
)

// Outgoing webhooks: the endpoints of the province's other systems that
// want to hear of every dispatch milestone, and the delivery of each
// milestone event to each of them. A delivery row is written in the
// transaction of its event (insertEvent), so the database alone says what
// is still to be sent; the queue only carries the attempts.

// Webhook validation limits.
const (
	// MinWebhookSecret is the shortest secret accepted: shorter HMAC keys
	// can be guessed from signed bodies.
	MinWebhookSecret   = 16
	maxWebhookSecret   = 256
	maxWebhookURL      = 2048
	maxWebhookDescr    = 200
	maxDeliveryErrText = 1000
	// Limits of ListDeliveries.
	defaultDeliveryLimit = 100
	maxDeliveryLimit     = 1000
)

// isWebhookAction reports whether events with action are delivered to the
// webhooks: the dispatch milestones, each of which writes one event.
func isWebhookAction(action string) bool {
	switch action {
	case "dispatch_queued", "dispatch_sent", "dispatch_read", "dispatch_acknowledged", "dispatch_bounced", "dispatch_failed":
		return true
	}
	return false
}

// insertDeliveries makes event e due to every active webhook, inside the
// caller's transaction. It is one statement, so with no webhook it costs a
// scan of an empty table. The casts give PostgreSQL the parameters' types,
// which it does not infer from the target columns of INSERT … SELECT.
func (s *Store) insertDeliveries(ctx context.Context, q querier, e *vanthu.Event) error {
	_, err := q.ExecContext(ctx, s.rebind(`INSERT INTO webhook_deliveries (webhook_id, event_id, created_at)
		SELECT id, CAST(? AS BIGINT), CAST(? AS BIGINT) FROM webhooks WHERE active`), e.ID, toMS(s.now()))
	if err != nil {
		return fmt.Errorf("webhook deliveries of event %d: %w", e.ID, err)
	}
	return nil
}

func webhookSubject(id int64) string { return "webhook:" + strconv.FormatInt(id, 10) }

func errWebhookNotFound() *vanthu.Error {
	return vanthu.Errorf(vanthu.ENotFound, "Không tìm thấy webhook.")
}

func errDeliveryNotFound() *vanthu.Error {
	return vanthu.Errorf(vanthu.ENotFound, "Không tìm thấy lượt gửi webhook.")
}

// validateWebhook normalises w and lists what is wrong with it.
func validateWebhook(w *vanthu.Webhook) []vanthu.Problem {
	w.URL = strings.TrimSpace(w.URL)
	w.Description = vntext.Clean(w.Description)
	var ps []vanthu.Problem
	u, err := url.Parse(w.URL)
	switch {
	case w.URL == "":
		ps = append(ps, vanthu.Problem{Field: "url", Message: "Chưa nhập địa chỉ nhận webhook."})
	case len(w.URL) > maxWebhookURL:
		ps = append(ps, vanthu.Problem{Field: "url", Message: fmt.Sprintf("Địa chỉ dài quá %d ký tự.", maxWebhookURL)})
	case err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		ps = append(ps, vanthu.Problem{Field: "url", Message: "Địa chỉ phải là một URL đầy đủ bắt đầu bằng http:// hoặc https://."})
	case u.User != nil:
		// It would be shown in every listing; the signature authenticates.
		ps = append(ps, vanthu.Problem{Field: "url", Message: "Không ghi tên đăng nhập hay mật khẩu trong địa chỉ: hệ thống nhận kiểm tra chữ ký X-Vanthu-Signature."})
	case u.Fragment != "":
		ps = append(ps, vanthu.Problem{Field: "url", Message: "Địa chỉ không được có phần #… (không được gửi đi)."})
	}
	switch n := utf8.RuneCountInString(w.Secret); {
	case w.Secret == "":
	case n < MinWebhookSecret:
		ps = append(ps, vanthu.Problem{Field: "secret", Message: fmt.Sprintf("Khóa bí mật phải dài ít nhất %d ký tự (để trống để hệ thống tự tạo).", MinWebhookSecret)})
	case n > maxWebhookSecret:
		ps = append(ps, vanthu.Problem{Field: "secret", Message: fmt.Sprintf("Khóa bí mật dài quá %d ký tự.", maxWebhookSecret)})
	case strings.TrimSpace(w.Secret) != w.Secret:
		// Copied with a stray space, it would never match on the other side.
		ps = append(ps, vanthu.Problem{Field: "secret", Message: "Khóa bí mật không được bắt đầu hay kết thúc bằng khoảng trắng."})
	}
	if utf8.RuneCountInString(w.Description) > maxWebhookDescr {
		ps = append(ps, vanthu.Problem{Field: "description", Message: fmt.Sprintf("Mô tả dài quá %d ký tự.", maxWebhookDescr)})
	}
	return ps
}

// newWebhookSecret returns 256 random bits, base64url-encoded.
func newWebhookSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("store: webhook secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// CreateWebhook validates w (an absolute http or https URL; a secret of at
// least MinWebhookSecret characters, or none, and one is generated), stores
// it active and records webhook_created (without the secret). It sets
// w.ID, Secret, Active, CreatedAt and CreatedBy. EInvalid names the fields.
// The new webhook receives the milestones reached from now on.
func (s *Store) CreateWebhook(ctx context.Context, w *vanthu.Webhook, actor string) error {
	if ps := validateWebhook(w); len(ps) > 0 {
		return vanthu.Invalid("Thông tin webhook không hợp lệ.", ps...)
	}
	if w.Secret == "" {
		secret, err := newWebhookSecret()
		if err != nil {
			return err
		}
		w.Secret = secret
	}
	now := s.now()
	w.Active, w.CreatedAt, w.CreatedBy = true, now, actor
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, s.rebind(`INSERT INTO webhooks (url, secret, active, description, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`), w.URL, w.Secret, true, w.Description, toMS(now), actor).Scan(&w.ID); err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]string{"url": w.URL, "description": w.Description})
		return s.insertEvent(ctx, tx, &vanthu.Event{
			At: now, Actor: actor, Action: "webhook_created", Source: sourceOf(actor),
			Subject: webhookSubject(w.ID), Detail: string(detail),
		})
	})
	if err != nil {
		w.ID = 0
		return dbError("create webhook", err)
	}
	return nil
}

const webhookColumns = "w.id, w.url, w.active, w.description, w.created_at, w.created_by"

func scanWebhook(sc scanner, dst ...any) (vanthu.Webhook, error) {
	var (
		w       vanthu.Webhook
		created int64
	)
	err := sc.Scan(append([]any{&w.ID, &w.URL, &w.Active, &w.Description, &created, &w.CreatedBy}, dst...)...)
	w.CreatedAt = fromMS(created)
	return w, err
}

// GetWebhook returns webhook id without its secret, or ENotFound.
func (s *Store) GetWebhook(ctx context.Context, id int64) (vanthu.Webhook, error) {
	return s.getWebhook(ctx, s.db, id)
}

func (s *Store) getWebhook(ctx context.Context, q querier, id int64) (vanthu.Webhook, error) {
	w, err := scanWebhook(q.QueryRowContext(ctx, s.rebind("SELECT "+webhookColumns+" FROM webhooks w WHERE w.id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return w, errWebhookNotFound()
	}
	return w, dbError("get webhook", err)
}

// ListWebhooks returns every webhook, oldest first, without their secrets.
func (s *Store) ListWebhooks(ctx context.Context) ([]vanthu.Webhook, error) {
	return queryAll(ctx, s.db, "list webhooks", "SELECT "+webhookColumns+" FROM webhooks w ORDER BY w.id",
		func(sc scanner) (vanthu.Webhook, error) { return scanWebhook(sc) })
}

// SetWebhookActive starts or stops the deliveries to webhook id and
// records webhook_activated or webhook_deactivated. An inactive webhook is
// not due the milestones reached meanwhile, and its pending deliveries wait
// (they are not swept) until it is active again. Setting the state it has
// changes nothing and records nothing. ENotFound if there is no such
// webhook.
func (s *Store) SetWebhookActive(ctx context.Context, id int64, active bool, actor string) error {
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Conditional, so two concurrent requests record one event.
		res, err := tx.ExecContext(ctx, s.rebind("UPDATE webhooks SET active = ? WHERE id = ? AND active <> ?"), active, id, active)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			_, err := s.getWebhook(ctx, tx, id)
			return err
		}
		action := "webhook_deactivated"
		if active {
			action = "webhook_activated"
		}
		return s.insertEvent(ctx, tx, &vanthu.Event{
			At: now, Actor: actor, Action: action, Source: sourceOf(actor), Subject: webhookSubject(id), Detail: "{}",
		})
	})
	return dbError("set webhook active", err)
}

const deliveryColumns = `d.id, d.webhook_id, d.event_id, d.created_at, d.attempts, d.last_attempt_at, d.last_status,
	d.last_error, d.delivered_at, d.gave_up_at, e.id, e.at, e.actor, e.action, e.source, e.subject, e.detail, e.evidence_ref`

const deliveryFrom = " FROM webhook_deliveries d JOIN events e ON e.id = d.event_id"

func scanDelivery(sc scanner, dst ...any) (vanthu.WebhookDelivery, error) {
	var (
		d                            vanthu.WebhookDelivery
		created, at                  int64
		lastAttempt, delivered, gave sql.NullInt64
		source                       string
		e                            = &d.Event
	)
	err := sc.Scan(append([]any{&d.ID, &d.WebhookID, &d.EventID, &created, &d.Attempts, &lastAttempt, &d.LastStatus,
		&d.LastError, &delivered, &gave, &e.ID, &at, &e.Actor, &e.Action, &source, &e.Subject, &e.Detail, &e.EvidenceRef}, dst...)...)
	d.CreatedAt, e.At, e.Source = fromMS(created), fromMS(at), vanthu.EventSource(source)
	d.LastAttemptAt, d.DeliveredAt, d.GaveUpAt = timePtr(lastAttempt), timePtr(delivered), timePtr(gave)
	switch {
	case d.DeliveredAt != nil:
		d.State = vanthu.DeliveryDelivered
	case d.GaveUpAt != nil:
		d.State = vanthu.DeliveryGaveUp
	default:
		d.State = vanthu.DeliveryPending
	}
	return d, err
}

// PendingDeliveries returns up to limit (default 100) deliveries neither
// delivered nor given up, of active webhooks, by id: what the sweep puts
// (back) on the queue.
func (s *Store) PendingDeliveries(ctx context.Context, limit int) ([]int64, error) {
	return s.ids(ctx, "pending webhook deliveries", `SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
		WHERE d.delivered_at IS NULL AND d.gave_up_at IS NULL AND w.active ORDER BY d.id LIMIT ?`, scanLimit(limit))
}

// GetDelivery returns delivery id with its event, its webhook (secret
// included) and, for an event about a dispatch, the dispatch's document
// and unit code; ENotFound if there is no such delivery.
func (s *Store) GetDelivery(ctx context.Context, id int64) (vanthu.Delivery, error) {
	var (
		out     vanthu.Delivery
		secret  string
		created int64
		w       = &out.Webhook
	)
	d, err := scanDelivery(s.db.QueryRowContext(ctx, s.rebind("SELECT "+deliveryColumns+
		", w.url, w.active, w.description, w.created_at, w.created_by, w.secret"+deliveryFrom+
		" JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = ?"), id),
		&w.URL, &w.Active, &w.Description, &created, &w.CreatedBy, &secret)
	if errors.Is(err, sql.ErrNoRows) {
		return out, errDeliveryNotFound()
	}
	if err != nil {
		return out, dbError("get webhook delivery", err)
	}
	out.WebhookDelivery = d
	w.ID, w.Secret, w.CreatedAt = d.WebhookID, secret, fromMS(created)
	if rest, ok := strings.CutPrefix(d.Event.Subject, "dispatch:"); ok {
		if did, perr := strconv.ParseInt(rest, 10, 64); perr == nil {
			err := s.db.QueryRowContext(ctx, s.rebind("SELECT d.document_id, u.code FROM dispatches d JOIN units u ON u.id = d.unit_id WHERE d.id = ?"), did).
				Scan(&out.DocumentID, &out.UnitCode)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return out, dbError("get webhook delivery", err)
			}
			out.DispatchID = did
		}
	}
	return out, nil
}

// RecordAttempt records an attempt at delivery id made at at: the HTTP
// status (0 for no answer), the error ("" on success; cut to 1000 bytes),
// and whether it ended the delivery, delivered or given up (not both). The
// first end time is kept. It records no event: a receiver that is down for
// a day would flood the audit log; the delivery row is the log. ENotFound
// if there is no such delivery.
func (s *Store) RecordAttempt(ctx context.Context, id int64, status int, errText string, at time.Time, delivered, gaveUp bool) error {
	if delivered && gaveUp {
		return fmt.Errorf("store: record webhook attempt %d: delivered and given up at once", id)
	}
	atMS := toMS(at)
	sets := []string{"attempts = attempts + 1", "last_attempt_at = ?", "last_status = ?", "last_error = ?"}
	args := []any{atMS, status, cutText(errText, maxDeliveryErrText)}
	if delivered {
		sets = append(sets, "delivered_at = COALESCE(delivered_at, ?)")
		args = append(args, atMS)
	}
	if gaveUp {
		sets = append(sets, "gave_up_at = COALESCE(gave_up_at, ?)")
		args = append(args, atMS)
	}
	res, err := s.exec(ctx, s.rebind("UPDATE webhook_deliveries SET "+strings.Join(sets, ", ")+" WHERE id = ?"), append(args, id)...)
	if err != nil {
		return dbError("record webhook attempt", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbError("record webhook attempt", err)
	} else if n == 0 {
		return errDeliveryNotFound()
	}
	return nil
}

// cutText cuts s to at most n bytes without splitting a character.
func cutText(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ListDeliveries returns the delivery log of webhook webhookID (0: of
// every webhook), newest first, at most limit (default 100, at most 1000),
// each with its event. ENotFound if there is no such webhook.
func (s *Store) ListDeliveries(ctx context.Context, webhookID int64, limit int) ([]vanthu.WebhookDelivery, error) {
	if limit <= 0 {
		limit = defaultDeliveryLimit
	}
	limit = min(limit, maxDeliveryLimit)
	query, args := "SELECT "+deliveryColumns+deliveryFrom, []any{}
	if webhookID != 0 {
		if _, err := s.GetWebhook(ctx, webhookID); err != nil {
			return nil, err
		}
		query += " WHERE d.webhook_id = ?"
		args = append(args, webhookID)
	}
	query += " ORDER BY d.id DESC LIMIT ?"
	return queryAll(ctx, s.db, "list webhook deliveries", s.rebind(query),
		func(sc scanner) (vanthu.WebhookDelivery, error) { return scanDelivery(sc) }, append(args, limit)...)
}

// ReplayDelivery makes delivery id due again, delivered or given up
// before, and records webhook_replayed; the caller then enqueues it. Its
// attempts keep counting. EConflict if its webhook is inactive (it would
// not be sent), ENotFound if there is no such delivery.
func (s *Store) ReplayDelivery(ctx context.Context, id int64, actor string) (vanthu.WebhookDelivery, error) {
	now := s.now()
	var d vanthu.WebhookDelivery
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var active bool
		var err error
		d, err = scanDelivery(tx.QueryRowContext(ctx, s.rebind("SELECT "+deliveryColumns+", w.active"+deliveryFrom+
			" JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = ?"), id), &active)
		if errors.Is(err, sql.ErrNoRows) {
			return errDeliveryNotFound()
		}
		if err != nil {
			return err
		}
		if !active {
			return vanthu.Errorf(vanthu.EConflict, "vanthu.Webhook đã ngừng hoạt động, không gửi lại được.")
		}
		if _, err := tx.ExecContext(ctx, s.rebind("UPDATE webhook_deliveries SET delivered_at = NULL, gave_up_at = NULL WHERE id = ?"), id); err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]any{"delivery_id": id, "event_id": d.EventID, "previous_state": d.State})
		d.DeliveredAt, d.GaveUpAt, d.State = nil, nil, vanthu.DeliveryPending
		return s.insertEvent(ctx, tx, &vanthu.Event{
			At: now, Actor: actor, Action: "webhook_replayed", Source: sourceOf(actor),
			Subject: webhookSubject(d.WebhookID), Detail: string(detail),
		})
	})
	if err != nil {
		return vanthu.WebhookDelivery{}, dbError("replay webhook delivery", err)
	}
	return d, nil
}
