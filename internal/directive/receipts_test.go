package directive

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/unicode/norm"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/testenv"
)

const sampleSHA = "9f2c4e1a7b3d5f60812c3e4d5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7"

// receiptCase is one unit of the report fixture with what the report must
// say about it, written out by hand rather than derived by the code under
// test.
type receiptCase struct {
	r      vanthu.Receipt
	status string   // the status label
	texts  []string // phrases its evidence must print
}

func tm(day, hour, min int) *time.Time {
	t := time.Date(2026, 11, day, hour, min, 0, 0, vanthu.Location)
	return &t
}

func ev(src vanthu.EventSource, actor, ref string, at *time.Time, detail map[string]any) vanthu.MilestoneEvidence {
	return vanthu.MilestoneEvidence{EventID: 1, At: *at, Source: src, Actor: actor, Ref: ref, Detail: detail}
}

// receiptFixture is a report over every channel: the ack page, a unit's
// system (API), a read receipt, a reply, a bounce, a refused send, one
// unit still queued and one sent before events were kept.
func receiptFixture() (vanthu.Document, vanthu.Artifact, []receiptCase) {
	issued := tm(25, 8, 30)
	deadline := tm(27, 17, 0)
	doc := vanthu.Document{ID: 7, Kind: vanthu.KindDirective, TypeCode: "CT", Issuer: "UBND", Symbol: "02/CT-UBND", State: vanthu.StateIssued, IssuedAt: issued,
		Subject: "Về tăng cường kỷ luật, kỷ cương hành chính"}
	art := vanthu.Artifact{Name: "02-CT-UBND.pdf", ContentType: "application/pdf", SHA256: sampleSHA, Size: 62989}
	d := func(id int64, code, name string) vanthu.Dispatch {
		return vanthu.Dispatch{ID: id, DocumentID: 7, UnitID: id, UnitCode: code, UnitName: name, QueuedAt: issued, Deadline: deadline}
	}
	smtp := func(id int64, at *time.Time) vanthu.MilestoneEvidence {
		return ev(vanthu.SourceSMTP, "system", fmt.Sprintf("<vanthu.%d.tag@snv.vinhlong.gov.vn>", id), at, nil)
	}
	var cs []receiptCase

	// Ack page: opened, then the form.
	stc := d(1, "STC", "Sở Tài chính")
	stc.SentAt, stc.ReadAt, stc.AcknowledgedAt = tm(25, 9, 0), tm(25, 9, 10), tm(26, 8, 15)
	stc.Ack = vanthu.Ack{Name: "Nguyễn Thị Hồng", Position: "Văn thư", Note: "Đã vào sổ."}
	cs = append(cs, receiptCase{r: vanthu.Receipt{Dispatch: stc, Evidence: map[vanthu.Milestone]vanthu.MilestoneEvidence{
		vanthu.MilestoneSent:         smtp(1, stc.SentAt),
		vanthu.MilestoneRead:         ev(vanthu.SourceWeb, "STC", "ack page from 10.12.4.21", stc.ReadAt, nil),
		vanthu.MilestoneAcknowledged: ev(vanthu.SourceWeb, "STC", "ack form from 10.12.4.21", stc.AcknowledgedAt, map[string]any{"name": "Nguyễn Thị Hồng", "position": "Văn thư", "note": "Đã vào sổ."}),
	}}, status: "Đã xác nhận", texts: []string{"mở trang xác nhận từ địa chỉ 10.12.4.21", "người xác nhận: Nguyễn Thị Hồng, Văn thư", "ghi chú: Đã vào sổ"}})

	// A unit's document system registered it (03); read is implied.
	stp := d(2, "STP", "Sở Tư pháp")
	stp.SentAt, stp.ReadAt, stp.AcknowledgedAt = tm(25, 9, 2), tm(25, 10, 5), tm(25, 10, 5)
	api := ev(vanthu.SourceAPI, "STP", "api from 10.12.8.3", stp.AcknowledgedAt, map[string]any{"ladder": "03", "name": "Trần Văn Bình", "position": "Chánh Văn phòng"})
	implied := api
	implied.ImpliedBy = vanthu.MilestoneAcknowledged
	cs = append(cs, receiptCase{r: vanthu.Receipt{Dispatch: stp, Evidence: map[vanthu.Milestone]vanthu.MilestoneEvidence{
		vanthu.MilestoneSent: smtp(2, stp.SentAt), vanthu.MilestoneRead: implied, vanthu.MilestoneAcknowledged: api,
	}}, status: "Đã xác nhận", texts: []string{"suy ra từ mốc xác nhận", "trạng thái liên thông 03 (đã vào sổ)", "người xác nhận: Trần Văn Bình, Chánh Văn phòng"}})

	// A read receipt; the name carries Markdown and arrives decomposed.
	syt := d(3, "SYT", norm.NFD.String("Sở Y tế | *Khối* sức khỏe"))
	syt.SentAt, syt.ReadAt = tm(25, 9, 4), tm(25, 11, 16)
	cs = append(cs, receiptCase{r: vanthu.Receipt{Dispatch: syt, Evidence: map[vanthu.Milestone]vanthu.MilestoneEvidence{
		vanthu.MilestoneSent: smtp(3, syt.SentAt),
		vanthu.MilestoneRead: ev(vanthu.SourceIMAPMDN, "SYT", "<mdn.1@syt.vinhlong.gov.vn>", syt.ReadAt, map[string]any{"disposition": "displayed", "reporting_ua": "Mozilla Thunderbird"}),
	}}, status: "Đã xem", texts: []string{"Message-ID <mdn.1@syt.vinhlong.gov.vn>", "phần mềm: Mozilla Thunderbird"}})

	// A reply by mail acknowledges.
	sgd := d(4, "SGDDT", "Sở Giáo dục và Đào tạo")
	sgd.SentAt, sgd.ReadAt, sgd.AcknowledgedAt = tm(25, 9, 6), tm(26, 11, 15), tm(26, 11, 15)
	reply := ev(vanthu.SourceIMAPReply, "SGDDT", "<CAK7x2mQ9@mail.sgddt.vinhlong.gov.vn>", sgd.AcknowledgedAt, map[string]any{"name": "Văn thư Sở", "note": "Đã nhận,\nsẽ triển khai."})
	replyRead := reply
	replyRead.ImpliedBy = vanthu.MilestoneAcknowledged
	cs = append(cs, receiptCase{r: vanthu.Receipt{Dispatch: sgd, Evidence: map[vanthu.Milestone]vanthu.MilestoneEvidence{
		vanthu.MilestoneSent: smtp(4, sgd.SentAt), vanthu.MilestoneRead: replyRead, vanthu.MilestoneAcknowledged: reply,
	}}, status: "Đã xác nhận", texts: []string{"Message-ID <CAK7x2mQ9@mail.sgddt.vinhlong.gov.vn>", "ghi chú: Đã nhận, sẽ triển khai"}})

	// Bounced.
	ptd := d(5, "PTD", "Ủy ban nhân dân phường Thanh Đức")
	ptd.SentAt, ptd.BouncedAt, ptd.FailReason = tm(25, 9, 8), tm(25, 9, 9), "5.1.1 user unknown"
	cs = append(cs, receiptCase{r: vanthu.Receipt{Dispatch: ptd, Evidence: map[vanthu.Milestone]vanthu.MilestoneEvidence{
		vanthu.MilestoneSent:    smtp(5, ptd.SentAt),
		vanthu.MilestoneBounced: ev(vanthu.SourceIMAPDSN, "PTD", "imap uid 7/42", ptd.BouncedAt, map[string]any{"status": "5.1.1", "diagnostic": "user unknown", "reason": "5.1.1 user unknown"}),
	}}, status: "Bị trả lại", texts: []string{"thư UID 42 (UIDVALIDITY 7) trong hộp thư cơ quan", "lý do: 5.1.1 user unknown"}})

	// Refused by the server; the reason looks like a formula.
	xth := d(6, "XTH", "Ủy ban nhân dân xã Tân Hạnh")
	xth.FailedAt, xth.FailReason = tm(25, 9, 12), "=550 relay denied"
	cs = append(cs, receiptCase{r: vanthu.Receipt{Dispatch: xth, Evidence: map[vanthu.Milestone]vanthu.MilestoneEvidence{
		vanthu.MilestoneFailed: ev(vanthu.SourceSMTP, "system", "", xth.FailedAt, map[string]any{"reason": "=550 relay denied"}),
	}}, status: "Gửi lỗi", texts: []string{"lý do: =550 relay denied"}})

	// Still queued.
	cs = append(cs, receiptCase{r: vanthu.Receipt{Dispatch: d(7, "TTPV", "Trung tâm Phục vụ hành chính công tỉnh"), Evidence: map[vanthu.Milestone]vanthu.MilestoneEvidence{}}, status: "Chờ gửi"})

	// Sent before events were kept: a time without evidence.
	old := d(8, "BQL", "Ban Quản lý các khu công nghiệp")
	old.SentAt = tm(25, 9, 20)
	cs = append(cs, receiptCase{r: vanthu.Receipt{Dispatch: old, Evidence: map[vanthu.Milestone]vanthu.MilestoneEvidence{}}, status: "Đã gửi", texts: []string{"không có bản ghi sự kiện"}})
	return doc, art, cs
}

func receiptsOf(cs []receiptCase) []vanthu.Receipt {
	rs := make([]vanthu.Receipt, len(cs))
	for i, c := range cs {
		rs[i] = c.r
	}
	return rs
}

func runTool(t *testing.T, pdf []byte, name string, args ...string) string {
	t.Helper()
	return testenv.RunPDFTool(t, pdf, false, name, args...)
}

func TestReceiptPDF(t *testing.T) {
	s := service(t)
	doc, art, cs := receiptFixture()
	now := *tm(28, 8, 0)
	pdf, err := s.ReceiptPDF(context.Background(), doc, receiptsOf(cs), art, now)
	if err != nil {
		t.Fatal(err)
	}
	if out := runTool(t, pdf, "qpdf", "--check"); !strings.Contains(out, "No syntax or stream encoding errors") {
		t.Errorf("qpdf --check:\n%s", out)
	}
	raw := runTool(t, pdf, "pdftotext", "-enc", "UTF-8")
	if !norm.NFC.IsNormalString(raw) {
		t.Error("the PDF's text is not NFC")
	}
	// pdftotext spreads justified words and breaks lines: compare words.
	text := strings.Join(strings.Fields(raw), " ")
	want := []string{
		"BÁO CÁO", "Tình hình tiếp nhận văn bản số 02/CT-UBND ngày 25/11/2026", "Vĩnh Long, ngày 28 tháng 11 năm 2026",
		"tính đến 08 giờ 00 ngày 28/11/2026", "02-CT-UBND.pdf (62.989 byte)",
		// The exact hash, on one line.
		sampleSHA,
		// Totals: 3 of 8 acknowledged.
		"Đã xác nhận 3 37,50%", "Tổng cộng 8 100,00%", "Số đơn vị đã quá hạn mà chưa xác nhận: 4.",
		// Every channel, in words.
		"Trang xác nhận", "Hệ thống của đơn vị (API)", "Máy chủ thư", "Thư báo đã đọc", "Thư báo lỗi", "Thư trả lời",
		// Vietnamese text of the frame, composed.
		"Kính gửi: Giám đốc Sở Nội vụ", "CHÁNH VĂN PHÒNG",
	}
	for i, c := range cs {
		// Each unit heads its evidence: number, name, status.
		want = append(want, fmt.Sprintf("%d. %s (%s)", i+1, norm.NFC.String(c.r.UnitName), c.status))
		want = append(want, c.texts...)
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("PDF text lacks %q", w)
		}
	}
	if !strings.Contains(raw, sampleSHA+"\n") {
		t.Error("the SHA-256 is broken across lines")
	}
	// A draft has nothing to report.
	draft := doc
	draft.State, draft.IssuedAt = vanthu.StateDraft, nil
	if _, err := s.ReceiptPDF(context.Background(), draft, nil, art, now); vanthu.ErrorCodeOf(err) != vanthu.EConflict {
		t.Errorf("draft: %v, want conflict", err)
	}
}

func TestReceiptXLSX(t *testing.T) {
	s := service(t)
	doc, art, cs := receiptFixture()
	now := *tm(28, 8, 0)
	xlsx, err := s.ReceiptXLSX(context.Background(), doc, receiptsOf(cs), art, now)
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(xlsx))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const sh = "Tiếp nhận"
	cell := func(ref string) string {
		t.Helper()
		v, err := f.GetCellValue(sh, ref)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if a2 := cell("A2"); a2 != "Văn bản số 02/CT-UBND ngày 25/11/2026: Về tăng cường kỷ luật, kỷ cương hành chính" {
		t.Errorf("A2 = %q", a2)
	}
	if a3 := cell("A3"); !strings.Contains(a3, "02-CT-UBND.pdf, mã SHA-256: "+sampleSHA+".") || !strings.Contains(a3, "08 giờ 00 ngày 28/11/2026") {
		t.Errorf("A3 = %q", a3)
	}
	// One row per unit, in the given order.
	var sent, read, acked, problems int
	byStatus := map[string]int{}
	for i, c := range cs {
		row := 5 + i
		at := func(col string) string { return fmt.Sprint(col, row) }
		if got := cell(at("C")); got != norm.NFC.String(c.r.UnitName) {
			t.Errorf("%s = %q, want %q", at("C"), got, c.r.UnitName)
		}
		if got := cell(at("D")); got != c.status {
			t.Errorf("%s = %q, want %q", at("D"), got, c.status)
		}
		byStatus[c.status]++
		// Times are dates, shown in Vietnam's time zone.
		for col, tp := range map[string]*time.Time{"E": c.r.SentAt, "H": c.r.ReadAt, "K": c.r.AcknowledgedAt} {
			got := cell(at(col))
			if tp == nil {
				if got != "" {
					t.Errorf("%s = %q, want empty", at(col), got)
				}
				continue
			}
			if want := tp.In(vanthu.Location).Format("02/01/2006 15:04"); got != want {
				t.Errorf("%s = %q, want %q", at(col), got, want)
			}
		}
		if c.r.SentAt != nil {
			sent++
		}
		if c.r.ReadAt != nil {
			read++
		}
		if c.r.AcknowledgedAt != nil {
			acked++
		}
		if c.r.BouncedAt != nil || c.r.FailedAt != nil {
			problems++
		}
		// Channels in words, evidence in the row.
		for col, m := range map[string]vanthu.Milestone{"F": vanthu.MilestoneSent, "I": vanthu.MilestoneRead, "L": vanthu.MilestoneAcknowledged} {
			e, ok := c.r.Evidence[m]
			if got := cell(at(col)); ok && got != vanthu.ChannelLabel(e.Source) {
				t.Errorf("%s = %q, want %q", at(col), got, vanthu.ChannelLabel(e.Source))
			}
		}
		rowText := ""
		for _, col := range []string{"G", "J", "M", "N", "Q"} {
			rowText += cell(at(col)) + "\n"
		}
		for _, w := range c.texts {
			if w == "không có bản ghi sự kiện" {
				// Said in the channel column.
				if got := cell(at("F")); got != w {
					t.Errorf("%s = %q, want %q", at("F"), got, w)
				}
				continue
			}
			if !strings.Contains(strings.Join(strings.Fields(rowText), " "), w) {
				t.Errorf("row %d lacks %q:\n%s", row, w, rowText)
			}
		}
	}
	if got := cell("N5"); got != "Nguyễn Thị Hồng, Văn thư" {
		t.Errorf("N5 = %q", got)
	}
	// Text that looks like a formula stays text.
	for _, ref := range []string{"Q10"} {
		if fx, _ := f.GetCellFormula(sh, ref); fx != "" {
			t.Errorf("%s became a formula %q", ref, fx)
		}
	}
	// Totals are formulas whose values equal the rows counted here.
	total := 5 + len(cs)
	checks := map[string]int{
		fmt.Sprint("C", total): len(cs), fmt.Sprint("E", total): sent, fmt.Sprint("H", total): read,
		fmt.Sprint("K", total): acked, fmt.Sprint("O", total): problems,
	}
	for i, st := range []string{"Đã xác nhận", "Đã xem", "Đã gửi", "Bị trả lại", "Gửi lỗi", "Chờ gửi"} {
		row := total + 3 + i
		if got := cell(fmt.Sprint("C", row)); got != st {
			t.Errorf("C%d = %q, want %q", row, got, st)
		}
		checks[fmt.Sprint("D", row)] = byStatus[st]
	}
	for ref, want := range checks {
		fx, _ := f.GetCellFormula(sh, ref)
		if fx == "" {
			t.Errorf("%s is not a formula", ref)
		}
		got, err := f.CalcCellValue(sh, ref)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if got != strconv.Itoa(want) {
			t.Errorf("%s = %s (%s), want %d", ref, got, fx, want)
		}
	}
}

func TestDescribeRef(t *testing.T) {
	tests := []struct{ ref, want string }{
		{"ack page from 203.0.113.5", "mở trang xác nhận từ địa chỉ 203.0.113.5"},
		{"ack form from 2001:db8::1", "gửi phiếu xác nhận từ địa chỉ 2001:db8::1"},
		{"pdf download from 10.0.0.2", "tải tệp PDF từ địa chỉ 10.0.0.2"},
		{"api from 10.0.0.3", "gọi API từ địa chỉ 10.0.0.3"},
		{"imap uid 1700000000/42", "thư UID 42 (UIDVALIDITY 1700000000) trong hộp thư cơ quan"},
		{"<a.b@c.vn>", "Message-ID <a.b@c.vn>"},
		{"sổ công văn đến số 15", "sổ công văn đến số 15"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := describeRef(tt.ref); got != tt.want {
			t.Errorf("describeRef(%q) = %q, want %q", tt.ref, got, tt.want)
		}
	}
}

func TestEvidenceTextNamesStaffAndClipsNotes(t *testing.T) {
	r := &vanthu.Receipt{Dispatch: vanthu.Dispatch{UnitCode: "STC", Ack: vanthu.Ack{Name: "Lê Văn Dự Phòng"}}}
	at := *tm(26, 8, 0)
	long := strings.Repeat("ạ", maxNote+50)
	got := evidenceText(r, vanthu.MilestoneAcknowledged, vanthu.MilestoneEvidence{At: at, Source: vanthu.SourceWeb, Actor: "vanthu", Ref: "sổ đến 15",
		Detail: map[string]any{"note": long}})
	if !strings.Contains(got, "người ghi nhận: vanthu") || !strings.HasPrefix(got, "sổ đến 15; ") {
		t.Errorf("evidence = %q", got)
	}
	if !strings.Contains(got, "ghi chú: "+strings.Repeat("ạ", maxNote-1)+"…") {
		t.Errorf("note not clipped to %d runes: %d", maxNote, len([]rune(got)))
	}
	// Without a person in the event, the dispatch's acknowledgement names
	// them; the unit itself as actor is not repeated.
	got = evidenceText(r, vanthu.MilestoneAcknowledged, vanthu.MilestoneEvidence{At: at, Source: vanthu.SourceAPI, Actor: "STC"})
	if got != "người xác nhận: Lê Văn Dự Phòng" {
		t.Errorf("evidence = %q", got)
	}
}
