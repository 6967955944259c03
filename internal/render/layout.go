package render

import (
	"strconv"
	"strings"
	"unicode"

	"codeberg.org/go-pdf/fpdf"
)

// Page geometry in millimetres (Decree 30, Appendix I).
const (
	pageW        = 210.0
	pageH        = 297.0
	marginTop    = 20.0
	marginBottom = 20.0
	marginLeft   = 30.0
	marginRight  = 15.0
	textW        = pageW - marginLeft - marginRight

	mmPerPt = 25.4 / 72
	// Liberation Serif vertical metrics, in em.
	ascent  = 0.891
	descent = 0.216

	fontFamily = "LiberationSerif"
)

// Style bits of a text run.
const (
	bold   = 1
	italic = 2
)

// Horizontal alignment of a text block.
type align int

const (
	alignJustify align = iota
	alignLeft
	alignCenter
	alignRight
)

// span is a run of text in one style. A "\n" inside text is a hard break.
type span struct {
	text  string
	style int
}

// piece is a measured part of a word in one style.
type piece struct {
	text  string
	style int
	w     float64
}

// word is an unbreakable unit; its pieces may differ in style
// ("**Điều 1**." is a bold piece then a regular ".").
type word struct {
	pieces []piece
	w      float64
	brk    bool // hard line break, not a word
}

// line is one laid-out line of a text block.
type line struct {
	words  []word
	w      float64 // sum of word widths
	indent float64 // offset from the block's x
	last   bool    // last line of a paragraph or before a hard break: never justified
}

// textBlock is a paragraph-like block of styled text.
type textBlock struct {
	spans       []span
	size        float64 // points
	align       align
	first, rest float64 // indent of the first and following lines, mm
	spacing     float64 // line height factor
	before      float64 // space before, mm
	after       float64 // space after, mm
	keepNext    bool    // keep on one page with the start of the next block
	// noWidow keeps a paragraph's last line from holding a single word
	// when the line before has words to spare: a centred title ending in
	// "năm" over a lone "2026" reads badly.
	noWidow bool
}

func (tb textBlock) lineHeight() float64 {
	f := tb.spacing
	if f == 0 {
		f = 1.25
	}
	return tb.size * mmPerPt * f
}

// layout is the page cursor over an fpdf document.
type layout struct {
	pdf    *fpdf.Fpdf
	fonts  *fonts
	y      float64 // top of the next line, mm
	bottom float64 // lowest y content may reach on this page
	foot   float64 // height reserved at the foot of page 1
	footFn func()  // draws the page-1 foot
	// onBreak runs after a page break caused by ensure (table header repeat).
	onBreak func()
	// The font last selected in pdf.
	fontSet bool
	style   int
	size    float64
}

func styleString(s int) string {
	switch s {
	case bold:
		return "B"
	case italic:
		return "I"
	case bold | italic:
		return "BI"
	}
	return ""
}

// font selects style and size for drawing. fpdf does a fair amount of work
// on every SetFont, so an unchanged selection is skipped; fpdf keeps the
// selection across pages.
func (l *layout) font(style int, size float64) {
	if l.fontSet && l.style == style && l.size == size {
		return
	}
	l.pdf.SetFont(fontFamily, styleString(style), size)
	l.fontSet, l.style, l.size = true, style, size
}

func (l *layout) width(s string, style int, size float64) float64 {
	return l.fonts.width(s, style, size)
}

// newPage starts a page: page number in the top margin from page 2 on,
// the reserved foot on page 1.
func (l *layout) newPage() {
	l.pdf.AddPage()
	l.y = marginTop
	l.bottom = pageH - marginBottom
	n := l.pdf.PageNo()
	if n == 1 {
		l.bottom -= l.foot
		if l.footFn != nil {
			l.footFn()
		}
		return
	}
	const size = 14.0
	num := strconv.Itoa(n)
	w := l.width(num, 0, size)
	// Centred vertically in the top margin.
	base := marginTop/2 + (ascent-descent)/2*size*mmPerPt
	l.font(0, size)
	l.pdf.Text(marginLeft+(textW-w)/2, base, num)
}

// ensure starts a new page unless h millimetres fit below the cursor.
// It reports whether it broke the page.
func (l *layout) ensure(h float64) bool {
	if l.y+h <= l.bottom+0.01 || l.y <= marginTop+0.01 {
		return false
	}
	l.breakPage()
	return true
}

// breakPage continues on a new page, repeating the table header if one is
// being drawn.
func (l *layout) breakPage() {
	l.newPage()
	if l.onBreak != nil {
		l.onBreak()
	}
}

// atTop reports whether nothing has been drawn yet on the current page.
func (l *layout) atTop() bool { return l.y <= marginTop+0.01 }

// fits is the number of lines of height lh that fit below the cursor.
func (l *layout) fits(lh float64) int {
	return max(int((l.bottom+0.01-l.y)/lh), 0)
}

// words splits styled spans into measured words. Words break only at white
// space; a style change inside a word joins pieces.
func (l *layout) words(spans []span, size float64) []word {
	var out []word
	var cur word
	flush := func() {
		if len(cur.pieces) > 0 {
			out = append(out, cur)
		}
		cur = word{}
	}
	for _, sp := range spans {
		var b strings.Builder
		emit := func() {
			if b.Len() == 0 {
				return
			}
			t := b.String()
			b.Reset()
			p := piece{text: t, style: sp.style, w: l.width(t, sp.style, size)}
			cur.pieces = append(cur.pieces, p)
			cur.w += p.w
		}
		for _, r := range sp.text {
			switch {
			case r == '\n':
				emit()
				flush()
				out = append(out, word{brk: true})
			case unicode.IsSpace(r) && r != '\u00a0':
				emit()
				flush()
			default:
				b.WriteRune(r)
			}
		}
		emit()
	}
	flush()
	return out
}

// splitWord breaks a word wider than max into chunks that fit, rune by rune.
func (l *layout) splitWord(w word, max float64, size float64) []word {
	var out []word
	var cur word
	for _, p := range w.pieces {
		var b strings.Builder
		bw := 0.0
		emit := func() {
			if b.Len() > 0 {
				cur.pieces = append(cur.pieces, piece{text: b.String(), style: p.style, w: bw})
				cur.w += bw
				b.Reset()
				bw = 0
			}
		}
		for _, r := range p.text {
			rw := l.width(string(r), p.style, size)
			if cur.w+bw+rw > max && (cur.w+bw) > 0 {
				emit()
				out = append(out, cur)
				cur = word{}
			}
			b.WriteRune(r)
			bw += rw
		}
		emit()
	}
	if len(cur.pieces) > 0 {
		out = append(out, cur)
	}
	return out
}

// wrap breaks the block into lines for a column of width w.
func (l *layout) wrap(tb textBlock, w float64) []line {
	ws := l.words(tb.spans, tb.size)
	space := l.width(" ", 0, tb.size)
	var lines []line
	cur := line{indent: tb.first}
	avail := func() float64 { return w - cur.indent }
	push := func(last bool) {
		cur.last = last
		lines = append(lines, cur)
		cur = line{indent: tb.rest}
	}
	for _, wd := range ws {
		if wd.brk {
			push(true)
			continue
		}
		need := wd.w
		if len(cur.words) > 0 {
			need += space
		}
		if cur.w+float64(len(cur.words))*space+need <= avail()+1e-6 {
			cur.words = append(cur.words, wd)
			cur.w += wd.w
			continue
		}
		if len(cur.words) > 0 {
			push(false)
		}
		if wd.w > avail() {
			parts := l.splitWord(wd, avail(), tb.size)
			for i, p := range parts {
				cur.words = append(cur.words, p)
				cur.w += p.w
				if i < len(parts)-1 {
					push(false)
				}
			}
			continue
		}
		cur.words = append(cur.words, wd)
		cur.w += wd.w
	}
	if len(cur.words) > 0 || len(lines) == 0 {
		push(true)
	}
	if tb.noWidow {
		unwidow(lines, w, space)
	}
	return lines
}

// unwidow moves the last word of the line before a one-word last line down
// to it, when that line keeps two words or more and both still fit. A line
// ended by an explicit break is left alone.
func unwidow(lines []line, w, space float64) {
	n := len(lines)
	if n < 2 {
		return
	}
	last, prev := &lines[n-1], &lines[n-2]
	if len(last.words) != 1 || prev.last || len(prev.words) < 3 {
		return
	}
	wd := prev.words[len(prev.words)-1]
	if last.w+wd.w+space > w-last.indent+1e-6 {
		return
	}
	prev.words = prev.words[:len(prev.words)-1]
	prev.w -= wd.w
	last.words = append([]word{wd}, last.words...)
	last.w += wd.w
}

// drawLine draws ln with its top at y in a column starting at x of width w.
func (l *layout) drawLine(ln line, x, y, w float64, tb textBlock) {
	s := tb.size * mmPerPt
	base := y + (tb.lineHeight()-(ascent+descent)*s)/2 + ascent*s
	space := l.width(" ", 0, tb.size)
	avail := w - ln.indent
	natural := ln.w + float64(max(len(ln.words)-1, 0))*space
	gap := space
	cx := x + ln.indent
	switch tb.align {
	case alignJustify:
		if !ln.last && len(ln.words) > 1 {
			gap = (avail - ln.w) / float64(len(ln.words)-1)
		}
	case alignCenter:
		cx += (avail - natural) / 2
	case alignRight:
		cx += avail - natural
	}
	for i, wd := range ln.words {
		if i > 0 {
			cx += gap
		}
		for _, p := range wd.pieces {
			l.font(p.style, tb.size)
			l.pdf.Text(cx, base, p.text)
			cx += p.w
		}
	}
}

// flowAt lays a text block out across pages in the column [x, x+w].
// keep is extra height that must fit below the block's first lines
// (the start of the next block, for headings).
//
// A paragraph split by a page break leaves at least two lines at the foot
// of the page and carries at least two to the next (no orphan, no widow);
// a paragraph that cannot be split so moves to the next page whole.
func (l *layout) flowAt(tb textBlock, x, w, keep float64) {
	lines := l.wrap(tb, w)
	lh := tb.lineHeight()
	if !l.atTop() {
		l.y += tb.before
	}
	if tb.keepNext {
		l.ensure(lh*float64(len(lines)) + keep)
	}
	for i := 0; i < len(lines); {
		rest := len(lines) - i
		take := min(rest, l.fits(lh))
		if take < rest {
			if rest-take == 1 {
				take-- // widow: carry a second line along
			}
			if i == 0 && take < 2 {
				take = 0 // orphan: start on the next page
			}
		}
		if take == 0 {
			if !l.atTop() {
				l.breakPage()
				continue
			}
			// A page that cannot hold two lines: draw what fits, at least
			// one line, rather than loop.
			take = min(rest, max(l.fits(lh), 1))
		}
		for range take {
			l.drawLine(lines[i], x, l.y, w, tb)
			l.y += lh
			i++
		}
		if i < len(lines) {
			l.breakPage()
		}
	}
	l.y += tb.after
}

// height is the height of a block laid out at width w, without spacing.
func (l *layout) height(tb textBlock, w float64) float64 {
	return float64(len(l.wrap(tb, w))) * tb.lineHeight()
}

// place draws a block at a fixed position without page breaks and returns
// the y below it.
func (l *layout) place(tb textBlock, x, y, w float64) float64 {
	for _, ln := range l.wrap(tb, w) {
		l.drawLine(ln, x, y, w, tb)
		y += tb.lineHeight()
	}
	return y
}

// widest is the width of the widest line of the block at width w.
func (l *layout) widest(tb textBlock, w float64) float64 {
	space := l.width(" ", 0, tb.size)
	m := 0.0
	for _, ln := range l.wrap(tb, w) {
		m = max(m, ln.w+float64(max(len(ln.words)-1, 0))*space)
	}
	return m
}

// plain returns a one-span slice.
func plain(s string, style int) []span { return []span{{text: s, style: style}} }

// upper upper-cases the text of spans (Vietnamese letters included).
func upper(spans []span) []span {
	out := make([]span, len(spans))
	for i, s := range spans {
		out[i] = span{text: strings.ToUpper(s.text), style: s.style}
	}
	return out
}

// spansText joins the text of spans.
func spansText(spans []span) string {
	var b strings.Builder
	for _, s := range spans {
		b.WriteString(s.text)
	}
	return b.String()
}
