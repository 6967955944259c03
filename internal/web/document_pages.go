package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/vntext"
)

// deadlineLayout is the value format of an <input type="datetime-local">.
const deadlineLayout = "2006-01-02T15:04"

// docForm is the draft form as typed. It keeps strings, not parsed values,
// so that a rejected form comes back exactly as the clerk left it.
type docForm struct {
	Template        string
	Issuer          string
	TypeCode        string
	Subject         string
	Urgency         string
	Body            string
	ParentAgency    string
	Agency          string
	Place           string
	TypeName        string
	KinhGui         string // one recipient per line
	NoiNhan         string // one line of "Nơi nhận" per line
	SignerAuthority string
	SignerTitle     string
	SignerName      string
	All             bool
	Groups          []vanthu.UnitGroup
	UnitIDs         []int64
	Deadline        string
	ConfirmIssue    bool
}

// HasGroup and HasUnit tell the template which boxes to tick.
func (f docForm) HasGroup(g vanthu.UnitGroup) bool { return slices.Contains(f.Groups, g) }

// HasUnit reports whether unit id is chosen.
func (f docForm) HasUnit(id int64) bool { return slices.Contains(f.UnitIDs, id) }

func formFromDocument(d vanthu.Document) docForm {
	c := d.Content
	f := docForm{
		Template: c.Template, Issuer: d.Issuer, TypeCode: d.TypeCode, Subject: d.Subject,
		Urgency: c.Urgency, Body: c.Body, ParentAgency: c.ParentAgency, Agency: c.Agency,
		Place: c.Place, TypeName: c.TypeName, KinhGui: strings.Join(c.KinhGui, "\n"), NoiNhan: strings.Join(c.NoiNhan, "\n"),
		SignerAuthority: c.SignerAuthority, SignerTitle: c.SignerTitle, SignerName: c.SignerName,
		All: c.Audience.All, Groups: c.Audience.Groups, UnitIDs: c.Audience.UnitIDs,
	}
	if c.Deadline != nil {
		f.Deadline = c.Deadline.In(vanthu.Location).Format(deadlineLayout)
	}
	return f
}

// parseDocForm reads the posted draft form; problems are values that do
// not even parse (a malformed deadline, a unit id that is not a number).
func parseDocForm(r *http.Request) (docForm, []vanthu.Problem, error) {
	if err := r.ParseForm(); err != nil {
		return docForm{}, nil, bodyError(err)
	}
	v := func(name string) string { return vntext.NFC(r.PostForm.Get(name)) }
	f := docForm{
		Template: v("template"), Issuer: v("issuer"), TypeCode: v("type_code"), Subject: v("subject"),
		Urgency: v("content.urgency"), Body: strings.ReplaceAll(v("content.body"), "\r\n", "\n"),
		ParentAgency: v("content.parent_agency"), Agency: v("content.agency"), Place: v("content.place"),
		TypeName: v("content.type_name"), KinhGui: v("content.kinh_gui"), NoiNhan: v("content.noi_nhan"),
		SignerAuthority: v("content.signer_authority"), SignerTitle: v("content.signer_title"), SignerName: v("content.signer_name"),
		All: r.PostForm.Get("content.audience.all") != "", Deadline: strings.TrimSpace(v("content.deadline")),
		ConfirmIssue: r.PostForm.Get("confirm_issue") != "",
	}
	var ps []vanthu.Problem
	for _, g := range r.PostForm["content.audience.groups"] {
		f.Groups = append(f.Groups, vanthu.UnitGroup(g))
	}
	for _, s := range r.PostForm["content.audience.unit_ids"] {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			ps = append(ps, vanthu.Problem{Field: "content.audience.unit_ids", Message: "Mã đơn vị không hợp lệ: " + s + "."})
			continue
		}
		if !slices.Contains(f.UnitIDs, id) {
			f.UnitIDs = append(f.UnitIDs, id)
		}
	}
	if f.Deadline != "" {
		if _, err := time.ParseInLocation(deadlineLayout, f.Deadline, vanthu.Location); err != nil {
			ps = append(ps, vanthu.Problem{Field: "content.deadline", Message: "Hạn xác nhận phải có dạng ngày và giờ, ví dụ 2026-12-01T17:00."})
		}
	}
	return f, ps, nil
}

// apply copies the form onto d, keeping what the form does not show
// (kind, template, drafter code, …).
func (f docForm) apply(d *vanthu.Document) {
	lines := func(s string) []string {
		var out []string
		for l := range strings.Lines(s) {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
		return out
	}
	d.Issuer, d.TypeCode, d.Subject = strings.TrimSpace(f.Issuer), strings.TrimSpace(f.TypeCode), vntext.Clean(f.Subject)
	c := &d.Content
	if f.Template != "" && c.Template == "" {
		c.Template = f.Template
	}
	c.Urgency, c.Body = f.Urgency, f.Body
	c.ParentAgency, c.Agency, c.Place, c.TypeName = strings.TrimSpace(f.ParentAgency), strings.TrimSpace(f.Agency), strings.TrimSpace(f.Place), strings.TrimSpace(f.TypeName)
	c.KinhGui, c.NoiNhan = lines(f.KinhGui), lines(f.NoiNhan)
	c.SignerAuthority, c.SignerTitle, c.SignerName = strings.TrimSpace(f.SignerAuthority), strings.TrimSpace(f.SignerTitle), strings.TrimSpace(f.SignerName)
	c.Audience = vanthu.Audience{All: f.All, Groups: f.Groups, UnitIDs: f.UnitIDs}
	c.Deadline = nil
	if t, err := time.ParseInLocation(deadlineLayout, f.Deadline, vanthu.Location); err == nil {
		c.Deadline = &t
	}
}

// editPage is the data of the draft form.
type editPage struct {
	Doc      vanthu.Document
	Form     docForm
	Action   string // where the form posts
	New      bool
	Units    []unitChoice
	Problems []vanthu.Problem
	Errors   map[string][]string // by form field name
	Error    string
	Saved    bool
	CanEdit  bool
}

// unitChoice is a unit in the recipient list, with its search key.
type unitChoice struct {
	vanthu.Unit
	Search string
}

// FieldErrors returns the messages for one form field.
func (p editPage) FieldErrors(field string) []string { return p.Errors[field] }

func (s *Server) editPage(r *http.Request, d vanthu.Document, f docForm, err error) (editPage, int, error) {
	me, _ := userFrom(r.Context())
	p := editPage{Doc: d, Form: f, New: d.ID == 0, CanEdit: me.Role.Allowed(editors...), Errors: map[string][]string{}}
	p.Action = "/documents/new"
	if d.ID != 0 {
		p.Action = "/documents/" + strconv.FormatInt(d.ID, 10)
	}
	status := http.StatusOK
	if err != nil {
		code := vanthu.ErrorCodeOf(err)
		if code != vanthu.EInvalid {
			return p, 0, err
		}
		status = vanthu.HTTPStatus(code)
		p.Error = vanthu.ErrorMessageOf(err)
		p.Problems = vanthu.ProblemsOf(err)
		for _, pr := range p.Problems {
			field := pr.Field
			if field == "content.audience.groups" || field == "content.audience.unit_ids" {
				// Shown with the recipient block as a whole too.
				p.Errors["content.audience"] = append(p.Errors["content.audience"], pr.Message)
			}
			msg := pr.Message
			if pr.Line > 0 {
				msg = fmt.Sprintf("Dòng %d: %s", pr.Line, msg)
			}
			p.Errors[field] = append(p.Errors[field], msg)
		}
	}
	units, lerr := s.store.ListUnits(r.Context(), vanthu.UnitFilter{})
	if lerr != nil {
		return p, 0, fmt.Errorf("list units: %w", lerr)
	}
	for _, u := range units {
		// Inactive units are offered only if already chosen, so that the
		// error naming them can be fixed by unticking.
		if !u.Active && !f.HasUnit(u.ID) {
			continue
		}
		p.Units = append(p.Units, unitChoice{Unit: u, Search: vntext.Fold(u.Code + " " + u.Name + " " + strings.Join(u.Emails, " "))})
	}
	return p, status, nil
}

func (s *Server) renderEdit(w http.ResponseWriter, r *http.Request, d vanthu.Document, f docForm, err error) error {
	p, status, perr := s.editPage(r, d, f, err)
	if perr != nil {
		return perr
	}
	title := "Soạn văn bản"
	if d.ID != 0 {
		title = "Dự thảo: " + d.Subject
	}
	return s.render(w, r, status, "document_edit", title, p)
}

// documentsPage is the data of the document list.
type documentsPage struct {
	Docs    []docRow
	Filter  vanthu.DocumentFilter
	CanEdit bool
	Error   string
}

type docRow struct {
	vanthu.Document
	Progress *vanthu.Progress
}

func (s *Server) pageDocuments(w http.ResponseWriter, r *http.Request) error {
	me, _ := userFrom(r.Context())
	p := documentsPage{CanEdit: me.Role.Allowed(editors...)}
	f, err := documentFilter(r)
	if err != nil {
		p.Error = vanthu.ErrorMessageOf(err)
		f = vanthu.DocumentFilter{}
	}
	p.Filter = f
	docs, err := s.store.ListDocuments(r.Context(), f)
	if err != nil {
		return fmt.Errorf("list documents: %w", err)
	}
	now := s.now()
	for _, d := range docs {
		row := docRow{Document: d}
		if d.State == vanthu.StateIssued {
			pr, err := s.store.DocumentProgress(r.Context(), d.ID, now)
			if err != nil {
				return fmt.Errorf("progress of document %d: %w", d.ID, err)
			}
			row.Progress = &pr
		}
		p.Docs = append(p.Docs, row)
	}
	return s.render(w, r, http.StatusOK, "documents", "Văn bản", p)
}

func (s *Server) pageNewDocument(w http.ResponseWriter, r *http.Request) error {
	dir, err := s.directives()
	if err != nil {
		return err
	}
	tmpl := strings.TrimSpace(r.URL.Query().Get("template"))
	if tmpl == "" {
		tmpl = string(vanthu.KindDirective)
	}
	d, err := dir.NewDraft(tmpl)
	if err != nil {
		return fmt.Errorf("new draft from %q: %w", tmpl, err)
	}
	if d.Content.Template == "" {
		d.Content.Template = tmpl
	}
	return s.renderEdit(w, r, d, formFromDocument(d), nil)
}

func (s *Server) pageCreateDocument(w http.ResponseWriter, r *http.Request) error {
	dir, err := s.directives()
	if err != nil {
		return err
	}
	f, ps, err := parseDocForm(r)
	if err != nil {
		return err
	}
	tmpl := f.Template
	if tmpl == "" {
		tmpl = string(vanthu.KindDirective)
	}
	d, err := dir.NewDraft(tmpl)
	if err != nil {
		return fmt.Errorf("new draft from %q: %w", tmpl, err)
	}
	if d.Content.Template == "" {
		d.Content.Template = tmpl
	}
	f.apply(&d)
	if len(ps) > 0 {
		return s.renderEdit(w, r, d, f, vanthu.Invalid("Văn bản chưa hợp lệ.", ps...))
	}
	me, _ := userFrom(r.Context())
	d.CreatedBy = me.ID
	if err := s.store.CreateDocument(r.Context(), &d, me.Username); err != nil {
		if vanthu.ErrorCodeOf(err) == vanthu.EInvalid {
			d.ID = 0
			return s.renderEdit(w, r, d, f, err)
		}
		return fmt.Errorf("create document: %w", err)
	}
	http.Redirect(w, r, "/documents/"+strconv.FormatInt(d.ID, 10)+"?saved=1", http.StatusSeeOther)
	return nil
}

func (s *Server) pageDocument(w http.ResponseWriter, r *http.Request) error {
	d, err := s.pathDocument(r)
	if err != nil {
		return err
	}
	if d.State == vanthu.StateDraft {
		me, _ := userFrom(r.Context())
		if me.Role.Allowed(editors...) {
			p, status, err := s.editPage(r, d, formFromDocument(d), nil)
			if err != nil {
				return err
			}
			p.Saved = r.URL.Query().Get("saved") != ""
			return s.render(w, r, status, "document_edit", "Dự thảo: "+d.Subject, p)
		}
	}
	return s.renderView(w, r, d)
}

// viewPage is the data of an issued document's page.
type viewPage struct {
	Doc      vanthu.Document
	Tracking dispatchesJSON
	Segments []segment
	CanEdit  bool
	Notice   string
}

// segment is one part of the progress bar, in a 1000-wide SVG.
type segment struct {
	Key   vanthu.Milestone
	Label string
	Count int
	X, W  int
}

// barOrder is the order of the segments from the left: progress first.
var barOrder = []vanthu.Milestone{vanthu.MilestoneAcknowledged, vanthu.MilestoneRead, vanthu.MilestoneSent, vanthu.MilestoneQueued, vanthu.MilestoneBounced, vanthu.MilestoneFailed}

func segments(p vanthu.Progress) []segment {
	counts := map[vanthu.Milestone]int{
		vanthu.MilestoneQueued: p.Queued, vanthu.MilestoneSent: p.Sent, vanthu.MilestoneRead: p.Read,
		vanthu.MilestoneAcknowledged: p.Acknowledged, vanthu.MilestoneBounced: p.Bounced, vanthu.MilestoneFailed: p.Failed,
	}
	out := make([]segment, 0, len(barOrder))
	x := 0
	for _, m := range barOrder {
		sg := segment{Key: m, Label: m.Label(), Count: counts[m], X: x}
		if p.Total > 0 {
			sg.W = counts[m] * 1000 / p.Total
		}
		x += sg.W
		out = append(out, sg)
	}
	return out
}

func (s *Server) renderView(w http.ResponseWriter, r *http.Request, d vanthu.Document) error {
	me, _ := userFrom(r.Context())
	p := viewPage{Doc: d, CanEdit: me.Role.Allowed(editors...) && d.State == vanthu.StateIssued}
	var err error
	if p.Tracking, err = s.tracking(r.Context(), d.ID); err != nil {
		return err
	}
	p.Segments = segments(p.Tracking.Progress)
	q := r.URL.Query()
	switch {
	case q.Get("resent") != "":
		n, _ := strconv.Atoi(q.Get("resent"))
		if n > 0 {
			p.Notice = fmt.Sprintf("Đã đưa %d đơn vị gửi lỗi vào hàng đợi gửi lại.", n)
		} else {
			p.Notice = "Không có đơn vị nào gửi lỗi để gửi lại."
		}
	case q.Get("reminded") != "":
		p.Notice = "Đã yêu cầu gửi thư đôn đốc đến các đơn vị chưa xác nhận."
	case q.Get("issued") != "":
		p.Notice = "Đã ban hành văn bản " + d.Symbol + "; thư đang được gửi đến các đơn vị."
	}
	title := d.Subject
	if d.Symbol != "" {
		title = d.Symbol + " — " + d.Subject
	}
	return s.render(w, r, http.StatusOK, "document_view", title, p)
}

// draftFromForm loads the draft of the request and applies the posted form.
func (s *Server) draftFromForm(r *http.Request) (vanthu.Document, docForm, []vanthu.Problem, error) {
	d, err := s.pathDocument(r)
	if err != nil {
		return d, docForm{}, nil, err
	}
	if d.State != vanthu.StateDraft {
		return d, docForm{}, nil, vanthu.Errorf(vanthu.EConflict, "Văn bản đã ban hành, không sửa được; hãy tạo văn bản đính chính.")
	}
	f, ps, err := parseDocForm(r)
	if err != nil {
		return d, f, nil, err
	}
	f.apply(&d)
	return d, f, ps, nil
}

// saveDraft saves the posted form; a form error re-renders it (done=true).
func (s *Server) saveDraft(w http.ResponseWriter, r *http.Request) (d vanthu.Document, done bool, err error) {
	d, f, ps, err := s.draftFromForm(r)
	if err != nil {
		return d, true, err
	}
	if len(ps) > 0 {
		return d, true, s.renderEdit(w, r, d, f, vanthu.Invalid("Văn bản chưa hợp lệ.", ps...))
	}
	me, _ := userFrom(r.Context())
	if err := s.store.UpdateDraft(r.Context(), &d, me.Username); err != nil {
		if vanthu.ErrorCodeOf(err) == vanthu.EInvalid {
			return d, true, s.renderEdit(w, r, d, f, err)
		}
		return d, true, fmt.Errorf("update draft %d: %w", d.ID, err)
	}
	return d, false, nil
}

func (s *Server) pageSaveDocument(w http.ResponseWriter, r *http.Request) error {
	d, done, err := s.saveDraft(w, r)
	if done {
		return err
	}
	http.Redirect(w, r, "/documents/"+strconv.FormatInt(d.ID, 10)+"?saved=1", http.StatusSeeOther)
	return nil
}

func (s *Server) pagePreviewDocument(w http.ResponseWriter, r *http.Request) error {
	d, done, err := s.saveDraft(w, r)
	if done {
		return err
	}
	pdf, err := s.preview(r.Context(), d)
	if err != nil {
		if vanthu.ErrorCodeOf(err) == vanthu.EInvalid {
			return s.renderEdit(w, r, d, formFromDocument(d), err)
		}
		return err
	}
	return serveFile(w, contentTypePDF, "xem-truoc-"+strconv.FormatInt(d.ID, 10)+".pdf", false, pdf)
}

func (s *Server) pageIssueDocument(w http.ResponseWriter, r *http.Request) error {
	d, f, ps, err := s.draftFromForm(r)
	if err != nil {
		return err
	}
	if !f.ConfirmIssue {
		ps = append(ps, vanthu.Problem{Field: "confirm_issue", Message: "Hãy đánh dấu ô xác nhận trước khi ban hành."})
	}
	if len(ps) > 0 {
		return s.renderEdit(w, r, d, f, vanthu.Invalid("Chưa ban hành được văn bản.", ps...))
	}
	me, _ := userFrom(r.Context())
	if err := s.store.UpdateDraft(r.Context(), &d, me.Username); err != nil {
		if vanthu.ErrorCodeOf(err) == vanthu.EInvalid {
			return s.renderEdit(w, r, d, f, err)
		}
		return fmt.Errorf("update draft %d: %w", d.ID, err)
	}
	if _, err := s.issue(r.Context(), d.ID, me.Username); err != nil {
		if vanthu.ErrorCodeOf(err) == vanthu.EInvalid {
			return s.renderEdit(w, r, d, f, err)
		}
		return err
	}
	http.Redirect(w, r, "/documents/"+strconv.FormatInt(d.ID, 10)+"?issued=1", http.StatusSeeOther)
	return nil
}

func (s *Server) pageResend(w http.ResponseWriter, r *http.Request) error {
	d, err := s.pathDocument(r)
	if err != nil {
		return err
	}
	me, _ := userFrom(r.Context())
	reset, err := s.resend(r.Context(), d, nil, me.Username)
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/documents/"+strconv.FormatInt(d.ID, 10)+"?resent="+strconv.Itoa(len(reset)), http.StatusSeeOther)
	return nil
}

func (s *Server) pageRemind(w http.ResponseWriter, r *http.Request) error {
	d, err := s.pathDocument(r)
	if err != nil {
		return err
	}
	me, _ := userFrom(r.Context())
	if err := s.remind(r.Context(), d, me.Username); err != nil {
		return err
	}
	http.Redirect(w, r, "/documents/"+strconv.FormatInt(d.ID, 10)+"?reminded=1", http.StatusSeeOther)
	return nil
}
