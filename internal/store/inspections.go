package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/vntext"
)

// Inspection records (DOMAIN.md §4): the violation and handling catalogs,
// drafts saved as the inspector goes with optimistic concurrency, listing,
// corrections as new versions, and the seam the finalize task uses.

// Limits of ListInspections.
const (
	defaultInspectionLimit = 100
	maxInspectionLimit     = 1000
)

// catalogCodeRE is what a catalog code may look like: it is part of URLs
// and stored in every finding, so it stays plain.
var catalogCodeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,49}$`)

// handlingGroups are the groups of the handling catalog (vanthu.CatalogEntry).
var handlingGroups = []string{"khong-ky-luat", "cong-chuc", "vien-chuc", "khac"}

func inspectionSubject(id int64) string { return "inspection:" + strconv.FormatInt(id, 10) }

func catalogSubject(kind vanthu.CatalogKind, code string) string {
	return "catalog:" + string(kind) + ":" + code
}

func errInspectionNotFound() *vanthu.Error {
	return vanthu.Errorf(vanthu.ENotFound, "Không tìm thấy biên bản kiểm tra.")
}

// errFinalized is the answer to any change of finalized minutes.
func errFinalized() *vanthu.Error {
	return vanthu.Errorf(vanthu.EConflict, "Biên bản đã hoàn tất, không sửa được nữa; hãy lập bản sửa đổi.")
}

// errStale is the answer to a save based on a revision another save has
// already replaced. The first words are what the inspector's form shows.
func errStale(current int) *vanthu.Error {
	return vanthu.Errorf(vanthu.EConflict,
		"Thiết bị khác vừa lưu biên bản này (lần lưu thứ %d); hãy tải lại để xem bản mới nhất trước khi sửa tiếp.", current)
}

// ---------------------------------------------------------------------------
// Catalogs

// EnsureCatalog fills an empty catalog with vanthu.DefaultCatalog(). Migrate
// calls it, so every migrated database has the catalogs; calling it again,
// or from several processes at once, changes nothing. An admin's edits are
// never overwritten: once the catalog has a row, it is left alone. Like the
// schema, the defaults are part of migrating and record no event; the
// audit log starts with what people do to them.
func (s *Store) EnsureCatalog(ctx context.Context) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM catalog").Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		for _, e := range vanthu.DefaultCatalog() {
			// DO NOTHING: a concurrent migrator may have seeded the same
			// rows between the count and here (PostgreSQL).
			if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO catalog (kind, code, name, grp, ord, active)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (kind, code) DO NOTHING`),
				string(e.Kind), e.Code, e.Name, e.Group, e.Order, e.Active); err != nil {
				return err
			}
		}
		return nil
	})
	return dbError("ensure catalog", err)
}

func scanCatalogEntry(sc scanner) (vanthu.CatalogEntry, error) {
	var (
		e    vanthu.CatalogEntry
		kind string
	)
	err := sc.Scan(&kind, &e.Code, &e.Name, &e.Group, &e.Order, &e.Active)
	e.Kind = vanthu.CatalogKind(kind)
	return e, err
}

// ListCatalog returns the entries of a catalog ("" for both), inactive ones
// included, by kind then order. Forms offer the active ones; an inactive
// code still names the findings that carry it.
func (s *Store) ListCatalog(ctx context.Context, kind vanthu.CatalogKind) ([]vanthu.CatalogEntry, error) {
	query := "SELECT kind, code, name, grp, ord, active FROM catalog"
	var args []any
	if kind != "" {
		query += " WHERE kind = ?"
		args = append(args, string(kind))
	}
	query += " ORDER BY kind DESC, ord, code" // violation before handling
	return queryAll(ctx, s.db, "list catalog", s.rebind(query), scanCatalogEntry, args...)
}

// normalizeCatalogEntry brings e to NFC and validates it.
func normalizeCatalogEntry(e *vanthu.CatalogEntry) error {
	e.Kind = vanthu.CatalogKind(strings.TrimSpace(string(e.Kind)))
	e.Code = strings.TrimSpace(vntext.NFC(e.Code))
	e.Name = vntext.Clean(e.Name)
	e.Group = strings.TrimSpace(vntext.NFC(e.Group))
	var ps []vanthu.Problem
	if e.Kind != vanthu.CatalogViolation && e.Kind != vanthu.CatalogHandling {
		ps = append(ps, vanthu.Problem{Field: "kind", Message: "Danh mục phải là violation (loại vi phạm) hoặc handling (hình thức xử lý)."})
	}
	if !catalogCodeRE.MatchString(e.Code) {
		ps = append(ps, vanthu.Problem{Field: "code", Message: "Mã chỉ gồm chữ thường không dấu, chữ số và dấu gạch ngang, tối đa 50 ký tự."})
	}
	switch n := utf8.RuneCountInString(e.Name); {
	case n == 0:
		ps = append(ps, vanthu.Problem{Field: "name", Message: "Nhập tên."})
	case n > 300:
		ps = append(ps, vanthu.Problem{Field: "name", Message: "Tên dài quá 300 ký tự."})
	}
	switch {
	case e.Kind == vanthu.CatalogHandling && !slices.Contains(handlingGroups, e.Group):
		ps = append(ps, vanthu.Problem{Field: "group", Message: "Nhóm hình thức xử lý phải là " + strings.Join(handlingGroups, ", ") + "."})
	case e.Kind == vanthu.CatalogViolation && e.Group != "":
		ps = append(ps, vanthu.Problem{Field: "group", Message: "Loại vi phạm không có nhóm."})
	}
	if e.Order < 0 {
		ps = append(ps, vanthu.Problem{Field: "order", Message: "Thứ tự không được âm."})
	}
	if len(ps) > 0 {
		return vanthu.Invalid("Mục danh mục chưa hợp lệ.", ps...)
	}
	return nil
}

// SaveCatalogEntry creates the entry (kind, code) or renames, regroups,
// reorders, deactivates or reactivates it, and records
// catalog_entry_created or catalog_entry_updated with the changes. A new
// entry with Order 0 goes last. There is no delete: findings keep their
// codes for good, so an entry is only ever deactivated.
func (s *Store) SaveCatalogEntry(ctx context.Context, e *vanthu.CatalogEntry, actor string) error {
	if err := normalizeCatalogEntry(e); err != nil {
		return err
	}
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := scanCatalogEntry(tx.QueryRowContext(ctx, s.rebind(
			"SELECT kind, code, name, grp, ord, active FROM catalog WHERE kind = ? AND code = ?"), string(e.Kind), e.Code))
		if errors.Is(err, sql.ErrNoRows) {
			if e.Order == 0 {
				if err := tx.QueryRowContext(ctx, s.rebind("SELECT COALESCE(MAX(ord), 0) + 1 FROM catalog WHERE kind = ?"),
					string(e.Kind)).Scan(&e.Order); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO catalog (kind, code, name, grp, ord, active) VALUES (?, ?, ?, ?, ?, ?)`),
				string(e.Kind), e.Code, e.Name, e.Group, e.Order, e.Active); err != nil {
				return err
			}
			detail, _ := json.Marshal(e)
			return s.insertEvent(ctx, tx, &vanthu.Event{
				At: now, Actor: actor, Action: "catalog_entry_created", Source: sourceOf(actor),
				Subject: catalogSubject(e.Kind, e.Code), Detail: string(detail),
			})
		}
		if err != nil {
			return err
		}
		ch := map[string]change{}
		if old.Name != e.Name {
			ch["name"] = change{old.Name, e.Name}
		}
		if old.Group != e.Group {
			ch["group"] = change{old.Group, e.Group}
		}
		if old.Order != e.Order {
			ch["order"] = change{old.Order, e.Order}
		}
		if old.Active != e.Active {
			ch["active"] = change{old.Active, e.Active}
		}
		if len(ch) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE catalog SET name = ?, grp = ?, ord = ?, active = ? WHERE kind = ? AND code = ?`),
			e.Name, e.Group, e.Order, e.Active, string(e.Kind), e.Code); err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, &vanthu.Event{
			At: now, Actor: actor, Action: "catalog_entry_updated", Source: sourceOf(actor),
			Subject: catalogSubject(e.Kind, e.Code), Detail: changesDetail(e.Code, ch),
		})
	})
	return dbError("save catalog entry", err)
}

// catalogKnown returns the validation's view of the catalogs: an active
// code is known, and so is an inactive one the record already carried, so
// that deactivating a code does not make every draft using it unsavable.
func (s *Store) catalogKnown(ctx context.Context, q querier, carried map[string]bool) (func(vanthu.CatalogKind, string) bool, error) {
	entries, err := queryAll(ctx, q, "catalog codes", "SELECT kind, code, name, grp, ord, active FROM catalog", scanCatalogEntry)
	if err != nil {
		return nil, err
	}
	active := map[string]bool{}
	for _, e := range entries {
		if e.Active || carried[string(e.Kind)+"/"+e.Code] {
			active[string(e.Kind)+"/"+e.Code] = true
		}
	}
	return func(k vanthu.CatalogKind, code string) bool { return active[string(k)+"/"+code] }, nil
}

// carriedCodes lists the catalog codes an inspection uses, as catalogKnown
// keys them.
func carriedCodes(in *vanthu.Inspection) map[string]bool {
	m := map[string]bool{}
	for _, f := range in.Findings {
		m[string(vanthu.CatalogViolation)+"/"+f.Violation] = true
	}
	for _, h := range in.Handling {
		m[string(vanthu.CatalogHandling)+"/"+h.Code] = true
	}
	return m
}

// ---------------------------------------------------------------------------
// Inspections

// inspectionBody is the JSON body column: the lists and texts that no query
// looks into.
type inspectionBody struct {
	LegalBasis      []string               `json:"legal_basis"`
	Team            []vanthu.TeamMember    `json:"team"`
	Representatives []vanthu.Person        `json:"representatives"`
	Checklist       []vanthu.ChecklistItem `json:"checklist"`
	UnitExplanation string                 `json:"unit_explanation,omitempty"`
	Conclusions     string                 `json:"conclusions,omitempty"`
	ReportDeadline  *time.Time             `json:"report_deadline,omitempty"`
	RefusedToSign   bool                   `json:"refused_to_sign,omitempty"`
	RefusalReason   string                 `json:"refusal_reason,omitempty"`
}

func bodyOf(in *vanthu.Inspection) (string, error) {
	b, err := json.Marshal(inspectionBody{
		LegalBasis: in.LegalBasis, Team: in.Team, Representatives: in.Representatives, Checklist: in.Checklist,
		UnitExplanation: in.UnitExplanation, Conclusions: in.Conclusions, ReportDeadline: in.ReportDeadline,
		RefusedToSign: in.RefusedToSign, RefusalReason: in.RefusalReason,
	})
	if err != nil {
		return "", fmt.Errorf("encode inspection body: %w", err)
	}
	return string(b), nil
}

const inspectionSelect = `SELECT i.id, i.unit_id, COALESCE(u.code, ''), COALESCE(u.name, ''), i.place, i.surprise, i.started_at, i.ended_at,
	i.listed, i.present, i.absent_leave, i.absent_assignment, i.absent_study, i.absent_unexcused, i.late, i.left_early,
	i.state, i.version, i.previous_id, i.revision, i.document_id, COALESCE(d.symbol, ''), i.body, i.created_by, i.created_at, i.updated_at
	FROM inspections i LEFT JOIN units u ON u.id = i.unit_id LEFT JOIN documents d ON d.id = i.document_id`

// scanInspection reads a row of inspectionSelect; findings and handling
// are read separately.
func scanInspection(sc scanner) (vanthu.Inspection, error) {
	var (
		in                       vanthu.Inspection
		unit, previous, document sql.NullInt64
		started, ended           sql.NullInt64
		state, body              string
		createdAt, updatedAt     int64
		a                        = &in.Attendance
	)
	if err := sc.Scan(&in.ID, &unit, &in.UnitCode, &in.UnitName, &in.Place, &in.Surprise, &started, &ended,
		&a.Listed, &a.Present, &a.AbsentLeave, &a.AbsentAssignment, &a.AbsentStudy, &a.AbsentUnexcused, &a.Late, &a.LeftEarly,
		&state, &in.Version, &previous, &in.Revision, &document, &in.MinutesNumber, &body, &in.CreatedBy, &createdAt, &updatedAt); err != nil {
		return in, err
	}
	in.UnitID, in.Previous, in.DocumentID = unit.Int64, previous.Int64, document.Int64
	in.StartedAt, in.EndedAt = timePtr(started), timePtr(ended)
	in.State = vanthu.InspectionState(state)
	in.CreatedAt, in.UpdatedAt = fromMS(createdAt), fromMS(updatedAt)
	var b inspectionBody
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		return in, fmt.Errorf("inspection %d: decode body: %w", in.ID, err)
	}
	in.LegalBasis, in.Team, in.Representatives, in.Checklist = b.LegalBasis, b.Team, b.Representatives, b.Checklist
	in.UnitExplanation, in.Conclusions, in.ReportDeadline = b.UnitExplanation, b.Conclusions, b.ReportDeadline
	in.RefusedToSign, in.RefusalReason = b.RefusedToSign, b.RefusalReason
	nonNilLists(&in)
	return in, nil
}

// nonNilLists makes every list of in non-nil, so that JSON carries [] and
// two equal records compare equal whichever way they were built.
func nonNilLists(in *vanthu.Inspection) {
	if in.LegalBasis == nil {
		in.LegalBasis = []string{}
	}
	if in.Team == nil {
		in.Team = []vanthu.TeamMember{}
	}
	if in.Representatives == nil {
		in.Representatives = []vanthu.Person{}
	}
	if in.Checklist == nil {
		in.Checklist = []vanthu.ChecklistItem{}
	}
	if in.Findings == nil {
		in.Findings = []vanthu.Finding{}
	}
	if in.Handling == nil {
		in.Handling = []vanthu.Handling{}
	}
}

// msTime brings t to the stored precision (milliseconds, UTC), so that a
// record handed back to the caller equals what a later read returns.
func msTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := fromMS(toMS(*t))
	return &v
}

// normalizeInspection brings every text of in to NFC (short ones also with
// their spaces collapsed), every time to the stored precision, drops blank
// lines of the legal basis, and copies the lists so that the caller's
// slices are not shared with the store's view.
func normalizeInspection(in *vanthu.Inspection) {
	in.Place = vntext.Clean(in.Place)
	in.StartedAt, in.EndedAt, in.ReportDeadline = msTime(in.StartedAt), msTime(in.EndedAt), msTime(in.ReportDeadline)
	basis := make([]string, 0, len(in.LegalBasis))
	for _, b := range in.LegalBasis {
		if b = strings.TrimSpace(vntext.NFC(b)); b != "" {
			basis = append(basis, b)
		}
	}
	in.LegalBasis = basis
	in.Team = slices.Clone(in.Team)
	for i := range in.Team {
		m := &in.Team[i]
		m.Name, m.Position = vntext.Clean(m.Name), vntext.Clean(m.Position)
		m.Role = vanthu.TeamRole(strings.TrimSpace(vntext.NFC(string(m.Role))))
	}
	in.Representatives = slices.Clone(in.Representatives)
	for i := range in.Representatives {
		p := &in.Representatives[i]
		p.Name, p.Position = vntext.Clean(p.Name), vntext.Clean(p.Position)
	}
	in.Checklist = slices.Clone(in.Checklist)
	for i := range in.Checklist {
		c := &in.Checklist[i]
		c.Code = strings.TrimSpace(vntext.NFC(c.Code))
		c.Label = vntext.Clean(c.Label)
		c.Result = vanthu.CheckResult(strings.TrimSpace(string(c.Result)))
		c.Note = strings.TrimSpace(vntext.NFC(c.Note))
	}
	in.Findings = slices.Clone(in.Findings)
	for i := range in.Findings {
		f := &in.Findings[i]
		f.Name, f.Position, f.Section = vntext.Clean(f.Name), vntext.Clean(f.Position), vntext.Clean(f.Section)
		f.Violation = strings.TrimSpace(vntext.NFC(f.Violation))
		f.SeenAt = msTime(f.SeenAt)
		f.Explanation = strings.TrimSpace(vntext.NFC(f.Explanation))
	}
	in.Handling = slices.Clone(in.Handling)
	for i := range in.Handling {
		h := &in.Handling[i]
		h.Code = strings.TrimSpace(vntext.NFC(h.Code))
		h.Person = vntext.Clean(h.Person)
		h.Note = strings.TrimSpace(vntext.NFC(h.Note))
	}
	in.UnitExplanation = strings.TrimSpace(vntext.NFC(in.UnitExplanation))
	in.Conclusions = strings.TrimSpace(vntext.NFC(in.Conclusions))
	in.RefusalReason = strings.TrimSpace(vntext.NFC(in.RefusalReason))
	nonNilLists(in)
}

// checkInspection validates in as a draft against the catalogs and the
// units, and fills its unit code and name.
func (s *Store) checkInspection(ctx context.Context, q querier, in *vanthu.Inspection, carried map[string]bool) error {
	known, err := s.catalogKnown(ctx, q, carried)
	if err != nil {
		return err
	}
	ps := in.ValidateDraft(known)
	in.UnitCode, in.UnitName = "", ""
	if in.UnitID < 0 {
		ps = append(ps, vanthu.Problem{Field: "unit_id", Message: "Không tìm thấy đơn vị được kiểm tra."})
	} else if in.UnitID > 0 {
		u, err := s.getUnit(ctx, q, "id = ?", in.UnitID)
		switch {
		case vanthu.ErrorCodeOf(err) == vanthu.ENotFound:
			ps = append(ps, vanthu.Problem{Field: "unit_id", Message: fmt.Sprintf("Không tìm thấy đơn vị có mã số %d.", in.UnitID)})
		case err != nil:
			return err
		default:
			in.UnitCode, in.UnitName = u.Code, u.Name
		}
	}
	if len(ps) > 0 {
		return vanthu.Invalid("Biên bản kiểm tra chưa hợp lệ.", ps...)
	}
	return nil
}

// insertRows writes the findings and handling of inspection id, in order.
func (s *Store) insertRows(ctx context.Context, q querier, id int64, in *vanthu.Inspection) error {
	for i, f := range in.Findings {
		if _, err := q.ExecContext(ctx, s.rebind(`INSERT INTO inspection_findings
			(inspection_id, ord, name, position, section, violation, seen_at, explanation) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			id, i, f.Name, f.Position, f.Section, f.Violation, nullMS(f.SeenAt), f.Explanation); err != nil {
			return err
		}
	}
	for i, h := range in.Handling {
		if _, err := q.ExecContext(ctx, s.rebind(`INSERT INTO inspection_handlings (inspection_id, ord, code, person, note) VALUES (?, ?, ?, ?, ?)`),
			id, i, h.Code, h.Person, h.Note); err != nil {
			return err
		}
	}
	return nil
}

// insertInspection stores in (state, version, previous, revision, times
// already set) with its rows and sets in.ID.
func (s *Store) insertInspection(ctx context.Context, q querier, in *vanthu.Inspection) error {
	body, err := bodyOf(in)
	if err != nil {
		return err
	}
	a := in.Attendance
	if err := q.QueryRowContext(ctx, s.rebind(`INSERT INTO inspections
		(unit_id, place, surprise, started_at, ended_at,
		 listed, present, absent_leave, absent_assignment, absent_study, absent_unexcused, late, left_early,
		 state, version, previous_id, revision, document_id, body, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		nullID(in.UnitID), in.Place, in.Surprise, nullMS(in.StartedAt), nullMS(in.EndedAt),
		a.Listed, a.Present, a.AbsentLeave, a.AbsentAssignment, a.AbsentStudy, a.AbsentUnexcused, a.Late, a.LeftEarly,
		string(in.State), in.Version, nullID(in.Previous), in.Revision, nullID(in.DocumentID), body,
		in.CreatedBy, toMS(in.CreatedAt), toMS(in.UpdatedAt)).Scan(&in.ID); err != nil {
		return err
	}
	return s.insertRows(ctx, q, in.ID, in)
}

// CreateInspection stores in as a new draft (version 1, revision 1) and
// records inspection_created in the same transaction. It normalises every
// text to NFC, gives an empty checklist the default one
// (vanthu.DefaultChecklist), validates the draft against the catalogs
// (EInvalid naming the fields, "findings[2].violation") and sets ID, State,
// Version, Revision, the unit's code and name, and the times. The caller
// sets CreatedBy; Previous and DocumentID are cleared.
func (s *Store) CreateInspection(ctx context.Context, in *vanthu.Inspection, actor string) error {
	normalizeInspection(in)
	if len(in.Checklist) == 0 {
		in.Checklist = vanthu.DefaultChecklist()
	}
	if in.CreatedBy == 0 {
		return vanthu.Invalid("Biên bản kiểm tra chưa hợp lệ.", vanthu.Problem{Field: "created_by", Message: "Thiếu người lập biên bản."})
	}
	now := s.now()
	in.State, in.Version, in.Previous, in.Revision, in.DocumentID = vanthu.InspectionDraft, 1, 0, 1, 0
	in.CreatedAt, in.UpdatedAt = now, now
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkInspection(ctx, tx, in, nil); err != nil {
			return err
		}
		if err := s.insertInspection(ctx, tx, in); err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]any{"unit_id": in.UnitID, "place": in.Place, "started_at": in.StartedAt, "version": in.Version})
		return s.insertEvent(ctx, tx, &vanthu.Event{
			At: now, Actor: actor, Action: "inspection_created", Source: sourceOf(actor),
			Subject: inspectionSubject(in.ID), Detail: string(detail),
		})
	})
	if err != nil {
		in.ID = 0
		return dbError("create inspection", err)
	}
	return nil
}

// GetInspection returns the inspection with id, with its unit's code and
// name, findings and handling; ENotFound if there is none.
func (s *Store) GetInspection(ctx context.Context, id int64) (vanthu.Inspection, error) {
	in, err := s.getInspection(ctx, s.db, id)
	return in, dbError("get inspection", err)
}

func (s *Store) getInspection(ctx context.Context, q querier, id int64) (vanthu.Inspection, error) {
	in, err := scanInspection(q.QueryRowContext(ctx, s.rebind(inspectionSelect+" WHERE i.id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return in, errInspectionNotFound()
	}
	if err != nil {
		return in, err
	}
	list := []vanthu.Inspection{in}
	if err := s.loadRows(ctx, q, list); err != nil {
		return in, err
	}
	return list[0], nil
}

// loadRows reads the findings and handling of every inspection of list in
// two queries.
func (s *Store) loadRows(ctx context.Context, q querier, list []vanthu.Inspection) error {
	if len(list) == 0 {
		return nil
	}
	at := map[int64]int{}
	marks := make([]string, len(list))
	args := make([]any, len(list))
	for i, in := range list {
		at[in.ID] = i
		marks[i], args[i] = "?", in.ID
	}
	in := "(" + strings.Join(marks, ", ") + ")"
	type finding struct {
		id int64
		vanthu.Finding
	}
	fs, err := queryAll(ctx, q, "inspection findings", s.rebind(`SELECT inspection_id, name, position, section, violation, seen_at, explanation
		FROM inspection_findings WHERE inspection_id IN `+in+` ORDER BY inspection_id, ord`), func(sc scanner) (finding, error) {
		var (
			f    finding
			seen sql.NullInt64
		)
		err := sc.Scan(&f.id, &f.Name, &f.Position, &f.Section, &f.Violation, &seen, &f.Explanation)
		f.SeenAt = timePtr(seen)
		return f, err
	}, args...)
	if err != nil {
		return err
	}
	for _, f := range fs {
		i := at[f.id]
		list[i].Findings = append(list[i].Findings, f.Finding)
	}
	type handling struct {
		id int64
		vanthu.Handling
	}
	hs, err := queryAll(ctx, q, "inspection handlings", s.rebind(`SELECT inspection_id, code, person, note
		FROM inspection_handlings WHERE inspection_id IN `+in+` ORDER BY inspection_id, ord`), func(sc scanner) (handling, error) {
		var h handling
		err := sc.Scan(&h.id, &h.Code, &h.Person, &h.Note)
		return h, err
	}, args...)
	if err != nil {
		return err
	}
	for _, h := range hs {
		i := at[h.id]
		list[i].Handling = append(list[i].Handling, h.Handling)
	}
	return nil
}

// serverFields are the JSON names of the fields only the store sets; a
// save compares everything else.
var serverFields = []string{"id", "version", "previous", "state", "revision", "unit_code", "unit_name", "document_id", "minutes_number", "created_by", "created_at", "updated_at"}

// scalarFields are the changed fields an inspection_saved event carries
// with their old and new values; the others (lists, long texts) are only
// named, so that a save of a long draft does not copy it into the log.
var scalarFields = []string{"unit_id", "place", "surprise", "started_at", "ended_at", "attendance", "refused_to_sign"}

// inspectionChanges names the top-level fields that differ between old and
// in, sorted, with the values of the scalar ones.
func inspectionChanges(old, in *vanthu.Inspection) ([]string, map[string]change, error) {
	fields := func(v *vanthu.Inspection) (map[string]json.RawMessage, error) {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		m := map[string]json.RawMessage{}
		return m, json.Unmarshal(b, &m)
	}
	a, err := fields(old)
	if err != nil {
		return nil, nil, err
	}
	b, err := fields(in)
	if err != nil {
		return nil, nil, err
	}
	var names []string
	ch := map[string]change{}
	for k, v := range b {
		if slices.Contains(serverFields, k) {
			continue
		}
		if w, ok := a[k]; ok && bytes.Equal(v, w) {
			continue
		}
		names = append(names, k)
		if slices.Contains(scalarFields, k) {
			ch[k] = change{a[k], v}
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok && !slices.Contains(serverFields, k) {
			names = append(names, k)
			if slices.Contains(scalarFields, k) {
				ch[k] = change{a[k], nil}
			}
		}
	}
	slices.Sort(names)
	return names, ch, nil
}

// SaveInspection stores every field of in (found by in.ID) that an
// inspector edits, if in.Revision is the stored revision: a save based on
// an older revision is EConflict ("Thiết bị khác vừa lưu biên bản này…")
// and changes nothing, so two devices cannot silently overwrite each other.
// A finalized inspection is EConflict too. The findings and handling rows
// are replaced in the same transaction. A save that changes something sets
// in.Revision to the next revision and records one inspection_saved event
// naming the changed top-level fields; a save that changes nothing records
// nothing and keeps the revision. State, version, previous, document and
// creator are taken from the stored row.
func (s *Store) SaveInspection(ctx context.Context, in *vanthu.Inspection, actor string) error {
	normalizeInspection(in)
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := s.getInspection(ctx, tx, in.ID)
		if err != nil {
			return err
		}
		if old.State != vanthu.InspectionDraft {
			return errFinalized()
		}
		if in.Revision != old.Revision {
			return errStale(old.Revision)
		}
		if err := s.checkInspection(ctx, tx, in, carriedCodes(&old)); err != nil {
			return err
		}
		in.State, in.Version, in.Previous, in.DocumentID = old.State, old.Version, old.Previous, old.DocumentID
		in.CreatedBy, in.CreatedAt = old.CreatedBy, old.CreatedAt
		names, ch, err := inspectionChanges(&old, in)
		if err != nil {
			return err
		}
		if len(names) == 0 {
			in.UpdatedAt = old.UpdatedAt
			return nil
		}
		body, err := bodyOf(in)
		if err != nil {
			return err
		}
		in.Revision, in.UpdatedAt = old.Revision+1, now
		a := in.Attendance
		// The revision and state conditions close the race with another
		// save or a finalize between the read above and this write.
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE inspections SET unit_id = ?, place = ?, surprise = ?, started_at = ?, ended_at = ?,
			listed = ?, present = ?, absent_leave = ?, absent_assignment = ?, absent_study = ?, absent_unexcused = ?, late = ?, left_early = ?,
			body = ?, revision = ?, updated_at = ?
			WHERE id = ? AND revision = ? AND state = ?`),
			nullID(in.UnitID), in.Place, in.Surprise, nullMS(in.StartedAt), nullMS(in.EndedAt),
			a.Listed, a.Present, a.AbsentLeave, a.AbsentAssignment, a.AbsentStudy, a.AbsentUnexcused, a.Late, a.LeftEarly,
			body, in.Revision, toMS(now), in.ID, old.Revision, string(vanthu.InspectionDraft))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errStale(old.Revision + 1)
		}
		if slices.Contains(names, "findings") {
			if _, err := tx.ExecContext(ctx, s.rebind("DELETE FROM inspection_findings WHERE inspection_id = ?"), in.ID); err != nil {
				return err
			}
		}
		if slices.Contains(names, "handling") {
			if _, err := tx.ExecContext(ctx, s.rebind("DELETE FROM inspection_handlings WHERE inspection_id = ?"), in.ID); err != nil {
				return err
			}
		}
		// insertRows writes both lists; write only the replaced ones.
		rows := vanthu.Inspection{}
		if slices.Contains(names, "findings") {
			rows.Findings = in.Findings
		}
		if slices.Contains(names, "handling") {
			rows.Handling = in.Handling
		}
		if err := s.insertRows(ctx, tx, in.ID, &rows); err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]any{"revision": in.Revision, "fields": names, "changes": ch})
		return s.insertEvent(ctx, tx, &vanthu.Event{
			At: now, Actor: actor, Action: "inspection_saved", Source: sourceOf(actor),
			Subject: inspectionSubject(in.ID), Detail: string(detail),
		})
	})
	return dbError("save inspection", err)
}

// ListInspections returns the inspections matching f, newest first (by the
// start of the inspection, or the creation of a draft without one), each
// with its unit's name, findings and handling. Violation keeps the
// inspections that found at least one person with that violation. A
// Limit of -1 returns every match, for exports (a whole year).
func (s *Store) ListInspections(ctx context.Context, f vanthu.InspectionFilter) ([]vanthu.Inspection, error) {
	var (
		where []string
		args  []any
	)
	if f.UnitID != 0 {
		where = append(where, "i.unit_id = ?")
		args = append(args, f.UnitID)
	}
	if f.From != nil {
		where = append(where, "i.started_at >= ?")
		args = append(args, toMS(*f.From))
	}
	if f.Until != nil {
		where = append(where, "i.started_at < ?")
		args = append(args, toMS(*f.Until))
	}
	if f.Violation != "" {
		where = append(where, "EXISTS (SELECT 1 FROM inspection_findings x WHERE x.inspection_id = i.id AND x.violation = ?)")
		args = append(args, f.Violation)
	}
	if f.State != "" {
		where = append(where, "i.state = ?")
		args = append(args, string(f.State))
	}
	query := inspectionSelect
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY COALESCE(i.started_at, i.created_at) DESC, i.id DESC"
	if f.Limit != -1 {
		limit := f.Limit
		if limit <= 0 {
			limit = defaultInspectionLimit
		}
		query += " LIMIT ?"
		args = append(args, min(limit, maxInspectionLimit))
	}
	list, err := queryAll(ctx, s.db, "list inspections", s.rebind(query), scanInspection, args...)
	if err != nil {
		return nil, err
	}
	// In batches: loadRows binds one parameter per inspection, and an
	// unlimited list must stay under the databases' bound on parameters.
	for lo := 0; lo < len(list); lo += maxInspectionLimit {
		if err := s.loadRows(ctx, s.db, list[lo:min(lo+maxInspectionLimit, len(list))]); err != nil {
			return nil, dbError("list inspections", err)
		}
	}
	return list, nil
}

// CorrectInspection starts the correction of finalized minutes: a new
// draft, version N+1, copying inspection id and referencing it (Previous).
// Both remain; the finalized one is never changed. A version has at most
// one correction (a second is EConflict, also when two are made at once),
// and a draft is not corrected but edited (EConflict). createdBy is the
// user making the correction.
func (s *Store) CorrectInspection(ctx context.Context, id, createdBy int64, actor string) (vanthu.Inspection, error) {
	now := s.now()
	var n vanthu.Inspection
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := s.getInspection(ctx, tx, id)
		if err != nil {
			return err
		}
		if old.State != vanthu.InspectionFinalized {
			return vanthu.Errorf(vanthu.EConflict, "Biên bản chưa hoàn tất: hãy sửa trực tiếp bản nháp, không cần lập bản sửa đổi.")
		}
		var existing int64
		err = tx.QueryRowContext(ctx, s.rebind("SELECT id FROM inspections WHERE previous_id = ?"), id).Scan(&existing)
		if err == nil {
			return vanthu.Errorf(vanthu.EConflict, "Biên bản này đã có bản sửa đổi (mã số %d).", existing)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		n = old
		n.ID, n.Version, n.Previous, n.State, n.Revision, n.DocumentID = 0, old.Version+1, old.ID, vanthu.InspectionDraft, 1, 0
		n.CreatedBy, n.CreatedAt, n.UpdatedAt = createdBy, now, now
		if err := s.insertInspection(ctx, tx, &n); err != nil {
			if isUnique(err) {
				return &vanthu.Error{Code: vanthu.EConflict, Message: "Biên bản này vừa được lập bản sửa đổi.", Err: err}
			}
			return err
		}
		detail, _ := json.Marshal(map[string]any{"previous": old.ID, "version": n.Version})
		return s.insertEvent(ctx, tx, &vanthu.Event{
			At: now, Actor: actor, Action: "inspection_corrected", Source: sourceOf(actor),
			Subject: inspectionSubject(n.ID), Detail: string(detail),
		})
	})
	if err != nil {
		return vanthu.Inspection{}, dbError("correct inspection", err)
	}
	return n, nil
}

// MarkInspectionFinalized is the seam of the finalize task: once the
// minutes document (numbered, rendered, signed) exists, it marks the
// inspection finalized with it, after checking the record is complete
// (vanthu.Inspection.ValidateFinal, EInvalid naming the fields), and
// records inspection_finalized. From then on SaveInspection refuses it.
// Marking it again with the same document changes nothing (a retried
// task); with another document it is EConflict.
func (s *Store) MarkInspectionFinalized(ctx context.Context, id, documentID int64, actor string) error {
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := s.getInspection(ctx, tx, id)
		if err != nil {
			return err
		}
		if old.State == vanthu.InspectionFinalized {
			if old.DocumentID == documentID {
				return nil
			}
			return vanthu.Errorf(vanthu.EConflict, "Biên bản đã hoàn tất với một văn bản khác (mã số %d).", old.DocumentID)
		}
		if documentID <= 0 {
			return vanthu.Invalid("Thiếu văn bản biên bản.", vanthu.Problem{Field: "document_id", Message: "Thiếu văn bản biên bản đã ký."})
		}
		known, err := s.catalogKnown(ctx, tx, carriedCodes(&old))
		if err != nil {
			return err
		}
		if ps := old.ValidateFinal(known); len(ps) > 0 {
			return vanthu.Invalid("Biên bản chưa đủ thông tin để hoàn tất.", ps...)
		}
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE inspections SET state = ?, document_id = ?, revision = revision + 1, updated_at = ?
			WHERE id = ? AND state = ?`),
			string(vanthu.InspectionFinalized), documentID, toMS(now), id, string(vanthu.InspectionDraft))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errFinalized()
		}
		detail, _ := json.Marshal(map[string]any{"document_id": documentID, "revision": old.Revision + 1})
		return s.insertEvent(ctx, tx, &vanthu.Event{
			At: now, Actor: actor, Action: "inspection_finalized", Source: sourceOf(actor),
			Subject: inspectionSubject(id), Detail: string(detail),
		})
	})
	return dbError("mark inspection finalized", err)
}
