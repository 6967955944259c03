package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/config"
	"github.com/sonoivu/vanthu/internal/devredis"
	"github.com/sonoivu/vanthu/internal/metrics"
	"github.com/sonoivu/vanthu/internal/seed"
	"github.com/sonoivu/vanthu/internal/store"
	"github.com/sonoivu/vanthu/internal/web"
	"github.com/sonoivu/vanthu/mailer"
	"github.com/sonoivu/vanthu/mailer/devmail"
	"github.com/sonoivu/vanthu/worker"
)

// dev runs everything in one process on embedded defaults: SQLite in the
// data directory, an in-process Redis, the built-in mail server, the
// workers, the scheduler and the web server, with sample data on first
// start. Ctrl-C stops it in order: no new requests, running tasks finish or
// go back to the queue, the queue is saved to the data directory.
func dev(ctx context.Context, cfg config.Config, logger *slog.Logger, out io.Writer) (err error) {
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("invalid VANTHU_DATA_DIR: %w", err)
	}
	if cfg.SecretKey == "" {
		if cfg.SecretKey, err = devSecret(filepath.Join(cfg.DataDir, "secret.key")); err != nil {
			return err
		}
	}
	// Bind the web port first: a second instance on the same port should
	// fail before it touches anything.
	ln, err := listenWeb(&cfg)
	if err != nil {
		return err
	}
	defer ln.Close()

	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	seeded, err := seed.Run(ctx, st)
	if err != nil {
		return err
	}
	if cfg.DevAdminToken != "" {
		if err := giveAdminToken(ctx, st, cfg.DevAdminToken); err != nil {
			return err
		}
	}

	rds, err := devredis.Start("127.0.0.1:0", filepath.Join(cfg.DataDir, "redis.snapshot"), logger)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := rds.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()

	from, _ := mail.ParseAddress(cfg.MailFrom)
	mailsrv := devmail.New(devmail.Config{
		SMTPAddr: cfg.DevSMTPAddr, IMAPAddr: cfg.DevIMAPAddr, Password: cfg.DevMailPassword,
		RecipientDelimiter: cfg.MailTagSeparator, Logger: logger,
	})
	// Not ctx: the mail server must outlive the workers, which finish their
	// running tasks after Ctrl-C; the deferred Close stops it.
	if err := mailsrv.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("built-in mail server (VANTHU_DEV_SMTP_ADDR=%s, VANTHU_DEV_IMAP_ADDR=%s): %w", cfg.DevSMTPAddr, cfg.DevIMAPAddr, err)
	}
	defer mailsrv.Close()
	if err := ensureMailboxes(ctx, st, mailsrv, from.Address); err != nil {
		return err
	}

	rdb := redis.NewClient(&redis.Options{Addr: rds.Addr()})
	defer rdb.Close()
	jobs := worker.NewClient(rdb)
	defer jobs.Close()
	reg := metrics.New(jobs, logger)

	host, _, _ := net.SplitHostPort(mailsrv.SMTPAddr())
	sender := mailer.NewSender(mailer.SMTPConfig{Host: host, Port: portOf(mailsrv.SMTPAddr()), TLS: mailer.TLSNone, MaxIdle: cfg.Concurrency, MaxUnconfirmed: cfg.SMTPMaxUnconfirmed}, logger)
	defer sender.Close()
	imapHost, _, _ := net.SplitHostPort(mailsrv.IMAPAddr())
	office := mailer.IMAPConfig{
		Host: imapHost, Port: portOf(mailsrv.IMAPAddr()), TLS: mailer.TLSNone,
		Username: from.Address, Password: cmp.Or(cfg.DevMailPassword, devmail.DefaultPassword), Mailbox: "INBOX",
	}
	signing, err := devSigning(cfg.DataDir)
	if err != nil {
		return err
	}
	if cfg.SignP12 == "" && cfg.SignKey == "" {
		// The minutes are signed with the development inspector's key.
		pw, err := os.ReadFile(signing.passwordFile)
		if err != nil {
			return fmt.Errorf("development signing password: %w", err)
		}
		cfg.SignP12, cfg.SignPassword = signing.p12, strings.TrimSpace(string(pw))
	}
	h, err := newHandlers(cfg, logger, handlerDeps{store: st, sender: sender, rdb: rdb, jobs: jobs, smtp: mailsrv.SMTPAddr(), imap: &office})
	if err != nil {
		return err
	}
	// Each sample quarter is seeded unless it has inspections already, so
	// a later start fills the quarters that ended since. A failure (a
	// VANTHU_TEMPLATES_DIR template that cannot make the minutes, say)
	// must not keep dev from starting.
	if err := seedQuarter(ctx, cfg, st, h); err != nil {
		logger.Warn("sample quarters not seeded; set VANTHU_DEV_SAMPLE_QUARTERS=0 to skip them, or fix the cause and start on an empty database",
			slog.String("error", err.Error()))
	}
	wsrv, mux := worker.NewServer(rdb, worker.ServerConfig{
		Concurrency: cfg.Concurrency, ShutdownTimeout: cfg.ShutdownTimeout, Logger: logger, Metrics: reg,
	}, h)
	if err := wsrv.Start(mux); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer wsrv.Shutdown()
	// The watcher stops with ctx, before the mail server closes.
	go h.Inbox.Watch(ctx, jobs, inboxInterval)
	sched, err := startScheduler(asynq.RedisClientOpt{Addr: rds.Addr()}, logger)
	if err != nil {
		return err
	}
	defer sched.Shutdown()

	if cfg.SignRoots == "" {
		// The verification page trusts what the dev inspector signs.
		cfg.SignRoots = signing.caCert
	}
	httpSrv, err := newWeb(cfg, logger, webDeps{
		store: st, jobs: jobs, metrics: reg,
		redis: asynq.RedisClientOpt{Addr: rds.Addr()},
		mail:  mailViewer{s: mailsrv, office: from.Address},
	})
	if err != nil {
		return err
	}
	banner(out, cfg, ln.Addr().String(), mailsrv, rds.Addr(), seeded, signing)
	err = serveHTTP(ctx, httpSrv, ln, cfg.ShutdownTimeout)
	// The deferred stops run in reverse order from here: scheduler, workers
	// (running tasks finish or return to the queue), mail, Redis snapshot.
	logger.Info("shutting down", slog.Duration("timeout", cfg.ShutdownTimeout))
	return err
}

// ensureMailboxes opens a mailbox for the office and for every unit, so
// that the mail viewer and IMAP logins work before anything is sent.
func ensureMailboxes(ctx context.Context, st *store.Store, m *devmail.Server, office string) error {
	m.EnsureMailbox(office)
	units, err := st.ListUnits(ctx, vanthu.UnitFilter{})
	if err != nil {
		return fmt.Errorf("list units for the dev mailboxes: %w", err)
	}
	for _, u := range units {
		for _, e := range u.Emails {
			m.EnsureMailbox(e)
		}
	}
	return nil
}

// giveAdminToken stores the configured token for the seeded admin, once.
func giveAdminToken(ctx context.Context, st *store.Store, token string) error {
	admin, err := st.GetUserByUsername(ctx, "admin")
	if err != nil {
		return fmt.Errorf("VANTHU_DEV_ADMIN_TOKEN: no 'admin' user to give it to: %w", err)
	}
	hash := web.HashSecret(token)
	if _, _, err := st.UserByToken(ctx, vanthu.TokenAPI, hash); err == nil {
		return nil
	}
	err = st.CreateToken(ctx, &vanthu.Token{UserID: admin.ID, Kind: vanthu.TokenAPI, Name: "VANTHU_DEV_ADMIN_TOKEN", Hash: hash})
	if err != nil && vanthu.ErrorCodeOf(err) != vanthu.EConflict {
		return fmt.Errorf("VANTHU_DEV_ADMIN_TOKEN: %w", err)
	}
	return nil
}

func banner(w io.Writer, cfg config.Config, httpAddr string, m *devmail.Server, redisAddr string, seeded bool, signing devSignFiles) {
	base := cfg.BaseURL
	var b strings.Builder
	fmt.Fprintf(&b, "\nvanthu %s — development mode\n\n", vanthu.Version)
	fmt.Fprintf(&b, "  Web:          %s/login   (listening on %s)\n", base, httpAddr)
	fmt.Fprintf(&b, "  Mail viewer:  %s/dev/mail\n", base)
	fmt.Fprintf(&b, "  Queues:       %s/admin/queues/   (admin)\n", base)
	fmt.Fprintf(&b, "  API:          %s/api/v1   (docs/openapi.yaml)\n", base)
	fmt.Fprintf(&b, "  Metrics:      %s/metrics\n", base)
	fmt.Fprintf(&b, "  Verify:       %s/xac-minh   (signatures checked against %s)\n", base, cfg.SignRoots)
	fmt.Fprintf(&b, "  SMTP:         %s   IMAP: %s   (any address; IMAP password %q)\n", m.SMTPAddr(), m.IMAPAddr(), cfg.DevMailPassword)
	fmt.Fprintf(&b, "  Redis:        %s (in-process)\n", redisAddr)
	fmt.Fprintf(&b, "  Data:         %s\n", cfg.DataDir)
	signing.describe(&b)
	b.WriteString("\n")
	if seeded {
		b.WriteString("  Sample province seeded. ")
	}
	b.WriteString("Log in with:\n")
	for _, a := range seed.Accounts() {
		fmt.Fprintf(&b, "    %-8s / %-14s %s\n", a.User.Username, a.Password, a.User.Role.Label())
	}
	if cfg.DevAdminToken != "" {
		b.WriteString("\n  API: curl -H \"Authorization: Bearer $VANTHU_DEV_ADMIN_TOKEN\" " + base + "/api/v1/units\n")
	}
	b.WriteString("\n  Ctrl-C stops everything; queued work is kept in the data directory.\n\n")
	io.WriteString(w, b.String())
}

// mailViewer adapts the built-in mail server to the web's dev mail page.
type mailViewer struct {
	s      *devmail.Server
	office string // listed first: it is where replies and receipts arrive
}

func (v mailViewer) Mailboxes() []web.MailboxInfo {
	var out []web.MailboxInfo
	for _, m := range v.s.Mailboxes() {
		info := web.MailboxInfo{Address: m.Address, Messages: m.Messages, Unseen: m.Unseen}
		if strings.EqualFold(m.Address, v.office) {
			out = append([]web.MailboxInfo{info}, out...)
			continue
		}
		out = append(out, info)
	}
	return out
}

func (v mailViewer) Messages(addr string) ([]web.MailMessage, error) {
	ms, err := v.s.Messages(addr)
	if errors.Is(err, devmail.ErrNoMailbox) {
		return nil, vanthu.Errorf(vanthu.ENotFound, "Không có hộp thư %s.", addr)
	}
	if err != nil {
		return nil, err
	}
	out := make([]web.MailMessage, len(ms))
	for i, m := range ms {
		out[i] = convertMessage(m)
	}
	return out, nil
}

func (v mailViewer) Message(addr string, uid uint32) (web.MailMessage, error) {
	m, err := v.s.Message(addr, uid)
	if err != nil {
		return web.MailMessage{}, err
	}
	return convertMessage(m), nil
}

func convertMessage(m devmail.Message) web.MailMessage {
	out := web.MailMessage{UID: m.UID, From: m.From, To: m.To, Subject: m.Subject, Date: m.Date, Text: m.Text, HTML: m.HTML, Raw: m.Raw, Seen: m.Seen}
	for _, a := range m.Attachments {
		out.Attachments = append(out.Attachments, web.MailAttachment{Filename: a.Filename, ContentType: a.ContentType, Size: a.Size})
	}
	return out
}

// devSecret reads the key that signs acknowledgement links from file, or
// creates it there: links sent before a restart must keep working.
func devSecret(file string) (string, error) {
	if b, err := os.ReadFile(file); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return strings.TrimSpace(string(b)), nil
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("generate secret key: %w", err)
	}
	s := base64.RawURLEncoding.EncodeToString(key)
	if err := os.WriteFile(file, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("save secret key: %w", err)
	}
	return s, nil
}

// seedQuarter fills the quarters that ended last (two by default,
// VANTHU_DEV_SAMPLE_QUARTERS) that have no inspections yet with directives
// and signed inspection minutes, made by the same services as real ones at
// past times, so that a fresh instance has a quarterly report to show.
func seedQuarter(ctx context.Context, cfg config.Config, st *store.Store, h *worker.Handlers) error {
	if cfg.DevSampleQuarters == 0 {
		return nil
	}
	dir, err := newDirectives(cfg, st)
	if err != nil {
		return err
	}
	last := vanthu.LastEndedQuarter(time.Now(), vanthu.CutOff(cfg.ReportCutOff))
	act := seed.QuarterActions{
		Issue: func(ctx context.Context, id int64, at time.Time) (vanthu.Document, error) {
			d := *dir
			d.Now = func() time.Time { return at }
			return d.Issue(ctx, id, "seed")
		},
		Finalize: func(ctx context.Context, inspectionID, userID int64) error {
			in, err := st.GetInspection(ctx, inspectionID)
			if err != nil {
				return err
			}
			t, _, err := worker.NewInspectionFinalizeTask(worker.InspectionPayload{InspectionID: inspectionID, UserID: userID, RequestedBy: "seed"})
			if err != nil {
				return err
			}
			// Signed and dated when the inspection ended.
			hh := *h
			hh.Now = func() time.Time { return *in.EndedAt }
			return hh.HandleInspectionFinalize(ctx, t)
		},
	}
	// The quarter before too, for the report's comparison.
	periods := []vanthu.Period{last.Previous(), last}
	for _, p := range periods[len(periods)-cfg.DevSampleQuarters:] {
		if err := seed.Quarter(ctx, st, p, act); err != nil {
			return err
		}
	}
	return nil
}
