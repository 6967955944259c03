package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/config"
	"github.com/sonoivu/vanthu/internal/cpustat"
	"github.com/sonoivu/vanthu/internal/devredis"
	"github.com/sonoivu/vanthu/internal/directive"
	"github.com/sonoivu/vanthu/internal/memstat"
	"github.com/sonoivu/vanthu/internal/store"
	"github.com/sonoivu/vanthu/mailer"
	"github.com/sonoivu/vanthu/templates"
	"github.com/sonoivu/vanthu/worker"
)

// benchMailFrom is the office address of the send benchmark.
const benchMailFrom = "vanban@snv.test"

// benchSend measures the directive pipeline end to end: a directive issued
// to --units units is fanned out and sent by in-process workers (the
// production handlers, server and rate limiter, at rates too high to bind)
// through Redis and the database to a loopback SMTP sink. In the same run
// it measures the raw SMTP transport alone: the same message, as many
// times, with the same connection pool and concurrency, to the same sink.
// The ratio of the two is the pipeline's overhead.
func benchSend(ctx context.Context, args []string, getenv func(string) string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("vanthu bench send", flag.ContinueOnError)
	fs.SetOutput(errOut)
	units := fs.Int("units", 10000, "units the directive is sent to")
	concurrency := fs.Int("concurrency", 20, "worker concurrency, and the raw transport's")
	unconfirmed := fs.Int("max-unconfirmed", 1, "messages at once between the end of DATA and their record (VANTHU_SMTP_MAX_UNCONFIRMED)")
	redisURL := fs.String("redis", "", "redis:// URL of a dedicated Redis (default: an in-process Redis)")
	dbURL := fs.String("database", "", "an empty database: postgres:// URL or SQLite file (default: SQLite in a temporary directory)")
	dir := fs.String("templates-dir", getenv("VANTHU_TEMPLATES_DIR"), "directory overriding the built-in templates")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the pipeline phase to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *units < 1 || *concurrency < 1 || *unconfirmed < 1 {
		return errors.New("bench send: --units, --concurrency and --max-unconfirmed must be positive")
	}
	logger := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: slog.LevelError}))

	// Redis.
	redisName := *redisURL
	if redisName == "" {
		mem, err := devredis.Start("127.0.0.1:0", "", logger)
		if err != nil {
			return fmt.Errorf("bench send: %w", err)
		}
		defer mem.Close()
		*redisURL = "redis://" + mem.Addr() + "/0"
		redisName = "in-process"
	}
	rdb, _, err := redisClient(*redisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()

	// Database.
	st, dbName, closeDB, err := benchStore(ctx, "send", *dbURL)
	if err != nil {
		return err
	}
	defer closeDB()

	sink, err := startCountingSink()
	if err != nil {
		return fmt.Errorf("bench send: %w", err)
	}
	defer sink.Close()

	cfg := config.Defaults()
	cfg.TemplatesDir = *dir
	cfg.MailFrom = "Sở Nội vụ <" + benchMailFrom + ">"
	cfg.BaseURL = "https://vanthu.bench"
	cfg.SecretKey = "bench-secret-0123456789abcdefghijklmnop"
	cfg.SMTP = config.Mail{Host: sink.Host(), Port: sink.Port(), TLS: config.TLSNone}
	// Far above what one machine sends, so the limiter is in the path
	// (one Redis script per message) but never makes anyone wait.
	cfg.SMTPRate, cfg.DomainRate = 1e6, 1e6
	cfg.Concurrency = *concurrency
	cfg.SMTPMaxUnconfirmed = *unconfirmed

	setupStart := time.Now()
	user := vanthu.User{Username: "bench", FullName: "Văn thư", Role: vanthu.RoleClerk, Active: true}
	if err := st.CreateUser(ctx, &user, "bench"); err != nil {
		return fmt.Errorf("bench send: %w", err)
	}
	if err := seedUnits(ctx, st, *units); err != nil {
		return fmt.Errorf("bench send: %w", err)
	}
	doc, err := issueDirective(ctx, st, user.ID, []byte(cfg.SecretKey))
	if err != nil {
		return fmt.Errorf("bench send: %w", err)
	}
	fmt.Fprintf(out, "setup: %d units, directive %s issued in %.1f s (redis %s, database %s)\n",
		*units, doc.Symbol, time.Since(setupStart).Seconds(), redisName, dbName)

	// 1. The pipeline. The heap is sampled from the fan-out to the last
	// dispatch settled: workers, queue client, store and sink together.
	sender := mailer.NewSender(smtpConfig(cfg), logger)
	defer sender.Close()
	jobs := worker.NewClient(rdb)
	defer jobs.Close()
	h, err := newHandlers(cfg, logger, handlerDeps{store: st, sender: sender, rdb: rdb, jobs: jobs, smtp: sink.Addr()})
	if err != nil {
		return err
	}
	srv, mux := worker.NewServer(rdb, worker.ServerConfig{Concurrency: *concurrency, ShutdownTimeout: 10 * time.Second, Logger: logger}, h)
	runtime.GC()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	stop := make(chan struct{})
	peak := memstat.PeakHeap(stop, 5*time.Millisecond)
	cpu0 := cpuNow(ctx, rdb)
	start := time.Now()
	if err := jobs.EnqueueFanout(ctx, doc.ID); err != nil {
		return fmt.Errorf("bench send: %w", err)
	}
	if err := srv.Start(mux); err != nil {
		return fmt.Errorf("bench send: start worker: %w", err)
	}
	p, err := waitSettled(ctx, st, sink, doc.ID, *units)
	elapsed := time.Since(start)
	pipeCPU := cpuNow(ctx, rdb).since(cpu0)
	close(stop)
	pprof.StopCPUProfile()
	peakMB := float64(<-peak) / (1 << 20)
	srv.Shutdown()
	if err != nil {
		return fmt.Errorf("bench send: %w", err)
	}
	// Taken now: the raw run below sends one Message-ID many times.
	accepted, duplicates, size := sink.counts()
	pipeRate := float64(p.Sent) / elapsed.Seconds()
	fmt.Fprintf(out, "pipeline  %6d dispatches in %6.2f s  %7.1f/s  (sent %d, failed %d, sink accepted %d; peak heap %.0f MB)\n",
		*units, elapsed.Seconds(), pipeRate, p.Sent, p.Failed, accepted, peakMB)

	// 2. The raw transport: the message of the first dispatch, as many
	// times, with a sender configured the same way and as many senders
	// at once as the worker runs tasks.
	ds, err := st.ListDispatches(ctx, doc.ID)
	if err != nil || len(ds) == 0 {
		return fmt.Errorf("bench send: list dispatches: %v", err)
	}
	_, pdf, err := st.GetArtifact(ctx, doc.ID)
	if err != nil {
		return fmt.Errorf("bench send: %w", err)
	}
	env, err := h.Directives.Composer.Directive(doc, ds[0], pdf)
	if err != nil {
		return fmt.Errorf("bench send: %w", err)
	}
	raw := mailer.NewSender(smtpConfig(cfg), logger)
	defer raw.Close()
	cpu0 = cpuNow(ctx, rdb)
	rawElapsed, err := sendRaw(ctx, raw, env, *units, *concurrency)
	if err != nil {
		return fmt.Errorf("bench send: raw transport: %w", err)
	}
	rawCPU := cpuNow(ctx, rdb).since(cpu0)
	rawRate := float64(*units) / rawElapsed.Seconds()
	fmt.Fprintf(out, "raw SMTP  %6d messages   in %6.2f s  %7.1f/s  (%.0f KB each, concurrency %d)\n",
		*units, rawElapsed.Seconds(), rawRate, float64(size)/1024, *concurrency)

	// CPU time per message, this process and Redis together: on a shared
	// machine whose neighbours take cores away at random, this is the
	// steadier figure of what the pipeline costs beyond the transport.
	perMsg := func(c cpuUse) float64 { return float64(c.self+c.redis) / float64(time.Millisecond) / float64(*units) }
	fmt.Fprintf(out, "cpu per message: pipeline %.2f ms (Redis %.2f ms), raw %.2f ms; cpu ratio %.2f\n",
		perMsg(pipeCPU), float64(pipeCPU.redis)/float64(time.Millisecond)/float64(*units), perMsg(rawCPU), perMsg(rawCPU)/perMsg(pipeCPU))
	ratio := pipeRate / rawRate
	lost := *units - p.Sent
	fmt.Fprintf(out, "ratio %.2f (target ≥ 0.7), lost %d, duplicates %d\n", ratio, lost, duplicates)
	fmt.Fprintf(out, "RESULT send units=%d dispatches_per_s=%.1f raw_per_s=%.1f ratio=%.2f peak_mb=%.0f lost=%d duplicates=%d\n",
		*units, pipeRate, rawRate, ratio, peakMB, lost, duplicates)
	return nil
}

// benchStore opens and migrates the benchmark's database: dbURL, or
// SQLite in a temporary directory when it is empty. It returns the name
// the benchmark prints (sqlite, postgres or the URL) and what to call
// when done.
func benchStore(ctx context.Context, bench, dbURL string) (*store.Store, string, func(), error) {
	name, cleanup := dbURL, func() {}
	switch {
	case dbURL == "":
		tmp, err := os.MkdirTemp("", "vanthu-bench-"+bench+"-")
		if err != nil {
			return nil, "", nil, err
		}
		cleanup = func() { os.RemoveAll(tmp) }
		dbURL, name = filepath.Join(tmp, "vanthu.db"), "sqlite"
	case strings.HasPrefix(dbURL, "postgres"):
		name = "postgres"
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		cleanup()
		return nil, "", nil, fmt.Errorf("bench %s: open database: %w", bench, err)
	}
	done := func() { st.Close(); cleanup() }
	if _, err := st.Migrate(ctx); err != nil {
		done()
		return nil, "", nil, fmt.Errorf("bench %s: migrate: %w", bench, err)
	}
	return st, name, done, nil
}

// seedUnits creates n active units in one import, spread over a few dozen
// mail domains as a province's communes are.
func seedUnits(ctx context.Context, st *store.Store, n int) error {
	us := make([]vanthu.Unit, n)
	for i := range us {
		us[i] = vanthu.Unit{
			Code: fmt.Sprintf("DV%05d", i+1), Name: benchUnit(i),
			Emails: []string{fmt.Sprintf("dv%05d@xa%02d.vinhlong.gov.vn", i+1, i%40)},
			Group:  vanthu.GroupCommune, Active: true,
		}
	}
	if _, _, err := st.ImportUnits(ctx, us, "bench"); err != nil {
		return fmt.Errorf("import %d units: %w", n, err)
	}
	return nil
}

// issueDirective drafts the sample directive to every unit, with a
// deadline, and issues it (number, PDF, one dispatch per unit).
func issueDirective(ctx context.Context, st *store.Store, by int64, key []byte) (vanthu.Document, error) {
	tpl, err := templates.Load("")
	if err != nil {
		return vanthu.Document{}, err
	}
	svc := &directive.Service{Store: st, Templates: tpl, Key: key}
	doc, err := svc.NewDraft("directive")
	if err != nil {
		return doc, err
	}
	deadline := time.Now().Add(7 * 24 * time.Hour)
	doc.Content.Audience = vanthu.Audience{All: true}
	doc.Content.Deadline = &deadline
	doc.CreatedBy = by
	if err := st.CreateDocument(ctx, &doc, "bench"); err != nil {
		return doc, fmt.Errorf("create draft: %w", err)
	}
	issued, err := svc.Issue(ctx, doc.ID, "bench")
	if err != nil {
		return doc, fmt.Errorf("issue: %w", err)
	}
	return issued, nil
}

// waitSettled waits until n dispatches of the document are sent or
// failed. It asks the database only once the sink has accepted n messages,
// or once a second: aggregating 10,000 rows 50 times a second would cost
// the workers a seventh of the CPU. It gives up when nothing settles for a
// minute.
func waitSettled(ctx context.Context, st *store.Store, sink *countingSink, docID int64, n int) (vanthu.Progress, error) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var p vanthu.Progress
	lastDone, lastChange, lastQuery := -1, time.Now(), time.Time{}
	for {
		if accepted, _, _ := sink.counts(); accepted >= n || time.Since(lastQuery) >= time.Second {
			var err error
			if p, err = st.DocumentProgress(ctx, docID, time.Now()); err != nil {
				return p, err
			}
			lastQuery = time.Now()
			done := p.Sent + p.Failed
			if done >= n {
				return p, nil
			}
			if done != lastDone {
				lastDone, lastChange = done, time.Now()
			} else if time.Since(lastChange) > time.Minute {
				return p, fmt.Errorf("stalled at %d of %d dispatches settled", done, n)
			}
		}
		select {
		case <-ctx.Done():
			return p, ctx.Err()
		case <-tick.C:
		}
	}
}

// sendRaw sends env n times with concurrency senders at once and returns
// the wall time.
func sendRaw(ctx context.Context, s *mailer.Sender, env directive.Envelope, n, concurrency int) (time.Duration, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, concurrency)
	msg := env.Data.Bytes()
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if err := s.Send(ctx, env.From, env.To, msg); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	return elapsed, <-errs
}

// cpuUse is CPU time spent so far: this process's (user and system) and
// the Redis server's, as its INFO reports it (zero for the in-process
// Redis, whose time is this process's).
type cpuUse struct{ self, redis time.Duration }

func cpuNow(ctx context.Context, rdb redis.UniversalClient) cpuUse {
	c := cpuUse{self: cpustat.Process()}
	if info, err := rdb.Info(ctx, "cpu").Result(); err == nil {
		c.redis = cpustat.Redis(info)
	}
	return c
}

func (c cpuUse) since(a cpuUse) cpuUse {
	return cpuUse{self: c.self - a.self, redis: c.redis - a.redis}
}
