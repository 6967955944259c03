package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/store"
)

// issueTo issues a fresh draft to the units with codes, deadline t0 + 24 h,
// and returns it with its dispatches by unit code.
func (f *docFixture) issueTo(t *testing.T, codes ...string) (vanthu.Document, map[string]vanthu.Dispatch) {
	t.Helper()
	deadline := t0.Add(24 * time.Hour)
	d := f.draft(t, func(d *vanthu.Document) {
		d.Content.Audience = vanthu.Audience{UnitIDs: f.ids(codes...)}
		d.Content.Deadline = &deadline
	})
	d = f.issue(t, d.ID, t0)
	ds, err := f.st.ListDispatches(context.Background(), d.ID)
	if err != nil || len(ds) != len(codes) {
		t.Fatalf("ListDispatches = %d, %v; want %d", len(ds), err, len(codes))
	}
	by := map[string]vanthu.Dispatch{}
	for _, x := range ds {
		by[x.UnitCode] = x
	}
	return d, by
}

func (f *docFixture) get(t *testing.T, id int64) vanthu.Dispatch {
	t.Helper()
	d, err := f.st.GetDispatch(context.Background(), id)
	if err != nil {
		t.Fatalf("GetDispatch %d: %v", id, err)
	}
	return d
}

func wantIDs(t *testing.T, what string, got []int64, err error, want ...int64) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if want == nil {
		want = []int64{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func testDispatchSending(t *testing.T, newDSN opener) {
	ctx := context.Background()
	f := newDocFixture(t, newDSN)
	st := f.st
	doc, by := f.issueTo(t, "SNV", "STC", "XA-A")
	_, by2 := f.issueTo(t, "XA-B")
	d1, d2, d3, d4 := by["SNV"].ID, by["STC"].ID, by["XA-A"].ID, by2["XA-B"].ID
	pending := func(want ...int64) {
		t.Helper()
		got, err := st.PendingDispatches(ctx, 0)
		wantIDs(t, "PendingDispatches", got, err, want...)
	}
	claim := func(id int64, wantOK bool) vanthu.Dispatch {
		t.Helper()
		d, ok, err := st.ClaimDispatch(ctx, id, time.Minute)
		if err != nil || ok != wantOK || d.ID != id {
			t.Fatalf("ClaimDispatch(%d) = %d, %v, %v; want ok %v", id, d.ID, ok, err, wantOK)
		}
		return d
	}
	pending(d1, d2, d3, d4)

	// A lease keeps a second claimant out until it expires.
	claim(d1, true)
	if got := f.column(t, d1, "attempts"); got != int64(1) {
		t.Fatalf("attempts = %v, want 1", got)
	}
	claim(d1, false)
	pending(d2, d3, d4)
	if got, _ := st.PendingDispatches(ctx, 2); len(got) != 2 {
		t.Fatalf("PendingDispatches limit 2 = %v", got)
	}
	st.Now = func() time.Time { return t0.Add(2 * time.Minute) }
	pending(d1, d2, d3, d4)
	claim(d1, true)
	if got := f.column(t, d1, "attempts"); got != int64(2) {
		t.Fatalf("attempts = %v, want 2 (a refused claim is no attempt)", got)
	}

	// Sent once: the first Message-ID stands, one event.
	sentAt := t0.Add(2 * time.Minute)
	if err := st.MarkSent(ctx, d1, "<d1@vanthu>", sentAt); err != nil {
		t.Fatalf("MarkSent: %v", err)
	}
	if err := st.MarkSent(ctx, d1, "<again@vanthu>", sentAt.Add(time.Minute)); err != nil {
		t.Fatalf("MarkSent again: %v", err)
	}
	if got := f.get(t, d1); got.SentAt == nil || !got.SentAt.Equal(sentAt) || got.MessageID != "<d1@vanthu>" || got.Status() != vanthu.MilestoneSent {
		t.Fatalf("after MarkSent: %+v", got)
	}
	if got := f.column(t, d1, "lease_until"); got != nil {
		t.Fatalf("lease after MarkSent = %v, want NULL", got)
	}
	if got := claim(d1, false); got.SentAt == nil {
		t.Fatal("refused claim of a sent dispatch does not show it sent")
	}

	// A retryable error releases the lease without an event.
	claim(d2, true)
	if err := st.ReleaseDispatch(ctx, d2, "421 4.7.0 try again later"); err != nil {
		t.Fatalf("ReleaseDispatch: %v", err)
	}
	if f.column(t, d2, "lease_until") != nil || f.column(t, d2, "last_error") != "421 4.7.0 try again later" {
		t.Fatalf("after release: lease %v, last_error %v", f.column(t, d2, "lease_until"), f.column(t, d2, "last_error"))
	}
	claim(d2, true)
	if err := st.ReleaseDispatch(ctx, d2, "timeout"); err != nil {
		t.Fatal(err)
	}

	// A permanent failure; failing a sent dispatch changes nothing.
	claim(d3, true)
	if err := st.MarkFailed(ctx, d3, "550 5.1.1 user unknown", sentAt); err != nil {
		t.Fatalf("MarkFailed: %v", err)
	}
	if got := claim(d3, false); got.FailedAt == nil || got.FailReason != "550 5.1.1 user unknown" || got.Status() != vanthu.MilestoneFailed {
		t.Fatalf("after MarkFailed: %+v", got)
	}
	if err := st.MarkFailed(ctx, d1, "late failure", sentAt); err != nil {
		t.Fatal(err)
	}
	if got := f.get(t, d1); got.FailedAt != nil || got.FailReason != "" {
		t.Fatalf("MarkFailed changed a sent dispatch: %+v", got)
	}
	if err := st.MarkFailed(ctx, d4, "550 mailbox full", sentAt); err != nil {
		t.Fatal(err)
	}
	pending(d2)

	// Resend: only failed dispatches of the document are reset.
	reset, err := st.ResendFailed(ctx, doc.ID, []int64{d4, d1, d2}, "vanthu")
	wantIDs(t, "ResendFailed(other document's, sent, pending)", reset, err)
	reset, err = st.ResendFailed(ctx, doc.ID, nil, "vanthu")
	wantIDs(t, "ResendFailed(all)", reset, err, d3)
	if got := f.get(t, d3); got.FailedAt != nil || got.FailReason != "" || got.Status() != vanthu.MilestoneQueued {
		t.Fatalf("after resend: %+v", got)
	}
	if got := f.get(t, d4); got.FailedAt == nil {
		t.Fatal("ResendFailed reset another document's dispatch")
	}
	reset, err = st.ResendFailed(ctx, doc.ID, nil, "vanthu")
	wantIDs(t, "ResendFailed again", reset, err)
	_, err = st.ResendFailed(ctx, 9999, nil, "vanthu")
	wantCode(t, err, vanthu.ENotFound)
	pending(d2, d3)

	// Newest first; every dispatch starts with its queued event.
	wantEvents := map[int64][]string{
		d1: {"dispatch_sent", "dispatch_queued"},
		d2: {"dispatch_queued"},
		d3: {"dispatch_resend", "dispatch_failed", "dispatch_queued"},
		d4: {"dispatch_failed", "dispatch_queued"},
	}
	for id, want := range wantEvents {
		if got := actions(t, st, fmt.Sprintf("dispatch:%d", id)); !slices.Equal(got, want) {
			t.Errorf("events of dispatch %d = %v, want %v", id, got, want)
		}
	}
	evs, _ := st.ListEvents(ctx, fmt.Sprintf("dispatch:%d", d1), 1)
	if e := evs[0]; e.Source != vanthu.SourceSMTP || e.EvidenceRef != "<d1@vanthu>" || !e.At.Equal(sentAt) {
		t.Fatalf("sent event = %+v", e)
	}
	evs, _ = st.ListEvents(ctx, fmt.Sprintf("dispatch:%d", d3), 1)
	if e := evs[0]; e.Source != vanthu.SourceWeb || e.Actor != "vanthu" || !strings.Contains(e.Detail, "550 5.1.1") {
		t.Fatalf("resend event = %+v", e)
	}

	// Unknown dispatches.
	_, _, err = st.ClaimDispatch(ctx, 9999, time.Minute)
	wantCode(t, err, vanthu.ENotFound)
	wantCode(t, st.MarkSent(ctx, 9999, "<x>", t0), vanthu.ENotFound)
	wantCode(t, st.MarkFailed(ctx, 9999, "x", t0), vanthu.ENotFound)
	wantCode(t, st.ReleaseDispatch(ctx, 9999, "x"), vanthu.ENotFound)
	if _, _, err := st.ClaimDispatch(ctx, d2, 0); err == nil {
		t.Fatal("ClaimDispatch with no lease succeeded")
	}
}

func testDocumentProgress(t *testing.T, newDSN opener) {
	ctx := context.Background()
	f := newDocFixture(t, newDSN)
	st := f.st
	doc, by := f.issueTo(t, "SNV", "STC", "XA-A", "XA-B", "SN-1")
	doc2, by2 := f.issueTo(t, "XA-A", "XA-B")
	at := t0.Add(time.Hour)
	apply := func(d vanthu.Dispatch, m vanthu.Milestone) {
		t.Helper()
		if ok, err := st.ApplyMilestone(ctx, d.ID, m, at, vanthu.SourceWeb, "test", ""); err != nil || !ok {
			t.Fatalf("ApplyMilestone(%s, %s) = %v, %v", d.UnitCode, m, ok, err)
		}
	}
	for _, code := range []string{"SNV", "STC", "XA-A"} {
		if err := st.MarkSent(ctx, by[code].ID, "<"+code+">", at); err != nil {
			t.Fatal(err)
		}
	}
	apply(by["SNV"], vanthu.MilestoneAcknowledged)
	apply(by["STC"], vanthu.MilestoneRead)
	if err := st.MarkFailed(ctx, by["XA-B"].ID, "550", at); err != nil {
		t.Fatal(err)
	}
	// SN-1 stays queued. In doc2 a bounce without a send, and a bounce
	// after an acknowledgement (which stays acknowledged).
	apply(by2["XA-A"], vanthu.MilestoneBounced)
	apply(by2["XA-B"], vanthu.MilestoneAcknowledged)
	apply(by2["XA-B"], vanthu.MilestoneBounced)

	deadline := t0.Add(24 * time.Hour)
	tests := []struct {
		name string
		doc  int64
		now  time.Time
		want vanthu.Progress
	}{
		{"before deadline", doc.ID, at, vanthu.Progress{Total: 5, Queued: 1, Sent: 1, Read: 1, Acknowledged: 1, Failed: 1}},
		{"at the deadline", doc.ID, deadline, vanthu.Progress{Total: 5, Queued: 1, Sent: 1, Read: 1, Acknowledged: 1, Failed: 1}},
		{"a nanosecond late", doc.ID, deadline.Add(time.Nanosecond), vanthu.Progress{Total: 5, Queued: 1, Sent: 1, Read: 1, Acknowledged: 1, Failed: 1, Overdue: 3}},
		{"a day late", doc.ID, deadline.Add(24 * time.Hour), vanthu.Progress{Total: 5, Queued: 1, Sent: 1, Read: 1, Acknowledged: 1, Failed: 1, Overdue: 3}},
		{"bounces", doc2.ID, deadline.Add(time.Hour), vanthu.Progress{Total: 2, Acknowledged: 1, Bounced: 1, Overdue: 1}},
		{"no dispatches", 9999, at, vanthu.Progress{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.DocumentProgress(ctx, tt.doc, tt.now)
			if err != nil {
				t.Fatalf("DocumentProgress: %v", err)
			}
			if got != tt.want {
				t.Fatalf("DocumentProgress = %+v, want %+v", got, tt.want)
			}
			ds, err := st.ListDispatches(ctx, tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			var sum vanthu.Progress
			for i := range ds {
				sum.Add(&ds[i], tt.now)
			}
			if got != sum {
				t.Fatalf("DocumentProgress = %+v, summing Progress.Add = %+v", got, sum)
			}
		})
	}
}

func testReminders(t *testing.T, newDSN opener) {
	ctx := context.Background()
	f := newDocFixture(t, newDSN)
	st := f.st
	_, by := f.issueTo(t, "SNV", "STC", "XA-A", "XA-B", "SN-1")
	for _, code := range []string{"SNV", "STC", "XA-B"} {
		if err := st.MarkSent(ctx, by[code].ID, "<"+code+">", t0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.ApplyMilestone(ctx, by["STC"].ID, vanthu.MilestoneAcknowledged, t0.Add(time.Hour), vanthu.SourceWeb, "STC", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ApplyMilestone(ctx, by["XA-B"].ID, vanthu.MilestoneBounced, t0.Add(time.Hour), vanthu.SourceIMAPDSN, "system", ""); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkFailed(ctx, by["XA-A"].ID, "550", t0); err != nil {
		t.Fatal(err)
	}
	// Only SNV qualifies: STC acknowledged, XA-B bounced, XA-A failed, SN-1
	// never sent.
	snv := by["SNV"].ID
	policy := store.ReminderPolicy{Every: 24 * time.Hour, Max: 2}
	due := func(now time.Time, p store.ReminderPolicy, want ...store.DueReminder) {
		t.Helper()
		got, err := st.DueReminders(ctx, now, p, 0)
		if err != nil {
			t.Fatalf("DueReminders: %v", err)
		}
		if want == nil {
			want = []store.DueReminder{}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("DueReminders(%v) = %v, want %v", now.Sub(t0), got, want)
		}
	}
	record := func(id int64, n int, at time.Time, want bool) {
		t.Helper()
		ok, err := st.RecordReminder(ctx, id, n, fmt.Sprintf("<r%d@vanthu>", n), at)
		if err != nil || ok != want {
			t.Fatalf("RecordReminder(%d, %d) = %v, %v; want %v", id, n, ok, err, want)
		}
	}
	due(t0.Add(23*time.Hour), policy)
	due(t0.Add(24*time.Hour), policy) // the deadline itself is not late
	due(t0.Add(25*time.Hour), policy, store.DueReminder{DispatchID: snv, N: 1})
	due(t0.Add(25*time.Hour), store.ReminderPolicy{Every: time.Hour})
	record(snv, 1, t0.Add(25*time.Hour), true)
	record(snv, 1, t0.Add(26*time.Hour), false)
	if got := f.get(t, snv); got.Reminded != 1 {
		t.Fatalf("reminded = %d, want 1", got.Reminded)
	}
	due(t0.Add(26*time.Hour), policy)
	due(t0.Add(49*time.Hour), policy, store.DueReminder{DispatchID: snv, N: 2})
	record(snv, 2, t0.Add(49*time.Hour), true)
	record(snv, 1, t0.Add(50*time.Hour), false)
	due(t0.Add(200*time.Hour), policy)
	due(t0.Add(200*time.Hour), store.ReminderPolicy{Every: time.Hour, Max: 3}, store.DueReminder{DispatchID: snv, N: 3})
	if got := f.get(t, snv); got.Reminded != 2 {
		t.Fatalf("reminded = %d, want 2", got.Reminded)
	}
	if got := actions(t, st, fmt.Sprintf("dispatch:%d", snv)); !slices.Equal(got, []string{"dispatch_reminded", "dispatch_reminded", "dispatch_sent", "dispatch_queued"}) {
		t.Fatalf("events = %v", got)
	}
	var rows int
	if err := f.raw(t).QueryRow(fmt.Sprintf("SELECT COUNT(*) FROM reminders WHERE dispatch_id = %d", snv)).Scan(&rows); err != nil || rows != 2 {
		t.Fatalf("reminders rows = %d, %v; want 2", rows, err)
	}

	// Tasks out of order: a late lower n never lowers the count.
	sn1 := by["SN-1"].ID
	record(sn1, 2, t0, true)
	record(sn1, 1, t0, true)
	if got := f.get(t, sn1); got.Reminded != 2 {
		t.Fatalf("reminded after out-of-order reminders = %d, want 2", got.Reminded)
	}
	_, err := st.RecordReminder(ctx, 9999, 1, "", t0)
	wantCode(t, err, vanthu.ENotFound)
}

func testApplyMilestone(t *testing.T, newDSN opener) {
	ctx := context.Background()
	f := newDocFixture(t, newDSN)
	st := f.st
	_, by := f.issueTo(t, "SNV", "STC", "XA-A", "XA-B")
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	tests := []struct {
		unit    string
		m       vanthu.Milestone
		source  vanthu.EventSource
		at      time.Time
		applied bool
		status  vanthu.Milestone
	}{
		{"SNV", vanthu.MilestoneAcknowledged, vanthu.SourceWeb, at(1), true, vanthu.MilestoneAcknowledged},
		{"SNV", vanthu.MilestoneAcknowledged, vanthu.SourceAPI, at(2), false, vanthu.MilestoneAcknowledged},
		{"SNV", vanthu.MilestoneRead, vanthu.SourceIMAPMDN, at(3), false, vanthu.MilestoneAcknowledged},
		{"SNV", vanthu.MilestoneBounced, vanthu.SourceIMAPDSN, at(4), true, vanthu.MilestoneAcknowledged},
		{"STC", vanthu.MilestoneRead, vanthu.SourceIMAPMDN, at(1), true, vanthu.MilestoneRead},
		{"STC", vanthu.MilestoneSent, vanthu.SourceSMTP, at(2), false, vanthu.MilestoneRead},
		{"XA-A", vanthu.MilestoneSent, vanthu.SourceSMTP, at(1), true, vanthu.MilestoneSent},
	}
	for i, tt := range tests {
		d := by[tt.unit]
		applied, err := st.ApplyMilestone(ctx, d.ID, tt.m, tt.at, tt.source, tt.unit, fmt.Sprintf("ev-%d", i))
		if err != nil || applied != tt.applied {
			t.Fatalf("step %d: ApplyMilestone(%s, %s) = %v, %v; want %v", i, tt.unit, tt.m, applied, err, tt.applied)
		}
		if got := f.get(t, d.ID); got.Status() != tt.status {
			t.Fatalf("step %d: status = %s, want %s", i, got.Status(), tt.status)
		}
	}
	// Implication: the acknowledgement set read and sent at its own time,
	// and the later evidence did not move them.
	snv := f.get(t, by["SNV"].ID)
	for _, m := range []vanthu.Milestone{vanthu.MilestoneSent, vanthu.MilestoneRead, vanthu.MilestoneAcknowledged} {
		if r := snv.Reached(m); r == nil || !r.Equal(at(1)) {
			t.Fatalf("SNV %s at %v, want %v", m, r, at(1))
		}
	}
	if snv.BouncedAt == nil || !snv.BouncedAt.Equal(at(4)) {
		t.Fatalf("SNV bounced at %v", snv.BouncedAt)
	}
	if got := actions(t, st, fmt.Sprintf("dispatch:%d", snv.ID)); !slices.Equal(got, []string{"dispatch_bounced", "dispatch_acknowledged", "dispatch_queued"}) {
		t.Fatalf("SNV events = %v", got)
	}
	evs, _ := st.ListEvents(ctx, fmt.Sprintf("dispatch:%d", snv.ID), 10)
	if e := evs[1]; e.Source != vanthu.SourceWeb || e.Actor != "SNV" || e.EvidenceRef != "ev-0" || !e.At.Equal(at(1)) ||
		!strings.Contains(e.Detail, `"implied":["sent","read"]`) {
		t.Fatalf("ack event = %+v", e)
	}
	// Read evidence means sent: a send task must not send it again.
	if _, ok, err := st.ClaimDispatch(ctx, by["STC"].ID, time.Minute); err != nil || ok {
		t.Fatalf("ClaimDispatch after read = %v, %v; want refused", ok, err)
	}

	// Concurrent evidence of one milestone applies once.
	xb := by["XA-B"].ID
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			ok, err := st.ApplyMilestone(ctx, xb, vanthu.MilestoneAcknowledged, at(5), vanthu.SourceWeb, "XA-B", fmt.Sprint(i))
			if err != nil {
				t.Errorf("concurrent ApplyMilestone: %v", err)
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || len(actions(t, st, fmt.Sprintf("dispatch:%d", xb))) != 2 {
		t.Fatalf("concurrent acknowledgements applied %d times, want 1", wins.Load())
	}

	_, err := st.ApplyMilestone(ctx, xb, "opened", at(6), vanthu.SourceWeb, "x", "")
	wantCode(t, err, vanthu.EInvalid)
	_, err = st.ApplyMilestone(ctx, 9999, vanthu.MilestoneRead, at(6), vanthu.SourceWeb, "x", "")
	wantCode(t, err, vanthu.ENotFound)

	// Lookups by the ack token's hash and by the mail tag.
	tag := by["STC"].MailTag
	if got, err := st.DispatchByToken(ctx, tokenHash(tag)); err != nil || got.ID != by["STC"].ID || got.UnitCode != "STC" {
		t.Fatalf("DispatchByToken = %+v, %v", got, err)
	}
	_, err = st.DispatchByToken(ctx, tokenHash("nope"))
	wantCode(t, err, vanthu.ENotFound)
	if got, err := st.DispatchByMailTag(ctx, tag); err != nil || got.ID != by["STC"].ID {
		t.Fatalf("DispatchByMailTag = %+v, %v", got, err)
	}
	_, err = st.DispatchByMailTag(ctx, "")
	wantCode(t, err, vanthu.ENotFound)
}
