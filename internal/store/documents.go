package store

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/collate"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/vntext"
)

// Limits of ListDocuments.
const (
	defaultDocumentLimit = 100
	maxDocumentLimit     = 1000
)

// DocumentFilter selects documents in ListDocuments; zero fields match
// everything and Limit defaults to 100 (at most 1000). It is an alias of the
// domain type, so callers may name either.
type DocumentFilter = vanthu.DocumentFilter

// IssuePlan is what the caller of IssueDocument produces once the document
// has its number: the rendered PDF and one entry per recipient unit.
type IssuePlan struct {
	Artifact   vanthu.Artifact // Name, ContentType; SHA256/Size computed by the store
	Content    []byte          // the PDF bytes
	Dispatches []PlannedDispatch
}

// PlannedDispatch is one recipient of an issued document, as planned by the
// caller of IssueDocument.
type PlannedDispatch struct {
	UnitID    int64
	Email     string
	MailTag   string // random, unique
	TokenHash []byte // SHA-256 of the ack token
}

const documentColumns = `id, kind, type_code, issuer, year, number, symbol, subject, state, body, replaces, issued_at, created_by, created_at, updated_at`

// errIssued is the answer to any change of an issued document.
func errIssued() *vanthu.Error {
	return vanthu.Errorf(vanthu.EConflict, "Văn bản đã ban hành, không sửa được; hãy tạo văn bản đính chính.")
}

func errDocumentNotFound() *vanthu.Error {
	return vanthu.Errorf(vanthu.ENotFound, "Không tìm thấy văn bản.")
}

func documentSubject(id int64) string { return "document:" + strconv.FormatInt(id, 10) }

func scanDocument(sc interface{ Scan(...any) error }) (vanthu.Document, error) {
	var (
		d                vanthu.Document
		kind, state      string
		body             string
		replaces         sql.NullInt64
		issued           sql.NullInt64
		created, updated int64
	)
	if err := sc.Scan(&d.ID, &kind, &d.TypeCode, &d.Issuer, &d.Year, &d.Number, &d.Symbol, &d.Subject, &state, &body,
		&replaces, &issued, &d.CreatedBy, &created, &updated); err != nil {
		return d, err
	}
	d.Kind = vanthu.DocumentKind(kind)
	d.State = vanthu.DocumentState(state)
	if err := json.Unmarshal([]byte(body), &d.Content); err != nil {
		return d, fmt.Errorf("document %d: decode content: %w", d.ID, err)
	}
	d.Replaces = replaces.Int64
	d.IssuedAt = timePtr(issued)
	d.CreatedAt = fromMS(created)
	d.UpdatedAt = fromMS(updated)
	return d, nil
}

// normalizeDocument brings the text of d to NFC and its deadline to the
// stored precision, then validates it as a draft. Normalising first means
// an unchanged draft saved again compares equal to the stored one.
func normalizeDocument(d *vanthu.Document) error {
	d.Subject = vntext.NFC(d.Subject)
	d.Issuer = vntext.NFC(d.Issuer)
	d.TypeCode = vntext.NFC(d.TypeCode)
	c := &d.Content
	for _, f := range []*string{&c.Template, &c.ParentAgency, &c.Agency, &c.Place, &c.TypeName, &c.Urgency,
		&c.SignerAuthority, &c.SignerTitle, &c.SignerName, &c.DrafterCode, &c.AddressLine, &c.Body} {
		*f = vntext.NFC(*f)
	}
	c.KinhGui = nfcAll(c.KinhGui)
	c.NoiNhan = nfcAll(c.NoiNhan)
	c.Audience.Groups = slices.Clone(c.Audience.Groups)
	c.Audience.UnitIDs = slices.Clone(c.Audience.UnitIDs)
	if c.Deadline != nil {
		t := fromMS(toMS(*c.Deadline))
		c.Deadline = &t
	}
	if ps := d.ValidateDraft(); len(ps) > 0 {
		return vanthu.Invalid("Văn bản chưa hợp lệ.", ps...)
	}
	return nil
}

func nfcAll(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = vntext.NFC(s)
	}
	return out
}

func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

func contentJSON(c *vanthu.Content) (string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode content: %w", err)
	}
	return string(b), nil
}

// CreateDocument stores d as a new draft and records document_created in
// the same transaction. It normalises and validates d (ValidateDraft,
// EInvalid naming the fields) and sets ID, State (draft), CreatedAt and
// UpdatedAt; number, symbol and issue time are cleared, since only
// IssueDocument sets them. The caller sets CreatedBy.
func (s *Store) CreateDocument(ctx context.Context, d *vanthu.Document, actor string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error { return s.insertDocument(ctx, tx, d, actor) })
	if err != nil {
		d.ID = 0
		return dbError("create document", err)
	}
	return nil
}

// insertDocument inserts d as a new draft, with its document_created
// event, in tx; it sets d's ID, state and times.
func (s *Store) insertDocument(ctx context.Context, tx *sql.Tx, d *vanthu.Document, actor string) error {
	if err := normalizeDocument(d); err != nil {
		return err
	}
	if d.CreatedBy == 0 {
		return vanthu.Invalid("Văn bản chưa hợp lệ.", vanthu.Problem{Field: "created_by", Message: "Thiếu người tạo văn bản."})
	}
	body, err := contentJSON(&d.Content)
	if err != nil {
		return fmt.Errorf("encode content: %w", err)
	}
	now := s.now()
	d.State, d.Number, d.Year, d.Symbol, d.IssuedAt = vanthu.StateDraft, 0, 0, "", nil
	d.CreatedAt, d.UpdatedAt = now, now
	err = tx.QueryRowContext(ctx, s.rebind(`INSERT INTO documents
		(kind, type_code, issuer, year, number, symbol, subject, state, body, replaces, issued_at, created_by, created_at, updated_at)
		VALUES (?, ?, ?, 0, 0, '', ?, ?, ?, ?, NULL, ?, ?, ?) RETURNING id`),
		string(d.Kind), d.TypeCode, d.Issuer, d.Subject, string(d.State), body, nullID(d.Replaces),
		d.CreatedBy, toMS(now), toMS(now)).Scan(&d.ID)
	if err != nil {
		return err
	}
	detail, _ := json.Marshal(map[string]any{"kind": d.Kind, "type_code": d.TypeCode, "issuer": d.Issuer, "subject": d.Subject})
	return s.insertEvent(ctx, tx, &vanthu.Event{
		At: now, Actor: actor, Action: "document_created", Source: sourceOf(actor),
		Subject: documentSubject(d.ID), Detail: string(detail),
	})
}

// documentChanges lists what differs between the stored draft and d: the
// short columns with their old and new values, and the names of the changed
// content fields ("content.body"). Content values are left out of the
// event: a body can be 200 kB and every save would copy it into the log.
func documentChanges(old, d *vanthu.Document) (map[string]change, []string, error) {
	ch := map[string]change{}
	if old.Kind != d.Kind {
		ch["kind"] = change{old.Kind, d.Kind}
	}
	if old.TypeCode != d.TypeCode {
		ch["type_code"] = change{old.TypeCode, d.TypeCode}
	}
	if old.Issuer != d.Issuer {
		ch["issuer"] = change{old.Issuer, d.Issuer}
	}
	if old.Subject != d.Subject {
		ch["subject"] = change{old.Subject, d.Subject}
	}
	if old.Replaces != d.Replaces {
		ch["replaces"] = change{old.Replaces, d.Replaces}
	}
	fields := func(c *vanthu.Content) (map[string]json.RawMessage, error) {
		b, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		m := map[string]json.RawMessage{}
		return m, json.Unmarshal(b, &m)
	}
	a, err := fields(&old.Content)
	if err != nil {
		return nil, nil, err
	}
	b, err := fields(&d.Content)
	if err != nil {
		return nil, nil, err
	}
	var content []string
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			content = append(content, "content."+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			content = append(content, "content."+k)
		}
	}
	slices.Sort(content)
	return ch, content, nil
}

// UpdateDraft stores every editable field of d (found by d.ID) while it is
// a draft and records document_updated listing the changed fields. An
// issued document is EConflict: it is immutable, a correction is a new
// document. A save that changes nothing records nothing. State, number,
// CreatedBy and CreatedAt are taken from the stored row.
func (s *Store) UpdateDraft(ctx context.Context, d *vanthu.Document, actor string) error {
	if err := normalizeDocument(d); err != nil {
		return err
	}
	body, err := contentJSON(&d.Content)
	if err != nil {
		return fmt.Errorf("store: update draft: %w", err)
	}
	now := s.now()
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := s.getDocument(ctx, tx, d.ID)
		if err != nil {
			return err
		}
		if old.State != vanthu.StateDraft {
			return errIssued()
		}
		ch, content, err := documentChanges(&old, d)
		if err != nil {
			return err
		}
		d.State, d.Number, d.Year, d.Symbol, d.IssuedAt = old.State, old.Number, old.Year, old.Symbol, old.IssuedAt
		d.CreatedBy, d.CreatedAt = old.CreatedBy, old.CreatedAt
		if len(ch) == 0 && len(content) == 0 {
			d.UpdatedAt = old.UpdatedAt
			return nil
		}
		d.UpdatedAt = now
		// The state condition closes the race with a concurrent issue
		// between the read above and this write.
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE documents SET kind = ?, type_code = ?, issuer = ?, subject = ?, body = ?,
			replaces = ?, updated_at = ? WHERE id = ? AND state = ?`),
			string(d.Kind), d.TypeCode, d.Issuer, d.Subject, body, nullID(d.Replaces), toMS(now), d.ID, string(vanthu.StateDraft))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errIssued()
		}
		fields := make([]string, 0, len(ch)+len(content))
		for k := range ch {
			fields = append(fields, k)
		}
		slices.Sort(fields)
		fields = append(fields, content...)
		detail, _ := json.Marshal(map[string]any{"fields": fields, "changes": ch})
		return s.insertEvent(ctx, tx, &vanthu.Event{
			At: now, Actor: actor, Action: "document_updated", Source: sourceOf(actor),
			Subject: documentSubject(d.ID), Detail: string(detail),
		})
	})
	return dbError("update draft", err)
}

// GetDocument returns the document with id, or ENotFound.
func (s *Store) GetDocument(ctx context.Context, id int64) (vanthu.Document, error) {
	d, err := s.getDocument(ctx, s.db, id)
	return d, dbError("get document", err)
}

func (s *Store) getDocument(ctx context.Context, q querier, id int64) (vanthu.Document, error) {
	d, err := scanDocument(q.QueryRowContext(ctx, s.rebind("SELECT "+documentColumns+" FROM documents WHERE id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, errDocumentNotFound()
	}
	return d, err
}

// ListDocuments returns the documents matching f, newest first.
func (s *Store) ListDocuments(ctx context.Context, f DocumentFilter) ([]vanthu.Document, error) {
	var (
		where []string
		args  []any
	)
	if f.Kind != "" {
		where = append(where, "kind = ?")
		args = append(args, string(f.Kind))
	}
	if f.State != "" {
		where = append(where, "state = ?")
		args = append(args, string(f.State))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultDocumentLimit
	}
	limit = min(limit, maxDocumentLimit)
	query := "SELECT " + documentColumns + " FROM documents"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY created_at DESC, id DESC LIMIT ?"
	args = append(args, limit)
	return queryAll(ctx, s.db, "list documents", s.rebind(query), scanDocument, args...)
}

// groupRank orders unit groups as vanthu.UnitGroups lists them; unknown
// groups go last.
// unitKey is what orders units officially: group (vanthu.UnitGroups order),
// order, name in Vietnamese collation, code. Unit lists, dispatch lists
// and the report's annex rows all sort by it.
type unitKey struct {
	code, name string
	grp        vanthu.UnitGroup
	ord        int
}

func compareUnitKeys(c *collate.Collator, a, b unitKey) int {
	if r := cmp.Compare(groupRank(a.grp), groupRank(b.grp)); r != 0 {
		return r
	}
	if r := cmp.Compare(a.ord, b.ord); r != 0 {
		return r
	}
	if r := c.CompareString(a.name, b.name); r != 0 {
		return r
	}
	return cmp.Compare(a.code, b.code)
}

func groupRank(g vanthu.UnitGroup) int {
	if i := slices.Index(vanthu.UnitGroups, g); i >= 0 {
		return i
	}
	return len(vanthu.UnitGroups)
}

// resolveAudience turns an audience into units, in official order (group,
// order, name). Units reached through All or Groups are skipped when
// inactive or without an address; a unit chosen by id that cannot receive
// mail is a problem naming it, because the clerk picked it on purpose.
func (s *Store) resolveAudience(ctx context.Context, q querier, a vanthu.Audience) ([]vanthu.Unit, []vanthu.Problem, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+unitColumns+" FROM units")
	if err != nil {
		return nil, nil, err
	}
	byID := map[int64]vanthu.Unit{}
	for rows.Next() {
		u, err := scanUnit(rows)
		if err != nil {
			rows.Close()
			return nil, nil, err
		}
		byID[u.ID] = u
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	const field = "content.audience.unit_ids"
	var ps []vanthu.Problem
	chosen := map[int64]bool{}
	for _, id := range a.UnitIDs {
		u, ok := byID[id]
		switch {
		case !ok:
			ps = append(ps, vanthu.Problem{Field: field, Message: fmt.Sprintf("Không tìm thấy đơn vị có mã số %d.", id)})
		case !u.Active:
			ps = append(ps, vanthu.Problem{Field: field, Message: fmt.Sprintf("Đơn vị %s đã ngừng hoạt động, không gửi văn bản được.", u.Name)})
		case len(u.Emails) == 0:
			ps = append(ps, vanthu.Problem{Field: field, Message: fmt.Sprintf("Đơn vị %s chưa có địa chỉ thư điện tử.", u.Name)})
		default:
			chosen[id] = true
		}
	}
	if len(ps) > 0 {
		return nil, ps, nil
	}
	units := []vanthu.Unit{}
	for _, u := range byID {
		reachable := u.Active && len(u.Emails) > 0
		if chosen[u.ID] || (reachable && (a.All || slices.Contains(a.Groups, u.Group))) {
			units = append(units, u)
		}
	}
	sortUnits(units)
	return units, nil, nil
}

// sortUnits sorts units in official order: group, order, then name in
// Vietnamese collation (which the databases do not agree on), then code.
func sortUnits(units []vanthu.Unit) {
	c := vntext.NewCollator()
	key := func(u vanthu.Unit) unitKey { return unitKey{code: u.Code, name: u.Name, grp: u.Group, ord: u.Order} }
	slices.SortFunc(units, func(a, b vanthu.Unit) int { return compareUnitKeys(c, key(a), key(b)) })
}

// checkPlan verifies that p covers exactly the resolved units, once each.
// A mismatch is a bug in the caller, not bad input.
func checkPlan(p *IssuePlan, units []vanthu.Unit) error {
	if p.Artifact.Name == "" || p.Artifact.ContentType == "" || len(p.Content) == 0 {
		return errors.New("plan: artifact needs a name, a content type and content")
	}
	want := map[int64]bool{}
	for _, u := range units {
		want[u.ID] = true
	}
	seen := map[int64]bool{}
	for _, pd := range p.Dispatches {
		switch {
		case !want[pd.UnitID]:
			return fmt.Errorf("plan: unit %d is not in the audience", pd.UnitID)
		case seen[pd.UnitID]:
			return fmt.Errorf("plan: unit %d planned twice", pd.UnitID)
		case pd.Email == "" || pd.MailTag == "" || len(pd.TokenHash) == 0:
			return fmt.Errorf("plan: dispatch to unit %d needs an e-mail address, a mail tag and a token hash", pd.UnitID)
		}
		seen[pd.UnitID] = true
	}
	if len(seen) != len(want) {
		return fmt.Errorf("plan: %d dispatches for %d units", len(seen), len(want))
	}
	return nil
}

// IssueDocument issues draft id in one transaction. It refuses a document
// that is not a draft (EConflict, so a duplicate issue request changes
// nothing), validates it for issue as of at (EInvalid), resolves its
// audience to units (All: every active unit; Groups: the active units of
// those groups; UnitIDs: exactly those, each of which must be active and
// have an e-mail address, else EInvalid naming it), and refuses an empty
// result. It then draws the next number of the (issuer, type code, year of
// at in vanthu.Location) series, sets Number, Year, Symbol, IssuedAt (at)
// and State, and calls plan with the numbered document and the units in
// official order. The plan's artifact and one dispatch per planned unit
// (queued at at, with the document's deadline) are stored with a
// document_issued event.
//
// If plan fails, nothing is stored and the number is not consumed: the
// transaction rolls back. The series row stays locked while plan runs, so
// plan should render and return, not wait on other issues of the series.
func (s *Store) IssueDocument(ctx context.Context, id int64, actor string, at time.Time, plan func(ctx context.Context, doc vanthu.Document, units []vanthu.Unit) (IssuePlan, error)) (vanthu.Document, error) {
	at = fromMS(toMS(at))
	now := s.now()
	var doc vanthu.Document
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Lock the row first, conditionally: of two concurrent issues of
		// the same draft, the second waits here and then matches nothing.
		res, err := tx.ExecContext(ctx, s.rebind("UPDATE documents SET updated_at = updated_at WHERE id = ? AND state = ?"), id, string(vanthu.StateDraft))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			if _, err := s.getDocument(ctx, tx, id); err != nil {
				return err
			}
			return vanthu.Errorf(vanthu.EConflict, "Văn bản đã được ban hành.")
		}
		if doc, err = s.getDocument(ctx, tx, id); err != nil {
			return err
		}
		if ps := doc.ValidateIssue(at); len(ps) > 0 {
			return vanthu.Invalid("Văn bản chưa đủ điều kiện ban hành.", ps...)
		}
		units, ps, err := s.resolveAudience(ctx, tx, doc.Content.Audience)
		if err != nil {
			return err
		}
		if len(ps) > 0 {
			return vanthu.Invalid("Danh sách đơn vị nhận không hợp lệ.", ps...)
		}
		if len(units) == 0 {
			return vanthu.Invalid("Danh sách đơn vị nhận không hợp lệ.", vanthu.Problem{Field: "content.audience",
				Message: "Không có đơn vị nào nhận được văn bản: các đơn vị đã chọn đều ngừng hoạt động hoặc chưa có địa chỉ thư điện tử."})
		}

		year := at.In(vanthu.Location).Year()
		var number int
		err = tx.QueryRowContext(ctx, s.rebind(`INSERT INTO doc_counters (issuer, type_code, year, last) VALUES (?, ?, ?, 1)
			ON CONFLICT (issuer, type_code, year) DO UPDATE SET last = doc_counters.last + 1 RETURNING last`),
			doc.Issuer, doc.TypeCode, year).Scan(&number)
		if err != nil {
			return fmt.Errorf("next number: %w", err)
		}
		issuedAt := at
		doc.Number, doc.Year, doc.Symbol = number, year, vanthu.Symbol(number, doc.TypeCode, doc.Issuer)
		doc.State, doc.IssuedAt, doc.UpdatedAt = vanthu.StateIssued, &issuedAt, now

		p, err := plan(ctx, doc, slices.Clone(units))
		if err != nil {
			return err
		}
		if err := checkPlan(&p, units); err != nil {
			return err
		}
		sum := sha256.Sum256(p.Content)
		art := p.Artifact
		art.DocumentID, art.SHA256, art.Size, art.CreatedAt = id, hex.EncodeToString(sum[:]), int64(len(p.Content)), now
		if err := tx.QueryRowContext(ctx, s.rebind(`INSERT INTO artifacts (document_id, name, content_type, sha256, size, content, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			id, art.Name, art.ContentType, art.SHA256, art.Size, p.Content, toMS(now)).Scan(&art.ID); err != nil {
			return fmt.Errorf("store artifact: %w", err)
		}
		ins, err := tx.PrepareContext(ctx, s.rebind(`INSERT INTO dispatches (document_id, unit_id, email, queued_at, deadline, token_hash, mail_tag)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`))
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, pd := range p.Dispatches {
			var did int64
			if err := ins.QueryRowContext(ctx, id, pd.UnitID, pd.Email, toMS(at), nullMS(doc.Content.Deadline), pd.TokenHash, pd.MailTag).Scan(&did); err != nil {
				return fmt.Errorf("dispatch to unit %d: %w", pd.UnitID, err)
			}
			// Queued is a milestone like the others: its event is what the
			// audit log and the webhooks see.
			if err := s.insertEvent(ctx, tx, &vanthu.Event{
				At: at, Actor: actor, Action: "dispatch_queued", Source: sourceOf(actor),
				Subject: dispatchSubject(did), Detail: `{"milestone":"queued","implied":[]}`, EvidenceRef: doc.Symbol,
			}); err != nil {
				return fmt.Errorf("queued event of the dispatch to unit %d: %w", pd.UnitID, err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE documents SET number = ?, year = ?, symbol = ?, state = ?, issued_at = ?, updated_at = ?
			WHERE id = ?`), number, year, doc.Symbol, string(doc.State), toMS(at), toMS(now), id); err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]any{"number": number, "symbol": doc.Symbol, "units": len(units), "sha256": art.SHA256})
		return s.insertEvent(ctx, tx, &vanthu.Event{
			At: now, Actor: actor, Action: "document_issued", Source: sourceOf(actor),
			Subject: documentSubject(id), Detail: string(detail),
		})
	})
	if err != nil {
		return vanthu.Document{}, dbError("issue document", err)
	}
	return doc, nil
}

// GetArtifact returns the latest artifact of the document and its content,
// or ENotFound if it has none.
func (s *Store) GetArtifact(ctx context.Context, documentID int64) (vanthu.Artifact, []byte, error) {
	var (
		a       vanthu.Artifact
		content []byte
		created int64
	)
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT id, document_id, name, content_type, sha256, size, content, created_at
		FROM artifacts WHERE document_id = ? ORDER BY id DESC LIMIT 1`), documentID).
		Scan(&a.ID, &a.DocumentID, &a.Name, &a.ContentType, &a.SHA256, &a.Size, &content, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return a, nil, vanthu.Errorf(vanthu.ENotFound, "Văn bản chưa có tệp.")
	}
	if err != nil {
		return a, nil, dbError("get artifact", err)
	}
	a.CreatedAt = fromMS(created)
	return a, content, nil
}
