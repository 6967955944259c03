package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/vntext"
)

// Inspection records (issue 6): the JSON API, the catalogs an admin edits,
// and the inspector's form, which works on a phone in the field and saves
// drafts as the inspector goes (static/inspections.js). Finalizing the
// minutes (numbering, rendering, signing) is the finalize task's; here a
// finalized inspection is only shown, and corrected as a new version.

// InspectionStore keeps inspection records and their catalogs (satisfied
// by *store.Store).
type InspectionStore interface {
	// ListCatalog returns a catalog ("" for both), inactive entries too.
	ListCatalog(ctx context.Context, kind vanthu.CatalogKind) ([]vanthu.CatalogEntry, error)
	// SaveCatalogEntry creates or changes the entry (kind, code).
	SaveCatalogEntry(ctx context.Context, e *vanthu.CatalogEntry, actor string) error
	// CreateInspection stores a new draft; the caller sets CreatedBy.
	CreateInspection(ctx context.Context, in *vanthu.Inspection, actor string) error
	// GetInspection fills the unit's code and name.
	GetInspection(ctx context.Context, id int64) (vanthu.Inspection, error)
	// SaveInspection stores a draft if in.Revision is the stored one, else
	// EConflict; finalized inspections are EConflict too.
	SaveInspection(ctx context.Context, in *vanthu.Inspection, actor string) error
	// ListInspections returns the matching inspections, newest first.
	ListInspections(ctx context.Context, f vanthu.InspectionFilter) ([]vanthu.Inspection, error)
	// CorrectInspection makes a draft copy (version N+1) of finalized minutes.
	CorrectInspection(ctx context.Context, id, createdBy int64, actor string) (vanthu.Inspection, error)
}

// localInput is the value format of <input type="datetime-local">, and
// dateInput that of <input type="date">, both in Vietnam time.
const (
	localInput = "2006-01-02T15:04"
	dateInput  = "2006-01-02"
)

// inspections returns the configured InspectionStore or an EUnavailable
// error, so that a server wired without it still serves everything else.
func (s *Server) inspections() (InspectionStore, error) {
	if s.cfg.Inspections == nil {
		return nil, vanthu.Errorf(vanthu.EUnavailable, "Chức năng biên bản kiểm tra chưa được cấu hình.")
	}
	return s.cfg.Inspections, nil
}

// parseDay reads a date (yyyy-mm-dd) as the start of that day in Vietnam.
func parseDay(v string) (time.Time, error) {
	return time.ParseInLocation(dateInput, strings.TrimSpace(v), vanthu.Location)
}

// inspectionFilter reads the listing query shared by the API and the page:
// unit_id, from and until (dates, both included, from not after until),
// violation, state, limit.
func inspectionFilter(r *http.Request) (vanthu.InspectionFilter, error) {
	q := r.URL.Query()
	var (
		f  vanthu.InspectionFilter
		ps []vanthu.Problem
	)
	if v := strings.TrimSpace(q.Get("unit_id")); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			ps = append(ps, vanthu.Problem{Field: "unit_id", Message: "Mã số đơn vị không hợp lệ."})
		}
		f.UnitID = id
	}
	if v := q.Get("from"); strings.TrimSpace(v) != "" {
		t, err := parseDay(v)
		if err != nil {
			ps = append(ps, vanthu.Problem{Field: "from", Message: "Từ ngày phải có dạng yyyy-mm-dd."})
		}
		f.From = &t
	}
	if v := q.Get("until"); strings.TrimSpace(v) != "" {
		t, err := parseDay(v)
		if err != nil {
			ps = append(ps, vanthu.Problem{Field: "until", Message: "Đến ngày phải có dạng yyyy-mm-dd."})
		}
		// The day itself is included: the filter's Until is exclusive.
		t = t.AddDate(0, 0, 1)
		f.Until = &t
	}
	f.Violation = strings.TrimSpace(vntext.NFC(q.Get("violation")))
	switch st := vanthu.InspectionState(strings.TrimSpace(q.Get("state"))); st {
	case "", vanthu.InspectionDraft, vanthu.InspectionFinalized:
		f.State = st
	default:
		ps = append(ps, vanthu.Problem{Field: "state", Message: "Trạng thái không hợp lệ (draft, finalized)."})
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			ps = append(ps, vanthu.Problem{Field: "limit", Message: "Giới hạn phải là số từ 1 đến 1000."})
		}
		f.Limit = n
	}
	// Swapped dates would list nothing without a word; two dates that
	// parse are compared (Until is the day after the last one).
	datesRead := !slices.ContainsFunc(ps, func(p vanthu.Problem) bool { return p.Field == "from" || p.Field == "until" })
	if datesRead && f.From != nil && f.Until != nil && !f.From.Before(*f.Until) {
		ps = append(ps, vanthu.Problem{Field: "from", Message: "Từ ngày phải trước hoặc bằng đến ngày."})
	}
	if len(ps) > 0 {
		return vanthu.InspectionFilter{}, vanthu.Invalid("Bộ lọc không hợp lệ.", ps...)
	}
	return f, nil
}

// inspectionInput takes from a client record only what an inspector may
// set: ids, state, version, document and timestamps belong to the server.
// A client may send back a whole record it got from the API.
func inspectionInput(in vanthu.Inspection) vanthu.Inspection {
	return vanthu.Inspection{
		Revision: in.Revision, UnitID: in.UnitID, Place: in.Place, Surprise: in.Surprise, LegalBasis: in.LegalBasis,
		StartedAt: in.StartedAt, EndedAt: in.EndedAt, Team: in.Team, Representatives: in.Representatives,
		Attendance: in.Attendance, Checklist: in.Checklist, Findings: in.Findings, UnitExplanation: in.UnitExplanation,
		Conclusions: in.Conclusions, Handling: in.Handling, ReportDeadline: in.ReportDeadline,
		RefusedToSign: in.RefusedToSign, RefusalReason: in.RefusalReason,
	}
}

func inspectionPath(id int64) string { return "/inspections/" + strconv.FormatInt(id, 10) }

func (s *Server) apiListInspections(w http.ResponseWriter, r *http.Request) error {
	is, err := s.inspections()
	if err != nil {
		return err
	}
	f, err := inspectionFilter(r)
	if err != nil {
		return err
	}
	list, err := is.ListInspections(r.Context(), f)
	if err != nil {
		return fmt.Errorf("list inspections: %w", err)
	}
	if list == nil {
		list = []vanthu.Inspection{}
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"inspections": list, "count": len(list)})
	return nil
}

// createInspection stores a new draft made by the current user.
func (s *Server) createInspection(r *http.Request, in vanthu.Inspection) (vanthu.Inspection, error) {
	is, err := s.inspections()
	if err != nil {
		return in, err
	}
	me, _ := userFrom(r.Context())
	in.CreatedBy = me.ID
	if err := is.CreateInspection(r.Context(), &in, me.Username); err != nil {
		return in, fmt.Errorf("create inspection: %w", err)
	}
	return in, nil
}

func (s *Server) apiCreateInspection(w http.ResponseWriter, r *http.Request) error {
	var in vanthu.Inspection
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	created, err := s.createInspection(r, inspectionInput(in))
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1"+inspectionPath(created.ID))
	s.writeJSON(w, r, http.StatusCreated, created)
	return nil
}

// pathInspection loads the inspection named by the {id} path value.
func (s *Server) pathInspection(r *http.Request) (vanthu.Inspection, error) {
	is, err := s.inspections()
	if err != nil {
		return vanthu.Inspection{}, err
	}
	id, err := pathID(r)
	if err != nil {
		return vanthu.Inspection{}, err
	}
	in, err := is.GetInspection(r.Context(), id)
	if err != nil {
		return in, fmt.Errorf("get inspection %d: %w", id, err)
	}
	return in, nil
}

func (s *Server) apiGetInspection(w http.ResponseWriter, r *http.Request) error {
	in, err := s.pathInspection(r)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, in)
	return nil
}

// apiSaveInspection stores a draft. The body carries the revision the
// client read; a stale one is 409 and changes nothing.
func (s *Server) apiSaveInspection(w http.ResponseWriter, r *http.Request) error {
	is, err := s.inspections()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var body vanthu.Inspection
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	in := inspectionInput(body)
	if in.Revision <= 0 {
		return vanthu.Invalid("Biên bản kiểm tra chưa hợp lệ.", vanthu.Problem{Field: "revision", Message: "Thiếu số lần lưu (revision) mà thiết bị đã đọc."})
	}
	in.ID = id
	me, _ := userFrom(r.Context())
	if err := is.SaveInspection(r.Context(), &in, me.Username); err != nil {
		return fmt.Errorf("save inspection %d: %w", id, err)
	}
	s.writeJSON(w, r, http.StatusOK, in)
	return nil
}

// correctInspection starts the correction of finalized minutes.
func (s *Server) correctInspection(r *http.Request) (vanthu.Inspection, error) {
	is, err := s.inspections()
	if err != nil {
		return vanthu.Inspection{}, err
	}
	id, err := pathID(r)
	if err != nil {
		return vanthu.Inspection{}, err
	}
	me, _ := userFrom(r.Context())
	in, err := is.CorrectInspection(r.Context(), id, me.ID, me.Username)
	if err != nil {
		return in, fmt.Errorf("correct inspection %d: %w", id, err)
	}
	return in, nil
}

func (s *Server) apiCorrectInspection(w http.ResponseWriter, r *http.Request) error {
	in, err := s.correctInspection(r)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1"+inspectionPath(in.ID))
	s.writeJSON(w, r, http.StatusCreated, in)
	return nil
}

func catalogKind(v string) (vanthu.CatalogKind, error) {
	switch k := vanthu.CatalogKind(strings.TrimSpace(v)); k {
	case vanthu.CatalogViolation, vanthu.CatalogHandling:
		return k, nil
	}
	return "", vanthu.Invalid("Danh mục không hợp lệ.", vanthu.Problem{Field: "kind", Message: "Danh mục phải là violation (loại vi phạm) hoặc handling (hình thức xử lý)."})
}

func (s *Server) apiListCatalog(w http.ResponseWriter, r *http.Request) error {
	is, err := s.inspections()
	if err != nil {
		return err
	}
	var kind vanthu.CatalogKind
	if v := r.URL.Query().Get("kind"); v != "" {
		if kind, err = catalogKind(v); err != nil {
			return err
		}
	}
	es, err := is.ListCatalog(r.Context(), kind)
	if err != nil {
		return fmt.Errorf("list catalog: %w", err)
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"entries": es})
	return nil
}

// catalogInput is what an admin sets on a catalog entry; a field left out
// keeps its value (a new entry: last in order, active).
type catalogInput struct {
	Name   string  `json:"name"`
	Group  *string `json:"group"`
	Order  *int    `json:"order"`
	Active *bool   `json:"active"`
}

// apiSaveCatalogEntry creates (201) or changes (200) the entry named by
// the path. There is no delete: an entry is deactivated.
func (s *Server) apiSaveCatalogEntry(w http.ResponseWriter, r *http.Request) error {
	is, err := s.inspections()
	if err != nil {
		return err
	}
	kind, err := catalogKind(r.PathValue("kind"))
	if err != nil {
		return err
	}
	var in catalogInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	code := strings.TrimSpace(r.PathValue("code"))
	es, err := is.ListCatalog(r.Context(), kind)
	if err != nil {
		return fmt.Errorf("list catalog: %w", err)
	}
	e := vanthu.CatalogEntry{Kind: kind, Code: code, Active: true}
	status := http.StatusCreated
	if i := slices.IndexFunc(es, func(x vanthu.CatalogEntry) bool { return x.Code == code }); i >= 0 {
		e, status = es[i], http.StatusOK
	}
	e.Name = in.Name
	if in.Group != nil {
		e.Group = *in.Group
	}
	if in.Order != nil {
		e.Order = *in.Order
	}
	if in.Active != nil {
		e.Active = *in.Active
	}
	me, _ := userFrom(r.Context())
	if err := is.SaveCatalogEntry(r.Context(), &e, me.Username); err != nil {
		return fmt.Errorf("save catalog entry %s/%s: %w", kind, code, err)
	}
	s.writeJSON(w, r, status, e)
	return nil
}

// ---------------------------------------------------------------------------
// Pages

// option is one choice of a select or a radio group.
type option struct {
	Value, Label string
	Selected     bool
}

// optGroup is a labelled group of options.
type optGroup struct {
	Label   string
	Options []option
}

// handlingGroupLabels names the groups of the handling catalog.
var handlingGroupLabels = []struct{ Code, Label string }{
	{"khong-ky-luat", "Không phải kỷ luật"}, {"cong-chuc", "Kỷ luật công chức"},
	{"vien-chuc", "Kỷ luật viên chức"}, {"khac", "Khác"},
}

// inspectionStateLabel names a state in Vietnamese.
func inspectionStateLabel(st vanthu.InspectionState) string {
	switch st {
	case vanthu.InspectionDraft:
		return "Đang lập"
	case vanthu.InspectionFinalized:
		return "Đã hoàn tất"
	}
	return string(st)
}

// localTime formats t for a datetime-local input in Vietnam time.
func localTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.In(vanthu.Location).Format(localInput)
}

// shownTime formats t for reading: dd/mm/yyyy hh:mm in Vietnam time.
func shownTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.In(vanthu.Location).Format("02/01/2006 15:04")
}

// rate is one attendance figure as the form shows it.
type rate struct {
	ID, Text string
}

// attendanceView is the attendance summary: the rates, as vanthu.Percent
// prints them, and whether the counts add up. The form's script computes
// the same texts live.
type attendanceView struct {
	Rates []rate
	Check string
	OK    bool
}

func newAttendanceView(a vanthu.Attendance) attendanceView {
	of := func(label string, n int) string {
		return fmt.Sprintf("%s %d/%d (%s)", label, n, a.Listed, vanthu.Percent(n, a.Listed))
	}
	v := attendanceView{Rates: []rate{
		{"rate-present", of("Có mặt", a.Present)},
		{"rate-absent", of("Vắng", a.Absent())},
		{"rate-excused", of("Vắng có lý do", a.AbsentExcused())},
		{"rate-unexcused", of("Vắng không lý do", a.AbsentUnexcused)},
		{"rate-late", of("Đi muộn, về sớm", a.Late+a.LeftEarly)},
	}}
	switch {
	case a.Present+a.Absent() != a.Listed:
		v.Check = fmt.Sprintf("Số có mặt (%d) cộng số vắng (%d) phải bằng số trong danh sách (%d).", a.Present, a.Absent(), a.Listed)
	case a.Late+a.LeftEarly > a.Present:
		v.Check = fmt.Sprintf("Số đi muộn, về sớm (%d) không thể nhiều hơn số có mặt (%d).", a.Late+a.LeftEarly, a.Present)
	default:
		v.Check, v.OK = fmt.Sprintf("Số liệu khớp: %d có mặt + %d vắng = %d.", a.Present, a.Absent(), a.Listed), true
	}
	return v
}

// attendanceField is one count input of the form.
type attendanceField struct {
	Name, Label string
	Value       int
}

func attendanceFields(a vanthu.Attendance) []attendanceField {
	return []attendanceField{
		{"listed", "Số trong danh sách", a.Listed},
		{"present", "Có mặt", a.Present},
		{"absent_leave", "Vắng: nghỉ phép, ốm", a.AbsentLeave},
		{"absent_assignment", "Vắng: đi công tác", a.AbsentAssignment},
		{"absent_study", "Vắng: đi học", a.AbsentStudy},
		{"absent_unexcused", "Vắng không lý do", a.AbsentUnexcused},
		{"late", "Đi muộn", a.Late},
		{"left_early", "Về sớm", a.LeftEarly},
	}
}

// Rows of the form's lists. Each carries its own options so that the
// template needs no helper to mark the selected one.
type (
	teamRow struct {
		vanthu.TeamMember
		Roles []option
	}
	findingRow struct {
		vanthu.Finding
		Seen       string // datetime-local value
		SeenShown  string
		Violations []option
		Label      string // the violation's name, for reading
	}
	handlingRow struct {
		vanthu.Handling
		Groups []optGroup
		Label  string
	}
	checkRow struct {
		vanthu.ChecklistItem
		Index   int
		Results []option
	}
)

// inspectionPage is the data of the inspector's form and of the read-only
// view.
type inspectionPage struct {
	In          vanthu.Inspection
	State       string
	CanEdit     bool // a draft, and the user may edit it
	CanCorrect  bool // finalized, and the user may correct it
	API         string
	Units       []option
	UnitLabel   string
	Started     string
	Ended       string
	Deadline    string // date input value
	Shown       map[string]string
	LegalBasis  string // one per line
	Team        []teamRow
	BlankMember teamRow
	BlankPerson vanthu.Person
	Findings    []findingRow
	BlankFind   findingRow
	Handling    []handlingRow
	BlankHandle handlingRow
	Checklist   []checkRow
	BlankCheck  checkRow
	Attendance  []attendanceField
	Summary     attendanceView
	SavedAt     string // hh:mm of the last save, Vietnam time
	// Finalizing: the minutes were asked for and are being made.
	Finalizing bool
}

// inspectionPage builds the page data of in for the current user.
func (s *Server) inspectionPage(ctx context.Context, is InspectionStore, in vanthu.Inspection, me vanthu.User) (inspectionPage, error) {
	p := inspectionPage{
		In: in, State: inspectionStateLabel(in.State),
		CanEdit:    in.State == vanthu.InspectionDraft && me.Role.Allowed(inspectors...),
		CanCorrect: in.State == vanthu.InspectionFinalized && me.Role.Allowed(inspectors...),
		API:        "/api/v1" + inspectionPath(in.ID),
		Started:    localTime(in.StartedAt), Ended: localTime(in.EndedAt),
		LegalBasis: strings.Join(in.LegalBasis, "\n"),
		Attendance: attendanceFields(in.Attendance), Summary: newAttendanceView(in.Attendance),
		SavedAt: in.UpdatedAt.In(vanthu.Location).Format("15:04"),
		Shown: map[string]string{
			"started": shownTime(in.StartedAt), "ended": shownTime(in.EndedAt), "deadline": "",
		},
	}
	if in.ReportDeadline != nil {
		p.Deadline = in.ReportDeadline.In(vanthu.Location).Format(dateInput)
		p.Shown["deadline"] = in.ReportDeadline.In(vanthu.Location).Format("02/01/2006")
	}
	p.UnitLabel = in.UnitName
	units, err := s.store.ListUnits(ctx, vanthu.UnitFilter{ActiveOnly: true})
	if err != nil {
		return p, fmt.Errorf("list units: %w", err)
	}
	p.Units = []option{{Value: "", Label: "— Chọn đơn vị —", Selected: in.UnitID == 0}}
	found := false
	for _, u := range units {
		sel := u.ID == in.UnitID
		found = found || sel
		p.Units = append(p.Units, option{Value: strconv.FormatInt(u.ID, 10), Label: u.Name, Selected: sel})
	}
	if in.UnitID != 0 && !found {
		// A unit deactivated since: still the one inspected.
		p.Units = append(p.Units, option{Value: strconv.FormatInt(in.UnitID, 10), Label: in.UnitName, Selected: true})
	}
	catalog, err := is.ListCatalog(ctx, "")
	if err != nil {
		return p, fmt.Errorf("list catalog: %w", err)
	}
	name := map[string]string{}
	for _, e := range catalog {
		name[string(e.Kind)+"/"+e.Code] = e.Name
	}
	violations := func(code string) []option {
		out := []option{{Value: "", Label: "— Chọn loại vi phạm —", Selected: code == ""}}
		for _, e := range catalog {
			if e.Kind == vanthu.CatalogViolation && (e.Active || e.Code == code) {
				out = append(out, option{Value: e.Code, Label: e.Name, Selected: e.Code == code})
			}
		}
		return out
	}
	handlings := func(code string) []optGroup {
		out := []optGroup{{Options: []option{{Value: "", Label: "— Chọn hình thức xử lý —", Selected: code == ""}}}}
		for _, g := range handlingGroupLabels {
			grp := optGroup{Label: g.Label}
			for _, e := range catalog {
				if e.Kind == vanthu.CatalogHandling && e.Group == g.Code && (e.Active || e.Code == code) {
					grp.Options = append(grp.Options, option{Value: e.Code, Label: e.Name, Selected: e.Code == code})
				}
			}
			if len(grp.Options) > 0 {
				out = append(out, grp)
			}
		}
		return out
	}
	roles := func(r vanthu.TeamRole) []option {
		out := make([]option, 0, len(vanthu.TeamRoles))
		for _, x := range vanthu.TeamRoles {
			out = append(out, option{Value: string(x), Label: x.Label(), Selected: x == r})
		}
		return out
	}
	results := func(r vanthu.CheckResult) []option {
		out := []option{}
		for _, x := range []vanthu.CheckResult{vanthu.CheckPass, vanthu.CheckFail, vanthu.CheckNotApplicant} {
			out = append(out, option{Value: string(x), Label: x.Label(), Selected: x == r})
		}
		return out
	}
	for _, m := range in.Team {
		p.Team = append(p.Team, teamRow{TeamMember: m, Roles: roles(m.Role)})
	}
	p.BlankMember = teamRow{TeamMember: vanthu.TeamMember{Role: vanthu.RoleMember}, Roles: roles(vanthu.RoleMember)}
	for _, f := range in.Findings {
		p.Findings = append(p.Findings, findingRow{Finding: f, Seen: localTime(f.SeenAt), SeenShown: shownTime(f.SeenAt),
			Violations: violations(f.Violation), Label: name[string(vanthu.CatalogViolation)+"/"+f.Violation]})
	}
	p.BlankFind = findingRow{Violations: violations("")}
	for _, h := range in.Handling {
		p.Handling = append(p.Handling, handlingRow{Handling: h, Groups: handlings(h.Code), Label: name[string(vanthu.CatalogHandling)+"/"+h.Code]})
	}
	p.BlankHandle = handlingRow{Groups: handlings("")}
	for i, c := range in.Checklist {
		p.Checklist = append(p.Checklist, checkRow{ChecklistItem: c, Index: i, Results: results(c.Result)})
	}
	p.BlankCheck = checkRow{Results: results("")}
	return p, nil
}

// inspectionRow is one line of the inspections list.
type inspectionRow struct {
	vanthu.Inspection
	StateLabel string
	Started    string
	Present    string
	Violators  int
}

// inspectionsPage is the data of the list page.
type inspectionsPage struct {
	Rows       []inspectionRow
	CanCreate  bool
	Units      []option
	Violations []option
	From       string
	Until      string
	Error      string
}

func (s *Server) pageInspections(w http.ResponseWriter, r *http.Request) error {
	is, err := s.inspections()
	if err != nil {
		return err
	}
	me, _ := userFrom(r.Context())
	p := inspectionsPage{CanCreate: me.Role.Allowed(inspectors...)}
	f, err := inspectionFilter(r)
	if err != nil {
		// The template shows one line: the problems go into it.
		msgs := []string{vanthu.ErrorMessageOf(err)}
		for _, pr := range vanthu.ProblemsOf(err) {
			msgs = append(msgs, pr.Message)
		}
		p.Error = strings.Join(msgs, " ")
		f = vanthu.InspectionFilter{}
	}
	q := r.URL.Query()
	if f.From != nil {
		p.From = strings.TrimSpace(q.Get("from"))
	}
	if f.Until != nil {
		p.Until = strings.TrimSpace(q.Get("until"))
	}
	list, err := is.ListInspections(r.Context(), f)
	if err != nil {
		return fmt.Errorf("list inspections: %w", err)
	}
	for _, in := range list {
		row := inspectionRow{Inspection: in, StateLabel: inspectionStateLabel(in.State), Started: shownTime(in.StartedAt), Violators: len(in.Findings)}
		if in.Attendance.Listed > 0 {
			row.Present = fmt.Sprintf("%d/%d (%s)", in.Attendance.Present, in.Attendance.Listed, vanthu.Percent(in.Attendance.Present, in.Attendance.Listed))
		}
		p.Rows = append(p.Rows, row)
	}
	units, err := s.store.ListUnits(r.Context(), vanthu.UnitFilter{})
	if err != nil {
		return fmt.Errorf("list units: %w", err)
	}
	p.Units = []option{{Value: "", Label: "Tất cả đơn vị"}}
	for _, u := range units {
		p.Units = append(p.Units, option{Value: strconv.FormatInt(u.ID, 10), Label: u.Name, Selected: u.ID == f.UnitID})
	}
	vs, err := is.ListCatalog(r.Context(), vanthu.CatalogViolation)
	if err != nil {
		return fmt.Errorf("list catalog: %w", err)
	}
	p.Violations = []option{{Value: "", Label: "Mọi loại vi phạm"}}
	for _, e := range vs {
		p.Violations = append(p.Violations, option{Value: e.Code, Label: e.Name, Selected: e.Code == f.Violation})
	}
	return s.render(w, r, http.StatusOK, "inspections", "Biên bản kiểm tra", p)
}

// newInspectionPage is the data of the short form that starts a record:
// the unit, the place and the time; the rest is typed on the record's own
// page, which saves as the inspector goes.
type newInspectionPage struct {
	Units    []option
	Place    string
	Surprise bool
	Started  string
	Error    string
	Problems []vanthu.Problem
}

func (s *Server) renderNewInspection(w http.ResponseWriter, r *http.Request, status int, p newInspectionPage, unitID int64) error {
	units, err := s.store.ListUnits(r.Context(), vanthu.UnitFilter{ActiveOnly: true})
	if err != nil {
		return fmt.Errorf("list units: %w", err)
	}
	p.Units = []option{{Value: "", Label: "— Chọn đơn vị —", Selected: unitID == 0}}
	for _, u := range units {
		p.Units = append(p.Units, option{Value: strconv.FormatInt(u.ID, 10), Label: u.Name, Selected: u.ID == unitID})
	}
	return s.render(w, r, status, "inspection_new", "Lập biên bản kiểm tra", p)
}

func (s *Server) pageNewInspection(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.inspections(); err != nil {
		return err
	}
	now := s.now()
	return s.renderNewInspection(w, r, http.StatusOK, newInspectionPage{Surprise: true, Started: localTime(&now)}, 0)
}

func (s *Server) pageCreateInspection(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return bodyError(err)
	}
	v := func(name string) string { return strings.TrimSpace(vntext.NFC(r.PostForm.Get(name))) }
	p := newInspectionPage{Place: v("place"), Surprise: r.PostForm.Get("surprise") != "", Started: v("started_at")}
	in := vanthu.Inspection{Place: p.Place, Surprise: p.Surprise}
	var ps []vanthu.Problem
	unitID, err := strconv.ParseInt(v("unit_id"), 10, 64)
	if err != nil || unitID <= 0 {
		ps = append(ps, vanthu.Problem{Field: "unit_id", Message: "Chọn đơn vị được kiểm tra."})
	}
	in.UnitID = unitID
	if p.Started != "" {
		t, err := time.ParseInLocation(localInput, p.Started, vanthu.Location)
		if err != nil {
			ps = append(ps, vanthu.Problem{Field: "started_at", Message: "Thời điểm bắt đầu phải có dạng ngày và giờ."})
		} else {
			in.StartedAt = &t
		}
	}
	if len(ps) == 0 {
		created, err := s.createInspection(r, in)
		if err == nil {
			http.Redirect(w, r, inspectionPath(created.ID), http.StatusSeeOther)
			return nil
		}
		if vanthu.ErrorCodeOf(err) != vanthu.EInvalid {
			return err
		}
		ps = vanthu.ProblemsOf(err)
	}
	p.Error, p.Problems = "Chưa lập được biên bản.", ps
	return s.renderNewInspection(w, r, http.StatusUnprocessableEntity, p, max(unitID, 0))
}

func (s *Server) pageInspection(w http.ResponseWriter, r *http.Request) error {
	is, err := s.inspections()
	if err != nil {
		return err
	}
	in, err := s.pathInspection(r)
	if err != nil {
		return err
	}
	me, _ := userFrom(r.Context())
	p, err := s.inspectionPage(r.Context(), is, in, me)
	if err != nil {
		return err
	}
	p.Finalizing = r.URL.Query().Get("hoan-tat") != "" && in.State == vanthu.InspectionDraft
	title := "Biên bản kiểm tra"
	if in.UnitName != "" {
		title += " — " + in.UnitName
	}
	if p.CanEdit {
		return s.render(w, r, http.StatusOK, "inspection_edit", title, p)
	}
	return s.render(w, r, http.StatusOK, "inspection_view", title, p)
}

func (s *Server) pageCorrectInspection(w http.ResponseWriter, r *http.Request) error {
	in, err := s.correctInspection(r)
	if err != nil {
		return err
	}
	http.Redirect(w, r, inspectionPath(in.ID), http.StatusSeeOther)
	return nil
}
