// Package config reads vanthu's settings from VANTHU_* environment variables
// and command-line flags (flags win), validates them, and prints them with
// secrets masked. Every setting has one name in both worlds: VANTHU_SMTP_PORT
// is --smtp-port.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sonoivu/vanthu"
)

// TLS modes for mail servers.
const (
	TLSNone     = "none"
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
)

// Mail is the address, TLS mode and login of a mail server.
type Mail struct {
	Host     string
	Port     int
	TLS      string
	Username string
	Password string
}

// Config is the effective configuration of one process.
type Config struct {
	HTTPAddr        string
	BaseURL         string
	DataDir         string
	DatabaseURL     string // "postgres://…" or a SQLite file path
	RedisURL        string
	TemplatesDir    string
	LogLevel        string
	LogFormat       string
	SecureCookies   bool
	Concurrency     int
	ShutdownTimeout time.Duration
	MetricsAddr     string // extra listener for /metrics in worker and scheduler processes
	MailFrom        string // the office address documents are sent from
	SMTP            Mail
	SMTPRate        float64 // messages per second per SMTP server, shared by all workers
	// SMTPMaxUnconfirmed is how many messages a worker process may have
	// accepted by the SMTP server but not yet recorded sent: the most a
	// crash of it can make the units receive twice.
	SMTPMaxUnconfirmed int
	DomainRate         float64 // messages per second per destination domain, shared by all workers
	// MailTagSeparator joins the office mailbox's local part and a
	// dispatch's tag (vanban+TAG@…): "+" for most servers, "-" for some.
	MailTagSeparator string
	// SecretKey signs the acknowledgement links (HMAC); changing it
	// invalidates the links already sent.
	SecretKey string
	// RemindEvery and RemindMax are the reminder schedule: the first
	// reminder at the deadline, then one every RemindEvery, at most
	// RemindMax in all.
	RemindEvery time.Duration
	RemindMax   int
	IMAP        Mail
	IMAPMailbox string
	// IMAPProcessed is what the watcher does with a message once recorded:
	// "keep" (leave it), "seen", "flag" ($VanthuProcessed) or
	// "move:FOLDER".
	IMAPProcessed string
	// AckLinkTTL is how long an acknowledgement link works after the
	// document was sent.
	AckLinkTTL time.Duration
	// MailPlaintextAuth lets passwords cross the network unencrypted, for
	// a mail server on a private network without TLS.
	MailPlaintextAuth bool
	// SignRoots is a PEM file of the trust anchors (the CA of the
	// province's signing certificates) the verification page checks
	// signers against; empty: signatures are checked, signers are not
	// (vanthu dev uses its development CA).
	SignRoots string
	// The inspection team's signing key, for the minutes: a PKCS#12 file
	// and its password, or a PEM key and certificate (chain) pair. vanthu
	// dev uses its development inspector certificate.
	SignP12, SignPassword, SignKey, SignCert string
	// InspectionSeries is the issuer code in the minutes' numbers
	// (01/BB-ĐKT): the inspection team's own series.
	InspectionSeries string
	// The quarterly report: its cut-off rule ("calendar" or "15-14"), the
	// codes of the units it is addressed to (the provincial leadership),
	// the user the scheduler's drafts are created by, and the holidays
	// besides weekends and the fixed ones that decide the first working
	// day after a quarter.
	ReportCutOff     string
	ReportRecipients string
	ReportOwner      string
	Holidays         string

	// Development mode only.
	DevSMTPAddr     string
	DevIMAPAddr     string
	DevAdminToken   string
	DevMailPassword string
	// DevSampleQuarters is how many ended quarters a fresh dev database
	// is seeded with (directives, signed minutes): 0 to 2.
	DevSampleQuarters int
}

// setting binds one configuration value to its environment variable and flag.
type setting struct {
	env, flag, help string
	secret          bool
	get             func(*Config) string
	set             func(*Config, string) error
}

func str(p func(*Config) *string) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string { return *p(c) },
		func(c *Config, v string) error { *p(c) = strings.TrimSpace(v); return nil }
}

func integer(p func(*Config) *int, min, max int) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string { return strconv.Itoa(*p(c)) },
		func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < min || n > max {
				return fmt.Errorf("must be a whole number from %d to %d, got %q", min, max, v)
			}
			*p(c) = n
			return nil
		}
}

func boolean(p func(*Config) *bool) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string { return strconv.FormatBool(*p(c)) },
		func(c *Config, v string) error {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("must be true or false, got %q", v)
			}
			*p(c) = b
			return nil
		}
}

func duration(p func(*Config) *time.Duration) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string { return p(c).String() },
		func(c *Config, v string) error {
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil || d <= 0 {
				return fmt.Errorf("must be a positive duration such as 30s or 24h, got %q", v)
			}
			*p(c) = d
			return nil
		}
}

func rate(p func(*Config) *float64) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string { return strconv.FormatFloat(*p(c), 'f', -1, 64) },
		func(c *Config, v string) error {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f <= 0 || f > 10000 {
				return fmt.Errorf("must be a number of messages per second above 0, got %q", v)
			}
			*p(c) = f
			return nil
		}
}

func oneOf(p func(*Config) *string, allowed ...string) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string { return *p(c) },
		func(c *Config, v string) error {
			v = strings.ToLower(strings.TrimSpace(v))
			for _, a := range allowed {
				if v == a {
					*p(c) = v
					return nil
				}
			}
			return fmt.Errorf("must be one of %s, got %q", strings.Join(allowed, ", "), v)
		}
}

// processed parses VANTHU_IMAP_PROCESSED: keep, seen, flag or
// move:FOLDER with a folder name.
func processed(p func(*Config) *string) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string { return *p(c) },
		func(c *Config, v string) error {
			v = strings.TrimSpace(v)
			switch low := strings.ToLower(v); {
			case low == "keep" || low == "seen" || low == "flag":
				*p(c) = low
				return nil
			case strings.HasPrefix(low, "move:") && strings.TrimSpace(v[len("move:"):]) != "":
				*p(c) = "move:" + strings.TrimSpace(v[len("move:"):])
				return nil
			}
			return fmt.Errorf("must be keep, seen, flag or move:FOLDER, got %q", v)
		}
}

func settings() []setting {
	var s []setting
	add := func(env, flg, help string, secret bool, get func(*Config) string, set func(*Config, string) error) {
		s = append(s, setting{env: env, flag: flg, help: help, secret: secret, get: get, set: set})
	}
	g, st := str(func(c *Config) *string { return &c.HTTPAddr })
	add("VANTHU_HTTP_ADDR", "http-addr", "address the web server listens on", false, g, st)
	g, st = str(func(c *Config) *string { return &c.BaseURL })
	add("VANTHU_BASE_URL", "base-url", "public URL of the web server, used in links sent by mail (default: from the HTTP address)", false, g, st)
	g, st = str(func(c *Config) *string { return &c.DataDir })
	add("VANTHU_DATA_DIR", "data-dir", "directory for the SQLite database and local files", false, g, st)
	g, st = str(func(c *Config) *string { return &c.DatabaseURL })
	add("VANTHU_DATABASE_URL", "database-url", "postgres://… URL, or a SQLite file path (default: DATA_DIR/vanthu.db)", false, g, st)
	g, st = str(func(c *Config) *string { return &c.RedisURL })
	add("VANTHU_REDIS_URL", "redis-url", "redis://… URL of the Redis that carries the task queue (required except in dev)", false, g, st)
	g, st = str(func(c *Config) *string { return &c.TemplatesDir })
	add("VANTHU_TEMPLATES_DIR", "templates-dir", "directory whose templates override the built-in ones", false, g, st)
	g, st = oneOf(func(c *Config) *string { return &c.LogLevel }, "debug", "info", "warn", "error")
	add("VANTHU_LOG_LEVEL", "log-level", "debug, info, warn or error", false, g, st)
	g, st = oneOf(func(c *Config) *string { return &c.LogFormat }, "text", "json")
	add("VANTHU_LOG_FORMAT", "log-format", "text or json", false, g, st)
	g, st = boolean(func(c *Config) *bool { return &c.SecureCookies })
	add("VANTHU_SECURE_COOKIES", "secure-cookies", "mark session cookies Secure (default: true when BASE_URL is https)", false, g, st)
	g, st = integer(func(c *Config) *int { return &c.Concurrency }, 1, 1000)
	add("VANTHU_WORKER_CONCURRENCY", "worker-concurrency", "tasks one worker process runs at once", false, g, st)
	g, st = duration(func(c *Config) *time.Duration { return &c.ShutdownTimeout })
	add("VANTHU_SHUTDOWN_TIMEOUT", "shutdown-timeout", "how long to wait for running work on shutdown (e.g. 30s)", false, g, st)
	g, st = str(func(c *Config) *string { return &c.MetricsAddr })
	add("VANTHU_METRICS_ADDR", "metrics-addr", "address for /metrics of worker and scheduler processes (empty: none)", false, g, st)
	g, st = str(func(c *Config) *string { return &c.MailFrom })
	add("VANTHU_MAIL_FROM", "mail-from", "office mailbox documents are sent from, e.g. \"Sở Nội vụ <vanban@snv.example.gov.vn>\"", false, g, st)
	mail := func(prefix, flg, what string, m func(*Config) *Mail) {
		g, st := str(func(c *Config) *string { return &m(c).Host })
		add(prefix+"_HOST", flg+"-host", what+" host", false, g, st)
		g, st = integer(func(c *Config) *int { return &m(c).Port }, 1, 65535)
		add(prefix+"_PORT", flg+"-port", what+" port", false, g, st)
		g, st = oneOf(func(c *Config) *string { return &m(c).TLS }, TLSNone, TLSStartTLS, TLSImplicit)
		add(prefix+"_TLS", flg+"-tls", what+" TLS mode: none, starttls or tls", false, g, st)
		g, st = str(func(c *Config) *string { return &m(c).Username })
		add(prefix+"_USERNAME", flg+"-username", what+" login", false, g, st)
		g, st = str(func(c *Config) *string { return &m(c).Password })
		add(prefix+"_PASSWORD", flg+"-password", what+" password", true, g, st)
	}
	mail("VANTHU_SMTP", "smtp", "SMTP submission server", func(c *Config) *Mail { return &c.SMTP })
	g, st = rate(func(c *Config) *float64 { return &c.SMTPRate })
	add("VANTHU_SMTP_RATE", "smtp-rate", "messages per second sent through the SMTP server, shared by all workers", false, g, st)
	g, st = integer(func(c *Config) *int { return &c.SMTPMaxUnconfirmed }, 1, 1000)
	add("VANTHU_SMTP_MAX_UNCONFIRMED", "smtp-max-unconfirmed", "messages a worker may have accepted by the SMTP server but not yet recorded sent; a crashed worker sends at most this many twice (1: safest, slowest against a slow server)", false, g, st)
	g, st = rate(func(c *Config) *float64 { return &c.DomainRate })
	add("VANTHU_DOMAIN_RATE", "domain-rate", "messages per second sent to one destination domain, shared by all workers", false, g, st)
	g, st = oneOf(func(c *Config) *string { return &c.MailTagSeparator }, "+", "-", "_", ".", "=")
	add("VANTHU_MAIL_TAG_SEPARATOR", "mail-tag-separator", "character between the office mailbox's name and a dispatch tag (vanban+TAG@…): + - _ . or =", false, g, st)
	g, st = str(func(c *Config) *string { return &c.SecretKey })
	add("VANTHU_SECRET_KEY", "secret-key", "key (32+ characters) that signs acknowledgement links; changing it breaks the links already sent (dev: generated in DATA_DIR)", true, g, st)
	g, st = duration(func(c *Config) *time.Duration { return &c.RemindEvery })
	add("VANTHU_REMIND_EVERY", "remind-every", "interval between reminders to a unit that has not acknowledged (e.g. 24h)", false, g, st)
	g, st = integer(func(c *Config) *int { return &c.RemindMax }, 0, 100)
	add("VANTHU_REMIND_MAX", "remind-max", "reminders sent to a unit at most (0: none)", false, g, st)
	mail("VANTHU_IMAP", "imap", "IMAP server of the office mailbox", func(c *Config) *Mail { return &c.IMAP })
	g, st = boolean(func(c *Config) *bool { return &c.MailPlaintextAuth })
	add("VANTHU_MAIL_PLAINTEXT_AUTH", "mail-plaintext-auth", "allow SMTP/IMAP passwords over unencrypted connections to other hosts (only on a private network)", false, g, st)
	g, st = str(func(c *Config) *string { return &c.IMAPMailbox })
	add("VANTHU_IMAP_MAILBOX", "imap-mailbox", "IMAP folder watched for receipts, replies and bounces", false, g, st)
	g, st = processed(func(c *Config) *string { return &c.IMAPProcessed })
	add("VANTHU_IMAP_PROCESSED", "imap-processed", "what the watcher does with a message once recorded: keep, seen, flag ($VanthuProcessed) or move:FOLDER", false, g, st)
	g, st = duration(func(c *Config) *time.Duration { return &c.AckLinkTTL })
	add("VANTHU_ACK_LINK_TTL", "ack-link-ttl", "how long an acknowledgement link works after the document was sent (e.g. 8760h)", false, g, st)
	g, st = str(func(c *Config) *string { return &c.SignRoots })
	add("VANTHU_SIGN_ROOTS", "sign-roots", "PEM file of the trust anchors (CA certificates) signed minutes are verified against at /xac-minh (dev: the development CA in DATA_DIR/sign)", false, g, st)
	g, st = str(func(c *Config) *string { return &c.SignP12 })
	add("VANTHU_SIGN_P12", "sign-p12", "PKCS#12 file of the key that signs inspection minutes (or VANTHU_SIGN_KEY and VANTHU_SIGN_CERT; dev: the development inspector)", false, g, st)
	g, st = str(func(c *Config) *string { return &c.SignPassword })
	add("VANTHU_SIGN_PASSWORD", "sign-password", "password of VANTHU_SIGN_P12", true, g, st)
	g, st = str(func(c *Config) *string { return &c.SignKey })
	add("VANTHU_SIGN_KEY", "sign-key", "PEM private key that signs inspection minutes (with VANTHU_SIGN_CERT)", false, g, st)
	g, st = str(func(c *Config) *string { return &c.SignCert })
	add("VANTHU_SIGN_CERT", "sign-cert", "PEM certificate (and chain) of VANTHU_SIGN_KEY", false, g, st)
	g, st = str(func(c *Config) *string { return &c.InspectionSeries })
	add("VANTHU_INSPECTION_SERIES", "inspection-series", "issuer code of the minutes' numbers, the inspection team's own series (01/BB-ĐKT)", false, g, st)
	g, st = oneOf(func(c *Config) *string { return &c.ReportCutOff }, "calendar", "15-14")
	add("VANTHU_REPORT_CUTOFF", "report-cutoff", "how the quarterly report cuts a quarter: calendar (1/10–31/12) or 15-14 (15/9–14/12)", false, g, st)
	g, st = str(func(c *Config) *string { return &c.ReportRecipients })
	add("VANTHU_REPORT_RECIPIENTS", "report-recipients", "comma-separated codes of the units the quarterly report is sent to (the provincial leadership, e.g. UBND-TINH)", false, g, st)
	g, st = str(func(c *Config) *string { return &c.ReportOwner })
	add("VANTHU_REPORT_OWNER", "report-owner", "username the scheduled quarterly report's draft is created by (a clerk)", false, g, st)
	g, st = str(func(c *Config) *string { return &c.Holidays })
	add("VANTHU_HOLIDAYS", "holidays", "comma-separated extra public holidays (2027-02-05,…: Tết, Hùng Kings' day); weekends, 1/1, 30/4, 1/5 and 2/9 are built in", false, g, st)
	g, st = str(func(c *Config) *string { return &c.DevSMTPAddr })
	add("VANTHU_DEV_SMTP_ADDR", "dev-smtp-addr", "dev only: address of the built-in SMTP server", false, g, st)
	g, st = str(func(c *Config) *string { return &c.DevIMAPAddr })
	add("VANTHU_DEV_IMAP_ADDR", "dev-imap-addr", "dev only: address of the built-in IMAP server", false, g, st)
	g, st = str(func(c *Config) *string { return &c.DevAdminToken })
	add("VANTHU_DEV_ADMIN_TOKEN", "dev-admin-token", "dev only: API token given to the seeded admin, so scripts can drive a fresh instance", true, g, st)
	g, st = str(func(c *Config) *string { return &c.DevMailPassword })
	add("VANTHU_DEV_MAIL_PASSWORD", "dev-mail-password", "dev only: IMAP password of every built-in mailbox", true, g, st)
	g, st = integer(func(c *Config) *int { return &c.DevSampleQuarters }, 0, 2)
	add("VANTHU_DEV_SAMPLE_QUARTERS", "dev-sample-quarters", "dev only: how many of the last ended quarters are seeded, each when it has no inspection yet (directives and signed minutes, for the quarterly report): 0, 1 or 2", false, g, st)
	return s
}

// Defaults returns the configuration before environment and flags.
func Defaults() Config {
	return Config{
		HTTPAddr:           ":8080",
		DataDir:            "data",
		LogLevel:           "info",
		LogFormat:          "text",
		Concurrency:        10,
		ShutdownTimeout:    30 * time.Second,
		SMTP:               Mail{Port: 587, TLS: TLSStartTLS},
		SMTPRate:           10,
		SMTPMaxUnconfirmed: 1,
		DomainRate:         5,
		MailTagSeparator:   "+",
		RemindEvery:        24 * time.Hour,
		RemindMax:          3,
		ReportCutOff:       "calendar",
		IMAP:               Mail{Port: 993, TLS: TLSImplicit},
		IMAPMailbox:        "INBOX",
		IMAPProcessed:      "keep",
		AckLinkTTL:         365 * 24 * time.Hour,
		DevSMTPAddr:        "127.0.0.1:2525",
		DevIMAPAddr:        "127.0.0.1:1143",
		DevMailPassword:    "vanthu",
		DevSampleQuarters:  2,
	}
}

// Mode tells Load which settings a process needs.
type Mode int

// Modes.
const (
	ModeDev        Mode = iota // everything embedded
	ModeProduction             // serve, worker, scheduler: Redis required
	ModeAdmin                  // migrate, config and other chores: no Redis needed
)

// Load builds the configuration from the defaults, then the environment (as
// returned by getenv), then flags parsed from args. Usage goes to out. An
// invalid value stops with an error naming the setting.
func Load(name string, args []string, getenv func(string) string, mode Mode, out io.Writer) (Config, error) {
	c := Defaults()
	if mode == ModeDev {
		c.SMTP = Mail{TLS: TLSNone}
		c.IMAP = Mail{TLS: TLSNone}
	}
	explicit := map[string]bool{}
	all := settings()
	for _, s := range all {
		if v, ok := lookup(getenv, s.env); ok {
			if err := s.set(&c, v); err != nil {
				return c, fmt.Errorf("invalid %s: %w", s.env, err)
			}
			explicit[s.env] = true
		}
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	var flagErr error
	for _, s := range all {
		s := s
		fs.Func(s.flag, s.help+" (env "+s.env+")", func(v string) error {
			if err := s.set(&c, v); err != nil {
				// flag prints its own message; keep ours to name the env too.
				flagErr = fmt.Errorf("invalid --%s (%s): %w", s.flag, s.env, err)
				return err
			}
			explicit[s.env] = true
			return nil
		})
	}
	if err := fs.Parse(args); err != nil {
		if flagErr != nil {
			return c, flagErr
		}
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := c.finish(mode, explicit); err != nil {
		return c, err
	}
	return c, nil
}

func lookup(getenv func(string) string, key string) (string, bool) {
	v := getenv(key)
	return v, v != ""
}

// finish derives defaults that depend on other settings and checks the
// combination.
func (c *Config) finish(mode Mode, explicit map[string]bool) error {
	if c.DatabaseURL == "" {
		if c.DataDir == "" {
			return errors.New("invalid VANTHU_DATA_DIR: must not be empty when VANTHU_DATABASE_URL is not set")
		}
		c.DatabaseURL = c.DataDir + string(os.PathSeparator) + "vanthu.db"
	}
	if isPostgres(c.DatabaseURL) {
		if _, err := url.Parse(c.DatabaseURL); err != nil {
			return fmt.Errorf("invalid VANTHU_DATABASE_URL: %w", err)
		}
	}
	if err := checkAddr("VANTHU_HTTP_ADDR", c.HTTPAddr); err != nil {
		return err
	}
	if c.BaseURL == "" {
		host, port, _ := net.SplitHostPort(c.HTTPAddr)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		c.BaseURL = "http://" + net.JoinHostPort(host, port)
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("invalid VANTHU_BASE_URL: must be an absolute http(s) URL, got %q", c.BaseURL)
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if !explicit["VANTHU_SECURE_COOKIES"] {
		c.SecureCookies = u.Scheme == "https"
	}
	if c.MetricsAddr != "" {
		if err := checkAddr("VANTHU_METRICS_ADDR", c.MetricsAddr); err != nil {
			return err
		}
	}
	switch mode {
	case ModeDev:
		if err := checkAddr("VANTHU_DEV_SMTP_ADDR", c.DevSMTPAddr); err != nil {
			return err
		}
		if err := checkAddr("VANTHU_DEV_IMAP_ADDR", c.DevIMAPAddr); err != nil {
			return err
		}
		if c.DevAdminToken != "" && len(c.DevAdminToken) < 16 {
			return errors.New("invalid VANTHU_DEV_ADMIN_TOKEN: must be at least 16 characters")
		}
		if c.MailFrom == "" {
			c.MailFrom = "Sở Nội vụ <vanban@snv.vinhlong.gov.vn>"
		}
		// The sample province's report goes to the provincial People's
		// Committee through its office, drafted as the seeded clerk.
		if c.ReportRecipients == "" {
			c.ReportRecipients = "VP-UBND"
		}
		if c.ReportOwner == "" {
			c.ReportOwner = "vanthu"
		}
	case ModeProduction:
		if c.RedisURL == "" {
			return errors.New("missing VANTHU_REDIS_URL: serve, worker and scheduler share a Redis (e.g. redis://localhost:6379/0)")
		}
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			return fmt.Errorf("invalid VANTHU_REDIS_URL: must be a redis:// or rediss:// URL, got %q", maskURL(c.RedisURL))
		}
		if c.SMTP.Host == "" {
			return errors.New("missing VANTHU_SMTP_HOST: the SMTP submission server documents are sent through")
		}
		if c.MailFrom == "" {
			return errors.New("missing VANTHU_MAIL_FROM: the office mailbox documents are sent from")
		}
		if (c.SMTP.Username == "") != (c.SMTP.Password == "") {
			return errors.New("invalid VANTHU_SMTP_USERNAME/VANTHU_SMTP_PASSWORD: set both or neither")
		}
		if c.SecretKey == "" {
			return errors.New("missing VANTHU_SECRET_KEY: 32 or more random characters that sign acknowledgement links (e.g. openssl rand -base64 32)")
		}
	}
	if c.SecretKey != "" && len(c.SecretKey) < 32 {
		return errors.New("invalid VANTHU_SECRET_KEY: must be at least 32 characters")
	}
	if c.SignRoots != "" {
		// The certificates are read where they are used (the web server);
		// a wrong path is reported here, before anything starts.
		if fi, err := os.Stat(c.SignRoots); err != nil || !fi.Mode().IsRegular() {
			return fmt.Errorf("invalid VANTHU_SIGN_ROOTS: %q is not a readable file of PEM certificates", c.SignRoots)
		}
	}
	if c.Holidays != "" {
		if _, err := vanthu.ParseHolidays(c.Holidays); err != nil {
			return fmt.Errorf("invalid VANTHU_HOLIDAYS: %w", err)
		}
	}
	if c.SignP12 != "" && (c.SignKey != "" || c.SignCert != "") {
		return errors.New("invalid VANTHU_SIGN_P12: give either VANTHU_SIGN_P12 or VANTHU_SIGN_KEY with VANTHU_SIGN_CERT, not both")
	}
	if (c.SignKey == "") != (c.SignCert == "") {
		return errors.New("invalid VANTHU_SIGN_KEY: VANTHU_SIGN_KEY and VANTHU_SIGN_CERT go together")
	}
	if c.MailFrom != "" {
		if _, err := parseAddress(c.MailFrom); err != nil {
			return fmt.Errorf("invalid VANTHU_MAIL_FROM: %w", err)
		}
	}
	return nil
}

func checkAddr(name, addr string) error {
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return fmt.Errorf("invalid %s: must be host:port or :port, got %q", name, addr)
	}
	return nil
}

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Print writes the effective configuration, one VAR=value line per setting,
// with passwords, tokens and URL credentials masked.
func (c Config) Print(w io.Writer) error {
	for _, s := range settings() {
		v := s.get(&c)
		switch {
		case v == "":
		case s.secret:
			v = "****"
		default:
			v = maskURL(v) // a password inside a database or Redis URL
		}
		if _, err := fmt.Fprintf(w, "%s=%s\n", s.env, v); err != nil {
			return err
		}
	}
	return nil
}

// maskURL hides the password of a URL; anything else is returned as is.
func maskURL(v string) string {
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.User == nil {
		return v
	}
	if _, has := u.User.Password(); !has {
		return v
	}
	return u.Scheme + "://" + u.User.Username() + ":****@" + strings.TrimPrefix(u.String(), u.Scheme+"://"+u.User.String()+"@")
}

// Usage writes every setting with its flag, environment variable and help.
func Usage(w io.Writer) {
	for _, s := range settings() {
		fmt.Fprintf(w, "  --%-22s %-26s %s\n", s.flag, s.env, s.help)
	}
}
