package vanthu

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The quarterly KLKCHC report (DOMAIN.md §5) is computed for a Period: a
// quarter, the first 6 or 9 months, or the whole year, cut either by
// calendar months or by the "15th to 14th" rule some provinces use. A
// Report is one generated period: its figures (frozen when generated), the
// narrative the clerk edits, and the draft document that issuing numbers
// and sends.

// PeriodKind is the length of a reporting period.
type PeriodKind string

// Period kinds. The values are part of the API and of report keys.
const (
	PeriodQuarter    PeriodKind = "quy"     // one quarter
	PeriodHalf       PeriodKind = "6-thang" // quarters I and II
	PeriodNineMonths PeriodKind = "9-thang" // quarters I to III
	PeriodYear       PeriodKind = "nam"     // the whole year
)

// CutOff is the rule that cuts a period into dates.
type CutOff string

// Cut-off rules.
const (
	// CutOffCalendar cuts at calendar months: quarter IV is 1 October to
	// 31 December.
	CutOffCalendar CutOff = "calendar"
	// CutOff15th runs from the 15th of the month before the period's first
	// month to the 14th of its last month: quarter IV of 2026 is
	// 15 September to 14 December 2026, quarter I of 2027 starts on
	// 15 December 2026.
	CutOff15th CutOff = "15-14"
)

// Valid reports whether c is a known rule.
func (c CutOff) Valid() bool { return c == CutOffCalendar || c == CutOff15th }

// Period is a reporting period. Quarter is 1 to 4 for PeriodQuarter and 0
// otherwise.
type Period struct {
	Year    int        `json:"year"`
	Kind    PeriodKind `json:"kind"`
	Quarter int        `json:"quarter,omitempty"`
	CutOff  CutOff     `json:"cutoff"`
}

// QuarterPeriod returns quarter q of year y under rule c.
func QuarterPeriod(y, q int, c CutOff) Period {
	return Period{Year: y, Kind: PeriodQuarter, Quarter: q, CutOff: c}
}

// lastMonth is the last calendar month the period covers (3, 6, 9, 12).
func (p Period) lastMonth() int {
	switch p.Kind {
	case PeriodQuarter:
		return 3 * p.Quarter
	case PeriodHalf:
		return 6
	case PeriodNineMonths:
		return 9
	}
	return 12
}

// firstMonth is the first calendar month the period covers.
func (p Period) firstMonth() int {
	if p.Kind == PeriodQuarter {
		return 3*p.Quarter - 2
	}
	return 1
}

// Range returns the period as the half-open interval [from, until) of
// instants in Location: every date from the first day through the last
// day inclusive.
func (p Period) Range() (from, until time.Time) {
	if p.CutOff == CutOff15th {
		from = time.Date(p.Year, time.Month(p.firstMonth()-1), 15, 0, 0, 0, 0, Location)
		until = time.Date(p.Year, time.Month(p.lastMonth()), 15, 0, 0, 0, 0, Location)
		return from, until
	}
	from = time.Date(p.Year, time.Month(p.firstMonth()), 1, 0, 0, 0, 0, Location)
	until = time.Date(p.Year, time.Month(p.lastMonth()+1), 1, 0, 0, 0, 0, Location)
	return from, until
}

// LastDay is the last date the period covers (Range's until minus a day).
func (p Period) LastDay() time.Time {
	_, until := p.Range()
	return until.AddDate(0, 0, -1)
}

// Previous is the period the report compares with: the quarter before a
// quarter (quarter IV of last year before quarter I), the same months of
// the year before for longer periods.
func (p Period) Previous() Period {
	q := p
	if p.Kind == PeriodQuarter {
		q.Quarter--
		if q.Quarter == 0 {
			q.Quarter = 4
			q.Year--
		}
		return q
	}
	q.Year--
	return q
}

// Key names the period in logs, events and file names:
// "2026-quy-4-calendar", "2026-6-thang-15-14".
func (p Period) Key() string {
	k := strconv.Itoa(p.Year) + "-" + string(p.Kind)
	if p.Kind == PeriodQuarter {
		k += "-" + strconv.Itoa(p.Quarter)
	}
	return k + "-" + string(p.CutOff)
}

// Label is the period as the report's title says it: "quý IV năm 2026",
// "6 tháng đầu năm 2026", "9 tháng năm 2026", "năm 2026".
func (p Period) Label() string {
	y := strconv.Itoa(p.Year)
	switch p.Kind {
	case PeriodQuarter:
		return "quý " + Roman(p.Quarter) + " năm " + y
	case PeriodHalf:
		return "6 tháng đầu năm " + y
	case PeriodNineMonths:
		return "9 tháng năm " + y
	}
	return "năm " + y
}

// Roman writes n (1 to 3999) in Roman numerals, as quarters and sections
// are printed: 4 is "IV". Other numbers are written in digits.
func Roman(n int) string {
	if n <= 0 || n >= 4000 {
		return strconv.Itoa(n)
	}
	vals := []int{1000, 900, 500, 400, 100, 90, 50, 40, 10, 9, 5, 4, 1}
	syms := []string{"M", "CM", "D", "CD", "C", "XC", "L", "XL", "X", "IX", "V", "IV", "I"}
	var b strings.Builder
	for i, val := range vals {
		for n >= val {
			b.WriteString(syms[i])
			n -= val
		}
	}
	return b.String()
}

// Validate checks p against now: a known kind, a quarter from 1 to 4 for a
// quarter (and none otherwise), a known cut-off rule, a plausible year,
// and a period that has started by now (a report of the future has nothing
// to count). The problems name the API's fields.
func (p Period) Validate(now time.Time) error {
	var ps []Problem
	switch p.Kind {
	case PeriodQuarter:
		if p.Quarter < 1 || p.Quarter > 4 {
			ps = append(ps, Problem{Field: "quarter", Message: fmt.Sprintf("Quý phải từ 1 đến 4 (nhận được %d).", p.Quarter)})
		}
	case PeriodHalf, PeriodNineMonths, PeriodYear:
		if p.Quarter != 0 {
			ps = append(ps, Problem{Field: "quarter", Message: "Chỉ kỳ báo cáo quý mới có số quý."})
		}
	default:
		ps = append(ps, Problem{Field: "kind", Message: fmt.Sprintf("Kỳ báo cáo không hợp lệ: %q (quy, 6-thang, 9-thang, nam).", string(p.Kind))})
	}
	if !p.CutOff.Valid() {
		ps = append(ps, Problem{Field: "cutoff", Message: fmt.Sprintf("Quy tắc chốt số liệu không hợp lệ: %q (calendar, 15-14).", string(p.CutOff))})
	}
	if p.Year < 2000 || p.Year > 2100 {
		ps = append(ps, Problem{Field: "year", Message: fmt.Sprintf("Năm phải từ 2000 đến 2100 (nhận được %d).", p.Year)})
	}
	if len(ps) == 0 {
		if from, _ := p.Range(); from.After(now) {
			ps = append(ps, Problem{Field: "year", Message: fmt.Sprintf(
				"Kỳ báo cáo %s chưa bắt đầu (từ ngày %s): không thể lập báo cáo cho tương lai.", p.Label(), from.Format("02/01/2006"))})
		}
	}
	if len(ps) > 0 {
		return Invalid("Kỳ báo cáo không hợp lệ.", ps...)
	}
	return nil
}

// LastEndedQuarter is the latest quarter under rule c whose last day is
// before now's date in Location: the quarter a report is due for.
func LastEndedQuarter(now time.Time, c CutOff) Period {
	day := now.In(Location)
	// The calendar quarter of day has started under either rule (15-14
	// starts earlier); step back until one has ended. On 20 December under
	// 15-14 that is quarter IV itself, which ended on the 14th.
	p := QuarterPeriod(day.Year(), (int(day.Month())-1)/3+1, c)
	for {
		if _, until := p.Range(); !until.After(day) {
			return p
		}
		p = p.Previous()
	}
}

// ReportFigures are the numbers of a report for one period, computed from
// the database when the report is generated (internal/store) and frozen
// with it. Counts are over finalized inspections that no finalized
// correction supersedes, whose start falls in the period, and over the
// dispatches of directives issued in the period.
type ReportFigures struct {
	Period Period    `json:"period"`
	From   time.Time `json:"from"`  // first instant of the period
	Until  time.Time `json:"until"` // first instant after it
	AsOf   time.Time `json:"as_of"` // milestones are counted as known at this time

	Direction   DirectionFigures  `json:"direction"`
	Inspections InspectionFigures `json:"inspections"`
	// Violations counts persons found per violation code, in catalog
	// order, every code found in this period or the previous one.
	Violations []CodeCount `json:"violations"`
	// Handling counts proposed handling per code, in catalog order.
	Handling []CodeCount `json:"handling"`

	// Annex tables.
	InspectionRows []InspectionRow      `json:"inspection_rows"` // Biểu 1, one per inspection
	UnitViolations []UnitViolationCount `json:"unit_violations"` // Biểu 2, per unit and code
	ReceiptRows    []UnitReceiptRow     `json:"receipt_rows"`    // Biểu 4, one per unit

	// Previous is the same headline figures for Period.Previous(), for the
	// comparison; its own Previous and annex tables are empty.
	Previous *ReportFigures `json:"previous,omitempty"`
}

// DirectionFigures is section I: the directives issued in the period and
// how their dispatches were acknowledged. Each dispatch is one unit
// receiving one directive.
type DirectionFigures struct {
	Issued        int `json:"issued"`           // directives issued
	Dispatches    int `json:"dispatches"`       // unit × directive
	Units         int `json:"units"`            // distinct units sent to
	Received      int `json:"received"`         // sent and not bounced or failed
	Read          int `json:"read"`             // read or acknowledged
	AckOnTime     int `json:"ack_on_time"`      // acknowledged by the deadline (or none set)
	AckLate       int `json:"ack_late"`         // acknowledged after the deadline
	NotAckd       int `json:"not_acknowledged"` // not acknowledged as of AsOf
	BouncedFailed int `json:"bounced_failed"`   // bounced or failed
}

// Acknowledged is on time plus late.
func (d DirectionFigures) Acknowledged() int { return d.AckOnTime + d.AckLate }

// InspectionFigures is section II.
type InspectionFigures struct {
	Total     int `json:"total"`
	Scheduled int `json:"scheduled"` // not a surprise
	Surprise  int `json:"surprise"`
	Units     int `json:"units"` // distinct units inspected
	// UnitsByGroup counts distinct units inspected per unit group (the
	// "level": sở/ngành, xã/phường, …), codes as UnitGroup, in UnitGroups
	// order, groups with no unit left out.
	UnitsByGroup []CodeCount `json:"units_by_group"`

	Listed           int `json:"listed"` // staff checked (on the lists)
	Present          int `json:"present"`
	AbsentLeave      int `json:"absent_leave"`
	AbsentAssignment int `json:"absent_assignment"`
	AbsentStudy      int `json:"absent_study"`
	AbsentUnexcused  int `json:"absent_unexcused"`
	Late             int `json:"late"`
	LeftEarly        int `json:"left_early"`
	Violators        int `json:"violators"` // findings (persons recorded)
}

// AbsentExcused is absent with a reason, of every kind.
func (f InspectionFigures) AbsentExcused() int {
	return f.AbsentLeave + f.AbsentAssignment + f.AbsentStudy
}

// Absent is every absence.
func (f InspectionFigures) Absent() int { return f.AbsentExcused() + f.AbsentUnexcused }

// CodeCount is a count under a catalog code (or a unit group) with its
// Vietnamese name.
type CodeCount struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// InspectionRow is one line of Biểu 1.
type InspectionRow struct {
	InspectionID    int64     `json:"inspection_id"`
	UnitCode        string    `json:"unit_code"`
	UnitName        string    `json:"unit_name"`
	StartedAt       time.Time `json:"started_at"`
	Surprise        bool      `json:"surprise"`
	Listed          int       `json:"listed"`
	Present         int       `json:"present"`
	AbsentExcused   int       `json:"absent_excused"`
	AbsentUnexcused int       `json:"absent_unexcused"`
	Late            int       `json:"late"` // late or left early
	Violators       int       `json:"violators"`
}

// UnitViolationCount is one cell of Biểu 2: persons found with one
// violation in one unit.
type UnitViolationCount struct {
	UnitCode string `json:"unit_code"`
	UnitName string `json:"unit_name"`
	Code     string `json:"code"`
	Name     string `json:"name"`
	Count    int    `json:"count"`
}

// UnitReceiptRow is one line of Biểu 4: the directives of the period one
// unit was sent and what became of them.
type UnitReceiptRow struct {
	UnitCode     string `json:"unit_code"`
	UnitName     string `json:"unit_name"`
	Dispatches   int    `json:"dispatches"`
	Received     int    `json:"received"`
	Read         int    `json:"read"`
	Acknowledged int    `json:"acknowledged"`
	Late         int    `json:"late"`    // acknowledged after the deadline
	Overdue      int    `json:"overdue"` // deadline passed by AsOf, not acknowledged
}

// CheckedPerson is one line of the workbook's detail sheet: a person the
// inspections of the period recorded (a finding), streamed from the
// database in unit and time order.
type CheckedPerson struct {
	InspectionID int64     `json:"inspection_id"`
	UnitName     string    `json:"unit_name"`
	StartedAt    time.Time `json:"started_at"`
	Name         string    `json:"name"`
	Position     string    `json:"position"`
	Section      string    `json:"section"`
	Violation    string    `json:"violation"` // the catalog's name
	Explanation  string    `json:"explanation"`
}

// ReportNarrative is what the clerk writes in a report before it is
// issued: sections III to V.
type ReportNarrative struct {
	Assessment string   `json:"assessment"`
	NextTasks  []string `json:"next_tasks"`
	Proposals  string   `json:"proposals"`
}

// ReportState is where a generated report is.
type ReportState string

// Report states.
const (
	ReportGenerating ReportState = "generating" // the task is running (Progress)
	ReportReady      ReportState = "ready"      // figures, PDF draft and workbook made
	ReportFailed     ReportState = "failed"     // the last generation failed (Error)
	ReportIssued     ReportState = "issued"     // its document was issued: frozen
)

// Report is one generated period.
type Report struct {
	ID       int64       `json:"id"`
	Period   Period      `json:"period"`
	State    ReportState `json:"state"`
	Progress int         `json:"progress"` // 0–100 while generating
	// Generation counts the requests to (re)generate the report; a
	// generate task does its work only for the current one.
	Generation int             `json:"generation"`
	Error      string          `json:"error,omitempty"`
	Figures    *ReportFigures  `json:"figures,omitempty"`
	Narrative  ReportNarrative `json:"narrative"`
	DocumentID int64           `json:"document_id,omitempty"` // the BC draft, then the issued report
	// HasWorkbook says a generation has finished: the annex workbook (and
	// the draft laid out with it) can be downloaded.
	HasWorkbook bool      `json:"has_workbook"`
	CreatedBy   int64     `json:"created_by,omitempty"` // 0: the scheduler
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Holidays are the dates ("2006-01-02" in Location) on which offices are
// closed besides weekends. The fixed solar holidays are built in
// (FixedHolidays); Tết and the Hùng Kings' day follow the lunar calendar
// and the government's yearly decision, so they are configured.
type Holidays map[string]bool

// FixedHolidays are the solar public holidays of the Labour Code: New
// Year (1/1), Reunification Day (30/4), Labour Day (1/5) and National Day
// (2/9), written "MM-DD".
var FixedHolidays = []string{"01-01", "04-30", "05-01", "09-02"}

// WorkingDay reports whether the date of t (in Location) is a working
// day: Monday to Friday, neither a fixed holiday nor one of h.
func (h Holidays) WorkingDay(t time.Time) bool {
	d := t.In(Location)
	if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	md := d.Format("01-02")
	for _, f := range FixedHolidays {
		if md == f {
			return false
		}
	}
	return !h[d.Format("2006-01-02")]
}

// FirstWorkingDayAfter returns midnight (Location) of the first working
// day after the date of t.
func (h Holidays) FirstWorkingDayAfter(t time.Time) time.Time {
	d := t.In(Location)
	day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, Location).AddDate(0, 0, 1)
	for !h.WorkingDay(day) {
		day = day.AddDate(0, 0, 1)
	}
	return day
}

// ParseHolidays reads a comma- or space-separated list of dates
// (VANTHU_HOLIDAYS), naming the first bad one.
func ParseHolidays(s string) (Holidays, error) {
	h := Holidays{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		d, err := time.ParseInLocation("2006-01-02", f, Location)
		if err != nil {
			return nil, fmt.Errorf("ngày nghỉ không hợp lệ %q: cần dạng 2006-01-02", f)
		}
		h[d.Format("2006-01-02")] = true
	}
	return h, nil
}
