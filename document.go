package vanthu

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// DocumentKind is what a document is for; it decides its template and
// workflow.
type DocumentKind string

// Document kinds.
const (
	KindDirective DocumentKind = "directive" // chỉ thị
	KindMinutes   DocumentKind = "minutes"   // biên bản kiểm tra
	KindReport    DocumentKind = "report"    // báo cáo quý
	KindReminder  DocumentKind = "reminder"  // công văn đôn đốc
)

// DocumentState is where a document is in its life.
type DocumentState string

// Document states. An issued document is immutable; a correction is a new
// document that references it.
const (
	StateDraft  DocumentState = "draft"
	StateIssued DocumentState = "issued"
)

// Document is an official administrative document (Decree 30/2020/NĐ-CP).
type Document struct {
	ID        int64         `json:"id"`
	Kind      DocumentKind  `json:"kind"`
	TypeCode  string        `json:"type_code"` // CT, BB, BC, …; empty for a công văn
	Issuer    string        `json:"issuer"`    // issuer abbreviation in the symbol: UBND, SNV
	Year      int           `json:"year,omitempty"`
	Number    int           `json:"number,omitempty"` // 0 until issued
	Symbol    string        `json:"symbol,omitempty"` // "02/CT-UBND"
	Subject   string        `json:"subject"`          // trích yếu
	State     DocumentState `json:"state"`
	Content   Content       `json:"content"` // what the clerk edits; stored as JSON
	Replaces  int64         `json:"replaces,omitempty"`
	IssuedAt  *time.Time    `json:"issued_at,omitempty"`
	CreatedBy int64         `json:"created_by"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
}

// Artifact is a rendered file of a document, kept with its SHA-256 so that
// what was sent can be proven later.
type Artifact struct {
	ID          int64     `json:"id"`
	DocumentID  int64     `json:"document_id"`
	Name        string    `json:"name"` // file name shown to users
	ContentType string    `json:"content_type"`
	SHA256      string    `json:"sha256"` // hex
	Size        int64     `json:"size"`
	CreatedAt   time.Time `json:"created_at"`
}

// DocumentFilter selects documents in listings; zero fields match all.
type DocumentFilter struct {
	Kind  DocumentKind  `json:"kind,omitempty"`
	State DocumentState `json:"state,omitempty"`
	Limit int           `json:"limit,omitempty"` // default 100
}

// Audience chooses the units a document is sent to: every active unit, whole
// groups, single units, or a union of these. It is resolved to units when
// the document is issued, so a unit added later does not receive it.
type Audience struct {
	All     bool        `json:"all,omitempty"`
	Groups  []UnitGroup `json:"groups,omitempty"`
	UnitIDs []int64     `json:"unit_ids,omitempty"`
}

// Empty reports whether a chooses no unit at all.
func (a Audience) Empty() bool { return !a.All && len(a.Groups) == 0 && len(a.UnitIDs) == 0 }

// Content is what a clerk edits in a draft besides the columns of Document:
// the Decree 30 frame, the body and who receives it. Issuing freezes it.
type Content struct {
	// Template is the document template the draft started from
	// ("directive"); it picks the mail template too.
	Template string `json:"template"`
	// Frame, as printed (see internal/render.Document for the boxes).
	ParentAgency    string   `json:"parent_agency,omitempty"`
	Agency          string   `json:"agency"`
	Place           string   `json:"place"`
	TypeName        string   `json:"type_name,omitempty"` // "CHỈ THỊ"; empty for a công văn
	Urgency         string   `json:"urgency,omitempty"`   // "", "khan", "thuong-khan", "hoa-toc"
	KinhGui         []string `json:"kinh_gui,omitempty"`
	SignerAuthority string   `json:"signer_authority,omitempty"`
	SignerTitle     string   `json:"signer_title,omitempty"`
	SignerName      string   `json:"signer_name"`
	NoiNhan         []string `json:"noi_nhan,omitempty"` // the printed "Nơi nhận" lines
	DrafterCode     string   `json:"drafter_code,omitempty"`
	AddressLine     string   `json:"address_line,omitempty"`
	// Body is the content in Markdown.
	Body string `json:"body"`
	// Audience is who receives it; Deadline is when they must have
	// acknowledged it (nil: no acknowledgement asked).
	Audience Audience   `json:"audience"`
	Deadline *time.Time `json:"deadline,omitempty"`
}

// Limits on draft fields; bodies beyond them are mistakes, not directives.
const (
	MaxSubjectLen = 500
	MaxBodyLen    = 200_000
)

var urgencies = map[string]bool{"": true, "khan": true, "thuong-khan": true, "hoa-toc": true}

// ValidateDraft checks what a draft must always satisfy: a kind, a subject
// and sane lengths. Fields are trimmed; Problems name JSON fields
// ("content.body").
func (d *Document) ValidateDraft() []Problem {
	var ps []Problem
	d.Subject = strings.Join(strings.Fields(d.Subject), " ")
	d.Issuer = strings.ToUpper(strings.TrimSpace(d.Issuer))
	d.TypeCode = strings.TrimSpace(d.TypeCode)
	switch d.Kind {
	case KindDirective, KindMinutes, KindReport, KindReminder:
	default:
		ps = append(ps, Problem{Field: "kind", Message: "Loại văn bản không hợp lệ."})
	}
	if d.Subject == "" {
		ps = append(ps, Problem{Field: "subject", Message: "Trích yếu không được để trống."})
	} else if utf8.RuneCountInString(d.Subject) > MaxSubjectLen {
		ps = append(ps, Problem{Field: "subject", Message: "Trích yếu quá dài."})
	}
	if d.Issuer == "" {
		ps = append(ps, Problem{Field: "issuer", Message: "Thiếu ký hiệu cơ quan ban hành (ví dụ UBND, SNV)."})
	}
	if len(d.Content.Body) > MaxBodyLen {
		ps = append(ps, Problem{Field: "content.body", Message: "Nội dung quá dài."})
	}
	if !urgencies[d.Content.Urgency] {
		ps = append(ps, Problem{Field: "content.urgency", Message: "Mức độ khẩn không hợp lệ (khan, thuong-khan, hoa-toc)."})
	}
	for _, g := range d.Content.Audience.Groups {
		if !g.Valid() {
			ps = append(ps, Problem{Field: "content.audience.groups", Message: "Nhóm đơn vị không hợp lệ: " + string(g) + "."})
		}
	}
	return ps
}

// ValidateIssue checks, on top of ValidateDraft, what issuing needs: a
// body, a signer, someone to send to and, if set, a deadline after now.
func (d *Document) ValidateIssue(now time.Time) []Problem {
	ps := d.ValidateDraft()
	c := &d.Content
	if strings.TrimSpace(c.Body) == "" {
		ps = append(ps, Problem{Field: "content.body", Message: "Thiếu nội dung văn bản."})
	}
	if strings.TrimSpace(c.SignerName) == "" {
		ps = append(ps, Problem{Field: "content.signer_name", Message: "Thiếu họ tên người ký."})
	}
	if strings.TrimSpace(c.Agency) == "" {
		ps = append(ps, Problem{Field: "content.agency", Message: "Thiếu cơ quan ban hành."})
	}
	if c.Audience.Empty() {
		ps = append(ps, Problem{Field: "content.audience", Message: "Chưa chọn đơn vị nhận văn bản."})
	}
	if c.Deadline != nil && !c.Deadline.After(now) {
		ps = append(ps, Problem{Field: "content.deadline", Message: "Hạn xác nhận phải sau thời điểm ban hành."})
	}
	return ps
}

// Symbol formats number and symbol as printed: "02/CT-UBND", or
// "05/SNV-VP" for a công văn (no type code). Numbers below 10 take a
// leading zero (Decree 30).
func Symbol(number int, typeCode, issuer string) string {
	n := fmt.Sprintf("%02d", number)
	if typeCode == "" {
		return n + "/" + issuer
	}
	return n + "/" + typeCode + "-" + issuer
}
