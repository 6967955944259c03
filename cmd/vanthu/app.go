package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/redis/go-redis/v9"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/config"
	"github.com/sonoivu/vanthu/internal/directive"
	"github.com/sonoivu/vanthu/internal/metrics"
	"github.com/sonoivu/vanthu/internal/ratelimit"
	"github.com/sonoivu/vanthu/internal/report"
	"github.com/sonoivu/vanthu/internal/sign"
	"github.com/sonoivu/vanthu/internal/store"
	"github.com/sonoivu/vanthu/internal/unitfile"
	"github.com/sonoivu/vanthu/internal/web"
	"github.com/sonoivu/vanthu/mailer"
	"github.com/sonoivu/vanthu/templates"
	"github.com/sonoivu/vanthu/worker"
)

func openStore(ctx context.Context, cfg config.Config) (*store.Store, error) {
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return st, nil
}

// openMigratedStore opens the database for serve and worker and refuses a
// schema older than the code: in production migrations are a deliberate
// step (`vanthu migrate`), run once before the new processes start.
func openMigratedStore(ctx context.Context, cfg config.Config) (*store.Store, error) {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	pending, err := st.Pending(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	if len(pending) > 0 {
		st.Close()
		return nil, fmt.Errorf("database schema is behind this version: %d migration(s) pending (%s); run 'vanthu migrate' first", len(pending), strings.Join(pending, ", "))
	}
	return st, nil
}

func migrate(ctx context.Context, cfg config.Config, logger *slog.Logger, out io.Writer) error {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s database: %d migration(s) applied\n", st.Dialect(), n)
	return nil
}

func importUnits(ctx context.Context, cfg config.Config, logger *slog.Logger, path string, out io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	format := unitfile.DetectFormat(path, "", head[:n])
	if format == "" {
		return fmt.Errorf("%s: not a CSV or XLSX file", path)
	}
	rows, err := unitfile.Parse(f, format)
	if err != nil {
		return describe(path, err)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	existing, err := st.UnitCodes(ctx)
	if err != nil {
		return err
	}
	if err := unitfile.CheckParents(rows, existing); err != nil {
		return describe(path, err)
	}
	units := make([]vanthu.Unit, len(rows))
	for i, r := range rows {
		units[i] = r.Unit
	}
	created, updated, err := st.ImportUnits(ctx, units, "cli")
	if err != nil {
		return describe(path, err)
	}
	fmt.Fprintf(out, "%s: %d unit(s) created, %d updated\n", path, created, updated)
	return nil
}

// describe turns a domain error into lines a person can act on: one per
// rejected row, with its line number.
func describe(path string, err error) error {
	ps := vanthu.ProblemsOf(err)
	if len(ps) == 0 {
		return fmt.Errorf("%s: %s", path, vanthu.ErrorMessageOf(err))
	}
	return problemsError(fmt.Sprintf("%s: %s Không có đơn vị nào được nhập.", path, vanthu.ErrorMessageOf(err)), ps)
}

// redisClient opens the shared Redis pool from a redis:// URL.
func redisClient(url string) (redis.UniversalClient, asynq.RedisConnOpt, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, nil, fmt.Errorf("invalid VANTHU_REDIS_URL: %w", err)
	}
	conn, err := asynq.ParseRedisURI(url)
	if err != nil {
		return nil, nil, fmt.Errorf("invalid VANTHU_REDIS_URL: %w", err)
	}
	return redis.NewClient(opt), conn, nil
}

func smtpConfig(cfg config.Config) mailer.SMTPConfig {
	m := cfg.SMTP
	// Keep as many connections as tasks can send at once: with fewer, a
	// fan-out to hundreds of units would dial for most messages.
	return mailer.SMTPConfig{Host: m.Host, Port: m.Port, TLS: mailer.TLSMode(m.TLS), Username: m.Username, Password: m.Password,
		PlaintextAuth: cfg.MailPlaintextAuth, MaxIdle: cfg.Concurrency, MaxUnconfirmed: cfg.SMTPMaxUnconfirmed}
}

// webDeps are what the web server is built from, in every mode.
type webDeps struct {
	store   *store.Store
	jobs    *worker.Client
	metrics *metrics.Registry
	redis   asynq.RedisConnOpt
	mail    web.MailViewer // dev only
}

func newWeb(cfg config.Config, logger *slog.Logger, d webDeps) (*http.Server, error) {
	monitor := asynqmon.New(asynqmon.Options{RootPath: "/admin/queues", RedisConnOpt: d.redis, ReadOnly: false})
	directives, err := newDirectives(cfg, d.store)
	if err != nil {
		return nil, err
	}
	roots, err := signRoots(cfg, logger)
	if err != nil {
		return nil, err
	}
	srv, err := web.New(web.Config{
		Logger:         logger,
		Store:          d.store,
		Jobs:           d.jobs,
		Directives:     directives,
		Receipts:       directive.Receipts{Service: directives, ReceiptStore: d.store},
		Webhooks:       d.store,
		Inspections:    d.store,
		Reports:        d.store,
		ReportLayout:   &report.Service{Templates: directives.Templates},
		ReportCutOff:   vanthu.CutOff(cfg.ReportCutOff),
		Sheets:         directives.Templates,
		Mail:           d.mail,
		QueueMonitor:   monitor,
		Metrics:        d.metrics.Handler(),
		ObserveRequest: d.metrics.ObserveRequest,
		BaseURL:        cfg.BaseURL,
		SecureCookies:  cfg.SecureCookies,
		DevMode:        d.mail != nil,
		AckLinkTTL:     cfg.AckLinkTTL,
		SignRoots:      roots,
	})
	if err != nil {
		return nil, err
	}
	return &http.Server{
		Addr:              cfg.HTTPAddr,
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}, nil
}

// signRoots reads the trust anchors of the verification page (/xac-minh).
// Without them the page still checks signatures but cannot say who issued
// the signers' certificates; it tells its users so, and the log says it at
// start.
func signRoots(cfg config.Config, logger *slog.Logger) (*x509.CertPool, error) {
	if cfg.SignRoots == "" {
		logger.Warn("VANTHU_SIGN_ROOTS is not set: /xac-minh checks signatures but not who issued the signers' certificates")
		return nil, nil
	}
	roots, err := sign.LoadRoots(cfg.SignRoots)
	if err != nil {
		return nil, fmt.Errorf("VANTHU_SIGN_ROOTS: %w", err)
	}
	return roots, nil
}

// listen binds the address before anything is announced, so a port in use
// is reported at once with the setting that chose it.
func listen(name, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot listen on %s: %w", name, addr, err)
	}
	return ln, nil
}

// listenWeb binds VANTHU_HTTP_ADDR; with port 0 the kernel chooses one,
// and a base URL derived from the address gets that port, so that the
// links mailed to units and the banner point at the running server.
func listenWeb(cfg *config.Config) (net.Listener, error) {
	ln, err := listen("VANTHU_HTTP_ADDR", cfg.HTTPAddr)
	if err != nil {
		return nil, err
	}
	cfg.BaseURL = boundBaseURL(cfg.BaseURL, ln.Addr())
	return ln, nil
}

// boundBaseURL replaces port 0 of a base URL derived from
// VANTHU_HTTP_ADDR=…:0 with the port the kernel chose.
func boundBaseURL(base string, bound net.Addr) string {
	u, err := url.Parse(base)
	tcp, ok := bound.(*net.TCPAddr)
	if err != nil || !ok || u.Port() != "0" {
		return base
	}
	u.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(tcp.Port))
	return u.String()
}

// serveHTTP runs srv on ln until ctx is done, then shuts it down gracefully.
func serveHTTP(ctx context.Context, srv *http.Server, ln net.Listener, timeout time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	return nil
}

// handlerDeps are the connections the task handlers share.
type handlerDeps struct {
	store  *store.Store
	sender *mailer.Sender
	rdb    redis.UniversalClient
	jobs   *worker.Client
	smtp   string // host:port of the SMTP server, names its rate limit
	// imap is the office mailbox; nil leaves the inbox task out.
	imap *mailer.IMAPConfig
}

func newHandlers(cfg config.Config, logger *slog.Logger, d handlerDeps) (*worker.Handlers, error) {
	tpl, err := templates.Load(cfg.TemplatesDir)
	if err != nil {
		return nil, err
	}
	from, err := mail.ParseAddress(cfg.MailFrom)
	if err != nil {
		return nil, fmt.Errorf("invalid VANTHU_MAIL_FROM: %w", err)
	}
	signer, err := loadSigner(cfg, logger)
	if err != nil {
		return nil, err
	}
	holidays, err := vanthu.ParseHolidays(cfg.Holidays)
	if err != nil {
		return nil, fmt.Errorf("invalid VANTHU_HOLIDAYS: %w", err)
	}
	// The frame of the minutes (the department the inspection teams
	// belong to, where it sits) is the minutes template's, which the
	// province edits with the template.
	minutes, err := tpl.Sample("minutes")
	if err != nil {
		return nil, err
	}
	return &worker.Handlers{
		Store: d.store, Mail: d.sender, Templates: tpl, From: from, Logger: logger,
		Directives: &worker.Directives{
			Store: d.store,
			Composer: &directive.Composer{
				Templates: tpl, From: from, TagSeparator: cfg.MailTagSeparator, BaseURL: cfg.BaseURL, Key: []byte(cfg.SecretKey),
			},
			Queue:      d.jobs,
			Limiter:    ratelimit.New(d.rdb, "vanthu:{rate}:"),
			ServerKey:  "smtp:" + d.smtp,
			ServerRate: perSecond(cfg.SMTPRate),
			DomainRate: perSecond(cfg.DomainRate),
			Reminders:  store.ReminderPolicy{Every: cfg.RemindEvery, Max: cfg.RemindMax},
		},
		Inbox:    newInbox(cfg, logger, d.store, from.Address, d.imap),
		Webhooks: &worker.Webhooks{Store: d.store, Queue: d.jobs},
		Reports: &worker.Reports{
			Store: d.store, Layout: &report.Service{Templates: tpl}, Jobs: d.jobs,
			CutOff: vanthu.CutOff(cfg.ReportCutOff), Holidays: holidays, Recipients: codes(cfg.ReportRecipients), Owner: cfg.ReportOwner,
		},
		Inspections: &worker.Inspections{
			Store: d.store, Templates: tpl, Signer: signer, Series: cfg.InspectionSeries,
			ParentAgency: minutes.Document.ParentAgency, Agency: minutes.Document.Agency, Place: minutes.Document.Place,
		},
	}, nil
}

// codes splits a comma-separated list of unit codes.
func codes(list string) []string {
	var out []string
	for _, c := range strings.Split(list, ",") {
		if c = strings.ToUpper(strings.TrimSpace(c)); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// loadSigner reads the minutes' signing key from the configuration, or
// returns nil (with a warning) when none is set: finalizing minutes then
// fails with an error that names the settings.
func loadSigner(cfg config.Config, logger *slog.Logger) (*sign.Signer, error) {
	switch {
	case cfg.SignP12 != "":
		s, err := sign.LoadPKCS12(cfg.SignP12, cfg.SignPassword)
		if err != nil {
			return nil, fmt.Errorf("VANTHU_SIGN_P12: %w", err)
		}
		return s, nil
	case cfg.SignKey != "":
		s, err := sign.LoadPEM(cfg.SignKey, cfg.SignCert)
		if err != nil {
			return nil, fmt.Errorf("VANTHU_SIGN_KEY: %w", err)
		}
		return s, nil
	}
	logger.Warn("no signing key (VANTHU_SIGN_P12 or VANTHU_SIGN_KEY): inspection minutes cannot be finalized")
	return nil, nil
}

// newInbox is the office mailbox reader over ic, or nil without one.
func newInbox(cfg config.Config, logger *slog.Logger, st *store.Store, office string, ic *mailer.IMAPConfig) *worker.Inbox {
	if ic == nil {
		return nil
	}
	c := *ic
	processed := cfg.IMAPProcessed
	if processed == "keep" {
		processed = ""
	}
	return &worker.Inbox{
		Store: st, Mailbox: c.Mailbox, Office: office, TagSeparator: cfg.MailTagSeparator,
		Processed: processed, Logger: logger.With(slog.String("component", "inbox")),
		Open: func(ctx context.Context) (worker.IMAPMailbox, error) {
			mb, err := mailer.DialIMAP(ctx, c)
			if err != nil {
				return nil, err
			}
			return mb, nil
		},
	}
}

// perSecond turns a messages-per-second setting into a limiter rate that
// allows a burst of one second's worth, so that a pause does not waste the
// budget and a burst never exceeds a second's messages.
func perSecond(r float64) ratelimit.Rate {
	// Whole messages per Per: 2.5/s becomes 5 per 2 s.
	per := time.Second
	for r != float64(int(r)) && per < time.Minute {
		r, per = r*2, per*2
	}
	n := max(int(r), 1)
	return ratelimit.Rate{Limit: n, Per: per, Burst: n}
}

// newDirectives is the directive service of the web process.
func newDirectives(cfg config.Config, st *store.Store) (*directive.Service, error) {
	tpl, err := templates.Load(cfg.TemplatesDir)
	if err != nil {
		return nil, err
	}
	return &directive.Service{Store: st, Templates: tpl, Key: []byte(cfg.SecretKey)}, nil
}

func serve(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	st, err := openMigratedStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	rdb, conn, err := redisClient(cfg.RedisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	jobs := worker.NewClient(rdb)
	defer jobs.Close()
	reg := metrics.New(jobs, logger)
	ln, err := listenWeb(&cfg)
	if err != nil {
		return err
	}
	srv, err := newWeb(cfg, logger, webDeps{store: st, jobs: jobs, metrics: reg, redis: conn})
	if err != nil {
		ln.Close()
		return err
	}
	logger.Info("web server listening", slog.String("addr", ln.Addr().String()), slog.String("base_url", cfg.BaseURL))
	return serveHTTP(ctx, srv, ln, cfg.ShutdownTimeout)
}

// workTuning shortens the worker's waits for the fault test, which must
// see a killed worker's sends come back within its time bound. Production
// passes the zero value: Asynq's backoff and the three-minute send lease.
type workTuning struct {
	retryDelay time.Duration
	sendLease  time.Duration
}

func work(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	return runWorker(ctx, cfg, logger, workTuning{})
}

func runWorker(ctx context.Context, cfg config.Config, logger *slog.Logger, tune workTuning) error {
	st, err := openMigratedStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	rdb, _, err := redisClient(cfg.RedisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	sender := mailer.NewSender(smtpConfig(cfg), logger)
	defer sender.Close()
	jobs := worker.NewClient(rdb)
	defer jobs.Close()
	deps := handlerDeps{store: st, sender: sender, rdb: rdb, jobs: jobs, smtp: net.JoinHostPort(cfg.SMTP.Host, strconv.Itoa(cfg.SMTP.Port))}
	if cfg.IMAP.Host != "" {
		ic := imapConfig(cfg)
		deps.imap = &ic
	}
	h, err := newHandlers(cfg, logger, deps)
	if err != nil {
		return err
	}
	h.Directives.SendLease = tune.sendLease
	reg := metrics.New(jobs, logger)
	scfg := worker.ServerConfig{Concurrency: cfg.Concurrency, ShutdownTimeout: cfg.ShutdownTimeout, Logger: logger, Metrics: reg}
	if tune.retryDelay > 0 {
		scfg.RetryDelay = func(int, error, *asynq.Task) time.Duration { return tune.retryDelay }
	}
	srv, mux := worker.NewServer(rdb, scfg, h)
	if err := srv.Start(mux); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	logger.Info("worker started", slog.Int("concurrency", cfg.Concurrency))
	checkMail(ctx, cfg, logger, sender)
	if h.Inbox != nil {
		go h.Inbox.Watch(ctx, jobs, inboxInterval)
	}
	err = serveMetrics(ctx, cfg, logger, reg)
	<-ctx.Done()
	srv.Shutdown()
	logger.Info("worker stopped")
	return err
}

// inboxInterval is the longest the office mailbox goes unread: IDLE
// brings new mail sooner where the server offers it.
const inboxInterval = time.Minute

// checkMail tells the operator at start-up whether the mail servers answer.
// It does not stop the worker: sends are retried, and the servers may come
// up after it.
func checkMail(ctx context.Context, cfg config.Config, logger *slog.Logger, sender *mailer.Sender) {
	if err := sender.Ping(ctx); err != nil {
		logger.Warn("smtp server not reachable; sends will be retried", slog.String("smtp", net.JoinHostPort(cfg.SMTP.Host, strconv.Itoa(cfg.SMTP.Port))), slog.String("error", err.Error()))
	}
	if cfg.IMAP.Host == "" {
		return
	}
	// Bounded: a server that accepts the connection and then says nothing
	// must not hold the worker's start-up.
	ictx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	mb, err := mailer.DialIMAP(ictx, imapConfig(cfg))
	if err != nil {
		logger.Warn("imap mailbox not reachable", slog.String("imap", net.JoinHostPort(cfg.IMAP.Host, strconv.Itoa(cfg.IMAP.Port))), slog.String("error", err.Error()))
		return
	}
	logger.Info("imap mailbox reachable", slog.String("mailbox", cfg.IMAPMailbox), slog.Uint64("uid_validity", uint64(mb.UIDValidity())))
	_ = mb.Close()
}

func imapConfig(cfg config.Config) mailer.IMAPConfig {
	m := cfg.IMAP
	return mailer.IMAPConfig{Host: m.Host, Port: m.Port, TLS: mailer.TLSMode(m.TLS), Username: m.Username, Password: m.Password, Mailbox: cfg.IMAPMailbox, PlaintextAuth: cfg.MailPlaintextAuth}
}

func schedule(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	rdb, conn, err := redisClient(cfg.RedisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	s, err := startScheduler(conn, logger)
	if err != nil {
		return err
	}
	logger.Info("scheduler started", slog.Int("entries", len(worker.Schedule)))
	jobs := worker.NewClient(rdb)
	defer jobs.Close()
	err = serveMetrics(ctx, cfg, logger, metrics.New(jobs, logger))
	<-ctx.Done()
	s.Shutdown()
	logger.Info("scheduler stopped")
	return err
}

// startScheduler builds and starts the periodic-task scheduler.
func startScheduler(conn asynq.RedisConnOpt, logger *slog.Logger) (*asynq.Scheduler, error) {
	s, err := worker.NewScheduler(conn, logger)
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		return nil, fmt.Errorf("start scheduler: %w", err)
	}
	return s, nil
}

// serveMetrics starts the optional /metrics listener of worker and
// scheduler processes in the background; it stops with ctx.
func serveMetrics(ctx context.Context, cfg config.Config, logger *slog.Logger, reg *metrics.Registry) error {
	if cfg.MetricsAddr == "" {
		return nil
	}
	ln, err := listen("VANTHU_METRICS_ADDR", cfg.MetricsAddr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", reg.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := serveHTTP(ctx, srv, ln, 5*time.Second); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server", slog.String("error", err.Error()))
		}
	}()
	logger.Info("metrics listening", slog.String("addr", ln.Addr().String()))
	return nil
}

func portOf(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// healthcheck asks the web server on this machine for /healthz: distroless
// images have no curl.
func healthcheck(ctx context.Context, cfg config.Config) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, port, _ := net.SplitHostPort(cfg.HTTPAddr)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort("127.0.0.1", port)+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz answered %s", resp.Status)
	}
	return nil
}
