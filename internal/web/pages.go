package web

import (
	"bytes"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/vntext"
)

// pageNames are the page templates; each is parsed with layout.html.
var pageNames = []string{"login", "units", "error", "mailboxes", "mailbox", "message", "documents", "document_edit", "document_view", "ack", "inbound", "inbound_view", "webhooks",
	"inspections", "inspection_new", "inspection_edit", "inspection_view", "verify", "reports", "report_view"}

func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"date": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(vanthu.Location).Format("02/01/2006 15:04")
		},
		"problem":        problemText,
		"pathseg":        url.PathEscape,
		"kib":            func(n int) string { return fmt.Sprintf("%.1f KiB", float64(n)/1024) },
		"groups":         func() []vanthu.UnitGroup { return vanthu.UnitGroups },
		"roleCan":        func(r vanthu.Role, roles ...vanthu.Role) bool { return r.Allowed(roles...) },
		"editors":        func() []vanthu.Role { return editors },
		"isAdmin":        func(r vanthu.Role) bool { return r == vanthu.RoleAdmin },
		"safeNext":       safeNext,
		"ftime":          formatTime,
		"docState":       docStateLabel,
		"urgencies":      func() []urgency { return urgencyChoices },
		"fold":           vntext.Fold,
		"inboundKind":    inboundKindLabel,
		"inboundOutcome": inboundOutcomeLabel,
	}
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(uiFS, "ui/templates/layout.html", "ui/templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: parse template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// pageData is what every page template receives.
type pageData struct {
	Title      string
	User       *vanthu.User
	DevMode    bool
	ShowMail   bool
	ShowQueues bool
	Data       any
}

// render executes a page into a buffer first, so that a template failure
// becomes a clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) error {
	t, ok := s.pages[name]
	if !ok {
		return fmt.Errorf("web: no page template %q", name)
	}
	pd := pageData{Title: title, DevMode: s.cfg.DevMode, Data: data}
	if u, ok := userFrom(r.Context()); ok {
		pd.User = &u
		pd.ShowMail = s.cfg.Mail != nil
		pd.ShowQueues = s.cfg.QueueMonitor != nil && u.Role == vanthu.RoleAdmin
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", pd); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	setPageHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

type errorPage struct {
	Status  int
	Message string
}

// renderError answers err as an HTML page in Vietnamese.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	code := s.logError(r, err)
	status := vanthu.HTTPStatus(code)
	title := "Có lỗi xảy ra"
	switch code {
	case vanthu.EForbidden:
		title = "Không có quyền truy cập"
	case vanthu.ENotFound:
		title = "Không tìm thấy"
	}
	if rerr := s.render(w, r, status, "error", title, errorPage{Status: status, Message: vanthu.ErrorMessageOf(err)}); rerr != nil {
		s.log.ErrorContext(r.Context(), "render error page", slog.String("error", rerr.Error()))
		http.Error(w, vanthu.ErrorMessageOf(err), status)
	}
}

func (s *Server) pageHome(w http.ResponseWriter, r *http.Request) error {
	http.Redirect(w, r, "/units", http.StatusSeeOther)
	return nil
}

// unitsPage is the data of the units page.
type unitsPage struct {
	Units    []vanthu.Unit
	Filter   vanthu.UnitFilter
	CanEdit  bool
	Import   *importResult
	Problems []vanthu.Problem
	Error    string
}

func (s *Server) unitsPage(r *http.Request) (unitsPage, error) {
	me, _ := userFrom(r.Context())
	p := unitsPage{CanEdit: me.Role.Allowed(editors...)}
	f, err := unitFilter(r)
	if err != nil {
		p.Error = vanthu.ErrorMessageOf(err)
		f.Group = ""
	}
	p.Filter = f
	p.Units, err = s.store.ListUnits(r.Context(), f)
	if err != nil {
		return p, fmt.Errorf("list units: %w", err)
	}
	return p, nil
}

func (s *Server) pageUnits(w http.ResponseWriter, r *http.Request) error {
	p, err := s.unitsPage(r)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "units", "Đơn vị", p)
}

func (s *Server) pageImportUnits(w http.ResponseWriter, r *http.Request) error {
	me, _ := userFrom(r.Context())
	status := http.StatusOK
	var (
		res      importResult
		problems []vanthu.Problem
		msg      string
	)
	data, name, ctype, err := uploadedFile(r)
	if err == nil {
		res, err = s.importUnits(r.Context(), data, name, ctype, r.FormValue("dry_run") == "true", me.Username)
	}
	switch code := vanthu.ErrorCodeOf(err); code {
	case "":
	case vanthu.EInvalid, vanthu.ETooLarge:
		status = vanthu.HTTPStatus(code)
		problems = vanthu.ProblemsOf(err)
		msg = vanthu.ErrorMessageOf(err)
	default:
		return err
	}
	p, lerr := s.unitsPage(r)
	if lerr != nil {
		return lerr
	}
	if err == nil {
		p.Import = &res
	}
	p.Problems, p.Error = problems, msg
	return s.render(w, r, status, "units", "Đơn vị", p)
}

// docStateLabel names a document state in Vietnamese.
func docStateLabel(st vanthu.DocumentState) string {
	switch st {
	case vanthu.StateDraft:
		return "Dự thảo"
	case vanthu.StateIssued:
		return "Đã ban hành"
	}
	return string(st)
}

// urgency is one choice of the urgency select.
type urgency struct{ Value, Label string }

var urgencyChoices = []urgency{{"", "Thường"}, {"khan", "Khẩn"}, {"thuong-khan", "Thượng khẩn"}, {"hoa-toc", "Hỏa tốc"}}
