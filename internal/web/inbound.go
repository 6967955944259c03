package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/sonoivu/vanthu"
)

// The office mailbox's record, for the clerk: every message the watcher
// read, and above all the ones it could not match to a dispatch (a unit
// answering from another address, a forwarded receipt), which nobody must
// miss.

// inboundPage is the data of the mail list page.
type inboundPage struct {
	All     bool // every message, not only those to review
	Mail    []vanthu.InboundMail
	CanEdit bool
	Notice  string
}

// inboundView is the data of one message's page.
type inboundView struct {
	Mail    vanthu.InboundMail
	Source  string // the message source as text, for reading
	Cut     bool   // the source kept is cut at the size limit
	CanEdit bool
}

func inboundFilter(r *http.Request) (vanthu.InboundFilter, error) {
	q := r.URL.Query()
	f := vanthu.InboundFilter{Review: q.Get("all") == "" && q.Get("dispatch_id") == ""}
	if v := q.Get("review"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, vanthu.Invalid("Tham số không hợp lệ.", vanthu.Problem{Field: "review", Message: "review phải là true hoặc false."})
		}
		f.Review = b
	}
	if v := q.Get("dispatch_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return f, vanthu.Invalid("Tham số không hợp lệ.", vanthu.Problem{Field: "dispatch_id", Message: "dispatch_id phải là một mã số."})
		}
		f.DispatchID = id
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return f, vanthu.Invalid("Tham số không hợp lệ.", vanthu.Problem{Field: "limit", Message: "Giới hạn phải là số từ 1 đến 1000."})
		}
		f.Limit = n
	}
	return f, nil
}

func (s *Server) apiListInbound(w http.ResponseWriter, r *http.Request) error {
	f, err := inboundFilter(r)
	if err != nil {
		return err
	}
	ms, err := s.store.ListInbound(r.Context(), f)
	if err != nil {
		return fmt.Errorf("list inbound mail: %w", err)
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"mail": ms})
	return nil
}

func (s *Server) inbound(r *http.Request) (vanthu.InboundMail, error) {
	id, err := pathID(r)
	if err != nil {
		return vanthu.InboundMail{}, err
	}
	m, err := s.store.GetInbound(r.Context(), id)
	if err != nil {
		return m, fmt.Errorf("get inbound mail %d: %w", id, err)
	}
	return m, nil
}

func (s *Server) apiGetInbound(w http.ResponseWriter, r *http.Request) error {
	m, err := s.inbound(r)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, m)
	return nil
}

// apiInboundRaw serves the message source as message/rfc822, as a
// download: it is untrusted mail and must not render in the browser.
func (s *Server) apiInboundRaw(w http.ResponseWriter, r *http.Request) error {
	m, err := s.inbound(r)
	if err != nil {
		return err
	}
	return serveFile(w, "message/rfc822", fmt.Sprintf("thu-%d.eml", m.ID), true, m.Raw)
}

func (s *Server) markReviewed(r *http.Request) (int64, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, err
	}
	me, _ := userFrom(r.Context())
	if err := s.store.MarkInboundReviewed(r.Context(), id, me.Username); err != nil {
		return id, fmt.Errorf("mark inbound mail %d reviewed: %w", id, err)
	}
	return id, nil
}

func (s *Server) apiInboundReviewed(w http.ResponseWriter, r *http.Request) error {
	id, err := s.markReviewed(r)
	if err != nil {
		return err
	}
	m, err := s.store.GetInbound(r.Context(), id)
	if err != nil {
		return fmt.Errorf("get inbound mail %d: %w", id, err)
	}
	s.writeJSON(w, r, http.StatusOK, m)
	return nil
}

func (s *Server) pageInbound(w http.ResponseWriter, r *http.Request) error {
	me, _ := userFrom(r.Context())
	f, err := inboundFilter(r)
	if err != nil {
		return err
	}
	ms, err := s.store.ListInbound(r.Context(), f)
	if err != nil {
		return fmt.Errorf("list inbound mail: %w", err)
	}
	p := inboundPage{All: !f.Review, Mail: ms, CanEdit: me.Role.Allowed(editors...)}
	if r.URL.Query().Get("reviewed") != "" {
		p.Notice = "Đã đánh dấu thư là đã xem."
	}
	return s.render(w, r, http.StatusOK, "inbound", "Thư đến hộp thư văn thư", p)
}

func (s *Server) pageInboundView(w http.ResponseWriter, r *http.Request) error {
	me, _ := userFrom(r.Context())
	m, err := s.inbound(r)
	if err != nil {
		return err
	}
	src := strings.ToValidUTF8(string(m.Raw), "\uFFFD")
	return s.render(w, r, http.StatusOK, "inbound_view", "Thư đến", inboundView{
		Mail: m, Source: src, Cut: len(m.Raw) >= vanthu.MaxInboundRaw, CanEdit: me.Role.Allowed(editors...),
	})
}

func (s *Server) pageInboundReviewed(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.markReviewed(r); err != nil {
		return err
	}
	http.Redirect(w, r, "/inbound?reviewed=1", http.StatusSeeOther)
	return nil
}

// inboundKindLabel names a message kind for the clerk.
func inboundKindLabel(kind string) string {
	switch kind {
	case vanthu.InboundKindMDN:
		return "Thư báo đã đọc"
	case vanthu.InboundKindDSN:
		return "Thư báo lỗi gửi"
	case vanthu.InboundKindReply:
		return "Thư trả lời"
	case vanthu.InboundKindMalformed:
		return "Thư lỗi định dạng"
	}
	return "Thư khác"
}

// inboundOutcomeLabel says what was done with a message.
func inboundOutcomeLabel(outcome string) string {
	switch outcome {
	case vanthu.InboundApplied:
		return "Đã cập nhật trạng thái"
	case vanthu.InboundRecorded:
		return "Đã ghi nhận"
	case vanthu.InboundDuplicate:
		return "Trùng thư đã xử lý"
	case vanthu.InboundUnmatched:
		return "Chưa khớp văn bản nào"
	case vanthu.InboundMalformed:
		return "Không đọc được"
	}
	return outcome
}
