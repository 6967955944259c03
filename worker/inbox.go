package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hibiken/asynq"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/mailer"
)

// Task types of the office mailbox.
const (
	// TypeInboxPoll reads the new messages of the office mailbox,
	// classifies them and records what they prove.
	TypeInboxPoll = "inbox:poll"
)

// Mailbox handling.
const (
	// inboxBatch is how many messages one fetch reads.
	inboxBatch = 50
)

// InboxPayload names the mailbox to read.
type InboxPayload struct {
	Mailbox string `json:"mailbox"`
}

// NewInboxPollTask builds a poll of mailbox. Its ID is the mailbox's, so a
// poll requested while one waits is the same work; the one running picks
// up whatever arrived before it fetched, and the watcher asks again for
// the rest.
func NewInboxPollTask(mailbox string) (*asynq.Task, []asynq.Option, error) {
	return newTask(TypeInboxPoll, InboxPayload{Mailbox: mailbox}, TypeInboxPoll+":"+mailbox,
		asynq.Queue(QueueDefault), asynq.MaxRetry(5), asynq.Timeout(10*time.Minute))
}

// IMAPMailbox is the office mailbox as the poll uses it (mailer.Mailbox).
type IMAPMailbox interface {
	UIDValidity() uint32
	FetchSince(ctx context.Context, after uint32, limit int) ([]mailer.Fetched, error)
	AddFlags(ctx context.Context, uid uint32, flags ...string) error
	Move(ctx context.Context, uid uint32, folder string) error
	Close() error
}

// InboxStore is the store side of the mailbox poll.
type InboxStore interface {
	InboxState(ctx context.Context, mailbox string) (uidValidity, lastUID uint32, ok bool, err error)
	ResetInbox(ctx context.Context, mailbox string, uidValidity uint32) error
	RecordInbound(ctx context.Context, m *vanthu.InboundMail, ev *vanthu.Evidence) (bool, error)
	DispatchByMailTag(ctx context.Context, tag string) (vanthu.Dispatch, error)
	DispatchByMessageID(ctx context.Context, mid string) (vanthu.Dispatch, error)
}

// Inbox holds what the mailbox tasks need: it reads the office mailbox,
// turns read receipts, bounces and replies into milestones, and keeps
// every other message for the clerk.
type Inbox struct {
	Store InboxStore
	// Open connects to the mailbox and selects Mailbox.
	Open    func(ctx context.Context) (IMAPMailbox, error)
	Mailbox string // the folder name, for the checkpoint (default INBOX)
	// Office is the office mailbox address; plus-tags of it name
	// dispatches, with TagSeparator between local part and tag.
	Office       string
	TagSeparator string
	// Processed says what to do with a message once recorded: "" leaves
	// it, "seen" marks it read, "flag" adds the $VanthuProcessed keyword,
	// "move:FOLDER" moves it. A failure here is logged, not retried: the
	// checkpoint already protects against reading it twice.
	Processed string
	Logger    *slog.Logger
	Now       func() time.Time
}

func (in *Inbox) mailbox() string {
	if in.Mailbox == "" {
		return "INBOX"
	}
	return in.Mailbox
}

func (in *Inbox) logger() *slog.Logger {
	if in.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return in.Logger
}

func (in *Inbox) now() time.Time {
	if in.Now != nil {
		return in.Now()
	}
	return time.Now()
}

// HandleInboxPoll reads every message after the checkpoint, in UID order.
// A message is recorded (with the milestone it proves) and the checkpoint
// moved in one transaction, so an interrupted poll resumes where it
// stopped. A changed UIDVALIDITY starts the mailbox over; messages
// recognised by Message-ID are then recorded as duplicates.
func (h *Handlers) HandleInboxPoll(ctx context.Context, t *asynq.Task) error {
	_, err := h.Inbox.Poll(ctx)
	return err
}

// Poll reads the mailbox once to the end and returns how many new
// messages it recorded.
func (in *Inbox) Poll(ctx context.Context) (int, error) {
	mb, err := in.Open(ctx)
	if err != nil {
		return 0, err
	}
	defer mb.Close()
	name := in.mailbox()
	uv, last, ok, err := in.Store.InboxState(ctx, name)
	if err != nil {
		return 0, err
	}
	if !ok || uv != mb.UIDValidity() {
		if ok {
			in.logger().WarnContext(ctx, "mailbox uidvalidity changed: reading it again",
				slog.String("mailbox", name), slog.Uint64("old_uid_validity", uint64(uv)), slog.Uint64("uid_validity", uint64(mb.UIDValidity())))
		}
		if err := in.Store.ResetInbox(ctx, name, mb.UIDValidity()); err != nil {
			return 0, err
		}
		uv, last = mb.UIDValidity(), 0
	}
	n := 0
	for {
		msgs, err := mb.FetchSince(ctx, last, inboxBatch)
		if err != nil {
			return n, err
		}
		if len(msgs) == 0 {
			return n, nil
		}
		for _, f := range msgs {
			m, recorded, err := in.process(ctx, uv, f)
			if err != nil {
				return n, err
			}
			last = f.UID
			if !recorded {
				continue
			}
			n++
			in.logger().InfoContext(ctx, "inbound mail", slog.Uint64("uid", uint64(f.UID)), slog.String("kind", m.Kind),
				slog.String("outcome", m.Outcome), slog.Int64("dispatch_id", m.DispatchID), slog.String("message_id", m.MessageID))
			in.afterProcessing(ctx, mb, f.UID)
		}
	}
}

// afterProcessing marks or moves a recorded message as configured.
func (in *Inbox) afterProcessing(ctx context.Context, mb IMAPMailbox, uid uint32) {
	var err error
	switch p := in.Processed; {
	case p == "":
		return
	case p == "seen":
		err = mb.AddFlags(ctx, uid, `\Seen`)
	case p == "flag":
		err = mb.AddFlags(ctx, uid, "$VanthuProcessed")
	case strings.HasPrefix(p, "move:"):
		err = mb.Move(ctx, uid, strings.TrimPrefix(p, "move:"))
	}
	if err != nil {
		in.logger().WarnContext(ctx, "mark processed mail", slog.Uint64("uid", uint64(uid)), slog.String("error", err.Error()))
	}
}

// process classifies one message, matches it and records it. Only a
// store failure is an error: whatever the message holds, it is recorded.
func (in *Inbox) process(ctx context.Context, uidValidity uint32, f mailer.Fetched) (*vanthu.InboundMail, bool, error) {
	c := mailer.Classify(f.Raw, mailer.ClassifyOptions{MaxPartBytes: mailer.DefaultMaxPartBytes, Office: in.Office, TagSeparator: in.TagSeparator})
	m := &vanthu.InboundMail{
		Mailbox: in.mailbox(), UIDValidity: uidValidity, UID: f.UID,
		MessageID: clean(c.MessageID, 998), Kind: string(c.Kind),
		From: clean(fromLine(c), 500), Subject: clean(c.Subject, 1000),
		ReceivedAt: f.InternalDate,
	}
	if m.ReceivedAt.IsZero() {
		m.ReceivedAt = in.now()
	}
	raw := f.Raw
	if len(raw) > vanthu.MaxInboundRaw {
		raw = raw[:vanthu.MaxInboundRaw]
	}
	m.Raw = raw
	summary, err := json.Marshal(c)
	if err != nil {
		summary = []byte("{}")
	}
	m.Summary = string(summary)

	var ev *vanthu.Evidence
	if c.Kind == mailer.InboundMalformed {
		m.Outcome = vanthu.InboundMalformed
	} else {
		d, found, err := in.match(ctx, c)
		if err != nil {
			return m, false, err
		}
		if !found {
			m.Outcome = vanthu.InboundUnmatched
		} else {
			m.DispatchID = d.ID
			ev = in.evidence(d, c, m)
			m.Outcome = vanthu.InboundRecorded
			if ev.Milestone != "" {
				m.Outcome, m.Milestone = vanthu.InboundApplied, ev.Milestone
			}
		}
	}
	// Every string was cleaned above (valid UTF-8, no NUL, bounded), so
	// the database takes any message; a failure here is the database's,
	// and the poll is retried from this message.
	recorded, err := in.Store.RecordInbound(ctx, m, ev)
	if vanthu.ErrorCodeOf(err) == vanthu.EConflict {
		// Another poll recorded this UID a moment ago.
		return m, false, nil
	}
	return m, recorded, err
}

// clean makes a header value safe to store: valid UTF-8, no NUL (which
// PostgreSQL text refuses), at most max runes.
func clean(s string, max int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max])
	}
	return s
}

// ourMessageID matches the Message-IDs vanthu gives a dispatch and its
// reminders: vanthu.d<id>.<tag>@… and vanthu.d<id>.r<n>.<tag>@….
var ourMessageID = regexp.MustCompile(`^vanthu\.d([0-9]+)\.(?:r[0-9]+\.)?([a-z2-7]+)@`)

// match finds the dispatch a message is about: first by the plus-tag of
// the address it was sent to (the envelope sender and Reply-To of every
// dispatch), then by the Message-IDs it refers to.
func (in *Inbox) match(ctx context.Context, c mailer.Inbound) (vanthu.Dispatch, bool, error) {
	try := func(d vanthu.Dispatch, err error) (vanthu.Dispatch, bool, error) {
		if err == nil {
			return d, true, nil
		}
		if vanthu.ErrorCodeOf(err) == vanthu.ENotFound {
			return d, false, nil
		}
		return d, false, err
	}
	for _, tag := range c.Tags {
		if d, found, err := try(in.Store.DispatchByMailTag(ctx, tag)); found || err != nil {
			return d, found, err
		}
	}
	for _, ref := range c.References {
		if d, found, err := try(in.Store.DispatchByMessageID(ctx, ref)); found || err != nil {
			return d, found, err
		}
		// A reminder's Message-ID is not stored on the dispatch; it names
		// the dispatch and carries its tag.
		if sm := ourMessageID.FindStringSubmatch(strings.ToLower(ref)); sm != nil {
			d, found, err := try(in.Store.DispatchByMailTag(ctx, sm[2]))
			if err != nil {
				return d, false, err
			}
			if found && strconv.FormatInt(d.ID, 10) == sm[1] {
				return d, true, nil
			}
		}
	}
	return vanthu.Dispatch{}, false, nil
}

// evidence says what a matched message proves about dispatch d.
func (in *Inbox) evidence(d vanthu.Dispatch, c mailer.Inbound, m *vanthu.InboundMail) *vanthu.Evidence {
	ref := m.MessageID
	if ref == "" {
		ref = fmt.Sprintf("imap uid %d/%d", m.UIDValidity, m.UID)
	}
	ev := &vanthu.Evidence{DispatchID: d.ID, At: m.ReceivedAt, Actor: d.UnitCode, Ref: ref, Detail: map[string]any{"inbound_uid": m.UID}}
	if ev.Actor == "" {
		ev.Actor = "unit:" + strconv.FormatInt(d.UnitID, 10)
	}
	switch c.Kind {
	case mailer.InboundMDN:
		ev.Source = vanthu.SourceIMAPMDN
		var mdn mailer.MDN
		if c.MDN != nil {
			mdn = *c.MDN
		}
		ev.Detail["disposition"] = mdn.Disposition
		if mdn.ReportingUA != "" {
			ev.Detail["reporting_ua"] = clean(mdn.ReportingUA, 200)
		}
		if mdn.Disposition == "displayed" {
			ev.Milestone = vanthu.MilestoneRead
		} else {
			// Deleted unread, denied, failed: worth knowing, and the
			// unit still has to confirm.
			ev.Action = "dispatch_receipt_" + actionWord(mdn.Disposition, "unknown")
		}
	case mailer.InboundDSN:
		ev.Source = vanthu.SourceIMAPDSN
		status, diag, action := dsnSummary(c)
		ev.Detail["status"], ev.Detail["action"] = status, action
		if diag != "" {
			ev.Detail["diagnostic"] = diag
		}
		if c.DSN != nil && c.DSN.Failed {
			ev.Milestone = vanthu.MilestoneBounced
			ev.Reason = strings.TrimSpace(status + " " + diag)
		} else {
			ev.Action = "dispatch_dsn_" + actionWord(action, "report")
		}
	case mailer.InboundReply:
		ev.Source = vanthu.SourceIMAPReply
		ev.Milestone = vanthu.MilestoneAcknowledged
		note := c.Text
		if utf8.RuneCountInString(note) > vanthu.MaxAckNote {
			note = string([]rune(note)[:vanthu.MaxAckNote])
		}
		name := c.FromName
		if name == "" {
			name = c.From
		}
		ev.Ack = &vanthu.Ack{Name: clean(name, vanthu.MaxAckName), Note: clean(note, vanthu.MaxAckNote)}
	default:
		// An auto-reply or anything else that names the dispatch: worth
		// recording, proves nothing.
		ev.Source = vanthu.SourceIMAPReply
		ev.Action = "dispatch_mail_other"
		if c.AutoReply {
			ev.Action = "dispatch_autoreply"
		}
		ev.Detail["subject"] = m.Subject
	}
	return ev
}

// actionWord keeps a word from a report safe as part of an event action.
func actionWord(s, fallback string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '-' {
			return fallback
		}
	}
	if s == "" {
		return fallback
	}
	return strings.ReplaceAll(s, "-", "_")
}

// dsnSummary picks the status, diagnostic and action of the failed (else
// the first) recipient of a delivery report.
func dsnSummary(c mailer.Inbound) (status, diag, action string) {
	if c.DSN == nil {
		return "", "", ""
	}
	for i, r := range c.DSN.Recipients {
		if i == 0 || strings.EqualFold(r.Action, "failed") {
			status, diag, action = r.Status, r.DiagnosticCode, r.Action
			if strings.EqualFold(r.Action, "failed") {
				break
			}
		}
	}
	return clean(status, 20), clean(diag, 1000), strings.ToLower(action)
}

// fromLine is the sender as the clerk reads it: "Name <address>".
func fromLine(c mailer.Inbound) string {
	if c.FromName != "" && c.From != "" {
		return c.FromName + " <" + c.From + ">"
	}
	return c.FromName + c.From
}

// Watch keeps one IMAP connection open and asks for a poll whenever the
// server says new mail arrived (IDLE), at least every interval, and after
// every (re)connection. It returns when ctx ends. Connection
// failures are logged and retried with a growing pause: the scheduled
// poll keeps mail flowing meanwhile.
func (in *Inbox) Watch(ctx context.Context, q TaskEnqueuer, interval time.Duration) {
	if interval <= 0 {
		interval = time.Minute
	}
	poll := func() {
		t, opts, err := NewInboxPollTask(in.mailbox())
		if err == nil {
			_, err = q.Enqueue(ctx, t, opts...)
		}
		if err != nil && ctx.Err() == nil {
			in.logger().WarnContext(ctx, "enqueue inbox poll", slog.String("error", err.Error()))
		}
	}
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	backoff := time.Second
	for ctx.Err() == nil {
		mb, err := in.Open(ctx)
		if err != nil {
			in.logger().WarnContext(ctx, "inbox watcher cannot connect", slog.String("error", err.Error()), slog.Duration("retry_in", backoff))
			if !wait(backoff) {
				return
			}
			backoff = min(2*backoff, 5*time.Minute)
			continue
		}
		backoff = time.Second
		// Whatever arrived while there was no connection (or before the
		// first) is read now; from here on the server tells.
		poll()
		in.watchConn(ctx, mb, interval, poll, wait)
		_ = mb.Close()
	}
}

// TaskEnqueuer adds a task (Client).
type TaskEnqueuer interface {
	Enqueue(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (string, error)
}

// idleWaiter is a mailbox that can wait for new mail (mailer.Mailbox).
type idleWaiter interface {
	WaitNew(ctx context.Context, timeout time.Duration) (bool, error)
	SupportsIdle() bool
}

func (in *Inbox) watchConn(ctx context.Context, mb IMAPMailbox, interval time.Duration, poll func(), wait func(time.Duration) bool) {
	iw, ok := mb.(idleWaiter)
	if !ok || !iw.SupportsIdle() {
		// No push: poll on the interval, with this connection kept only
		// as a liveness check of the server.
		for wait(interval) {
			poll()
		}
		return
	}
	for ctx.Err() == nil {
		// Poll after every wake, news or not: a notice can be lost while
		// the poll that would have seen the mail was finishing.
		if _, err := iw.WaitNew(ctx, interval); err != nil {
			if ctx.Err() == nil {
				in.logger().WarnContext(ctx, "inbox watcher lost the connection", slog.String("error", err.Error()))
			}
			return
		}
		poll()
	}
}
