package vanthu

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// InspectionState is where an inspection record is in its life.
type InspectionState string

// Inspection states. A finalized inspection is immutable: its minutes are
// numbered, signed and stored; a correction is a new version.
const (
	InspectionDraft     InspectionState = "draft"
	InspectionFinalized InspectionState = "finalized"
)

// TeamRole is a member's role in an inspection team.
type TeamRole string

// Team roles (DOMAIN.md §4).
const (
	RoleLeader       TeamRole = "truong-doan"
	RoleDeputyLeader TeamRole = "pho-truong-doan"
	RoleMember       TeamRole = "thanh-vien"
	RoleSecretary    TeamRole = "thu-ky"
)

// TeamRoles lists the roles in the order the minutes name them.
var TeamRoles = []TeamRole{RoleLeader, RoleDeputyLeader, RoleMember, RoleSecretary}

// Label is the role's Vietnamese name.
func (r TeamRole) Label() string {
	switch r {
	case RoleLeader:
		return "Trưởng đoàn"
	case RoleDeputyLeader:
		return "Phó Trưởng đoàn"
	case RoleMember:
		return "Thành viên"
	case RoleSecretary:
		return "Thư ký"
	}
	return string(r)
}

// TeamMember is a member of the inspection team.
type TeamMember struct {
	Name     string   `json:"name"`
	Position string   `json:"position"`
	Role     TeamRole `json:"role"`
}

// Person is someone named in the minutes: a unit representative.
type Person struct {
	Name     string `json:"name"`
	Position string `json:"position"`
}

// Attendance is the staff count at the moment of inspection. The absences
// with a reason are split by kind; late arrivals and early leavers are
// among those present.
type Attendance struct {
	Listed           int `json:"listed"`            // on the staff list
	Present          int `json:"present"`           // present at the check
	AbsentLeave      int `json:"absent_leave"`      // on leave (nghỉ phép, ốm)
	AbsentAssignment int `json:"absent_assignment"` // on an assignment (đi công tác)
	AbsentStudy      int `json:"absent_study"`      // studying (đi học)
	AbsentUnexcused  int `json:"absent_unexcused"`  // absent without reason
	Late             int `json:"late"`              // came late
	LeftEarly        int `json:"left_early"`        // left early
}

// AbsentExcused is the number absent with a reason.
func (a Attendance) AbsentExcused() int { return a.AbsentLeave + a.AbsentAssignment + a.AbsentStudy }

// Absent is the number absent, with or without reason.
func (a Attendance) Absent() int { return a.AbsentExcused() + a.AbsentUnexcused }

// problems checks the counts add up: everyone on the list is present or
// absent, and the late and early leavers are among those present.
func (a Attendance) problems() []Problem {
	var ps []Problem
	for _, f := range []struct {
		name string
		v    int
	}{{"listed", a.Listed}, {"present", a.Present}, {"absent_leave", a.AbsentLeave}, {"absent_assignment", a.AbsentAssignment},
		{"absent_study", a.AbsentStudy}, {"absent_unexcused", a.AbsentUnexcused}, {"late", a.Late}, {"left_early", a.LeftEarly}} {
		if f.v < 0 {
			ps = append(ps, Problem{Field: "attendance." + f.name, Message: "Số người không được âm."})
		}
	}
	if len(ps) > 0 {
		return ps
	}
	if a.Present+a.Absent() != a.Listed {
		ps = append(ps, Problem{Field: "attendance.listed", Message: fmt.Sprintf(
			"Số có mặt (%d) cộng số vắng (%d) phải bằng số trong danh sách (%d).", a.Present, a.Absent(), a.Listed)})
	}
	if a.Late+a.LeftEarly > a.Present {
		ps = append(ps, Problem{Field: "attendance.late", Message: fmt.Sprintf(
			"Số đi muộn, về sớm (%d) không thể nhiều hơn số có mặt (%d).", a.Late+a.LeftEarly, a.Present)})
	}
	return ps
}

// Percent formats part of whole the way Vietnamese reports write rates:
// two decimals with a comma, "78,54%"; "0,00%" when whole is 0.
func Percent(part, whole int) string {
	return Hundredths(BasisPoints(part, whole)) + "%"
}

// BasisPoints is part/whole in hundredths of a percent, rounded half up in
// integers so that the same counts always print the same figure: 333 of
// 424 is 7854. It is 0 when whole is 0. Percent prints it; a change of
// rate is the difference of two.
func BasisPoints(part, whole int) int64 {
	if whole <= 0 {
		return 0
	}
	return (int64(part)*100000/int64(whole) + 5) / 10
}

// Hundredths writes n hundredths with two decimals and a comma, as
// Percent writes a rate without its "%": 7854 is "78,54", -5 is "-0,05".
func Hundredths(n int64) string {
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	return sign + strconv.FormatInt(n/100, 10) + "," + fmt.Sprintf("%02d", n%100)
}

// CheckResult is the outcome of one checklist item.
type CheckResult string

// Checklist results.
const (
	CheckPass         CheckResult = "dat"
	CheckFail         CheckResult = "khong-dat"
	CheckNotApplicant CheckResult = "khong-ap-dung"
)

// Label is the result's Vietnamese name.
func (r CheckResult) Label() string {
	switch r {
	case CheckPass:
		return "Đạt"
	case CheckFail:
		return "Không đạt"
	case CheckNotApplicant:
		return "Không áp dụng"
	}
	return ""
}

// ChecklistItem is one point the team checks, with its outcome.
type ChecklistItem struct {
	Code   string      `json:"code"`
	Label  string      `json:"label"`
	Result CheckResult `json:"result,omitempty"` // "" while not yet checked
	Note   string      `json:"note,omitempty"`
}

// DefaultChecklist is the checklist of a discipline inspection
// (DOMAIN.md §4), unchecked.
func DefaultChecklist() []ChecklistItem {
	return []ChecklistItem{
		{Code: "the", Label: "Đeo thẻ công chức, viên chức"},
		{Code: "trang-phuc", Label: "Trang phục công sở"},
		{Code: "ruou-bia", Label: "Uống rượu, bia trong giờ làm việc"},
		{Code: "thuoc-la", Label: "Hút thuốc lá nơi làm việc"},
		{Code: "viec-rieng", Label: "Làm việc riêng, ngồi quán trong giờ làm việc"},
		{Code: "thai-do", Label: "Thái độ, tác phong; nhũng nhiễu, gây phiền hà"},
		{Code: "mot-cua", Label: "Bộ phận một cửa có người trực"},
		{Code: "lich-lam-viec", Label: "Niêm yết lịch làm việc"},
		{Code: "xe-cong", Label: "Sử dụng xe công"},
		{Code: "niem-yet", Label: "Niêm yết thủ tục hành chính, số đường dây nóng"},
		{Code: "quy-che", Label: "Quy chế làm việc, bản cam kết"},
	}
}

// Finding is one person found in violation.
type Finding struct {
	Name        string     `json:"name"`
	Position    string     `json:"position,omitempty"`
	Section     string     `json:"section,omitempty"` // the unit's section (bộ phận)
	Violation   string     `json:"violation"`         // a violation catalog code
	SeenAt      *time.Time `json:"seen_at,omitempty"`
	Explanation string     `json:"explanation,omitempty"` // the person's own
}

// Handling is a proposed handling of a finding's person, or of the unit
// ("" person).
type Handling struct {
	Code   string `json:"code"` // a handling catalog code
	Person string `json:"person,omitempty"`
	Note   string `json:"note,omitempty"`
}

// CatalogKind names a catalog an admin can edit.
type CatalogKind string

// Catalogs.
const (
	CatalogViolation CatalogKind = "violation"
	CatalogHandling  CatalogKind = "handling"
)

// CatalogEntry is a violation type or a handling form.
type CatalogEntry struct {
	Kind   CatalogKind `json:"kind"`
	Code   string      `json:"code"`
	Name   string      `json:"name"`
	Group  string      `json:"group,omitempty"` // handling: khong-ky-luat, cong-chuc, vien-chuc, khac
	Order  int         `json:"order"`
	Active bool        `json:"active"`
}

// DefaultCatalog is the violation and handling catalogs of DOMAIN.md §4,
// which a fresh database starts with.
func DefaultCatalog() []CatalogEntry {
	v := func(code, name string) CatalogEntry {
		return CatalogEntry{Kind: CatalogViolation, Code: code, Name: name, Active: true}
	}
	h := func(group, code, name string) CatalogEntry {
		return CatalogEntry{Kind: CatalogHandling, Code: code, Name: name, Group: group, Active: true}
	}
	es := []CatalogEntry{
		v("vang-khong-ly-do", "Vắng mặt không có lý do"),
		v("di-muon-ve-som", "Đi muộn, về sớm"),
		v("khong-deo-the", "Không đeo thẻ công chức, viên chức"),
		v("trang-phuc", "Trang phục không đúng quy định"),
		v("ruou-bia", "Uống rượu, bia trong giờ làm việc"),
		v("hut-thuoc", "Hút thuốc lá nơi làm việc"),
		v("viec-rieng", "Làm việc riêng, ngồi quán trong giờ làm việc"),
		v("thai-do", "Thái độ, tác phong không đúng mực"),
		v("nhung-nhieu", "Nhũng nhiễu, gây phiền hà"),
		v("xe-cong", "Sử dụng xe công sai mục đích"),
		v("mot-cua", "Bộ phận một cửa không có người trực"),
		v("khac", "Vi phạm khác"),
		h("khong-ky-luat", "nhac-nho", "Nhắc nhở"),
		h("khong-ky-luat", "phe-binh", "Phê bình"),
		h("khong-ky-luat", "kiem-diem", "Kiểm điểm, rút kinh nghiệm"),
		h("cong-chuc", "cc-khien-trach", "Khiển trách (công chức)"),
		h("cong-chuc", "cc-canh-cao", "Cảnh cáo (công chức)"),
		h("cong-chuc", "cc-ha-bac-giang-chuc", "Hạ bậc lương hoặc giáng chức (công chức)"),
		h("cong-chuc", "cc-cach-chuc", "Cách chức (công chức)"),
		h("cong-chuc", "cc-buoc-thoi-viec", "Buộc thôi việc (công chức)"),
		h("vien-chuc", "vc-khien-trach", "Khiển trách (viên chức)"),
		h("vien-chuc", "vc-canh-cao", "Cảnh cáo (viên chức)"),
		h("vien-chuc", "vc-cach-chuc", "Cách chức (viên chức)"),
		h("vien-chuc", "vc-buoc-thoi-viec", "Buộc thôi việc (viên chức)"),
		h("khac", "dang-xem-xet", "Đang xem xét xử lý"),
		h("khac", "trach-nhiem-nguoi-dung-dau", "Xem xét trách nhiệm người đứng đầu"),
	}
	for i := range es {
		es[i].Order = i + 1
	}
	return es
}

// Inspection is the record of one inspection of a unit, from which the
// minutes (biên bản kiểm tra, DOMAIN.md §4) are made.
type Inspection struct {
	ID       int64           `json:"id"`
	Version  int             `json:"version"`            // 1, then 2… for corrections
	Previous int64           `json:"previous,omitempty"` // the version this one corrects
	State    InspectionState `json:"state"`
	// Revision counts saves, so that two devices editing one draft do not
	// overwrite each other unknowingly: a save names the revision it read.
	Revision int `json:"revision"`

	UnitID     int64      `json:"unit_id"`
	UnitCode   string     `json:"unit_code,omitempty"`
	UnitName   string     `json:"unit_name,omitempty"`
	Place      string     `json:"place"`
	Surprise   bool       `json:"surprise"`
	LegalBasis []string   `json:"legal_basis"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`

	Team            []TeamMember    `json:"team"`
	Representatives []Person        `json:"representatives"`
	Attendance      Attendance      `json:"attendance"`
	Checklist       []ChecklistItem `json:"checklist"`
	Findings        []Finding       `json:"findings"`
	UnitExplanation string          `json:"unit_explanation"`
	Conclusions     string          `json:"conclusions"`
	Handling        []Handling      `json:"handling"`
	ReportDeadline  *time.Time      `json:"report_deadline,omitempty"` // for the unit to report back
	RefusedToSign   bool            `json:"refused_to_sign"`
	RefusalReason   string          `json:"refusal_reason,omitempty"`

	// DocumentID is the minutes once finalized, and MinutesNumber their
	// number ("01/BB-ĐKT"), read with the record.
	DocumentID    int64     `json:"document_id,omitempty"`
	MinutesNumber string    `json:"minutes_number,omitempty"`
	CreatedBy     int64     `json:"created_by"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// InspectionFilter selects inspections for listings and exports; zero
// fields match all.
type InspectionFilter struct {
	UnitID    int64      `json:"unit_id,omitempty"`
	From      *time.Time `json:"from,omitempty"`  // started at or after
	Until     *time.Time `json:"until,omitempty"` // started before
	Violation string     `json:"violation,omitempty"`
	State     InspectionState
	Limit     int `json:"limit,omitempty"` // default 100
}

// Limits of an inspection's text fields, in runes.
const (
	maxInspectionText  = 10000
	maxInspectionShort = 300
	maxInspectionList  = 500
)

// ValidateDraft checks what must hold for an inspection to be saved, even
// half-filled in the field: lengths, counts that are not negative, known
// codes. known tells whether a catalog code exists.
func (in *Inspection) ValidateDraft(known func(CatalogKind, string) bool) []Problem {
	var ps []Problem
	short := func(field, v string) {
		if utf8.RuneCountInString(v) > maxInspectionShort {
			ps = append(ps, Problem{Field: field, Message: fmt.Sprintf("Dài quá %d ký tự.", maxInspectionShort)})
		}
	}
	long := func(field, v string) {
		if utf8.RuneCountInString(v) > maxInspectionText {
			ps = append(ps, Problem{Field: field, Message: fmt.Sprintf("Dài quá %d ký tự.", maxInspectionText)})
		}
	}
	short("place", in.Place)
	for i, b := range in.LegalBasis {
		long(fmt.Sprintf("legal_basis[%d]", i), b)
	}
	if in.StartedAt != nil && in.EndedAt != nil && in.EndedAt.Before(*in.StartedAt) {
		ps = append(ps, Problem{Field: "ended_at", Message: "Thời điểm kết thúc phải sau thời điểm bắt đầu."})
	}
	for i, m := range in.Team {
		short(fmt.Sprintf("team[%d].name", i), m.Name)
		short(fmt.Sprintf("team[%d].position", i), m.Position)
		if !validRole(m.Role) {
			ps = append(ps, Problem{Field: fmt.Sprintf("team[%d].role", i), Message: "Vai trò phải là Trưởng đoàn, Phó Trưởng đoàn, Thành viên hoặc Thư ký."})
		}
	}
	for i, p := range in.Representatives {
		short(fmt.Sprintf("representatives[%d].name", i), p.Name)
		short(fmt.Sprintf("representatives[%d].position", i), p.Position)
	}
	for _, p := range in.Attendance.problems() {
		if strings.HasSuffix(p.Message, "được âm.") {
			ps = append(ps, p)
		}
	}
	for i, c := range in.Checklist {
		short(fmt.Sprintf("checklist[%d].label", i), c.Label)
		long(fmt.Sprintf("checklist[%d].note", i), c.Note)
		switch c.Result {
		case "", CheckPass, CheckFail, CheckNotApplicant:
		default:
			ps = append(ps, Problem{Field: fmt.Sprintf("checklist[%d].result", i), Message: "Kết quả phải là Đạt, Không đạt hoặc Không áp dụng."})
		}
	}
	for i, f := range in.Findings {
		short(fmt.Sprintf("findings[%d].name", i), f.Name)
		short(fmt.Sprintf("findings[%d].position", i), f.Position)
		short(fmt.Sprintf("findings[%d].section", i), f.Section)
		long(fmt.Sprintf("findings[%d].explanation", i), f.Explanation)
		if f.Violation != "" && known != nil && !known(CatalogViolation, f.Violation) {
			ps = append(ps, Problem{Field: fmt.Sprintf("findings[%d].violation", i), Message: "Loại vi phạm không có trong danh mục: " + f.Violation + "."})
		}
	}
	for i, h := range in.Handling {
		short(fmt.Sprintf("handling[%d].person", i), h.Person)
		long(fmt.Sprintf("handling[%d].note", i), h.Note)
		if h.Code != "" && known != nil && !known(CatalogHandling, h.Code) {
			ps = append(ps, Problem{Field: fmt.Sprintf("handling[%d].code", i), Message: "Hình thức xử lý không có trong danh mục: " + h.Code + "."})
		}
	}
	long("unit_explanation", in.UnitExplanation)
	long("conclusions", in.Conclusions)
	long("refusal_reason", in.RefusalReason)
	for _, n := range []struct {
		field string
		len   int
	}{{"legal_basis", len(in.LegalBasis)}, {"team", len(in.Team)}, {"representatives", len(in.Representatives)},
		{"checklist", len(in.Checklist)}, {"findings", len(in.Findings)}, {"handling", len(in.Handling)}} {
		if n.len > maxInspectionList {
			ps = append(ps, Problem{Field: n.field, Message: fmt.Sprintf("Nhiều quá %d mục.", maxInspectionList)})
		}
	}
	return ps
}

// ValidateFinal checks, beyond ValidateDraft, what the minutes need: the
// unit, the times, a team with its leader, counts that add up, every
// finding with a name and a violation, conclusions, and the reason of a
// refusal to sign.
func (in *Inspection) ValidateFinal(known func(CatalogKind, string) bool) []Problem {
	ps := in.ValidateDraft(known)
	need := func(field, v, msg string) {
		if strings.TrimSpace(v) == "" {
			ps = append(ps, Problem{Field: field, Message: msg})
		}
	}
	if in.UnitID == 0 {
		ps = append(ps, Problem{Field: "unit_id", Message: "Chọn đơn vị được kiểm tra."})
	}
	need("place", in.Place, "Nhập địa điểm kiểm tra.")
	if in.StartedAt == nil {
		ps = append(ps, Problem{Field: "started_at", Message: "Nhập thời điểm bắt đầu kiểm tra."})
	}
	if in.EndedAt == nil {
		ps = append(ps, Problem{Field: "ended_at", Message: "Nhập thời điểm kết thúc kiểm tra."})
	}
	if len(in.LegalBasis) == 0 {
		ps = append(ps, Problem{Field: "legal_basis", Message: "Nêu ít nhất một căn cứ kiểm tra."})
	}
	leaders := 0
	for i, m := range in.Team {
		need(fmt.Sprintf("team[%d].name", i), m.Name, "Nhập họ tên thành viên đoàn.")
		if m.Role == RoleLeader {
			leaders++
		}
	}
	if leaders != 1 {
		ps = append(ps, Problem{Field: "team", Message: "Đoàn kiểm tra phải có đúng một Trưởng đoàn."})
	}
	if len(in.Representatives) == 0 && !in.RefusedToSign {
		ps = append(ps, Problem{Field: "representatives", Message: "Nêu người đại diện đơn vị."})
	}
	for _, p := range in.Attendance.problems() {
		if !strings.HasSuffix(p.Message, "được âm.") {
			ps = append(ps, p)
		}
	}
	for i, f := range in.Findings {
		need(fmt.Sprintf("findings[%d].name", i), f.Name, "Nhập họ tên người vi phạm.")
		need(fmt.Sprintf("findings[%d].violation", i), f.Violation, "Chọn loại vi phạm.")
	}
	for i, h := range in.Handling {
		need(fmt.Sprintf("handling[%d].code", i), h.Code, "Chọn hình thức xử lý.")
	}
	need("conclusions", in.Conclusions, "Nhập kết luận của đoàn kiểm tra.")
	if in.RefusedToSign {
		need("refusal_reason", in.RefusalReason, "Nêu lý do đơn vị không ký biên bản.")
	}
	return ps
}

func validRole(r TeamRole) bool {
	for _, x := range TeamRoles {
		if r == x {
			return true
		}
	}
	return false
}

// FinalizeProblems is what keeps in from becoming minutes: the problems of
// ValidateFinal against the catalog, and the report-back deadline the
// minutes print. The web checks it before asking for the minutes, so the
// inspector fixes the record on the spot; the finalize task checks again.
func FinalizeProblems(in *Inspection, catalog []CatalogEntry) []Problem {
	codes := map[CatalogKind]map[string]bool{}
	for _, e := range catalog {
		if codes[e.Kind] == nil {
			codes[e.Kind] = map[string]bool{}
		}
		codes[e.Kind][e.Code] = true
	}
	ps := in.ValidateFinal(func(k CatalogKind, code string) bool { return codes[k][code] })
	if in.ReportDeadline == nil {
		ps = append(ps, Problem{Field: "report_deadline", Message: "Nhập hạn đơn vị báo cáo kết quả khắc phục."})
	}
	return ps
}
