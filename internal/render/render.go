// Package render lays out administrative documents in the Decree 30/2020/NĐ-CP
// format (A4, Liberation Serif, two-column header, body, signature block,
// "Nơi nhận") and writes them as PDF.
//
// The body is Markdown (CommonMark plus tables), already expanded from a
// template. It is parsed with goldmark and laid out word by word, so bold and
// italic runs inside a justified paragraph keep full justification. A
// fenced block with the info string "chart" is drawn as a horizontal bar
// chart (see chart.go for its lines).
//
// PDF renders one document; a process that renders many may hold a
// Renderer (NewRenderer), which prepares the fonts once; PDF itself uses
// one shared by the process.
//
// Output is deterministic: the same Document gives the same bytes, whether
// its text arrives composed (NFC) or decomposed (NFD), because every field
// is normalised before layout and the PDF dates come from Document.Date.
package render

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/vntext"
)

// Urgency is the urgency mark (box 10b), printed bold in a red box.
type Urgency string

// Urgency levels. The empty value means an ordinary document.
const (
	UrgencyNone       Urgency = ""
	UrgencyKhan       Urgency = "khan"
	UrgencyThuongKhan Urgency = "thuong-khan"
	UrgencyHoaToc     Urgency = "hoa-toc"
)

// Label returns the printed mark of u ("KHẨN", "THƯỢNG KHẨN", "HỎA TỐC"),
// or "" for UrgencyNone or an unknown value.
func (u Urgency) Label() string {
	switch u {
	case UrgencyKhan:
		return "KHẨN"
	case UrgencyThuongKhan:
		return "THƯỢNG KHẨN"
	case UrgencyHoaToc:
		return "HỎA TỐC"
	}
	return ""
}

// Document is everything printed on an administrative document. Field
// comments name the Decree 30 box each one fills.
type Document struct {
	// ParentAgency is the upper line of box 2 (e.g. "UBND TỈNH VĨNH LONG");
	// may be empty. A "\n" forces a line break.
	ParentAgency string
	// Agency is the issuing agency, box 2 (e.g. "SỞ NỘI VỤ"). A "\n" forces
	// a line break ("ỦY BAN NHÂN DÂN\nTỈNH VĨNH LONG").
	Agency string
	// Number is the number and symbol, box 3 ("02/CT-UBND"). An unnumbered
	// draft passes the symbol alone ("/CT-UBND"): a blank is left for the
	// number.
	Number string
	// Place is the place name of the date line, box 4 ("Vĩnh Long").
	Place string
	// Date is the issue date, box 4; it is also the PDF creation date.
	Date time.Time
	// NoDateLine is set for Decree 30 form 1.9, biên bản: the header's
	// right column has no place-and-date line (box 4). Place is then
	// optional for validation; Date is still required because it is the
	// PDF creation date.
	NoDateLine bool
	// TypeName is the document type printed above the subject, box 5a
	// ("CHỈ THỊ"); empty for a công văn, whose subject is printed as
	// "V/v …" under the number (box 5b).
	TypeName string
	// Subject is the trích yếu.
	Subject string
	// Urgency is the urgency mark, box 10b.
	Urgency Urgency
	// KinhGui lists the "Kính gửi:" recipients, box 9a.
	KinhGui []string
	// Body is the content, box 6, as Markdown.
	Body string
	// SignerAuthority is the authority line, box 7a ("TM. ỦY BAN NHÂN DÂN",
	// "KT. GIÁM ĐỐC"); may be empty.
	SignerAuthority string
	// SignerTitle is the signer's title, box 7a ("CHỦ TỊCH").
	SignerTitle string
	// SignerName is the signer's name, box 7b.
	SignerName string
	// SignatureImage is an optional PNG drawn between title and name.
	SignatureImage []byte
	// SealImage is an optional PNG of the seal, box 8, drawn over the left
	// third of the signature.
	SealImage []byte
	// Recipients are the "Nơi nhận:" lines, box 9b, without the leading
	// "- " and the trailing ";" (e.g. "Như trên", "Lưu: VT, TCBM").
	Recipients []string
	// DrafterCode is box 12 ("PL.(300)").
	DrafterCode string
	// AddressLine is box 13, printed at the foot of page 1.
	AddressLine string
}

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// Validate normalises every text field to NFC (collapsing runs of white
// space in one-line fields, dropping blank list entries and the "- " / ";"
// decorations the renderer adds itself) and reports each missing or invalid
// field as a vanthu.Invalid error with snake_case field names. A malformed
// Markdown table or chart block in the body is reported with field "body"
// and the 1-based line of the body.
func (d *Document) Validate() error {
	_, err := d.validate()
	return err
}

// validate is Validate that also returns the parsed body, so that PDF
// parses it once.
func (d *Document) validate() ([]block, error) {
	d.ParentAgency = cleanLines(d.ParentAgency)
	d.Agency = cleanLines(d.Agency)
	d.Number = vntext.Clean(d.Number)
	d.Place = vntext.Clean(d.Place)
	d.TypeName = vntext.Clean(d.TypeName)
	d.Subject = vntext.Clean(d.Subject)
	d.Urgency = Urgency(strings.TrimSpace(string(d.Urgency)))
	d.KinhGui = cleanList(d.KinhGui)
	d.Body = vntext.NFC(strings.ReplaceAll(d.Body, "\r\n", "\n"))
	d.SignerAuthority = vntext.Clean(d.SignerAuthority)
	d.SignerTitle = vntext.Clean(d.SignerTitle)
	d.SignerName = vntext.Clean(d.SignerName)
	d.Recipients = cleanList(d.Recipients)
	d.DrafterCode = vntext.Clean(d.DrafterCode)
	d.AddressLine = vntext.Clean(d.AddressLine)

	var ps []vanthu.Problem
	need := func(field, value, msg string) {
		if value == "" {
			ps = append(ps, vanthu.Problem{Field: field, Message: msg})
		}
	}
	need("agency", d.Agency, "Thiếu cơ quan ban hành.")
	need("number", d.Number, "Thiếu số, ký hiệu văn bản.")
	if d.Number != "" && !strings.Contains(d.Number, "/") {
		ps = append(ps, vanthu.Problem{Field: "number", Message: "Số, ký hiệu phải có dạng số/ký hiệu, ví dụ 02/CT-UBND."})
	}
	if !d.NoDateLine {
		need("place", d.Place, "Thiếu địa danh.")
	}
	if d.Date.IsZero() {
		ps = append(ps, vanthu.Problem{Field: "date", Message: "Thiếu ngày ban hành."})
	}
	need("subject", d.Subject, "Thiếu trích yếu nội dung.")
	if d.Urgency != UrgencyNone && d.Urgency.Label() == "" {
		ps = append(ps, vanthu.Problem{Field: "urgency", Message: "Mức độ khẩn không hợp lệ (khan, thuong-khan, hoa-toc)."})
	}
	var blocks []block
	if strings.TrimSpace(d.Body) == "" {
		ps = append(ps, vanthu.Problem{Field: "body", Message: "Thiếu nội dung văn bản."})
	} else {
		var bps []vanthu.Problem
		blocks, bps = parseBody(d.Body)
		ps = append(ps, bps...)
	}
	need("signer_name", d.SignerName, "Thiếu họ tên người ký.")
	if len(d.SignatureImage) > 0 && !bytes.HasPrefix(d.SignatureImage, pngMagic) {
		ps = append(ps, vanthu.Problem{Field: "signature_image", Message: "Ảnh chữ ký phải là tệp PNG."})
	}
	if len(d.SealImage) > 0 && !bytes.HasPrefix(d.SealImage, pngMagic) {
		ps = append(ps, vanthu.Problem{Field: "seal_image", Message: "Ảnh con dấu phải là tệp PNG."})
	}
	if len(ps) > 0 {
		return nil, vanthu.Invalid("Văn bản chưa đủ thông tin để trình bày.", ps...)
	}
	return blocks, nil
}

// cleanLines normalises a field where "\n" is a deliberate line break.
func cleanLines(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = vntext.Clean(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// cleanList normalises list entries, drops blank ones and strips the
// "- " prefix and ";" / "." suffix that the layout adds back.
func cleanList(in []string) []string {
	var out []string
	for _, s := range in {
		s = vntext.Clean(s)
		s = strings.TrimLeft(s, "-+• ")
		s = strings.TrimRight(s, ";. ")
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// FormatDate returns the date line of box 4 in vanthu.Location:
// "Vĩnh Long, ngày 05 tháng 01 năm 2020". Days below 10 and the months
// January and February take a leading zero. An empty place gives the date
// alone ("ngày 17 tháng 8 năm 2022").
func FormatDate(place string, t time.Time) string {
	t = t.In(vanthu.Location)
	month := fmt.Sprint(int(t.Month()))
	if t.Month() <= time.February {
		month = "0" + month
	}
	s := fmt.Sprintf("ngày %02d tháng %s năm %d", t.Day(), month, t.Year())
	if place = vntext.Clean(place); place != "" {
		s = place + ", " + s
	}
	return s
}

// texts returns every text field of d that may be printed.
func (d *Document) texts() []string {
	out := []string{d.ParentAgency, d.Agency, d.Number, d.Place, d.TypeName, d.Subject,
		d.Body, d.SignerAuthority, d.SignerTitle, d.SignerName, d.DrafterCode, d.AddressLine}
	out = append(out, d.KinhGui...)
	return append(out, d.Recipients...)
}
