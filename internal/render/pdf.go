package render

import (
	"bytes"
	"fmt"
	"strings"
	"sync"

	"codeberg.org/go-pdf/fpdf"
)

// Frame geometry, mm.
const (
	headerLeftW = textW * 0.4  // boxes 2, 3, 5b, 10b
	signLeftW   = textW * 0.45 // Nơi nhận column; the signature takes the rest
	hdrSpacing  = 1.15         // line height factor of header and signature lines
	sealSize    = 36.0         // a real-size round seal is about 35–40 mm
	sigMaxW     = 45.0
	sigMaxH     = 24.0
	sigSpace    = 28.0 // room left for a hand or digital signature
)

// producer is fixed so that the bytes depend only on the document.
const producer = "vanthu"

// Renderer lays documents out as PDF. It prepares the fonts once, which
// is most of the fixed cost of a document; build one per process with
// NewRenderer and share it. A Renderer is safe for concurrent use.
type Renderer struct {
	fonts *fonts
}

// NewRenderer prepares the fonts (a few tens of milliseconds).
func NewRenderer() *Renderer {
	return &Renderer{fonts: newFonts()}
}

// shared is the Renderer behind PDF, built on first use.
var shared = sync.OnceValue(NewRenderer)

// PDF renders d with a Renderer shared by the process; see Renderer.PDF.
func PDF(d Document) ([]byte, error) {
	return shared().PDF(d)
}

// PDF validates d and lays it out as an A4 PDF in the Decree 30 format.
// The same document gives the same bytes. A validation failure is a
// vanthu.Invalid error; anything else is an internal error.
func (r *Renderer) PDF(d Document) ([]byte, error) {
	blocks, err := d.validate()
	if err != nil {
		return nil, err
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetMargins(marginLeft, marginTop, marginRight)
	pdf.SetAutoPageBreak(false, marginBottom)
	pdf.SetCreationDate(d.Date)
	pdf.SetModificationDate(d.Date)
	pdf.SetCatalogSort(true)
	pdf.SetProducer(producer, true)
	pdf.SetCreator(producer, true)
	pdf.SetTitle(strings.TrimSpace(d.TypeName+" "+d.Subject), true)
	pdf.SetAuthor(strings.ReplaceAll(d.Agency, "\n", " "), true)
	pdf.SetLang("vi-VN")
	for _, f := range r.fonts.faces(d.texts()...) {
		pdf.AddUTF8FontFromBytes(fontFamily, f.style, f.ttf)
	}
	if err := pdf.Error(); err != nil {
		return nil, fmt.Errorf("render: load fonts: %w", err)
	}

	l := &layout{pdf: pdf, fonts: r.fonts}
	l.setFoot(d.AddressLine)
	l.newPage()
	l.header(&d)
	if d.TypeName != "" {
		l.title(&d)
	}
	l.kinhGui(d.KinhGui)
	for i, b := range blocks {
		if b.table != nil {
			l.drawTable(b.table)
			continue
		}
		if b.chart != nil {
			l.drawChart(b.chart)
			continue
		}
		keep := 0.0
		if b.text.keepNext && i+1 < len(blocks) {
			keep = l.lead(blocks[i+1])
		}
		l.flowAt(b.text, marginLeft, textW, keep)
	}
	if err := l.signature(&d); err != nil {
		return nil, err
	}

	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("render: write pdf: %w", err)
	}
	return buf.Bytes(), nil
}

// lead is the height block b needs on the page it starts on, so that a
// paragraph kept with it (a heading, a caption) does not end a page alone:
// a chart's whole height (it is not split unless taller than a page), a
// table's header and first row, two lines of text.
func (l *layout) lead(b block) float64 {
	switch {
	case b.chart != nil:
		return l.measureChart(b.chart).height()
	case b.table != nil:
		_, header, rows := l.layTable(b.table, 1)
		return tableLead(header, rows)
	}
	return 2 * bodyLine
}

// bodyLine is the height of one body line.
var bodyLine = textBlock{size: bodySize}.lineHeight()

// setFoot reserves the foot of page 1 for the address line (box 13) under
// a full-width rule.
func (l *layout) setFoot(address string) {
	if address == "" {
		return
	}
	tb := textBlock{spans: plain(address, 0), size: 11, align: alignLeft, spacing: hdrSpacing}
	// Fonts must be set before measuring; the page does not exist yet, which
	// fpdf allows for measurement.
	h := l.height(tb, textW)
	const gap = 2.0
	l.foot = h + gap + 2
	l.footFn = func() {
		top := pageH - marginBottom - h
		l.pdf.SetLineWidth(ruleW)
		l.pdf.Line(marginLeft, top-gap/2, marginLeft+textW, top-gap/2)
		l.place(tb, marginLeft, top, textW)
	}
}

// header draws the two-column header: boxes 2, 3, 5b and 10b on the left,
// boxes 1 and 4 on the right.
func (l *layout) header(d *Document) {
	leftX, leftW := marginLeft, headerLeftW
	rightX, rightW := marginLeft+headerLeftW, textW-headerLeftW
	hdr := func(s string, style int, size float64) textBlock {
		return textBlock{spans: plain(s, style), size: size, align: alignCenter, spacing: hdrSpacing}
	}

	// Right: national title, motto with a rule of its width, date line.
	national := "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
	size := 13.0
	if l.width(national, bold, size) > rightW {
		size = 12
	}
	ry := l.place(hdr(national, bold, size), rightX, marginTop, rightW)
	motto := hdr("Độc lập - Tự do - Hạnh phúc", bold, 14)
	ry = l.place(motto, rightX, ry, rightW)
	mw := l.widest(motto, rightW)
	l.pdf.SetLineWidth(0.3)
	l.pdf.Line(rightX+(rightW-mw)/2, ry+0.5, rightX+(rightW+mw)/2, ry+0.5)

	// Left: parent agency, agency with a short rule, number.
	ly := marginTop
	if d.ParentAgency != "" {
		for _, s := range strings.Split(d.ParentAgency, "\n") {
			ly = l.place(hdr(strings.ToUpper(s), 0, 13), leftX, ly, leftW)
		}
	}
	aw := 0.0
	for _, s := range strings.Split(d.Agency, "\n") {
		tb := hdr(strings.ToUpper(s), bold, 13)
		aw = max(aw, l.widest(tb, leftW))
		ly = l.place(tb, leftX, ly, leftW)
	}
	rule := aw * 0.4
	l.pdf.Line(leftX+(leftW-rule)/2, ly+0.8, leftX+(leftW+rule)/2, ly+0.8)

	// The number (box 3) and the date line (box 4) share a line; a biên
	// bản has no date line, and the number stays where it would be.
	top := max(ly, ry) + 3
	number := d.Number
	if strings.HasPrefix(number, "/") {
		// Unnumbered draft: leave a blank for the number.
		number = strings.Repeat("\u00a0", 10) + number
	}
	ly = l.place(hdr("Số: "+number, 0, 13), leftX, top, leftW)
	if !d.NoDateLine {
		ry = l.place(hdr(FormatDate(d.Place, d.Date), italic, 14), rightX, top, rightW)
	}

	if d.TypeName == "" {
		// Công văn: the subject goes under the number (box 5b).
		ly = l.place(hdr("V/v "+d.Subject, 0, 12), leftX, ly+1, leftW)
	}
	if label := d.Urgency.Label(); label != "" {
		ly = l.urgency(label, leftX, ly+3, leftW)
	}
	l.y = max(ly, ry) + 4
}

// urgency draws the urgency mark (box 10b) bold in a red box, centred in
// the column, and returns the y below it.
func (l *layout) urgency(label string, x, y, w float64) float64 {
	tb := textBlock{spans: plain(label, bold), size: 14, align: alignCenter, spacing: 1.2}
	tw := l.widest(tb, w)
	const pad = 2.0
	h := tb.lineHeight() + 1
	bx := x + (w-tw)/2 - pad
	l.pdf.SetDrawColor(220, 0, 0)
	l.pdf.SetTextColor(220, 0, 0)
	l.pdf.SetLineWidth(0.4)
	l.pdf.Rect(bx, y, tw+2*pad, h, "D")
	l.place(tb, x, y+0.5, w)
	l.pdf.SetDrawColor(0, 0, 0)
	l.pdf.SetTextColor(0, 0, 0)
	l.pdf.SetLineWidth(ruleW)
	return y + h
}

// title draws box 5a: type name and subject, bold, centred, with a short
// rule under them.
func (l *layout) title(d *Document) {
	l.y += 4
	tb := textBlock{spans: plain(strings.ToUpper(d.TypeName), bold), size: 14, align: alignCenter, spacing: hdrSpacing}
	l.y = l.place(tb, marginLeft, l.y, textW)
	sx, sw := marginLeft+textW*0.1, textW*0.8
	sub := textBlock{spans: plain(d.Subject, bold), size: 14, align: alignCenter, spacing: hdrSpacing, noWidow: true}
	width := l.widest(sub, sw)
	l.y = l.place(sub, sx, l.y, sw)
	rule := max(width/3, 25)
	l.pdf.SetLineWidth(0.3)
	l.pdf.Line(marginLeft+(textW-rule)/2, l.y+1.2, marginLeft+(textW+rule)/2, l.y+1.2)
	l.pdf.SetLineWidth(ruleW)
	l.y += 6
}

// kinhGui draws box 9a: "Kính gửi: X" on one line for a single recipient,
// or "Kính gửi:" followed by a "- X;" list, as a block centred on the page.
func (l *layout) kinhGui(to []string) {
	if len(to) == 0 {
		return
	}
	const size = 14.0
	label := "Kính gửi:"
	lw := l.width(label+" ", 0, size)
	items := make([]string, len(to))
	for i, s := range to {
		items[i] = s
		if len(to) > 1 {
			end := ";"
			if i == len(to)-1 {
				end = "."
			}
			items[i] = "- " + s + end
		}
	}
	iw := 0.0
	for _, s := range items {
		iw = max(iw, l.width(s, 0, size))
	}
	x := marginLeft + max((textW-lw-iw)/2, 10)
	w := marginLeft + textW - x - lw
	tb := textBlock{spans: plain(label, 0), size: size, align: alignLeft}
	l.ensure(tb.lineHeight())
	l.place(tb, x, l.y, lw)
	for _, s := range items {
		item := textBlock{spans: plain(s, 0), size: size, align: alignLeft}
		if len(to) > 1 {
			item.rest = l.width("- ", 0, size)
		}
		for _, ln := range l.wrap(item, w) {
			l.ensure(item.lineHeight())
			l.drawLine(ln, x+lw, l.y, w, item)
			l.y += item.lineHeight()
		}
	}
	l.y += 4
}

// signature draws the signature block (boxes 7a, 7b, 8) in the right half
// and "Nơi nhận" (box 9b) with the drafter code (box 12) in the left half,
// level with the authority line. The whole block moves to a new page if it
// does not fit.
func (l *layout) signature(d *Document) error {
	rightX, rightW := marginLeft+signLeftW, textW-signLeftW
	leftX, leftW := marginLeft, signLeftW-3
	line := func(s string) textBlock {
		return textBlock{spans: plain(strings.ToUpper(s), bold), size: 14, align: alignCenter, spacing: hdrSpacing}
	}
	var above []textBlock
	if d.SignerAuthority != "" {
		above = append(above, line(d.SignerAuthority))
	}
	if d.SignerTitle != "" {
		above = append(above, line(d.SignerTitle))
	}
	name := textBlock{spans: plain(d.SignerName, bold), size: 14, align: alignCenter, spacing: hdrSpacing}

	var sig, seal *fpdf.ImageInfoType
	sigW, sigH := 0.0, 0.0
	space := sigSpace
	if len(d.SignatureImage) > 0 {
		sig = l.pdf.RegisterImageOptionsReader("signature", fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(d.SignatureImage))
		if err := l.pdf.Error(); err != nil {
			return fmt.Errorf("render: signature image: %w", err)
		}
		sigW, sigH = fit(sig.Width(), sig.Height(), sigMaxW, sigMaxH)
		space = max(space, sigH+4)
	}
	if len(d.SealImage) > 0 {
		seal = l.pdf.RegisterImageOptionsReader("seal", fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(d.SealImage))
		if err := l.pdf.Error(); err != nil {
			return fmt.Errorf("render: seal image: %w", err)
		}
		// Room for the seal, which may overlap the title and the name by
		// a little only.
		space = max(space, sealSize-4)
	}

	rightH := space + l.height(name, rightW)
	for _, tb := range above {
		rightH += l.height(tb, rightW)
	}

	recvLabel := textBlock{spans: plain("Nơi nhận:", bold|italic), size: 12, align: alignLeft, spacing: hdrSpacing}
	var left []textBlock
	if len(d.Recipients) > 0 {
		left = append(left, recvLabel)
		dash := l.width("- ", 0, 11)
		for i, r := range d.Recipients {
			end := ";"
			if i == len(d.Recipients)-1 {
				end = "."
			}
			left = append(left, textBlock{spans: plain("- "+r+end, 0), size: 11, align: alignLeft, rest: dash, spacing: hdrSpacing})
		}
	}
	if d.DrafterCode != "" {
		left = append(left, textBlock{spans: plain(d.DrafterCode, 0), size: 11, align: alignLeft, spacing: hdrSpacing})
	}
	leftH := 0.0
	for _, tb := range left {
		leftH += l.height(tb, leftW)
	}

	l.y += 2
	l.ensure(max(leftH, rightH))
	top := l.y

	y := top
	for _, tb := range above {
		y = l.place(tb, rightX, y, rightW)
	}
	if sig != nil {
		sx := rightX + (rightW-sigW)/2
		sy := y + (space-sigH)/2
		l.pdf.ImageOptions("signature", sx, sy, sigW, sigH, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
	}
	if seal != nil {
		sw, sh := fit(seal.Width(), seal.Height(), sealSize, sealSize)
		// The seal covers the left third of the signature (or of the
		// space left for it).
		ref := sigW
		if sig == nil {
			ref = sigMaxW
		}
		sx := rightX + (rightW-ref)/2 + ref/3 - sw
		sy := y + space/2 - sh/2
		l.pdf.ImageOptions("seal", sx, sy, sw, sh, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
	}
	y = l.place(name, rightX, y+space, rightW)

	ly := top
	for _, tb := range left {
		ly = l.place(tb, leftX, ly, leftW)
	}
	l.y = max(y, ly)
	if err := l.pdf.Error(); err != nil {
		return fmt.Errorf("render: signature: %w", err)
	}
	return nil
}

// fit scales w×h to fit in maxW×maxH, keeping the aspect ratio.
func fit(w, h, maxW, maxH float64) (float64, float64) {
	if w <= 0 || h <= 0 {
		return maxW, maxH
	}
	s := min(maxW/w, maxH/h)
	return w * s, h * s
}
