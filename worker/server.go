package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/sonoivu/vanthu"
)

// Observer records task outcomes (internal/metrics.Registry).
type Observer interface {
	ObserveTask(taskType, outcome string, d time.Duration)
}

// ServerConfig configures a worker server.
type ServerConfig struct {
	Concurrency     int
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	Metrics         Observer // may be nil
	// RetryDelay overrides Asynq's backoff (about 15 s, growing with n to
	// hours); tests shorten it. nil keeps the default.
	RetryDelay func(n int, err error, t *asynq.Task) time.Duration
}

// NewServer returns an Asynq server on rdb and the mux with every handler
// registered and wrapped in the logging, metrics and error-classification
// middleware. Run it with srv.Run(mux) or srv.Start(mux); srv.Shutdown waits
// up to ShutdownTimeout for running tasks, and Asynq puts back any that do
// not finish, so no queued work is lost.
func NewServer(rdb redis.UniversalClient, cfg ServerConfig, h *Handlers) (*asynq.Server, *asynq.ServeMux) {
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:     cfg.Concurrency,
		Queues:          Queues,
		ShutdownTimeout: cfg.ShutdownTimeout,
		Logger:          slogAdapter{cfg.Logger.With(slog.String("component", "asynq"))},
		LogLevel:        asynq.WarnLevel,
		// A task that fails because of bad input is not a server failure.
		IsFailure:      func(err error) bool { return vanthu.Retryable(vanthu.ErrorCodeOf(err)) },
		RetryDelayFunc: cfg.RetryDelay,
	})
	mux := asynq.NewServeMux()
	mux.Use(middleware(cfg.Logger, cfg.Metrics))
	h.Register(mux)
	return srv, mux
}

// middleware logs every task with its id and maps the domain error code to
// retry or skip-retry: the one place that decides whether a task is retried.
func middleware(logger *slog.Logger, obs Observer) asynq.MiddlewareFunc {
	return func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			start := time.Now()
			id, _ := asynq.GetTaskID(ctx)
			retried, _ := asynq.GetRetryCount(ctx)
			maxRetry, _ := asynq.GetMaxRetry(ctx)
			log := logger.With(slog.String("task_type", t.Type()), slog.String("task_id", id), slog.Int("retry", retried))
			err := next.ProcessTask(ctx, t)
			d := time.Since(start)
			outcome := "success"
			switch {
			case err == nil:
				log.InfoContext(ctx, "task done", slog.Int64("duration_ms", d.Milliseconds()))
			case !vanthu.Retryable(vanthu.ErrorCodeOf(err)) || errors.Is(err, asynq.SkipRetry):
				outcome = "failed"
				log.ErrorContext(ctx, "task failed, not retried", slog.String("error", err.Error()))
				if !errors.Is(err, asynq.SkipRetry) {
					err = fmt.Errorf("%w: %w", err, asynq.SkipRetry)
				}
			case retried >= maxRetry:
				outcome = "failed"
				log.ErrorContext(ctx, "task failed, retries exhausted", slog.String("error", err.Error()))
			default:
				outcome = "retry"
				log.WarnContext(ctx, "task failed, will retry", slog.String("error", err.Error()))
			}
			if obs != nil {
				obs.ObserveTask(t.Type(), outcome, d)
			}
			return err
		})
	}
}

// slogAdapter lets Asynq log through slog.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a slogAdapter) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a slogAdapter) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }
func (a slogAdapter) Error(args ...any) { a.l.Error(fmt.Sprint(args...)) }

// Fatal is called by Asynq on unrecoverable start-up errors; logging and
// leaving the exit to the caller would hang, so it behaves like the default
// logger.
func (a slogAdapter) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...)); panic(fmt.Sprint(args...)) }

// NewScheduler returns the Asynq scheduler with vanthu's periodic tasks, in
// the Asia/Ho_Chi_Minh time zone. Run exactly one scheduler process: each
// entry is also unique for its period, so a duplicate scheduler enqueues
// nothing twice. The scheduler gets its own connection (conn) rather than
// a shared client: it closes what it opens on Shutdown, and complains at
// every shutdown about a client it was handed.
func NewScheduler(conn asynq.RedisConnOpt, logger *slog.Logger) (*asynq.Scheduler, error) {
	s := asynq.NewScheduler(conn, &asynq.SchedulerOpts{
		Location: vanthu.Location,
		Logger:   slogAdapter{logger.With(slog.String("component", "scheduler"))},
		LogLevel: asynq.WarnLevel,
		PostEnqueueFunc: func(info *asynq.TaskInfo, err error) {
			if err != nil && !errors.Is(err, asynq.ErrDuplicateTask) && !errors.Is(err, asynq.ErrTaskIDConflict) {
				logger.Error("scheduler: enqueue failed", slog.String("error", err.Error()))
			}
		},
	})
	for _, e := range Schedule {
		if _, err := s.Register(e.Spec, e.Task(), e.Opts...); err != nil {
			return nil, fmt.Errorf("worker: schedule %s %q: %w", e.Task().Type(), e.Spec, err)
		}
	}
	return s, nil
}

// Entry is one periodic task.
type Entry struct {
	Spec string // cron spec in Asia/Ho_Chi_Minh
	Task func() *asynq.Task
	Opts []asynq.Option
}

// Schedule lists the periodic tasks.
var Schedule = []Entry{
	{Spec: "17 * * * *", Task: NewTokensCleanupTask, Opts: []asynq.Option{asynq.Queue(QueueMaintenance), asynq.Unique(50 * time.Minute)}},
	// Every minute, so that work a lost task left behind waits at most
	// about a minute plus the send lease.
	{Spec: "* * * * *", Task: NewReconcileTask, Opts: []asynq.Option{asynq.Queue(QueueMaintenance), asynq.Unique(50 * time.Second)}},
	{Spec: "*/10 * * * *", Task: NewRemindersSweepTask, Opts: []asynq.Option{asynq.Queue(QueueMaintenance), asynq.Unique(9 * time.Minute)}},
	// Every minute: a milestone reaches the webhooks within about a
	// minute, and deliveries whose task was lost are sent again.
	{Spec: "* * * * *", Task: NewWebhooksSweepTask, Opts: []asynq.Option{asynq.Queue(QueueMaintenance), asynq.Unique(50 * time.Second)}},
	// Every 10 minutes: the quarter's report is requested early on the
	// first working day after it ends, and a generation whose task was
	// lost is enqueued again.
	{Spec: "*/10 * * * *", Task: NewReportsSweepTask, Opts: []asynq.Option{asynq.Queue(QueueMaintenance), asynq.Unique(9 * time.Minute)}},
}
