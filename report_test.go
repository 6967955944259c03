package vanthu

import (
	"testing"
	"time"
)

func TestPeriodRange(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, Location) }
	tests := []struct {
		p           Period
		from, until time.Time
		label, prev string
	}{
		{QuarterPeriod(2026, 4, CutOffCalendar), day(2026, 10, 1), day(2027, 1, 1), "quý IV năm 2026", "2026-quy-3-calendar"},
		{QuarterPeriod(2026, 1, CutOffCalendar), day(2026, 1, 1), day(2026, 4, 1), "quý I năm 2026", "2025-quy-4-calendar"},
		{QuarterPeriod(2026, 4, CutOff15th), day(2026, 9, 15), day(2026, 12, 15), "quý IV năm 2026", "2026-quy-3-15-14"},
		{QuarterPeriod(2027, 1, CutOff15th), day(2026, 12, 15), day(2027, 3, 15), "quý I năm 2027", "2026-quy-4-15-14"},
		{Period{Year: 2026, Kind: PeriodHalf, CutOff: CutOffCalendar}, day(2026, 1, 1), day(2026, 7, 1), "6 tháng đầu năm 2026", "2025-6-thang-calendar"},
		{Period{Year: 2026, Kind: PeriodNineMonths, CutOff: CutOff15th}, day(2025, 12, 15), day(2026, 9, 15), "9 tháng năm 2026", "2025-9-thang-15-14"},
		{Period{Year: 2026, Kind: PeriodYear, CutOff: CutOffCalendar}, day(2026, 1, 1), day(2027, 1, 1), "năm 2026", "2025-nam-calendar"},
	}
	for _, tt := range tests {
		t.Run(tt.p.Key(), func(t *testing.T) {
			from, until := tt.p.Range()
			if !from.Equal(tt.from) || !until.Equal(tt.until) {
				t.Errorf("Range = %v, %v; want %v, %v", from, until, tt.from, tt.until)
			}
			if got := tt.p.Label(); got != tt.label {
				t.Errorf("Label = %q, want %q", got, tt.label)
			}
			if got := tt.p.Previous().Key(); got != tt.prev {
				t.Errorf("Previous = %q, want %q", got, tt.prev)
			}
		})
	}
}

func TestPeriodValidate(t *testing.T) {
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, Location)
	tests := []struct {
		name  string
		p     Period
		field string // "" when valid
	}{
		{"current quarter", QuarterPeriod(2026, 4, CutOffCalendar), ""},
		{"past year", Period{Year: 2025, Kind: PeriodYear, CutOff: CutOff15th}, ""},
		{"quarter 5", QuarterPeriod(2026, 5, CutOffCalendar), "quarter"},
		{"quarter 0", QuarterPeriod(2026, 0, CutOffCalendar), "quarter"},
		{"future", QuarterPeriod(2027, 1, CutOffCalendar), "year"},
		// Under 15-14, quarter I of 2027 starts on 15 December 2026.
		{"future under 15-14", QuarterPeriod(2027, 1, CutOff15th), "year"},
		{"unknown cut-off", QuarterPeriod(2026, 3, "10-9"), "cutoff"},
		{"unknown kind", Period{Year: 2026, Kind: "thang", CutOff: CutOffCalendar}, "kind"},
		{"quarter on a year", Period{Year: 2026, Kind: PeriodYear, Quarter: 2, CutOff: CutOffCalendar}, "quarter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate(now)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if ErrorCodeOf(err) != EInvalid {
				t.Fatalf("Validate = %v, want invalid", err)
			}
			ps := ProblemsOf(err)
			if len(ps) == 0 || ps[0].Field != tt.field {
				t.Fatalf("problems %+v, want field %q", ps, tt.field)
			}
		})
	}
}

func TestLastEndedQuarter(t *testing.T) {
	at := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 8, 0, 0, 0, Location) }
	tests := []struct {
		now  time.Time
		c    CutOff
		want string
	}{
		{at(2026, 11, 29), CutOffCalendar, "2026-quy-3-calendar"},
		{at(2027, 1, 2), CutOffCalendar, "2026-quy-4-calendar"},
		{at(2026, 12, 31), CutOffCalendar, "2026-quy-3-calendar"},
		{at(2026, 12, 15), CutOff15th, "2026-quy-4-15-14"},
		{at(2026, 12, 14), CutOff15th, "2026-quy-3-15-14"},
		{at(2027, 1, 5), CutOff15th, "2026-quy-4-15-14"},
	}
	for _, tt := range tests {
		if got := LastEndedQuarter(tt.now, tt.c).Key(); got != tt.want {
			t.Errorf("LastEndedQuarter(%s, %s) = %s, want %s", tt.now.Format("2006-01-02"), tt.c, got, tt.want)
		}
	}
}

func TestFirstWorkingDayAfter(t *testing.T) {
	h, err := ParseHolidays("2027-01-04, 2026-07-01")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseHolidays("2027-13-01"); err == nil {
		t.Fatal("ParseHolidays accepted month 13")
	}
	tests := []struct{ after, want string }{
		{"2026-12-31", "2027-01-05"}, // 1/1 fixed (Friday), weekend, 4/1 configured
		{"2026-09-30", "2026-10-01"}, // Thursday
		{"2026-06-30", "2026-07-02"}, // 1/7 configured
		{"2027-03-31", "2027-04-01"},
		{"2025-12-31", "2026-01-02"}, // 1/1/2026 is a Thursday
		{"2026-04-29", "2026-05-04"}, // 30/4, 1/5, weekend
	}
	for _, tt := range tests {
		after, _ := time.ParseInLocation("2006-01-02", tt.after, Location)
		if got := h.FirstWorkingDayAfter(after.Add(17 * time.Hour)).Format("2006-01-02"); got != tt.want {
			t.Errorf("FirstWorkingDayAfter(%s) = %s, want %s", tt.after, got, tt.want)
		}
	}
}

func TestRoman(t *testing.T) {
	for n, want := range map[int]string{1: "I", 3: "III", 4: "IV", 9: "IX", 14: "XIV", 1994: "MCMXCIV", 0: "0", 4000: "4000"} {
		if got := Roman(n); got != want {
			t.Errorf("Roman(%d) = %q, want %q", n, got, want)
		}
	}
}
