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

// drawTable lays a table out across pages; a row never splits, and the
// header row is repeated at the top of each page the table continues on.
func (l *layout) drawTable(t *table) {
	widths := l.columnWidths(t)
	type laidRow struct {
		cells [][]line
		tbs   []textBlock
		h     float64
	}
	lay := func(row [][]span, header bool) laidRow {
		var r laidRow
		lines := 1
		for i, w := range widths {
			var spans []span
			if i < len(row) {
				spans = row[i]
			}
			tb := tableCell(spans, t.aligns[i], header)
			ls := l.wrap(tb, w-2*cellPadX)
			r.cells = append(r.cells, ls)
			r.tbs = append(r.tbs, tb)
			lines = max(lines, len(ls))
		}
		r.h = float64(lines)*r.tbs[0].lineHeight() + 2*cellPadY
		return r
	}
	draw := func(r laidRow) {
		l.pdf.SetLineWidth(ruleW)
		x := marginLeft
		for i, w := range widths {
			l.pdf.Rect(x, l.y, w, r.h, "D")
			y := l.y + cellPadY
			for _, ln := range r.cells[i] {
				l.drawLine(ln, x+cellPadX, y, w-2*cellPadX, r.tbs[i])
				y += r.tbs[i].lineHeight()
			}
			x += w
		}
		l.y += r.h
	}
	var header *laidRow
	if len(t.header) > 0 {
		h := lay(t.header, true)
		header = &h
	}
	rows := make([]laidRow, len(t.rows))
	for i, r := range t.rows {
		rows[i] = lay(r, false)
	}
	if header != nil {
		first := 0.0
		if len(rows) > 0 {
			first = rows[0].h
		}
		l.ensure(header.h + first)
		draw(*header)
		l.onBreak = func() { draw(*header) }
	}
	for _, r := range rows {
		l.ensure(r.h)
		draw(r)
	}
	l.onBreak = nil
	l.y += paraAfter
}
