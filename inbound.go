package vanthu

import "time"

// Inbound mail kinds, as the classifier names them.
const (
	InboundKindMDN       = "mdn"       // read receipt (RFC 8098)
	InboundKindDSN       = "dsn"       // bounce or delay report (RFC 3464 and common non-standard ones)
	InboundKindReply     = "reply"     // a person's reply
	InboundKindOther     = "other"     // anything else, auto-replies included
	InboundKindMalformed = "malformed" // unreadable
)

// Outcomes of processing an inbound message.
const (
	// InboundApplied: the message moved a dispatch to a milestone.
	InboundApplied = "applied"
	// InboundRecorded: matched to a dispatch and recorded as an event
	// without moving its status (a receipt saying "deleted", a delay
	// report, an auto-reply, a milestone already reached).
	InboundRecorded = "recorded"
	// InboundDuplicate: the same Message-ID was processed before (a
	// mailbox read again after its UIDVALIDITY changed).
	InboundDuplicate = "duplicate"
	// InboundUnmatched: no dispatch matches; left for the clerk.
	InboundUnmatched = "unmatched"
	// InboundMalformed: unreadable; kept for the clerk, skipped.
	InboundMalformed = "malformed"
)

// MaxInboundRaw bounds the source kept with each inbound message, as the
// evidence the clerk can open; a longer message is kept cut at this size.
const MaxInboundRaw = 512 << 10

// InboundMail is one message read from the office mailbox and what was done
// with it. Every message the watcher reads gets one, so none is dropped
// silently.
type InboundMail struct {
	ID          int64      `json:"id"`
	Mailbox     string     `json:"mailbox"`
	UIDValidity uint32     `json:"uid_validity"`
	UID         uint32     `json:"uid"`
	MessageID   string     `json:"message_id"`
	Kind        string     `json:"kind"`
	Outcome     string     `json:"outcome"`
	DispatchID  int64      `json:"dispatch_id,omitempty"`
	Milestone   Milestone  `json:"milestone,omitempty"`
	From        string     `json:"from"`
	Subject     string     `json:"subject"`
	Summary     string     `json:"summary"` // the classifier's findings, JSON
	Raw         []byte     `json:"-"`       // the source, bounded; kept for the clerk
	ReceivedAt  time.Time  `json:"received_at"`
	ReviewedAt  *time.Time `json:"reviewed_at,omitempty"`
	ReviewedBy  string     `json:"reviewed_by,omitempty"`
}

// InboundFilter selects inbound mail for the clerk's list.
type InboundFilter struct {
	// Review lists only unmatched and malformed mail not yet reviewed.
	Review bool
	// DispatchID lists the mail matched to one dispatch.
	DispatchID int64
	Limit      int // default 100, at most 10000
}
