package render_test

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/render"
)

// minutes is an inspection record, Decree 30 form 1.9: no date line.
func minutes() render.Document {
	return render.Document{
		ParentAgency: "UBND tỉnh Vĩnh Long",
		Agency:       "Sở Nội vụ",
		Number:       "12/BB-SNV",
		Place:        "Bến Tre", // not printed: a biên bản has no date line
		Date:         time.Date(2026, 2, 3, 8, 0, 0, 0, vanthu.Location),
		NoDateLine:   true,
		TypeName:     "Biên bản",
		Subject:      "Kiểm tra việc chấp hành kỷ luật, kỷ cương hành chính tại Ủy ban nhân dân xã Long Hồ",
		Body:         "Vào lúc 08 giờ 00 phút, tại trụ sở Ủy ban nhân dân xã Long Hồ, Đoàn kiểm tra tiến hành kiểm tra đột xuất.\n\nBiên bản được lập thành 02 bản có giá trị như nhau.",
		SignerTitle:  "Trưởng đoàn",
		SignerName:   "Lê Minh Tâm",
	}
}

// word is a word of pdftotext -bbox output with its 1-based page.
type word struct {
	page                   int
	text                   string
	xMin, yMin, xMax, yMax float64
}

func words(doc bboxDoc) []word {
	var out []word
	for i, p := range doc.Pages {
		for _, w := range p.Words {
			out = append(out, word{i + 1, w.Text, w.XMin, w.YMin, w.XMax, w.YMax})
		}
	}
	return out
}

func find(ws []word, text string) (word, bool) {
	for _, w := range ws {
		if w.text == text {
			return w, true
		}
	}
	return word{}, false
}

// belowBottom reports the words that reach into the bottom margin.
func belowBottom(t *testing.T, doc bboxDoc) {
	t.Helper()
	for i, p := range doc.Pages {
		for _, w := range p.Words {
			if w.YMax > p.Height-marginBottom+tol {
				t.Errorf("page %d: %q at y=%.1f lies in the bottom margin (limit %.1f)", i+1, w.Text, w.YMax, p.Height-marginBottom)
			}
		}
	}
}

func TestMinutesHaveNoDateLine(t *testing.T) {
	d := minutes()
	pdf := renderPDF(t, d)
	flat := strings.Join(strings.Fields(run(t, pdf, "pdftotext", "-raw")), " ")
	for _, want := range []string{"CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "SỞ NỘI VỤ", "Số: 12/BB-SNV", "BIÊN BẢN", "Lê Minh Tâm"} {
		if !strings.Contains(flat, want) {
			t.Errorf("missing %q in:\n%s", want, flat)
		}
	}
	for _, bad := range []string{"Bến Tre", render.FormatDate("", d.Date)} {
		if strings.Contains(flat, bad) {
			t.Errorf("a biên bản prints no date line, found %q", bad)
		}
	}
	// With the date line the same document does print it: the check above
	// would catch a renderer that ignored NoDateLine.
	d.NoDateLine = false
	if flat := strings.Join(strings.Fields(run(t, renderPDF(t, d), "pdftotext", "-raw")), " "); !strings.Contains(flat, "Bến Tre, ngày 03 tháng 02 năm 2026") {
		t.Errorf("control document lacks its date line:\n%s", flat)
	}

	// Layout: the number sits below the agency, the title below the
	// number and the motto, everything inside the margins.
	doc := bbox(t, pdf)
	ws := words(doc)
	so, ok1 := find(ws, "Số:")
	title, ok2 := find(ws, "BIÊN")
	motto, ok3 := find(ws, "Hạnh")
	agency, ok4 := find(ws, "SỞ")
	if !ok1 || !ok2 || !ok3 || !ok4 {
		t.Fatalf("header words not found: Số:%v BIÊN:%v Hạnh:%v SỞ:%v", ok1, ok2, ok3, ok4)
	}
	if so.yMin < agency.yMax || so.xMax > marginLeft+0.4*(210-45)*mm+tol {
		t.Errorf("number %v is not under the agency %v in the left column", so, agency)
	}
	if title.yMin < so.yMax || title.yMin < motto.yMax {
		t.Errorf("title %v overlaps the header (number %v, motto %v)", title, so, motto)
	}
	// No more room than a line between header and title: the date line's
	// space is not left blank below the number.
	if gap := title.yMin - so.yMax; gap > 14*1.3+12 {
		t.Errorf("gap of %.1f pt between number and title", gap)
	}
	belowBottom(t, doc)
	for _, w := range ws {
		if w.xMin < marginLeft-tol || w.xMax > 210*mm-marginRight+tol || w.yMin < marginTop-tol {
			t.Errorf("word %q at (%.1f,%.1f) outside the margins", w.text, w.xMin, w.yMin)
		}
	}
}

func TestInvalidTables(t *testing.T) {
	tests := []struct {
		name string
		body string
		line int // 0: valid
		msg  string
	}{
		{"valid", "Mở đầu.\n\n| A | B |\n|---|---|\n| 1 | 2 |\n", 0, ""},
		{"fewer cells than the header", "| A | B | C |\n|---|---|---|\n| 1 | 2 |\n", 0, ""},
		{"escaped pipe", "| A | B |\n|---|---|\n| 1 \\| 2 | 3 |\n", 0, ""},
		{"no outer pipes", "A | B\n--|--\n1 | 2\n", 0, ""},
		{"pipe inside a line", "Tỷ lệ a | b không phải bảng.\n", 0, ""},
		{"code block", "```\n| không | phải bảng |\n```\n", 0, ""},
		{"bad delimiter row", "Mở đầu.\n\n| A | B |\n| -- x |\n| 1 | 2 |\n", 3, "không thuộc bảng nào"},
		{"no delimiter row", "Mở đầu.\n\nCâu hai.\n\n| A | B |\n| 1 | 2 |\n", 5, "không thuộc bảng nào"},
		{"header wider than the delimiter", "| A | B | C |\n|---|---|\n| 1 | 2 | 3 |\n", 1, "không thuộc bảng nào"},
		{"row with more cells", "Mở đầu.\n\n| A | B |\n|---|---|\n| 1 | 2 |\n| 1 | 2 | 3 |\n", 6, "có 3 ô, nhiều hơn 2 cột"},
		{"CRLF line endings", "Mở đầu.\r\n\r\n| A | B |\r\n|---|---|\r\n| 1 | 2 | 3 | 4 |\r\n", 5, "có 4 ô, nhiều hơn 2 cột"},
		{"in a list item", "1. Mục:\n\n   | A | B |\n   | x |\n", 3, "không thuộc bảng nào"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := directive(t)
			d.Body = tt.body
			_, err := render.PDF(d)
			if tt.line == 0 {
				if err != nil {
					t.Fatalf("valid body rejected: %v", err)
				}
				return
			}
			if vanthu.ErrorCodeOf(err) != vanthu.EInvalid {
				t.Fatalf("err = %v, want an invalid error", err)
			}
			ps := vanthu.ProblemsOf(err)
			if len(ps) != 1 {
				t.Fatalf("problems = %+v, want one", ps)
			}
			p := ps[0]
			if p.Field != "body" || p.Line != tt.line || !strings.HasPrefix(p.Message, "Bảng không hợp lệ: ") || !strings.Contains(p.Message, tt.msg) {
				t.Errorf("problem = %+v, want body line %d, message with %q", p, tt.line, tt.msg)
			}
		})
	}
}

// TestTallTableRowSplits puts a cell longer than a page in a table: the
// row continues on the following pages under the repeated header, and no
// text runs into the bottom margin.
func TestTallTableRowSplits(t *testing.T) {
	const n = 700
	var cell strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&cell, "m%03d ", i)
		if i%10 == 0 {
			cell.WriteString("nội dung kiến nghị của đơn vị được kiểm tra ")
		}
	}
	d := directive(t)
	d.Body = "Kết quả như sau:\n\n| STT | Đơn vị | Diễn giải |\n|---|---|---|\n| 1 | Xã A | ngắn |\n| 2 | Xã B | " + cell.String() + "|\n| 3 | Xã C | ngắn |\n\nĐề nghị các đơn vị thực hiện.\n"
	doc := bbox(t, renderPDF(t, d))
	belowBottom(t, doc)

	ws := words(doc)
	token := regexp.MustCompile(`^m(\d{3})$`)
	var seq []int
	onPage := map[int]bool{}
	for _, w := range ws { // pdftotext lists words in reading order
		if m := token.FindStringSubmatch(w.text); m != nil {
			k, _ := strconv.Atoi(m[1])
			seq = append(seq, k)
			onPage[w.page] = true
		}
	}
	if len(seq) != n || !sort.IntsAreSorted(seq) {
		t.Fatalf("cell tokens: got %d in order=%v, want %d in order", len(seq), sort.IntsAreSorted(seq), n)
	}
	if len(onPage) < 2 {
		t.Fatalf("the tall cell lies on %d page(s); the test needs it to span pages", len(onPage))
	}
	for p := range onPage {
		found := false
		for _, w := range ws {
			if w.page == p && w.text == "Diễn" {
				found = true
			}
		}
		if !found {
			t.Errorf("page %d holds part of the tall row but no table header", p)
		}
	}
	for _, want := range []string{"Xã", "C", "ngắn", "hiện./."} {
		if _, ok := find(ws, want); !ok {
			t.Errorf("%q missing after the tall row", want)
		}
	}
}

// TestWidowsAndOrphans lays out groups of paragraphs of 1 to 6 lines,
// each group after a different number of one-line fillers, so that the
// paragraphs meet the page breaks at many offsets: a split paragraph keeps
// at least two lines on each page, and one of three lines or fewer is
// never split.
func TestWidowsAndOrphans(t *testing.T) {
	sizes := []int{6, 3, 2, 1, 4, 5}
	const groups = 40
	var b strings.Builder
	for g := range groups {
		for i := range (g * 5) % 7 {
			fmt.Fprintf(&b, "Dòng đệm số %d.\n\n", i+1)
		}
		for k, lines := range sizes {
			// About eight words a line; every word is a token "gGGpK-NN"
			// naming its paragraph, so that each line can be attributed.
			for i := range lines * 8 {
				fmt.Fprintf(&b, "g%02dp%d-%02d ", g, k, i)
			}
			b.WriteString("\n\n")
		}
	}
	d := minutes()
	d.Body = b.String()
	doc := bbox(t, renderPDF(t, d))
	belowBottom(t, doc)

	// Distinct baselines of each paragraph, page by page.
	type key struct{ g, k int }
	lines := map[key]map[int]map[int]bool{}
	token := regexp.MustCompile(`^g(\d\d)p(\d)-\d\d`)
	for _, w := range words(doc) {
		m := token.FindStringSubmatch(w.text)
		if m == nil {
			continue
		}
		g, _ := strconv.Atoi(m[1])
		k, _ := strconv.Atoi(m[2])
		kk := key{g, k}
		if lines[kk] == nil {
			lines[kk] = map[int]map[int]bool{}
		}
		if lines[kk][w.page] == nil {
			lines[kk][w.page] = map[int]bool{}
		}
		lines[kk][w.page][int(math.Round(w.yMax))] = true
	}
	if len(lines) != groups*len(sizes) {
		t.Fatalf("found %d paragraphs, want %d", len(lines), groups*len(sizes))
	}
	splits := 0
	for kk, perPage := range lines {
		pages := make([]int, 0, len(perPage))
		for p := range perPage {
			pages = append(pages, p)
		}
		sort.Ints(pages)
		var parts []int
		total := 0
		for _, p := range pages {
			parts = append(parts, len(perPage[p]))
			total += len(perPage[p])
		}
		if len(parts) == 1 {
			continue
		}
		splits++
		if total <= 3 {
			t.Errorf("group %d: paragraph of %d lines split %v", kk.g, total, parts)
		}
		for _, n := range parts {
			if n < 2 {
				t.Errorf("group %d: paragraph of %d lines split %v: a single line on a page", kk.g, total, parts)
			}
		}
	}
	if splits < 3 {
		t.Errorf("only %d paragraphs split across pages; the test does not exercise the page break", splits)
	}
}

func TestSampleReportPages(t *testing.T) {
	for _, want := range []int{10, 40} {
		d := render.SampleReport(want)
		if !bytes.Equal([]byte(d.Body), []byte(render.SampleReport(want).Body)) {
			t.Fatal("SampleReport is not deterministic")
		}
		pdf := renderPDF(t, d)
		got := pages(t, pdf)
		if float64(got) < 0.8*float64(want) || float64(got) > 1.2*float64(want) {
			t.Errorf("SampleReport(%d) has %d pages, want %d ± 20%%", want, got, want)
		}
		if strings.Count(d.Body, "|:---:|") < 3 {
			t.Errorf("SampleReport(%d) has fewer than 3 tables", want)
		}
	}
}

// TestFullFontsOutsideRepertoire renders a name in Cyrillic, which the
// fonts cut to the Vietnamese repertoire lack: the document must fall back
// to the full fonts and print it.
func TestFullFontsOutsideRepertoire(t *testing.T) {
	d := congVan(t)
	d.Body = "Đoàn chuyên gia do ông Иван Петров dẫn đầu; nhiệt độ 25 ℃; giá 10.000 ₫."
	text := strings.Join(strings.Fields(run(t, renderPDF(t, d), "pdftotext", "-raw")), " ")
	for _, want := range []string{"Иван Петров", "25 ℃", "10.000 ₫"} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
}

func TestRendererMatchesPDF(t *testing.T) {
	r := render.NewRenderer()
	for _, d := range []render.Document{directive(t), congVan(t), minutes()} {
		got, err := r.PDF(d)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, renderPDF(t, d)) {
			t.Errorf("%s: Renderer.PDF and PDF differ", d.Number)
		}
	}
}

func BenchmarkReportPDF(b *testing.B) {
	d := render.SampleReport(40)
	r := render.NewRenderer()
	for b.Loop() {
		if _, err := r.PDF(d); err != nil {
			b.Fatal(err)
		}
	}
}
