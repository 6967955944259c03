package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/render/sheet"
	"github.com/sonoivu/vanthu/internal/vntext"
)

// Inspection exports (issue 6, item 6): the persons in violation of one
// inspection as the "findings" Excel template, which goes with the
// minutes, and the inspection list, filtered as the JSON list is, as the
// "inspections" template. Both read what everyone may read.

// Sheets fills the Excel templates (satisfied by *templates.Set).
type Sheets interface {
	// FillSheet fills the Excel template name with d.
	FillSheet(ctx context.Context, name string, d sheet.Data) ([]byte, error)
}

// Names of the Excel templates the exports fill.
const (
	findingsSheet    = "findings"
	inspectionsSheet = "inspections"
)

// draftNumber stands for the number of minutes not yet finalized.
const draftNumber = "(dự thảo)"

// sheets returns the configured Sheets or an EUnavailable error.
func (s *Server) sheets() (Sheets, error) {
	if s.cfg.Sheets == nil {
		return nil, vanthu.Errorf(vanthu.EUnavailable, "Chức năng xuất Excel chưa được cấu hình.")
	}
	return s.cfg.Sheets, nil
}

// catalogNames maps "kind/code" to the entry's name.
func catalogNames(es []vanthu.CatalogEntry) map[string]string {
	m := make(map[string]string, len(es))
	for _, e := range es {
		m[string(e.Kind)+"/"+e.Code] = e.Name
	}
	return m
}

// samePerson tells whether a handling's person is the finding's: the
// inspector types the name twice, so case and spacing may differ.
func samePerson(a, b string) bool {
	a, b = vntext.Clean(a), vntext.Clean(b)
	return a != "" && strings.EqualFold(a, b)
}

// findingsData is the "findings" template's data for in: one record per
// person found, with the handling proposed for that person.
func findingsData(in vanthu.Inspection, names map[string]string) sheet.Data {
	number := in.MinutesNumber
	if number == "" {
		number = draftNumber
	}
	date := ""
	if in.StartedAt != nil {
		date = in.StartedAt.In(vanthu.Location).Format("02/01/2006")
	}
	recs := make([]map[string]any, 0, len(in.Findings))
	for _, f := range in.Findings {
		violation := names[string(vanthu.CatalogViolation)+"/"+f.Violation]
		if violation == "" {
			violation = f.Violation
		}
		if f.SeenAt != nil {
			violation += f.SeenAt.In(vanthu.Location).Format(" (lúc 15 giờ 04)")
		}
		unit := in.UnitName
		if f.Section != "" && unit != "" {
			unit = f.Section + ", " + unit
		} else if f.Section != "" {
			unit = f.Section
		}
		var handling []string
		for _, h := range in.Handling {
			if !samePerson(h.Person, f.Name) {
				continue
			}
			text := names[string(vanthu.CatalogHandling)+"/"+h.Code]
			if text == "" {
				text = h.Code
			}
			if h.Note != "" {
				text += " (" + h.Note + ")"
			}
			handling = append(handling, text)
		}
		recs = append(recs, map[string]any{
			"FullName": f.Name, "Position": f.Position, "Unit": unit,
			"Violation": violation, "Code": f.Violation, "Handling": strings.Join(handling, "; "),
		})
	}
	return sheet.Data{
		Values: map[string]any{"Number": number, "Date": date},
		Rows:   map[string][]map[string]any{"": recs},
	}
}

// findingsFileName names the findings file after the minutes' number
// ("phát-hiện-01-BB-ĐKT.xlsx"), or the record for a draft.
func findingsFileName(in vanthu.Inspection) string {
	if in.MinutesNumber == "" {
		return "phát-hiện-biên-bản-" + strconv.FormatInt(in.ID, 10) + "-dự-thảo.xlsx"
	}
	return "phát-hiện-" + strings.ReplaceAll(in.MinutesNumber, "/", "-") + ".xlsx"
}

// apiFindingsXLSX answers the persons in violation of one inspection.
func (s *Server) apiFindingsXLSX(w http.ResponseWriter, r *http.Request) error {
	is, err := s.inspections()
	if err != nil {
		return err
	}
	sh, err := s.sheets()
	if err != nil {
		return err
	}
	in, err := s.pathInspection(r)
	if err != nil {
		return err
	}
	catalog, err := is.ListCatalog(r.Context(), "")
	if err != nil {
		return fmt.Errorf("list catalog: %w", err)
	}
	xlsx, err := sh.FillSheet(r.Context(), findingsSheet, findingsData(in, catalogNames(catalog)))
	if err != nil {
		return fmt.Errorf("findings sheet of inspection %d: %w", in.ID, err)
	}
	return serveFile(w, contentTypeXLSX, findingsFileName(in), true, xlsx)
}

// exportFilter is inspectionFilter for the export, which checks more
// because a whole year goes into a file: the violation must be a catalog
// code and the unit must exist. It returns the unit's name ("" for all)
// for the sheet's title, and asks the store for every match.
func (s *Server) exportFilter(r *http.Request, catalog []vanthu.CatalogEntry) (vanthu.InspectionFilter, string, error) {
	f, err := inspectionFilter(r)
	if err != nil {
		return f, "", err
	}
	var ps []vanthu.Problem
	if f.Violation != "" && !slices.ContainsFunc(catalog, func(e vanthu.CatalogEntry) bool {
		return e.Kind == vanthu.CatalogViolation && e.Code == f.Violation
	}) {
		ps = append(ps, vanthu.Problem{Field: "violation", Message: "Loại vi phạm không có trong danh mục: " + f.Violation + "."})
	}
	unit := ""
	if f.UnitID != 0 {
		u, err := s.store.GetUnit(r.Context(), f.UnitID)
		switch {
		case vanthu.ErrorCodeOf(err) == vanthu.ENotFound:
			ps = append(ps, vanthu.Problem{Field: "unit_id", Message: fmt.Sprintf("Không có đơn vị mã số %d.", f.UnitID)})
		case err != nil:
			return f, "", fmt.Errorf("get unit %d: %w", f.UnitID, err)
		default:
			unit = u.Name
		}
	}
	if len(ps) > 0 {
		return vanthu.InspectionFilter{}, "", vanthu.Invalid("Bộ lọc không hợp lệ.", ps...)
	}
	f.Limit = -1
	return f, unit, nil
}

// filterText says in words which inspections a file holds, for its title.
func filterText(f vanthu.InspectionFilter, unit string, names map[string]string) string {
	day := func(t time.Time) string { return t.In(vanthu.Location).Format("02/01/2006") }
	var parts []string
	if unit != "" {
		parts = append(parts, "tại "+unit)
	}
	switch {
	case f.From != nil && f.Until != nil:
		parts = append(parts, "từ ngày "+day(*f.From)+" đến ngày "+day(f.Until.AddDate(0, 0, -1)))
	case f.From != nil:
		parts = append(parts, "từ ngày "+day(*f.From))
	case f.Until != nil:
		parts = append(parts, "đến ngày "+day(f.Until.AddDate(0, 0, -1)))
	}
	if f.Violation != "" {
		parts = append(parts, "có vi phạm “"+names[string(vanthu.CatalogViolation)+"/"+f.Violation]+"”")
	}
	if f.State != "" {
		parts = append(parts, "trạng thái "+strings.ToLower(inspectionStateLabel(f.State)))
	}
	if len(parts) == 0 {
		return "Tất cả các cuộc kiểm tra"
	}
	return "Các cuộc kiểm tra " + strings.Join(parts, ", ")
}

// inspectionRecord is one row of the "inspections" template.
func inspectionRecord(in vanthu.Inspection) map[string]any {
	a := in.Attendance
	form := "Theo kế hoạch"
	if in.Surprise {
		form = "Đột xuất"
	}
	var codes []string
	for _, f := range in.Findings {
		if f.Violation != "" && !slices.Contains(codes, f.Violation) {
			codes = append(codes, f.Violation)
		}
	}
	var rate any
	if a.Listed > 0 {
		rate = float64(a.Present) / float64(a.Listed)
	}
	var started any
	if in.StartedAt != nil {
		started = in.StartedAt.In(vanthu.Location)
	}
	return map[string]any{
		"Number": in.MinutesNumber, "StartedAt": started, "Unit": in.UnitName, "Place": in.Place, "Form": form,
		"Listed": a.Listed, "Present": a.Present, "AbsentExcused": a.AbsentExcused(), "AbsentUnexcused": a.AbsentUnexcused,
		"LateOrEarly": a.Late + a.LeftEarly, "Rate": rate, "Violators": len(in.Findings),
		"Codes": strings.Join(codes, ", "), "State": inspectionStateLabel(in.State), "Version": in.Version,
	}
}

// inspectionsFileName names the list file after its period.
func inspectionsFileName(f vanthu.InspectionFilter) string {
	name := "danh-sách-kiểm-tra"
	if f.From != nil {
		name += "-từ-" + f.From.In(vanthu.Location).Format(dateInput)
	}
	if f.Until != nil {
		name += "-đến-" + f.Until.AddDate(0, 0, -1).In(vanthu.Location).Format(dateInput)
	}
	return name + ".xlsx"
}

// apiInspectionsXLSX answers the filtered inspection list, every match.
func (s *Server) apiInspectionsXLSX(w http.ResponseWriter, r *http.Request) error {
	is, err := s.inspections()
	if err != nil {
		return err
	}
	sh, err := s.sheets()
	if err != nil {
		return err
	}
	catalog, err := is.ListCatalog(r.Context(), vanthu.CatalogViolation)
	if err != nil {
		return fmt.Errorf("list catalog: %w", err)
	}
	f, unit, err := s.exportFilter(r, catalog)
	if err != nil {
		return err
	}
	list, err := is.ListInspections(r.Context(), f)
	if err != nil {
		return fmt.Errorf("list inspections: %w", err)
	}
	// Oldest first: a period's report reads in the order of time.
	slices.Reverse(list)
	recs := make([]map[string]any, len(list))
	for i, in := range list {
		recs[i] = inspectionRecord(in)
	}
	data := sheet.Data{
		Values: map[string]any{
			"Filter": filterText(f, unit, catalogNames(catalog)),
			"AsOf":   s.now().In(vanthu.Location).Format("15:04 ngày 02/01/2006"),
		},
		Rows: map[string][]map[string]any{"": recs},
	}
	xlsx, err := sh.FillSheet(r.Context(), inspectionsSheet, data)
	if err != nil {
		return fmt.Errorf("inspections sheet: %w", err)
	}
	return serveFile(w, contentTypeXLSX, inspectionsFileName(f), true, xlsx)
}
