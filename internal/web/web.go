// Package web serves the HTTP side of vanthu: the JSON API under /api/v1,
// the HTML pages for the staff of the Sở Nội vụ, login sessions and API
// tokens, health and readiness probes, and in development a small webmail
// over the built-in mail server.
//
// Every route lives in one table (see Server.Routes) together with the roles
// it admits, so that authorisation can be checked by walking that table in
// tests and the OpenAPI document can be compared with it.
package web

import (
	"context"
	"crypto/x509"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sonoivu/vanthu"
)

//go:embed ui
var uiFS embed.FS

// Store is what the web layer needs from storage (satisfied by *store.Store).
type Store interface {
	Ping(ctx context.Context) error
	ListUnits(ctx context.Context, f vanthu.UnitFilter) ([]vanthu.Unit, error)
	GetUnit(ctx context.Context, id int64) (vanthu.Unit, error)
	CreateUnit(ctx context.Context, u *vanthu.Unit, actor string) error
	UpdateUnit(ctx context.Context, u *vanthu.Unit, actor string) error
	SetUnitActive(ctx context.Context, id int64, active bool, actor string) error
	ImportUnits(ctx context.Context, units []vanthu.Unit, actor string) (created, updated int, err error)
	UnitCodes(ctx context.Context) (map[string]bool, error)
	CreateUser(ctx context.Context, u *vanthu.User, actor string) error
	GetUserByUsername(ctx context.Context, username string) (vanthu.User, error)
	ListUsers(ctx context.Context) ([]vanthu.User, error)
	CreateToken(ctx context.Context, t *vanthu.Token) error
	// UserByToken returns EUnauthorized if the token is unknown or expired or
	// its user is inactive.
	UserByToken(ctx context.Context, kind string, hash []byte) (vanthu.User, vanthu.Token, error)
	DeleteToken(ctx context.Context, kind string, hash []byte) error
	ListTokens(ctx context.Context, userID int64, kind string) ([]vanthu.Token, error)
	DeleteTokenByID(ctx context.Context, userID, id int64) error
	ListEvents(ctx context.Context, subject string, limit int) ([]vanthu.Event, error)

	// Documents. UpdateDraft answers EConflict once the document is issued.
	CreateDocument(ctx context.Context, d *vanthu.Document, actor string) error
	UpdateDraft(ctx context.Context, d *vanthu.Document, actor string) error
	GetDocument(ctx context.Context, id int64) (vanthu.Document, error)
	// ListDocuments returns the matching documents, newest first.
	ListDocuments(ctx context.Context, f vanthu.DocumentFilter) ([]vanthu.Document, error)
	// GetArtifact returns the issued PDF of a document (ENotFound if none).
	GetArtifact(ctx context.Context, documentID int64) (vanthu.Artifact, []byte, error)

	// Dispatches. ListDispatches fills UnitCode and UnitName.
	ListDispatches(ctx context.Context, documentID int64) ([]vanthu.Dispatch, error)
	DocumentProgress(ctx context.Context, documentID int64, now time.Time) (vanthu.Progress, error)
	// ResendFailed resets the failed dispatches among ids (all failed ones
	// of the document when ids is empty) and returns the ids it reset.
	ResendFailed(ctx context.Context, documentID int64, ids []int64, actor string) ([]int64, error)
	// DispatchByToken finds a dispatch by the SHA-256 of its ack token.
	DispatchByToken(ctx context.Context, tokenHash []byte) (vanthu.Dispatch, error)
	// ApplyMilestone records m once; applied is false if it was already set.
	ApplyMilestone(ctx context.Context, dispatchID int64, m vanthu.Milestone, at time.Time, source vanthu.EventSource, actor, evidence string) (applied bool, err error)
	// ApplyEvidence records a milestone with its details (who acknowledged)
	// or, without a milestone, a fact as an event.
	ApplyEvidence(ctx context.Context, ev vanthu.Evidence) (applied bool, err error)

	// The office mailbox's record. GetInbound includes the source.
	ListInbound(ctx context.Context, f vanthu.InboundFilter) ([]vanthu.InboundMail, error)
	GetInbound(ctx context.Context, id int64) (vanthu.InboundMail, error)
	MarkInboundReviewed(ctx context.Context, id int64, actor string) error
}

// Jobs is the queue side the web layer triggers (the worker package's client).
type Jobs interface {
	// Ping reports whether Redis is reachable (readiness).
	Ping(ctx context.Context) error
	EnqueueTestMail(ctx context.Context, to string, requestedBy string) (taskID string, err error)
	// EnqueueFanout sends every pending dispatch of an issued document.
	EnqueueFanout(ctx context.Context, documentID int64) error
	// EnqueueSend sends the given dispatches (after a resend).
	EnqueueSend(ctx context.Context, dispatchIDs []int64) error
	// EnqueueRemind reminds now every unit of the document that has not
	// acknowledged it.
	EnqueueRemind(ctx context.Context, documentID int64) error
	// EnqueueWebhookDelivery sends a webhook delivery now (after a replay).
	EnqueueWebhookDelivery(ctx context.Context, deliveryID int64) error
	// EnqueueInspectionFinalize asks for the signed minutes of an
	// inspection, on behalf of the user.
	EnqueueInspectionFinalize(ctx context.Context, inspectionID, userID int64, username string) error
	// EnqueueReport asks for the generation a report is at.
	EnqueueReport(ctx context.Context, r vanthu.Report) error
}

// Directives drafts, previews and issues directives (internal/directive).
type Directives interface {
	// NewDraft returns an unsaved draft prefilled from the named document
	// template (frame fields, a body to edit, Kind, TypeCode, Issuer).
	NewDraft(template string) (vanthu.Document, error)
	// Preview lays out a draft as an unnumbered PDF; EInvalid names the
	// fields (a body problem carries its line).
	Preview(ctx context.Context, d vanthu.Document) ([]byte, error)
	// Issue numbers and renders the draft and creates its dispatch rows in
	// one transaction; EInvalid for bad input, EConflict if already issued.
	Issue(ctx context.Context, id int64, actor string) (vanthu.Document, error)
	// TrackingSheet fills the tracking spreadsheet (XLSX) of a document.
	TrackingSheet(ctx context.Context, doc vanthu.Document, ds []vanthu.Dispatch, now time.Time) ([]byte, error)
}

// MailboxInfo is one mailbox of the development mail server.
type MailboxInfo struct {
	Address  string
	Messages int
	Unseen   int
}

// MailAttachment describes an attachment of a development mail message.
type MailAttachment struct {
	Filename    string
	ContentType string
	Size        int
}

// MailMessage is one message of the development mail server, decoded.
type MailMessage struct {
	UID         uint32
	From        string
	To          string
	Subject     string
	Date        time.Time
	Text        string
	HTML        string
	Attachments []MailAttachment
	Raw         []byte
	Seen        bool
}

// MailViewer reads the development mail server. It is defined over web's own
// types so that this package does not depend on the mail server; cmd adapts.
type MailViewer interface {
	Mailboxes() []MailboxInfo
	// Messages lists a mailbox newest first, as a mail client does.
	Messages(addr string) ([]MailMessage, error)
	Message(addr string, uid uint32) (MailMessage, error)
}

// Config is what a Server is built from.
type Config struct {
	Logger *slog.Logger
	Store  Store
	Jobs   Jobs
	// Directives drafts and issues documents; nil answers the routes that
	// need it with EUnavailable.
	Directives Directives
	// Receipts makes the receipt report of a document; nil answers its
	// routes with EUnavailable.
	Receipts Receipts
	// Webhooks keeps the outgoing webhooks and their delivery log; nil
	// answers their routes with EUnavailable.
	Webhooks WebhookStore
	// Inspections keeps inspection records and their catalogs; nil answers
	// their routes with EUnavailable.
	Inspections InspectionStore
	// Reports keeps the quarterly reports and ReportLayout lays out their
	// drafts; nil answers their routes with EUnavailable. ReportCutOff is
	// the rule the report form proposes ("" is calendar).
	Reports      ReportStore
	ReportLayout ReportLayout
	ReportCutOff vanthu.CutOff
	// Sheets fills the Excel templates of the inspection exports; nil
	// answers their routes with EUnavailable.
	Sheets Sheets
	// Mail is the development mail server; nil (production) leaves the
	// /dev/mail routes out.
	Mail MailViewer
	// QueueMonitor is mounted at /admin/queues/ for admins; nil leaves it out.
	QueueMonitor http.Handler
	// Metrics serves GET /metrics without authentication; nil leaves it out.
	Metrics http.Handler
	// ObserveRequest is called once per request with the route pattern; may be nil.
	ObserveRequest func(method, route string, status int, d time.Duration)
	// BaseURL is the public URL of the service, for links.
	BaseURL string
	// SecureCookies sets the Secure flag on the session cookie.
	SecureCookies bool
	// SessionTTL is how long a login lasts (default 12h).
	SessionTTL time.Duration
	// MaxBodyBytes limits JSON and form bodies (default 1 MiB).
	MaxBodyBytes int64
	// MaxUploadBytes limits file uploads (default 10 MiB).
	MaxUploadBytes int64
	// DevMode shows the development banner and login hints.
	DevMode bool
	// Now is the clock (default time.Now).
	Now func() time.Time
	// AckLinkTTL is how long after a dispatch was queued its
	// acknowledgement link works (default a year); later it answers 410.
	AckLinkTTL time.Duration
	// SignRoots are the trust anchors /xac-minh checks signers'
	// certificates against; nil checks the signatures but not who made
	// them, and the page says so.
	SignRoots *x509.CertPool
}

// AuthKind says how a route authenticates its caller.
type AuthKind int

// Authentication kinds.
const (
	AuthNone    AuthKind = iota // public
	AuthSession                 // HTML page: session cookie, else redirect to /login
	AuthAPI                     // JSON API: bearer token or session cookie, else 401
)

// String names the kind for logs and test output.
func (k AuthKind) String() string {
	switch k {
	case AuthSession:
		return "session"
	case AuthAPI:
		return "api"
	}
	return "none"
}

// handlerFunc is a route handler. A returned error is answered in the
// route's style (JSON for the API, an HTML page otherwise), so handlers do
// not each decide how to report failures.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// Route is one entry of the route table.
type Route struct {
	Method  string // "" for a mounted handler answering every method
	Pattern string // http.ServeMux pattern path, e.g. "/api/v1/units/{id}"
	Roles   []vanthu.Role
	Auth    AuthKind
	Summary string

	upload  bool // body limit MaxUploadBytes instead of MaxBodyBytes
	page    bool // security headers for HTML
	handler handlerFunc
}

// Server is the HTTP server of vanthu.
type Server struct {
	cfg     Config
	log     *slog.Logger
	store   Store
	jobs    Jobs
	now     func() time.Time
	pages   map[string]*template.Template
	static  fs.FS
	routes  []Route
	handler http.Handler
	limiter *loginLimiter
	// ackLimiter counts unknown acknowledgement tokens per address, so a
	// client cannot guess tokens at speed.
	ackLimiter *loginLimiter
	// verifyLimiter counts signature verification uploads per address:
	// each one parses an untrusted PDF.
	verifyLimiter *loginLimiter
	dummyHash     func() []byte
}

// New builds a Server. Templates are parsed here, so a broken template fails
// at start rather than on the first request.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("web: Config.Store is required")
	}
	if cfg.Jobs == nil {
		return nil, fmt.Errorf("web: Config.Jobs is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = 10 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	s := &Server{
		cfg:   cfg,
		log:   cfg.Logger,
		store: cfg.Store,
		jobs:  cfg.Jobs,
		now:   cfg.Now,
	}
	if cfg.AckLinkTTL <= 0 {
		cfg.AckLinkTTL = 365 * 24 * time.Hour
		s.cfg.AckLinkTTL = cfg.AckLinkTTL
	}
	s.limiter = newLoginLimiter(cfg.Now, 5, 15*time.Minute)
	s.ackLimiter = newLoginLimiter(cfg.Now, maxBadAckTokens, 10*time.Minute)
	s.verifyLimiter = newLoginLimiter(cfg.Now, maxVerifyUploads, verifyWindow)
	// A real bcrypt hash to compare against when the user does not exist,
	// so that a login for an unknown name costs as much as for a known one.
	// Made on first use: it costs a bcrypt round that start-up need not pay.
	s.dummyHash = sync.OnceValue(func() []byte {
		h, err := bcrypt.GenerateFromPassword([]byte("vanthu-dummy-password"), bcrypt.DefaultCost)
		if err != nil {
			// Only fails for a bad cost or an over-long password, both constant here.
			panic(fmt.Sprintf("web: dummy bcrypt hash: %v", err))
		}
		return h
	})
	var err error
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	if s.static, err = fs.Sub(uiFS, "ui/static"); err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	s.routes = s.routeTable()
	if s.handler, err = s.buildHandler(); err != nil {
		return nil, err
	}
	return s, nil
}

// Handler returns the root handler of the service.
func (s *Server) Handler() http.Handler { return s.handler }

// Routes returns a copy of the route table.
func (s *Server) Routes() []Route {
	out := make([]Route, len(s.routes))
	copy(out, s.routes)
	return out
}

func (s *Server) buildHandler() (http.Handler, error) {
	mux := http.NewServeMux()
	seen := map[string]bool{}
	for _, rt := range s.routes {
		if (rt.Auth == AuthNone) != (rt.Roles == nil) {
			return nil, fmt.Errorf("web: route %s %s: public routes have no roles and protected routes need some", rt.Method, rt.Pattern)
		}
		key := strings.TrimSpace(rt.Method + " " + rt.Pattern)
		if seen[key] {
			return nil, fmt.Errorf("web: duplicate route %s", key)
		}
		seen[key] = true
		mux.Handle(key, s.wrap(rt))
	}
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := vanthu.Errorf(vanthu.EForbidden, "Yêu cầu từ trang web khác bị từ chối.")
		if isAPIPath(r.URL.Path) {
			s.writeError(w, r, err)
			return
		}
		s.renderError(w, r, err)
	}))
	return s.outer(cop.Handler(mux)), nil
}

func isAPIPath(p string) bool { return strings.HasPrefix(p, "/api/") }
