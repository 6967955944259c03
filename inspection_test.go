package vanthu

import (
	"slices"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	tests := []struct {
		part, whole int
		want        string
	}{
		{333, 424, "78,54%"}, {28, 424, "6,60%"}, {0, 0, "0,00%"}, {5, 5, "100,00%"}, {1, 3, "33,33%"}, {2, 3, "66,67%"}, {1, 8, "12,50%"}, {1, 200000, "0,00%"},
	}
	for _, tt := range tests {
		if got := Percent(tt.part, tt.whole); got != tt.want {
			t.Errorf("Percent(%d, %d) = %s, want %s", tt.part, tt.whole, got, tt.want)
		}
	}
}

func validInspection() Inspection {
	start := time.Date(2026, 11, 25, 7, 45, 0, 0, Location)
	end := start.Add(105 * time.Minute)
	return Inspection{
		UnitID: 1, Place: "trụ sở UBND phường Thanh Đức", Surprise: true,
		LegalBasis: []string{"Quyết định số 356/QĐ-SNV"}, StartedAt: &start, EndedAt: &end,
		Team:            []TeamMember{{Name: "Trần Thị Ngọc Hân", Role: RoleLeader}, {Name: "Võ Thị Mỹ Duyên", Role: RoleSecretary}},
		Representatives: []Person{{Name: "Phạm Văn Đức", Position: "Chủ tịch"}},
		Attendance:      Attendance{Listed: 42, Present: 35, AbsentLeave: 2, AbsentAssignment: 1, AbsentStudy: 1, AbsentUnexcused: 3, Late: 2},
		Findings:        []Finding{{Name: "Nguyễn Văn Thưởng", Violation: "vang-khong-ly-do"}},
		Handling:        []Handling{{Code: "kiem-diem", Person: "Nguyễn Văn Thưởng"}},
		Conclusions:     "Cơ bản chấp hành tốt.",
	}
}

func TestInspectionValidate(t *testing.T) {
	known := func(k CatalogKind, code string) bool {
		for _, e := range DefaultCatalog() {
			if e.Kind == k && e.Code == code {
				return true
			}
		}
		return false
	}
	if ps := func() []Problem { in := validInspection(); return in.ValidateFinal(known) }(); len(ps) != 0 {
		t.Fatalf("valid inspection: %v", ps)
	}
	tests := []struct {
		name   string
		change func(*Inspection)
		final  bool
		fields []string
	}{
		{"negative count, even in a draft", func(in *Inspection) { in.Attendance.Late = -1 }, false, []string{"attendance.late"}},
		{"counts do not add up: fine for a draft", func(in *Inspection) { in.Attendance.Present = 30 }, false, nil},
		{"counts do not add up", func(in *Inspection) { in.Attendance.Present = 30 }, true, []string{"attendance.listed"}},
		{"more late than present", func(in *Inspection) { in.Attendance.Late = 36 }, true, []string{"attendance.late"}},
		{"unknown violation", func(in *Inspection) { in.Findings[0].Violation = "ngu-gat" }, false, []string{"findings[0].violation"}},
		{"unknown handling", func(in *Inspection) { in.Handling[0].Code = "xu-ban" }, false, []string{"handling[0].code"}},
		{"bad role", func(in *Inspection) { in.Team[1].Role = "khach" }, false, []string{"team[1].role"}},
		{"end before start", func(in *Inspection) { e := in.StartedAt.Add(-time.Minute); in.EndedAt = &e }, false, []string{"ended_at"}},
		{"two leaders", func(in *Inspection) { in.Team[1].Role = RoleLeader }, true, []string{"team"}},
		{"no unit, no conclusions", func(in *Inspection) { in.UnitID, in.Conclusions = 0, " " }, true, []string{"unit_id", "conclusions"}},
		{"finding without violation", func(in *Inspection) { in.Findings[0].Violation = "" }, true, []string{"findings[0].violation"}},
		{"refusal without reason", func(in *Inspection) { in.RefusedToSign = true }, true, []string{"refusal_reason"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validInspection()
			tt.change(&in)
			ps := in.ValidateDraft(known)
			if tt.final {
				ps = in.ValidateFinal(known)
			}
			var fields []string
			for _, p := range ps {
				fields = append(fields, p.Field)
			}
			if !slices.Equal(fields, tt.fields) {
				t.Errorf("fields = %v, want %v (%v)", fields, tt.fields, ps)
			}
		})
	}
}

func TestDefaultCatalog(t *testing.T) {
	seen := map[string]bool{}
	var v, h int
	for _, e := range DefaultCatalog() {
		key := string(e.Kind) + "/" + e.Code
		if seen[key] || e.Name == "" || !e.Active {
			t.Errorf("bad entry %+v", e)
		}
		seen[key] = true
		if e.Kind == CatalogViolation {
			v++
		} else {
			h++
		}
	}
	if v != 12 || h != 14 {
		t.Errorf("%d violations and %d handling forms, want 12 and 14 (DOMAIN.md §4)", v, h)
	}
}
