// Package vntext normalises and compares Vietnamese text: NFC at every input
// boundary, a folded search key that ignores marks and old/new tone
// placement, and the Vietnamese collation for sorting names.
package vntext

import (
	"strings"
	"unicode"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// NFC returns s in Unicode normalisation form C. Decomposed text (as typed
// on some phones or pasted from macOS file names) renders with loose marks
// in PDFs and never matches composed text.
func NFC(s string) string { return norm.NFC.String(s) }

// Clean returns s in NFC with surrounding white space removed and inner
// runs of white space collapsed to one space.
func Clean(s string) string { return strings.Join(strings.Fields(NFC(s)), " ") }

// Fold returns the search key of s: marks stripped, đ mapped to d,
// lower-cased, white space collapsed. "Hoà" and "Hòa" fold to the same key.
func Fold(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	out = strings.Map(func(r rune) rune {
		switch r {
		case 'đ', 'Đ':
			return 'd'
		}
		return unicode.ToLower(r)
	}, out)
	return strings.Join(strings.Fields(out), " ")
}

// NewCollator returns a collator for Vietnamese. A collator is not safe for
// concurrent use, so each sort makes its own.
func NewCollator() *collate.Collator { return collate.New(language.Vietnamese) }

// ComparePersonNames orders personal names the Vietnamese way: by given name
// (the last word) first, then by the whole name.
func ComparePersonNames(c *collate.Collator, a, b string) int {
	if r := c.CompareString(givenName(a), givenName(b)); r != 0 {
		return r
	}
	return c.CompareString(a, b)
}

func givenName(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}
