package render

// Table cell geometry, mm.
const (
	cellPadX = 1.5
	cellPadY = 1.0
	ruleW    = 0.2
)

// tableCell builds the text block of one cell.
func tableCell(spans []span, a align, header bool) textBlock {
	if header {
		return textBlock{spans: withStyle(spans, bold), size: tableSize, align: alignCenter, spacing: 1.15}
	}
	return textBlock{spans: spans, size: tableSize, align: a, spacing: 1.15}
}

// columnWidths shares the text width between columns: each gets at least
// its longest word, the rest goes in proportion to the text it holds.
func (l *layout) columnWidths(t *table) []float64 {
	n := len(t.aligns)
	natural := make([]float64, n)
	minimum := make([]float64, n)
	measure := func(row [][]span, header bool) {
		for i, cell := range row {
			tb := tableCell(cell, alignLeft, header)
			for _, w := range l.words(tb.spans, tb.size) {
				minimum[i] = max(minimum[i], w.w+2*cellPadX)
			}
			natural[i] = max(natural[i], l.widest(tb, 1e6)+2*cellPadX)
		}
	}
	measure(t.header, true)
	for _, r := range t.rows {
		measure(r, false)
	}
	sum := func(v []float64) (s float64) {
		for _, x := range v {
			s += x
		}
		return s
	}
	out := make([]float64, n)
	switch sn, sm := sum(natural), sum(minimum); {
	case sn <= textW:
		for i := range out {
			out[i] = natural[i] * textW / sn
		}
	case sm <= textW:
		extra := textW - sm
		for i := range out {
			out[i] = minimum[i] + extra*(natural[i]-minimum[i])/(sn-sm)
		}
	default:
		for i := range out {
			out[i] = minimum[i] * textW / sm
		}
	}
	return out
}

// drawTable lays a table out across pages; the header row is repeated at
// the top of each page the table continues on. A row moves to the next page
// whole when it fits there; a row taller than a page is split between
// lines, its cells continuing on the next page.
func (l *layout) drawTable(t *table) {
	widths, header, rows := l.layTable(t, -1)
	// room is the height a row may take on a page of its own, under the
	// repeated header.
	room := pageH - marginBottom - marginTop
	if header != nil {
		room -= header.height(0, header.lines)
		l.ensure(tableLead(header, rows))
		l.drawRow(widths, *header, 0, header.lines)
		l.onBreak = func() { l.drawRow(widths, *header, 0, header.lines) }
	}
	for _, r := range rows {
		if r.height(0, r.lines) <= room+0.01 {
			l.ensure(r.height(0, r.lines))
			l.drawRow(widths, r, 0, r.lines)
			continue
		}
		// Taller than a page: fill this page if two lines fit, then go on
		// page by page.
		for from := 0; from < r.lines; {
			n := max(int((l.bottom+0.01-l.y-2*cellPadY)/r.lh), 0)
			if n < min(2, r.lines-from) && !l.atTop() {
				l.breakPage()
				continue
			}
			to := min(r.lines, from+max(n, 1))
			l.drawRow(widths, r, from, to)
			from = to
			if from < r.lines {
				l.breakPage()
			}
		}
	}
	l.onBreak = nil
	l.y += paraAfter
}

// layTable breaks the cells of t into lines for its column widths: the
// header and the first n rows, all of them when n < 0.
func (l *layout) layTable(t *table, n int) ([]float64, *laidRow, []laidRow) {
	if t.widths == nil {
		t.widths = l.columnWidths(t)
	}
	widths := t.widths
	lay := func(row [][]span, header bool) laidRow {
		var r laidRow
		for i, w := range widths {
			var spans []span
			if i < len(row) {
				spans = row[i]
			}
			tb := tableCell(spans, t.aligns[i], header)
			ls := l.wrap(tb, w-2*cellPadX)
			r.cells = append(r.cells, ls)
			r.tbs = append(r.tbs, tb)
			r.lines = max(r.lines, len(ls))
		}
		r.lh = r.tbs[0].lineHeight()
		return r
	}
	var header *laidRow
	if len(t.header) > 0 {
		h := lay(t.header, true)
		header = &h
	}
	body := t.rows
	if n >= 0 && n < len(body) {
		body = body[:n]
	}
	rows := make([]laidRow, len(body))
	for i, r := range body {
		rows[i] = lay(r, false)
	}
	return widths, header, rows
}

// tableLead is the height a table needs on the page it starts on: its
// header and the first row, or the first two lines of a taller one.
func tableLead(header *laidRow, rows []laidRow) float64 {
	h := 0.0
	if header != nil {
		h = header.height(0, header.lines)
	}
	if len(rows) > 0 {
		h += min(rows[0].height(0, rows[0].lines), rows[0].height(0, 2))
	}
	return h
}

// laidRow is a table row broken into lines, cell by cell.
type laidRow struct {
	cells [][]line
	tbs   []textBlock
	lines int     // lines of the tallest cell, at least 1
	lh    float64 // line height
}

// height is the height of the row part holding lines [from, to).
func (r laidRow) height(from, to int) float64 {
	return float64(max(to-from, 1))*r.lh + 2*cellPadY
}

// drawRow draws lines [from, to) of every cell of r at the cursor, framed,
// and moves the cursor below it.
func (l *layout) drawRow(widths []float64, r laidRow, from, to int) {
	h := r.height(from, to)
	l.pdf.SetLineWidth(ruleW)
	x := marginLeft
	for i, w := range widths {
		l.pdf.Rect(x, l.y, w, h, "D")
		y := l.y + cellPadY
		for k := from; k < min(to, len(r.cells[i])); k++ {
			l.drawLine(r.cells[i][k], x+cellPadX, y, w-2*cellPadX, r.tbs[i])
			y += r.tbs[i].lineHeight()
		}
		x += w
	}
	l.y += h
}
