package render

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"codeberg.org/go-pdf/fpdf"
	"github.com/go-fonts/liberation/liberationserifbold"
	"github.com/go-fonts/liberation/liberationserifbolditalic"
	"github.com/go-fonts/liberation/liberationserifitalic"
	"github.com/go-fonts/liberation/liberationserifregular"
)

// repertoire is the set of characters an administrative document is
// expected to print: Latin-1 and Latin Extended-A, every Vietnamese letter
// (precomposed and combining marks), the usual punctuation, ₫ and €, ℃, №,
// arrows, a few mathematical signs and bullets. Liberation Serif also
// covers Cyrillic, Greek, Hebrew and much more, which a Vietnamese
// Department rarely prints; such text gets the full fonts (see fonts).
var repertoire = &unicode.RangeTable{
	R16: []unicode.Range16{
		{Lo: 0x0020, Hi: 0x007e, Stride: 1},
		{Lo: 0x00a0, Hi: 0x017f, Stride: 1}, // Latin-1, Latin Extended-A (Đ đ)
		{Lo: 0x01a0, Hi: 0x01b0, Stride: 1}, // Ơ ơ … Ư ư
		{Lo: 0x02c6, Hi: 0x02dd, Stride: 1}, // spacing accents
		{Lo: 0x0300, Hi: 0x0323, Stride: 1}, // combining marks (NFD input)
		{Lo: 0x1ea0, Hi: 0x1ef9, Stride: 1}, // Ạ … ỹ
		{Lo: 0x2010, Hi: 0x2044, Stride: 1}, // dashes, quotes, bullets, ‰, …
		{Lo: 0x20ab, Hi: 0x20ac, Stride: 1}, // ₫ €
		{Lo: 0x2103, Hi: 0x2103, Stride: 1}, // ℃
		{Lo: 0x2116, Hi: 0x2116, Stride: 1}, // №
		{Lo: 0x2122, Hi: 0x2122, Stride: 1}, // ™
		{Lo: 0x2190, Hi: 0x2193, Stride: 1}, // arrows
		{Lo: 0x2212, Hi: 0x2212, Stride: 1}, // minus
		{Lo: 0x2260, Hi: 0x2260, Stride: 1}, // ≠
		{Lo: 0x2264, Hi: 0x2265, Stride: 1}, // ≤ ≥
		{Lo: 0x25a0, Hi: 0x25cf, Stride: 1}, // ■ □ ○ ●
	},
	LatinOffset: 1,
}

// face is one style of the font family as fpdf takes it: TrueType bytes.
type face struct {
	style string // fpdf style: "", "B", "I", "BI"
	ttf   []byte
}

// fonts holds the font files handed to fpdf for each document. fpdf
// re-parses a TrueType file for every document it is added to, and the
// parsing cost grows with the number of characters the file maps; the
// Liberation files map about 2 600. Cutting them once per process to the
// repertoire (600 code points) makes each document cheaper to set up
// and to subset when written. A document that prints a character outside
// the repertoire gets the full files, so no glyph is ever lost.
//
// The fonts also carry the advance widths of every style, so that layout
// measures text without selecting a font in the document: fpdf writes a
// font change into the page content each time one is selected.
type fonts struct {
	cut  []face // subset to repertoire
	full []face // as shipped
	// widths[style][r] is the advance width of rune r in 1/1000 em, as
	// fpdf computes it (GetStringSymbolWidth); runes above U+FFFF take
	// missing[style].
	widths  [4][]uint16
	missing [4]int
}

// newFonts cuts the four Liberation Serif styles to the repertoire.
func newFonts() *fonts {
	full := []face{
		{"", liberationserifregular.TTF},
		{"B", liberationserifbold.TTF},
		{"I", liberationserifitalic.TTF},
		{"BI", liberationserifbolditalic.TTF},
	}
	var set strings.Builder
	for _, r16 := range repertoire.R16 {
		for r := rune(r16.Lo); r <= rune(r16.Hi); r += rune(r16.Stride) {
			set.WriteRune(r)
		}
	}
	cutset := set.String()
	fs := &fonts{full: full}
	for _, f := range full {
		fs.cut = append(fs.cut, face{style: f.style, ttf: fpdf.UTF8CutFont(f.ttf, cutset)})
	}
	// Widths are read from fpdf itself so that measuring agrees with what
	// it draws.
	pdf := fpdf.New("P", "mm", "A4", "")
	for _, f := range full {
		pdf.AddUTF8FontFromBytes(fontFamily, f.style, f.ttf)
	}
	for style := range 4 {
		pdf.SetFont(fontFamily, styleString(style), 10)
		w := make([]uint16, 0x10000)
		var buf [utf8.UTFMax]byte
		for r := range rune(len(w)) {
			n := utf8.EncodeRune(buf[:], r)
			w[r] = uint16(pdf.GetStringSymbolWidth(string(buf[:n])))
		}
		fs.widths[style] = w
		fs.missing[style] = pdf.GetStringSymbolWidth("\U0001F600")
	}
	if err := pdf.Error(); err != nil {
		// The fonts are compiled in: failing to load them is a build defect.
		panic(fmt.Sprintf("render: load fonts: %v", err))
	}
	return fs
}

// symbolWidth is the width of s in style, in 1/1000 em.
func (fs *fonts) symbolWidth(s string, style int) int {
	tab := fs.widths[style&(bold|italic)]
	w := 0
	for _, r := range s {
		if int(r) < len(tab) {
			w += int(tab[r])
		} else {
			w += fs.missing[style&(bold|italic)]
		}
	}
	return w
}

// width is the width of s in style at size points, in mm; the arithmetic
// is fpdf's (GetStringWidth), so that both agree to the last bit.
func (fs *fonts) width(s string, style int, size float64) float64 {
	return float64(fs.symbolWidth(s, style)) * (size / (72.0 / 25.4)) / 1000
}

// faces returns the font files for a document whose printed text is
// drawn from texts: the cut files when every character is in the
// repertoire, the full ones otherwise.
func (fs *fonts) faces(texts ...string) []face {
	for _, s := range texts {
		for _, r := range s {
			if r >= 0x20 && !unicode.Is(repertoire, r) && !unicode.IsSpace(r) {
				return fs.full
			}
		}
	}
	return fs.cut
}
