package vanthu

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Role is what a user may do. Every route names the roles it admits.
type Role string

// Roles. An admin may do everything.
const (
	RoleAdmin     Role = "admin"
	RoleClerk     Role = "clerk"     // văn thư: drafts, issues, tracks documents, manages units
	RoleInspector Role = "inspector" // thành viên đoàn kiểm tra: records inspections
	RoleViewer    Role = "viewer"    // lãnh đạo, theo dõi: reads everything, changes nothing
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleAdmin, RoleClerk, RoleInspector, RoleViewer}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Label returns the Vietnamese name of the role.
func (r Role) Label() string {
	switch r {
	case RoleAdmin:
		return "Quản trị"
	case RoleClerk:
		return "Văn thư"
	case RoleInspector:
		return "Kiểm tra viên"
	case RoleViewer:
		return "Theo dõi"
	}
	return string(r)
}

// Allowed reports whether a user with role r may use something open to the
// given roles. An admin is always allowed; an empty list means any
// authenticated user.
func (r Role) Allowed(roles ...Role) bool {
	if !r.Valid() {
		return false
	}
	if r == RoleAdmin || len(roles) == 0 {
		return true
	}
	return slices.Contains(roles, r)
}

// User is a person who logs in: staff of the Sở Nội vụ. Receiving units
// never log in; they act through per-dispatch tokens.
type User struct {
	ID           int64     `json:"id"`
	Username     string    `json:"username"`
	FullName     string    `json:"full_name"`
	Role         Role      `json:"role"`
	PasswordHash string    `json:"-"` // bcrypt
	Active       bool      `json:"active"`
	CreatedAt    time.Time `json:"created_at"`
}

// Validate normalises and checks the user's fields.
func (u *User) Validate() error {
	var ps []Problem
	u.Username = strings.ToLower(strings.TrimSpace(u.Username))
	u.FullName = strings.Join(strings.Fields(u.FullName), " ")
	if u.Username == "" {
		ps = append(ps, Problem{Field: "username", Message: "Tên đăng nhập không được để trống."})
	} else if strings.ContainsAny(u.Username, " \t\r\n:/") || len(u.Username) > 64 {
		ps = append(ps, Problem{Field: "username", Message: "Tên đăng nhập không được chứa khoảng trắng, ':' hoặc '/', tối đa 64 ký tự."})
	}
	if u.FullName == "" {
		ps = append(ps, Problem{Field: "full_name", Message: "Họ và tên không được để trống."})
	}
	if !u.Role.Valid() {
		ps = append(ps, Problem{Field: "role", Message: "Vai trò không hợp lệ (admin, clerk, inspector, viewer)."})
	}
	if len(ps) > 0 {
		return Invalid("Thông tin người dùng không hợp lệ.", ps...)
	}
	return nil
}

// MinPasswordLen is the shortest password accepted for a user.
const MinPasswordLen = 10

// CheckPassword returns the problem with a new password, or nil. bcrypt
// reads only the first 72 bytes, so a longer password would be silently
// truncated; it is refused instead.
func CheckPassword(p string) *Problem {
	switch {
	case utf8.RuneCountInString(p) < MinPasswordLen:
		return &Problem{Field: "password", Message: fmt.Sprintf("Mật khẩu phải có ít nhất %d ký tự.", MinPasswordLen)}
	case len(p) > 72:
		return &Problem{Field: "password", Message: "Mật khẩu dài quá 72 byte."}
	}
	return nil
}

// Credential kinds stored in the tokens table. Only a SHA-256 of the secret
// is stored, so a leaked database does not leak working credentials.
const (
	TokenSession = "session" // browser session cookie
	TokenAPI     = "api"     // bearer token for programs
)

// Token is a stored credential (its secret is never stored).
type Token struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"user_id"`
	Kind       string     `json:"kind"`
	Name       string     `json:"name"`
	Hash       []byte     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"` // nil: never
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}
