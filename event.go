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
