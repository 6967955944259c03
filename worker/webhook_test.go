package worker

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/store"
	"github.com/sonoivu/vanthu/internal/testenv"
)

// hookSecret is the secret of the test webhooks.
const hookSecret = "bí-mật-của-cổng-dịch-vụ-công-0123"

// hang, as a receiver's answer, keeps the request open until the client
// gives up.
const hang = 0

// hit is one request the receiver got.
type hit struct {
	delivery int64
	path     string
	header   http.Header
	raw      []byte
	body     WebhookBody
	status   int // what it answered
}

// receiver is another system's endpoint. It checks every request's
// signature on its own, as the receiver's developers would, without
// SignWebhook, and answers what the script says for the nth attempt at a
// delivery.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	hits   []hit
	script func(r *http.Request, delivery int64, n int) int
}

func newReceiver(t *testing.T, script func(r *http.Request, delivery int64, n int) int) *receiver {
	rc := &receiver{t: t, script: script}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		rc.t.Errorf("receiver: read body: %v", err)
		return
	}
	ts := r.Header.Get("X-Vanthu-Timestamp")
	mac := hmac.New(sha256.New, []byte(hookSecret))
	mac.Write([]byte(ts + "." + string(raw)))
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); r.Header.Get("X-Vanthu-Signature") != want {
		rc.t.Errorf("receiver: signature %q, computed %q", r.Header.Get("X-Vanthu-Signature"), want)
	}
	if sec, err := strconv.ParseInt(ts, 10, 64); err != nil || time.Since(time.Unix(sec, 0)).Abs() > time.Minute {
		rc.t.Errorf("receiver: timestamp %q is not now", ts)
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		rc.t.Errorf("receiver: %s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
	}
	var body WebhookBody
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		rc.t.Errorf("receiver: body %s: %v", raw, err)
	}
	id, _ := strconv.ParseInt(r.Header.Get("X-Vanthu-Delivery"), 10, 64)
	if id != body.DeliveryID || r.Header.Get("X-Vanthu-Event") != body.Action {
		rc.t.Errorf("receiver: headers %v disagree with the body %s", r.Header, raw)
	}
	rc.mu.Lock()
	n := 1
	for _, h := range rc.hits {
		if h.delivery == id {
			n++
		}
	}
	status := rc.script(r, id, n)
	rc.hits = append(rc.hits, hit{delivery: id, path: r.URL.Path, header: r.Header.Clone(), raw: raw, body: body, status: status})
	rc.mu.Unlock()
	if status == hang {
		<-r.Context().Done()
		return
	}
	if status >= 300 && status < 400 {
		w.Header().Set("Location", "/elsewhere")
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, "answer %d", status)
}

// count returns how many requests delivery id got.
func (rc *receiver) count(id int64) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for _, h := range rc.hits {
		if h.delivery == id {
			n++
		}
	}
	return n
}

func (rc *receiver) all() []hit {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hit(nil), rc.hits...)
}

// hookEnv is a store with units and an issued directive, and handlers for
// the webhook tasks (not yet served).
type hookEnv struct {
	st  *store.Store
	h   *Handlers
	doc vanthu.Document
	by  map[string]vanthu.Dispatch // by unit code
}

func newHookEnv(t *testing.T, units int) *hookEnv {
	t.Helper()
	ctx := context.Background()
	st := newStore(t)
	u := vanthu.User{Username: "vanthu", FullName: "Văn thư", Role: vanthu.RoleClerk, Active: true}
	if err := st.CreateUser(ctx, &u, "test"); err != nil {
		t.Fatal(err)
	}
	for i := range units {
		unit := vanthu.Unit{Code: fmt.Sprintf("XA-%02d", i+1), Name: fmt.Sprintf("Ủy ban nhân dân xã Tân Hạnh %d", i+1),
			Emails: []string{fmt.Sprintf("ubnd%d@xa.vinhlong.gov.vn", i+1)}, Group: vanthu.GroupCommune, Active: true}
		if err := st.CreateUnit(ctx, &unit, "test"); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(7 * 24 * time.Hour)
	doc := vanthu.Document{
		Kind: vanthu.KindDirective, TypeCode: "CT", Issuer: "UBND", CreatedBy: u.ID,
		Subject: "Về việc tăng cường kỷ luật, kỷ cương hành chính",
		Content: vanthu.Content{
			Template: "directive", Agency: "ỦY BAN NHÂN DÂN TỈNH VĨNH LONG", Place: "Vĩnh Long",
			SignerName: "Nguyễn Văn An", Body: "Yêu cầu các đơn vị thực hiện nghiêm.",
			Audience: vanthu.Audience{All: true}, Deadline: &deadline,
		},
	}
	if err := st.CreateDocument(ctx, &doc, "vanthu"); err != nil {
		t.Fatal(err)
	}
	doc, err := st.IssueDocument(ctx, doc.ID, "vanthu", time.Now(), func(_ context.Context, d vanthu.Document, us []vanthu.Unit) (store.IssuePlan, error) {
		p := store.IssuePlan{Artifact: vanthu.Artifact{Name: "chi-thi.pdf", ContentType: "application/pdf"}, Content: []byte("%PDF-1.7")}
		for _, u := range us {
			h := sha256.Sum256([]byte(u.Code))
			p.Dispatches = append(p.Dispatches, store.PlannedDispatch{UnitID: u.ID, Email: u.Emails[0], MailTag: "t" + u.Code, TokenHash: h[:]})
		}
		return p, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := st.ListDispatches(ctx, doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]vanthu.Dispatch{}
	for _, d := range ds {
		by[d.UnitCode] = d
	}
	h := &Handlers{Store: st, Logger: quiet, Webhooks: &Webhooks{Store: st, Timeout: 5 * time.Second}}
	return &hookEnv{st: st, h: h, doc: doc, by: by}
}

// webhook creates an active webhook to url with hookSecret.
func (e *hookEnv) webhook(t *testing.T, url string) vanthu.Webhook {
	t.Helper()
	w := vanthu.Webhook{URL: url, Secret: hookSecret}
	if err := e.st.CreateWebhook(context.Background(), &w, "admin"); err != nil {
		t.Fatal(err)
	}
	return w
}

// sent marks the unit's dispatch sent and returns its deliveries, newest
// first, one per active webhook.
func (e *hookEnv) sent(t *testing.T, unit string) []vanthu.WebhookDelivery {
	t.Helper()
	ctx := context.Background()
	d := e.by[unit]
	if err := e.st.MarkSent(ctx, d.ID, fmt.Sprintf("vanthu.d%d.x@snv.test", d.ID), time.Now()); err != nil {
		t.Fatal(err)
	}
	all, err := e.st.ListDeliveries(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []vanthu.WebhookDelivery
	for _, x := range all {
		if x.Event.Subject == fmt.Sprintf("dispatch:%d", d.ID) && x.Event.Action == "dispatch_sent" {
			out = append(out, x)
		}
	}
	return out
}

func (e *hookEnv) delivery(t *testing.T, id int64) vanthu.Delivery {
	t.Helper()
	d, err := e.st.GetDelivery(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// serve runs a worker for the env on a fresh redis-server; retryDelay
// (read at every retry) replaces Asynq's backoff.
func (e *hookEnv) serve(t *testing.T, retryDelay *atomic.Int64) (*Client, *redis.Client) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: testenv.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	client := NewClient(rdb)
	t.Cleanup(func() { client.Close() })
	e.h.Webhooks.Queue = client
	srv, mux := NewServer(rdb, ServerConfig{
		Concurrency: 4, ShutdownTimeout: 5 * time.Second, Logger: quiet,
		RetryDelay: func(int, error, *asynq.Task) time.Duration { return time.Duration(retryDelay.Load()) },
	}, e.h)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return client, rdb
}

func (e *hookEnv) sweep(t *testing.T) {
	t.Helper()
	if err := e.h.HandleWebhooksSweep(context.Background(), NewWebhooksSweepTask()); err != nil {
		t.Fatal(err)
	}
}

// taskState returns the state of the delivery's task, or 0 without one.
func taskState(t *testing.T, c *Client, id int64) asynq.TaskState {
	t.Helper()
	info, err := c.Inspector().GetTaskInfo(QueueDefault, webhookTaskID(id))
	if err != nil {
		return 0
	}
	return info.State
}

func fastRetries() *atomic.Int64 {
	d := new(atomic.Int64)
	d.Store(int64(20 * time.Millisecond))
	return d
}

// TestWebhookRetriedThenDelivered: a 500 is retried, the 200 that follows
// delivers; each request is signed, and its body says which milestone of
// which dispatch.
func TestWebhookRetriedThenDelivered(t *testing.T) {
	rc := newReceiver(t, func(_ *http.Request, _ int64, n int) int {
		if n == 1 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	e := newHookEnv(t, 2)
	e.webhook(t, rc.srv.URL+"/hooks/vanthu")
	e.serve(t, fastRetries())
	ds := e.sent(t, "XA-01")
	if len(ds) != 1 {
		t.Fatalf("%d deliveries, want 1", len(ds))
	}
	id := ds[0].ID
	e.sweep(t)
	eventually(t, 20*time.Second, "delivered", func() bool { return e.delivery(t, id).State == vanthu.DeliveryDelivered })

	d := e.delivery(t, id)
	if d.Attempts != 2 || d.LastStatus != 200 || d.LastError != "" || d.DeliveredAt == nil {
		t.Errorf("delivery = %+v, want delivered on the second attempt", d.WebhookDelivery)
	}
	hits := rc.all()
	if len(hits) != 2 || hits[0].status != 500 || hits[1].status != 200 {
		t.Fatalf("receiver got %d requests", len(hits))
	}
	disp := e.by["XA-01"]
	want := WebhookBody{
		EventID: d.EventID, DeliveryID: id, Action: "dispatch_sent", Milestone: "sent",
		DispatchID: disp.ID, DocumentID: e.doc.ID, UnitCode: "XA-01",
		At: d.Event.At, Source: "smtp", EvidenceRef: fmt.Sprintf("vanthu.d%d.x@snv.test", disp.ID),
	}
	for i, h := range hits {
		if !h.body.At.Equal(want.At) {
			t.Errorf("attempt %d: at %v, want %v", i+1, h.body.At, want.At)
		}
		h.body.At = want.At
		if h.body != want {
			t.Errorf("attempt %d: body %+v, want %+v", i+1, h.body, want)
		}
		if h.header.Get("X-Vanthu-Event") != "dispatch_sent" || h.header.Get("X-Vanthu-Delivery") != strconv.FormatInt(id, 10) {
			t.Errorf("attempt %d: headers %v", i+1, h.header)
		}
	}
	// The receiver's check and VerifyWebhook agree.
	if err := VerifyWebhook([]byte(hookSecret), hits[1].header.Get(HeaderWebhookTimestamp), hits[1].header.Get(HeaderWebhookSignature), hits[1].raw, time.Now(), 5*time.Minute); err != nil {
		t.Errorf("VerifyWebhook of a real request: %v", err)
	}
	// A sweep now has nothing to send, and a duplicate task sends nothing.
	e.sweep(t)
	task, _, _ := NewWebhookDeliverTask(id)
	if err := e.h.HandleWebhookDeliver(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	if n := rc.count(id); n != 2 {
		t.Errorf("delivered delivery sent again: %d requests", n)
	}
}

// TestWebhookGivenUpThenReplayed: a 410 gives up at once, with no retry
// left; a replay sends it again, and so does replaying a delivered one.
func TestWebhookGivenUpThenReplayed(t *testing.T) {
	var gone atomic.Bool
	gone.Store(true)
	rc := newReceiver(t, func(*http.Request, int64, int) int {
		if gone.Load() {
			return http.StatusGone
		}
		return http.StatusNoContent
	})
	e := newHookEnv(t, 1)
	e.webhook(t, rc.srv.URL)
	client, _ := e.serve(t, fastRetries())
	ctx := context.Background()
	id := e.sent(t, "XA-01")[0].ID
	e.sweep(t)
	eventually(t, 20*time.Second, "given up", func() bool { return e.delivery(t, id).State == vanthu.DeliveryGaveUp })
	eventually(t, 10*time.Second, "task archived", func() bool { return taskState(t, client, id) == asynq.TaskStateArchived })
	if d := e.delivery(t, id); d.Attempts != 1 || d.LastStatus != 410 || !strings.Contains(d.LastError, "410") || d.GaveUpAt == nil {
		t.Fatalf("delivery = %+v, want given up after one attempt", d.WebhookDelivery)
	}
	// Archived: no retry will come, and the sweep leaves it alone.
	e.sweep(t)
	if taskState(t, client, id) != asynq.TaskStateArchived || rc.count(id) != 1 {
		t.Fatalf("after a 410: task %v, %d requests", taskState(t, client, id), rc.count(id))
	}

	gone.Store(false)
	for i, n := range []int{2, 3} {
		if _, err := e.st.ReplayDelivery(ctx, id, "admin"); err != nil {
			t.Fatal(err)
		}
		if err := client.EnqueueWebhookDelivery(ctx, id); err != nil {
			t.Fatal(err)
		}
		eventually(t, 20*time.Second, fmt.Sprintf("replay %d delivered", i+1), func() bool {
			return rc.count(id) == n && e.delivery(t, id).State == vanthu.DeliveryDelivered
		})
	}
	if d := e.delivery(t, id); d.Attempts != 3 || d.LastStatus != 204 || d.LastError != "" {
		t.Errorf("delivery = %+v", d.WebhookDelivery)
	}
	evs, err := e.st.ListEvents(ctx, fmt.Sprintf("webhook:%d", e.delivery(t, id).WebhookID), 10)
	if err != nil || len(evs) != 3 || evs[0].Action != "webhook_replayed" || evs[1].Action != "webhook_replayed" {
		t.Errorf("webhook events = %+v, %v", evs, err)
	}
}

// TestWebhookRetriesRunOut: a receiver down for good is tried, retried
// until the task's retries run out, and then the delivery is given up.
// The task is enqueued with 2 retries instead of webhookRetries: Asynq
// looks for due retries only every few seconds.
func TestWebhookRetriesRunOut(t *testing.T) {
	rc := newReceiver(t, func(*http.Request, int64, int) int { return http.StatusServiceUnavailable })
	e := newHookEnv(t, 1)
	e.webhook(t, rc.srv.URL)
	client, _ := e.serve(t, fastRetries())
	id := e.sent(t, "XA-01")[0].ID
	task, opts, err := NewWebhookDeliverTask(id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Enqueue(context.Background(), task, append(opts, asynq.MaxRetry(2))...); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "given up", func() bool { return e.delivery(t, id).State == vanthu.DeliveryGaveUp })
	eventually(t, 10*time.Second, "task archived", func() bool { return taskState(t, client, id) == asynq.TaskStateArchived })
	d := e.delivery(t, id)
	if d.Attempts != 3 || rc.count(id) != 3 || d.LastStatus != 503 || !strings.Contains(d.LastError, "503") {
		t.Fatalf("delivery = %+v after %d requests; want given up after 3 attempts", d.WebhookDelivery, rc.count(id))
	}
}

// TestWebhookTaskOptions: the delivery task's ID is derived from the
// delivery, and it is retried webhookRetries times on the default queue.
func TestWebhookTaskOptions(t *testing.T) {
	task, opts, err := NewWebhookDeliverTask(42)
	if err != nil {
		t.Fatal(err)
	}
	var p WebhookPayload
	if err := json.Unmarshal(task.Payload(), &p); err != nil || p.DeliveryID != 42 || task.Type() != "webhook:deliver" {
		t.Fatalf("task %s %s: %v", task.Type(), task.Payload(), err)
	}
	got := map[asynq.OptionType]any{}
	for _, o := range opts {
		got[o.Type()] = o.Value()
	}
	if got[asynq.TaskIDOpt] != "webhook:deliver:42" || got[asynq.MaxRetryOpt] != webhookRetries || got[asynq.QueueOpt] != QueueDefault {
		t.Fatalf("options %v", got)
	}
}

// TestWebhookSweepAfterRedisLoss: a delivery waiting out its backoff is
// left alone by the sweep; once Redis is flushed, the sweep finds it in
// the rows and it is delivered.
func TestWebhookSweepAfterRedisLoss(t *testing.T) {
	rc := newReceiver(t, func(_ *http.Request, _ int64, n int) int {
		if n == 1 {
			return http.StatusTooManyRequests
		}
		return http.StatusOK
	})
	e := newHookEnv(t, 1)
	e.webhook(t, rc.srv.URL)
	delay := new(atomic.Int64)
	delay.Store(int64(time.Hour))
	client, rdb := e.serve(t, delay)
	ctx := context.Background()
	id := e.sent(t, "XA-01")[0].ID
	e.sweep(t)
	eventually(t, 20*time.Second, "first attempt recorded, retry scheduled", func() bool {
		return e.delivery(t, id).Attempts == 1 && taskState(t, client, id) == asynq.TaskStateRetry
	})
	e.sweep(t)
	if st := taskState(t, client, id); st != asynq.TaskStateRetry || rc.count(id) != 1 {
		t.Fatalf("the sweep disturbed a retrying task: %v, %d requests", st, rc.count(id))
	}

	if err := rdb.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if st := taskState(t, client, id); st != 0 {
		t.Fatalf("task still there after FLUSHALL: %v", st)
	}
	e.sweep(t)
	eventually(t, 20*time.Second, "delivered after the flush", func() bool { return e.delivery(t, id).State == vanthu.DeliveryDelivered })
	if n := rc.count(id); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

// TestWebhookReplayRunsNow: a replay does not wait out a long backoff.
func TestWebhookReplayRunsNow(t *testing.T) {
	rc := newReceiver(t, func(_ *http.Request, _ int64, n int) int {
		if n == 1 {
			return http.StatusBadGateway
		}
		return http.StatusOK
	})
	e := newHookEnv(t, 1)
	e.webhook(t, rc.srv.URL)
	delay := new(atomic.Int64)
	delay.Store(int64(time.Hour))
	client, _ := e.serve(t, delay)
	ctx := context.Background()
	id := e.sent(t, "XA-01")[0].ID
	e.sweep(t)
	eventually(t, 20*time.Second, "retry scheduled", func() bool { return taskState(t, client, id) == asynq.TaskStateRetry })
	if _, err := e.st.ReplayDelivery(ctx, id, "admin"); err != nil {
		t.Fatal(err)
	}
	if err := client.EnqueueWebhookDelivery(ctx, id); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "delivered", func() bool { return e.delivery(t, id).State == vanthu.DeliveryDelivered })
}

// TestWebhookAnswers: how each answer ends an attempt, by calling the
// handler directly (outside Asynq, so a retryable failure is never the
// last).
func TestWebhookAnswers(t *testing.T) {
	rc := newReceiver(t, func(r *http.Request, _ int64, _ int) int {
		n, _ := strconv.Atoi(r.URL.Query().Get("answer"))
		return n
	})
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return "http://" + addr + "/hook"
	}()
	tests := []struct {
		name   string
		url    string
		code   vanthu.ErrorCode // "" for delivered
		state  string
		status int
		errHas string
	}{
		{"200", rc.srv.URL + "?answer=200", "", vanthu.DeliveryDelivered, 200, ""},
		{"202", rc.srv.URL + "?answer=202", "", vanthu.DeliveryDelivered, 202, ""},
		{"redirect not followed", rc.srv.URL + "?answer=302", vanthu.EPermanent, vanthu.DeliveryGaveUp, 302, "302"},
		{"400", rc.srv.URL + "?answer=400", vanthu.EPermanent, vanthu.DeliveryGaveUp, 400, "answer 400"},
		{"401", rc.srv.URL + "?answer=401", vanthu.EPermanent, vanthu.DeliveryGaveUp, 401, "401"},
		{"404", rc.srv.URL + "?answer=404", vanthu.EPermanent, vanthu.DeliveryGaveUp, 404, "404"},
		{"408", rc.srv.URL + "?answer=408", vanthu.EUnavailable, vanthu.DeliveryPending, 408, "408"},
		{"422", rc.srv.URL + "?answer=422", vanthu.EPermanent, vanthu.DeliveryGaveUp, 422, "422"},
		{"429", rc.srv.URL + "?answer=429", vanthu.EUnavailable, vanthu.DeliveryPending, 429, "429"},
		{"500", rc.srv.URL + "?answer=500", vanthu.EUnavailable, vanthu.DeliveryPending, 500, "answer 500"},
		{"503", rc.srv.URL + "?answer=503", vanthu.EUnavailable, vanthu.DeliveryPending, 503, "503"},
		{"connection refused", closed, vanthu.EUnavailable, vanthu.DeliveryPending, 0, "refused"},
		{"timeout", rc.srv.URL + "?answer=0", vanthu.EUnavailable, vanthu.DeliveryPending, 0, "deadline"},
	}
	e := newHookEnv(t, 1)
	e.h.Webhooks.Timeout = 300 * time.Millisecond
	hooks := map[int64]int{} // webhook id → test index
	for i, tt := range tests {
		hooks[e.webhook(t, tt.url).ID] = i
	}
	ds := e.sent(t, "XA-01")
	if len(ds) != len(tests) {
		t.Fatalf("%d deliveries for %d webhooks", len(ds), len(tests))
	}
	ctx := context.Background()
	for _, d := range ds {
		tt := tests[hooks[d.WebhookID]]
		t.Run(tt.name, func(t *testing.T) {
			task, _, _ := NewWebhookDeliverTask(d.ID)
			err := e.h.HandleWebhookDeliver(ctx, task)
			if tt.code == "" && err != nil || tt.code != "" && vanthu.ErrorCodeOf(err) != tt.code {
				t.Fatalf("error %v (code %q), want code %q", err, vanthu.ErrorCodeOf(err), tt.code)
			}
			got := e.delivery(t, d.ID)
			if got.State != tt.state || got.Attempts != 1 || got.LastStatus != tt.status || !strings.Contains(got.LastError, tt.errHas) {
				t.Fatalf("delivery = state %s, %d attempts, status %d, error %q; want %s, 1, %d, %q",
					got.State, got.Attempts, got.LastStatus, got.LastError, tt.state, tt.status, tt.errHas)
			}
		})
	}
	for _, h := range rc.all() {
		if h.path == "/elsewhere" {
			t.Error("a redirect was followed")
		}
	}

	// A deactivated webhook's pending delivery is not sent.
	var pending vanthu.WebhookDelivery
	for _, d := range ds {
		if tests[hooks[d.WebhookID]].name == "503" {
			pending = d
		}
	}
	if err := e.st.SetWebhookActive(ctx, pending.WebhookID, false, "admin"); err != nil {
		t.Fatal(err)
	}
	before := len(rc.all())
	task, _, _ := NewWebhookDeliverTask(pending.ID)
	if err := e.h.HandleWebhookDeliver(ctx, task); err != nil || len(rc.all()) != before {
		t.Fatalf("inactive webhook: %v, %d new requests", err, len(rc.all())-before)
	}
	// An unknown delivery is not retried.
	task, _, _ = NewWebhookDeliverTask(999999)
	if err := e.h.HandleWebhookDeliver(ctx, task); vanthu.ErrorCodeOf(err) != vanthu.ENotFound {
		t.Fatalf("unknown delivery: %v", err)
	}
}

func TestSignAndVerifyWebhook(t *testing.T) {
	secret := []byte("khoa-bi-mat-0123456789")
	body := []byte(`{"event_id":1}`)
	const ts = 1772440200 // 2026-03-02 08:30 UTC
	// Computed outside Go (Python's hmac), so the format is pinned.
	const golden = "sha256=d44f861dab36c5b5eefad2e2b1b2a34260617bf03ce3d02de31c2507244ad12f"
	if got := SignWebhook(secret, ts, body); got != golden {
		t.Fatalf("SignWebhook = %s, want %s", got, golden)
	}
	now := time.Unix(ts, 0).Add(90 * time.Second)
	tests := []struct {
		name      string
		secret    []byte
		timestamp string
		signature string
		body      []byte
		tolerance time.Duration
		ok        bool
	}{
		{"genuine", secret, "1772440200", golden, body, 5 * time.Minute, true},
		{"no tolerance check", secret, "1772440200", golden, body, 0, true},
		{"spaces around", secret, " 1772440200 ", " " + golden, body, 5 * time.Minute, true},
		{"body changed", secret, "1772440200", golden, []byte(`{"event_id":2}`), 5 * time.Minute, false},
		{"timestamp changed", secret, "1772440201", golden, body, 5 * time.Minute, false},
		{"other secret", []byte("khoa-bi-mat-khac-0123"), "1772440200", golden, body, 5 * time.Minute, false},
		{"too old", secret, "1772440200", golden, body, time.Minute, false},
		{"bad timestamp", secret, "hôm qua", golden, body, 5 * time.Minute, false},
		{"no prefix", secret, "1772440200", strings.TrimPrefix(golden, "sha256="), body, 5 * time.Minute, false},
		{"not hex", secret, "1772440200", "sha256=xyz", body, 5 * time.Minute, false},
		{"empty", secret, "1772440200", "", body, 5 * time.Minute, false},
	}
	for _, tt := range tests {
		err := VerifyWebhook(tt.secret, tt.timestamp, tt.signature, tt.body, now, tt.tolerance)
		if (err == nil) != tt.ok {
			t.Errorf("%s: VerifyWebhook = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}
