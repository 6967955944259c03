package sheet

import (
	"bytes"
	"encoding/xml"
	"html"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/sonoivu/vanthu/internal/vntext"
)

// refPattern matches an optional sheet prefix and a cell or range reference
// in A1 style. Boundaries are checked by hand because Go regexps have no
// look-behind.
var refPattern = regexp.MustCompile(`((?:'(?:[^']|'')+'|[\p{L}_][\p{L}\p{N}_.]*)!)?(\$?[A-Za-z]{1,3})(\$?)([0-9]+)(?::(\$?[A-Za-z]{1,3})(\$?)([0-9]+))?`)

// rowRef is the row half of a cell reference, with its column for
// readers; a refFunc changes only abs and row.
type rowRef struct {
	col string // column letters as written, without "$"
	abs bool
	row int
}

// refFunc changes the rows of one reference. sheet is the unquoted sheet
// prefix, "" when the reference has none; r2 is nil for a single cell.
type refFunc func(sheet string, r1, r2 *rowRef)

// rewriteRefs applies fn to every A1 reference of a formula outside string
// literals and returns the new formula.
func rewriteRefs(formula string, fn refFunc) string {
	parts := strings.Split(formula, `"`)
	for i := 0; i < len(parts); i += 2 { // odd parts are inside "..."
		parts[i] = rewriteSegment(parts[i], fn)
	}
	return strings.Join(parts, `"`)
}

func rewriteSegment(s string, fn refFunc) string {
	matches := refPattern.FindAllStringSubmatchIndex(s, -1)
	if matches == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range matches {
		start, end := m[0], m[1]
		if start > 0 {
			if r, _ := utf8.DecodeLastRuneInString(s[:start]); isNameRune(r) || r == '$' || r == ':' {
				continue
			}
		}
		if end < len(s) {
			if r, _ := utf8.DecodeRuneInString(s[end:]); isNameRune(r) || r == '(' || r == '!' {
				continue
			}
		}
		sheet := ""
		if m[2] >= 0 {
			sheet = strings.TrimSuffix(s[m[2]:m[3]], "!")
			if strings.HasPrefix(sheet, "'") {
				sheet = strings.ReplaceAll(sheet[1:len(sheet)-1], "''", "'")
			}
		}
		row1, _ := strconv.Atoi(s[m[8]:m[9]])
		r1 := &rowRef{col: strings.TrimPrefix(s[m[4]:m[5]], "$"), abs: m[7] > m[6], row: row1}
		var r2 *rowRef
		if m[10] >= 0 {
			row2, _ := strconv.Atoi(s[m[14]:m[15]])
			r2 = &rowRef{col: strings.TrimPrefix(s[m[10]:m[11]], "$"), abs: m[13] > m[12], row: row2}
		}
		fn(sheet, r1, r2)
		b.WriteString(s[last:m[8]])
		b.WriteString(strconv.Itoa(r1.row))
		if r2 != nil {
			b.WriteString(s[m[9]:m[14]])
			b.WriteString(strconv.Itoa(r2.row))
		}
		last = end
	}
	b.WriteString(s[last:])
	return b.String()
}

func isNameRune(r rune) bool {
	return r == '_' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// copyFormula moves the relative row references of a formula by offset, as
// Excel does when a cell is copied offset rows down.
func copyFormula(formula string, offset int) string {
	return rewriteRefs(formula, func(_ string, r1, r2 *rowRef) {
		for _, r := range []*rowRef{r1, r2} {
			if r != nil && !r.abs {
				r.row += offset
			}
		}
	})
}

// widenBlock rewrites the references to sheet around a repeated row: ranges
// that end on row marked (and start on or above it) are widened to end on
// marked+count-1. With moveBelow, references below the repeated row also
// move down count-1 rows, which Fill leaves to excelize's InsertRows but
// Stream must do itself. self tells whether references without a sheet
// prefix point at sheet.
func widenBlock(formula, sheet string, self bool, marked, count int, moveBelow bool) string {
	if count < 1 {
		count = 1
	}
	return rewriteRefs(formula, func(prefix string, r1, r2 *rowRef) {
		if prefix == "" && !self || prefix != "" && vntext.NFC(prefix) != sheet {
			return
		}
		end := r1
		if r2 != nil {
			end = r2
		}
		widen := r2 != nil && r1.row <= marked && r2.row == marked
		if moveBelow {
			for _, r := range []*rowRef{r1, r2} {
				if r != nil && r.row > marked {
					r.row += count - 1
				}
			}
		}
		if widen {
			end.row = marked + count - 1
		}
	})
}

// chartFormula matches the cell references stored in a chart part, with
// the "c:" prefix Excel writes or the default namespace excelize writes.
var chartFormula = regexp.MustCompile(`<((?:c:)?f)>([^<]*)</(?:c:)?f>`)

// widenCharts rewrites the series references of every chart in the
// workbook for one sheet's repeated row.
func widenCharts(f *excelize.File, sheet string, marked, count int, moveBelow bool) {
	var parts []string
	f.Pkg.Range(func(k, _ any) bool {
		if name, ok := k.(string); ok && strings.HasPrefix(name, "xl/charts/chart") && strings.HasSuffix(name, ".xml") {
			parts = append(parts, name)
		}
		return true
	})
	for _, name := range parts {
		v, ok := f.Pkg.Load(name)
		if !ok {
			continue
		}
		content, ok := v.([]byte)
		if !ok {
			continue
		}
		changed := chartFormula.ReplaceAllFunc(content, func(m []byte) []byte {
			sub := chartFormula.FindSubmatch(m)
			inner := html.UnescapeString(string(sub[2]))
			out := widenBlock(inner, sheet, false, marked, count, moveBelow)
			if out == inner {
				return m
			}
			var b bytes.Buffer
			b.WriteString("<" + string(sub[1]) + ">")
			_ = xml.EscapeText(&b, []byte(out))
			b.WriteString("</" + string(sub[1]) + ">")
			return b.Bytes()
		})
		f.Pkg.Store(name, changed)
	}
}
