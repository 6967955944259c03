package report

import (
	"context"
	"fmt"
	"time"

	"github.com/sonoivu/vanthu"
)

// sampleUnits are the units of sampleFigures: 9 departments, 11 communes
// and 2 public service units, in official order.
var sampleUnits = []struct{ code, name string }{
	{"STC", "Sở Tài chính"}, {"STP", "Sở Tư pháp"}, {"SYT", "Sở Y tế"}, {"SGDDT", "Sở Giáo dục và Đào tạo"},
	{"SXD", "Sở Xây dựng"}, {"SCT", "Sở Công Thương"}, {"SNNMT", "Sở Nông nghiệp và Môi trường"},
	{"SVHTTDL", "Sở Văn hóa, Thể thao và Du lịch"}, {"SKHCN", "Sở Khoa học và Công nghệ"},
	{"P-TD", "Ủy ban nhân dân phường Thanh Đức"}, {"P-LC", "Ủy ban nhân dân phường Long Châu"},
	{"P-PH", "Ủy ban nhân dân phường Phước Hậu"}, {"P-TA", "Ủy ban nhân dân phường Tân Ngãi"},
	{"P-BT", "Ủy ban nhân dân phường Bình Minh"}, {"X-TH", "Ủy ban nhân dân xã Tân Hạnh"},
	{"X-LH", "Ủy ban nhân dân xã Long Hồ"}, {"X-HP", "Ủy ban nhân dân xã Hòa Phú"},
	{"X-MT", "Ủy ban nhân dân xã Mỹ Thuận"}, {"X-LHO", "Ủy ban nhân dân xã Lộc Hòa"},
	{"X-TP", "Ủy ban nhân dân xã Tân Phú"},
	{"BVDK", "Bệnh viện Đa khoa tỉnh"}, {"TTPVHCC", "Trung tâm Phục vụ hành chính công tỉnh"},
}

// sampleFigures are the figures of quarter IV of 2026 under the 15-14 rule
// that report.sample.json and annexes.sample.json show: 22 inspections,
// 333/424 staff present (78,54%), 28 absent without reason (6,60%), and
// quarter III before them. The annex rows add up to the headline figures.
func sampleFigures() vanthu.ReportFigures {
	p := vanthu.QuarterPeriod(2026, 4, vanthu.CutOff15th)
	from, until := p.Range()
	f := vanthu.ReportFigures{
		Period: p, From: from, Until: until,
		AsOf: time.Date(2026, 12, 15, 7, 0, 0, 0, vanthu.Location),
		Direction: vanthu.DirectionFigures{
			Issued: 3, Dispatches: 72, Units: 24, Received: 71, Read: 68,
			AckOnTime: 60, AckLate: 6, NotAckd: 6, BouncedFailed: 1,
		},
		Inspections: vanthu.InspectionFigures{
			Total: 22, Scheduled: 8, Surprise: 14, Units: 22,
			UnitsByGroup: []vanthu.CodeCount{
				{Code: string(vanthu.GroupDepartment), Name: vanthu.GroupDepartment.Label(), Count: 9},
				{Code: string(vanthu.GroupCommune), Name: vanthu.GroupCommune.Label(), Count: 11},
				{Code: string(vanthu.GroupPublic), Name: vanthu.GroupPublic.Label(), Count: 2},
			},
			Listed: 424, Present: 333, AbsentLeave: 40, AbsentAssignment: 17, AbsentStudy: 6, AbsentUnexcused: 28,
			Late: 12, LeftEarly: 5, Violators: 62,
		},
		Violations: []vanthu.CodeCount{
			{Code: "vang-khong-ly-do", Name: "Vắng mặt không có lý do", Count: 28},
			{Code: "di-muon-ve-som", Name: "Đi muộn, về sớm", Count: 17},
			{Code: "khong-deo-the", Name: "Không đeo thẻ công chức, viên chức", Count: 12},
			{Code: "viec-rieng", Name: "Làm việc riêng, ngồi quán trong giờ làm việc", Count: 4},
			{Code: "hut-thuoc", Name: "Hút thuốc lá nơi làm việc", Count: 1},
		},
		Handling: []vanthu.CodeCount{
			{Code: "nhac-nho", Name: "Nhắc nhở", Count: 31},
			{Code: "kiem-diem", Name: "Kiểm điểm, rút kinh nghiệm", Count: 22},
			{Code: "cc-khien-trach", Name: "Khiển trách", Count: 3},
		},
		Previous: &vanthu.ReportFigures{
			Period: p.Previous(),
			Direction: vanthu.DirectionFigures{
				Issued: 2, Dispatches: 48, Units: 24, Received: 48, Read: 45,
				AckOnTime: 40, AckLate: 5, NotAckd: 3,
			},
			Inspections: vanthu.InspectionFigures{
				Total: 18, Scheduled: 8, Surprise: 10, Units: 18,
				Listed: 390, Present: 301, AbsentLeave: 35, AbsentAssignment: 14, AbsentStudy: 5, AbsentUnexcused: 35,
				Late: 15, LeftEarly: 6, Violators: 73,
			},
			Violations: []vanthu.CodeCount{
				{Code: "vang-khong-ly-do", Name: "Vắng mặt không có lý do", Count: 35},
				{Code: "di-muon-ve-som", Name: "Đi muộn, về sớm", Count: 21},
				{Code: "khong-deo-the", Name: "Không đeo thẻ công chức, viên chức", Count: 9},
				{Code: "viec-rieng", Name: "Làm việc riêng, ngồi quán trong giờ làm việc", Count: 6},
				{Code: "hut-thuoc", Name: "Hút thuốc lá nơi làm việc", Count: 2},
			},
			Handling: []vanthu.CodeCount{
				{Code: "nhac-nho", Name: "Nhắc nhở", Count: 38},
				{Code: "phe-binh", Name: "Phê bình", Count: 2},
				{Code: "kiem-diem", Name: "Kiểm điểm, rút kinh nghiệm", Count: 20},
				{Code: "cc-khien-trach", Name: "Khiển trách", Count: 5},
			},
		},
	}
	f.Previous.From, f.Previous.Until = f.Previous.Period.Range()

	// Biểu 1: one inspection per unit, the headline counts spread over
	// them; the first 14 are the surprise ones.
	spread := func(total, i, n int) int { return total/n + btoi(i < total%n) }
	n := len(sampleUnits)
	excused := f.Inspections.AbsentExcused()
	for i, u := range sampleUnits {
		listed := spread(f.Inspections.Listed, i, n)
		exc := spread(excused, i, n)
		unexc := spread(f.Inspections.AbsentUnexcused, i, n)
		f.InspectionRows = append(f.InspectionRows, vanthu.InspectionRow{
			InspectionID: int64(101 + i), UnitCode: u.code, UnitName: u.name,
			StartedAt: from.AddDate(0, 0, 3+4*i).Add(7*time.Hour + 45*time.Minute),
			Surprise:  i < f.Inspections.Surprise,
			Listed:    listed, Present: listed - exc - unexc, AbsentExcused: exc, AbsentUnexcused: unexc,
			Late: spread(f.Inspections.Late+f.Inspections.LeftEarly, i, n), Violators: spread(f.Inspections.Violators, i, n),
		})
	}
	// Biểu 2: each violation's persons spread over the units in turn.
	k := 0
	for _, v := range f.Violations {
		for range v.Count {
			u := sampleUnits[k%n]
			k++
			if last := len(f.UnitViolations) - 1; last >= 0 && f.UnitViolations[last].UnitCode == u.code && f.UnitViolations[last].Code == v.Code {
				f.UnitViolations[last].Count++
				continue
			}
			f.UnitViolations = append(f.UnitViolations, vanthu.UnitViolationCount{UnitCode: u.code, UnitName: u.name, Code: v.Code, Name: v.Name, Count: 1})
		}
	}
	// Biểu 4: the 24 units sent the three directives: the 22 inspected
	// and two more.
	units := append(sampleUnits[:n:n], struct{ code, name string }{"SNV", "Sở Nội vụ"}, struct{ code, name string }{"VPUB", "Văn phòng Ủy ban nhân dân tỉnh"})
	d := f.Direction
	for i, u := range units {
		r := vanthu.UnitReceiptRow{UnitCode: u.code, UnitName: u.name, Dispatches: 3,
			Received: 3 - btoi(i < d.Dispatches-d.Received), Read: 3 - btoi(i < d.Dispatches-d.Read)}
		// The last units are the late and the overdue ones.
		r.Acknowledged = 3 - btoi(i >= len(units)-d.NotAckd)
		r.Late = btoi(i >= len(units)-d.NotAckd-d.AckLate && i < len(units)-d.NotAckd)
		r.Overdue = btoi(i >= len(units)-d.NotAckd)
		f.ReceiptRows = append(f.ReceiptRows, r)
	}
	return f
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// samplePersons streams the persons recorded by sampleFigures' inspections
// in unit order, n of them in total, from a generator: nothing is kept.
func samplePersons(n int) PersonSource {
	return persons(n, sampleFigures().InspectionRows)
}

var (
	givenNames    = []string{"An", "Bình", "Chi", "Dũng", "Giang", "Hạnh", "Khoa", "Lan", "Minh", "Ngọc", "Phúc", "Quyên", "Sơn", "Thảo", "Uyên", "Việt", "Yến"}
	familyNames   = []string{"Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Đặng", "Bùi"}
	positions     = []string{"Chuyên viên", "Cán sự", "Phó Trưởng phòng", "Văn thư", "Kế toán"}
	sections      = []string{"Văn phòng", "Phòng Tổ chức - Hành chính", "Bộ phận một cửa", "Phòng Kế hoạch - Tài chính"}
	violationList = []string{"Vắng mặt không có lý do", "Đi muộn, về sớm", "Không đeo thẻ công chức, viên chức", "Làm việc riêng, ngồi quán trong giờ làm việc"}
)

// person is the i-th generated person.
func person(i int, rows []vanthu.InspectionRow) vanthu.CheckedPerson {
	r := rows[i%len(rows)]
	explanation := fmt.Sprintf("Giải trình số %d: đi họp đột xuất", i+1)
	if i%7 == 3 {
		// Text a spreadsheet would run as a formula: it must stay text.
		explanation = fmt.Sprintf("=HYPERLINK(\"http://x.example\",\"%d\")", i+1)
	}
	return vanthu.CheckedPerson{
		InspectionID: r.InspectionID, UnitName: r.UnitName, StartedAt: r.StartedAt,
		Name:        fmt.Sprintf("%s Văn %s %d", familyNames[i%len(familyNames)], givenNames[i%len(givenNames)], i+1),
		Position:    positions[i%len(positions)],
		Section:     sections[i%len(sections)],
		Violation:   violationList[i%len(violationList)],
		Explanation: explanation,
	}
}

// persons is a PersonSource of n generated persons.
func persons(n int, rows []vanthu.InspectionRow) PersonSource {
	return func(ctx context.Context, fn func(vanthu.CheckedPerson) error) error {
		for i := range n {
			if err := fn(person(i, rows)); err != nil {
				return err
			}
		}
		return nil
	}
}
