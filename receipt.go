package vanthu

import (
	"fmt"
	"strings"
	"time"
)

// EvidenceMilestones are the milestones a receipt report proves, in the
// order it shows them. Queued is left out: it is the office's own act and
// has no outside evidence.
var EvidenceMilestones = []Milestone{MilestoneSent, MilestoneRead, MilestoneAcknowledged, MilestoneBounced, MilestoneFailed}

// MilestoneEvidence is the audit record behind one milestone of a
// dispatch: the event that set it, where that evidence came from and what
// it says.
type MilestoneEvidence struct {
	// EventID is the event (dispatch_<milestone>) that recorded it.
	EventID int64 `json:"event_id"`
	// At is when the event was recorded.
	At     time.Time   `json:"at"`
	Source EventSource `json:"source"`
	// Actor is who brought the evidence: "system", a unit code, a user.
	Actor string `json:"actor"`
	// Ref is the evidence reference: a Message-ID, an IMAP UID, "ack page
	// from <address>".
	Ref string `json:"evidence_ref,omitempty"`
	// Detail is the event's JSON detail decoded: the status and diagnostic
	// of a bounce, the disposition of a read receipt, the name, position
	// and note of the person who acknowledged.
	Detail map[string]any `json:"detail,omitempty"`
	// ImpliedBy is set when the milestone has no event of its own: a later
	// milestone (an acknowledgement implies the message was read) whose
	// event is then the evidence, with this milestone in its "implied" list.
	ImpliedBy Milestone `json:"implied_by,omitempty"`
}

// Text returns a detail field as text: strings as they are, numbers and
// other values printed, "" when absent.
func (e MilestoneEvidence) Text(key string) string {
	v, ok := e.Detail[key]
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return strings.TrimSpace(s)
	}
	return fmt.Sprint(v)
}

// Person is who confirmed receipt as the event recorded it (name,
// position, note in the detail); zero when the event names no one.
func (e MilestoneEvidence) Person() Ack {
	return Ack{Name: e.Text("name"), Position: e.Text("position"), Note: e.Text("note")}
}

// Receipt is what the record proves about one dispatch: its times and,
// for each milestone of EvidenceMilestones it reached, the evidence. A
// milestone reached without a recorded event (data from before events
// were kept) has a time and no evidence.
type Receipt struct {
	Dispatch
	Evidence map[Milestone]MilestoneEvidence `json:"evidence"`
}

// ChannelLabel names, in Vietnamese, the channel evidence came through,
// as a receipt report prints it; an unknown source is shown as it is.
func ChannelLabel(source EventSource) string {
	switch source {
	case SourceWeb:
		return "Trang xác nhận"
	case SourceAPI:
		return "Hệ thống của đơn vị (API)"
	case SourceSMTP:
		return "Máy chủ thư"
	case SourceIMAPMDN:
		return "Thư báo đã đọc"
	case SourceIMAPDSN:
		return "Thư báo lỗi"
	case SourceIMAPReply:
		return "Thư trả lời"
	case SourceSystem:
		return "Hệ thống"
	}
	return string(source)
}
