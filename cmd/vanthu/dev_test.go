package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/sonoivu/vanthu/internal/testenv"
	"github.com/sonoivu/vanthu/worker"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// syncBuffer collects the output of the dev command while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDevEndToEnd runs `vanthu dev` as a newcomer would: it serves the login
// page, the clerk sees the seeded units, the admin's token drives the API, a
// test mail goes through the queue, the worker and SMTP into the built-in
// mailbox, and cancelling the context (Ctrl-C) stops everything cleanly.
func TestDevEndToEnd(t *testing.T) {
	httpAddr := testenv.FreeAddr(t)
	token := "dev-admin-token-0123456789"
	env := map[string]string{
		"VANTHU_HTTP_ADDR":       httpAddr,
		"VANTHU_DATA_DIR":        t.TempDir(),
		"VANTHU_DEV_SMTP_ADDR":   testenv.FreeAddr(t),
		"VANTHU_DEV_IMAP_ADDR":   testenv.FreeAddr(t),
		"VANTHU_DEV_ADMIN_TOKEN": token,
		"VANTHU_LOG_LEVEL":       "warn",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"dev"}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &logs)
	}()

	base := "http://" + httpAddr
	waitFor(t, 30*time.Second, "login page", done, &logs, answers(base+"/login"))
	for _, want := range []string{base + "/login", "/dev/mail", "vanthu", "vanthu@2026", env["VANTHU_DEV_SMTP_ADDR"], env["VANTHU_DEV_IMAP_ADDR"]} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out.String())
		}
	}

	// The clerk logs in through the form and sees the seeded units.
	jar, _ := cookiejar.New(nil)
	clerk := &http.Client{Jar: jar}
	resp, err := clerk.PostForm(base+"/login", url.Values{"username": {"vanthu"}, "password": {"vanthu@2026"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Ủy ban nhân dân phường Thanh Đức") {
		t.Fatalf("after login: %s\n%.2000s", resp.Status, body)
	}

	// The admin token drives the API.
	api := func(method, path string, body any) (*http.Response, []byte) {
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, base+path, r)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, body = api("GET", "/api/v1/units", nil)
	var units []struct{ Code, Name string }
	if err := json.Unmarshal(body, &units); err != nil {
		var wrapped struct{ Units []struct{ Code, Name string } }
		if err2 := json.Unmarshal(body, &wrapped); err2 != nil {
			t.Fatalf("units: %s %s", resp.Status, body)
		}
		units = wrapped.Units
	}
	if len(units) < 40 {
		t.Fatalf("%d seeded units listed, want ≥ 40", len(units))
	}

	// A test mail travels queue → worker → SMTP → the built-in mailbox.
	resp, body = api("POST", "/api/v1/admin/test-mail", map[string]string{"to": "snv@vinhlong.gov.vn"})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("test-mail: %s %s", resp.Status, body)
	}
	waitFor(t, 30*time.Second, "test mail in the dev mailbox", done, &logs, func() bool {
		resp, err := clerk.Get(base + "/dev/mail/snv@vinhlong.gov.vn")
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return strings.Contains(string(b), "Thư thử nghiệm cấu hình gửi thư")
	})
	resp, err = clerk.Get(base + "/dev/mail")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "vanban@snv.vinhlong.gov.vn") || !strings.Contains(string(body), "snv@vinhlong.gov.vn") {
		t.Errorf("mail viewer does not list the office and unit mailboxes:\n%.2000s", body)
	}

	// Work queued for later must survive Ctrl-C: put a task in the
	// in-process Redis, stop, start again on the same data directory.
	rc := redis.NewClient(&redis.Options{Addr: redisAddrFrom(t, out.String())})
	defer rc.Close()
	jobs := worker.NewClient(rc)
	id, err := jobs.Enqueue(context.Background(), worker.NewTokensCleanupTask(), asynq.Queue(worker.QueueMaintenance), asynq.ProcessIn(time.Hour))
	if err != nil {
		t.Fatal(err)
	}

	stopDev(t, cancel, done, &logs)

	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	var out2 syncBuffer
	done2 := make(chan error, 1)
	go func() {
		done2 <- run(ctx2, []string{"dev"}, func(k string) string { return env[k] }, strings.NewReader(""), &out2, &logs)
	}()
	waitFor(t, 30*time.Second, "login page after restart", done2, &logs, answers(base+"/login"))
	if strings.Contains(out2.String(), "seeded") {
		t.Error("second start seeded the sample province again")
	}
	rc2 := redis.NewClient(&redis.Options{Addr: redisAddrFrom(t, out2.String())})
	defer rc2.Close()
	info, err := asynq.NewInspectorFromRedisClient(rc2).GetTaskInfo(worker.QueueMaintenance, id)
	if err != nil || info.State != asynq.TaskStateScheduled {
		t.Errorf("task queued before Ctrl-C after restart: %+v, %v; want it still scheduled", info, err)
	}
	stopDev(t, cancel2, done2, &logs)
}

func stopDev(t *testing.T, cancel context.CancelFunc, done <-chan error, logs *syncBuffer) {
	t.Helper()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("dev stopped with %v\n%s", err, logs.String())
		}
	case <-time.After(45 * time.Second):
		t.Fatal("dev did not stop within 45s of Ctrl-C")
	}
}

// answers reports whether url serves 200 OK.
func answers(url string) func() bool {
	return func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
}

// redisAddrFrom reads the in-process Redis address from the dev banner.
func redisAddrFrom(t *testing.T, banner string) string {
	t.Helper()
	m := regexp.MustCompile(`Redis:\s+(\S+) \(in-process\)`).FindStringSubmatch(banner)
	if m == nil {
		t.Fatalf("banner does not show the Redis address:\n%s", banner)
	}
	return m[1]
}

// waitFor polls cond until it holds, a command under test exits, or the
// time is up.
func waitFor(t *testing.T, d time.Duration, what string, done <-chan error, logs *syncBuffer, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case err := <-done:
			t.Fatalf("a command exited (%v) while waiting for %s\n%s", err, what, logs.String())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %s\n%s", what, d, logs.String())
		}
	}
}
