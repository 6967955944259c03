package render_test

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/render"
	"github.com/sonoivu/vanthu/internal/testenv"
)

// chartBody is a report-like body with a two-series chart.
const chartBody = "Số người vi phạm theo loại:\n\n" +
	"```chart\n" +
	"# Quý này | Quý trước\n" +
	"Vắng mặt không có lý do | 28 | 35\n" +
	"Đi muộn, về sớm | 17 | 21\n" +
	"Không đeo thẻ công chức, viên chức | 12 | 9\n" +
	"Làm việc riêng, ngồi quán trong giờ làm việc | 4 | 6\n" +
	"Hút thuốc lá nơi làm việc | 1.250 | 0\n" +
	"```\n\n" +
	"Đề nghị các đơn vị chấn chỉnh.\n"

// chartValues are the values of chartBody in drawing order: per label,
// this quarter then the previous one.
var chartValues = []float64{28, 35, 17, 21, 12, 9, 4, 6, 1250, 0}

func chartDoc() render.Document {
	d := render.SampleDirective()
	d.Body = chartBody
	return d
}

// rect is a filled rectangle of a page's content stream, in points with
// the origin at the top left as pdftotext reports words.
type rect struct{ x, y, w, h float64 }

// filledRects decompresses pdf with qpdf and returns every filled
// rectangle ("re f") of its pages in drawing order.
func filledRects(t *testing.T, pdf []byte) []rect {
	t.Helper()
	bin := testenv.PDFTool(t, "qpdf")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "out.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(bin, "--qdf", "--object-streams=disable", in, out).CombinedOutput(); err != nil {
		t.Fatalf("qpdf: %v\n%s", err, b)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	num := `(-?[0-9.]+)`
	re := regexp.MustCompile(num + ` ` + num + ` ` + num + ` ` + num + ` re f\b`)
	var rs []rect
	for _, m := range re.FindAllSubmatch(raw, -1) {
		var v [4]float64
		for i := range v {
			v[i], _ = strconv.ParseFloat(string(m[i+1]), 64)
		}
		// fpdf writes x, page height − y, w, −h.
		rs = append(rs, rect{x: v[0], y: 297*mm - v[1], w: v[2], h: -v[3]})
	}
	return rs
}

func TestChartBarsAreProportional(t *testing.T) {
	pdf := renderPDF(t, chartDoc())
	var bars, swatches []rect
	for _, r := range filledRects(t, pdf) {
		// Bars are 4.2 mm high, legend squares 3.5 mm.
		switch {
		case math.Abs(r.h-4.2*mm) < 0.1:
			bars = append(bars, r)
		case math.Abs(r.h-3.5*mm) < 0.1 && math.Abs(r.w-3.5*mm) < 0.1:
			swatches = append(swatches, r)
		}
	}
	if len(swatches) != 2 {
		t.Errorf("legend squares = %d, want 2", len(swatches))
	}
	// A zero value draws no bar.
	if len(bars) != len(chartValues)-1 {
		t.Fatalf("bars = %d, want %d: %+v", len(bars), len(chartValues)-1, bars)
	}
	top := 0.0
	for _, v := range chartValues {
		top = max(top, v)
	}
	longest := 0.0
	for _, b := range bars {
		longest = max(longest, b.w)
	}
	for i, b := range bars {
		want := chartValues[i] / top * longest
		if math.Abs(b.w-want) > 0.05 {
			t.Errorf("bar %d: width %.2f pt, want %.2f (value %v of %v)", i, b.w, want, chartValues[i], top)
		}
		if b.x != bars[0].x {
			t.Errorf("bar %d starts at x=%.2f, not on the axis %.2f", i, b.x, bars[0].x)
		}
		if i > 0 && b.y <= bars[i-1].y {
			t.Errorf("bar %d is not below bar %d", i, i-1)
		}
	}
	// The longest bar reaches nearly to the right margin, leaving room for
	// its number.
	if end := bars[0].x + longest; end > 210*mm-marginRight || end < 210*mm-marginRight-40 {
		t.Errorf("longest bar ends at %.1f pt, right margin at %.1f", end, 210*mm-marginRight)
	}

	// Each number is printed just after the end of its bar, level with it.
	doc := bbox(t, pdf)
	ws := words(doc)
	texts := []string{"28", "35", "17", "21", "12", "9", "4", "6", "1.250"}
	for i, txt := range texts {
		var found bool
		for _, w := range ws {
			if w.text != txt {
				continue
			}
			b := bars[i]
			if math.Abs(w.xMin-(b.x+b.w+1*mm)) < 1.5 && w.yMin < b.y+b.h && w.yMax > b.y {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("value %q not printed at the end of bar %d (%+v)", txt, i, bars[i])
		}
	}
	flat := strings.Join(strings.Fields(run(t, pdf, "pdftotext", "-raw")), " ")
	for _, want := range []string{"Quý này", "Quý trước", "Vắng mặt không có lý do", "Đi muộn, về sớm", "Không đeo thẻ công chức, viên chức",
		"Hút thuốc lá nơi làm việc", "1.250", "chấn chỉnh./."} {
		if !strings.Contains(flat, want) {
			t.Errorf("pdftotext lacks %q:\n%s", want, flat)
		}
	}
	// Labels sit left of the axis, bars right of it.
	for _, w := range ws {
		if w.text == "Vắng" && w.xMax > bars[0].x {
			t.Errorf("label word %q at x=%.1f crosses the axis %.1f", w.text, w.xMax, bars[0].x)
		}
	}
}

// TestChartOneSeriesAndPageBreak moves a one-series chart down a line at
// a time: its labels must always be on one page, and at least once the
// chart must have started on the next page although the text before it
// ended on the previous one (it would have started low and been split).
func TestChartOneSeriesAndPageBreak(t *testing.T) {
	labels := []string{"Một", "Hai", "Ba", "Bốn", "Năm", "Sáu"}
	moved := false
	var first []byte
	for k := range 40 {
		d := render.SampleDirective()
		var b strings.Builder
		for i := range k {
			fmt.Fprintf(&b, "Đoạn văn thứ %d của phần mở đầu, đủ dài để chiếm trọn một dòng của trang văn bản hành chính.\n\n", i+1)
		}
		b.WriteString("Số liệu từng chỉ tiêu như sau:\n\n")
		b.WriteString("```chart\nMột | 10\nHai | 5\nBa | 2,5\nBốn | 7\nNăm | 1\nSáu | 3\n```\n\nĐoạn kết thúc.\n")
		d.Body = b.String()
		pdf := renderPDF(t, d)
		if first == nil {
			first = pdf
		}
		pages := map[string][]int{}
		for _, w := range words(bbox(t, pdf)) {
			pages[w.text] = append(pages[w.text], w.page)
		}
		if len(pages["sau:"]) != 1 {
			t.Fatalf("%d paragraphs before: the line before the chart is on pages %v, want one", k, pages["sau:"])
		}
		chartPage := 0
		for _, l := range labels {
			p := pages[l]
			if len(p) != 1 {
				t.Fatalf("%d paragraphs before: label %q on pages %v, want once", k, l, p)
			}
			if chartPage == 0 {
				chartPage = p[0]
			}
			if p[0] != chartPage {
				t.Fatalf("%d paragraphs before: %q on page %d, %q on page %d: the chart is split", k, labels[0], chartPage, l, p[0])
			}
		}
		moved = moved || chartPage > pages["sau:"][0]
	}
	if !moved {
		t.Fatal("the chart never moved to the next page: the test proves nothing")
	}
	var bars []rect
	for _, r := range filledRects(t, first) {
		if math.Abs(r.h-4.2*mm) < 0.1 {
			bars = append(bars, r)
		}
	}
	want := []float64{10, 5, 2.5, 7, 1, 3}
	if len(bars) != len(want) {
		t.Fatalf("bars = %d, want %d", len(bars), len(want))
	}
	for i := range bars {
		if r := bars[i].w / bars[0].w; math.Abs(r-want[i]/10) > 0.002 {
			t.Errorf("bar %d / bar 0 = %.4f, want %.4f", i, r, want[i]/10)
		}
	}
}

func TestChartProblems(t *testing.T) {
	tests := []struct {
		name, body string
		line       int
		msg        string
	}{
		{"no value", "Mở đầu.\n\n```chart\nMột | 1\nHai\n```\n", 5, "mỗi dòng phải có dạng"},
		{"not a number", "```chart\nMột | 1\nHai | nhiều\n```\n", 3, "“nhiều” không phải là số"},
		{"negative", "```chart\nMột | -1\n```\n", 2, "“-1” không phải là số"},
		{"bad grouping", "```chart\nMột | 1.23\n```\n", 2, "“1.23” không phải là số"},
		{"three values", "```chart\nMột | 1 | 2 | 3\n```\n", 2, "mỗi dòng phải có dạng"},
		{"mixed series", "```chart\nMột | 1 | 2\nHai | 3\n```\n", 3, "dòng có 1 số, các dòng trên có 2"},
		{"legend not first", "```chart\nMột | 1\n# A\n```\n", 3, "chỉ được đặt ở đầu"},
		{"legend count", "```chart\n# A | B\nMột | 1\n```\n", 1, "chú giải có 2 tên nhưng mỗi dòng có 1 số"},
		{"empty", "Trước.\n\n```chart\n```\n", 3, "không có dòng số liệu"},
		{"empty label", "```chart\n | 4\n```\n", 2, "mỗi dòng phải có dạng"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := render.SampleDirective()
			d.Body = tt.body
			_, err := render.PDF(d)
			if vanthu.ErrorCodeOf(err) != vanthu.EInvalid {
				t.Fatalf("err = %v, want an invalid error", err)
			}
			ps := vanthu.ProblemsOf(err)
			if len(ps) != 1 {
				t.Fatalf("problems = %+v, want one", ps)
			}
			p := ps[0]
			if p.Field != "body" || p.Line != tt.line || !strings.HasPrefix(p.Message, "Biểu đồ không hợp lệ: ") || !strings.Contains(p.Message, tt.msg) {
				t.Errorf("problem = %+v, want body line %d with %q", p, tt.line, tt.msg)
			}
		})
	}
	// Valid forms: thousands, decimals, blank lines, a code block that is
	// not a chart.
	d := render.SampleDirective()
	d.Body = "```chart\n\nMột | 1.234.567\nHai | 0,5\n\n```\n\n```\nMột | chữ\n```\n"
	if _, err := render.PDF(d); err != nil {
		t.Errorf("valid chart rejected: %v", err)
	}
}

func TestGoldenChart(t *testing.T) {
	got := renderPDF(t, chartDoc())
	if !bytes.Equal(got, renderPDF(t, chartDoc())) {
		t.Fatal("two renderings of the same chart differ")
	}
	golden := filepath.Join("testdata", "chart.pdf")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("output differs from %s; if the change is intended, run go test -update", golden)
	}
}

// TestChartEscapes prints labels escaped for Markdown (as the template
// engine escapes data) as typed.
func TestChartEscapes(t *testing.T) {
	d := render.SampleDirective()
	d.Body = "```chart\nPhường 1 \\| 2 \\*mới\\* | 3\n```\n"
	flat := strings.Join(strings.Fields(run(t, renderPDF(t, d), "pdftotext", "-raw")), " ")
	if !strings.Contains(flat, "Phường 1 | 2 *mới* 3") {
		t.Errorf("escaped label not printed as typed:\n%s", flat)
	}
}
