package render

import (
	_ "embed" // the sample directive body
	"fmt"
	"strings"
	"time"

	"github.com/sonoivu/vanthu"
)

// directiveBody is the body of SampleDirective (4 KB); the golden PDF test
// renders the same document.
//
//go:embed testdata/directive.md
var directiveBody string

// SampleDirective returns a realistic two-page provincial discipline
// directive (Chỉ thị) with an urgency mark, a table, a signature block and
// "Nơi nhận"; benchmarks and the golden test render it.
func SampleDirective() Document {
	return Document{
		Agency:          "ỦY BAN NHÂN DÂN\nTỈNH VĨNH LONG",
		Number:          "02/CT-UBND",
		Place:           "Vĩnh Long",
		Date:            time.Date(2026, 1, 5, 9, 30, 0, 0, vanthu.Location),
		TypeName:        "Chỉ thị",
		Subject:         "Về tăng cường kỷ luật, kỷ cương hành chính trong các cơ quan hành chính nhà nước trên địa bàn tỉnh",
		Urgency:         UrgencyKhan,
		Body:            directiveBody,
		SignerAuthority: "TM. Ủy ban nhân dân",
		SignerTitle:     "Chủ tịch",
		SignerName:      "Nguyễn Văn Thiện",
		Recipients: []string{
			"Văn phòng Chính phủ",
			"Bộ Nội vụ",
			"TT. Tỉnh ủy, TT. HĐND tỉnh",
			"CT, các PCT UBND tỉnh",
			"Các sở, ban, ngành tỉnh",
			"UBND các xã, phường",
			"Lưu: VT, SNV",
		},
		DrafterCode: "PL.(120)",
		AddressLine: "Địa chỉ: 88 Hoàng Thái Hiếu, Phường 1, tỉnh Vĩnh Long; Điện thoại: 0270.3822.xxx; E-mail: ubnd@vinhlong.gov.vn",
	}
}

// reportSentences are rotated to build the paragraphs of SampleReport.
var reportSentences = []string{
	"Trong kỳ, Đoàn kiểm tra công vụ của tỉnh đã tiến hành kiểm tra đột xuất việc chấp hành kỷ luật, kỷ cương hành chính tại các cơ quan, đơn vị.",
	"Nhìn chung, đa số cán bộ, công chức, viên chức chấp hành nghiêm thời giờ làm việc, đeo thẻ và mặc trang phục đúng quy định.",
	"Tuy nhiên, vẫn còn một số trường hợp đi muộn, về sớm hoặc sử dụng thời gian làm việc để giải quyết việc riêng mà không có lý do chính đáng.",
	"Bộ phận tiếp nhận và trả kết quả thủ tục hành chính được bố trí đủ công chức trực, niêm yết công khai thủ tục và số điện thoại đường dây nóng.",
	"Thủ trưởng các cơ quan, đơn vị có trường hợp vi phạm đã tổ chức kiểm điểm, rút kinh nghiệm và báo cáo kết quả xử lý về **Sở Nội vụ**.",
	"Việc sử dụng xe công vào việc riêng, uống rượu, bia trong giờ làm việc không còn xảy ra so với cùng kỳ năm trước.",
	"Một số đơn vị chưa xây dựng lịch làm việc hằng tuần hoặc chưa công khai lịch tiếp công dân tại trụ sở, cần *khẩn trương khắc phục*.",
	"Sở Nội vụ sẽ tiếp tục theo dõi, đôn đốc và tổng hợp kết quả khắc phục của các cơ quan, đơn vị trong báo cáo quý tiếp theo.",
}

// reportUnits are the unit kinds named in the tables of SampleReport.
var reportUnits = []string{"Ủy ban nhân dân xã", "Ủy ban nhân dân phường", "Phòng Văn hóa - Xã hội xã", "Trung tâm Phục vụ hành chính công xã"}

// reportChunksPerPage is how many chunks (heading, paragraph and table) of
// SampleReport fill about one page; measured with pdfinfo in the tests.
const reportChunksPerPage = 0.66

// SampleReport returns a deterministic synthetic report used by
// benchmarks: a quarterly discipline report (Báo cáo) of about pages A4
// pages, with numbered sections, justified paragraphs and several long
// tables that run across pages.
func SampleReport(pages int) Document {
	pages = max(pages, 1)
	chunks := max(int(float64(pages)*reportChunksPerPage+0.5), 1)
	var b strings.Builder
	unit := 0
	for c := range chunks {
		if c%8 == 0 {
			fmt.Fprintf(&b, "## Phần %d. Kết quả kiểm tra nhóm đơn vị thứ %d\n\n", c/8+1, c/8+1)
		}
		fmt.Fprintf(&b, "### Kết quả kiểm tra đợt %d\n\n", c+1)
		for s := range 4 + c%3 {
			if s > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(reportSentences[(c+s)%len(reportSentences)])
		}
		b.WriteString("\n\n")
		rows := 10
		if c%3 == 2 {
			rows = 45 // a long table, across a page break
		}
		fmt.Fprintf(&b, "Bảng %d. Tình hình chấp hành thời giờ làm việc tại thời điểm kiểm tra:\n\n", c+1)
		b.WriteString("| STT | Cơ quan, đơn vị | Biên chế | Có mặt | Vắng có lý do | Vắng không lý do | Tỷ lệ có mặt |\n")
		b.WriteString("|:---:|---|---:|---:|---:|---:|---:|\n")
		for r := range rows {
			unit++
			staff := 18 + unit%23
			absent := unit % 3
			unexcused := 0
			if unit%7 == 0 {
				unexcused = 1
			}
			present := staff - absent - unexcused
			rate := float64(present) * 100 / float64(staff)
			fmt.Fprintf(&b, "| %d | %s số %d | %d | %d | %d | %d | %s%% |\n",
				r+1, reportUnits[unit%len(reportUnits)], unit, staff, present, absent, unexcused,
				strings.Replace(fmt.Sprintf("%.2f", rate), ".", ",", 1))
		}
		b.WriteString("\n")
	}
	b.WriteString("### Đề xuất, kiến nghị\n\n")
	b.WriteString(reportSentences[len(reportSentences)-1] + "\n")

	return Document{
		ParentAgency:    "UBND tỉnh Vĩnh Long",
		Agency:          "Sở Nội vụ",
		Number:          "125/BC-SNV",
		Place:           "Vĩnh Long",
		Date:            time.Date(2026, 3, 31, 16, 0, 0, 0, vanthu.Location),
		TypeName:        "Báo cáo",
		Subject:         "Kết quả kiểm tra kỷ luật, kỷ cương hành chính quý I năm 2026",
		Body:            b.String(),
		SignerAuthority: "KT. Giám đốc",
		SignerTitle:     "Phó Giám đốc",
		SignerName:      "Trần Thị Ngọc Hân",
		Recipients:      []string{"UBND tỉnh", "Bộ Nội vụ", "Giám đốc, các PGĐ Sở", "Lưu: VT, TTr"},
		DrafterCode:     "HN.(15)",
	}
}
