package vanthu

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Milestone is a step a dispatch reaches. Each is a timestamp set once.
type Milestone string

// Milestones in the order of the status ladder. Bounced and failed end a
// dispatch without it reaching the unit.
const (
	MilestoneQueued       Milestone = "queued"
	MilestoneSent         Milestone = "sent"
	MilestoneRead         Milestone = "read"
	MilestoneAcknowledged Milestone = "acknowledged"
	MilestoneBounced      Milestone = "bounced"
	MilestoneFailed       Milestone = "failed"
)

// rank orders milestones for the status: the highest reached wins. A
// bounce comes after the SMTP server accepted the message, so it outranks
// sent; a unit that read or acknowledged has obviously received the mail,
// so a bounce report arriving later (from a second mailbox of the unit,
// say) does not hide that. Sent and failed exclude each other.
func (m Milestone) rank() int {
	switch m {
	case MilestoneQueued:
		return 1
	case MilestoneSent:
		return 2
	case MilestoneFailed:
		return 3
	case MilestoneBounced:
		return 4
	case MilestoneRead:
		return 5
	case MilestoneAcknowledged:
		return 6
	}
	return 0
}

// Valid reports whether m is a known milestone.
func (m Milestone) Valid() bool { return m.rank() > 0 }

// Label returns the Vietnamese name of the milestone as a status.
func (m Milestone) Label() string {
	switch m {
	case MilestoneQueued:
		return "Chờ gửi"
	case MilestoneSent:
		return "Đã gửi"
	case MilestoneRead:
		return "Đã xem"
	case MilestoneAcknowledged:
		return "Đã xác nhận"
	case MilestoneBounced:
		return "Bị trả lại"
	case MilestoneFailed:
		return "Gửi lỗi"
	}
	return string(m)
}

// Dispatch is one document sent to one unit.
type Dispatch struct {
	ID             int64      `json:"id"`
	DocumentID     int64      `json:"document_id"`
	UnitID         int64      `json:"unit_id"`
	Email          string     `json:"email"`
	MessageID      string     `json:"message_id,omitempty"`
	QueuedAt       *time.Time `json:"queued_at,omitempty"`
	SentAt         *time.Time `json:"sent_at,omitempty"`
	ReadAt         *time.Time `json:"read_at,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	BouncedAt      *time.Time `json:"bounced_at,omitempty"`
	FailedAt       *time.Time `json:"failed_at,omitempty"`
	FailReason     string     `json:"fail_reason,omitempty"`
	Reminded       int        `json:"reminded"`
	Deadline       *time.Time `json:"deadline,omitempty"`
	// MailTag is the dispatch's tag in the office's plus-address
	// (vanban+TAG@…): bounces, read receipts and replies carry it back.
	// It identifies, it does not authorise (the ack token does).
	MailTag string `json:"-"`
	// Ack is who confirmed receipt, when a person did (ack page, API or a
	// reply); empty otherwise.
	Ack Ack `json:"ack"`
	// UnitCode and UnitName are filled by listings, for display.
	UnitCode string `json:"unit_code,omitempty"`
	UnitName string `json:"unit_name,omitempty"`
}

// Ack is the confirmation of receipt a unit gives: who confirmed, in what
// position, and an optional note (or the text of the unit's reply).
type Ack struct {
	Name     string `json:"name,omitempty"`
	Position string `json:"position,omitempty"`
	Note     string `json:"note,omitempty"`
}

// Limits of an Ack's fields, in runes.
const (
	MaxAckName = 200
	MaxAckNote = 2000
)

// Validate trims the fields and checks them. The name is required when
// required is set (the ack form and the API ask for it; a reply by mail
// has only the sender's name). EInvalid names the field.
func (a *Ack) Validate(required bool) error {
	a.Name, a.Position, a.Note = strings.TrimSpace(a.Name), strings.TrimSpace(a.Position), strings.TrimSpace(a.Note)
	var ps []Problem
	if required && a.Name == "" {
		ps = append(ps, Problem{Field: "name", Message: "Vui lòng nhập họ và tên người xác nhận."})
	}
	if utf8.RuneCountInString(a.Name) > MaxAckName {
		ps = append(ps, Problem{Field: "name", Message: fmt.Sprintf("Họ và tên dài quá %d ký tự.", MaxAckName)})
	}
	if utf8.RuneCountInString(a.Position) > MaxAckName {
		ps = append(ps, Problem{Field: "position", Message: fmt.Sprintf("Chức vụ dài quá %d ký tự.", MaxAckName)})
	}
	if utf8.RuneCountInString(a.Note) > MaxAckNote {
		ps = append(ps, Problem{Field: "note", Message: fmt.Sprintf("Ghi chú dài quá %d ký tự.", MaxAckNote)})
	}
	if len(ps) > 0 {
		return Invalid("Thông tin xác nhận chưa hợp lệ.", ps...)
	}
	return nil
}

// Progress counts a document's dispatches by status, for the progress bar.
// Every dispatch is counted once, under Status.
type Progress struct {
	Total        int `json:"total"`
	Queued       int `json:"queued"`
	Sent         int `json:"sent"`
	Read         int `json:"read"`
	Acknowledged int `json:"acknowledged"`
	Bounced      int `json:"bounced"`
	Failed       int `json:"failed"`
	Overdue      int `json:"overdue"` // not acknowledged by the deadline (any status but failed)
}

// Add counts d, as of now, in p.
func (p *Progress) Add(d *Dispatch, now time.Time) {
	p.Total++
	switch d.Status() {
	case MilestoneQueued:
		p.Queued++
	case MilestoneSent:
		p.Sent++
	case MilestoneRead:
		p.Read++
	case MilestoneAcknowledged:
		p.Acknowledged++
	case MilestoneBounced:
		p.Bounced++
	case MilestoneFailed:
		p.Failed++
	}
	if d.Overdue(now) {
		p.Overdue++
	}
}

// Overdue reports whether d has a deadline that passed before now without
// an acknowledgement. A failed dispatch is not overdue: it never arrived.
func (d *Dispatch) Overdue(now time.Time) bool {
	return d.Deadline != nil && d.AcknowledgedAt == nil && d.FailedAt == nil && now.After(*d.Deadline)
}

func (d *Dispatch) field(m Milestone) **time.Time {
	switch m {
	case MilestoneQueued:
		return &d.QueuedAt
	case MilestoneSent:
		return &d.SentAt
	case MilestoneRead:
		return &d.ReadAt
	case MilestoneAcknowledged:
		return &d.AcknowledgedAt
	case MilestoneBounced:
		return &d.BouncedAt
	case MilestoneFailed:
		return &d.FailedAt
	}
	return nil
}

// Reached returns when d reached m, or nil.
func (d *Dispatch) Reached(m Milestone) *time.Time {
	if f := d.field(m); f != nil {
		return *f
	}
	return nil
}

// Apply records milestone m at time at. A milestone is set once: applying
// it again changes nothing and returns false, so duplicate evidence (a second
// read receipt, a retried task) is harmless. Evidence of a milestone implies
// the ones before it on the delivery path: an acknowledgement means the
// message was read, a read means it was sent.
func (d *Dispatch) Apply(m Milestone, at time.Time) bool {
	f := d.field(m)
	if f == nil || *f != nil {
		return false
	}
	t := at
	*f = &t
	switch m {
	case MilestoneAcknowledged:
		d.Apply(MilestoneRead, at)
		d.Apply(MilestoneSent, at)
	case MilestoneRead:
		d.Apply(MilestoneSent, at)
	}
	return true
}

// Status is the highest milestone reached. Late evidence never moves it
// backwards: a bounce after an acknowledgement leaves it acknowledged.
func (d *Dispatch) Status() Milestone {
	var best Milestone
	for _, m := range []Milestone{MilestoneQueued, MilestoneFailed, MilestoneBounced, MilestoneSent, MilestoneRead, MilestoneAcknowledged} {
		if *d.field(m) != nil && m.rank() > best.rank() {
			best = m
		}
	}
	return best
}
