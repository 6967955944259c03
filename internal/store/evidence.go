package store

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/sonoivu/vanthu"
)

// ReceiptEvidence returns the receipts of a document's dispatches in the
// official order of ListDispatches: each dispatch with, for every milestone
// of vanthu.EvidenceMilestones it reached, the event that proved it. An
// unknown document has none.
//
// Two queries whatever the number of units: the dispatches, then every
// milestone event of them. The dispatches are read first, and a milestone
// is set in the same transaction as its event, so every time read has its
// event visible to the second query; a milestone reached in between is
// simply not in this report yet.
func (s *Store) ReceiptEvidence(ctx context.Context, documentID int64) ([]vanthu.Receipt, error) {
	ds, err := s.ListDispatches(ctx, documentID)
	if err != nil {
		return nil, err
	}
	out := make([]vanthu.Receipt, len(ds))
	if len(ds) == 0 {
		return out, nil
	}
	actions := make([]string, len(vanthu.EvidenceMilestones))
	args := []any{documentID}
	for i, m := range vanthu.EvidenceMilestones {
		actions[i] = "?"
		args = append(args, "dispatch_"+string(m))
	}
	// The subject is matched through the (subject, at) index; the
	// concatenation is the same text dispatchSubject writes.
	evs, err := queryAll(ctx, s.db, "receipt evidence", s.rebind(`SELECT e.id, e.at, e.actor, e.action, e.source, e.subject, e.detail, e.evidence_ref
		FROM events e
		WHERE e.subject IN (SELECT 'dispatch:' || CAST(d.id AS TEXT) FROM dispatches d WHERE d.document_id = ?)
		AND e.action IN (`+strings.Join(actions, ", ")+`)
		ORDER BY e.at, e.id`), scanEvent, args...)
	if err != nil {
		return nil, err
	}
	byDispatch := map[int64][]vanthu.Event{}
	for _, e := range evs {
		id, err := strconv.ParseInt(strings.TrimPrefix(e.Subject, "dispatch:"), 10, 64)
		if err != nil {
			continue
		}
		byDispatch[id] = append(byDispatch[id], e)
	}
	for i, d := range ds {
		out[i] = vanthu.Receipt{Dispatch: d, Evidence: evidenceOf(d, byDispatch[d.ID])}
	}
	return out, nil
}

func scanEvent(sc scanner) (vanthu.Event, error) {
	var (
		e      vanthu.Event
		at     int64
		source string
	)
	err := sc.Scan(&e.ID, &at, &e.Actor, &e.Action, &source, &e.Subject, &e.Detail, &e.EvidenceRef)
	e.At = fromMS(at)
	e.Source = vanthu.EventSource(source)
	return e, err
}

// milestoneEvent is a milestone event with its detail decoded.
type milestoneEvent struct {
	vanthu.Event
	milestone vanthu.Milestone
	detail    map[string]any
	implied   []vanthu.Milestone
}

// evidenceOf picks, for each milestone d reached, the event that set it,
// from evs (d's milestone events by time). A milestone is set once, so it
// normally has one event; a failure can come again after a resend, and
// then the event at the recorded time is the one that counts. A milestone
// implied by a later one (read by an acknowledgement) has no event of its
// own: the implying event, which lists it under "implied", is its evidence.
func evidenceOf(d vanthu.Dispatch, evs []vanthu.Event) map[vanthu.Milestone]vanthu.MilestoneEvidence {
	out := map[vanthu.Milestone]vanthu.MilestoneEvidence{}
	decoded := make([]milestoneEvent, 0, len(evs))
	for _, e := range evs {
		me := milestoneEvent{Event: e, milestone: vanthu.Milestone(strings.TrimPrefix(e.Action, "dispatch_"))}
		// A detail that is not JSON is still evidence by its reference;
		// it is shown without the detail rather than failing the report.
		if json.Unmarshal([]byte(e.Detail), &me.detail) == nil {
			if list, ok := me.detail["implied"].([]any); ok {
				for _, v := range list {
					if s, ok := v.(string); ok {
						me.implied = append(me.implied, vanthu.Milestone(s))
					}
				}
			}
		}
		decoded = append(decoded, me)
	}
	for _, m := range vanthu.EvidenceMilestones {
		at := d.Reached(m)
		if at == nil {
			continue
		}
		// Own events first, then events that imply m; within each, the
		// one recorded at m's time, else the first.
		for _, own := range []bool{true, false} {
			var first, exact *milestoneEvent
			for i := range decoded {
				e := &decoded[i]
				if own && e.milestone != m || !own && !slices.Contains(e.implied, m) {
					continue
				}
				if first == nil {
					first = e
				}
				if exact == nil && e.At.Equal(*at) {
					exact = e
				}
			}
			pick := exact
			if pick == nil {
				pick = first
			}
			if pick == nil {
				continue
			}
			ev := vanthu.MilestoneEvidence{
				EventID: pick.ID, At: pick.At, Source: pick.Source, Actor: pick.Actor,
				Ref: pick.EvidenceRef, Detail: pick.detail,
			}
			if !own {
				ev.ImpliedBy = pick.milestone
			}
			out[m] = ev
			break
		}
	}
	return out
}
