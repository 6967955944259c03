package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/store"
	"github.com/sonoivu/vanthu/internal/testenv"
)

// The webhook suite runs on both dialects like the main suite, from its
// own entry points so that the shared suite list stays untouched.

func TestWebhooksSQLite(t *testing.T) {
	t.Parallel()
	runWebhookSuite(t, func(t *testing.T) string { return filepath.Join(t.TempDir(), "vanthu.db") })
}

func TestWebhooksPostgres(t *testing.T) {
	t.Parallel()
	runWebhookSuite(t, func(t *testing.T) string { return testenv.Postgres(t) })
}

func runWebhookSuite(t *testing.T, newDSN opener) {
	for _, tt := range []struct {
		name string
		fn   func(t *testing.T, newDSN opener)
	}{
		{"CreateWebhook", testCreateWebhook},
		{"WebhookDeliveries", testWebhookDeliveries},
		{"DeliveriesShareTheTransaction", testDeliveriesShareTheTransaction},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newDSN) })
	}
}

func testCreateWebhook(t *testing.T, newDSN opener) {
	ctx := context.Background()
	st := openStore(t, newDSN(t))
	invalid := []struct {
		name  string
		w     vanthu.Webhook
		field string
	}{
		{"empty url", vanthu.Webhook{}, "url"},
		{"relative", vanthu.Webhook{URL: "/hooks/vanthu"}, "url"},
		{"no host", vanthu.Webhook{URL: "https://"}, "url"},
		{"ftp", vanthu.Webhook{URL: "ftp://egov.vinhlong.gov.vn/hook"}, "url"},
		{"opaque", vanthu.Webhook{URL: "mailto:vanthu@vinhlong.gov.vn"}, "url"},
		{"credentials", vanthu.Webhook{URL: "https://admin:pw@egov.vinhlong.gov.vn/hook"}, "url"},
		{"fragment", vanthu.Webhook{URL: "https://egov.vinhlong.gov.vn/hook#x"}, "url"},
		{"long url", vanthu.Webhook{URL: "https://egov.vinhlong.gov.vn/" + strings.Repeat("a", 2048)}, "url"},
		{"short secret", vanthu.Webhook{URL: "https://egov.vinhlong.gov.vn/hook", Secret: "ngắn-quá-15-ký"}, "secret"},
		{"padded secret", vanthu.Webhook{URL: "https://egov.vinhlong.gov.vn/hook", Secret: " 0123456789abcdef0123"}, "secret"},
		{"long description", vanthu.Webhook{URL: "https://egov.vinhlong.gov.vn/hook", Description: strings.Repeat("ắ", 201)}, "description"},
	}
	for _, tt := range invalid {
		w := tt.w
		err := st.CreateWebhook(ctx, &w, "admin")
		wantCode(t, err, vanthu.EInvalid)
		if !slices.ContainsFunc(vanthu.ProblemsOf(err), func(p vanthu.Problem) bool { return p.Field == tt.field }) {
			t.Errorf("%s: problems %+v do not name %q", tt.name, vanthu.ProblemsOf(err), tt.field)
		}
		if w.ID != 0 {
			t.Errorf("%s: stored as %d", tt.name, w.ID)
		}
	}
	if ws, err := st.ListWebhooks(ctx); err != nil || len(ws) != 0 {
		t.Fatalf("after invalid input, ListWebhooks = %v, %v", ws, err)
	}

	// No secret: one is generated, 256 bits.
	a := vanthu.Webhook{URL: "  https://egov.vinhlong.gov.vn/hooks/vanthu?k=1 ", Description: "  Cổng   dịch vụ công "}
	if err := st.CreateWebhook(ctx, &a, "admin"); err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || !a.Active || a.URL != "https://egov.vinhlong.gov.vn/hooks/vanthu?k=1" || a.Description != "Cổng dịch vụ công" ||
		len(a.Secret) < 43 || a.CreatedBy != "admin" || !a.CreatedAt.Equal(t0) {
		t.Fatalf("CreateWebhook = %+v", a)
	}
	// A given secret of exactly the minimum length is kept as is.
	b := vanthu.Webhook{URL: "http://10.0.0.7:8080/vanthu", Secret: "0123456789abcdéf"}
	if err := st.CreateWebhook(ctx, &b, "admin"); err != nil {
		t.Fatal(err)
	}
	if b.Secret != "0123456789abcdéf" {
		t.Fatalf("secret = %q", b.Secret)
	}
	c := vanthu.Webhook{URL: "https://egov.vinhlong.gov.vn/hooks/vanthu?k=1"}
	if err := st.CreateWebhook(ctx, &c, "admin"); err != nil || c.Secret == a.Secret {
		t.Fatalf("second webhook: %v, secret reused: %v", err, c.Secret == a.Secret)
	}

	// Listings never show a secret again.
	ws, err := st.ListWebhooks(ctx)
	if err != nil || len(ws) != 3 || ws[0].ID != a.ID || ws[1].ID != b.ID || ws[2].ID != c.ID {
		t.Fatalf("ListWebhooks = %+v, %v", ws, err)
	}
	for _, w := range ws {
		if w.Secret != "" {
			t.Fatalf("ListWebhooks shows the secret of %d", w.ID)
		}
	}
	got, err := st.GetWebhook(ctx, a.ID)
	if err != nil || got.Secret != "" || got.URL != a.URL || got.Description != a.Description || !got.Active {
		t.Fatalf("GetWebhook = %+v, %v", got, err)
	}
	_, err = st.GetWebhook(ctx, 9999)
	wantCode(t, err, vanthu.ENotFound)

	evs, err := st.ListEvents(ctx, fmt.Sprintf("webhook:%d", a.ID), 10)
	if err != nil || len(evs) != 1 || evs[0].Action != "webhook_created" || evs[0].Actor != "admin" ||
		!strings.Contains(evs[0].Detail, "egov.vinhlong.gov.vn") || strings.Contains(evs[0].Detail, a.Secret) {
		t.Fatalf("events = %+v, %v", evs, err)
	}

	// Deactivate twice: one event. Unknown: ENotFound.
	for range 2 {
		if err := st.SetWebhookActive(ctx, b.ID, false, "admin"); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := st.GetWebhook(ctx, b.ID); got.Active {
		t.Fatal("still active")
	}
	if got := actions(t, st, fmt.Sprintf("webhook:%d", b.ID)); !slices.Equal(got, []string{"webhook_deactivated", "webhook_created"}) {
		t.Fatalf("events = %v", got)
	}
	wantCode(t, st.SetWebhookActive(ctx, 9999, false, "admin"), vanthu.ENotFound)
}

// deliveryIDs returns the ids of the log, in its order.
func deliveryIDs(ds []vanthu.WebhookDelivery) []int64 {
	var out []int64
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

func testWebhookDeliveries(t *testing.T, newDSN opener) {
	ctx := context.Background()
	f := newDocFixture(t, newDSN)
	st := f.st
	// Milestones before any webhook exists are nobody's due.
	_, by := f.issueTo(t, "SNV", "STC", "XA-A")
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	if err := st.MarkSent(ctx, by["XA-A"].ID, "early@snv", at(0)); err != nil {
		t.Fatal(err)
	}
	a := vanthu.Webhook{URL: "https://egov.vinhlong.gov.vn/hook", Secret: "bí-mật-của-cổng-dịch-vụ-công"}
	off := vanthu.Webhook{URL: "https://old.vinhlong.gov.vn/hook"}
	for _, w := range []*vanthu.Webhook{&a, &off} {
		if err := st.CreateWebhook(ctx, w, "admin"); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SetWebhookActive(ctx, off.ID, false, "admin"); err != nil {
		t.Fatal(err)
	}
	snv, stc := by["SNV"].ID, by["STC"].ID

	// Each milestone reached is one delivery to each active webhook;
	// evidence that changes nothing, and facts without a milestone, none.
	steps := []struct {
		name string
		do   func() error
		want string // action of the new delivery; "" for none
	}{
		{"sent", func() error { return st.MarkSent(ctx, snv, "m1@snv", at(1)) }, "dispatch_sent"},
		{"sent again", func() error { return st.MarkSent(ctx, snv, "m1@snv", at(2)) }, ""},
		{"read", func() error {
			_, err := st.ApplyMilestone(ctx, snv, vanthu.MilestoneRead, at(3), vanthu.SourceIMAPMDN, "SNV", "<mdn@snv>")
			return err
		}, "dispatch_read"},
		{"read again", func() error {
			_, err := st.ApplyMilestone(ctx, snv, vanthu.MilestoneRead, at(4), vanthu.SourceWeb, "SNV", "")
			return err
		}, ""},
		{"fact only", func() error {
			_, err := st.ApplyEvidence(ctx, vanthu.Evidence{DispatchID: snv, Action: "dispatch_mdn_deleted", At: at(5), Source: vanthu.SourceIMAPMDN})
			return err
		}, ""},
		{"acknowledged", func() error {
			_, err := st.ApplyEvidence(ctx, vanthu.Evidence{DispatchID: snv, Milestone: vanthu.MilestoneAcknowledged, At: at(6),
				Source: vanthu.SourceWeb, Actor: "SNV", Ack: &vanthu.Ack{Name: "Nguyễn Thị Lan", Position: "Văn thư"}})
			return err
		}, "dispatch_acknowledged"},
		{"failed", func() error { return st.MarkFailed(ctx, stc, "550 mailbox unavailable", at(7)) }, "dispatch_failed"},
		{"resend", func() error { _, err := st.ResendFailed(ctx, by["STC"].DocumentID, nil, "vanthu"); return err }, ""},
		{"bounced", func() error {
			_, err := st.ApplyMilestone(ctx, by["XA-A"].ID, vanthu.MilestoneBounced, at(8), vanthu.SourceIMAPDSN, "system", "<dsn@x>")
			return err
		}, "dispatch_bounced"},
	}
	var want []string
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if s.want != "" {
			want = append(want, s.want)
		}
		log, err := st.ListDeliveries(ctx, a.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range slices.Backward(log) {
			got = append(got, d.Event.Action)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("after %s: deliveries %v, want %v", s.name, got, want)
		}
	}
	if log, err := st.ListDeliveries(ctx, off.ID, 0); err != nil || len(log) != 0 {
		t.Fatalf("inactive webhook got deliveries: %v, %v", log, err)
	}
	_, err := st.ListDeliveries(ctx, 9999, 0)
	wantCode(t, err, vanthu.ENotFound)

	log, err := st.ListDeliveries(ctx, 0, 0)
	if err != nil || len(log) != 5 {
		t.Fatalf("ListDeliveries(all) = %d, %v", len(log), err)
	}
	ids := deliveryIDs(slices.Clone(log))
	slices.Reverse(ids)
	pending, err := st.PendingDeliveries(ctx, 0)
	wantIDs(t, "PendingDeliveries", pending, err, ids...)
	if two, err := st.ListDeliveries(ctx, a.ID, 2); err != nil || !slices.Equal(deliveryIDs(two), []int64{ids[4], ids[3]}) {
		t.Fatalf("ListDeliveries limit 2 = %v, %v; want the newest two", deliveryIDs(two), err)
	}

	// GetDelivery brings what the worker sends.
	sent, read, ack, failed, bounced := ids[0], ids[1], ids[2], ids[3], ids[4]
	d, err := st.GetDelivery(ctx, read)
	if err != nil {
		t.Fatal(err)
	}
	if d.Webhook.ID != a.ID || d.Webhook.Secret != a.Secret || d.Webhook.URL != a.URL || !d.Webhook.Active ||
		d.DispatchID != snv || d.DocumentID != by["SNV"].DocumentID || d.UnitCode != "SNV" ||
		d.Event.Action != "dispatch_read" || d.Event.Source != vanthu.SourceIMAPMDN || d.Event.EvidenceRef != "<mdn@snv>" ||
		!d.Event.At.Equal(at(3)) || d.EventID != d.Event.ID || d.State != vanthu.DeliveryPending || d.Attempts != 0 || d.LastAttemptAt != nil {
		t.Fatalf("GetDelivery = %+v", d)
	}
	_, err = st.GetDelivery(ctx, 9999)
	wantCode(t, err, vanthu.ENotFound)

	// Attempts: a failure keeps it pending, success ends it, so does giving up.
	if err := st.RecordAttempt(ctx, sent, 500, "HTTP 500", at(10), false, false); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordAttempt(ctx, sent, 200, "", at(11), true, false); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordAttempt(ctx, read, 0, "dial tcp: connection refused", at(12), false, false); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordAttempt(ctx, ack, 410, "HTTP 410 Gone", at(13), false, true); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordAttempt(ctx, ack, 410, "HTTP 410 Gone", at(14), false, true); err != nil {
		t.Fatal(err)
	}
	wantCode(t, st.RecordAttempt(ctx, 9999, 200, "", at(15), true, false), vanthu.ENotFound)
	if err := st.RecordAttempt(ctx, read, 200, "", at(15), true, true); err == nil {
		t.Fatal("delivered and given up at once accepted")
	}
	check := func(id int64, state string, attempts, status int, last time.Time, errHas string) vanthu.Delivery {
		t.Helper()
		d, err := st.GetDelivery(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.State != state || d.Attempts != attempts || d.LastStatus != status || d.LastAttemptAt == nil || !d.LastAttemptAt.Equal(last) ||
			!strings.Contains(d.LastError, errHas) {
			t.Fatalf("delivery %d = state %s, %d attempts, status %d at %v, error %q; want %s, %d, %d at %v, %q",
				id, d.State, d.Attempts, d.LastStatus, d.LastAttemptAt, d.LastError, state, attempts, status, last, errHas)
		}
		return d
	}
	if d := check(sent, vanthu.DeliveryDelivered, 2, 200, at(11), ""); d.LastError != "" || d.DeliveredAt == nil || !d.DeliveredAt.Equal(at(11)) {
		t.Fatalf("delivered: %+v", d)
	}
	check(read, vanthu.DeliveryPending, 1, 0, at(12), "connection refused")
	if d := check(ack, vanthu.DeliveryGaveUp, 2, 410, at(14), "410"); !d.GaveUpAt.Equal(at(13)) {
		t.Fatalf("gave up at %v, want the first time %v", d.GaveUpAt, at(13))
	}
	// A long error is cut, on a character boundary.
	if err := st.RecordAttempt(ctx, bounced, 503, "HTTP 503: "+strings.Repeat("lỗi ", 400), at(16), false, false); err != nil {
		t.Fatal(err)
	}
	if d := check(bounced, vanthu.DeliveryPending, 1, 503, at(16), "HTTP 503: lỗi lỗi"); len(d.LastError) > 1000 || len(d.LastError) < 990 || !utf8.ValidString(d.LastError) {
		t.Fatalf("error kept as %d bytes, valid UTF-8 %v", len(d.LastError), utf8.ValidString(d.LastError))
	}
	pending, err = st.PendingDeliveries(ctx, 0)
	wantIDs(t, "PendingDeliveries after attempts", pending, err, read, failed, bounced)

	// A deactivated webhook's backlog waits, and comes back with it.
	if err := st.SetWebhookActive(ctx, a.ID, false, "admin"); err != nil {
		t.Fatal(err)
	}
	pending, err = st.PendingDeliveries(ctx, 0)
	wantIDs(t, "PendingDeliveries of an inactive webhook", pending, err)
	_, err = st.ReplayDelivery(ctx, sent, "admin")
	wantCode(t, err, vanthu.EConflict)
	if err := st.SetWebhookActive(ctx, a.ID, true, "admin"); err != nil {
		t.Fatal(err)
	}
	pending, err = st.PendingDeliveries(ctx, 1)
	wantIDs(t, "PendingDeliveries limit 1", pending, err, read)

	// Replay: delivered and given-up deliveries are due again, attempts
	// keep counting, and each replay is in the audit log.
	for _, id := range []int64{sent, ack} {
		r, err := st.ReplayDelivery(ctx, id, "admin")
		if err != nil || r.State != vanthu.DeliveryPending || r.DeliveredAt != nil || r.GaveUpAt != nil || r.Attempts != 2 {
			t.Fatalf("ReplayDelivery(%d) = %+v, %v", id, r, err)
		}
	}
	pending, err = st.PendingDeliveries(ctx, 0)
	wantIDs(t, "PendingDeliveries after replay", pending, err, sent, read, ack, failed, bounced)
	evs, err := st.ListEvents(ctx, fmt.Sprintf("webhook:%d", a.ID), 10)
	if err != nil || evs[0].Action != "webhook_replayed" || evs[1].Action != "webhook_replayed" ||
		!strings.Contains(evs[0].Detail, fmt.Sprintf(`"delivery_id":%d`, ack)) || !strings.Contains(evs[0].Detail, `"previous_state":"gave_up"`) ||
		!strings.Contains(evs[1].Detail, `"previous_state":"delivered"`) {
		t.Fatalf("replay events = %+v, %v", evs, err)
	}
	_, err = st.ReplayDelivery(ctx, 9999, "admin")
	wantCode(t, err, vanthu.ENotFound)
	// Webhook events themselves are never delivered.
	if log, _ := st.ListDeliveries(ctx, 0, 0); len(log) != 5 {
		t.Fatalf("%d deliveries after the webhook events, want still 5", len(log))
	}
}

// testDeliveriesShareTheTransaction: when the deliveries cannot be
// written, the milestone is not recorded either.
func testDeliveriesShareTheTransaction(t *testing.T, newDSN opener) {
	ctx := context.Background()
	f := newDocFixture(t, newDSN)
	_, by := f.issueTo(t, "SNV")
	w := vanthu.Webhook{URL: "https://egov.vinhlong.gov.vn/hook"}
	if err := f.st.CreateWebhook(ctx, &w, "admin"); err != nil {
		t.Fatal(err)
	}
	f.exec(t, "DROP TABLE webhook_deliveries")
	id := by["SNV"].ID
	if err := f.st.MarkSent(ctx, id, "m@snv", t0); err == nil {
		t.Fatal("MarkSent succeeded without the deliveries table")
	}
	if d := f.get(t, id); d.SentAt != nil {
		t.Fatalf("sent at %v although its deliveries were not written", d.SentAt)
	}
	// Only the queued event of the issue, which came before the webhook.
	if got := actions(t, f.st, fmt.Sprintf("dispatch:%d", id)); !slices.Equal(got, []string{"dispatch_queued"}) {
		t.Fatalf("events %v recorded although the transaction failed", got)
	}
}

// BenchmarkIssueAndSend2000 issues a directive to 2,000 units and marks
// every dispatch sent: 2,000 milestone events, each of which also writes
// its deliveries. It reports the issue's time and the time per milestone;
// run with -benchtime=5x, and compare webhooks=0 with a build whose
// insertEvent skips the deliveries to see what the extra statement costs.
func BenchmarkIssueAndSend2000(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		for _, hooks := range []int{0, 1} {
			b.Run(fmt.Sprintf("%s/webhooks=%d", dialect, hooks), func(b *testing.B) {
				dsn := filepath.Join(b.TempDir(), "bench.db")
				if dialect == "postgres" {
					dsn = testenv.Postgres(b)
				}
				benchIssueAndSend(b, dsn, 2000, hooks)
			})
		}
	}
}

func benchIssueAndSend(b *testing.B, dsn string, units, hooks int) {
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	st.Now = func() time.Time { return t0 }
	u := vanthu.User{Username: "vanthu", FullName: "Văn Thư", Role: vanthu.RoleClerk, Active: true}
	if err := st.CreateUser(ctx, &u, "seed"); err != nil {
		b.Fatal(err)
	}
	us := make([]vanthu.Unit, units)
	for i := range us {
		us[i] = unit(fmt.Sprintf("XA-%04d", i), fmt.Sprintf("Xã số %d", i), vanthu.GroupCommune, i)
	}
	if _, _, err := st.ImportUnits(ctx, us, "seed"); err != nil {
		b.Fatal(err)
	}
	for i := range hooks {
		w := vanthu.Webhook{URL: fmt.Sprintf("https://h%d.vinhlong.gov.vn/hook", i)}
		if err := st.CreateWebhook(ctx, &w, "admin"); err != nil {
			b.Fatal(err)
		}
	}
	deadline := t0.Add(7 * 24 * time.Hour)
	var issuing, marking time.Duration
	for b.Loop() {
		b.StopTimer()
		d := vanthu.Document{
			Kind: vanthu.KindDirective, TypeCode: "CT", Issuer: "UBND", CreatedBy: u.ID,
			Subject: "Về việc tăng cường kỷ luật, kỷ cương hành chính",
			Content: vanthu.Content{
				Template: "directive", Agency: "ỦY BAN NHÂN DÂN TỈNH VĨNH LONG", Place: "Vĩnh Long",
				SignerName: "Nguyễn Văn An", Body: "Yêu cầu các đơn vị thực hiện nghiêm.",
				Audience: vanthu.Audience{All: true}, Deadline: &deadline,
			},
		}
		if err := st.CreateDocument(ctx, &d, "vanthu"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if _, err := st.IssueDocument(ctx, d.ID, "vanthu", t0, plan); err != nil {
			b.Fatal(err)
		}
		issuing += time.Since(start)
		b.StopTimer()
		ds, err := st.ListDispatches(ctx, d.ID)
		if err != nil || len(ds) != units {
			b.Fatalf("ListDispatches = %d, %v", len(ds), err)
		}
		b.StartTimer()
		start = time.Now()
		for _, x := range ds {
			if err := st.MarkSent(ctx, x.ID, fmt.Sprintf("m%d@snv", x.ID), t0); err != nil {
				b.Fatal(err)
			}
		}
		marking += time.Since(start)
	}
	b.ReportMetric(float64(issuing.Milliseconds())/float64(b.N), "issue-ms")
	b.ReportMetric(float64(marking.Microseconds())/float64(b.N*units), "µs/milestone")
}
