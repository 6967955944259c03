package worker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decodes the non-UTF-8 charsets a test might meet
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/directive"
	"github.com/sonoivu/vanthu/internal/ratelimit"
	"github.com/sonoivu/vanthu/internal/smtpsink"
	"github.com/sonoivu/vanthu/internal/store"
	"github.com/sonoivu/vanthu/mailer"
	"github.com/sonoivu/vanthu/templates"
)

var testKey = []byte("test-key-0123456789abcdef0123456789")

// pipeline is a worker wired for the directive pipeline against a real
// Redis, a SQLite store and the fault-injecting SMTP sink.
type pipeline struct {
	st     *store.Store
	svc    *directive.Service
	sink   *smtpsink.Sink
	client *Client
	h      *Handlers
	rdb    *redis.Client
	// shift moves the handlers' clock forward; atomic because the
	// worker's goroutines read it.
	shift *atomic.Int64
}

// newPipeline starts it all. decide picks the fault for each message by
// dispatch id (read back from the Message-ID) and attempt number.
func newPipeline(t *testing.T, redisAddr string, decide func(dispatchID int64, attempt int) smtpsink.Fault) *pipeline {
	t.Helper()
	st := newStore(t)
	tpl, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	attempts := map[int64]int{}
	idRE := regexp.MustCompile(`vanthu\.d([0-9]+)\.`)
	sink, err := smtpsink.Start(smtpsink.Config{Logger: quiet, Decide: func(_ int64, msgID string) smtpsink.Fault {
		var id int64
		if m := idRE.FindStringSubmatch(msgID); m != nil {
			fmt.Sscan(m[1], &id)
		}
		mu.Lock()
		attempts[id]++
		n := attempts[id]
		mu.Unlock()
		if decide == nil {
			return smtpsink.None
		}
		return decide(id, n)
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	sender := mailer.NewSender(mailer.SMTPConfig{Host: sink.Host(), Port: sink.Port(), TLS: mailer.TLSNone}, quiet)
	t.Cleanup(func() { sender.Close() })

	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { rdb.Close() })
	client := NewClient(rdb)
	t.Cleanup(func() { client.Close() })
	from := &mail.Address{Name: "Sở Nội vụ", Address: "vanban@snv.test"}
	shift := new(atomic.Int64)
	h := &Handlers{
		Store: st, Mail: sender, Templates: tpl, Logger: quiet, From: from,
		Now: func() time.Time { return time.Now().Add(time.Duration(shift.Load())) },
		Directives: &Directives{
			Store:      st,
			Composer:   &directive.Composer{Templates: tpl, From: from, TagSeparator: "+", BaseURL: "https://vanthu.test", Key: testKey},
			Queue:      client,
			Limiter:    ratelimit.New(rdb, "test:{rate}:"),
			ServerKey:  "smtp:" + sink.Addr(),
			ServerRate: ratelimit.Rate{Limit: 1000, Per: time.Second, Burst: 50},
			DomainRate: ratelimit.Rate{Limit: 1000, Per: time.Second, Burst: 50},
			Reminders:  store.ReminderPolicy{Every: time.Minute, Max: 3},
		},
	}
	srv, mux := NewServer(rdb, ServerConfig{
		Concurrency: 4, ShutdownTimeout: 5 * time.Second, Logger: quiet,
		RetryDelay: func(int, error, *asynq.Task) time.Duration { return 50 * time.Millisecond },
	}, h)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return &pipeline{st: st, svc: &directive.Service{Store: st, Templates: tpl, Key: testKey}, sink: sink, client: client, h: h, rdb: rdb, shift: shift}
}

// issue creates n units and a directive to all of them, issued.
func (p *pipeline) issue(t *testing.T, n int) vanthu.Document {
	t.Helper()
	ctx := context.Background()
	admin := vanthu.User{Username: "vanthu", FullName: "Văn thư", Role: vanthu.RoleClerk, Active: true}
	if err := p.st.CreateUser(ctx, &admin, "test"); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		u := vanthu.Unit{Code: fmt.Sprintf("U%03d", i+1), Name: fmt.Sprintf("Ủy ban nhân dân xã Tân Hạnh %d", i+1),
			Emails: []string{fmt.Sprintf("ubnd%d@xa%d.vinhlong.gov.vn", i+1, i%3)}, Group: vanthu.GroupCommune, Active: true}
		if err := p.st.CreateUnit(ctx, &u, "test"); err != nil {
			t.Fatal(err)
		}
	}
	doc, err := p.svc.NewDraft("directive")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(48 * time.Hour)
	doc.Content.Audience = vanthu.Audience{All: true}
	doc.Content.Deadline = &deadline
	doc.CreatedBy = admin.ID
	if err := p.st.CreateDocument(ctx, &doc, "vanthu"); err != nil {
		t.Fatal(err)
	}
	issued, err := p.svc.Issue(ctx, doc.ID, "vanthu")
	if err != nil {
		t.Fatal(err)
	}
	return issued
}

// settled waits until every dispatch of doc is sent or failed.
func (p *pipeline) settled(t *testing.T, doc vanthu.Document) map[int64]vanthu.Dispatch {
	t.Helper()
	out := map[int64]vanthu.Dispatch{}
	eventually(t, 30*time.Second, "every dispatch sent or failed", func() bool {
		ds, err := p.st.ListDispatches(context.Background(), doc.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.SentAt == nil && d.FailedAt == nil {
				return false
			}
			out[d.ID] = d
		}
		return true
	})
	return out
}

// TestSendFaults: a 421 is retried and succeeds, a 550 ends in failed with
// the server's reply, a connection dropped mid-DATA is retried; each sent
// dispatch reached the sink exactly once, carrying the PDF and a working
// acknowledgement link.
func TestSendFaults(t *testing.T) {
	for name, backend := range backends(t) {
		t.Run(name, func(t *testing.T) {
			faults := map[int64][]smtpsink.Fault{
				2: {smtpsink.TempFail, smtpsink.TempFail}, // 421 twice, then accepted
				3: {smtpsink.PermFail},                    // 550 for good
				4: {smtpsink.Drop},                        // connection dropped mid-DATA once
			}
			p := newPipeline(t, backend(t), func(id int64, attempt int) smtpsink.Fault {
				f := faults[id]
				if id == 3 {
					return smtpsink.PermFail
				}
				if attempt <= len(f) {
					return f[attempt-1]
				}
				return smtpsink.None
			})
			doc := p.issue(t, 5)
			if err := p.client.EnqueueFanout(context.Background(), doc.ID); err != nil {
				t.Fatal(err)
			}
			ds := p.settled(t, doc)
			for id, d := range ds {
				switch {
				case id == 3:
					if d.FailedAt == nil || !strings.Contains(d.FailReason, "550") {
						t.Errorf("dispatch 3: failed_at=%v reason=%q, want failed with the 550 reply", d.FailedAt, d.FailReason)
					}
				case d.SentAt == nil || d.MessageID == "":
					t.Errorf("dispatch %d not sent: %+v", id, d)
				}
			}
			st := p.sink.Stats()
			if st.TempFailed < 2 || st.PermFailed < 1 || st.Dropped < 1 {
				t.Errorf("sink stats %+v: the faults were not all exercised", st)
			}
			if st.Accepted != 4 || st.DuplicateMessageIDs != 0 {
				t.Errorf("sink accepted %d (duplicates %d), want 4 distinct", st.Accepted, st.DuplicateMessageIDs)
			}
			for _, m := range p.sink.Messages() {
				checkMessage(t, p, doc, ds, m)
			}

			// A duplicate task for a sent dispatch sends nothing.
			task, _, _ := NewSendTask(1)
			if err := p.h.HandleSend(context.Background(), task); err != nil {
				t.Fatal(err)
			}
			if p.sink.Count() != 4 {
				t.Errorf("a duplicate send task sent again: %d messages", p.sink.Count())
			}
		})
	}
}

// checkMessage reads a received message as a unit's mail client would.
func checkMessage(t *testing.T, p *pipeline, doc vanthu.Document, ds map[int64]vanthu.Dispatch, m smtpsink.Received) {
	t.Helper()
	var d vanthu.Dispatch
	for _, x := range ds {
		if x.MessageID == m.MessageID {
			d = x
		}
	}
	if d.ID == 0 {
		t.Fatalf("received %s, which no dispatch recorded", m.MessageID)
	}
	tagged := "vanban+" + d.MailTag + "@snv.test"
	if m.From != tagged || len(m.To) != 1 || m.To[0] != d.Email {
		t.Errorf("envelope %s -> %v, want %s -> %s", m.From, m.To, tagged, d.Email)
	}
	e, err := message.Read(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Reply-To", "Disposition-Notification-To"} {
		if got := e.Header.Get(h); got != tagged {
			t.Errorf("%s = %q, want the envelope sender %s", h, got, tagged)
		}
	}
	var text string
	var pdf []byte
	var pdfName string
	err = e.Walk(func(_ []int, part *message.Entity, err error) error {
		if err != nil {
			return err
		}
		ct, params, _ := part.Header.ContentType()
		switch {
		case ct == "text/plain":
			b, _ := io.ReadAll(part.Body)
			text = string(b)
		case ct == "application/pdf":
			pdf, _ = io.ReadAll(part.Body)
			_, dp, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
			pdfName = dp["filename"]
			_ = params
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, want, err := p.st.GetArtifact(context.Background(), doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pdf, want) || pdfName != directive.FileName(doc) {
		t.Errorf("attachment %q (%d bytes) is not the issued PDF %q", pdfName, len(pdf), directive.FileName(doc))
	}
	link := regexp.MustCompile(`https://vanthu\.test/a/([A-Za-z0-9_-]+)`).FindStringSubmatch(text)
	if link == nil {
		t.Fatalf("no acknowledgement link in:\n%s", text)
	}
	got, err := p.st.DispatchByToken(context.Background(), directive.HashToken(link[1]))
	if err != nil || got.ID != d.ID {
		t.Errorf("the link's token finds dispatch %d (%v), want %d", got.ID, err, d.ID)
	}
	if len(link[1]) < 22 {
		t.Errorf("token %q is under 128 bits", link[1])
	}
	if !strings.Contains(text, d.UnitName) || !strings.Contains(text, doc.Symbol) {
		t.Errorf("text body lacks the unit or the number:\n%s", text)
	}
}

// TestReconcileAfterRedisLoss: the fan-out is lost with Redis's data; the
// reconciler, reading the rows, sends every dispatch once.
func TestReconcileAfterRedisLoss(t *testing.T) {
	for name, backend := range backends(t) {
		t.Run(name, func(t *testing.T) {
			p := newPipeline(t, backend(t), nil)
			doc := p.issue(t, 12)
			if err := p.client.EnqueueFanout(context.Background(), doc.ID); err != nil {
				t.Fatal(err)
			}
			// Lose whatever Redis held, queued sends included.
			if err := p.rdb.FlushAll(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
			if err := p.h.HandleReconcile(context.Background(), NewReconcileTask()); err != nil {
				t.Fatal(err)
			}
			ds := p.settled(t, doc)
			for id, d := range ds {
				if d.SentAt == nil {
					t.Errorf("dispatch %d not sent", id)
				}
			}
			if st := p.sink.Stats(); st.Accepted < 12 || st.DuplicateMessageIDs > 0 {
				t.Errorf("sink %+v: want every dispatch once", st)
			}
		})
	}
}

// TestResendAfterFailure: a dispatch failed by a 550 is resent once the
// clerk asks, although its archived task still holds the task ID.
func TestResendAfterFailure(t *testing.T) {
	p := newPipeline(t, backends(t)["redis-server"](t), func(id int64, attempt int) smtpsink.Fault {
		if attempt == 1 {
			return smtpsink.PermFail
		}
		return smtpsink.None
	})
	doc := p.issue(t, 2)
	ctx := context.Background()
	if err := p.client.EnqueueFanout(ctx, doc.ID); err != nil {
		t.Fatal(err)
	}
	for _, d := range p.settled(t, doc) {
		if d.FailedAt == nil {
			t.Fatalf("dispatch %d: want failed first", d.ID)
		}
	}
	ids, err := p.st.ResendFailed(ctx, doc.ID, nil, "vanthu")
	if err != nil || len(ids) != 2 {
		t.Fatalf("ResendFailed = %v, %v", ids, err)
	}
	if err := p.client.EnqueueSend(ctx, ids); err != nil {
		t.Fatal(err)
	}
	for _, d := range p.settled(t, doc) {
		if d.SentAt == nil {
			t.Errorf("dispatch %d not sent after the resend: %+v", d.ID, d)
		}
	}
}

// TestReminders: "remind now" reaches only the unit that has not
// acknowledged, threaded under the original with the reminder letter; the
// sweep sends the next one once the deadline has passed, and never twice.
func TestReminders(t *testing.T) {
	p := newPipeline(t, backends(t)["redis-server"](t), nil)
	ctx := context.Background()
	doc := p.issue(t, 2)
	if err := p.client.EnqueueFanout(ctx, doc.ID); err != nil {
		t.Fatal(err)
	}
	ds := p.settled(t, doc)
	var acked, late vanthu.Dispatch
	for _, d := range ds {
		if acked.ID == 0 {
			acked = d
		} else {
			late = d
		}
	}
	if _, err := p.st.ApplyMilestone(ctx, acked.ID, vanthu.MilestoneAcknowledged, time.Now(), vanthu.SourceWeb, "U001", ""); err != nil {
		t.Fatal(err)
	}
	if err := p.client.EnqueueRemind(ctx, doc.ID); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.sink.WaitCount(wctx, 3); err != nil {
		t.Fatalf("reminder not received: %v", err)
	}
	eventually(t, 10*time.Second, "the reminder recorded", func() bool {
		d, _ := p.st.GetDispatch(ctx, late.ID)
		return d.Reminded == 1
	})
	msgs := p.sink.Messages()
	r := msgs[len(msgs)-1]
	if r.To[0] != late.Email {
		t.Fatalf("reminder went to %v, want only the unit that has not acknowledged (%s)", r.To, late.Email)
	}
	e, err := message.Read(bytes.NewReader(r.Data))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Header.Get("In-Reply-To"); got != "<"+late.MessageID+">" {
		t.Errorf("In-Reply-To = %q, want the original <%s>", got, late.MessageID)
	}
	var pdfs []string
	e.Walk(func(_ []int, part *message.Entity, _ error) error {
		if ct, _, _ := part.Header.ContentType(); ct == "application/pdf" {
			_, dp, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
			pdfs = append(pdfs, dp["filename"])
		}
		return nil
	})
	if len(pdfs) != 2 || !strings.HasPrefix(pdfs[0], "don-doc-lan-1-") || pdfs[1] != directive.FileName(doc) {
		t.Errorf("attachments %v, want the reminder letter and the original", pdfs)
	}

	// The sweep, past the deadline: reminder 2 for the late unit only.
	p.shift.Store(int64(time.Until(doc.Content.Deadline.Add(time.Hour))))
	if err := p.h.HandleRemindersSweep(ctx, NewRemindersSweepTask()); err != nil {
		t.Fatal(err)
	}
	if err := p.sink.WaitCount(wctx, 4); err != nil {
		t.Fatalf("swept reminder not received: %v", err)
	}
	eventually(t, 10*time.Second, "reminder 2 recorded", func() bool {
		d, _ := p.st.GetDispatch(ctx, late.ID)
		return d.Reminded == 2
	})
	// The same reminder again (a duplicate task) sends nothing.
	task, _, _ := NewRemindTask(late.ID, 2)
	if err := p.h.HandleRemind(ctx, task); err != nil {
		t.Fatal(err)
	}
	if d, _ := p.st.GetDispatch(ctx, acked.ID); d.Reminded != 0 {
		t.Errorf("the unit that acknowledged was reminded %d times", d.Reminded)
	}
	if n := p.sink.Count(); n != 4 {
		t.Errorf("sink holds %d messages, want 2 originals + 2 reminders", n)
	}
}
