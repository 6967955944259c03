package templates

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/unicode/norm"

	"github.com/sonoivu/vanthu/internal/render"
	"github.com/sonoivu/vanthu/internal/render/sheet"
	"github.com/sonoivu/vanthu/internal/testenv"
)

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./templates -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (%d bytes, want %d); if the change is intended run go test ./templates -update and look at the result", name, len(got), len(want))
	}
}

// TestGoldenDocuments lays out every default document template with its
// sample and compares the PDF with its golden file, then reads the PDF back
// with pdftotext: the frame and body text must come out as NFC text.
func TestGoldenDocuments(t *testing.T) {
	s, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	wantText := map[string][]string{
		"directive": {"CHỈ THỊ", "Số: 02/CT-UBND", "Vĩnh Long, ngày 25 tháng 11 năm 2026", "Nơi nhận:"},
		"minutes":   {"BIÊN BẢN", "Số: 15/BB-ĐKT", "Nguyễn Văn Thưởng", "TRƯỞNG ĐOÀN KIỂM TRA"},
		"report":    {"BÁO CÁO", "quý IV năm 2026", "Khiển trách: 3 trường hợp"},
		"reminder":  {"V/v Đôn đốc xác nhận tiếp nhận Chỉ thị số 02/CT-UBND", "Kính gửi: Ủy ban nhân dân phường Thanh Đức", "lần đôn đốc thứ 1"},
		"receipts": {"BÁO CÁO", "Tình hình tiếp nhận văn bản số 02/CT-UBND ngày 25/11/2026", "Kính gửi: Giám đốc Sở Nội vụ",
			"a349149a41dd3d4377f0cb84f6ab05059af056ba30b8b701ca6847b959b2e978", "Sở Giáo dục và Đào tạo", "Thư báo đã đọc", "Hệ thống của đơn vị (API)"},
	}
	for _, name := range s.Documents() {
		t.Run(name, func(t *testing.T) {
			in, err := s.Sample(name)
			if err != nil {
				t.Fatal(err)
			}
			d, err := s.Document(name, in)
			if err != nil {
				t.Fatal(err)
			}
			pdf, err := render.PDF(d)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".pdf", pdf)
			if *update {
				pageImage(t, pdf, filepath.Join("..", "docs", "templates", name+"-1"))
			}
			text := pdfText(t, pdf)
			if !norm.NFC.IsNormalString(text) {
				t.Error("pdftotext gives text that is not NFC")
			}
			for _, w := range wantText[name] {
				if !strings.Contains(text, w) {
					t.Errorf("PDF text lacks %q", w)
				}
			}
			// Form 1.9: the minutes have no place-and-date line.
			if hasDateLine := strings.Contains(text, "Vĩnh Long, ngày"); hasDateLine == (name == "minutes") {
				t.Errorf("date line present = %v for %s", hasDateLine, name)
			}
		})
	}
	if len(s.Documents()) != len(wantText) {
		t.Errorf("documents = %v, want a check for each", s.Documents())
	}
}

// pageImage writes the first page as prefix.png, for reviewers to see
// that the document looks like the real thing (README, docs/templates).
func pageImage(t *testing.T, pdf []byte, prefix string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(f, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", f, prefix).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
}

// pdfText extracts a PDF's text with poppler's pdftotext.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if testenv.InCI() {
			t.Fatal("pdftotext missing (poppler-utils)")
		}
		t.Skip("pdftotext not installed")
	}
	f := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(f, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-enc", "UTF-8", f, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	// pdftotext puts justified words apart by more than one space.
	return strings.Join(strings.Fields(string(out)), " ")
}

// TestGoldenMails renders every mail template with its sample; the golden
// file holds subject, text and HTML, so a wording change is reviewed.
func TestGoldenMails(t *testing.T) {
	s, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Mails(), ","); got != "directive,minutes,reminder,report,test" {
		t.Fatalf("mails = %s", got)
	}
	for _, name := range s.Mails() {
		t.Run(name, func(t *testing.T) {
			data, err := s.MailSample(name)
			if err != nil {
				t.Fatal(err)
			}
			m, err := s.Mail(name, data)
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") {
				t.Errorf("subject %q: want one non-empty line", m.Subject)
			}
			for _, part := range []string{m.Subject, m.Text, m.HTML} {
				if !norm.NFC.IsNormalString(part) {
					t.Errorf("not NFC: %q", part)
				}
			}
			// The acknowledgement link is the point of the directive and
			// reminder mails: it must be in both bodies.
			if url, ok := data["AckURL"].(string); ok {
				if !strings.Contains(m.Text, url) || !strings.Contains(m.HTML, `href="`+url+`"`) {
					t.Errorf("acknowledgement link missing from a body")
				}
			}
			golden(t, "mail-"+name+".txt", []byte("Subject: "+m.Subject+"\n\n"+m.Text+"\n---- HTML ----\n"+m.HTML))
		})
	}
}

func TestMailEscapesHTML(t *testing.T) {
	s, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := s.MailSample("directive")
	d := map[string]any{}
	for k, v := range data {
		d[k] = v
	}
	d["Unit"] = `<script>alert("x")</script> Phường 1`
	m, err := s.Mail("directive", d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, "<script>") || !strings.Contains(m.HTML, "&lt;script&gt;") {
		t.Errorf("unit name not escaped in HTML")
	}
	if !strings.Contains(m.Text, `<script>alert("x")</script> Phường 1`) {
		t.Errorf("text body should carry the name as typed")
	}
}

func TestBrokenMailOverride(t *testing.T) {
	tests := []struct{ file, content, want string }{
		{"directive.txt.tmpl", "Kính gửi {{.Unit}}\n\n{{.AckUrl}}\n", "mail/directive.txt.tmpl:3"},
		{"reminder.html.tmpl", "<p>{{.Unit}</p>", "mail/reminder.html.tmpl:1"},
		{"report.sample.json", `{"Recipient": "UBND tỉnh"`, "mail/report.sample.json"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			err := loadOverride(t, "mail", tt.file, []byte(tt.content))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to name %q", err, tt.want)
			}
		})
	}
}

// dumpWorkbook lists every non-empty cell of every sheet, as value or
// formula with its cached value, for golden files that a reviewer can read.
func dumpWorkbook(t *testing.T, xlsx []byte) (string, *excelize.File) {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(xlsx))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	var b strings.Builder
	for _, sh := range f.GetSheetList() {
		fmt.Fprintf(&b, "== %s\n", sh)
		rows, err := f.GetRows(sh, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		for r, row := range rows {
			for c, v := range row {
				ref, _ := excelize.CoordinatesToCellName(c+1, r+1)
				fx, _ := f.GetCellFormula(sh, ref)
				switch {
				case fx != "":
					fmt.Fprintf(&b, "%s =%s -> %s\n", ref, fx, v)
				case v != "":
					fmt.Fprintf(&b, "%s %s\n", ref, v)
				}
			}
		}
	}
	return b.String(), f
}

// TestGoldenSheets fills every Excel template with its sample, compares the
// cells with a golden dump and checks, reading the workbook back, that each
// total equals the sum of its rows as computed here from the sample.
func TestGoldenSheets(t *testing.T) {
	s, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	// Other templates have golden tests of their own (inspections); these
	// must be here.
	for _, want := range []string{"annexes", "findings", "receipts", "tracking"} {
		if !slices.Contains(s.Sheets(), want) {
			t.Fatalf("sheets = %v, want %s among them", s.Sheets(), want)
		}
	}
	for _, name := range s.Sheets() {
		t.Run(name, func(t *testing.T) {
			d, _ := s.SheetSample(name)
			xlsx, err := s.FillSheet(context.Background(), name, d)
			if err != nil {
				t.Fatal(err)
			}
			dump, f := dumpWorkbook(t, xlsx)
			golden(t, name+".xlsx.txt", []byte(dump))
			if !norm.NFC.IsNormalString(dump) {
				t.Error("cells are not NFC")
			}
			for _, c := range totalsFor(name, d) {
				got, err := f.CalcCellValue(c.sheet, c.ref)
				if err != nil {
					t.Fatalf("%s!%s: %v", c.sheet, c.ref, err)
				}
				if got != fmt.Sprint(c.want) {
					t.Errorf("%s!%s = %s, want %d (sum of the sample's rows)", c.sheet, c.ref, got, c.want)
				}
			}
		})
	}
}

type total struct {
	sheet, ref string
	want       int
}

// totalsFor computes, from the sample records, what the totals row of each
// template must show. The templates put the header in row 4, the records
// from row 5 and the totals right below them.
func totalsFor(name string, d sheet.Data) []total {
	count := func(recs []map[string]any, pred func(map[string]any) bool) int {
		n := 0
		for _, r := range recs {
			if pred(r) {
				n++
			}
		}
		return n
	}
	sum := func(recs []map[string]any, field string) int {
		n := 0
		for _, r := range recs {
			if v, ok := r[field].(int64); ok {
				n += int(v)
			}
		}
		return n
	}
	has := func(field string) func(map[string]any) bool {
		return func(r map[string]any) bool { return r[field] != nil }
	}
	switch name {
	case "tracking":
		recs := d.Rows[""]
		row := fmt.Sprint(5 + len(recs))
		return []total{
			{"Theo dõi", "D" + row, count(recs, has("SentAt"))},
			{"Theo dõi", "E" + row, count(recs, has("ReadAt"))},
			{"Theo dõi", "F" + row, count(recs, has("AckAt"))},
			{"Theo dõi", "G" + row, sum(recs, "Reminders")},
			{"Theo dõi", "H" + row, count(recs, func(r map[string]any) bool { return r["Overdue"] == "Có" })},
		}
	case "findings":
		recs := d.Rows[""]
		return []total{{"Vi phạm", fmt.Sprint("A", 5+len(recs)), len(recs)}}
	case "receipts":
		recs := d.Rows[""]
		row := fmt.Sprint(5 + len(recs))
		out := []total{
			{"Tiếp nhận", "C" + row, len(recs)},
			{"Tiếp nhận", "E" + row, count(recs, has("SentAt"))},
			{"Tiếp nhận", "H" + row, count(recs, has("ReadAt"))},
			{"Tiếp nhận", "K" + row, count(recs, has("AckAt"))},
			{"Tiếp nhận", "O" + row, count(recs, has("ProblemAt"))},
		}
		// Below the totals: units per status, in receiptStatuses order.
		for i, st := range receiptStatuses {
			out = append(out, total{"Tiếp nhận", fmt.Sprint("D", 5+len(recs)+3+i), count(recs, func(r map[string]any) bool { return r["Status"] == st })})
		}
		return out
	case "annexes":
		var out []total
		cols := map[string][]string{
			"Biểu 1":   {"E:Staff", "F:Present", "G:AbsentExcused", "H:AbsentUnexcused", "I:Late", "J:Violators"},
			"Biểu 2":   {"D:Count"},
			"Biểu 3":   {"C:Count", "D:Previous"},
			"Biểu 4":   {"C:Documents", "D:Received", "E:Read", "F:Acknowledged", "G:Late", "H:Overdue"},
			"Tổng hợp": {"C:Count", "D:Previous"},
		}
		for sh, cs := range cols {
			recs := d.Rows[sh]
			// The summary's violations table starts below its 18 headline
			// figures (rows 5 to 22), a blank row and its header (24).
			first := 5
			if sh == "Tổng hợp" {
				first = 25
			}
			for _, c := range cs {
				col, field, _ := strings.Cut(c, ":")
				out = append(out, total{sh, fmt.Sprint(col, first+len(recs)), sum(recs, field)})
			}
		}
		out = append(out, total{"Chi tiết", fmt.Sprint("A", 5+len(d.Rows["Chi tiết"])), len(d.Rows["Chi tiết"])})
		return out
	}
	return nil
}

// TestFindingsKeepsFormulaLikeTextAsText fills the findings sheet with user
// text that a spreadsheet would otherwise run as a formula.
func TestFindingsKeepsFormulaLikeTextAsText(t *testing.T) {
	s, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := s.SheetSample("findings")
	evil := []string{`=HYPERLINK("http://evil.example","bấm")`, "+84 270 3822 123", "-1", "@SUM(A1)"}
	recs := make([]map[string]any, len(evil))
	for i, e := range evil {
		recs[i] = map[string]any{"FullName": "Nguye\u0302\u0303n Văn A", "Violation": e, "Handling": "Nhắc nhở"}
	}
	d.Rows = map[string][]map[string]any{"": recs}
	xlsx, err := s.FillSheet(context.Background(), "findings", d)
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(xlsx))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i, e := range evil {
		ref := fmt.Sprint("E", 5+i)
		if fx, _ := f.GetCellFormula("Vi phạm", ref); fx != "" {
			t.Errorf("%s became a formula: %q", ref, fx)
		}
		if v, _ := f.GetCellValue("Vi phạm", ref); v != e {
			t.Errorf("%s = %q, want %q", ref, v, e)
		}
		if typ, _ := f.GetCellType("Vi phạm", ref); typ != excelize.CellTypeSharedString && typ != excelize.CellTypeInlineString {
			t.Errorf("%s has type %v, want a string", ref, typ)
		}
	}
	if v, _ := f.GetCellValue("Vi phạm", "B5"); v != "Nguyễn Văn A" {
		t.Errorf("B5 = %q, want NFC", v)
	}
	if got, _ := f.CalcCellValue("Vi phạm", "A9"); got != "4" {
		t.Errorf("total A9 = %q, want 4", got)
	}
}

func TestBrokenSheetOverride(t *testing.T) {
	tracking, err := os.ReadFile(filepath.Join("sheets", "tracking.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(tracking))
	if err != nil {
		t.Fatal(err)
	}
	f.SetCellStr("Theo dõi", "C5", "{{.Nmae}}") // misspelt field
	var misspelt bytes.Buffer
	if _, err := f.WriteTo(&misspelt); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file    string
		content []byte
		want    string
	}{
		{"tracking.xlsx", misspelt.Bytes(), "Theo dõi!C5"},
		{"findings.xlsx", []byte("not a workbook"), "sheets/findings.xlsx"},
		{"annexes.sample.json", []byte(`{"values": {}, "rowz": {}}`), `unknown field "rowz"`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			err := loadOverride(t, "sheets", tt.file, tt.content)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to name %q", err, tt.want)
			}
		})
	}
}
