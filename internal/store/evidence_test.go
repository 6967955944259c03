package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/testenv"
)

// The receipt evidence runs on both databases like the shared suite.
func TestReceiptEvidenceSQLite(t *testing.T) {
	t.Parallel()
	testReceiptEvidence(t, func(t *testing.T) string { return filepath.Join(t.TempDir(), "vanthu.db") })
}

func TestReceiptEvidencePostgres(t *testing.T) {
	t.Parallel()
	testReceiptEvidence(t, func(t *testing.T) string { return testenv.Postgres(t) })
}

// wantEvidence is what one milestone's evidence must say.
type wantEvidence struct {
	source    vanthu.EventSource
	actor     string
	ref       string
	at        time.Time
	impliedBy vanthu.Milestone
	detail    map[string]string // detail fields, as text
}

func testReceiptEvidence(t *testing.T, newDSN opener) {
	ctx := context.Background()
	f := newDocFixture(t, newDSN)
	st := f.st
	for _, u := range []vanthu.Unit{
		unit("BQL", "Ban Quản lý các khu công nghiệp", vanthu.GroupDepartment, 3),
		unit("TTPV", "Trung tâm Phục vụ hành chính công", vanthu.GroupPublic, 2),
	} {
		if err := st.CreateUnit(ctx, &u, "seed"); err != nil {
			t.Fatal(err)
		}
		f.units[u.Code] = u
	}
	doc, by := f.issueTo(t, "SNV", "STC", "BQL", "XA-A", "XA-B", "SN-1", "TTPV")
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	msgid := func(code string) string { return fmt.Sprintf("<vanthu.%d.%s@snv.vinhlong.gov.vn>", by[code].ID, code) }
	for _, code := range []string{"SNV", "STC", "XA-A", "XA-B", "SN-1"} {
		if err := st.MarkSent(ctx, by[code].ID, msgid(code), at(1)); err != nil {
			t.Fatal(err)
		}
	}
	apply := func(ev vanthu.Evidence) {
		t.Helper()
		if applied, err := st.ApplyEvidence(ctx, ev); err != nil || !applied {
			t.Fatalf("ApplyEvidence %+v = %v, %v", ev, applied, err)
		}
	}
	// SNV: opened the ack page, then confirmed on it.
	apply(vanthu.Evidence{DispatchID: by["SNV"].ID, Milestone: vanthu.MilestoneRead, At: at(10), Source: vanthu.SourceWeb, Actor: "SNV", Ref: "ack page from 203.0.113.5"})
	apply(vanthu.Evidence{DispatchID: by["SNV"].ID, Milestone: vanthu.MilestoneAcknowledged, At: at(15), Source: vanthu.SourceWeb, Actor: "SNV",
		Ref: "ack form from 203.0.113.5", Ack: &vanthu.Ack{Name: "Nguyễn Thị Hồng", Position: "Văn thư", Note: "Đã vào sổ công văn đến."}})
	// STC: its document system registered it (03): read is implied.
	apply(vanthu.Evidence{DispatchID: by["STC"].ID, Milestone: vanthu.MilestoneAcknowledged, At: at(20), Source: vanthu.SourceAPI, Actor: "STC",
		Ref: "api from 198.51.100.7", Detail: map[string]any{"ladder": "03"}, Ack: &vanthu.Ack{Name: "Trần Văn Bình", Position: "Chánh Văn phòng"}})
	// XA-A: a read receipt.
	apply(vanthu.Evidence{DispatchID: by["XA-A"].ID, Milestone: vanthu.MilestoneRead, At: at(30), Source: vanthu.SourceIMAPMDN, Actor: "XA-A",
		Ref: "<mdn.1@xaanphu.vinhlong.gov.vn>", Detail: map[string]any{"disposition": "displayed", "inbound_uid": 41}})
	// XA-B: a reply by mail acknowledges (read and nothing else recorded).
	apply(vanthu.Evidence{DispatchID: by["XA-B"].ID, Milestone: vanthu.MilestoneAcknowledged, At: at(40), Source: vanthu.SourceIMAPReply, Actor: "XA-B",
		Ref: "<reply.7@xabinhminh.vinhlong.gov.vn>", Ack: &vanthu.Ack{Name: "UBND xã Bình Minh", Note: "Đã nhận được văn bản."}})
	// SN-1: bounced.
	apply(vanthu.Evidence{DispatchID: by["SN-1"].ID, Milestone: vanthu.MilestoneBounced, At: at(5), Source: vanthu.SourceIMAPDSN, Actor: "SN-1",
		Ref: "<dsn.3@mx.vinhlong.gov.vn>", Reason: "5.1.1 user unknown", Detail: map[string]any{"status": "5.1.1", "diagnostic": "user unknown"}})
	// BQL: refused by the server, resent, refused again: the second
	// failure is the one that stands.
	if err := st.MarkFailed(ctx, by["BQL"].ID, "550 mailbox unavailable", at(2)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ResendFailed(ctx, doc.ID, nil, "vanthu"); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkFailed(ctx, by["BQL"].ID, "552 mailbox full", at(3)); err != nil {
		t.Fatal(err)
	}
	// An event-only evidence is no milestone's evidence.
	if _, err := st.ApplyEvidence(ctx, vanthu.Evidence{DispatchID: by["XA-A"].ID, Action: "dispatch_receipt_deleted", At: at(31), Source: vanthu.SourceIMAPMDN}); err != nil {
		t.Fatal(err)
	}
	// Another document to the same units must not leak into this one.
	_, other := f.issueTo(t, "SNV", "TTPV")
	if err := st.MarkSent(ctx, other["TTPV"].ID, "<other@snv>", at(50)); err != nil {
		t.Fatal(err)
	}
	apply(vanthu.Evidence{DispatchID: other["SNV"].ID, Milestone: vanthu.MilestoneAcknowledged, At: at(55), Source: vanthu.SourceAPI, Actor: "SNV", Ref: "api other"})

	rs, err := st.ReceiptEvidence(ctx, doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Same units in the same official order as the dispatch listing.
	ds, err := st.ListDispatches(ctx, doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(ds) {
		t.Fatalf("%d receipts for %d dispatches", len(rs), len(ds))
	}
	for i := range ds {
		if rs[i].ID != ds[i].ID || rs[i].UnitName != ds[i].UnitName {
			t.Fatalf("receipt %d is dispatch %d (%s), want %d (%s)", i, rs[i].ID, rs[i].UnitName, ds[i].ID, ds[i].UnitName)
		}
	}
	byCode := map[string]vanthu.Receipt{}
	for _, r := range rs {
		byCode[r.UnitCode] = r
	}

	smtp := func(code string) wantEvidence {
		return wantEvidence{source: vanthu.SourceSMTP, actor: "system", ref: msgid(code), at: at(1)}
	}
	want := map[string]map[vanthu.Milestone]wantEvidence{
		"SNV": {
			vanthu.MilestoneSent: smtp("SNV"),
			vanthu.MilestoneRead: {source: vanthu.SourceWeb, actor: "SNV", ref: "ack page from 203.0.113.5", at: at(10)},
			vanthu.MilestoneAcknowledged: {source: vanthu.SourceWeb, actor: "SNV", ref: "ack form from 203.0.113.5", at: at(15),
				detail: map[string]string{"name": "Nguyễn Thị Hồng", "position": "Văn thư", "note": "Đã vào sổ công văn đến."}},
		},
		"STC": {
			vanthu.MilestoneSent: smtp("STC"),
			vanthu.MilestoneRead: {source: vanthu.SourceAPI, actor: "STC", ref: "api from 198.51.100.7", at: at(20), impliedBy: vanthu.MilestoneAcknowledged,
				detail: map[string]string{"ladder": "03"}},
			vanthu.MilestoneAcknowledged: {source: vanthu.SourceAPI, actor: "STC", ref: "api from 198.51.100.7", at: at(20),
				detail: map[string]string{"ladder": "03", "name": "Trần Văn Bình", "position": "Chánh Văn phòng"}},
		},
		"XA-A": {
			vanthu.MilestoneSent: smtp("XA-A"),
			vanthu.MilestoneRead: {source: vanthu.SourceIMAPMDN, actor: "XA-A", ref: "<mdn.1@xaanphu.vinhlong.gov.vn>", at: at(30),
				detail: map[string]string{"disposition": "displayed", "inbound_uid": "41"}},
		},
		"XA-B": {
			vanthu.MilestoneSent: smtp("XA-B"),
			vanthu.MilestoneRead: {source: vanthu.SourceIMAPReply, actor: "XA-B", ref: "<reply.7@xabinhminh.vinhlong.gov.vn>", at: at(40), impliedBy: vanthu.MilestoneAcknowledged},
			vanthu.MilestoneAcknowledged: {source: vanthu.SourceIMAPReply, actor: "XA-B", ref: "<reply.7@xabinhminh.vinhlong.gov.vn>", at: at(40),
				detail: map[string]string{"name": "UBND xã Bình Minh", "note": "Đã nhận được văn bản."}},
		},
		"SN-1": {
			vanthu.MilestoneSent: smtp("SN-1"),
			vanthu.MilestoneBounced: {source: vanthu.SourceIMAPDSN, actor: "SN-1", ref: "<dsn.3@mx.vinhlong.gov.vn>", at: at(5),
				detail: map[string]string{"status": "5.1.1", "diagnostic": "user unknown", "reason": "5.1.1 user unknown"}},
		},
		"BQL": {
			vanthu.MilestoneFailed: {source: vanthu.SourceSMTP, actor: "system", at: at(3), detail: map[string]string{"reason": "552 mailbox full"}},
		},
		"TTPV": {},
	}
	for code, ms := range want {
		r, ok := byCode[code]
		if !ok {
			t.Errorf("no receipt for %s", code)
			continue
		}
		if len(r.Evidence) != len(ms) {
			t.Errorf("%s: evidence for %d milestones, want %d: %+v", code, len(r.Evidence), len(ms), r.Evidence)
		}
		for m, w := range ms {
			got, ok := r.Evidence[m]
			if !ok {
				t.Errorf("%s %s: no evidence", code, m)
				continue
			}
			if got.Source != w.source || got.Actor != w.actor || got.Ref != w.ref || !got.At.Equal(w.at) || got.ImpliedBy != w.impliedBy {
				t.Errorf("%s %s: evidence %s/%s/%q at %v implied by %q; want %s/%s/%q at %v implied by %q",
					code, m, got.Source, got.Actor, got.Ref, got.At, got.ImpliedBy, w.source, w.actor, w.ref, w.at, w.impliedBy)
			}
			if got.EventID == 0 {
				t.Errorf("%s %s: no event id", code, m)
			}
			for k, v := range w.detail {
				if got.Text(k) != v {
					t.Errorf("%s %s: detail %s = %q, want %q (detail %v)", code, m, k, got.Text(k), v, got.Detail)
				}
			}
			// The times of the receipt are the dispatch's.
			if rt := r.Reached(m); rt == nil || !rt.Equal(w.at) {
				t.Errorf("%s %s: time %v, want %v", code, m, rt, w.at)
			}
		}
	}
	// The event id is the event's own: the listing of the subject has it.
	snv := byCode["SNV"].Evidence[vanthu.MilestoneAcknowledged]
	evs, _ := st.ListEvents(ctx, fmt.Sprintf("dispatch:%d", by["SNV"].ID), 10)
	found := false
	for _, e := range evs {
		found = found || e.ID == snv.EventID && e.Action == "dispatch_acknowledged"
	}
	if !found {
		t.Errorf("event %d is not SNV's dispatch_acknowledged: %+v", snv.EventID, evs)
	}
	if p := snv.Person(); p != (vanthu.Ack{Name: "Nguyễn Thị Hồng", Position: "Văn thư", Note: "Đã vào sổ công văn đến."}) {
		t.Errorf("SNV person = %+v", p)
	}
	stc, ttpv := byCode["STC"], byCode["TTPV"]
	if byCode["SNV"].Ack.Name != "Nguyễn Thị Hồng" || stc.Status() != vanthu.MilestoneAcknowledged || ttpv.Status() != vanthu.MilestoneQueued {
		t.Errorf("dispatch fields: %+v / %s / %s", byCode["SNV"].Ack, stc.Status(), ttpv.Status())
	}

	// An unknown document has no receipts (an empty list, not null).
	if rs, err := st.ReceiptEvidence(ctx, 999999); err != nil || rs == nil || len(rs) != 0 {
		t.Errorf("ReceiptEvidence(unknown) = %v, %v; want empty", rs, err)
	}
}
