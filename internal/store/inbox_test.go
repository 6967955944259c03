package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sonoivu/vanthu"
)

func testAcknowledgeWithPerson(t *testing.T, newDSN opener) {
	ctx := context.Background()
	f := newDocFixture(t, newDSN)
	st := f.st
	_, by := f.issueTo(t, "SNV", "STC")
	d := by["SNV"]
	ack := &vanthu.Ack{Name: "Nguyễn Thị Hồng", Position: "Văn thư", Note: "Đã vào sổ."}
	applied, err := st.ApplyEvidence(ctx, vanthu.Evidence{DispatchID: d.ID, Milestone: vanthu.MilestoneAcknowledged, At: t0.Add(time.Hour),
		Source: vanthu.SourceWeb, Actor: "SNV", Ref: "ack page", Ack: ack})
	if err != nil || !applied {
		t.Fatalf("ApplyEvidence = %v, %v", applied, err)
	}
	// A second confirmation changes neither the time nor the person.
	applied, err = st.ApplyEvidence(ctx, vanthu.Evidence{DispatchID: d.ID, Milestone: vanthu.MilestoneAcknowledged, At: t0.Add(2 * time.Hour),
		Source: vanthu.SourceAPI, Actor: "SNV", Ack: &vanthu.Ack{Name: "Người khác"}})
	if err != nil || applied {
		t.Fatalf("second ApplyEvidence = %v, %v; want not applied", applied, err)
	}
	got := f.get(t, d.ID)
	if got.Ack != *ack || !got.AcknowledgedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("dispatch ack = %+v at %v", got.Ack, got.AcknowledgedAt)
	}
	evs, _ := st.ListEvents(ctx, fmt.Sprintf("dispatch:%d", d.ID), 10)
	if len(evs) != 2 || evs[1].Action != "dispatch_queued" || !strings.Contains(evs[0].Detail, `"name":"Nguyễn Thị Hồng"`) || !strings.Contains(evs[0].Detail, `"position":"Văn thư"`) {
		t.Fatalf("events = %+v", evs)
	}

	// A bounce keeps its reason; an event-only evidence is recorded each time
	// and moves nothing.
	s := by["STC"]
	if _, err := st.ApplyEvidence(ctx, vanthu.Evidence{DispatchID: s.ID, Milestone: vanthu.MilestoneBounced, Source: vanthu.SourceIMAPDSN,
		Reason: "5.1.1 user unknown", Detail: map[string]any{"status": "5.1.1"}}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if applied, err := st.ApplyEvidence(ctx, vanthu.Evidence{DispatchID: s.ID, Action: "dispatch_mdn_deleted", Source: vanthu.SourceIMAPMDN}); err != nil || applied {
			t.Fatalf("event-only evidence = %v, %v", applied, err)
		}
	}
	got = f.get(t, s.ID)
	if got.Status() != vanthu.MilestoneBounced || got.FailReason != "5.1.1 user unknown" {
		t.Fatalf("bounced dispatch = %s %q", got.Status(), got.FailReason)
	}
	if a := actions(t, st, fmt.Sprintf("dispatch:%d", s.ID)); len(a) != 4 || a[0] != "dispatch_mdn_deleted" || a[2] != "dispatch_bounced" || a[3] != "dispatch_queued" {
		t.Fatalf("STC events = %v", a)
	}
	if _, err := st.ApplyEvidence(ctx, vanthu.Evidence{DispatchID: s.ID}); vanthu.ErrorCodeOf(err) != vanthu.EInvalid {
		t.Fatalf("evidence without milestone or action: %v", err)
	}
	if _, err := st.ApplyEvidence(ctx, vanthu.Evidence{DispatchID: 999999, Milestone: vanthu.MilestoneRead}); vanthu.ErrorCodeOf(err) != vanthu.ENotFound {
		t.Fatalf("unknown dispatch: %v", err)
	}
}

func testInbox(t *testing.T, newDSN opener) {
	ctx := context.Background()
	f := newDocFixture(t, newDSN)
	st := f.st
	_, by := f.issueTo(t, "SNV", "STC")
	d := by["SNV"]
	if err := st.MarkSent(ctx, d.ID, "vanthu.d1.abc@so.vn", t0); err != nil {
		t.Fatal(err)
	}
	if got, err := st.DispatchByMessageID(ctx, "<vanthu.d1.abc@so.vn>"); err != nil || got.ID != d.ID {
		t.Fatalf("DispatchByMessageID = %d, %v", got.ID, err)
	}
	if _, err := st.DispatchByMessageID(ctx, ""); vanthu.ErrorCodeOf(err) != vanthu.ENotFound {
		t.Fatalf("empty Message-ID: %v", err)
	}

	if _, _, ok, err := st.InboxState(ctx, "INBOX"); ok || err != nil {
		t.Fatalf("fresh InboxState ok=%v err=%v", ok, err)
	}
	state := func(wantV, wantUID uint32) {
		t.Helper()
		v, uid, ok, err := st.InboxState(ctx, "INBOX")
		if err != nil || !ok || v != wantV || uid != wantUID {
			t.Fatalf("InboxState = %d/%d %v %v; want %d/%d", v, uid, ok, err, wantV, wantUID)
		}
	}
	read := func(uid uint32, mid string) (*vanthu.InboundMail, *vanthu.Evidence) {
		return &vanthu.InboundMail{Mailbox: "INBOX", UIDValidity: 7, UID: uid, MessageID: mid, Kind: vanthu.InboundKindMDN,
				Outcome: vanthu.InboundApplied, DispatchID: d.ID, Milestone: vanthu.MilestoneRead, Raw: []byte("raw " + mid)},
			&vanthu.Evidence{DispatchID: d.ID, Milestone: vanthu.MilestoneRead, At: t0.Add(time.Hour), Source: vanthu.SourceIMAPMDN, Ref: mid}
	}
	m, ev := read(3, "mdn-1@unit.vn")
	if rec, err := st.RecordInbound(ctx, m, ev); err != nil || !rec || m.Outcome != vanthu.InboundApplied {
		t.Fatalf("RecordInbound = %v, %v, %s", rec, err, m.Outcome)
	}
	state(7, 3)
	if got := f.get(t, d.ID); got.ReadAt == nil {
		t.Fatal("read receipt not applied")
	}
	// The same UID again (an overlapping poll) changes nothing.
	m, ev = read(3, "mdn-1@unit.vn")
	if rec, err := st.RecordInbound(ctx, m, ev); err != nil || rec {
		t.Fatalf("same UID again = %v, %v", rec, err)
	}
	// A second receipt for the same dispatch is recorded, not applied.
	m, ev = read(5, "mdn-2@unit.vn")
	if rec, err := st.RecordInbound(ctx, m, ev); err != nil || !rec || m.Outcome != vanthu.InboundRecorded {
		t.Fatalf("second receipt = %v, %v, %s", rec, err, m.Outcome)
	}
	state(7, 5)
	// An older UID recorded late does not move the checkpoint back.
	late := &vanthu.InboundMail{Mailbox: "INBOX", UIDValidity: 7, UID: 4, Kind: vanthu.InboundKindOther, Outcome: vanthu.InboundUnmatched,
		Subject: "Thư mời họp", From: "a@b.vn", Raw: []byte("hello")}
	if rec, err := st.RecordInbound(ctx, late, nil); err != nil || !rec {
		t.Fatalf("late = %v, %v", rec, err)
	}
	state(7, 5)

	// UIDVALIDITY changed: start over; the same Message-ID under a new UID
	// is a duplicate and applies nothing.
	if err := st.ResetInbox(ctx, "INBOX", 8); err != nil {
		t.Fatal(err)
	}
	state(8, 0)
	m, _ = read(1, "mdn-1@unit.vn")
	m.UIDValidity = 8
	ack := &vanthu.Evidence{DispatchID: d.ID, Milestone: vanthu.MilestoneAcknowledged, Source: vanthu.SourceIMAPReply}
	if rec, err := st.RecordInbound(ctx, m, ack); err != nil || !rec || m.Outcome != vanthu.InboundDuplicate {
		t.Fatalf("rescanned = %v, %v, %s", rec, err, m.Outcome)
	}
	if got := f.get(t, d.ID); got.AcknowledgedAt != nil {
		t.Fatal("a duplicate applied its evidence")
	}
	state(8, 1)

	// The review list holds the unmatched mail, with its source; reviewing
	// takes it off.
	list, err := st.ListInbound(ctx, vanthu.InboundFilter{Review: true})
	if err != nil || len(list) != 1 || list[0].ID != late.ID || list[0].Subject != "Thư mời họp" {
		t.Fatalf("review list = %+v, %v", list, err)
	}
	full, err := st.GetInbound(ctx, late.ID)
	if err != nil || string(full.Raw) != "hello" || full.UID != 4 || full.UIDValidity != 7 {
		t.Fatalf("GetInbound = %+v, %v", full, err)
	}
	if err := st.MarkInboundReviewed(ctx, late.ID, "vanthu"); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkInboundReviewed(ctx, 424242, "vanthu"); vanthu.ErrorCodeOf(err) != vanthu.ENotFound {
		t.Fatalf("review unknown: %v", err)
	}
	if list, _ := st.ListInbound(ctx, vanthu.InboundFilter{Review: true}); len(list) != 0 {
		t.Fatalf("review list after review = %+v", list)
	}
	if list, _ := st.ListInbound(ctx, vanthu.InboundFilter{DispatchID: d.ID}); len(list) != 3 {
		t.Fatalf("mail of the dispatch = %d, want 3", len(list))
	}
}
