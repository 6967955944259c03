package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sonoivu/vanthu/internal/testenv"
	"github.com/sonoivu/vanthu/mailer/devmail"
)

// TestProductionProcesses runs the production commands the way a
// deployment does, on real PostgreSQL and redis-server: migrate, create the
// first admin and a token, then two web servers, two workers and a
// scheduler sharing one database and one Redis. A unit created through one
// web server is seen through the other, and test mails requested on both
// are each delivered exactly once over SMTP.
func TestProductionProcesses(t *testing.T) {
	mail := devmail.New(devmail.Config{SMTPAddr: "127.0.0.1:0", IMAPAddr: "127.0.0.1:0"})
	if err := mail.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mail.Close() })
	smtpHost, smtpPort, _ := net.SplitHostPort(mail.SMTPAddr())
	imap := testenv.Dovecot(t, map[string]string{"vanban@snv.test": "mật-khẩu-imap"})
	imapHost, imapPort, _ := net.SplitHostPort(imap.Addr)

	env := map[string]string{
		"VANTHU_DATABASE_URL":  testenv.Postgres(t),
		"VANTHU_REDIS_URL":     "redis://" + testenv.Redis(t) + "/0",
		"VANTHU_SMTP_HOST":     smtpHost,
		"VANTHU_SMTP_PORT":     smtpPort,
		"VANTHU_SMTP_TLS":      "none",
		"VANTHU_MAIL_FROM":     "Sở Nội vụ <vanban@snv.test>",
		"VANTHU_IMAP_HOST":     imapHost,
		"VANTHU_IMAP_PORT":     imapPort,
		"VANTHU_IMAP_TLS":      "none",
		"VANTHU_IMAP_USERNAME": "vanban@snv.test",
		"VANTHU_IMAP_PASSWORD": "mật-khẩu-imap",
		"VANTHU_LOG_LEVEL":     "warn",
		"VANTHU_SECRET_KEY":    "prod-test-secret-0123456789abcdefghij",
	}
	var logs syncBuffer
	cmd := func(ctx context.Context, extra map[string]string, stdin string, args ...string) (string, error) {
		var out bytes.Buffer
		getenv := func(k string) string {
			if v, ok := extra[k]; ok {
				return v
			}
			return env[k]
		}
		err := run(ctx, args, getenv, strings.NewReader(stdin), &out, &logs)
		return out.String(), err
	}
	ctx := context.Background()

	// A web server on an unmigrated database refuses to start and says why.
	if _, err := cmd(ctx, nil, "", "serve"); err == nil || !strings.Contains(err.Error(), "vanthu migrate") {
		t.Fatalf("serve before migrate: %v, want a refusal naming 'vanthu migrate'", err)
	}
	if out, err := cmd(ctx, nil, "", "migrate"); err != nil || !strings.Contains(out, "postgres database") {
		t.Fatalf("migrate: %q, %v", out, err)
	}
	if _, err := cmd(ctx, nil, "ngắn\n", "users", "create", "quantri", "admin", "Quản trị viên"); err == nil || !strings.Contains(err.Error(), "password") {
		t.Fatalf("short password accepted: %v", err)
	}
	if out, err := cmd(ctx, nil, "mật-khẩu-đủ-dài\n", "users", "create", "quantri", "admin", "Quản trị viên"); err != nil || !strings.Contains(out, "quantri created") {
		t.Fatalf("users create: %q, %v", out, err)
	}
	tokOut, err := cmd(ctx, nil, "", "tokens", "create", "quantri", "kịch bản")
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(tokOut)

	pctx, stop := context.WithCancel(ctx)
	defer stop()
	addrs := []string{testenv.FreeAddr(t), testenv.FreeAddr(t)}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	launch := func(extra map[string]string, args ...string) {
		wg.Go(func() {
			if _, err := cmd(pctx, extra, "", args...); err != nil {
				errs <- err
			}
		})
	}
	for _, a := range addrs {
		launch(map[string]string{"VANTHU_HTTP_ADDR": a}, "serve")
	}
	launch(nil, "worker")
	launch(nil, "worker")
	launch(nil, "scheduler")

	api := func(addr, method, path string, body any) (int, []byte) {
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, "http://"+addr+path, r)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, []byte(err.Error())
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	for _, a := range addrs {
		waitFor(t, 30*time.Second, "readyz on "+a, errs, &logs, func() bool {
			code, _ := api(a, "GET", "/readyz", nil)
			return code == http.StatusOK
		})
	}

	code, body := api(addrs[0], "POST", "/api/v1/units", map[string]any{
		"code": "SNV", "name": "Sở Nội vụ", "group": "so-nganh", "emails": []string{"snv@vinhlong.gov.vn"},
	})
	if code != http.StatusCreated {
		t.Fatalf("create unit on the first server: %d %s", code, body)
	}
	code, body = api(addrs[1], "GET", "/api/v1/units", nil)
	if code != http.StatusOK || !strings.Contains(string(body), "Sở Nội vụ") {
		t.Fatalf("second server does not see the unit: %d %s", code, body)
	}

	const perServer = 3
	for _, a := range addrs {
		for i := range perServer {
			to := "unit" + strconv.Itoa(i) + "@vinhlong.gov.vn"
			if code, body := api(a, "POST", "/api/v1/admin/test-mail", map[string]string{"to": to}); code != http.StatusAccepted {
				t.Fatalf("test-mail on %s: %d %s", a, code, body)
			}
		}
	}
	total := func() int {
		n := 0
		for _, mb := range mail.Mailboxes() {
			n += mb.Messages
		}
		return n
	}
	waitFor(t, 30*time.Second, "test mails delivered", errs, &logs, func() bool { return total() >= 2*perServer })
	for i := range perServer {
		msgs, err := mail.Messages("unit" + strconv.Itoa(i) + "@vinhlong.gov.vn")
		if err != nil || len(msgs) != 2 {
			t.Errorf("unit%d received %d messages (%v), want 2: one per request", i, len(msgs), err)
		}
	}

	stop()
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(45 * time.Second):
		t.Fatalf("processes did not stop within 45s\n%s", logs.String())
	}
	close(errs)
	for err := range errs {
		t.Errorf("process stopped with %v", err)
	}
	// The workers checked both mail servers at start and found them.
	if l := logs.String(); strings.Contains(l, "not reachable") {
		t.Errorf("a worker could not reach a mail server:\n%s", l)
	}
	if total() != 2*perServer {
		t.Errorf("%d messages delivered in all, want %d", total(), 2*perServer)
	}
}
