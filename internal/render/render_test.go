package render_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/render"
	"github.com/sonoivu/vanthu/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite testdata/directive.pdf and testdata/directive-page1.png")

// Page geometry in points, as pdftotext reports it.
const (
	mm           = 72 / 25.4
	marginLeft   = 30 * mm
	marginRight  = 15 * mm
	marginTop    = 20 * mm
	marginBottom = 20 * mm
	tol          = 1.0
)

// directive is the realistic two-page directive of the golden test.
func directive(t testing.TB) render.Document {
	t.Helper()
	return render.SampleDirective()
}

// run runs an independent PDF checker on pdf and fails on its error.
func run(t testing.TB, pdf []byte, name string, args ...string) string {
	t.Helper()
	return testenv.RunPDFTool(t, pdf, false, name, args...)
}

func renderPDF(t testing.TB, d render.Document) []byte {
	t.Helper()
	b, err := render.PDF(d)
	if err != nil {
		t.Fatalf("PDF: %v", err)
	}
	return b
}

func TestGoldenDirective(t *testing.T) {
	got := renderPDF(t, directive(t))
	again := renderPDF(t, directive(t))
	if !bytes.Equal(got, again) {
		t.Fatal("two renderings of the same document differ")
	}
	golden := filepath.Join("testdata", "directive.pdf")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		bin := testenv.PDFTool(t, "pdftoppm")
		out, err := exec.Command(bin, "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", golden, filepath.Join("testdata", "directive-page1")).CombinedOutput()
		if err != nil {
			t.Fatalf("pdftoppm: %v\n%s", err, out)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("output differs from %s (%d vs %d bytes); if the change is intended, run go test -update and look at testdata/directive-page1.png", golden, len(got), len(want))
	}
	if n := pages(t, got); n != 2 {
		t.Errorf("directive has %d pages, want 2", n)
	}
}

func pages(t testing.TB, pdf []byte) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)`).FindStringSubmatch(run(t, pdf, "pdfinfo"))
	if m == nil {
		t.Fatal("pdfinfo: no page count")
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func TestText(t *testing.T) {
	pdf := renderPDF(t, directive(t))
	for _, mode := range [][]string{{"-layout"}, {"-raw"}} {
		text := run(t, pdf, "pdftotext", mode...)
		if !norm.NFC.IsNormalString(text) {
			t.Errorf("pdftotext %v: output is not NFC", mode)
		}
		flat := strings.Join(strings.Fields(text), " ")
		for _, want := range []string{
			"ỦY BAN NHÂN DÂN", "TỈNH VĨNH LONG", "Số: 02/CT-UBND",
			"CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
			"Vĩnh Long, ngày 05 tháng 01 năm 2026",
			"KHẨN", "CHỈ THỊ",
			"kỷ cương hành chính", "Thủ tướng Chính phủ", "nhũng nhiễu",
			"1. Thủ trưởng các sở, ban, ngành tỉnh", "a) Quán triệt", "Nội dung kiểm tra",
			"TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Nguyễn Văn Thiện",
			"Nơi nhận:", "- Văn phòng Chính phủ;", "- Lưu: VT, SNV.", "PL.(120)",
			"Hoàng Thái Hiếu", "thực hiện./.",
		} {
			if !strings.Contains(flat, want) {
				t.Errorf("pdftotext %v: missing %q", mode, want)
			}
		}
		// Stacked diacritics (base + circumflex/breve/horn + tone) survive.
		for _, r := range "ệộữậẫ" {
			if !strings.ContainsRune(text, r) {
				t.Errorf("pdftotext %v: missing %q", mode, r)
			}
		}
	}
}

func TestNFDInputGivesSameBytes(t *testing.T) {
	d := directive(t)
	nfd := d
	f := norm.NFD.String
	nfd.Agency, nfd.Place, nfd.TypeName, nfd.Subject = f(d.Agency), f(d.Place), f(d.TypeName), f(d.Subject)
	nfd.Body, nfd.SignerAuthority, nfd.SignerTitle, nfd.SignerName = f(d.Body), f(d.SignerAuthority), f(d.SignerTitle), f(d.SignerName)
	nfd.DrafterCode, nfd.AddressLine, nfd.Number = f(d.DrafterCode), f(d.AddressLine), f(d.Number)
	nfd.Recipients = nil
	for _, r := range d.Recipients {
		nfd.Recipients = append(nfd.Recipients, f(r))
	}
	if nfd.Body == d.Body {
		t.Fatal("test setup: NFD body equals NFC body")
	}
	if !bytes.Equal(renderPDF(t, d), renderPDF(t, nfd)) {
		t.Fatal("NFD input renders differently from NFC input")
	}
}

// bboxDoc is pdftotext -bbox output (XHTML).
type bboxDoc struct {
	Pages []struct {
		Width  float64 `xml:"width,attr"`
		Height float64 `xml:"height,attr"`
		Words  []struct {
			XMin float64 `xml:"xMin,attr"`
			YMin float64 `xml:"yMin,attr"`
			XMax float64 `xml:"xMax,attr"`
			YMax float64 `xml:"yMax,attr"`
			Text string  `xml:",chardata"`
		} `xml:"word"`
	} `xml:"body>doc>page"`
}

func bbox(t testing.TB, pdf []byte) bboxDoc {
	t.Helper()
	var doc bboxDoc
	if err := xml.Unmarshal([]byte(run(t, pdf, "pdftotext", "-bbox")), &doc); err != nil {
		t.Fatalf("parse pdftotext -bbox: %v", err)
	}
	if len(doc.Pages) == 0 {
		t.Fatal("pdftotext -bbox: no pages")
	}
	return doc
}

func TestMargins(t *testing.T) {
	for name, d := range map[string]render.Document{"directive": directive(t), "long table": longTable(t), "report": render.SampleReport(6)} {
		t.Run(name, func(t *testing.T) {
			doc := bbox(t, renderPDF(t, d))
			if len(doc.Pages) < 2 {
				t.Fatalf("%d pages, want at least 2", len(doc.Pages))
			}
			for i, p := range doc.Pages {
				n := i + 1
				var inTop []string
				for _, w := range p.Words {
					if w.YMax < marginTop+tol {
						inTop = append(inTop, w.Text)
						// The page number is centred in the top margin.
						if mid := (w.XMin + w.XMax) / 2; mid < p.Width/2-10 || mid > p.Width/2+30 {
							t.Errorf("page %d: top-margin word %q at x=%.1f is not centred", n, w.Text, mid)
						}
						continue
					}
					if w.XMin < marginLeft-tol || w.XMax > p.Width-marginRight+tol || w.YMax > p.Height-marginBottom+tol {
						t.Errorf("page %d: word %q at (%.1f,%.1f)-(%.1f,%.1f) outside the margins", n, w.Text, w.XMin, w.YMin, w.XMax, w.YMax)
					}
					if w.YMin < marginTop-tol {
						t.Errorf("page %d: word %q straddles the top margin (y=%.1f)", n, w.Text, w.YMin)
					}
				}
				want := []string{strconv.Itoa(n)}
				if n == 1 {
					want = nil
				}
				if fmt.Sprint(inTop) != fmt.Sprint(want) {
					t.Errorf("page %d: words in the top margin = %q, want %q", n, inTop, want)
				}
			}
		})
	}
}

func TestQPDFCheckAndFonts(t *testing.T) {
	pdf := renderPDF(t, directive(t))
	run(t, pdf, "qpdf", "--check")
	fonts := run(t, pdf, "pdffonts")
	lines := strings.Split(strings.TrimSpace(fonts), "\n")
	if len(lines) < 3 {
		t.Fatalf("pdffonts lists no fonts:\n%s", fonts)
	}
	styles := map[string]bool{}
	for _, ln := range lines[2:] {
		f := strings.Fields(ln)
		if !strings.Contains(strings.ToLower(f[0]), "liberationserif") {
			t.Errorf("unexpected font %q", f[0])
		}
		styles[f[0]] = true
		// Columns: name type encoding emb sub uni object ID.
		if emb := f[len(f)-5]; emb != "yes" {
			t.Errorf("font %s is not embedded (emb=%s)", f[0], emb)
		}
	}
	// Regular, bold, italic and bold italic are all used by the directive.
	if len(styles) != 4 {
		t.Errorf("pdffonts lists %d fonts, want 4 styles:\n%s", len(styles), fonts)
	}
}

func longTable(t testing.TB) render.Document {
	d := directive(t)
	var b strings.Builder
	b.WriteString("Kết quả kiểm tra tại các đơn vị như sau:\n\n| STT | Đơn vị được kiểm tra | Có mặt | Vắng |\n|---:|---|---:|---:|\n")
	for i := 1; i <= 80; i++ {
		fmt.Fprintf(&b, "| %d | Ủy ban nhân dân xã số %d | %d | %d |\n", i, i, 20+i%7, i%3)
	}
	b.WriteString("\nĐề nghị các đơn vị tiếp tục chấn chỉnh.\n")
	d.Body = b.String()
	return d
}

func TestLongTableRepeatsHeader(t *testing.T) {
	pdf := renderPDF(t, longTable(t))
	n := pages(t, pdf)
	if n < 3 {
		t.Fatalf("80-row table fits in %d pages, want it to span at least 3", n)
	}
	for p := 1; p <= n; p++ {
		text := run(t, pdf, "pdftotext", "-layout", "-f", strconv.Itoa(p), "-l", strconv.Itoa(p))
		rows := regexp.MustCompile(`xã số \d+`).FindAllString(text, -1)
		if len(rows) == 0 {
			continue // the page holding only the end of the body and the signature
		}
		if !strings.Contains(text, "Đơn vị được kiểm tra") {
			t.Errorf("page %d holds table rows (%s … %s) but no header row", p, rows[0], rows[len(rows)-1])
		}
	}
	text := run(t, pdf, "pdftotext", "-layout")
	for i := 1; i <= 80; i++ {
		if !strings.Contains(text, fmt.Sprintf("xã số %d ", i)) {
			t.Errorf("row %d missing", i)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(d *render.Document)
		fields []string
	}{
		{"complete", func(d *render.Document) {}, nil},
		{"no agency", func(d *render.Document) { d.Agency = " \n " }, []string{"agency"}},
		{"no number", func(d *render.Document) { d.Number = "" }, []string{"number"}},
		{"number without symbol", func(d *render.Document) { d.Number = "02" }, []string{"number"}},
		{"unnumbered draft", func(d *render.Document) { d.Number = "/CT-UBND" }, nil},
		{"no place, no date", func(d *render.Document) { d.Place = ""; d.Date = time.Time{} }, []string{"place", "date"}},
		{"minutes need no place", func(d *render.Document) { d.NoDateLine = true; d.Place = "" }, nil},
		{"minutes still need a date", func(d *render.Document) { d.NoDateLine = true; d.Place = ""; d.Date = time.Time{} }, []string{"date"}},
		{"malformed table", func(d *render.Document) { d.Body = "Đoạn.\n\n| A | B |\n| x |\n" }, []string{"body"}},
		{"no subject", func(d *render.Document) { d.Subject = "\t" }, []string{"subject"}},
		{"bad urgency", func(d *render.Document) { d.Urgency = "gấp" }, []string{"urgency"}},
		{"no body", func(d *render.Document) { d.Body = "\n\n" }, []string{"body"}},
		{"no signer", func(d *render.Document) { d.SignerName = "" }, []string{"signer_name"}},
		{"jpeg signature", func(d *render.Document) { d.SignatureImage = []byte("\xff\xd8\xff") }, []string{"signature_image"}},
		{"everything missing", func(d *render.Document) { *d = render.Document{} },
			[]string{"agency", "number", "place", "date", "subject", "body", "signer_name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := directive(t)
			tt.edit(&d)
			err := d.Validate()
			var got []string
			for _, p := range vanthu.ProblemsOf(err) {
				got = append(got, p.Field)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.fields) {
				t.Fatalf("problem fields = %v, want %v (err %v)", got, tt.fields, err)
			}
			if tt.fields != nil {
				if vanthu.ErrorCodeOf(err) != vanthu.EInvalid {
					t.Errorf("code = %v, want invalid", vanthu.ErrorCodeOf(err))
				}
				if _, perr := render.PDF(d); vanthu.ErrorCodeOf(perr) != vanthu.EInvalid {
					t.Errorf("PDF accepted an invalid document: %v", perr)
				}
			}
		})
	}
}

func TestValidateNormalises(t *testing.T) {
	d := directive(t)
	d.SignerName = norm.NFD.String("  Nguyễn   Văn Thiện ")
	d.Recipients = []string{"- Như trên;", "", "  Lưu: VT, SNV. "}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.SignerName != "Nguyễn Văn Thiện" {
		t.Errorf("signer name = %q", d.SignerName)
	}
	if fmt.Sprint(d.Recipients) != "[Như trên Lưu: VT, SNV]" {
		t.Errorf("recipients = %q", d.Recipients)
	}
}

func TestFormatDate(t *testing.T) {
	tests := []struct {
		place string
		t     time.Time
		want  string
	}{
		{"", time.Date(2020, 1, 5, 10, 0, 0, 0, vanthu.Location), "ngày 05 tháng 01 năm 2020"},
		{"", time.Date(2022, 8, 17, 10, 0, 0, 0, vanthu.Location), "ngày 17 tháng 8 năm 2022"},
		{"", time.Date(2022, 2, 9, 10, 0, 0, 0, vanthu.Location), "ngày 09 tháng 02 năm 2022"},
		{"", time.Date(2022, 12, 25, 10, 0, 0, 0, vanthu.Location), "ngày 25 tháng 12 năm 2022"},
		{"Vĩnh Long", time.Date(2022, 8, 16, 20, 0, 0, 0, time.UTC), "Vĩnh Long, ngày 17 tháng 8 năm 2022"},
		{norm.NFD.String("Bến Tre"), time.Date(2022, 3, 1, 0, 0, 0, 0, vanthu.Location), "Bến Tre, ngày 01 tháng 3 năm 2022"},
	}
	for _, tt := range tests {
		if got := render.FormatDate(tt.place, tt.t); got != tt.want {
			t.Errorf("FormatDate(%q, %v) = %q, want %q", tt.place, tt.t, got, tt.want)
		}
	}
}

func BenchmarkDirectivePDF(b *testing.B) {
	d := directive(b)
	for b.Loop() {
		if _, err := render.PDF(d); err != nil {
			b.Fatal(err)
		}
	}
}

// congVan is a công văn from the Sở Nội vụ: no type name, "V/v" subject,
// "Kính gửi" list, signature and seal images.
func congVan(t testing.TB) render.Document {
	t.Helper()
	return render.Document{
		ParentAgency:    "UBND tỉnh Vĩnh Long",
		Agency:          "Sở Nội vụ",
		Number:          "05/SNV-VP",
		Place:           "Vĩnh Long",
		Date:            time.Date(2026, 3, 2, 8, 0, 0, 0, vanthu.Location),
		Subject:         "đôn đốc báo cáo kết quả kiểm tra kỷ luật, kỷ cương hành chính quý I năm 2026",
		Urgency:         render.UrgencyHoaToc,
		KinhGui:         []string{"Các sở, ban, ngành tỉnh", "Ủy ban nhân dân các xã, phường"},
		Body:            "Thực hiện Chỉ thị số 02/CT-UBND, Sở Nội vụ đề nghị các cơ quan, đơn vị gửi báo cáo **trước ngày 14 tháng 3 năm 2026**.\n\nTrân trọng.",
		SignerAuthority: "KT. Giám đốc",
		SignerTitle:     "Phó Giám đốc",
		SignerName:      "Trần Thị Ngọc Hân",
		SignatureImage:  pngImage(t, 300, 120, color.NRGBA{0, 0, 200, 255}),
		SealImage:       pngImage(t, 200, 200, color.NRGBA{220, 0, 0, 255}),
		Recipients:      []string{"Như trên", "Lưu: VT, VP"},
	}
}

// pngImage draws on a transparent w×h canvas in colour c: a ring when
// the canvas is square (a seal), a wavy stroke otherwise (a signature).
func pngImage(t testing.TB, w, h int, c color.NRGBA) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	cx, cy, r := float64(w)/2, float64(h)/2, float64(min(w, h))/2-4
	for y := range h {
		for x := range w {
			var on bool
			if w == h {
				d := math.Hypot(float64(x)-cx, float64(y)-cy)
				on = d > r-6 && d < r
			} else {
				wave := cy + cy*0.6*math.Sin(float64(x)/float64(w)*3*math.Pi)
				on = math.Abs(float64(y)-wave) < 3
			}
			if on {
				img.SetNRGBA(x, y, c)
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCongVan(t *testing.T) {
	d := congVan(t)
	pdf := renderPDF(t, d)
	if !bytes.Equal(pdf, renderPDF(t, d)) {
		t.Fatal("two renderings of the same công văn differ")
	}
	flat := strings.Join(strings.Fields(run(t, pdf, "pdftotext", "-raw")), " ")
	for _, want := range []string{
		"UBND TỈNH VĨNH LONG", "SỞ NỘI VỤ", "Số: 05/SNV-VP", "V/v đôn đốc báo cáo", "HỎA TỐC",
		"Kính gửi:", "- Các sở, ban, ngành tỉnh;", "- Ủy ban nhân dân các xã, phường.",
		"Trân trọng./.", "KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Trần Thị Ngọc Hân", "- Như trên;", "- Lưu: VT, VP.",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("missing %q in:\n%s", want, flat)
		}
	}
	if strings.Contains(flat, "CÔNG VĂN") {
		t.Error("a công văn prints no type name")
	}
	// Signature and seal are embedded as images (each with an alpha mask).
	list := run(t, pdf, "pdfimages", "-list")
	if n := len(regexp.MustCompile(`(?m)^\s*\d+\s+\d+\s+image\s`).FindAllString(list, -1)); n != 2 {
		t.Errorf("pdfimages lists %d images, want signature and seal:\n%s", n, list)
	}
	if n := pages(t, pdf); n != 1 {
		t.Errorf("short công văn has %d pages, want 1", n)
	}
}

func TestUnnumberedDraft(t *testing.T) {
	d := directive(t)
	d.Number = "/CT-UBND"
	text := run(t, renderPDF(t, d), "pdftotext", "-layout")
	if !regexp.MustCompile(`Số:\s+/CT-UBND`).MatchString(text) {
		t.Errorf("draft number line not found in:\n%s", text[:min(len(text), 800)])
	}
}

// TestSignatureBlockStaysWhole grows the last paragraph sentence by
// sentence, so that the signature block reaches the foot of the page at
// some point: it must then move to the next page as a whole, with "Nơi
// nhận" beside it.
func TestSignatureBlockStaysWhole(t *testing.T) {
	base := congVan(t)
	moved := false
	for k := 0; k < 36; k += 3 {
		d := base
		d.Body = strings.TrimSuffix(d.Body, "Trân trọng.") + strings.Repeat("Các đơn vị khẩn trương thực hiện, bảo đảm đúng thời hạn quy định. ", k*3) + "\n\nTrân trọng."
		doc := bbox(t, renderPDF(t, d))
		page := map[string]int{}
		for i, p := range doc.Pages {
			for _, w := range p.Words {
				if w.YMax > p.Height-marginBottom+tol {
					t.Errorf("k=%d: page %d: %q below the bottom margin", k, i+1, w.Text)
				}
				switch w.Text {
				case "KT.", "Hân", "nhận:", "VP.", "trọng./.":
					page[w.Text] = i + 1
				}
			}
		}
		if len(page) != 5 {
			t.Fatalf("k=%d: words found on pages %v", k, page)
		}
		sig := page["KT."]
		for _, w := range []string{"Hân", "nhận:", "VP."} {
			if page[w] != sig {
				t.Errorf("k=%d: signature block split: %v", k, page)
			}
		}
		if page["trọng./."] != sig {
			moved = true
		}
	}
	if !moved {
		t.Error("no variant pushed the signature block to a new page; the test does not exercise the page break")
	}
}

// TestJustifiedMixedRuns checks that lines mixing regular, bold and italic
// runs are fully justified: they run from the left margin to the right one.
func TestJustifiedMixedRuns(t *testing.T) {
	doc := bbox(t, renderPDF(t, directive(t)))
	p := doc.Pages[0]
	for _, key := range []string{"Đoàn", "nhũng"} {
		var y float64 = -1
		for _, w := range p.Words {
			if w.Text == key {
				y = w.YMax
				break
			}
		}
		if y < 0 {
			t.Fatalf("word %q not on page 1", key)
		}
		lo, hi := p.Width, 0.0
		n := 0
		for _, w := range p.Words {
			if math.Abs(w.YMax-y) < 1 {
				lo, hi = min(lo, w.XMin), max(hi, w.XMax)
				n++
			}
		}
		if math.Abs(lo-marginLeft) > 0.5 || math.Abs(hi-(p.Width-marginRight)) > 0.5 {
			t.Errorf("line with %q (%d words) spans x=%.1f–%.1f, want %.1f–%.1f", key, n, lo, hi, marginLeft, p.Width-marginRight)
		}
	}
}

// TestConcurrent renders from several goroutines: the embedded font bytes
// are shared, so -race must stay quiet and the bytes must agree.
func TestConcurrent(t *testing.T) {
	d := congVan(t)
	want := renderPDF(t, d)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			got, err := render.PDF(d)
			if err == nil && !bytes.Equal(got, want) {
				err = errors.New("concurrent rendering gave different bytes")
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestSubjectNoWidow: the subject under the type name does not end on a
// line holding one word: the year stays with "năm" (pdftotext reads the
// lines back).
func TestSubjectNoWidow(t *testing.T) {
	for _, subject := range []string{
		"Kết quả thực hiện kỷ luật, kỷ cương hành chính quý IV năm 2026",
		"Kết quả thực hiện kỷ luật, kỷ cương hành chính 6 tháng đầu năm 2026",
		"Về tăng cường kỷ luật, kỷ cương hành chính trong các cơ quan hành chính nhà nước năm 2026",
	} {
		d := directive(t)
		d.Subject = subject
		text := run(t, renderPDF(t, d), "pdftotext", "-layout", "-l", "1")
		for line := range strings.Lines(text) {
			if strings.TrimSpace(line) == "2026" {
				t.Errorf("%q: the year is alone on the subject's last line:\n%s", subject, text)
			}
		}
		if !strings.Contains(strings.Join(strings.Fields(text), " "), subject) {
			t.Errorf("%q: subject not found in the text:\n%s", subject, text)
		}
	}
}

// TestCaptionStaysWithItsBlock: a paragraph ending in a colon (a chart's
// caption, a table's title) is never the last thing on a page while what
// it introduces starts on the next one, wherever the page break falls
// (pdftotext, page by page).
func TestCaptionStaysWithItsBlock(t *testing.T) {
	blocks := map[string]struct{ caption, block, first string }{
		"chart": {"Biểu đồ 1. Số người vi phạm theo loại:", "```chart\n# Quý này | Quý trước\nĐi muộn | 5 | 3\nVề sớm | 2 | 1\nVắng không lý do | 1 | 0\n```", "Đi muộn"},
		"table": {"Bảng 1. Kết quả kiểm tra:", "| Đơn vị | Vắng |\n|---|---|\n| Xã Tân Phú | 3 |\n| Xã Long Hồ | 1 |", "Xã Tân Phú"},
	}
	for name, tc := range blocks {
		t.Run(name, func(t *testing.T) {
			crossed := false
			for k := range 40 {
				d := directive(t)
				var body strings.Builder
				for i := range k {
					fmt.Fprintf(&body, "Đoạn văn thứ %d của phần mở đầu, đủ dài để chiếm trọn một dòng của trang văn bản hành chính.\n\n", i+1)
				}
				body.WriteString(tc.caption + "\n\n" + tc.block + "\n\nĐoạn kết thúc.\n")
				d.Body = body.String()
				pages := strings.Split(run(t, renderPDF(t, d), "pdftotext", "-layout"), "\f")
				captionPage, firstPage := -1, -1
				for i, p := range pages {
					flat := strings.Join(strings.Fields(p), " ")
					if captionPage < 0 && strings.Contains(flat, tc.caption) {
						captionPage = i
					}
					if firstPage < 0 && strings.Contains(flat, tc.first) {
						firstPage = i
					}
				}
				if captionPage < 0 || captionPage != firstPage {
					t.Fatalf("%d paragraphs before: caption on page %d, %q on page %d", k, captionPage+1, tc.first, firstPage+1)
				}
				crossed = crossed || captionPage > 0
			}
			if !crossed {
				t.Fatal("the caption never reached page 2: the test proves nothing")
			}
		})
	}
}
