package vanthu

import "time"

// EventSource says where the evidence of an event came from.
type EventSource string

// Event sources.
const (
	SourceWeb       EventSource = "web"
	SourceAPI       EventSource = "api"
	SourceSMTP      EventSource = "smtp"
	SourceIMAPMDN   EventSource = "imap-mdn"
	SourceIMAPDSN   EventSource = "imap-dsn"
	SourceIMAPReply EventSource = "imap-reply"
	SourceSystem    EventSource = "system"
)

// Event is an append-only audit record: every milestone and every action
// that changes data writes one. Nothing is updated in place without an event.
type Event struct {
	ID          int64       `json:"id"`
	At          time.Time   `json:"at"`
	Actor       string      `json:"actor"`  // username, unit code, or "system"
	Action      string      `json:"action"` // snake_case verb: unit_created, dispatch_sent, …
	Source      EventSource `json:"source"`
	Subject     string      `json:"subject"`                // what it is about: "unit:12", "dispatch:345"
	Detail      string      `json:"detail"`                 // JSON with the changed fields or the evidence
	EvidenceRef string      `json:"evidence_ref,omitempty"` // e.g. a Message-ID or IMAP UID
}

// Evidence is something learnt about a dispatch: a milestone reached (an
// acknowledgement with who confirmed, a bounce with its reason), or, with
// no Milestone, a fact recorded as event Action without moving the status
// (a receipt saying the message was deleted unread, a delay report).
type Evidence struct {
	DispatchID int64
	Milestone  Milestone // "" records Action only
	Action     string    // event action when Milestone is ""; snake_case
	At         time.Time
	Source     EventSource
	Actor      string // "" is "system"
	Ref        string // the evidence reference: a Message-ID, an IMAP UID, an address
	// Detail is added to the event's JSON detail (the status and diagnostic
	// of a bounce, the disposition of a receipt).
	Detail map[string]any
	// Ack is stored with an acknowledgement: who confirmed. Ignored for
	// other milestones.
	Ack *Ack
	// Reason is kept as the dispatch's failure reason with a bounce or a
	// failure, unless one is already there.
	Reason string
}
