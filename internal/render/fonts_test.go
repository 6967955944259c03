package render

import (
	"testing"

	"codeberg.org/go-pdf/fpdf"
)

// TestFontWidths checks that layout measures text exactly as fpdf does
// with the fonts a document embeds, for every character of the repertoire
// (cut fonts) and for characters outside it (full fonts).
func TestFontWidths(t *testing.T) {
	fs := newFonts()
	outside := "Иван Петров שלום ﬀ α"
	if got := fs.faces("Nguyễn Văn Thiện — “kỷ cương” № 5 ₫ ≤ → ●"); &got[0] != &fs.cut[0] {
		t.Error("Vietnamese text does not use the cut fonts")
	}
	if got := fs.faces("Họ tên", outside); &got[0] != &fs.full[0] {
		t.Error("Cyrillic text does not use the full fonts")
	}
	for _, set := range []struct {
		name  string
		faces []face
		text  func(yield func(rune) bool)
	}{
		{"cut", fs.cut, func(yield func(rune) bool) {
			for _, r16 := range repertoire.R16 {
				for r := rune(r16.Lo); r <= rune(r16.Hi); r += rune(r16.Stride) {
					if !yield(r) {
						return
					}
				}
			}
		}},
		{"full", fs.full, func(yield func(rune) bool) {
			for _, r := range outside + "\U0001F600" {
				if !yield(r) {
					return
				}
			}
		}},
	} {
		pdf := fpdf.New("P", "mm", "A4", "")
		for _, f := range set.faces {
			pdf.AddUTF8FontFromBytes(fontFamily, f.style, f.ttf)
		}
		for style := range 4 {
			pdf.SetFont(fontFamily, styleString(style), 13)
			all := ""
			for r := range set.text {
				s := string(r)
				all += s
				if got, want := fs.width(s, style, 13), pdf.GetStringWidth(s); got != want {
					t.Fatalf("%s fonts, style %d: width of %q = %v, fpdf says %v", set.name, style, s, got, want)
				}
			}
			if got, want := fs.width(all, style, 13), pdf.GetStringWidth(all); got != want {
				t.Errorf("%s fonts, style %d: width of the whole set = %v, fpdf says %v", set.name, style, got, want)
			}
		}
		if err := pdf.Error(); err != nil {
			t.Fatal(err)
		}
	}
}
