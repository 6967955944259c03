package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/vntext"
)

// The acknowledgement pages are public: units do not log in. The token in
// the link is the credential; it is looked up by its SHA-256, as API
// secrets are, so the database holds no working link.

// maxAckToken bounds the token in the path: anything longer is not one of
// ours and is refused without a database round trip.
const maxAckToken = 200

// maxBadAckTokens unknown tokens from one address within the limiter's
// window block that address for the window: guessing a 192-bit token is
// hopeless anyway, this keeps the attempt from costing us database work.
const maxBadAckTokens = 20

// ackPage is the data of the acknowledgement page.
type ackPage struct {
	Token          string
	Doc            vanthu.Document
	UnitName       string
	UnitCode       string
	Deadline       *time.Time
	AcknowledgedAt *time.Time
	Ack            vanthu.Ack // who confirmed (the first confirmation)
	JustAcked      bool       // this request acknowledged it
	Form           vanthu.Ack // the form's values, kept when it is refused
	Problems       map[string]string
	Error          string
}

// ackDispatch finds the dispatch and document of the token. Unknown tokens
// are counted per client address; too many answer ERateLimited. A link
// older than Config.AckLinkTTL answers EGone.
func (s *Server) ackDispatch(ctx context.Context, r *http.Request, token string) (vanthu.Dispatch, vanthu.Document, error) {
	ip := clientIP(r)
	if wait := s.ackLimiter.blocked(ip); wait > 0 {
		return vanthu.Dispatch{}, vanthu.Document{}, vanthu.Errorf(vanthu.ERateLimited,
			"Quá nhiều lần mở liên kết không đúng. Vui lòng thử lại sau %d phút.", int(wait.Minutes())+1)
	}
	notFound := vanthu.Errorf(vanthu.ENotFound, "Liên kết xác nhận không đúng. Vui lòng mở lại liên kết trong thư điện tử đã nhận.")
	if token == "" || len(token) > maxAckToken {
		s.ackLimiter.fail(ip)
		return vanthu.Dispatch{}, vanthu.Document{}, notFound
	}
	d, err := s.store.DispatchByToken(ctx, HashSecret(token))
	if err != nil {
		if vanthu.ErrorCodeOf(err) == vanthu.ENotFound {
			s.ackLimiter.fail(ip)
			return d, vanthu.Document{}, &vanthu.Error{Code: vanthu.ENotFound, Message: notFound.Message, Err: err}
		}
		return d, vanthu.Document{}, fmt.Errorf("dispatch by token: %w", err)
	}
	if d.QueuedAt != nil && s.now().After(d.QueuedAt.Add(s.cfg.AckLinkTTL)) {
		return d, vanthu.Document{}, vanthu.Errorf(vanthu.EGone,
			"Liên kết xác nhận đã hết hạn (văn bản gửi ngày %s). Vui lòng liên hệ bộ phận văn thư Sở Nội vụ.", d.QueuedAt.In(vanthu.Location).Format("02/01/2006"))
	}
	if d.UnitName == "" {
		u, err := s.store.GetUnit(ctx, d.UnitID)
		if err != nil {
			return d, vanthu.Document{}, fmt.Errorf("get unit %d: %w", d.UnitID, err)
		}
		d.UnitCode, d.UnitName = u.Code, u.Name
	}
	doc, err := s.store.GetDocument(ctx, d.DocumentID)
	if err != nil {
		return d, doc, fmt.Errorf("get document %d: %w", d.DocumentID, err)
	}
	return d, doc, nil
}

// ackActor is the actor of events caused by a unit: its code.
func ackActor(d vanthu.Dispatch) string {
	if d.UnitCode != "" {
		return d.UnitCode
	}
	return "unit:" + strconv.FormatInt(d.UnitID, 10)
}

// renderAck answers the acknowledgement page, or its error in the same
// frame: a unit's staff should not land on a login link.
func (s *Server) renderAck(w http.ResponseWriter, r *http.Request, status int, p ackPage) error {
	w.Header().Set("X-Robots-Tag", "noindex, nofollow")
	w.Header().Set("Cache-Control", "no-store")
	return s.render(w, r, status, "ack", "Xác nhận đã nhận văn bản", p)
}

func (s *Server) ackFail(w http.ResponseWriter, r *http.Request, err error) error {
	code := vanthu.ErrorCodeOf(err)
	switch code {
	case vanthu.ENotFound, vanthu.EGone, vanthu.ERateLimited:
		s.logError(r, err)
		return s.renderAck(w, r, vanthu.HTTPStatus(code), ackPage{Error: vanthu.ErrorMessageOf(err)})
	}
	return err
}

// markRead records that the unit opened the page or the file. A failure
// here must not keep the unit from reading: it is logged, not shown.
func (s *Server) markRead(r *http.Request, d *vanthu.Dispatch, what string) {
	now := s.now()
	if _, err := s.store.ApplyMilestone(r.Context(), d.ID, vanthu.MilestoneRead, now, vanthu.SourceWeb, ackActor(*d), what+" from "+clientIP(r)); err != nil {
		s.log.ErrorContext(r.Context(), "apply read milestone", slog.Int64("dispatch_id", d.ID), slog.String("error", err.Error()))
		return
	}
	d.Apply(vanthu.MilestoneRead, now)
}

func newAckPage(token string, d vanthu.Dispatch, doc vanthu.Document) ackPage {
	return ackPage{
		Token: token, Doc: doc, UnitName: d.UnitName, UnitCode: d.UnitCode,
		Deadline: d.Deadline, AcknowledgedAt: d.AcknowledgedAt, Ack: d.Ack,
	}
}

func (s *Server) pageAck(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	d, doc, err := s.ackDispatch(r.Context(), r, token)
	if err != nil {
		return s.ackFail(w, r, err)
	}
	s.markRead(r, &d, "ack page")
	return s.renderAck(w, r, http.StatusOK, newAckPage(token, d, doc))
}

// acknowledge records the acknowledgement of d by ack and returns the
// dispatch as it stands afterwards: when the unit had confirmed before, the
// first confirmation (time and person) is what counts and is returned.
func (s *Server) acknowledge(r *http.Request, d vanthu.Dispatch, ack vanthu.Ack, source vanthu.EventSource, evidence string, detail map[string]any) (vanthu.Dispatch, bool, error) {
	now := s.now()
	applied, err := s.store.ApplyEvidence(r.Context(), vanthu.Evidence{
		DispatchID: d.ID, Milestone: vanthu.MilestoneAcknowledged, At: now, Source: source,
		Actor: ackActor(d), Ref: evidence, Ack: &ack, Detail: detail,
	})
	if err != nil {
		return d, false, fmt.Errorf("acknowledge dispatch %d: %w", d.ID, err)
	}
	if applied {
		s.log.InfoContext(r.Context(), "dispatch acknowledged", slog.Int64("dispatch_id", d.ID), slog.String("unit", ackActor(d)), slog.String("source", string(source)))
	}
	// Read back what stands: the stored times, and when the unit had
	// confirmed before (perhaps a moment ago by another request), the
	// first confirmation.
	again, err := s.store.DispatchByToken(r.Context(), HashSecret(r.PathValue("token")))
	if err != nil {
		return d, false, fmt.Errorf("reread dispatch %d: %w", d.ID, err)
	}
	again.UnitCode, again.UnitName = d.UnitCode, d.UnitName
	return again, applied, nil
}

func (s *Server) pageAckConfirm(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	d, doc, err := s.ackDispatch(r.Context(), r, token)
	if err != nil {
		return s.ackFail(w, r, err)
	}
	p := newAckPage(token, d, doc)
	if d.AcknowledgedAt != nil {
		// The first confirmation stands; the form is not read.
		return s.renderAck(w, r, http.StatusOK, p)
	}
	if err := r.ParseForm(); err != nil {
		return vanthu.Errorf(vanthu.EInvalid, "Không đọc được biểu mẫu.")
	}
	ack := vanthu.Ack{
		Name:     vntext.NFC(r.PostForm.Get("name")),
		Position: vntext.NFC(r.PostForm.Get("position")),
		Note:     vntext.NFC(r.PostForm.Get("note")),
	}
	if err := ack.Validate(true); err != nil {
		p.Form, p.Problems = ack, problemMap(err)
		return s.renderAck(w, r, http.StatusUnprocessableEntity, p)
	}
	d, applied, err := s.acknowledge(r, d, ack, vanthu.SourceWeb, "ack form from "+clientIP(r), nil)
	if err != nil {
		return err
	}
	p.AcknowledgedAt, p.Ack, p.JustAcked = d.AcknowledgedAt, d.Ack, applied
	return s.renderAck(w, r, http.StatusOK, p)
}

// problemMap turns the problems of an EInvalid error into field → message.
func problemMap(err error) map[string]string {
	m := map[string]string{}
	if e, ok := err.(*vanthu.Error); ok {
		for _, p := range e.Problems {
			if _, dup := m[p.Field]; !dup {
				m[p.Field] = p.Message
			}
		}
	}
	return m
}

func (s *Server) ackPDF(w http.ResponseWriter, r *http.Request) error {
	d, doc, err := s.ackDispatch(r.Context(), r, r.PathValue("token"))
	if err != nil {
		return s.ackFail(w, r, err)
	}
	a, data, err := s.artifact(r.Context(), doc.ID)
	if err != nil {
		return err
	}
	s.markRead(r, &d, "pdf download")
	return serveFile(w, a.ContentType, a.Name, true, data)
}

// apiAckRequest is the body of POST /api/v1/acks/{token}: a unit's own
// document system confirming on its own.
type apiAckRequest struct {
	// Status is "received", "read" or "acknowledged", or a code of the
	// national document exchange status ladder: 01 arrived, 02 refused,
	// 03 registered, 04 assigned, 05 in progress, 06 done.
	Status   string `json:"status"`
	Name     string `json:"name"`
	Position string `json:"position"`
	Note     string `json:"note"`
}

// apiAckResponse answers a machine acknowledgement with the dispatch's
// state after it.
type apiAckResponse struct {
	DispatchID     int64            `json:"dispatch_id"`
	Document       string           `json:"document"`
	Status         vanthu.Milestone `json:"status"`
	Applied        bool             `json:"applied"`
	SentAt         *time.Time       `json:"sent_at,omitempty"`
	ReadAt         *time.Time       `json:"read_at,omitempty"`
	AcknowledgedAt *time.Time       `json:"acknowledged_at,omitempty"`
	Ack            vanthu.Ack       `json:"ack"`
}

// ladderStep is what a status of the exchange ladder means here: the
// milestone it proves ("" for a fact recorded without moving the status)
// and the event recorded for it.
type ladderStep struct {
	milestone vanthu.Milestone
	action    string
	code      string
}

// ackLadder maps the statuses a unit's system may send. Arrival (01) proves
// delivery, which "sent" already records; registration (03) is the
// receipt Decree 30 asks a unit to confirm, and the later steps imply it.
var ackLadder = map[string]ladderStep{
	"received":     {"", "dispatch_arrived", "01"},
	"01":           {"", "dispatch_arrived", "01"},
	"02":           {"", "dispatch_refused", "02"},
	"refused":      {"", "dispatch_refused", "02"},
	"read":         {vanthu.MilestoneRead, "", ""},
	"acknowledged": {vanthu.MilestoneAcknowledged, "", "03"},
	"03":           {vanthu.MilestoneAcknowledged, "", "03"},
	"04":           {vanthu.MilestoneAcknowledged, "", "04"},
	"05":           {vanthu.MilestoneAcknowledged, "", "05"},
	"06":           {vanthu.MilestoneAcknowledged, "", "06"},
}

func (s *Server) apiAck(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	var req apiAckRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	step, ok := ackLadder[strings.ToLower(strings.TrimSpace(req.Status))]
	if !ok {
		return vanthu.Invalid("Trạng thái không hợp lệ.", vanthu.Problem{Field: "status",
			Message: "Trạng thái phải là received, read, acknowledged hoặc mã 01–06 (01 đã đến, 02 từ chối, 03 đã vào sổ, 04 đã giao xử lý, 05 đang xử lý, 06 đã hoàn thành)."})
	}
	ack := vanthu.Ack{Name: vntext.NFC(req.Name), Position: vntext.NFC(req.Position), Note: vntext.NFC(req.Note)}
	if err := ack.Validate(false); err != nil {
		return err
	}
	d, doc, err := s.ackDispatch(r.Context(), r, token)
	if err != nil {
		return err
	}
	evidence := "api from " + clientIP(r)
	detail := map[string]any{}
	if step.code != "" {
		detail["ladder"] = step.code
	}
	applied := false
	switch step.milestone {
	case "":
		if ack.Name != "" || ack.Note != "" {
			detail["name"], detail["position"], detail["note"] = ack.Name, ack.Position, ack.Note
		}
		if _, err := s.store.ApplyEvidence(r.Context(), vanthu.Evidence{
			DispatchID: d.ID, Action: step.action, At: s.now(), Source: vanthu.SourceAPI,
			Actor: ackActor(d), Ref: evidence, Detail: detail,
		}); err != nil {
			return fmt.Errorf("record %s of dispatch %d: %w", step.action, d.ID, err)
		}
	case vanthu.MilestoneAcknowledged:
		d, applied, err = s.acknowledge(r, d, ack, vanthu.SourceAPI, evidence, detail)
		if err != nil {
			return err
		}
	default:
		now := s.now()
		if applied, err = s.store.ApplyMilestone(r.Context(), d.ID, step.milestone, now, vanthu.SourceAPI, ackActor(d), evidence); err != nil {
			return fmt.Errorf("apply %s to dispatch %d: %w", step.milestone, d.ID, err)
		}
		d.Apply(step.milestone, now)
	}
	s.writeJSON(w, r, http.StatusOK, apiAckResponse{
		DispatchID: d.ID, Document: doc.Symbol, Status: d.Status(), Applied: applied,
		SentAt: d.SentAt, ReadAt: d.ReadAt, AcknowledgedAt: d.AcknowledgedAt, Ack: d.Ack,
	})
	return nil
}
