package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sonoivu/vanthu"
)

// actionMinutesIssued links an inspection to its minutes document. The
// event is written in the transaction that creates and numbers the
// document, so it exists exactly when the document does; it is how a
// retried finalize task finds the document it made before a crash instead
// of drawing a second number.
const actionMinutesIssued = "inspection_minutes_issued"

// MinutesDocument returns the minutes document issued for inspection id by
// IssueMinutes, or ENotFound if there is none yet.
func (s *Store) MinutesDocument(ctx context.Context, inspectionID int64) (vanthu.Document, error) {
	id, err := s.minutesDocumentID(ctx, s.db, inspectionID)
	if err != nil {
		return vanthu.Document{}, dbError("minutes document", err)
	}
	if id == 0 {
		return vanthu.Document{}, vanthu.Errorf(vanthu.ENotFound, "Biên bản chưa được lập thành văn bản.")
	}
	return s.GetDocument(ctx, id)
}

func (s *Store) minutesDocumentID(ctx context.Context, q querier, inspectionID int64) (int64, error) {
	var detail string
	err := q.QueryRowContext(ctx, s.rebind(`SELECT detail FROM events WHERE subject = ? AND action = ? ORDER BY id LIMIT 1`),
		inspectionSubject(inspectionID), actionMinutesIssued).Scan(&detail)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var d struct {
		DocumentID int64 `json:"document_id"`
	}
	if err := json.Unmarshal([]byte(detail), &d); err != nil || d.DocumentID == 0 {
		return 0, fmt.Errorf("inspection %d: bad %s event: %q", inspectionID, actionMinutesIssued, detail)
	}
	return d.DocumentID, nil
}

// IssueMinutes issues d as the minutes of draft inspection inspectionID in
// one transaction, without dispatches: minutes are signed and kept, not
// mailed. If the inspection already has its minutes document (a retried
// finalize task), that document is returned unchanged and render is not
// called, so no second document or number is made. Otherwise d (kind,
// type code, issuer, subject, content; CreatedBy set by the caller) is
// stored already issued, with the next number of its (issuer, type code,
// year of at in vanthu.Location) series, as IssueDocument numbers; render
// gets the numbered document and returns the artifact (name, content type)
// and its bytes, stored with their SHA-256. document_issued and
// inspection_minutes_issued are recorded with it. If render fails nothing
// is stored and the number is not consumed. A finalized inspection is
// EConflict.
func (s *Store) IssueMinutes(ctx context.Context, inspectionID int64, d vanthu.Document, actor string, at time.Time,
	render func(ctx context.Context, doc vanthu.Document) (vanthu.Artifact, []byte, error)) (vanthu.Document, error) {
	if err := normalizeDocument(&d); err != nil {
		return vanthu.Document{}, err
	}
	at = fromMS(toMS(at))
	now := s.now()
	var doc vanthu.Document
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Lock the inspection: of two concurrent finalizes, the second
		// waits here and then finds the first one's document.
		res, err := tx.ExecContext(ctx, s.rebind("UPDATE inspections SET updated_at = updated_at WHERE id = ?"), inspectionID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errInspectionNotFound()
		}
		existing, err := s.minutesDocumentID(ctx, tx, inspectionID)
		if err != nil {
			return err
		}
		if existing != 0 {
			doc, err = s.getDocument(ctx, tx, existing)
			return err
		}
		in, err := s.getInspection(ctx, tx, inspectionID)
		if err != nil {
			return err
		}
		if in.State != vanthu.InspectionDraft {
			return errFinalized()
		}
		body, err := contentJSON(&d.Content)
		if err != nil {
			return err
		}
		year := at.In(vanthu.Location).Year()
		var number int
		if err := tx.QueryRowContext(ctx, s.rebind(`INSERT INTO doc_counters (issuer, type_code, year, last) VALUES (?, ?, ?, 1)
			ON CONFLICT (issuer, type_code, year) DO UPDATE SET last = doc_counters.last + 1 RETURNING last`),
			d.Issuer, d.TypeCode, year).Scan(&number); err != nil {
			return fmt.Errorf("next number: %w", err)
		}
		doc = d
		issuedAt := at
		doc.Number, doc.Year, doc.Symbol = number, year, vanthu.Symbol(number, d.TypeCode, d.Issuer)
		doc.State, doc.IssuedAt, doc.CreatedAt, doc.UpdatedAt = vanthu.StateIssued, &issuedAt, now, now
		if err := tx.QueryRowContext(ctx, s.rebind(`INSERT INTO documents
			(kind, type_code, issuer, year, number, symbol, subject, state, body, replaces, issued_at, created_by, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			string(doc.Kind), doc.TypeCode, doc.Issuer, year, number, doc.Symbol, doc.Subject, string(doc.State), body,
			nullID(doc.Replaces), toMS(at), doc.CreatedBy, toMS(now), toMS(now)).Scan(&doc.ID); err != nil {
			return fmt.Errorf("insert document: %w", err)
		}
		art, content, err := render(ctx, doc)
		if err != nil {
			return err
		}
		if art.Name == "" || art.ContentType == "" || len(content) == 0 {
			return errors.New("minutes: artifact needs a name, a content type and content")
		}
		sum := sha256.Sum256(content)
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO artifacts (document_id, name, content_type, sha256, size, content, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`),
			doc.ID, art.Name, art.ContentType, hex.EncodeToString(sum[:]), int64(len(content)), content, toMS(now)); err != nil {
			return fmt.Errorf("store artifact: %w", err)
		}
		detail, _ := json.Marshal(map[string]any{"number": number, "symbol": doc.Symbol, "units": 0, "sha256": hex.EncodeToString(sum[:]),
			"inspection_id": inspectionID})
		if err := s.insertEvent(ctx, tx, &vanthu.Event{
			At: now, Actor: actor, Action: "document_issued", Source: sourceOf(actor),
			Subject: documentSubject(doc.ID), Detail: string(detail),
		}); err != nil {
			return err
		}
		link, _ := json.Marshal(map[string]any{"document_id": doc.ID, "symbol": doc.Symbol})
		return s.insertEvent(ctx, tx, &vanthu.Event{
			At: now, Actor: actor, Action: actionMinutesIssued, Source: sourceOf(actor),
			Subject: inspectionSubject(inspectionID), Detail: string(link), EvidenceRef: "document:" + strconv.FormatInt(doc.ID, 10),
		})
	})
	if err != nil {
		return vanthu.Document{}, dbError("issue minutes", err)
	}
	return doc, nil
}
