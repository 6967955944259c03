package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/vntext"
)

// Content types of the files a document is served as.
const (
	contentTypePDF  = "application/pdf"
	contentTypeXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// directives returns the configured Directives or an EUnavailable error, so
// that a server wired without them still serves everything else.
func (s *Server) directives() (Directives, error) {
	if s.cfg.Directives == nil {
		return nil, vanthu.Errorf(vanthu.EUnavailable, "Chức năng soạn và ban hành văn bản chưa được cấu hình.")
	}
	return s.cfg.Directives, nil
}

// documentFilter reads the listing query shared by the API and the page.
func documentFilter(r *http.Request) (vanthu.DocumentFilter, error) {
	q := r.URL.Query()
	f := vanthu.DocumentFilter{Kind: vanthu.DocumentKind(strings.TrimSpace(q.Get("kind"))), State: vanthu.DocumentState(strings.TrimSpace(q.Get("state")))}
	var ps []vanthu.Problem
	switch f.Kind {
	case "", vanthu.KindDirective, vanthu.KindMinutes, vanthu.KindReport, vanthu.KindReminder:
	default:
		ps = append(ps, vanthu.Problem{Field: "kind", Message: "Loại văn bản không hợp lệ (directive, minutes, report, reminder)."})
	}
	switch f.State {
	case "", vanthu.StateDraft, vanthu.StateIssued:
	default:
		ps = append(ps, vanthu.Problem{Field: "state", Message: "Trạng thái không hợp lệ (draft, issued)."})
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			ps = append(ps, vanthu.Problem{Field: "limit", Message: "Giới hạn phải là số từ 1 đến 1000."})
		}
		f.Limit = n
	}
	if len(ps) > 0 {
		return vanthu.DocumentFilter{}, vanthu.Invalid("Bộ lọc không hợp lệ.", ps...)
	}
	return f, nil
}

// documentInput takes from a client document only what a clerk may set:
// ids, numbers, state and timestamps belong to the server. A client may
// send back a whole Document it got from the API; those fields are ignored.
func documentInput(in vanthu.Document) vanthu.Document {
	return vanthu.Document{
		Kind:     vanthu.DocumentKind(vntext.NFC(string(in.Kind))),
		TypeCode: vntext.NFC(in.TypeCode),
		Issuer:   vntext.NFC(in.Issuer),
		Subject:  vntext.Clean(in.Subject),
		Content:  in.Content,
		Replaces: in.Replaces,
	}
}

func (s *Server) apiListDocuments(w http.ResponseWriter, r *http.Request) error {
	f, err := documentFilter(r)
	if err != nil {
		return err
	}
	docs, err := s.store.ListDocuments(r.Context(), f)
	if err != nil {
		return fmt.Errorf("list documents: %w", err)
	}
	if docs == nil {
		docs = []vanthu.Document{}
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"documents": docs, "count": len(docs)})
	return nil
}

func (s *Server) apiCreateDocument(w http.ResponseWriter, r *http.Request) error {
	var in vanthu.Document
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d := documentInput(in)
	if d.Content.Template == "" {
		d.Content.Template = string(d.Kind)
	}
	me, _ := userFrom(r.Context())
	d.CreatedBy = me.ID
	if err := s.store.CreateDocument(r.Context(), &d, me.Username); err != nil {
		return fmt.Errorf("create document: %w", err)
	}
	w.Header().Set("Location", "/api/v1/documents/"+strconv.FormatInt(d.ID, 10))
	s.writeJSON(w, r, http.StatusCreated, d)
	return nil
}

func (s *Server) apiGetDocument(w http.ResponseWriter, r *http.Request) error {
	d, err := s.pathDocument(r)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, d)
	return nil
}

// pathDocument loads the document named by the {id} path value.
func (s *Server) pathDocument(r *http.Request) (vanthu.Document, error) {
	id, err := pathID(r)
	if err != nil {
		return vanthu.Document{}, err
	}
	d, err := s.store.GetDocument(r.Context(), id)
	if err != nil {
		return vanthu.Document{}, fmt.Errorf("get document %d: %w", id, err)
	}
	return d, nil
}

func (s *Server) apiUpdateDocument(w http.ResponseWriter, r *http.Request) error {
	old, err := s.pathDocument(r)
	if err != nil {
		return err
	}
	var in vanthu.Document
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d := documentInput(in)
	d.ID, d.CreatedBy, d.State = old.ID, old.CreatedBy, old.State
	if d.Content.Template == "" {
		d.Content.Template = old.Content.Template
	}
	me, _ := userFrom(r.Context())
	if err := s.store.UpdateDraft(r.Context(), &d, me.Username); err != nil {
		return fmt.Errorf("update draft %d: %w", d.ID, err)
	}
	got, err := s.store.GetDocument(r.Context(), d.ID)
	if err != nil {
		return fmt.Errorf("get document %d: %w", d.ID, err)
	}
	s.writeJSON(w, r, http.StatusOK, got)
	return nil
}

// preview renders the draft d as PDF.
func (s *Server) preview(ctx context.Context, d vanthu.Document) ([]byte, error) {
	dir, err := s.directives()
	if err != nil {
		return nil, err
	}
	if d.State != vanthu.StateDraft {
		return nil, vanthu.Errorf(vanthu.EConflict, "Văn bản đã ban hành; hãy tải bản chính thức.")
	}
	pdf, err := dir.Preview(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("preview document %d: %w", d.ID, err)
	}
	return pdf, nil
}

func (s *Server) apiPreviewDocument(w http.ResponseWriter, r *http.Request) error {
	d, err := s.pathDocument(r)
	if err != nil {
		return err
	}
	pdf, err := s.preview(r.Context(), d)
	if err != nil {
		return err
	}
	return serveFile(w, contentTypePDF, "xem-truoc-"+strconv.FormatInt(d.ID, 10)+".pdf", false, pdf)
}

// issue issues document id and starts sending it. A failed enqueue does
// not undo the issue: the dispatch rows are pending and the reconciler
// sends them, so the clerk is not told to issue again (which would 409).
func (s *Server) issue(ctx context.Context, id int64, actor string) (vanthu.Document, error) {
	dir, err := s.directives()
	if err != nil {
		return vanthu.Document{}, err
	}
	doc, err := dir.Issue(ctx, id, actor)
	if err != nil {
		return vanthu.Document{}, fmt.Errorf("issue document %d: %w", id, err)
	}
	s.log.InfoContext(ctx, "document issued", slog.Int64("document_id", id), slog.String("symbol", doc.Symbol), slog.String("actor", actor))
	if err := s.jobs.EnqueueFanout(ctx, id); err != nil {
		s.log.ErrorContext(ctx, "enqueue fanout failed; the reconciler will send", slog.Int64("document_id", id), slog.String("error", err.Error()))
	}
	return doc, nil
}

func (s *Server) apiIssueDocument(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	me, _ := userFrom(r.Context())
	doc, err := s.issue(r.Context(), id, me.Username)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, doc)
	return nil
}

// artifact returns the issued PDF of a document.
func (s *Server) artifact(ctx context.Context, id int64) (vanthu.Artifact, []byte, error) {
	a, data, err := s.store.GetArtifact(ctx, id)
	if err != nil {
		return a, nil, fmt.Errorf("get artifact of document %d: %w", id, err)
	}
	return a, data, nil
}

func (s *Server) apiDocumentPDF(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	a, data, err := s.artifact(r.Context(), id)
	if err != nil {
		return err
	}
	return serveFile(w, a.ContentType, a.Name, true, data)
}

// dispatchJSON is a dispatch as the API shows it: with its status, for
// UIs that should not re-derive it.
type dispatchJSON struct {
	vanthu.Dispatch
	Status      vanthu.Milestone `json:"status"`
	StatusLabel string           `json:"status_label"`
	Overdue     bool             `json:"overdue"`
}

// dispatchesJSON is the body of GET /api/v1/documents/{id}/dispatches.
type dispatchesJSON struct {
	Progress   vanthu.Progress `json:"progress"`
	Final      bool            `json:"final"` // every dispatch acknowledged, bounced or failed
	Dispatches []dispatchJSON  `json:"dispatches"`
}

// tracking lists the dispatches of a document with their progress. The
// progress is summed from the same rows, so the bar and the table always
// agree.
func (s *Server) tracking(ctx context.Context, id int64) (dispatchesJSON, error) {
	ds, err := s.store.ListDispatches(ctx, id)
	if err != nil {
		return dispatchesJSON{}, fmt.Errorf("list dispatches of document %d: %w", id, err)
	}
	now := s.now()
	out := dispatchesJSON{Final: true, Dispatches: make([]dispatchJSON, 0, len(ds))}
	for i := range ds {
		d := &ds[i]
		out.Progress.Add(d, now)
		st := d.Status()
		switch st {
		case vanthu.MilestoneAcknowledged, vanthu.MilestoneBounced, vanthu.MilestoneFailed:
		default:
			out.Final = false
		}
		out.Dispatches = append(out.Dispatches, dispatchJSON{Dispatch: *d, Status: st, StatusLabel: st.Label(), Overdue: d.Overdue(now)})
	}
	return out, nil
}

func (s *Server) apiListDispatches(w http.ResponseWriter, r *http.Request) error {
	d, err := s.pathDocument(r)
	if err != nil {
		return err
	}
	out, err := s.tracking(r.Context(), d.ID)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) apiTrackingSheet(w http.ResponseWriter, r *http.Request) error {
	dir, err := s.directives()
	if err != nil {
		return err
	}
	d, err := s.pathDocument(r)
	if err != nil {
		return err
	}
	if d.State != vanthu.StateIssued {
		return vanthu.Errorf(vanthu.EConflict, "Văn bản chưa ban hành nên chưa có bảng theo dõi.")
	}
	ds, err := s.store.ListDispatches(r.Context(), d.ID)
	if err != nil {
		return fmt.Errorf("list dispatches of document %d: %w", d.ID, err)
	}
	data, err := dir.TrackingSheet(r.Context(), d, ds, s.now())
	if err != nil {
		return fmt.Errorf("tracking sheet of document %d: %w", d.ID, err)
	}
	return serveFile(w, contentTypeXLSX, "theo-doi-"+fileStem(d)+".xlsx", true, data)
}

// fileStem names files of a document after its symbol ("02-CT-UBND").
func fileStem(d vanthu.Document) string {
	if d.Symbol == "" {
		return "van-ban-" + strconv.FormatInt(d.ID, 10)
	}
	return strings.ReplaceAll(d.Symbol, "/", "-")
}

// resend resets the failed dispatches among ids (all failed ones when ids
// is empty) and enqueues them again.
func (s *Server) resend(ctx context.Context, d vanthu.Document, ids []int64, actor string) ([]int64, error) {
	if d.State != vanthu.StateIssued {
		return nil, vanthu.Errorf(vanthu.EConflict, "Văn bản chưa ban hành.")
	}
	reset, err := s.store.ResendFailed(ctx, d.ID, ids, actor)
	if err != nil {
		return nil, fmt.Errorf("resend failed dispatches of document %d: %w", d.ID, err)
	}
	if reset == nil {
		reset = []int64{}
	}
	if len(reset) > 0 {
		// The rows are pending again: if this enqueue fails, the
		// reconciler sends them, as after a lost fan-out.
		if err := s.jobs.EnqueueSend(ctx, reset); err != nil {
			s.log.ErrorContext(ctx, "enqueue resend failed; the reconciler will send", slog.Int64("document_id", d.ID), slog.String("error", err.Error()))
		}
	}
	return reset, nil
}

func (s *Server) apiResend(w http.ResponseWriter, r *http.Request) error {
	d, err := s.pathDocument(r)
	if err != nil {
		return err
	}
	var in struct {
		DispatchIDs []int64 `json:"dispatch_ids"`
	}
	if err := decodeOptionalJSON(r, &in); err != nil {
		return err
	}
	me, _ := userFrom(r.Context())
	reset, err := s.resend(r.Context(), d, in.DispatchIDs, me.Username)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"dispatch_ids": reset, "count": len(reset)})
	return nil
}

// remind asks the worker to remind now every unit that has not
// acknowledged document d.
func (s *Server) remind(ctx context.Context, d vanthu.Document, actor string) error {
	if d.State != vanthu.StateIssued {
		return vanthu.Errorf(vanthu.EConflict, "Văn bản chưa ban hành.")
	}
	if err := s.jobs.EnqueueRemind(ctx, d.ID); err != nil {
		return fmt.Errorf("enqueue remind of document %d: %w", d.ID, err)
	}
	s.log.InfoContext(ctx, "reminder requested", slog.Int64("document_id", d.ID), slog.String("actor", actor))
	return nil
}

func (s *Server) apiRemind(w http.ResponseWriter, r *http.Request) error {
	d, err := s.pathDocument(r)
	if err != nil {
		return err
	}
	me, _ := userFrom(r.Context())
	if err := s.remind(r.Context(), d, me.Username); err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusAccepted, map[string]any{"status": "queued"})
	return nil
}

// decodeOptionalJSON is decodeJSON for a body that may be left out.
func decodeOptionalJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return bodyError(err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return decodeJSON(r, v)
}

// serveFile answers a generated file. The name goes into
// Content-Disposition twice (RFC 6266): an ASCII fallback and the UTF-8
// name (RFC 5987), so that Vietnamese names survive in every browser.
func serveFile(w http.ResponseWriter, contentType, name string, attachment bool, data []byte) error {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("Content-Disposition", contentDisposition(attachment, name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(data)
	return err
}

// contentDisposition formats the header value for a file name.
func contentDisposition(attachment bool, name string) string {
	typ := "inline"
	if attachment {
		typ = "attachment"
	}
	name = vntext.NFC(name)
	fallback := strings.Map(func(r rune) rune {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)), strings.ContainsRune(".-_ ", r):
			return r
		}
		return '_'
	}, foldKeepCase(name))
	return typ + `; filename="` + fallback + `"; filename*=UTF-8''` + rfc5987(name)
}

// foldKeepCase strips Vietnamese marks but keeps letter case.
func foldKeepCase(s string) string {
	var b strings.Builder
	for _, r := range s {
		f := []rune(vntext.Fold(string(r)))
		if len(f) == 1 && unicode.IsUpper(r) {
			b.WriteRune(unicode.ToUpper(f[0]))
		} else if len(f) == 1 {
			b.WriteRune(f[0])
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// rfc5987 percent-encodes s as an RFC 5987 ext-value, leaving attr-chars.
func rfc5987(s string) string {
	const attr = "!#$&+-.^_`|~"
	var b strings.Builder
	for _, c := range []byte(s) {
		if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(attr, c) >= 0) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// formatTime shows t in Vietnam time as the pages do.
func formatTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.In(vanthu.Location).Format("02/01/2006 15:04")
}
