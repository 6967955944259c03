package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/sonoivu/vanthu"
)

// Outgoing webhooks, for admins: the endpoints of the province's other
// systems that are told of every dispatch milestone, the delivery log, and
// a replay of one delivery.

// WebhookStore keeps the webhooks and their delivery log (satisfied by
// *store.Store). CreateWebhook validates (EInvalid names url, secret or
// description) and generates the secret when none is given.
type WebhookStore interface {
	CreateWebhook(ctx context.Context, w *vanthu.Webhook, actor string) error
	GetWebhook(ctx context.Context, id int64) (vanthu.Webhook, error)
	ListWebhooks(ctx context.Context) ([]vanthu.Webhook, error)
	SetWebhookActive(ctx context.Context, id int64, active bool, actor string) error
	// ListDeliveries returns a webhook's log (0: every webhook's), newest first.
	ListDeliveries(ctx context.Context, webhookID int64, limit int) ([]vanthu.WebhookDelivery, error)
	// ReplayDelivery makes a delivery due again; EConflict if its webhook
	// is inactive.
	ReplayDelivery(ctx context.Context, id int64, actor string) (vanthu.WebhookDelivery, error)
}

// pageDeliveries is how many deliveries the admin page shows.
const pageDeliveries = 50

// webhooks returns the configured WebhookStore or an EUnavailable error.
func (s *Server) webhooks() (WebhookStore, error) {
	if s.cfg.Webhooks == nil {
		return nil, vanthu.Errorf(vanthu.EUnavailable, "Chức năng webhook chưa được cấu hình.")
	}
	return s.cfg.Webhooks, nil
}

func (s *Server) apiListWebhooks(w http.ResponseWriter, r *http.Request) error {
	ws, err := s.webhooks()
	if err != nil {
		return err
	}
	list, err := ws.ListWebhooks(r.Context())
	if err != nil {
		return fmt.Errorf("list webhooks: %w", err)
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"webhooks": list})
	return nil
}

// webhookInput is what a client sets on a new webhook.
type webhookInput struct {
	URL         string `json:"url"`
	Secret      string `json:"secret"` // "" to have one generated
	Description string `json:"description"`
}

// createWebhook stores in, made by the current user.
func (s *Server) createWebhook(r *http.Request, in webhookInput) (vanthu.Webhook, error) {
	ws, err := s.webhooks()
	if err != nil {
		return vanthu.Webhook{}, err
	}
	me, _ := userFrom(r.Context())
	wh := vanthu.Webhook{URL: in.URL, Secret: in.Secret, Description: in.Description}
	if err := ws.CreateWebhook(r.Context(), &wh, me.Username); err != nil {
		return wh, fmt.Errorf("create webhook: %w", err)
	}
	return wh, nil
}

// apiCreateWebhook answers the new webhook with its secret, the only time
// the secret is shown.
func (s *Server) apiCreateWebhook(w http.ResponseWriter, r *http.Request) error {
	var in webhookInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	wh, err := s.createWebhook(r, in)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusCreated, wh)
	return nil
}

func (s *Server) deactivateWebhook(r *http.Request) (vanthu.Webhook, error) {
	ws, err := s.webhooks()
	if err != nil {
		return vanthu.Webhook{}, err
	}
	id, err := pathID(r)
	if err != nil {
		return vanthu.Webhook{}, err
	}
	me, _ := userFrom(r.Context())
	if err := ws.SetWebhookActive(r.Context(), id, false, me.Username); err != nil {
		return vanthu.Webhook{}, fmt.Errorf("deactivate webhook %d: %w", id, err)
	}
	wh, err := ws.GetWebhook(r.Context(), id)
	if err != nil {
		return wh, fmt.Errorf("get webhook %d: %w", id, err)
	}
	return wh, nil
}

func (s *Server) apiDeactivateWebhook(w http.ResponseWriter, r *http.Request) error {
	wh, err := s.deactivateWebhook(r)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wh)
	return nil
}

func (s *Server) apiListDeliveries(w http.ResponseWriter, r *http.Request) error {
	ws, err := s.webhooks()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return vanthu.Invalid("Tham số không hợp lệ.", vanthu.Problem{Field: "limit", Message: "Giới hạn phải là số từ 1 đến 1000."})
		}
		limit = n
	}
	ds, err := ws.ListDeliveries(r.Context(), id, limit)
	if err != nil {
		return fmt.Errorf("list deliveries of webhook %d: %w", id, err)
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"deliveries": ds})
	return nil
}

// replayDelivery makes a delivery due again and asks a worker to send it
// now. If the queue cannot take it, the delivery is still due: the
// worker's sweep sends it once Redis is back, so the replay stands.
func (s *Server) replayDelivery(r *http.Request) (vanthu.WebhookDelivery, error) {
	ws, err := s.webhooks()
	if err != nil {
		return vanthu.WebhookDelivery{}, err
	}
	id, err := pathID(r)
	if err != nil {
		return vanthu.WebhookDelivery{}, err
	}
	me, _ := userFrom(r.Context())
	d, err := ws.ReplayDelivery(r.Context(), id, me.Username)
	if err != nil {
		return d, fmt.Errorf("replay webhook delivery %d: %w", id, err)
	}
	if err := s.jobs.EnqueueWebhookDelivery(r.Context(), id); err != nil {
		s.log.WarnContext(r.Context(), "webhook replay not enqueued; the sweep will send it",
			slog.Int64("delivery_id", id), slog.String("error", err.Error()))
	}
	return d, nil
}

func (s *Server) apiReplayDelivery(w http.ResponseWriter, r *http.Request) error {
	d, err := s.replayDelivery(r)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusAccepted, d)
	return nil
}

// webhooksPage is the data of the admin page.
type webhooksPage struct {
	Webhooks   []vanthu.Webhook
	Deliveries []deliveryRow
	Filter     *vanthu.Webhook // the webhook whose log is shown; nil: all
	Form       webhookInput    // kept after a refused creation, secret excepted
	Created    *vanthu.Webhook // just created: its secret is shown once
	Error      string
	Problems   []vanthu.Problem
	Notice     string
}

// deliveryRow is one line of the delivery log, labelled for people.
type deliveryRow struct {
	vanthu.WebhookDelivery
	URL        string
	StateLabel string
	Milestone  string
	CanReplay  bool // its webhook is active
}

// deliveryStateLabel says in Vietnamese where a delivery stands.
func deliveryStateLabel(d vanthu.WebhookDelivery) string {
	switch {
	case d.State == vanthu.DeliveryDelivered:
		return "Đã gửi được"
	case d.State == vanthu.DeliveryGaveUp:
		return "Đã dừng gửi"
	case d.Attempts > 0:
		return "Đang thử lại"
	}
	return "Chờ gửi"
}

// webhooksPage gathers the page: every webhook, and the latest deliveries
// of the one named by ?webhook= or of all.
func (s *Server) webhooksPage(r *http.Request) (webhooksPage, error) {
	var p webhooksPage
	ws, err := s.webhooks()
	if err != nil {
		return p, err
	}
	if p.Webhooks, err = ws.ListWebhooks(r.Context()); err != nil {
		return p, fmt.Errorf("list webhooks: %w", err)
	}
	byID := map[int64]vanthu.Webhook{}
	for _, wh := range p.Webhooks {
		byID[wh.ID] = wh
	}
	var filter int64
	if v := r.URL.Query().Get("webhook"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		wh, ok := byID[id]
		if err != nil || !ok {
			return p, vanthu.Errorf(vanthu.ENotFound, "Không tìm thấy webhook.")
		}
		p.Filter, filter = &wh, id
	}
	ds, err := ws.ListDeliveries(r.Context(), filter, pageDeliveries)
	if err != nil {
		return p, fmt.Errorf("list webhook deliveries: %w", err)
	}
	for _, d := range ds {
		wh := byID[d.WebhookID]
		p.Deliveries = append(p.Deliveries, deliveryRow{
			WebhookDelivery: d, URL: wh.URL, StateLabel: deliveryStateLabel(d), CanReplay: wh.Active,
			Milestone: vanthu.Milestone(strings.TrimPrefix(d.Event.Action, "dispatch_")).Label(),
		})
	}
	return p, nil
}

const webhooksTitle = "Webhook gửi tới hệ thống khác"

func (s *Server) pageWebhooks(w http.ResponseWriter, r *http.Request) error {
	p, err := s.webhooksPage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	switch {
	case q.Get("replayed") != "":
		p.Notice = "Đã đưa lượt gửi vào hàng đợi để gửi lại."
	case q.Get("deactivated") != "":
		p.Notice = "Đã ngừng gửi tới webhook."
	}
	return s.render(w, r, http.StatusOK, "webhooks", webhooksTitle, p)
}

// pageCreateWebhook shows the page again rather than redirecting: the
// generated secret is shown this once, and must not travel in a URL.
func (s *Server) pageCreateWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return bodyError(err)
	}
	in := webhookInput{URL: r.PostForm.Get("url"), Secret: r.PostForm.Get("secret"), Description: r.PostForm.Get("description")}
	wh, cerr := s.createWebhook(r, in)
	status := http.StatusOK
	switch code := vanthu.ErrorCodeOf(cerr); code {
	case "":
	case vanthu.EInvalid:
		status = vanthu.HTTPStatus(code)
	default:
		return cerr
	}
	p, err := s.webhooksPage(r)
	if err != nil {
		return err
	}
	if cerr != nil {
		in.Secret = ""
		p.Form, p.Error, p.Problems = in, vanthu.ErrorMessageOf(cerr), vanthu.ProblemsOf(cerr)
	} else {
		p.Created = &wh
	}
	return s.render(w, r, status, "webhooks", webhooksTitle, p)
}

func (s *Server) pageDeactivateWebhook(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.deactivateWebhook(r); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/webhooks?deactivated=1", http.StatusSeeOther)
	return nil
}

func (s *Server) pageReplayDelivery(w http.ResponseWriter, r *http.Request) error {
	d, err := s.replayDelivery(r)
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/webhooks?replayed=%d#delivery-%d", d.ID, d.ID), http.StatusSeeOther)
	return nil
}
