package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/vntext"
)

const unitColumns = `id, code, name, emails, parent_code, grp, ord, active, created_at, updated_at`

// maxParentDepth bounds the walk up the parent chain when looking for a
// cycle; real hierarchies are two or three levels deep.
const maxParentDepth = 64

func scanUnit(sc interface{ Scan(...any) error }) (vanthu.Unit, error) {
	var (
		u                vanthu.Unit
		emails           string
		parent           sql.NullString
		grp              string
		created, updated int64
	)
	if err := sc.Scan(&u.ID, &u.Code, &u.Name, &emails, &parent, &grp, &u.Order, &u.Active, &created, &updated); err != nil {
		return u, err
	}
	u.Emails = splitEmails(emails)
	u.ParentCode = parent.String
	u.Group = vanthu.UnitGroup(grp)
	u.CreatedAt = fromMS(created)
	u.UpdatedAt = fromMS(updated)
	return u, nil
}

func splitEmails(s string) []string {
	out := []string{}
	for _, e := range strings.Split(s, "\n") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// normalizeUnit brings every text field to NFC and validates the unit.
func normalizeUnit(u *vanthu.Unit) error {
	u.Code = vntext.NFC(u.Code)
	u.Name = vntext.Clean(u.Name)
	u.ParentCode = vntext.NFC(u.ParentCode)
	for i, e := range u.Emails {
		u.Emails[i] = vntext.NFC(e)
	}
	return u.Validate()
}

// escapeLike escapes the LIKE wildcards of s for "ESCAPE '\'".
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ListUnits returns the units matching f in official order: by Order, then
// by name in Vietnamese collation. Query matches a code prefix or a
// substring of the folded name, so "hoa" finds "Hòa" and "Hoà".
func (s *Store) ListUnits(ctx context.Context, f vanthu.UnitFilter) ([]vanthu.Unit, error) {
	var (
		where []string
		args  []any
	)
	if f.Group != "" {
		where = append(where, "grp = ?")
		args = append(args, string(f.Group))
	}
	if f.ActiveOnly {
		where = append(where, "active = ?")
		args = append(args, true)
	}
	if q := strings.TrimSpace(vntext.NFC(f.Query)); q != "" {
		where = append(where, `(code LIKE ? ESCAPE '\' OR name_key LIKE ? ESCAPE '\')`)
		key := vntext.Fold(q)
		// Codes are unaccented upper case, so the folded query serves both.
		args = append(args, escapeLike(strings.ToUpper(key))+"%", "%"+escapeLike(key)+"%")
	}
	query := "SELECT " + unitColumns + " FROM units"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY ord, code"
	units, err := queryAll(ctx, s.db, "list units", s.rebind(query), scanUnit, args...)
	if err != nil {
		return nil, err
	}
	// Names sort in Vietnamese collation, which neither database offers
	// the same way; sorting here keeps both dialects identical.
	c := vntext.NewCollator()
	slices.SortStableFunc(units, func(a, b vanthu.Unit) int {
		if r := cmp.Compare(a.Order, b.Order); r != 0 {
			return r
		}
		if r := c.CompareString(a.Name, b.Name); r != 0 {
			return r
		}
		return cmp.Compare(a.Code, b.Code)
	})
	return units, nil
}

// GetUnit returns the unit with id, or ENotFound.
func (s *Store) GetUnit(ctx context.Context, id int64) (vanthu.Unit, error) {
	return s.getUnit(ctx, s.db, "id = ?", id)
}

// GetUnitByCode returns the unit with code (case-insensitive), or ENotFound.
func (s *Store) GetUnitByCode(ctx context.Context, code string) (vanthu.Unit, error) {
	return s.getUnit(ctx, s.db, "code = ?", strings.ToUpper(strings.TrimSpace(vntext.NFC(code))))
}

func (s *Store) getUnit(ctx context.Context, q querier, cond string, arg any) (vanthu.Unit, error) {
	u, err := scanUnit(q.QueryRowContext(ctx, s.rebind("SELECT "+unitColumns+" FROM units WHERE "+cond), arg))
	if errors.Is(err, sql.ErrNoRows) {
		return u, vanthu.Errorf(vanthu.ENotFound, "Không tìm thấy đơn vị.")
	}
	if err != nil {
		return u, dbError("get unit", err)
	}
	return u, nil
}

func duplicateCode(code string, err error) error {
	return &vanthu.Error{Code: vanthu.EConflict, Message: fmt.Sprintf("Mã đơn vị %s đã tồn tại.", code), Err: err}
}

func unknownParent(code string) *vanthu.Error {
	return vanthu.Invalid("Thông tin đơn vị không hợp lệ.", vanthu.Problem{
		Field:   "parent_code",
		Message: fmt.Sprintf("Không tìm thấy đơn vị cấp trên có mã %s.", code),
	})
}

// checkParent verifies that u's parent exists and that making it the parent
// does not close a cycle (A under B under A). oldCode is u's stored code when
// it is being renamed: its children still point at that one.
func (s *Store) checkParent(ctx context.Context, q querier, u *vanthu.Unit, oldCode string) error {
	if u.ParentCode == "" {
		return nil
	}
	self := func(c string) bool { return c == u.Code || (oldCode != "" && c == oldCode) }
	if self(u.ParentCode) {
		return vanthu.Invalid("Thông tin đơn vị không hợp lệ.", vanthu.Problem{
			Field: "parent_code", Message: "Đơn vị không thể là đơn vị cấp trên của chính nó.",
		})
	}
	code := u.ParentCode
	for range maxParentDepth {
		var parent sql.NullString
		err := q.QueryRowContext(ctx, s.rebind("SELECT parent_code FROM units WHERE code = ?"), code).Scan(&parent)
		if errors.Is(err, sql.ErrNoRows) {
			if code == u.ParentCode {
				return unknownParent(code)
			}
			return nil
		}
		if err != nil {
			return dbError("check parent", err)
		}
		if !parent.Valid {
			return nil
		}
		if self(parent.String) {
			return vanthu.Invalid("Thông tin đơn vị không hợp lệ.", vanthu.Problem{
				Field:   "parent_code",
				Message: fmt.Sprintf("Đơn vị %s đang trực thuộc %s nên không thể là đơn vị cấp trên của nó.", u.ParentCode, u.Code),
			})
		}
		code = parent.String
	}
	return nil
}

func (s *Store) insertUnit(ctx context.Context, q querier, u *vanthu.Unit, parent bool) error {
	p := sql.NullString{}
	if parent {
		p = nullString(u.ParentCode)
	}
	err := q.QueryRowContext(ctx, s.rebind(`INSERT INTO units (code, name, name_key, emails, parent_code, grp, ord, active, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		u.Code, u.Name, vntext.Fold(u.Name), strings.Join(u.Emails, "\n"), p, string(u.Group), u.Order, u.Active,
		toMS(u.CreatedAt), toMS(u.UpdatedAt)).Scan(&u.ID)
	if isUnique(err) {
		return duplicateCode(u.Code, err)
	}
	if isForeignKey(err) {
		e := unknownParent(u.ParentCode)
		e.Err = err
		return e
	}
	return err
}

// CreateUnit validates u, stores it and records a unit_created event in the
// same transaction. It sets u.ID, CreatedAt and UpdatedAt. A duplicate code
// is EConflict; an unknown parent code is EInvalid.
func (s *Store) CreateUnit(ctx context.Context, u *vanthu.Unit, actor string) error {
	if err := normalizeUnit(u); err != nil {
		return err
	}
	now := s.now()
	u.CreatedAt, u.UpdatedAt = now, now
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkParent(ctx, tx, u, ""); err != nil {
			return err
		}
		if err := s.insertUnit(ctx, tx, u, true); err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, &vanthu.Event{
			At: now, Actor: actor, Action: "unit_created", Source: sourceOf(actor),
			Subject: unitSubject(u.ID), Detail: unitDetail(u),
		})
	})
	if err != nil {
		u.ID = 0
		return dbError("create unit", err)
	}
	return nil
}

func unitSubject(id int64) string { return "unit:" + strconv.FormatInt(id, 10) }

// unitDetail is the JSON of a unit's fields for an event.
func unitDetail(u *vanthu.Unit) string {
	b, _ := json.Marshal(map[string]any{
		"code": u.Code, "name": u.Name, "emails": u.Emails, "parent_code": u.ParentCode,
		"group": u.Group, "order": u.Order, "active": u.Active,
	})
	return string(b)
}

// change is one changed field in an update event.
type change struct {
	Old any `json:"old"`
	New any `json:"new"`
}

// unitChanges lists the fields that differ between old and new; the update
// event carries them so the audit log shows what changed, not just that
// something did.
func unitChanges(old, u *vanthu.Unit) map[string]change {
	ch := map[string]change{}
	if old.Code != u.Code {
		ch["code"] = change{old.Code, u.Code}
	}
	if old.Name != u.Name {
		ch["name"] = change{old.Name, u.Name}
	}
	if !slices.Equal(old.Emails, u.Emails) {
		ch["emails"] = change{old.Emails, u.Emails}
	}
	if old.ParentCode != u.ParentCode {
		ch["parent_code"] = change{old.ParentCode, u.ParentCode}
	}
	if old.Group != u.Group {
		ch["group"] = change{old.Group, u.Group}
	}
	if old.Order != u.Order {
		ch["order"] = change{old.Order, u.Order}
	}
	if old.Active != u.Active {
		ch["active"] = change{old.Active, u.Active}
	}
	return ch
}

func changesDetail(code string, ch map[string]change) string {
	b, _ := json.Marshal(map[string]any{"code": code, "changes": ch})
	return string(b)
}

// UpdateUnit stores every field of u (found by u.ID) and records a
// unit_updated event with the changed fields. ENotFound if there is no such
// unit; EConflict if the new code belongs to another unit. Children follow
// a code change (ON UPDATE CASCADE).
func (s *Store) UpdateUnit(ctx context.Context, u *vanthu.Unit, actor string) error {
	if err := normalizeUnit(u); err != nil {
		return err
	}
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := s.getUnit(ctx, tx, "id = ?", u.ID)
		if err != nil {
			return err
		}
		if err := s.checkParent(ctx, tx, u, old.Code); err != nil {
			return err
		}
		ch := unitChanges(&old, u)
		u.CreatedAt = old.CreatedAt
		if len(ch) == 0 {
			u.UpdatedAt = old.UpdatedAt
			return nil
		}
		u.UpdatedAt = now
		_, err = tx.ExecContext(ctx, s.rebind(`UPDATE units SET code = ?, name = ?, name_key = ?, emails = ?, parent_code = ?,
			grp = ?, ord = ?, active = ?, updated_at = ? WHERE id = ?`),
			u.Code, u.Name, vntext.Fold(u.Name), strings.Join(u.Emails, "\n"), nullString(u.ParentCode),
			string(u.Group), u.Order, u.Active, toMS(now), u.ID)
		if isUnique(err) {
			return duplicateCode(u.Code, err)
		}
		if err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, &vanthu.Event{
			At: now, Actor: actor, Action: "unit_updated", Source: sourceOf(actor),
			Subject: unitSubject(u.ID), Detail: changesDetail(u.Code, ch),
		})
	})
	return dbError("update unit", err)
}

// SetUnitActive activates or deactivates a unit and records
// unit_activated or unit_deactivated. Setting the state it already has
// changes nothing and records nothing. ENotFound if there is no such unit.
func (s *Store) SetUnitActive(ctx context.Context, id int64, active bool, actor string) error {
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := s.getUnit(ctx, tx, "id = ?", id)
		if err != nil {
			return err
		}
		if old.Active == active {
			return nil
		}
		if _, err := tx.ExecContext(ctx, s.rebind("UPDATE units SET active = ?, updated_at = ? WHERE id = ?"), active, toMS(now), id); err != nil {
			return err
		}
		action := "unit_deactivated"
		if active {
			action = "unit_activated"
		}
		return s.insertEvent(ctx, tx, &vanthu.Event{
			At: now, Actor: actor, Action: action, Source: sourceOf(actor),
			Subject: unitSubject(id), Detail: changesDetail(old.Code, map[string]change{"active": {old.Active, active}}),
		})
	})
	return dbError("set unit active", err)
}

// UnitCodes returns every existing unit code, for validating an import.
func (s *Store) UnitCodes(ctx context.Context) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT code FROM units")
	if err != nil {
		return nil, dbError("unit codes", err)
	}
	defer rows.Close()
	codes := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, dbError("unit codes", err)
		}
		codes[c] = true
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("unit codes", err)
	}
	return codes, nil
}

// ImportUnits creates or updates (by code) every unit in one transaction:
// either all are stored or none. Parent codes may name units anywhere in
// the batch or already stored, so parents are set in a second pass once
// every unit exists. It records unit_created / unit_updated for each unit
// that changed and one units_imported event with the counts. Updated counts
// every unit that already existed, changed or not, matching a dry run.
func (s *Store) ImportUnits(ctx context.Context, units []vanthu.Unit, actor string) (created, updated int, err error) {
	batch := make([]vanthu.Unit, len(units))
	copy(batch, units)
	var ps []vanthu.Problem
	seen := map[string]int{}
	for i := range batch {
		u := &batch[i]
		u.Emails = slices.Clone(u.Emails)
		if err := normalizeUnit(u); err != nil {
			for _, p := range vanthu.ProblemsOf(err) {
				p.Message = fmt.Sprintf("Đơn vị thứ %d (%s): %s", i+1, u.Code, p.Message)
				ps = append(ps, p)
			}
			continue
		}
		if j, dup := seen[u.Code]; dup {
			ps = append(ps, vanthu.Problem{Field: "code", Message: fmt.Sprintf("Mã đơn vị %s lặp lại ở đơn vị thứ %d và %d.", u.Code, j+1, i+1)})
		}
		seen[u.Code] = i
	}
	if len(ps) > 0 {
		return 0, 0, vanthu.Invalid("Danh sách đơn vị không hợp lệ.", ps...)
	}
	now := s.now()
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		created, updated = 0, 0
		existing := map[string]vanthu.Unit{}
		rows, err := tx.QueryContext(ctx, "SELECT "+unitColumns+" FROM units")
		if err != nil {
			return err
		}
		for rows.Next() {
			u, err := scanUnit(rows)
			if err != nil {
				rows.Close()
				return err
			}
			existing[u.Code] = u
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var missing []vanthu.Problem
		for _, u := range batch {
			if _, ok := existing[u.ParentCode]; u.ParentCode != "" && !ok && seenCode(seen, u.ParentCode) < 0 {
				missing = append(missing, vanthu.Problem{Field: "parent_code",
					Message: fmt.Sprintf("Đơn vị %s: không tìm thấy đơn vị cấp trên có mã %s.", u.Code, u.ParentCode)})
			}
		}
		if len(missing) > 0 {
			return vanthu.Invalid("Danh sách đơn vị không hợp lệ.", missing...)
		}
		// Pass 1: every unit exists, with its old parent (updates) or none
		// (new units), so that pass 2 can point at any of them.
		for i := range batch {
			u := &batch[i]
			old, ok := existing[u.Code]
			if !ok {
				u.CreatedAt, u.UpdatedAt = now, now
				if err := s.insertUnit(ctx, tx, u, false); err != nil {
					return err
				}
				created++
				continue
			}
			updated++
			u.ID, u.CreatedAt = old.ID, old.CreatedAt
			if len(unitChanges(&old, u)) == 0 {
				u.UpdatedAt = old.UpdatedAt
				continue
			}
			u.UpdatedAt = now
			_, err := tx.ExecContext(ctx, s.rebind(`UPDATE units SET name = ?, name_key = ?, emails = ?, grp = ?, ord = ?, active = ?, updated_at = ? WHERE id = ?`),
				u.Name, vntext.Fold(u.Name), strings.Join(u.Emails, "\n"), string(u.Group), u.Order, u.Active, toMS(now), u.ID)
			if err != nil {
				return err
			}
		}
		// Pass 2: parents, then one event per changed unit.
		for i := range batch {
			u := &batch[i]
			old, existed := existing[u.Code]
			if (existed && old.ParentCode != u.ParentCode) || (!existed && u.ParentCode != "") {
				if _, err := tx.ExecContext(ctx, s.rebind("UPDATE units SET parent_code = ? WHERE id = ?"), nullString(u.ParentCode), u.ID); err != nil {
					if isForeignKey(err) {
						e := unknownParent(u.ParentCode)
						e.Err = err
						return e
					}
					return err
				}
			}
			ev := vanthu.Event{At: now, Actor: actor, Source: sourceOf(actor), Subject: unitSubject(u.ID)}
			if !existed {
				ev.Action, ev.Detail = "unit_created", unitDetail(u)
			} else if ch := unitChanges(&old, u); len(ch) > 0 {
				ev.Action, ev.Detail = "unit_updated", changesDetail(u.Code, ch)
			} else {
				continue
			}
			if err := s.insertEvent(ctx, tx, &ev); err != nil {
				return err
			}
		}
		if err := detectCycles(batch, existing); err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]int{"rows": len(batch), "created": created, "updated": updated})
		return s.insertEvent(ctx, tx, &vanthu.Event{
			At: now, Actor: actor, Action: "units_imported", Source: sourceOf(actor),
			Subject: "units", Detail: string(detail),
		})
	})
	if err != nil {
		return 0, 0, dbError("import units", err)
	}
	return created, updated, nil
}

func seenCode(seen map[string]int, code string) int {
	if i, ok := seen[code]; ok {
		return i
	}
	return -1
}

// detectCycles rejects an import whose parent links, combined with the
// stored ones, form a loop (A under B under A).
func detectCycles(batch []vanthu.Unit, existing map[string]vanthu.Unit) error {
	parent := map[string]string{}
	for code, u := range existing {
		parent[code] = u.ParentCode
	}
	for _, u := range batch {
		parent[u.Code] = u.ParentCode
	}
	var ps []vanthu.Problem
	for _, u := range batch {
		code := parent[u.Code]
		for range maxParentDepth {
			if code == "" {
				break
			}
			if code == u.Code {
				ps = append(ps, vanthu.Problem{Field: "parent_code",
					Message: fmt.Sprintf("Đơn vị %s nằm trong một vòng cấp trên – cấp dưới khép kín.", u.Code)})
				break
			}
			code = parent[code]
		}
	}
	if len(ps) > 0 {
		return vanthu.Invalid("Danh sách đơn vị không hợp lệ.", ps...)
	}
	return nil
}
