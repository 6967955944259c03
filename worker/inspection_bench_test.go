package worker

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/directive"
	"github.com/sonoivu/vanthu/internal/render"
	"github.com/sonoivu/vanthu/internal/sign"
)

// pageObject matches a page object of a PDF written by fpdf.
var pageObject = regexp.MustCompile(`/Type /Page[^s]`)

// BenchmarkMinutes50 is issue 6's benchmark: the minutes of an inspection
// with 50 persons found in violation, from the record to the signed PDF
// (template, layout, PDF, signature), without the database.
//
//	go test -run XXX -bench Minutes50 -benchtime 10x -count 3 ./worker/
func BenchmarkMinutes50(b *testing.B) {
	h := finalizeHandlers(b, nil)
	s := h.Inspections
	catalog := vanthu.DefaultCatalog()
	var violations []string
	for _, e := range catalog {
		if e.Kind == vanthu.CatalogViolation {
			violations = append(violations, e.Code)
		}
	}
	in := vanthu.Inspection{
		ID: 1, UnitName: "Ủy ban nhân dân phường Thanh Đức", Place: "Trụ sở Ủy ban nhân dân phường Thanh Đức", Surprise: true,
		LegalBasis: []string{"Quyết định số 356/QĐ-SNV ngày 20/11/2026 của Giám đốc Sở Nội vụ"},
		StartedAt:  vnAt(25, 7, 45), EndedAt: vnAt(25, 11, 30), ReportDeadline: vnAt(30, 0, 0),
		Team:            []vanthu.TeamMember{{Name: "Trần Thị Ngọc Hân", Position: "Phó Giám đốc", Role: vanthu.RoleLeader}},
		Representatives: []vanthu.Person{{Name: "Phạm Văn Đức", Position: "Chánh Văn phòng"}},
		Attendance:      vanthu.Attendance{Listed: 120, Present: 70, AbsentLeave: 10, AbsentUnexcused: 40, Late: 10},
		Checklist:       vanthu.DefaultChecklist(),
		Conclusions:     "Đơn vị còn nhiều trường hợp vi phạm kỷ luật, kỷ cương hành chính.",
	}
	for i := range 50 {
		in.Findings = append(in.Findings, vanthu.Finding{
			Name: fmt.Sprintf("Nguyễn Thị Bích Ngọc %02d", i+1), Position: "Công chức", Section: "Bộ phận một cửa",
			Violation: violations[i%len(violations)], SeenAt: vnAt(25, 8, i%60), Explanation: "Đưa con đi học, đến muộn mười lăm phút.",
		})
	}
	ctx := context.Background()
	// Signed now: the development certificate is valid from a moment ago.
	at := time.Now().In(vanthu.Location)
	pages := 0
	b.ResetTimer()
	for b.Loop() {
		d, err := s.minutesDocument(&in, catalog)
		if err != nil {
			b.Fatal(err)
		}
		d.Number, d.Symbol, d.IssuedAt = 1, "01/BB-ĐKT", &at
		pdf, err := render.PDF(directive.Layout(d, at))
		if err != nil {
			b.Fatal(err)
		}
		signed, err := s.Signer.Sign(ctx, pdf, sign.Options{Name: "Trần Thị Ngọc Hân", Reason: "Ký biên bản kiểm tra 01/BB-ĐKT", Location: "Vĩnh Long", Time: at})
		if err != nil {
			b.Fatal(err)
		}
		pages = len(pageObject.FindAll(signed, -1))
	}
	b.ReportMetric(float64(pages), "pages")
}
