package worker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/devredis"
	"github.com/sonoivu/vanthu/internal/metrics"
	"github.com/sonoivu/vanthu/internal/store"
	"github.com/sonoivu/vanthu/internal/testenv"
	"github.com/sonoivu/vanthu/mailer"
	"github.com/sonoivu/vanthu/mailer/devmail"
	"github.com/sonoivu/vanthu/templates"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// backends are the Redis servers the queue tests run on: the real
// redis-server (required in CI) and the in-process one `vanthu dev` uses.
func backends(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"redis-server": func(t *testing.T) string { return testenv.Redis(t) },
		"devredis": func(t *testing.T) string {
			s, err := devredis.Start("127.0.0.1:0", "", quiet)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s.Addr()
		},
	}
}

func newStore(t *testing.T) *store.Store {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "vanthu.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// start runs a worker server with h on the Redis at addr.
func start(t *testing.T, addr string, h *Handlers, reg *metrics.Registry) (*Client, *asynq.Inspector) {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	cfg := ServerConfig{Concurrency: 2, ShutdownTimeout: 5 * time.Second, Logger: quiet}
	if reg != nil {
		cfg.Metrics = reg // a typed nil in the interface would not compare equal to nil
	}
	srv, mux := NewServer(rdb, cfg, h)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	c := NewClient(rdb)
	t.Cleanup(func() { c.Close() })
	return c, c.Inspector()
}

func handlers(t *testing.T, st Store, sender Sender) *Handlers {
	tpl, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return &Handlers{Store: st, Mail: sender, Templates: tpl, Logger: quiet,
		From: &mail.Address{Name: "Sở Nội vụ", Address: "vanban@snv.test"}}
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

func TestTestMailEndToEnd(t *testing.T) {
	for name, redisAddr := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			ms := devmail.New(devmail.Config{SMTPAddr: "127.0.0.1:0", IMAPAddr: "127.0.0.1:0", Password: "pw", Logger: quiet})
			if err := ms.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ms.Close() })
			host, port, _ := net.SplitHostPort(ms.SMTPAddr())
			p, _ := strconv.Atoi(port)
			sender := mailer.NewSender(mailer.SMTPConfig{Host: host, Port: p, TLS: mailer.TLSMode("none")}, quiet)
			t.Cleanup(func() { sender.Close() })
			st := newStore(t)
			reg := metrics.New(nil, quiet)
			c, _ := start(t, redisAddr(t), handlers(t, st, sender), reg)

			id1, err := c.EnqueueTestMail(ctx, "stc@vinhlong.gov.vn", "admin")
			if err != nil {
				t.Fatal(err)
			}
			// The same work enqueued again is the same task, not a second mail.
			task, opts, _ := NewMailTestTask(MailTestPayload{To: "stc@vinhlong.gov.vn", RequestedBy: "admin", RequestedAt: time.Unix(0, 0)})
			idA, err := c.Enqueue(ctx, task, opts...)
			if err != nil {
				t.Fatal(err)
			}
			idB, err := c.Enqueue(ctx, task, opts...)
			if err != nil || idA != idB {
				t.Fatalf("duplicate enqueue: %q %q %v", idA, idB, err)
			}
			if id1 == idA {
				t.Fatal("two requests share a task id")
			}
			eventually(t, 20*time.Second, "two messages delivered", func() bool {
				msgs, _ := ms.Messages("stc@vinhlong.gov.vn")
				return len(msgs) >= 2
			})
			msgs, err := ms.Messages("stc@vinhlong.gov.vn")
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 2 {
				t.Fatalf("%d messages, want exactly 2", len(msgs))
			}
			if msgs[0].Subject != "[vanthu] Thư thử nghiệm cấu hình gửi thư" || !strings.Contains(msgs[0].Text, "Kính gửi stc@vinhlong.gov.vn") {
				t.Fatalf("message: %q\n%s", msgs[0].Subject, msgs[0].Text)
			}
			eventually(t, 10*time.Second, "events recorded", func() bool {
				evs, _ := st.ListEvents(ctx, "mail:test", 10)
				return len(evs) == 2
			})
		})
	}
}

// failingSender refuses every message with the given error.
type failingSender struct {
	err   error
	calls atomic.Int32
}

func (f *failingSender) Send(context.Context, string, []string, []byte) error {
	f.calls.Add(1)
	return f.err
}

func TestErrorCodeDecidesRetry(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		state asynq.TaskState
	}{
		{"permanent refusal is archived at once", vanthu.Errorf(vanthu.EPermanent, "550 5.1.1 mailbox unavailable"), asynq.TaskStateArchived},
		{"temporary failure is retried", vanthu.Errorf(vanthu.EUnavailable, "451 4.3.0 try later"), asynq.TaskStateRetry},
		{"unknown failure is retried", errors.New("connection reset"), asynq.TaskStateRetry},
	}
	for name, redisAddr := range backends(t) {
		t.Run(name, func(t *testing.T) {
			addr := redisAddr(t)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					ctx := context.Background()
					sender := &failingSender{err: tt.err}
					// The previous case's server has shut down (subtest
					// cleanups run when it ends), so flushing races nothing.
					rdb := redis.NewClient(&redis.Options{Addr: addr})
					defer rdb.Close()
					rdb.FlushAll(ctx)
					c, insp := start(t, addr, handlers(t, newStore(t), sender), nil)
					id, err := c.EnqueueTestMail(ctx, "stc@vinhlong.gov.vn", "admin")
					if err != nil {
						t.Fatal(err)
					}
					eventually(t, 20*time.Second, "task state "+tt.state.String(), func() bool {
						info, err := insp.GetTaskInfo(QueueDefault, id)
						return err == nil && info.State == tt.state
					})
					info, _ := insp.GetTaskInfo(QueueDefault, id)
					if !strings.Contains(info.LastErr, tt.err.Error()) {
						t.Errorf("last error %q does not carry %q", info.LastErr, tt.err)
					}
					if sender.calls.Load() != 1 {
						t.Errorf("sender called %d times before the state was reached", sender.calls.Load())
					}
				})
			}
		})
	}
}
