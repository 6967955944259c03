package render

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/yuin/goldmark"
	gast "github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"

	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/vntext"
)

// Body layout constants.
const (
	bodySize    = 14.0
	tableSize   = 13.0
	firstIndent = 12.7 // 1.27 cm
	paraAfter   = 6 * mmPerPt
)

// block is one body element: a text block, a table or a chart.
type block struct {
	text  textBlock
	table *table
	chart *chart
}

// table is a Markdown table: header row, body rows, column alignments.
type table struct {
	header [][]span
	rows   [][][]span
	aligns []align
	// widths are the column widths once measured: a table kept with the
	// paragraph before it is measured for that too.
	widths []float64
}

// pointLetters is the Vietnamese alphabet used for points "a)", "b)", …
// in administrative and legal texts: đ follows d; f, j, w, z are unused.
var pointLetters = []string{"a", "b", "c", "d", "đ", "e", "g", "h", "i", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v", "x", "y"}

func pointLabel(i int) string {
	n := len(pointLetters)
	if i < n {
		return pointLetters[i] + ")"
	}
	return pointLetters[i/n-1] + pointLetters[i%n] + ")"
}

// numbered matches a heading that carries its own number: "1.", "II.", "2)".
var numbered = regexp.MustCompile(`^([0-9]+|[IVXLC]+)[.)]\s`)

// parseBody turns the Markdown body into blocks and appends "./." to the
// last text block. It also reports the malformed tables that goldmark
// silently prints as text (see checkTables) and malformed chart blocks
// (see parseChart).
func parseBody(src string) ([]block, []vanthu.Problem) {
	source := []byte(src)
	md := goldmark.New(goldmark.WithExtensions(extension.Table))
	doc := md.Parser().Parse(text.NewReader(source))
	problems := checkTables(doc, source)
	c := &converter{source: source}
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		c.block(n, 0)
	}
	endMark(&c.blocks)
	return c.blocks, append(problems, c.problems...)
}

// checkTables reports what the GFM table extension silently accepts but an
// author did not mean: a line starting with "|" that is left in a
// paragraph (a wrong delimiter row, or a header whose cell count differs
// from it), and a body row with more cells than the header (the extra
// cells would be dropped). Lines are 1-based lines of the body.
func checkTables(doc gast.Node, source []byte) []vanthu.Problem {
	var ps []vanthu.Problem
	lineOf := func(pos int) int { return 1 + bytes.Count(source[:pos], []byte("\n")) }
	_ = gast.Walk(doc, func(n gast.Node, entering bool) (gast.WalkStatus, error) {
		if !entering {
			return gast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *gast.Paragraph:
			lines := n.Lines()
			for i := 0; i < lines.Len(); i++ {
				seg := lines.At(i)
				if bytes.HasPrefix(bytes.TrimLeft(seg.Value(source), " \t"), []byte("|")) {
					ps = append(ps, vanthu.Problem{Field: "body", Line: lineOf(seg.Start),
						Message: "Bảng không hợp lệ: dòng bắt đầu bằng “|” nhưng không thuộc bảng nào; dòng thứ hai của bảng phải là dòng phân cách (|---|---|) có số cột bằng dòng tiêu đề."})
					// One problem per paragraph: the following rows share the cause.
					break
				}
			}
			return gast.WalkSkipChildren, nil
		case *east.Table:
			cols := len(n.Alignments)
			for r := n.FirstChild(); r != nil; r = r.NextSibling() {
				row, ok := r.(*east.TableRow)
				if !ok {
					continue
				}
				if cells := countCells(source, row.Pos()); cells > cols {
					ps = append(ps, vanthu.Problem{Field: "body", Line: lineOf(row.Pos()),
						Message: fmt.Sprintf("Bảng không hợp lệ: dòng có %d ô, nhiều hơn %d cột của dòng tiêu đề.", cells, cols)})
				}
			}
			return gast.WalkSkipChildren, nil
		}
		return gast.WalkContinue, nil
	})
	return ps
}

// countCells counts the cells of the table row starting at byte pos the
// way the GFM table extension splits them: outer pipes are optional and an
// escaped pipe "\|" does not separate cells.
func countCells(source []byte, pos int) int {
	line := source[pos:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimSpace(line)
	line = bytes.TrimPrefix(line, []byte("|"))
	if len(line) > 0 && line[len(line)-1] == '|' {
		line = line[:len(line)-1]
	}
	if len(line) == 0 {
		return 0
	}
	n := 1
	for i, c := range line {
		if c == '|' && (i == 0 || line[i-1] != '\\') {
			n++
		}
	}
	return n
}

// endMark ends the body with "./." (Decree 30): on the last paragraph, or
// as a line of its own after a final table.
func endMark(blocks *[]block) {
	bs := *blocks
	if len(bs) > 0 && bs[len(bs)-1].table == nil && bs[len(bs)-1].chart == nil && len(bs[len(bs)-1].text.spans) > 0 {
		tb := &bs[len(bs)-1].text
		last := &tb.spans[len(tb.spans)-1]
		t := strings.TrimRight(spansText(tb.spans), " \t\n")
		switch {
		case strings.HasSuffix(t, "./."):
		case strings.HasSuffix(t, "."):
			last.text = strings.TrimRight(last.text, " \t\n") + "/."
		default:
			last.text = strings.TrimRight(last.text, " \t\n") + "./."
		}
		return
	}
	*blocks = append(bs, block{text: textBlock{spans: plain("./.", 0), size: bodySize, align: alignLeft, first: firstIndent, after: paraAfter}})
}

type converter struct {
	source   []byte
	blocks   []block
	sections int              // counter of "###" headings without their own number
	problems []vanthu.Problem // malformed chart blocks
}

func (c *converter) para(spans []span, tb textBlock) {
	if len(spans) == 0 {
		return
	}
	tb.spans = spans
	if tb.size == 0 {
		tb.size = bodySize
	}
	c.blocks = append(c.blocks, block{text: tb})
}

func (c *converter) block(n gast.Node, depth int) {
	switch n := n.(type) {
	case *gast.Heading:
		spans := c.inline(n, 0)
		switch n.Level {
		case 1:
			c.sections = 0
			c.para(upper(withStyle(spans, bold)), textBlock{align: alignCenter, before: paraAfter, after: paraAfter, keepNext: true})
		case 2:
			c.sections = 0
			c.para(withStyle(spans, bold), textBlock{align: alignCenter, before: paraAfter, after: paraAfter, keepNext: true})
		case 3:
			if !numbered.MatchString(spansText(spans)) {
				c.sections++
				spans = append([]span{{text: strconv.Itoa(c.sections) + ". ", style: 0}}, spans...)
			}
			c.para(withStyle(spans, bold), textBlock{align: alignJustify, first: firstIndent, after: paraAfter, keepNext: true})
		default:
			c.para(withStyle(spans, bold|italic), textBlock{align: alignJustify, first: firstIndent, after: paraAfter, keepNext: true})
		}
	case *gast.Paragraph, *gast.TextBlock:
		spans := c.inline(n, 0)
		// A paragraph ending in a colon introduces what follows (a
		// caption over a chart, "như sau:" over a list): keep it with it.
		c.para(spans, textBlock{align: alignJustify, first: firstIndent + float64(depth)*firstIndent, after: paraAfter, keepNext: endsWithColon(spans)})
	case *gast.List:
		i := n.Start - 1
		if i < 0 {
			i = 0
		}
		for item := n.FirstChild(); item != nil; item = item.NextSibling() {
			label := "-"
			if n.IsOrdered() {
				label = pointLabel(i)
			}
			i++
			first := true
			for ch := item.FirstChild(); ch != nil; ch = ch.NextSibling() {
				switch ch.(type) {
				case *gast.Paragraph, *gast.TextBlock:
					spans := c.inline(ch, 0)
					if first {
						spans = append([]span{{text: label + " "}}, spans...)
						first = false
					}
					c.para(spans, textBlock{align: alignJustify, first: firstIndent * float64(depth+1), after: paraAfter})
				default:
					c.block(ch, depth+1)
				}
			}
		}
	case *gast.Blockquote:
		for ch := n.FirstChild(); ch != nil; ch = ch.NextSibling() {
			if p, ok := ch.(*gast.Paragraph); ok {
				c.para(withStyle(c.inline(p, 0), italic), textBlock{align: alignJustify, first: firstIndent, after: paraAfter})
				continue
			}
			c.block(ch, depth)
		}
	case *gast.FencedCodeBlock, *gast.CodeBlock:
		if fc, ok := n.(*gast.FencedCodeBlock); ok && string(fc.Language(c.source)) == "chart" {
			lineOf := func(pos int) int { return 1 + bytes.Count(c.source[:pos], []byte("\n")) }
			ch, ps := parseChart(fc, c.source, lineOf)
			c.problems = append(c.problems, ps...)
			if len(ch.rows) > 0 {
				c.blocks = append(c.blocks, block{chart: ch})
			}
			return
		}
		lines := n.Lines()
		var b strings.Builder
		for i := 0; i < lines.Len(); i++ {
			seg := lines.At(i)
			b.Write(seg.Value(c.source))
		}
		c.para(plain(strings.TrimRight(b.String(), "\n"), 0), textBlock{align: alignLeft, after: paraAfter})
	case *east.Table:
		c.table(n)
	case *gast.ThematicBreak, *gast.HTMLBlock:
		// Not part of an administrative document: raw HTML is never printed.
	default:
		for ch := n.FirstChild(); ch != nil; ch = ch.NextSibling() {
			c.block(ch, depth)
		}
	}
}

func (c *converter) table(n *east.Table) {
	t := &table{}
	for _, a := range n.Alignments {
		switch a {
		case east.AlignCenter:
			t.aligns = append(t.aligns, alignCenter)
		case east.AlignRight:
			t.aligns = append(t.aligns, alignRight)
		default:
			t.aligns = append(t.aligns, alignLeft)
		}
	}
	for r := n.FirstChild(); r != nil; r = r.NextSibling() {
		var row [][]span
		for cell := r.FirstChild(); cell != nil; cell = cell.NextSibling() {
			row = append(row, c.inline(cell, 0))
		}
		if _, ok := r.(*east.TableHeader); ok {
			t.header = row
			continue
		}
		t.rows = append(t.rows, row)
	}
	cols := len(t.header)
	for _, r := range t.rows {
		cols = max(cols, len(r))
	}
	for len(t.aligns) < cols {
		t.aligns = append(t.aligns, alignLeft)
	}
	c.blocks = append(c.blocks, block{table: t})
}

// inline collects the styled text under n.
func (c *converter) inline(n gast.Node, style int) []span {
	var out []span
	add := func(s string, st int) {
		if s == "" {
			return
		}
		if k := len(out) - 1; k >= 0 && out[k].style == st {
			out[k].text += s
			return
		}
		out = append(out, span{text: s, style: st})
	}
	var walk func(n gast.Node, st int)
	walk = func(n gast.Node, st int) {
		for ch := n.FirstChild(); ch != nil; ch = ch.NextSibling() {
			switch ch := ch.(type) {
			case *gast.Text:
				v := ch.Value(c.source)
				if !ch.IsRaw() {
					// What goldmark's HTML writer does: "\*" → "*", "&amp;" → "&".
					v = util.ResolveEntityNames(util.ResolveNumericReferences(util.UnescapePunctuations(v)))
				}
				add(vntext.NFC(string(v)), st)
				switch {
				case ch.HardLineBreak():
					add("\n", st)
				case ch.SoftLineBreak():
					add(" ", st)
				}
			case *gast.String:
				add(string(ch.Value), st)
			case *gast.Emphasis:
				if ch.Level >= 2 {
					walk(ch, st|bold)
				} else {
					walk(ch, st|italic)
				}
			case *gast.AutoLink:
				add(string(ch.Label(c.source)), st)
			case *gast.RawHTML, *gast.Image:
				// Raw HTML and images are not printed.
			default:
				walk(ch, st)
			}
		}
	}
	walk(n, style)
	// Trim the paragraph's outer white space.
	if len(out) > 0 {
		out[0].text = strings.TrimLeft(out[0].text, " ")
		out[len(out)-1].text = strings.TrimRight(out[len(out)-1].text, " \n")
	}
	return out
}

// withStyle adds style bits to every span.
func withStyle(spans []span, st int) []span {
	out := make([]span, len(spans))
	for i, s := range spans {
		out[i] = span{text: s.text, style: s.style | st}
	}
	return out
}

// endsWithColon reports whether the text of spans ends in ':'.
func endsWithColon(spans []span) bool {
	for i := len(spans) - 1; i >= 0; i-- {
		if t := strings.TrimRight(spans[i].text, " \t\n"); t != "" {
			return strings.HasSuffix(t, ":")
		}
	}
	return false
}
