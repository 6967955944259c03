package render

import (
	"fmt"
	"strconv"
	"strings"

	gast "github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/util"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/vntext"
)

// A horizontal bar chart is written in the body as a fenced block with the
// info string "chart" (a report's violations by type, for instance):
//
//	```chart
//	# Quý này | Quý trước
//	Vắng không có lý do | 28 | 35
//	Đi muộn, về sớm | 17 | 21
//	```
//
// The optional first line, starting with "#", names the series for the
// legend. Every other non-blank line is "Label | value" or
// "Label | value | value": one or two series, the same number on every
// line. Values are non-negative numbers written the Vietnamese way
// ("1.234", "12,5") and are printed at the bar ends as written. Bars are
// scaled so that the largest value spans the room left by the labels.

// Chart geometry.
const (
	chartLabelSize = 12.0 // labels, legend
	chartValueSize = 11.0 // numbers at the bar ends
	chartBarH      = 4.2  // mm, one bar
	chartBarGap    = 0.6  // mm, between the bars of one label
	chartRowPad    = 1.4  // mm, above and below a label's bars
	chartGap       = 3.0  // mm, between labels and the axis
	chartSwatch    = 3.5  // mm, legend colour square
)

// chartColors fill the bars of the first and second series: a dark and a
// light blue that stay distinct when printed in grey.
var chartColors = [2][3]int{{47, 85, 151}, {157, 195, 230}}

// chart is a parsed chart block.
type chart struct {
	series []string // legend names; empty when the block has no legend line
	rows   []chartRow
	n      int // values per row: 1 or 2
}

// chartRow is one label with its values and their printed forms.
type chartRow struct {
	label  string
	values []float64
	texts  []string
}

// chartValue parses a non-negative number written the Vietnamese way:
// "." groups thousands (in threes), "," is the decimal mark: "1.234",
// "1234", "12,5".
func chartValue(s string) (float64, bool) {
	intPart, frac, hasFrac := strings.Cut(s, ",")
	if intPart == "" || hasFrac && (frac == "" || strings.Trim(frac, "0123456789") != "") {
		return 0, false
	}
	groups := strings.Split(intPart, ".")
	for i, g := range groups {
		if g == "" || strings.Trim(g, "0123456789") != "" || i > 0 && len(g) != 3 || i == 0 && len(groups) > 1 && len(g) > 3 {
			return 0, false
		}
	}
	num := strings.Join(groups, "")
	if hasFrac {
		num += "." + frac
	}
	v, err := strconv.ParseFloat(num, 64)
	return v, err == nil
}

// chartCells splits a chart line at the "|" that are not escaped and
// resolves Markdown backslash escapes in each cell, so that a label
// escaped by the template engine ("Phường 1 \| 2") prints as typed.
func chartCells(line string) []string {
	var cells []string
	start := 0
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++ // the escaped character is not a separator
		case '|':
			cells = append(cells, line[start:i])
			start = i + 1
		}
	}
	cells = append(cells, line[start:])
	for i, c := range cells {
		cells[i] = string(util.UnescapePunctuations([]byte(c)))
	}
	return cells
}

// parseChart reads a chart block. Problems name the 1-based line of the
// body, like the table checks.
func parseChart(n *gast.FencedCodeBlock, source []byte, lineOf func(int) int) (*chart, []vanthu.Problem) {
	ch := &chart{}
	var ps []vanthu.Problem
	bad := func(pos int, msg string) {
		ps = append(ps, vanthu.Problem{Field: "body", Line: lineOf(pos), Message: "Biểu đồ không hợp lệ: " + msg})
	}
	lines := n.Lines()
	for i := 0; i < lines.Len(); i++ {
		seg := lines.At(i)
		text := strings.TrimSpace(vntext.NFC(string(seg.Value(source))))
		if text == "" {
			continue
		}
		if legend, ok := strings.CutPrefix(text, "#"); ok {
			if len(ch.rows) > 0 || ch.series != nil {
				bad(seg.Start, "dòng chú giải (bắt đầu bằng “#”) chỉ được đặt ở đầu biểu đồ.")
				continue
			}
			for _, s := range chartCells(legend) {
				ch.series = append(ch.series, strings.TrimSpace(s))
			}
			if len(ch.series) > 2 {
				bad(seg.Start, fmt.Sprintf("chú giải có %d dãy số, tối đa là 2.", len(ch.series)))
			}
			continue
		}
		cells := chartCells(text)
		label := strings.TrimSpace(cells[0])
		if len(cells) < 2 || len(cells) > 3 || label == "" {
			bad(seg.Start, "mỗi dòng phải có dạng “Tên | số” hoặc “Tên | số | số”.")
			continue
		}
		row := chartRow{label: label}
		ok := true
		for _, c := range cells[1:] {
			c = strings.TrimSpace(c)
			v, good := chartValue(c)
			if !good {
				bad(seg.Start, fmt.Sprintf("“%s” không phải là số không âm (viết 1.234 hoặc 12,5).", c))
				ok = false
				break
			}
			row.values = append(row.values, v)
			row.texts = append(row.texts, c)
		}
		if !ok {
			continue
		}
		if ch.n == 0 {
			ch.n = len(row.values)
		} else if len(row.values) != ch.n {
			bad(seg.Start, fmt.Sprintf("dòng có %d số, các dòng trên có %d.", len(row.values), ch.n))
			continue
		}
		ch.rows = append(ch.rows, row)
	}
	if len(ch.rows) == 0 && len(ps) == 0 {
		bad(n.Info.Segment.Start, "biểu đồ không có dòng số liệu nào (dạng “Tên | số”).")
	}
	if ch.series != nil && ch.n > 0 && len(ch.series) != ch.n && len(ch.series) <= 2 {
		bad(n.Info.Segment.Start, fmt.Sprintf("chú giải có %d tên nhưng mỗi dòng có %d số.", len(ch.series), ch.n))
	}
	return ch, ps
}

// chartLayout is the geometry of a chart at the page width.
type chartLayout struct {
	labelW, barX, barMax, scale float64
	labels                      [][]line
	rowH                        []float64
	legendH                     float64
}

// height is the whole chart's: legend and rows.
func (cl chartLayout) height() float64 {
	h := cl.legendH
	for _, r := range cl.rowH {
		h += r
	}
	return h
}

func (l *layout) measureChart(ch *chart) chartLayout {
	var cl chartLayout
	labelTB := textBlock{size: chartLabelSize, align: alignLeft, spacing: 1.15}
	widest, valueW, top := 0.0, 0.0, 0.0
	for _, r := range ch.rows {
		widest = max(widest, l.width(r.label, 0, chartLabelSize))
		for i, t := range r.texts {
			valueW = max(valueW, l.width(t, 0, chartValueSize))
			top = max(top, r.values[i])
		}
	}
	cl.labelW = min(widest+0.5, textW*0.4)
	cl.barX = marginLeft + cl.labelW + chartGap
	cl.barMax = marginLeft + textW - cl.barX - valueW - 1.5
	if top > 0 {
		cl.scale = cl.barMax / top
	}
	group := float64(ch.n)*chartBarH + float64(ch.n-1)*chartBarGap
	for _, r := range ch.rows {
		tb := labelTB
		tb.spans = plain(r.label, 0)
		ls := l.wrap(tb, cl.labelW)
		cl.labels = append(cl.labels, ls)
		cl.rowH = append(cl.rowH, max(float64(len(ls))*tb.lineHeight(), group)+2*chartRowPad)
	}
	if len(ch.series) > 0 {
		cl.legendH = textBlock{size: chartLabelSize}.lineHeight() + 2
	}
	return cl
}

// drawChart draws a chart at the cursor, on one page when it fits one.
func (l *layout) drawChart(ch *chart) {
	cl := l.measureChart(ch)
	l.ensure(cl.height())
	if len(ch.series) > 0 {
		l.chartLegend(ch.series)
	}
	labelTB := textBlock{size: chartLabelSize, align: alignLeft, spacing: 1.15}
	vs := chartValueSize * mmPerPt
	for i, r := range ch.rows {
		h := cl.rowH[i]
		l.ensure(h)
		top := l.y
		lh := labelTB.lineHeight()
		ly := top + (h-float64(len(cl.labels[i]))*lh)/2
		for _, ln := range cl.labels[i] {
			l.drawLine(ln, marginLeft, ly, cl.labelW, labelTB)
			ly += lh
		}
		group := float64(ch.n)*chartBarH + float64(ch.n-1)*chartBarGap
		by := top + (h-group)/2
		for k, v := range r.values {
			w := v * cl.scale
			c := chartColors[k%2]
			if w > 0 {
				l.pdf.SetFillColor(c[0], c[1], c[2])
				l.pdf.Rect(cl.barX, by, w, chartBarH, "F")
			}
			l.font(0, chartValueSize)
			l.pdf.Text(cl.barX+w+1, by+chartBarH/2+(ascent-descent)/2*vs, r.texts[k])
			by += chartBarH + chartBarGap
		}
		// The axis, drawn row by row so that it follows a page break.
		l.pdf.SetLineWidth(ruleW)
		l.pdf.Line(cl.barX, top, cl.barX, top+h)
		l.y += h
	}
	l.pdf.SetFillColor(0, 0, 0)
	l.y += paraAfter
}

// chartLegend draws the series names, each after its colour, centred.
func (l *layout) chartLegend(names []string) {
	const sep = 6.0
	s := chartLabelSize * mmPerPt
	total := 0.0
	for i, n := range names {
		if i > 0 {
			total += sep
		}
		total += chartSwatch + 1.5 + l.width(n, 0, chartLabelSize)
	}
	x := marginLeft + max((textW-total)/2, 0)
	lh := textBlock{size: chartLabelSize}.lineHeight()
	base := l.y + (lh-(ascent+descent)*s)/2 + ascent*s
	for i, n := range names {
		c := chartColors[i%2]
		l.pdf.SetFillColor(c[0], c[1], c[2])
		l.pdf.Rect(x, l.y+(lh-chartSwatch)/2, chartSwatch, chartSwatch, "F")
		x += chartSwatch + 1.5
		l.font(0, chartLabelSize)
		l.pdf.Text(x, base, n)
		x += l.width(n, 0, chartLabelSize) + sep
	}
	l.y += lh + 2
}
