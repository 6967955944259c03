package seed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/sonoivu/vanthu"
)

// A sample quarter: directives issued to every unit with their receipt
// milestones, and finalized (signed) inspections with attendance,
// findings and proposed handling, so that the quarterly report of a fresh
// development instance has realistic figures. The data is the same on
// every run for a given period (a fixed random seed).

// QuarterStore is what seeding a quarter writes to (*store.Store).
type QuarterStore interface {
	ListUnits(ctx context.Context, f vanthu.UnitFilter) ([]vanthu.Unit, error)
	GetUserByUsername(ctx context.Context, username string) (vanthu.User, error)
	CreateDocument(ctx context.Context, d *vanthu.Document, actor string) error
	ListDispatches(ctx context.Context, documentID int64) ([]vanthu.Dispatch, error)
	MarkSent(ctx context.Context, id int64, messageID string, at time.Time) error
	ApplyEvidence(ctx context.Context, ev vanthu.Evidence) (applied bool, err error)
	CreateInspection(ctx context.Context, in *vanthu.Inspection, actor string) error
	ListInspections(ctx context.Context, f vanthu.InspectionFilter) ([]vanthu.Inspection, error)
}

// QuarterActions are the steps seeding borrows from the services, so that
// seeded documents are made exactly as real ones: Issue numbers and lays
// out a draft as issued at a past time; Finalize makes the signed minutes
// of a complete inspection record.
type QuarterActions struct {
	Issue    func(ctx context.Context, documentID int64, at time.Time) (vanthu.Document, error)
	Finalize func(ctx context.Context, inspectionID, userID int64) error
}

// Sample sizes of the seeded quarter.
const (
	quarterDirectives  = 3
	quarterInspections = 18
)

var directiveSubjects = []string{
	"Về việc tăng cường kỷ luật, kỷ cương hành chính trong thực thi công vụ",
	"Về việc chấn chỉnh tình trạng đi muộn, về sớm và làm việc riêng trong giờ hành chính",
	"Về việc nâng cao chất lượng phục vụ người dân, doanh nghiệp tại bộ phận một cửa",
}

var (
	familyNames = []string{"Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Phan", "Trương", "Đặng", "Bùi"}
	middleNames = []string{"Văn", "Thị", "Minh", "Thanh", "Ngọc", "Hoàng", "Quốc", "Thị Kim"}
	givenNames  = []string{"An", "Bình", "Cường", "Dũng", "Hạnh", "Hùng", "Hương", "Khoa", "Lan", "Long", "Mai", "Nam", "Phúc", "Quyên", "Sơn", "Tâm", "Thảo", "Trí", "Tuấn", "Vy"}
	positions   = []string{"Chuyên viên", "Công chức Văn phòng – Thống kê", "Công chức Tư pháp – Hộ tịch", "Viên chức", "Phó Trưởng phòng", "Công chức Địa chính"}
	sections    = []string{"Bộ phận Một cửa", "Văn phòng", "Phòng Kinh tế", "Phòng Văn hóa – Xã hội", "Trung tâm Phục vụ hành chính công"}
)

// The violations recorded from the attendance count; a sample inspection
// finds a few of the others too.
const (
	violationAbsent = "vang-khong-ly-do"
	violationLate   = "di-muon-ve-som"
)

var otherViolations = CatalogCodes(vanthu.CatalogViolation, violationAbsent, violationLate)

// CatalogCodes are the codes of kind in vanthu.DefaultCatalog, in its
// order, less those in except: what sample and benchmark data may record.
func CatalogCodes(kind vanthu.CatalogKind, except ...string) []string {
	var codes []string
	for _, e := range vanthu.DefaultCatalog() {
		if e.Kind == kind && !slices.Contains(except, e.Code) {
			codes = append(codes, e.Code)
		}
	}
	return codes
}

// Quarter seeds period p (which must have ended) on behalf of the clerk
// and the inspector of Accounts, unless an inspection already started in
// p: the quarter was seeded before, or holds the developer's own records.
// A failed attempt leaves what it made; it is made again, directives
// included, only if that was no inspection.
func Quarter(ctx context.Context, st QuarterStore, p vanthu.Period, act QuarterActions) error {
	rng := rand.New(rand.NewPCG(uint64(p.Year), uint64(p.Quarter)+7))
	from, until := p.Range()
	if ins, err := st.ListInspections(ctx, vanthu.InspectionFilter{From: &from, Until: &until, Limit: 1}); err != nil {
		return fmt.Errorf("seed quarter: %w", err)
	} else if len(ins) > 0 {
		return nil
	}
	clerk, err := st.GetUserByUsername(ctx, "vanthu")
	if err != nil {
		return fmt.Errorf("seed quarter: sample clerk 'vanthu': %w", err)
	}
	inspector, err := st.GetUserByUsername(ctx, "kiemtra")
	if err != nil {
		return fmt.Errorf("seed quarter: sample inspector 'kiemtra': %w", err)
	}
	units, err := st.ListUnits(ctx, vanthu.UnitFilter{ActiveOnly: true})
	if err != nil {
		return fmt.Errorf("seed quarter: %w", err)
	}
	days := int(until.Sub(from).Hours() / 24)
	for i := range quarterDirectives {
		at := from.AddDate(0, 0, 4+i*days/quarterDirectives).Add(9 * time.Hour)
		if err := seedDirective(ctx, st, act, rng, clerk, i, at); err != nil {
			return err
		}
	}
	for i := range quarterInspections {
		u := units[rng.IntN(len(units))]
		day := from.AddDate(0, 0, 2+i*(days-4)/quarterInspections)
		for day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
			day = day.AddDate(0, 0, 1)
		}
		start := day.Add(7*time.Hour + time.Duration(30+rng.IntN(60))*time.Minute)
		in := sampleInspection(rng, u, start, i%3 != 0)
		in.CreatedBy = inspector.ID
		if err := st.CreateInspection(ctx, &in, "seed"); err != nil {
			return fmt.Errorf("seed inspection %d: %w", i+1, err)
		}
		if err := act.Finalize(ctx, in.ID, inspector.ID); err != nil {
			return fmt.Errorf("seed inspection %d: finalize: %w", i+1, err)
		}
	}
	return nil
}

// seedDirective issues directive i at at to every active unit, with a
// week to acknowledge, and plays its receipts: most units read and
// acknowledge on time, some late, some never; a few addresses bounce.
func seedDirective(ctx context.Context, st QuarterStore, act QuarterActions, rng *rand.Rand, clerk vanthu.User, i int, at time.Time) error {
	deadline := at.AddDate(0, 0, 7)
	d := vanthu.Document{
		Kind: vanthu.KindDirective, TypeCode: "CT", Issuer: "UBND", CreatedBy: clerk.ID,
		Subject: directiveSubjects[i%len(directiveSubjects)],
		Content: vanthu.Content{
			Template: "directive", ParentAgency: "", Agency: "ỦY BAN NHÂN DÂN TỈNH VĨNH LONG", Place: "Vĩnh Long", TypeName: "CHỈ THỊ",
			SignerAuthority: "KT. CHỦ TỊCH", SignerTitle: "PHÓ CHỦ TỊCH", SignerName: "Nguyễn Thành Diệu",
			NoiNhan: []string{"Như trên", "Lưu: VT, NC"},
			Body: "Để chấn chỉnh kỷ luật, kỷ cương hành chính, Chủ tịch Ủy ban nhân dân tỉnh yêu cầu:\n\n" +
				"1. Thủ trưởng các cơ quan, đơn vị quán triệt nghiêm túc nội dung Chỉ thị này tới từng cán bộ, công chức, viên chức.\n" +
				"2. Xác nhận đã nhận văn bản và báo cáo kết quả thực hiện đúng hạn.\n",
			Audience: vanthu.Audience{All: true}, Deadline: &deadline,
		},
	}
	if err := st.CreateDocument(ctx, &d, "seed"); err != nil {
		return fmt.Errorf("seed directive %d: %w", i+1, err)
	}
	doc, err := act.Issue(ctx, d.ID, at)
	if err != nil {
		return fmt.Errorf("seed directive %d: issue: %w", i+1, err)
	}
	ds, err := st.ListDispatches(ctx, doc.ID)
	if err != nil {
		return fmt.Errorf("seed directive %d: %w", i+1, err)
	}
	apply := func(id int64, m vanthu.Milestone, t time.Time, ref string) error {
		_, err := st.ApplyEvidence(ctx, vanthu.Evidence{DispatchID: id, Milestone: m, At: t, Source: vanthu.SourceSystem, Actor: "seed", Ref: ref})
		return err
	}
	for _, dp := range ds {
		sent := at.Add(time.Duration(1+rng.IntN(15)) * time.Minute)
		if err := st.MarkSent(ctx, dp.ID, fmt.Sprintf("<seed.d%d.%d@vinhlong.gov.vn>", doc.ID, dp.ID), sent); err != nil {
			return fmt.Errorf("seed dispatch %d: %w", dp.ID, err)
		}
		r := rng.IntN(100)
		var err error
		switch {
		case r < 2:
			err = apply(dp.ID, vanthu.MilestoneBounced, sent.Add(2*time.Minute), "5.1.1 Hộp thư không tồn tại")
		case r < 8: // never opened
		case r < 14: // read, never acknowledged
			err = apply(dp.ID, vanthu.MilestoneRead, sent.Add(time.Duration(1+rng.IntN(48))*time.Hour), "mdn")
		default:
			read := sent.Add(time.Duration(10+rng.IntN(600)) * time.Minute)
			ack := read.Add(time.Duration(1+rng.IntN(100)) * time.Hour)
			if r >= 86 { // late: after the deadline
				ack = deadline.Add(time.Duration(1+rng.IntN(72)) * time.Hour)
			}
			if err = apply(dp.ID, vanthu.MilestoneRead, read, "mdn"); err == nil {
				err = apply(dp.ID, vanthu.MilestoneAcknowledged, ack, "link")
			}
		}
		if err != nil {
			return fmt.Errorf("seed dispatch %d: %w", dp.ID, err)
		}
	}
	return nil
}

func personName(rng *rand.Rand) string {
	return familyNames[rng.IntN(len(familyNames))] + " " + middleNames[rng.IntN(len(middleNames))] + " " + givenNames[rng.IntN(len(givenNames))]
}

// sampleInspection is a complete record of an inspection of u at start.
func sampleInspection(rng *rand.Rand, u vanthu.Unit, start time.Time, surprise bool) vanthu.Inspection {
	end := start.Add(time.Duration(60+rng.IntN(90)) * time.Minute)
	deadline := start.AddDate(0, 0, 15)
	listed := 15 + rng.IntN(50)
	a := vanthu.Attendance{Listed: listed}
	a.AbsentLeave = rng.IntN(3)
	a.AbsentAssignment = rng.IntN(3)
	a.AbsentStudy = rng.IntN(2)
	a.AbsentUnexcused = rng.IntN(3)
	a.Present = listed - a.AbsentLeave - a.AbsentAssignment - a.AbsentStudy - a.AbsentUnexcused
	a.Late = rng.IntN(3)
	in := vanthu.Inspection{
		UnitID: u.ID, Place: "trụ sở " + u.Name, Surprise: surprise,
		LegalBasis: []string{
			"Chỉ thị số 02/CT-UBND của Chủ tịch Ủy ban nhân dân tỉnh về tăng cường kỷ luật, kỷ cương hành chính",
			"Quyết định số 356/QĐ-SNV của Giám đốc Sở Nội vụ về việc thành lập Đoàn kiểm tra",
		},
		StartedAt: &start, EndedAt: &end,
		Team: []vanthu.TeamMember{
			{Name: "Trần Văn Minh", Position: "Phó Chánh Thanh tra Sở Nội vụ", Role: vanthu.RoleLeader},
			{Name: "Võ Thị Mỹ Duyên", Position: "Chuyên viên", Role: vanthu.RoleSecretary},
		},
		Representatives: []vanthu.Person{{Name: personName(rng), Position: "Phó Thủ trưởng đơn vị"}},
		Attendance:      a,
		Checklist:       vanthu.DefaultChecklist(),
		ReportDeadline:  &deadline,
	}
	for i := range in.Checklist {
		in.Checklist[i].Result = vanthu.CheckPass
	}
	// One finding per absence without reason and per late arrival, and a
	// few others.
	add := func(code string) {
		seen := start.Add(time.Duration(rng.IntN(30)) * time.Minute)
		name := personName(rng)
		in.Findings = append(in.Findings, vanthu.Finding{
			Name: name, Position: positions[rng.IntN(len(positions))], Section: sections[rng.IntN(len(sections))],
			Violation: code, SeenAt: &seen,
		})
		h := "nhac-nho"
		if code == violationAbsent {
			h = "kiem-diem"
		}
		in.Handling = append(in.Handling, vanthu.Handling{Code: h, Person: name})
	}
	for range a.AbsentUnexcused {
		add(violationAbsent)
	}
	for range a.Late {
		add(violationLate)
	}
	for range rng.IntN(3) {
		add(otherViolations[rng.IntN(len(otherViolations))])
	}
	if len(in.Findings) == 0 {
		in.Conclusions = "Đơn vị chấp hành tốt kỷ luật, kỷ cương hành chính; cán bộ, công chức có mặt đầy đủ, đeo thẻ, trang phục đúng quy định."
	} else {
		in.Conclusions = fmt.Sprintf("Đơn vị cơ bản chấp hành kỷ luật, kỷ cương hành chính; còn %d trường hợp vi phạm như nêu trên. Đề nghị Thủ trưởng đơn vị chấn chỉnh, xử lý theo quy định.", len(in.Findings))
		in.UnitExplanation = "Đơn vị tiếp thu, sẽ tổ chức kiểm điểm các trường hợp vi phạm."
	}
	return in
}
