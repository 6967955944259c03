package vntext

import (
	"slices"
	"testing"
)

func TestNFC(t *testing.T) {
	decomposed := "Ho\u0300a Bi\u0300nh" // "Hòa Bình" with combining grave accents
	if got := NFC(decomposed); got != "Hòa Bình" {
		t.Fatalf("NFC(%q) = %q", decomposed, got)
	}
	if got := Clean("  Sở\u00a0 Nội   vụ \n"); got != "Sở Nội vụ" {
		t.Fatalf("Clean = %q", got)
	}
}

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Hoà", "hoa"},
		{"Hòa", "hoa"},
		{"Ho\u0300a", "hoa"},
		{"ĐẮK LẮK", "dak lak"},
		{"Phường  Phú Khương", "phuong phu khuong"},
		{"Sở Nội vụ", "so noi vu"},
	}
	for _, tt := range tests {
		if got := Fold(tt.in); got != tt.want {
			t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestComparePersonNames(t *testing.T) {
	names := []string{"Trần Văn Bình", "Nguyễn Thị Ánh", "Lê Văn Đức", "Phạm Thị Dung", "Võ An"}
	c := NewCollator()
	slices.SortFunc(names, func(a, b string) int { return ComparePersonNames(c, a, b) })
	want := []string{"Võ An", "Nguyễn Thị Ánh", "Trần Văn Bình", "Phạm Thị Dung", "Lê Văn Đức"}
	if !slices.Equal(names, want) {
		t.Fatalf("sorted = %v, want %v", names, want)
	}
}
