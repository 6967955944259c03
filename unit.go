package vanthu

import (
	"net/mail"
	"regexp"
	"strings"
	"time"
)

// UnitGroup is the kind of a receiving unit. Directives are often addressed
// to a whole group ("all UBND xã, phường").
type UnitGroup string

// Unit groups of a province after the 2025 reform (no district level).
const (
	GroupDepartment UnitGroup = "so-nganh"  // sở, ban, ngành tỉnh
	GroupCommune    UnitGroup = "xa-phuong" // UBND xã, phường, đặc khu
	GroupPublic     UnitGroup = "su-nghiep" // đơn vị sự nghiệp công lập
	GroupOther      UnitGroup = "khac"      // cơ quan, tổ chức khác
)

// UnitGroups lists the groups in display order.
var UnitGroups = []UnitGroup{GroupDepartment, GroupCommune, GroupPublic, GroupOther}

// Label returns the Vietnamese name of the group.
func (g UnitGroup) Label() string {
	switch g {
	case GroupDepartment:
		return "Sở, ban, ngành"
	case GroupCommune:
		return "UBND xã, phường"
	case GroupPublic:
		return "Đơn vị sự nghiệp"
	case GroupOther:
		return "Khác"
	}
	return string(g)
}

// Valid reports whether g is one of the known groups.
func (g UnitGroup) Valid() bool {
	for _, k := range UnitGroups {
		if g == k {
			return true
		}
	}
	return false
}

// Unit is an agency or office that receives directives and is inspected.
type Unit struct {
	ID         int64     `json:"id"`
	Code       string    `json:"code"`                  // stable short code, unique: "SNV", "XA-PHUOC-LONG"
	Name       string    `json:"name"`                  // official name as printed: "Sở Tài chính"
	Emails     []string  `json:"emails"`                // official mailboxes; the first is the main one
	ParentCode string    `json:"parent_code,omitempty"` // code of the supervising unit, if any
	Group      UnitGroup `json:"group"`
	Order      int       `json:"order"` // official order in lists and recipient blocks
	Active     bool      `json:"active"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

var unitCodeRE = regexp.MustCompile(`^[A-Z0-9][A-Z0-9_.-]{0,39}$`)

// Validate checks u after normalisation and returns an EInvalid error naming
// every bad field. It upper-cases the code and lower-cases e-mail addresses,
// so that lookups by either are exact.
func (u *Unit) Validate() error {
	var ps []Problem
	u.Code = strings.ToUpper(strings.TrimSpace(u.Code))
	u.Name = strings.Join(strings.Fields(u.Name), " ")
	u.ParentCode = strings.ToUpper(strings.TrimSpace(u.ParentCode))
	if u.Code == "" {
		ps = append(ps, Problem{Field: "code", Message: "Mã đơn vị không được để trống."})
	} else if !unitCodeRE.MatchString(u.Code) {
		ps = append(ps, Problem{Field: "code", Message: "Mã đơn vị chỉ gồm chữ in hoa không dấu, chữ số, '-', '_' hoặc '.', tối đa 40 ký tự."})
	}
	if u.Name == "" {
		ps = append(ps, Problem{Field: "name", Message: "Tên đơn vị không được để trống."})
	} else if len([]rune(u.Name)) > 300 {
		ps = append(ps, Problem{Field: "name", Message: "Tên đơn vị dài quá 300 ký tự."})
	}
	if u.ParentCode != "" && u.ParentCode == u.Code {
		ps = append(ps, Problem{Field: "parent_code", Message: "Đơn vị không thể là đơn vị cấp trên của chính nó."})
	}
	if !u.Group.Valid() {
		ps = append(ps, Problem{Field: "group", Message: "Nhóm đơn vị không hợp lệ (so-nganh, xa-phuong, su-nghiep, khac)."})
	}
	if u.Order < 0 {
		ps = append(ps, Problem{Field: "order", Message: "Thứ tự không được âm."})
	}
	emails := make([]string, 0, len(u.Emails))
	seen := map[string]bool{}
	for _, e := range u.Emails {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" || seen[e] {
			continue
		}
		a, err := mail.ParseAddress(e)
		if err != nil || a.Address != e || !strings.Contains(e[strings.IndexByte(e, '@')+1:], ".") {
			ps = append(ps, Problem{Field: "emails", Message: "Địa chỉ thư điện tử không hợp lệ: " + e})
			continue
		}
		seen[e] = true
		emails = append(emails, e)
	}
	u.Emails = emails
	if len(u.Emails) == 0 && !hasField(ps, "emails") {
		ps = append(ps, Problem{Field: "emails", Message: "Cần ít nhất một địa chỉ thư điện tử."})
	}
	if len(ps) > 0 {
		return Invalid("Thông tin đơn vị không hợp lệ.", ps...)
	}
	return nil
}

func hasField(ps []Problem, field string) bool {
	for _, p := range ps {
		if p.Field == field {
			return true
		}
	}
	return false
}

// UnitFilter selects units in a listing.
type UnitFilter struct {
	Group      UnitGroup // empty: every group
	ActiveOnly bool
	Query      string // matched against code and the folded name (see internal/vntext)
}
