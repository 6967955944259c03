// Package seed fills a new development database with a realistic sample
// province: the departments, communes and wards, and public service units of
// Vĩnh Long after the July 2025 merger, and one account per role.
package seed

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/sonoivu/vanthu"
)

// Store is what seeding writes to.
type Store interface {
	ListUsers(ctx context.Context) ([]vanthu.User, error)
	CreateUser(ctx context.Context, u *vanthu.User, actor string) error
	ImportUnits(ctx context.Context, units []vanthu.Unit, actor string) (created, updated int, err error)
}

// Account is a seeded user with its development password.
type Account struct {
	User     vanthu.User
	Password string
}

// Accounts are the sample users, one per role. The passwords are for
// development only and printed at start-up.
func Accounts() []Account {
	return []Account{
		{vanthu.User{Username: "admin", FullName: "Quản trị hệ thống", Role: vanthu.RoleAdmin, Active: true}, "quantri@2026"},
		{vanthu.User{Username: "vanthu", FullName: "Nguyễn Thị Thanh Hương", Role: vanthu.RoleClerk, Active: true}, "vanthu@2026"},
		{vanthu.User{Username: "kiemtra", FullName: "Trần Văn Minh", Role: vanthu.RoleInspector, Active: true}, "kiemtra@2026"},
		{vanthu.User{Username: "lanhdao", FullName: "Lê Hoàng Nam", Role: vanthu.RoleViewer, Active: true}, "lanhdao@2026"},
	}
}

const domain = "vinhlong.gov.vn"

// Units returns the sample units in official order.
func Units() []vanthu.Unit {
	var units []vanthu.Unit
	add := func(g vanthu.UnitGroup, code, name, mailbox, parent string) {
		units = append(units, vanthu.Unit{
			Code: code, Name: name, Group: g, ParentCode: parent, Active: true,
			Order:  len(units) + 1,
			Emails: []string{mailbox + "@" + domain},
		})
	}
	dept := func(code, name, mailbox string) { add(vanthu.GroupDepartment, code, name, mailbox, "") }
	dept("VP-UBND", "Văn phòng Ủy ban nhân dân tỉnh", "vpubnd")
	dept("SNV", "Sở Nội vụ", "snv")
	dept("STC", "Sở Tài chính", "stc")
	dept("STP", "Sở Tư pháp", "stp")
	dept("SXD", "Sở Xây dựng", "sxd")
	dept("SCT", "Sở Công Thương", "sct")
	dept("SNNMT", "Sở Nông nghiệp và Môi trường", "snnmt")
	dept("SGDDT", "Sở Giáo dục và Đào tạo", "sgddt")
	dept("SYT", "Sở Y tế", "syt")
	dept("SKHCN", "Sở Khoa học và Công nghệ", "skhcn")
	dept("SVHTTDL", "Sở Văn hóa, Thể thao và Du lịch", "svhttdl")
	dept("SDTTG", "Sở Dân tộc và Tôn giáo", "sdttg")
	dept("TTRA", "Thanh tra tỉnh", "thanhtra")
	dept("BQLKCN", "Ban Quản lý các khu công nghiệp tỉnh", "bqlkcn")

	commune := func(code, name string) {
		mailbox := "ubnd." + strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(strings.TrimPrefix(code, "P-"), "X-"), "-", ""))
		add(vanthu.GroupCommune, code, "Ủy ban nhân dân "+name, mailbox, "")
	}
	for _, c := range [][2]string{
		{"P-THANH-DUC", "phường Thanh Đức"}, {"P-LONG-CHAU", "phường Long Châu"}, {"P-PHUOC-HAU", "phường Phước Hậu"},
		{"P-TAN-HANH", "phường Tân Hạnh"}, {"P-TAN-NGAI", "phường Tân Ngãi"}, {"P-BINH-MINH", "phường Bình Minh"},
		{"P-AN-HOI", "phường An Hội"}, {"P-PHU-KHUONG", "phường Phú Khương"}, {"P-BEN-TRE", "phường Bến Tre"},
		{"P-SON-DONG", "phường Sơn Đông"}, {"P-TRA-VINH", "phường Trà Vinh"}, {"P-NGUYET-HOA", "phường Nguyệt Hóa"},
		{"P-HOA-THUAN", "phường Hòa Thuận"}, {"P-DUYEN-HAI", "phường Duyên Hải"},
		{"X-LONG-HO", "xã Long Hồ"}, {"X-MANG-THIT", "xã Mang Thít"}, {"X-VUNG-LIEM", "xã Vũng Liêm"},
		{"X-TAM-BINH", "xã Tam Bình"}, {"X-TRA-ON", "xã Trà Ôn"}, {"X-MO-CAY", "xã Mỏ Cày"},
		{"X-BA-TRI", "xã Ba Tri"}, {"X-BINH-DAI", "xã Bình Đại"}, {"X-GIONG-TROM", "xã Giồng Trôm"},
		{"X-THANH-PHU", "xã Thạnh Phú"}, {"X-CHO-LACH", "xã Chợ Lách"}, {"X-CANG-LONG", "xã Càng Long"},
		{"X-CAU-KE", "xã Cầu Kè"}, {"X-TIEU-CAN", "xã Tiểu Cần"}, {"X-CAU-NGANG", "xã Cầu Ngang"},
		{"X-HOA-MINH", "xã Hòa Minh"},
	} {
		commune(c[0], c[1])
	}

	public := func(code, name, mailbox, parent string) { add(vanthu.GroupPublic, code, name, mailbox, parent) }
	public("TTPVHCC", "Trung tâm Phục vụ hành chính công tỉnh", "ttpvhcc", "VP-UBND")
	public("BVDK", "Bệnh viện Đa khoa tỉnh Vĩnh Long", "bvdk", "SYT")
	public("CDC", "Trung tâm Kiểm soát bệnh tật tỉnh", "cdc", "SYT")
	public("CDVL", "Trường Cao đẳng Vĩnh Long", "cdvl", "SGDDT")
	public("TTLT", "Trung tâm Lưu trữ lịch sử tỉnh", "ttlt", "SNV")
	public("BAO-PTTH", "Báo và Phát thanh, Truyền hình Vĩnh Long", "baoptth", "")
	return units
}

// Run seeds an empty database: it does nothing when any user exists, so a
// developer's own data is never touched. It reports whether it seeded.
func Run(ctx context.Context, s Store) (bool, error) {
	users, err := s.ListUsers(ctx)
	if err != nil {
		return false, fmt.Errorf("seed: %w", err)
	}
	if len(users) > 0 {
		return false, nil
	}
	if _, _, err := s.ImportUnits(ctx, Units(), "seed"); err != nil {
		return false, fmt.Errorf("seed units: %w", err)
	}
	for _, a := range Accounts() {
		u := a.User
		h, err := bcrypt.GenerateFromPassword([]byte(a.Password), bcrypt.DefaultCost)
		if err != nil {
			return false, fmt.Errorf("seed: hash password: %w", err)
		}
		u.PasswordHash = string(h)
		if err := s.CreateUser(ctx, &u, "seed"); err != nil {
			return false, fmt.Errorf("seed user %s: %w", u.Username, err)
		}
	}
	return true, nil
}
