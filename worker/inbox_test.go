package worker

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/hibiken/asynq"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/store"
	"github.com/sonoivu/vanthu/internal/testenv"
	"github.com/sonoivu/vanthu/mailer"
	"github.com/sonoivu/vanthu/mailer/devmail"
)

// office is the office mailbox of the inbox tests, the From of the pipeline.
const (
	office     = "vanban@snv.test"
	officePass = "mat-khau-hop-thu"
	watched    = "VanThu"
)

// imapServer is an IMAP server the office mailbox lives on, with the
// operations a test needs beside the watcher's own.
type imapServer struct {
	cfg mailer.IMAPConfig
}

// imapServers are the servers the inbox tests run on: Dovecot (required in
// CI) and the built-in one of `vanthu dev`.
func imapServers() map[string]func(t *testing.T) imapServer {
	return map[string]func(t *testing.T) imapServer{
		"dovecot": func(t *testing.T) imapServer {
			s := testenv.Dovecot(t, map[string]string{office: officePass})
			return imapServer{cfg: imapCfg(s.Addr, officePass)}
		},
		"devmail": func(t *testing.T) imapServer {
			s := devmail.New(devmail.Config{Password: officePass, RecipientDelimiter: "+", Logger: quiet})
			if err := s.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			s.EnsureMailbox(office)
			return imapServer{cfg: imapCfg(s.IMAPAddr(), officePass)}
		},
	}
}

func imapCfg(addr, pass string) mailer.IMAPConfig {
	host, port, _ := strings.Cut(addr, ":")
	var p int
	fmt.Sscan(port, &p)
	return mailer.IMAPConfig{Host: host, Port: p, TLS: mailer.TLSNone, Username: office, Password: pass, Mailbox: watched}
}

// client logs in as the office with a plain IMAP client.
func (s imapServer) client(t *testing.T) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(fmt.Sprintf("%s:%d", s.cfg.Host, s.cfg.Port), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(office, officePass).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

// create makes folder, which may exist already.
func (s imapServer) create(t *testing.T, folder string) {
	t.Helper()
	_ = s.client(t).Create(folder, nil).Wait()
}

// recreate deletes folder and makes it again: a new UIDVALIDITY.
func (s imapServer) recreate(t *testing.T, folder string) {
	t.Helper()
	c := s.client(t)
	if err := c.Delete(folder).Wait(); err != nil {
		t.Fatalf("delete %s: %v", folder, err)
	}
	if err := c.Create(folder, nil).Wait(); err != nil {
		t.Fatalf("create %s: %v", folder, err)
	}
}

func (s imapServer) appendMsg(t *testing.T, folder string, raw string) {
	t.Helper()
	c := s.client(t)
	raw = strings.ReplaceAll(strings.ReplaceAll(raw, "\r\n", "\n"), "\n", "\r\n")
	cmd := c.Append(folder, int64(len(raw)), nil)
	if _, err := cmd.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatalf("append to %s: %v", folder, err)
	}
}

func (s imapServer) count(t *testing.T, folder string) uint32 {
	t.Helper()
	d, err := s.client(t).Status(folder, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		t.Fatalf("status %s: %v", folder, err)
	}
	return *d.NumMessages
}

func newInboxFor(st *store.Store, s imapServer, processed string) *Inbox {
	cfg := s.cfg
	return &Inbox{
		Store: st, Mailbox: cfg.Mailbox, Office: office, TagSeparator: "+", Processed: processed, Logger: quiet,
		Open: func(ctx context.Context) (IMAPMailbox, error) {
			mb, err := mailer.DialIMAP(ctx, cfg)
			if err != nil {
				return nil, err
			}
			return mb, nil
		},
	}
}

// Messages the units' mail systems send back, in the shapes the
// classifier's corpus covers; %[1]s is the tagged address, %[2]s the
// dispatch's Message-ID, %[3]s the unit's address.
const (
	mdnDisplayed = `Return-Path: <%[3]s>
From: =?UTF-8?Q?V=C4=83n_th=C6=B0?= <%[3]s>
To: %[1]s
Subject: Return Receipt (displayed) - =?UTF-8?B?Q2jhu4kgdGjhu4s=?=
Message-ID: <mdn-displayed-%[2]s>
Date: Mon, 30 Nov 2026 08:05:00 +0700
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification;
 boundary="------------mdn1"

--------------mdn1
Content-Type: text/plain; charset=UTF-8

This is a Return Receipt for the mail that you sent.

--------------mdn1
Content-Type: message/disposition-notification; name="MDNPart2.txt"

Reporting-UA: xa.vinhlong.gov.vn; Mozilla Thunderbird
Final-Recipient: rfc822;%[3]s
Original-Message-ID: <%[2]s>
Disposition: manual-action/MDN-sent-manually; displayed

--------------mdn1
Content-Type: text/rfc822-headers; name="MDNPart3.txt"

Message-ID: <%[2]s>
Subject: =?UTF-8?B?Q2jhu4kgdGjhu4s=?=

--------------mdn1--
`
	mdnDeleted = `From: %[3]s
To: vanban@snv.test
Subject: Not read: Chi thi
Message-ID: <mdn-deleted-%[2]s>
Date: Mon, 30 Nov 2026 08:06:00 +0700
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification; boundary="b2"

--b2
Content-Type: text/plain

Your message was deleted without being read.

--b2
Content-Type: message/disposition-notification

Reporting-UA: Microsoft Outlook 16.0
Final-Recipient: rfc822;%[3]s
Original-Message-ID: <%[2]s>
Disposition: manual-action/MDN-sent-automatically; deleted

--b2--
`
	bounce = `Return-Path: <>
From: MAILER-DAEMON@mx.vinhlong.gov.vn (Mail Delivery System)
To: %[1]s
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce-%[2]s>
Date: Mon, 30 Nov 2026 08:07:00 +0700
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b3"

--b3
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--b3
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.vinhlong.gov.vn

Final-Recipient: rfc822; %[3]s
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <%[3]s>: Recipient address rejected:
    User unknown in virtual mailbox table

--b3
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Message-ID: <%[2]s>
From: vanban@snv.test

--b3--
`
	reply = `From: =?UTF-8?B?Tmd1eeG7hW4gVsSDbiBBbg==?= <%[3]s>
To: %[1]s
Subject: =?UTF-8?B?UmU6IENo4buJIHRo4buL?=
Message-ID: <reply-%[2]s>
In-Reply-To: <%[2]s>
References: <%[2]s>
Date: Mon, 30 Nov 2026 08:08:00 +0700
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 8bit

Đã nhận văn bản, xin cảm ơn.

Vào 08:00 30/11/2026, Sở Nội vụ đã viết:
> Kính gửi Ủy ban nhân dân xã
`
	autoReply = `From: %[3]s
To: %[1]s
Subject: =?UTF-8?Q?V=E1=BA=AFng_m=E1=BA=B7t?=
Message-ID: <auto-%[2]s>
Date: Mon, 30 Nov 2026 08:09:00 +0700
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=UTF-8

Tôi vắng mặt đến hết tuần.
`
	newsletter = `From: ban-tin@baovinhlong.vn
To: vanban@snv.test
Subject: =?UTF-8?Q?B=E1=BA=A3n_tin_tu=E1=BA=A7n?=
Message-ID: <tin-tuc-1@baovinhlong.vn>
Date: Mon, 30 Nov 2026 08:10:00 +0700
Content-Type: text/plain; charset=UTF-8

Tin tức trong tuần.
`
	garbage = "this line is not a header\r\n\r\n"
)

// TestInboxPoll: read receipts, bounces, replies, auto-replies and other
// mail arriving in the office mailbox become milestones and events, or
// wait on the clerk's review list; the checkpoint keeps a restarted
// watcher from reading anything twice, and a new UIDVALIDITY rescans
// without applying anything twice.
func TestInboxPoll(t *testing.T) {
	for name, server := range imapServers() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			p := newPipeline(t, testenv.Redis(t), nil)
			doc := p.issue(t, 5)
			if err := p.client.EnqueueFanout(ctx, doc.ID); err != nil {
				t.Fatal(err)
			}
			sent := p.settled(t, doc)
			var ds []vanthu.Dispatch
			for _, d := range sent {
				ds = append(ds, d)
			}
			slices.SortFunc(ds, func(a, b vanthu.Dispatch) int { return int(a.ID - b.ID) })
			fill := func(tpl string, d vanthu.Dispatch) string {
				if d.MessageID == "" || d.MailTag == "" {
					t.Fatalf("dispatch %d has no Message-ID or tag", d.ID)
				}
				return fmt.Sprintf(tpl, "vanban+"+d.MailTag+"@snv.test", d.MessageID, d.Email)
			}
			srv := server(t)
			srv.create(t, watched)
			for _, m := range []string{
				fill(mdnDisplayed, ds[0]), fill(mdnDeleted, ds[1]), fill(bounce, ds[2]),
				fill(reply, ds[3]), fill(autoReply, ds[4]), newsletter, garbage,
			} {
				srv.appendMsg(t, watched, m)
			}
			processed := "move:Đã xử lý"
			if name == "devmail" {
				processed = "flag"
			}
			in := newInboxFor(p.st, srv, processed)
			n, err := in.Poll(ctx)
			if err != nil || n != 7 {
				t.Fatalf("Poll = %d, %v; want 7 recorded", n, err)
			}
			get := func(d vanthu.Dispatch) vanthu.Dispatch {
				t.Helper()
				got, err := p.st.GetDispatch(ctx, d.ID)
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			events := func(d vanthu.Dispatch) map[string]vanthu.Event {
				t.Helper()
				evs, err := p.st.ListEvents(ctx, fmt.Sprintf("dispatch:%d", d.ID), 50)
				if err != nil {
					t.Fatal(err)
				}
				m := map[string]vanthu.Event{}
				for _, e := range evs {
					m[e.Action] = e
				}
				return m
			}
			// The read receipt: read, from imap-mdn, with the receipt as evidence.
			if d := get(ds[0]); d.Status() != vanthu.MilestoneRead {
				t.Errorf("after a displayed receipt: %s", d.Status())
			}
			if e, ok := events(ds[0])["dispatch_read"]; !ok || e.Source != vanthu.SourceIMAPMDN || e.EvidenceRef != "mdn-displayed-"+ds[0].MessageID ||
				!strings.Contains(e.Detail, `"disposition":"displayed"`) {
				t.Errorf("read event = %+v", e)
			}
			// Deleted unread: recorded, status unchanged.
			if d := get(ds[1]); d.Status() != vanthu.MilestoneSent {
				t.Errorf("after a deleted receipt: %s", d.Status())
			}
			if _, ok := events(ds[1])["dispatch_receipt_deleted"]; !ok {
				t.Errorf("no dispatch_receipt_deleted event: %v", events(ds[1]))
			}
			// The bounce: bounced, with the status and the server's words.
			if d := get(ds[2]); d.Status() != vanthu.MilestoneBounced || !strings.Contains(d.FailReason, "5.1.1") || !strings.Contains(d.FailReason, "User unknown") {
				t.Errorf("after a bounce: %s %q", d.Status(), d.FailReason)
			}
			// The reply: acknowledged by the sender, the quote gone from the note.
			if d := get(ds[3]); d.Status() != vanthu.MilestoneAcknowledged || d.Ack.Name != "Nguyễn Văn An" || d.Ack.Note != "Đã nhận văn bản, xin cảm ơn." {
				t.Errorf("after a reply: %s %+v", d.Status(), d.Ack)
			}
			if e := events(ds[3])["dispatch_acknowledged"]; e.Source != vanthu.SourceIMAPReply {
				t.Errorf("ack event source = %q", e.Source)
			}
			// The auto-reply proves nothing.
			if d := get(ds[4]); d.Status() != vanthu.MilestoneSent {
				t.Errorf("after an auto-reply: %s", d.Status())
			}
			if _, ok := events(ds[4])["dispatch_autoreply"]; !ok {
				t.Errorf("no dispatch_autoreply event: %v", events(ds[4]))
			}
			// The rest waits for the clerk, with its source.
			review, err := p.st.ListInbound(ctx, vanthu.InboundFilter{Review: true})
			if err != nil || len(review) != 2 {
				t.Fatalf("review list = %+v, %v; want the newsletter and the garbage", review, err)
			}
			subjects := []string{review[0].Subject, review[1].Subject}
			if !slices.Contains(subjects, "Bản tin tuần") {
				t.Errorf("review subjects = %q", subjects)
			}
			for _, m := range review {
				full, err := p.st.GetInbound(ctx, m.ID)
				if err != nil || (m.Subject == "Bản tin tuần" && !strings.Contains(string(full.Raw), "Tin tức trong tuần.")) {
					t.Errorf("review message %q (%s): source %q, %v", m.Subject, m.Kind, full.Raw, err)
				}
				t.Logf("review: %s/%s %q %d bytes", m.Kind, m.Outcome, m.Subject, len(full.Raw))
			}
			// Processed mail was moved (Dovecot) or flagged (devmail).
			if name == "dovecot" {
				if in, done := srv.count(t, watched), srv.count(t, "Đã xử lý"); in != 0 || done != 7 {
					t.Errorf("after moving: %d left, %d moved", in, done)
				}
			}

			// Nothing new: nothing recorded, by this watcher or a restarted one.
			if n, err := in.Poll(ctx); err != nil || n != 0 {
				t.Fatalf("second Poll = %d, %v", n, err)
			}
			if n, err := newInboxFor(p.st, srv, "").Poll(ctx); err != nil || n != 0 {
				t.Fatalf("Poll after restart = %d, %v", n, err)
			}
			// A second receipt for a read dispatch is recorded, not applied.
			srv.appendMsg(t, watched, strings.Replace(fill(mdnDisplayed, ds[0]), "<mdn-displayed-", "<mdn-again-", 1))
			if n, err := in.Poll(ctx); err != nil || n != 1 {
				t.Fatalf("Poll of a second receipt = %d, %v", n, err)
			}
			if list, _ := p.st.ListInbound(ctx, vanthu.InboundFilter{DispatchID: ds[0].ID}); len(list) != 2 || list[0].Outcome != vanthu.InboundRecorded {
				t.Errorf("second receipt = %+v", list)
			}

			// A new UIDVALIDITY: the mailbox is read from the start; a
			// message seen before is a duplicate, a new one counts.
			srv.recreate(t, watched)
			srv.appendMsg(t, watched, fill(mdnDisplayed, ds[0]))
			srv.appendMsg(t, watched, strings.Replace(fill(reply, ds[4]), "<reply-", "<reply2-", 1))
			if n, err := newInboxFor(p.st, srv, "").Poll(ctx); err != nil || n != 2 {
				t.Fatalf("Poll after UIDVALIDITY change = %d, %v", n, err)
			}
			if d := get(ds[4]); d.Status() != vanthu.MilestoneAcknowledged {
				t.Errorf("reply after the rescan: %s", d.Status())
			}
			all, _ := p.st.ListInbound(ctx, vanthu.InboundFilter{})
			dups := 0
			for _, m := range all {
				if m.Outcome == vanthu.InboundDuplicate {
					dups++
				}
			}
			if dups != 1 {
				t.Errorf("%d duplicates after the rescan, want 1", dups)
			}
			if evs, _ := p.st.ListEvents(ctx, fmt.Sprintf("dispatch:%d", ds[0].ID), 50); countAction(evs, "dispatch_read") != 1 {
				t.Errorf("read applied %d times", countAction(evs, "dispatch_read"))
			}
		})
	}
}

func countAction(evs []vanthu.Event, action string) int {
	n := 0
	for _, e := range evs {
		if e.Action == action {
			n++
		}
	}
	return n
}

// enqueueRecorder is a TaskEnqueuer that reports each task on a channel.
type enqueueRecorder chan string

func (r enqueueRecorder) Enqueue(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (string, error) {
	select {
	case r <- t.Type():
	case <-ctx.Done():
	}
	return "", nil
}

// TestInboxWatchIdle: the watcher asks for a poll at start and again as
// soon as the server pushes news of a message (IDLE), long before its
// interval.
func TestInboxWatchIdle(t *testing.T) {
	for name, server := range imapServers() {
		t.Run(name, func(t *testing.T) {
			srv := server(t)
			srv.create(t, watched)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			q := make(enqueueRecorder)
			in := newInboxFor(nil, srv, "")
			// A reconnection also asks for a poll: the log shows there
			// was none, so the second request is the server's news.
			var logs lockedBuffer
			in.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
			done := make(chan struct{})
			go func() { in.Watch(ctx, q, time.Hour); close(done) }()
			next := func(what string) {
				t.Helper()
				select {
				case typ := <-q:
					if typ != TypeInboxPoll {
						t.Fatalf("%s: enqueued %s", what, typ)
					}
				case <-time.After(20 * time.Second):
					t.Fatalf("%s: no poll requested", what)
				}
			}
			next("start")
			// The first request comes after the watcher selected the
			// mailbox, so the server reports this message to it.
			srv.appendMsg(t, watched, newsletter)
			next("after new mail")
			cancel()
			<-done
			if l := logs.String(); l != "" {
				t.Errorf("watcher warnings:\n%s", l)
			}
		})
	}
}

// lockedBuffer is a log sink safe for the watcher's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
