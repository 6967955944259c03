package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"golang.org/x/text/collate"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/vntext"
)

// Figures of the quarterly KLKCHC report (issue 7, DOMAIN.md §5).
//
// Every count is made by the database (COUNT, SUM over CASE, GROUP BY) on
// both dialects with the same query text; Go only receives aggregated rows
// (one per code, per unit, per inspection for Biểu 1) and puts units in
// official order, because Vietnamese collation is the one thing the two
// databases do not agree on. All the queries of one call run in one
// read-only transaction, so the figures agree with each other even while
// inspectors and the mail watcher keep writing.

// countedCond is the condition on inspections i that a period counts:
// finalized, not superseded by a finalized correction (a correction still
// in draft leaves the original standing), started in [from, until). Its
// two parameters are from and until in unix ms. The state literals are
// vanthu.InspectionFinalized. The index on started_at (or on unit_id,
// started_at) finds the rows; the unique index on previous_id answers
// NOT EXISTS.
const countedCond = `i.state = 'finalized' AND i.started_at >= ? AND i.started_at < ?
	AND NOT EXISTS (SELECT 1 FROM inspections c WHERE c.previous_id = i.id AND c.state = 'finalized')`

// countedCTE names the inspections countedCond selects "counted".
const countedCTE = `WITH counted AS (
	SELECT i.id, i.unit_id, i.surprise, i.started_at,
		i.listed, i.present, i.absent_leave, i.absent_assignment, i.absent_study,
		i.absent_unexcused, i.late, i.left_early
	FROM inspections i WHERE ` + countedCond + `)
`

// periodDirectives selects the directives a period counts: kind
// 'directive' (vanthu.KindDirective), issued, issued_at in [from, until).
const periodDirectives = `SELECT id FROM documents
	WHERE kind = 'directive' AND state = 'issued' AND issued_at >= ? AND issued_at < ?`

// The dispatch columns the direction figures read, each milestone counted
// only when it happened at or before asOf (the parameter written "?" in
// each expression below):
//
//   - received: sent_at set and neither bounced_at nor failed_at; read_at or
//     acknowledged_at prove receipt even if a bounce came later (a late bounce
//     never moves a dispatch back, see vanthu.Dispatch.Status);
//   - read: read_at or acknowledged_at (an acknowledgement implies reading);
//   - acknowledged on time: acknowledged_at, and deadline NULL or
//     acknowledged_at <= deadline (exactly at the deadline is on time);
//   - late: acknowledged_at > deadline;
//   - not acknowledged: every other dispatch, bounced and failed included, so
//     on time + late + not acknowledged = dispatches;
//   - bounced or failed: bounced_at or failed_at (also counted above);
//   - overdue (Biểu 4): deadline < asOf, not acknowledged by asOf and not
//     failed by asOf: a failed dispatch never arrived (Dispatch.Overdue).
//
// queued_at, lease and reminder columns are not used.
const (
	sqlReceived = `CASE WHEN (sent_at <= ? AND NOT (bounced_at IS NOT NULL AND bounced_at <= ?)
		AND NOT (failed_at IS NOT NULL AND failed_at <= ?)) OR read_at <= ? OR acknowledged_at <= ? THEN 1 ELSE 0 END`
	sqlRead    = `CASE WHEN read_at <= ? OR acknowledged_at <= ? THEN 1 ELSE 0 END`
	sqlAcked   = `CASE WHEN acknowledged_at <= ? THEN 1 ELSE 0 END`
	sqlOnTime  = `CASE WHEN acknowledged_at <= ? AND (deadline IS NULL OR acknowledged_at <= deadline) THEN 1 ELSE 0 END`
	sqlLate    = `CASE WHEN acknowledged_at <= ? AND acknowledged_at > deadline THEN 1 ELSE 0 END`
	sqlNotAckd = `CASE WHEN acknowledged_at IS NULL OR acknowledged_at > ? THEN 1 ELSE 0 END`
	sqlBounced = `CASE WHEN bounced_at <= ? OR failed_at <= ? THEN 1 ELSE 0 END`
	sqlOverdue = `CASE WHEN deadline < ? AND (acknowledged_at IS NULL OR acknowledged_at > ?)
		AND NOT (failed_at IS NOT NULL AND failed_at <= ?) THEN 1 ELSE 0 END`
)

// repeat returns n copies of v, for a parameter a query uses n times.
func repeat(v any, n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// params concatenates query parameters.
func params(groups ...[]any) []any {
	var out []any
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// msRange is a period's [from, until) in unix ms, as countedCTE and
// periodDirectives take them.
func msRange(p vanthu.Period) []any {
	from, until := p.Range()
	return []any{toMS(from), toMS(until)}
}

// readSnapshot runs fn in a read-only transaction that sees one snapshot:
// REPEATABLE READ on PostgreSQL; on SQLite a deferred transaction (the
// driver does not take the write lock for a read-only one), which in WAL
// mode reads one snapshot from its first read on.
func (s *Store) readSnapshot(ctx context.Context, fn func(tx *sql.Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == DialectPostgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() // after Commit, a no-op
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// ReportFigures computes the figures of period p, milestones counted as
// known at asOf, with the same headline figures of p.Previous() in
// Previous (no annex rows, no Previous of its own).
//
// Inspections counted: state finalized, no finalized correction superseding
// them (a row whose previous_id is theirs, finalized), started_at in
// [from, until) of p.Range(). Scheduled is not a surprise; Units counts
// distinct unit ids, UnitsByGroup per units.grp in vanthu.UnitGroups order
// named by the group's Label; the attendance figures are sums of the
// inspection columns; Violators is the number of findings rows.
//
// Violations counts findings per violation code, named from the catalog
// (kind violation), in catalog order then code: every code found in p or
// in the previous period, with 0 where absent, and Previous.Violations
// lists the same codes in the same order. Handling does the same with
// inspection_handlings (kind handling).
//
// Direction counts the directives (kind directive, issued, issued_at in
// [from, until)) and their dispatches: see the column rules above
// sqlReceived. Annex rows: InspectionRows one per inspection (unit order,
// then start, then id), UnitViolations per unit and code with a count,
// ReceiptRows one per unit sent at least one of the period's directives.
//
// All counting happens in SQL; the queries of one call read one snapshot.
func (s *Store) ReportFigures(ctx context.Context, p vanthu.Period, asOf time.Time) (vanthu.ReportFigures, error) {
	asOf = fromMS(toMS(asOf))
	var f vanthu.ReportFigures
	err := s.readSnapshot(ctx, func(tx *sql.Tx) error {
		c := vntext.NewCollator()
		prev := p.Previous()
		cur, err := s.headline(ctx, tx, p, asOf)
		if err != nil {
			return err
		}
		old, err := s.headline(ctx, tx, prev, asOf)
		if err != nil {
			return err
		}
		if cur.Violations, old.Violations, err = s.codeCounts(ctx, tx, vanthu.CatalogViolation, p, prev); err != nil {
			return fmt.Errorf("violations: %w", err)
		}
		// Every finding has one code (possibly ''), so the counts by code
		// add up to the findings: no second pass over them.
		cur.Inspections.Violators, old.Inspections.Violators = sumCounts(cur.Violations), sumCounts(old.Violations)
		if cur.Handling, old.Handling, err = s.codeCounts(ctx, tx, vanthu.CatalogHandling, p, prev); err != nil {
			return fmt.Errorf("handling: %w", err)
		}
		if cur.InspectionRows, err = s.inspectionRows(ctx, tx, c, p); err != nil {
			return err // queryAll names the query
		}
		if cur.UnitViolations, err = s.unitViolations(ctx, tx, c, p); err != nil {
			return err // queryAll names the query
		}
		if cur.ReceiptRows, err = s.receiptRows(ctx, tx, c, p, asOf); err != nil {
			return err // queryAll names the query
		}
		cur.Previous = &old
		f = cur
		return nil
	})
	if err != nil {
		return vanthu.ReportFigures{}, dbError("report figures", err)
	}
	return f, nil
}

// sumCounts adds up a list of counts by code.
func sumCounts(cs []vanthu.CodeCount) int {
	n := 0
	for _, c := range cs {
		n += c.Count
	}
	return n
}

// headline computes Direction and Inspections of p but Violators, with
// Period, From, Until and AsOf set and the lists empty.
func (s *Store) headline(ctx context.Context, q querier, p vanthu.Period, asOf time.Time) (vanthu.ReportFigures, error) {
	f := vanthu.ReportFigures{Period: p, AsOf: asOf,
		Violations: []vanthu.CodeCount{}, Handling: []vanthu.CodeCount{},
		InspectionRows: []vanthu.InspectionRow{}, UnitViolations: []vanthu.UnitViolationCount{}, ReceiptRows: []vanthu.UnitReceiptRow{}}
	f.From, f.Until = p.Range()
	a := toMS(asOf)
	d := &f.Direction
	err := q.QueryRowContext(ctx, s.rebind(`SELECT
		(SELECT COUNT(*) FROM (`+periodDirectives+`) x),
		COUNT(*), COUNT(DISTINCT unit_id),
		COALESCE(SUM(`+sqlReceived+`), 0),
		COALESCE(SUM(`+sqlRead+`), 0),
		COALESCE(SUM(`+sqlOnTime+`), 0),
		COALESCE(SUM(`+sqlLate+`), 0),
		COALESCE(SUM(`+sqlNotAckd+`), 0),
		COALESCE(SUM(`+sqlBounced+`), 0)
		FROM dispatches WHERE document_id IN (`+periodDirectives+`)`),
		params(msRange(p), repeat(a, 5+2+1+1+1+2), msRange(p))...).
		Scan(&d.Issued, &d.Dispatches, &d.Units, &d.Received, &d.Read, &d.AckOnTime, &d.AckLate, &d.NotAckd, &d.BouncedFailed)
	if err != nil {
		return f, fmt.Errorf("direction: %w", err)
	}

	in := &f.Inspections
	err = q.QueryRowContext(ctx, s.rebind(countedCTE+`SELECT COUNT(*),
		COALESCE(SUM(CASE WHEN surprise THEN 1 ELSE 0 END), 0),
		COUNT(DISTINCT unit_id),
		COALESCE(SUM(listed), 0), COALESCE(SUM(present), 0),
		COALESCE(SUM(absent_leave), 0), COALESCE(SUM(absent_assignment), 0), COALESCE(SUM(absent_study), 0),
		COALESCE(SUM(absent_unexcused), 0), COALESCE(SUM(late), 0), COALESCE(SUM(left_early), 0)
		FROM counted`), msRange(p)...).
		Scan(&in.Total, &in.Surprise, &in.Units, &in.Listed, &in.Present,
			&in.AbsentLeave, &in.AbsentAssignment, &in.AbsentStudy, &in.AbsentUnexcused, &in.Late, &in.LeftEarly)
	if err != nil {
		return f, fmt.Errorf("inspections: %w", err)
	}
	in.Scheduled = in.Total - in.Surprise

	byGroup, err := queryAll(ctx, q, "units by group", s.rebind(countedCTE+`SELECT u.grp, COUNT(DISTINCT k.unit_id)
		FROM counted k JOIN units u ON u.id = k.unit_id GROUP BY u.grp`),
		func(sc scanner) (vanthu.CodeCount, error) {
			var c vanthu.CodeCount
			err := sc.Scan(&c.Code, &c.Count)
			c.Name = vanthu.UnitGroup(c.Code).Label()
			return c, err
		}, msRange(p)...)
	if err != nil {
		return f, err
	}
	slices.SortFunc(byGroup, func(a, b vanthu.CodeCount) int {
		return cmp.Or(cmp.Compare(groupRank(vanthu.UnitGroup(a.Code)), groupRank(vanthu.UnitGroup(b.Code))), cmp.Compare(a.Code, b.Code))
	})
	in.UnitsByGroup = byGroup
	return f, nil
}

// codeCounts counts findings (kind violation) or proposed handling (kind
// handling) per code in p and in prev with one query, and returns both
// lists over the same codes, those with a count in either period, in
// catalog order then code.
func (s *Store) codeCounts(ctx context.Context, q querier, kind vanthu.CatalogKind, p, prev vanthu.Period) (cur, old []vanthu.CodeCount, err error) {
	table, col := "inspection_findings", "violation"
	if kind == vanthu.CatalogHandling {
		table, col = "inspection_handlings", "code"
	}
	// One query covers both periods: counted runs over the span from the
	// start of prev (always before p) to the end of p, and each row's
	// start tells which period it belongs to. Whether a correction
	// supersedes an inspection does not depend on the period, so this
	// counts exactly what each period counts on its own.
	from, _ := prev.Range()
	_, until := p.Range()
	// A code missing from the catalog (it never deletes, but a code could
	// predate it) sorts after the catalog's codes, by code.
	// Counting before joining the catalog keeps the join and the sort to
	// one row per code.
	query := countedCTE + `, n AS (
		SELECT r.` + col + ` AS code,
			SUM(CASE WHEN k.started_at >= ? AND k.started_at < ? THEN 1 ELSE 0 END) AS cur,
			SUM(CASE WHEN k.started_at >= ? AND k.started_at < ? THEN 1 ELSE 0 END) AS prev
		FROM counted k JOIN ` + table + ` r ON r.inspection_id = k.id
		GROUP BY r.` + col + `)
		SELECT n.code, COALESCE(c.name, n.code), CASE WHEN c.code IS NULL THEN 1 ELSE 0 END AS missing,
			COALESCE(c.ord, 0) AS ord, n.cur, n.prev
		FROM n LEFT JOIN catalog c ON c.kind = ? AND c.code = n.code
		ORDER BY missing, ord, n.code`
	rows, err := q.QueryContext(ctx, s.rebind(query),
		params([]any{toMS(from), toMS(until)}, msRange(p), msRange(prev), []any{string(kind)})...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	cur, old = []vanthu.CodeCount{}, []vanthu.CodeCount{}
	for rows.Next() {
		var (
			c, o         vanthu.CodeCount
			missing, ord int
		)
		if err := rows.Scan(&c.Code, &c.Name, &missing, &ord, &c.Count, &o.Count); err != nil {
			return nil, nil, err
		}
		if c.Count == 0 && o.Count == 0 {
			continue // in the span between the periods only (longer periods)
		}
		o.Code, o.Name = c.Code, c.Name
		cur, old = append(cur, c), append(old, o)
	}
	return cur, old, rows.Err()
}

// inspectionRows is Biểu 1: one row per counted inspection of p, its
// findings counted by a correlated COUNT, in unit order then start.
func (s *Store) inspectionRows(ctx context.Context, q querier, c *collate.Collator, p vanthu.Period) ([]vanthu.InspectionRow, error) {
	type row struct {
		vanthu.InspectionRow
		key unitKey
	}
	rows, err := queryAll(ctx, q, "inspection rows", s.rebind(countedCTE+`SELECT k.id, u.code, u.name, u.grp, u.ord,
		k.started_at, k.surprise, k.listed, k.present,
		k.absent_leave + k.absent_assignment + k.absent_study, k.absent_unexcused, k.late + k.left_early,
		(SELECT COUNT(*) FROM inspection_findings f WHERE f.inspection_id = k.id)
		FROM counted k JOIN units u ON u.id = k.unit_id`),
		func(sc scanner) (row, error) {
			var (
				r       row
				started int64
				grp     string
			)
			err := sc.Scan(&r.InspectionID, &r.UnitCode, &r.UnitName, &grp, &r.key.ord, &started, &r.Surprise,
				&r.Listed, &r.Present, &r.AbsentExcused, &r.AbsentUnexcused, &r.Late, &r.Violators)
			r.StartedAt = fromMS(started)
			r.key.code, r.key.name, r.key.grp = r.UnitCode, r.UnitName, vanthu.UnitGroup(grp)
			return r, err
		}, msRange(p)...)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(compareUnitKeys(c, a.key, b.key), a.StartedAt.Compare(b.StartedAt), cmp.Compare(a.InspectionID, b.InspectionID))
	})
	out := make([]vanthu.InspectionRow, len(rows))
	for i, r := range rows {
		out[i] = r.InspectionRow
	}
	return out, nil
}

// unitViolations is Biểu 2: findings of p counted per unit and violation
// code, in unit order then catalog order.
func (s *Store) unitViolations(ctx context.Context, q querier, c *collate.Collator, p vanthu.Period) ([]vanthu.UnitViolationCount, error) {
	type row struct {
		vanthu.UnitViolationCount
		key          unitKey
		missing, ord int
	}
	// Counted per unit id and code first; units and catalog are joined to
	// the (few thousand) counts, not to every finding.
	rows, err := queryAll(ctx, q, "unit violations", s.rebind(countedCTE+`, n AS (
		SELECT k.unit_id, f.violation AS code, COUNT(*) AS n
		FROM counted k JOIN inspection_findings f ON f.inspection_id = k.id
		GROUP BY k.unit_id, f.violation)
		SELECT u.code, u.name, u.grp, u.ord,
			n.code, COALESCE(c.name, n.code), CASE WHEN c.code IS NULL THEN 1 ELSE 0 END, COALESCE(c.ord, 0), n.n
		FROM n JOIN units u ON u.id = n.unit_id
		LEFT JOIN catalog c ON c.kind = 'violation' AND c.code = n.code`),
		func(sc scanner) (row, error) {
			var (
				r   row
				grp string
			)
			err := sc.Scan(&r.UnitCode, &r.UnitName, &grp, &r.key.ord, &r.Code, &r.Name, &r.missing, &r.ord, &r.Count)
			r.key.code, r.key.name, r.key.grp = r.UnitCode, r.UnitName, vanthu.UnitGroup(grp)
			return r, err
		}, msRange(p)...)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(compareUnitKeys(c, a.key, b.key), cmp.Compare(a.missing, b.missing), cmp.Compare(a.ord, b.ord), cmp.Compare(a.Code, b.Code))
	})
	out := make([]vanthu.UnitViolationCount, len(rows))
	for i, r := range rows {
		out[i] = r.UnitViolationCount
	}
	return out, nil
}

// receiptRows is Biểu 4: the dispatches of p's directives counted per
// unit as of asOf, in unit order.
func (s *Store) receiptRows(ctx context.Context, q querier, c *collate.Collator, p vanthu.Period, asOf time.Time) ([]vanthu.UnitReceiptRow, error) {
	type row struct {
		vanthu.UnitReceiptRow
		key unitKey
	}
	a := toMS(asOf)
	rows, err := queryAll(ctx, q, "receipt rows", s.rebind(`SELECT u.code, u.name, u.grp, u.ord, COUNT(*),
		COALESCE(SUM(`+sqlReceived+`), 0),
		COALESCE(SUM(`+sqlRead+`), 0),
		COALESCE(SUM(`+sqlAcked+`), 0),
		COALESCE(SUM(`+sqlLate+`), 0),
		COALESCE(SUM(`+sqlOverdue+`), 0)
		FROM dispatches d JOIN units u ON u.id = d.unit_id
		WHERE d.document_id IN (`+periodDirectives+`)
		GROUP BY u.id, u.code, u.name, u.grp, u.ord`),
		func(sc scanner) (row, error) {
			var (
				r   row
				grp string
			)
			err := sc.Scan(&r.UnitCode, &r.UnitName, &grp, &r.key.ord, &r.Dispatches, &r.Received, &r.Read, &r.Acknowledged, &r.Late, &r.Overdue)
			r.key.code, r.key.name, r.key.grp = r.UnitCode, r.UnitName, vanthu.UnitGroup(grp)
			return r, err
		}, params(repeat(a, 5+2+1+1+3), msRange(p))...)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(rows, func(a, b row) int { return compareUnitKeys(c, a.key, b.key) })
	out := make([]vanthu.UnitReceiptRow, len(rows))
	for i, r := range rows {
		out[i] = r.UnitReceiptRow
	}
	return out, nil
}

// EachCheckedPerson streams the persons recorded (findings) by the
// inspections counted in p (as ReportFigures counts them), ordered by unit
// (official order: group, order, name in Vietnamese collation, code), then
// inspection start, inspection id, finding order; Violation is the
// catalog's name. fn's error stops it and is returned as it is.
//
// Because the databases do not collate Vietnamese alike, the inspected
// units (a few hundred rows) are read and ordered first, then each unit's
// findings are streamed with rows.Next in its own indexed query; nothing
// holds more than one row of findings. All of it reads one snapshot.
func (s *Store) EachCheckedPerson(ctx context.Context, p vanthu.Period, fn func(vanthu.CheckedPerson) error) error {
	var fnErr error
	err := s.readSnapshot(ctx, func(tx *sql.Tx) error {
		type unit struct {
			id  int64
			key unitKey
		}
		units, err := queryAll(ctx, tx, "checked units", s.rebind(countedCTE+`SELECT DISTINCT u.id, u.code, u.name, u.grp, u.ord
			FROM counted k JOIN units u ON u.id = k.unit_id`),
			func(sc scanner) (unit, error) {
				var (
					u   unit
					grp string
				)
				err := sc.Scan(&u.id, &u.key.code, &u.key.name, &grp, &u.key.ord)
				u.key.grp = vanthu.UnitGroup(grp)
				return u, err
			}, msRange(p)...)
		if err != nil {
			return err
		}
		c := vntext.NewCollator()
		slices.SortFunc(units, func(a, b unit) int { return compareUnitKeys(c, a.key, b.key) })
		// The unit condition sits inside counted so that the index on
		// (unit_id, started_at) serves it.
		query := s.rebind(`WITH counted AS (
			SELECT i.id, i.started_at FROM inspections i WHERE i.unit_id = ? AND ` + countedCond + `)
			SELECT k.id, k.started_at, f.name, f.position, f.section, COALESCE(c.name, f.violation), f.explanation
			FROM counted k JOIN inspection_findings f ON f.inspection_id = k.id
			LEFT JOIN catalog c ON c.kind = 'violation' AND c.code = f.violation
			ORDER BY k.started_at, k.id, f.ord`)
		for _, u := range units {
			if err := s.streamPersons(ctx, tx, query, params([]any{u.id}, msRange(p)), u.key.name, func(cp vanthu.CheckedPerson) error {
				if err := fn(cp); err != nil {
					fnErr = err
					return err
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	return dbError("each checked person", err)
}

// streamPersons runs query and calls fn for each row as it is read.
func (s *Store) streamPersons(ctx context.Context, q querier, query string, qargs []any, unitName string, fn func(vanthu.CheckedPerson) error) error {
	rows, err := q.QueryContext(ctx, query, qargs...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		cp := vanthu.CheckedPerson{UnitName: unitName}
		var started int64
		if err := rows.Scan(&cp.InspectionID, &started, &cp.Name, &cp.Position, &cp.Section, &cp.Violation, &cp.Explanation); err != nil {
			return err
		}
		cp.StartedAt = fromMS(started)
		if err := fn(cp); err != nil {
			return err
		}
	}
	return rows.Err()
}
