package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/sonoivu/vanthu"
)

// The acknowledgement pages are public: units do not log in. The token in
// the link is the credential; it is looked up by its SHA-256, as API
// secrets are, so the database holds no working link.

// maxAckToken bounds the token in the path: anything longer is not one of
// ours and is refused without a database round trip.
const maxAckToken = 200

// ackPage is the data of the acknowledgement page.
type ackPage struct {
	Token          string
	Doc            vanthu.Document
	UnitName       string
	UnitCode       string
	Deadline       *time.Time
	AcknowledgedAt *time.Time
	JustAcked      bool // this request acknowledged it
	Error          string
}

// ackDispatch finds the dispatch and document of the token in the path.
func (s *Server) ackDispatch(ctx context.Context, token string) (vanthu.Dispatch, vanthu.Document, error) {
	notFound := vanthu.Errorf(vanthu.ENotFound, "Liên kết xác nhận không đúng. Vui lòng mở lại liên kết trong thư điện tử đã nhận.")
	if token == "" || len(token) > maxAckToken {
		return vanthu.Dispatch{}, vanthu.Document{}, notFound
	}
	d, err := s.store.DispatchByToken(ctx, HashSecret(token))
	if err != nil {
		if vanthu.ErrorCodeOf(err) == vanthu.ENotFound {
			return d, vanthu.Document{}, &vanthu.Error{Code: vanthu.ENotFound, Message: notFound.Message, Err: err}
		}
		return d, vanthu.Document{}, fmt.Errorf("dispatch by token: %w", err)
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
	return s.render(w, r, status, "ack", "Xác nhận đã nhận văn bản", p)
}

func (s *Server) ackFail(w http.ResponseWriter, r *http.Request, err error) error {
	code := vanthu.ErrorCodeOf(err)
	switch code {
	case vanthu.ENotFound, vanthu.EGone:
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

func (s *Server) pageAck(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	d, doc, err := s.ackDispatch(r.Context(), token)
	if err != nil {
		return s.ackFail(w, r, err)
	}
	s.markRead(r, &d, "ack page")
	return s.renderAck(w, r, http.StatusOK, ackPage{
		Token: token, Doc: doc, UnitName: d.UnitName, UnitCode: d.UnitCode,
		Deadline: d.Deadline, AcknowledgedAt: d.AcknowledgedAt,
	})
}

func (s *Server) pageAckConfirm(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	d, doc, err := s.ackDispatch(r.Context(), token)
	if err != nil {
		return s.ackFail(w, r, err)
	}
	p := ackPage{Token: token, Doc: doc, UnitName: d.UnitName, UnitCode: d.UnitCode, Deadline: d.Deadline}
	now := s.now()
	applied, err := s.store.ApplyMilestone(r.Context(), d.ID, vanthu.MilestoneAcknowledged, now, vanthu.SourceWeb, ackActor(d), "ack form from "+clientIP(r))
	if err != nil {
		return fmt.Errorf("acknowledge dispatch %d: %w", d.ID, err)
	}
	if applied {
		p.JustAcked, p.AcknowledgedAt = true, &now
		s.log.InfoContext(r.Context(), "dispatch acknowledged", slog.Int64("dispatch_id", d.ID), slog.String("unit", ackActor(d)))
	} else {
		p.AcknowledgedAt = d.AcknowledgedAt
		if p.AcknowledgedAt == nil {
			// Acknowledged between our read and the update: read it again.
			if again, err := s.store.DispatchByToken(r.Context(), HashSecret(token)); err == nil {
				p.AcknowledgedAt = again.AcknowledgedAt
			}
		}
	}
	return s.renderAck(w, r, http.StatusOK, p)
}

func (s *Server) ackPDF(w http.ResponseWriter, r *http.Request) error {
	d, doc, err := s.ackDispatch(r.Context(), r.PathValue("token"))
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
