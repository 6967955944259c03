package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/vntext"
)

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err := w.Write([]byte("ok\n"))
	return err
}

// handleReadyz checks the database and Redis in parallel, each within 2 s,
// and names what failed; the detail goes to the log only.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) error {
	checks := map[string]func(context.Context) error{"store": s.store.Ping, "queue": s.jobs.Ping}
	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		result = map[string]string{}
		failed []string
	)
	for name, ping := range checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			err := ping(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				s.log.WarnContext(r.Context(), "readiness check failed", slog.String("check", name), slog.String("error", err.Error()))
				result[name] = "unavailable"
				failed = append(failed, name)
				return
			}
			result[name] = "ok"
		})
	}
	wg.Wait()
	if len(failed) > 0 {
		s.writeJSON(w, r, http.StatusServiceUnavailable, map[string]any{
			"status": "unavailable", "checks": result,
			"error": errorDetail{Code: vanthu.EUnavailable, Message: "Dịch vụ chưa sẵn sàng: không kết nối được " + strings.Join(failed, ", ") + "."},
		})
		return nil
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"status": "ok", "checks": result})
	return nil
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request) error {
	u, _ := userFrom(r.Context())
	s.writeJSON(w, r, http.StatusOK, userView(u))
	return nil
}

// userJSON is a user as the API shows it, with the role label for UIs.
type userJSON struct {
	vanthu.User
	RoleLabel string `json:"role_label"`
}

func userView(u vanthu.User) userJSON { return userJSON{User: u, RoleLabel: u.Role.Label()} }

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, vanthu.Errorf(vanthu.ENotFound, "Không tìm thấy: mã số %q không hợp lệ.", r.PathValue("id"))
	}
	return id, nil
}

// unitFilter reads the listing query shared by the API and the page.
func unitFilter(r *http.Request) (vanthu.UnitFilter, error) {
	q := r.URL.Query()
	f := vanthu.UnitFilter{Group: vanthu.UnitGroup(strings.TrimSpace(q.Get("group"))), Query: vntext.Clean(q.Get("q"))}
	if f.Group != "" && !f.Group.Valid() {
		return f, vanthu.Invalid("Bộ lọc không hợp lệ.", vanthu.Problem{Field: "group", Message: "Nhóm đơn vị không hợp lệ (so-nganh, xa-phuong, su-nghiep, khac)."})
	}
	switch a := q.Get("active"); a {
	case "", "false", "0":
	case "true", "1":
		f.ActiveOnly = true
	default:
		return f, vanthu.Invalid("Bộ lọc không hợp lệ.", vanthu.Problem{Field: "active", Message: "Giá trị phải là true hoặc false."})
	}
	return f, nil
}

func (s *Server) apiListUnits(w http.ResponseWriter, r *http.Request) error {
	f, err := unitFilter(r)
	if err != nil {
		return err
	}
	units, err := s.store.ListUnits(r.Context(), f)
	if err != nil {
		return fmt.Errorf("list units: %w", err)
	}
	if units == nil {
		units = []vanthu.Unit{}
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"units": units, "count": len(units)})
	return nil
}

func (s *Server) apiGetUnit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	u, err := s.store.GetUnit(r.Context(), id)
	if err != nil {
		return fmt.Errorf("get unit %d: %w", id, err)
	}
	s.writeJSON(w, r, http.StatusOK, u)
	return nil
}

// unitInput is what a client may set on a unit; ids and timestamps belong to
// the server, so they are unknown fields here.
type unitInput struct {
	Code       string           `json:"code"`
	Name       string           `json:"name"`
	Emails     []string         `json:"emails"`
	ParentCode string           `json:"parent_code"`
	Group      vanthu.UnitGroup `json:"group"`
	Order      int              `json:"order"`
	Active     *bool            `json:"active"`
}

// unit normalises the input to NFC (a unit name typed on a Mac arrives
// decomposed) and validates it.
func (in unitInput) unit() (vanthu.Unit, error) {
	u := vanthu.Unit{
		Code:       vntext.NFC(in.Code),
		Name:       vntext.Clean(in.Name),
		ParentCode: vntext.NFC(in.ParentCode),
		Group:      vanthu.UnitGroup(vntext.NFC(string(in.Group))),
		Order:      in.Order,
		Active:     in.Active == nil || *in.Active,
	}
	for _, e := range in.Emails {
		u.Emails = append(u.Emails, vntext.NFC(e))
	}
	return u, u.Validate()
}

func (s *Server) apiCreateUnit(w http.ResponseWriter, r *http.Request) error {
	var in unitInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	u, err := in.unit()
	if err != nil {
		return err
	}
	me, _ := userFrom(r.Context())
	if err := s.store.CreateUnit(r.Context(), &u, me.Username); err != nil {
		return fmt.Errorf("create unit %s: %w", u.Code, err)
	}
	w.Header().Set("Location", "/api/v1/units/"+strconv.FormatInt(u.ID, 10))
	s.writeJSON(w, r, http.StatusCreated, u)
	return nil
}

func (s *Server) apiUpdateUnit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in unitInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	u, err := in.unit()
	if err != nil {
		return err
	}
	u.ID = id
	me, _ := userFrom(r.Context())
	if err := s.store.UpdateUnit(r.Context(), &u, me.Username); err != nil {
		return fmt.Errorf("update unit %d: %w", id, err)
	}
	got, err := s.store.GetUnit(r.Context(), id)
	if err != nil {
		return fmt.Errorf("get unit %d: %w", id, err)
	}
	s.writeJSON(w, r, http.StatusOK, got)
	return nil
}

func (s *Server) apiSetUnitActive(active bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		me, _ := userFrom(r.Context())
		if err := s.store.SetUnitActive(r.Context(), id, active, me.Username); err != nil {
			return fmt.Errorf("set unit %d active=%v: %w", id, active, err)
		}
		u, err := s.store.GetUnit(r.Context(), id)
		if err != nil {
			return fmt.Errorf("get unit %d: %w", id, err)
		}
		s.writeJSON(w, r, http.StatusOK, u)
		return nil
	}
}

func (s *Server) apiImportUnits(w http.ResponseWriter, r *http.Request) error {
	data, name, ctype, err := uploadedFile(r)
	if err != nil {
		return err
	}
	dry := r.URL.Query().Get("dry_run") == "true" || r.URL.Query().Get("dry_run") == "1"
	me, _ := userFrom(r.Context())
	res, err := s.importUnits(r.Context(), data, name, ctype, dry, me.Username)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, res)
	return nil
}

func (s *Server) apiListUsers(w http.ResponseWriter, r *http.Request) error {
	users, err := s.store.ListUsers(r.Context())
	if err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	out := make([]userJSON, len(users))
	for i, u := range users {
		out[i] = userView(u)
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"users": out})
	return nil
}

func (s *Server) apiCreateUser(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Username string      `json:"username"`
		FullName string      `json:"full_name"`
		Role     vanthu.Role `json:"role"`
		Password string      `json:"password"`
		Active   *bool       `json:"active"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	u := vanthu.User{Username: vntext.NFC(in.Username), FullName: vntext.Clean(in.FullName), Role: in.Role, Active: in.Active == nil || *in.Active}
	err := u.Validate()
	ps := vanthu.ProblemsOf(err)
	if p := vanthu.CheckPassword(in.Password); p != nil {
		ps = append(ps, *p)
	}
	if len(ps) > 0 {
		return vanthu.Invalid("Thông tin người dùng không hợp lệ.", ps...)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(in.Password), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	u.PasswordHash = string(h)
	me, _ := userFrom(r.Context())
	if err := s.store.CreateUser(r.Context(), &u, me.Username); err != nil {
		return fmt.Errorf("create user %s: %w", u.Username, err)
	}
	s.writeJSON(w, r, http.StatusCreated, userView(u))
	return nil
}

func (s *Server) apiListTokens(w http.ResponseWriter, r *http.Request) error {
	me, _ := userFrom(r.Context())
	toks, err := s.store.ListTokens(r.Context(), me.ID, vanthu.TokenAPI)
	if err != nil {
		return fmt.Errorf("list tokens: %w", err)
	}
	if toks == nil {
		toks = []vanthu.Token{}
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"tokens": toks})
	return nil
}

func (s *Server) apiCreateToken(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name          string `json:"name"`
		ExpiresInDays int    `json:"expires_in_days"` // 0: never
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	in.Name = vntext.Clean(in.Name)
	var ps []vanthu.Problem
	if in.Name == "" {
		ps = append(ps, vanthu.Problem{Field: "name", Message: "Tên mã truy cập không được để trống."})
	} else if len([]rune(in.Name)) > 100 {
		ps = append(ps, vanthu.Problem{Field: "name", Message: "Tên mã truy cập dài quá 100 ký tự."})
	}
	if in.ExpiresInDays < 0 || in.ExpiresInDays > 3650 {
		ps = append(ps, vanthu.Problem{Field: "expires_in_days", Message: "Số ngày hiệu lực phải từ 0 (không hết hạn) đến 3650."})
	}
	if len(ps) > 0 {
		return vanthu.Invalid("Thông tin mã truy cập không hợp lệ.", ps...)
	}
	secret, err := NewSecret()
	if err != nil {
		return err
	}
	me, _ := userFrom(r.Context())
	t := vanthu.Token{UserID: me.ID, Kind: vanthu.TokenAPI, Name: in.Name, Hash: HashSecret(secret)}
	if in.ExpiresInDays > 0 {
		exp := s.now().AddDate(0, 0, in.ExpiresInDays)
		t.ExpiresAt = &exp
	}
	if err := s.store.CreateToken(r.Context(), &t); err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	// The secret is shown once; only its hash is kept.
	s.writeJSON(w, r, http.StatusCreated, map[string]any{"token": t, "secret": secret})
	return nil
}

func (s *Server) apiDeleteToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	me, _ := userFrom(r.Context())
	if err := s.store.DeleteTokenByID(r.Context(), me.ID, id); err != nil {
		return fmt.Errorf("delete token %d: %w", id, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiListEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	subject := strings.TrimSpace(q.Get("subject"))
	limit := 100
	var ps []vanthu.Problem
	if subject == "" {
		ps = append(ps, vanthu.Problem{Field: "subject", Message: "Cần chỉ rõ đối tượng, ví dụ unit:12."})
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			ps = append(ps, vanthu.Problem{Field: "limit", Message: "Giới hạn phải là số từ 1 đến 1000."})
		}
		limit = n
	}
	if len(ps) > 0 {
		return vanthu.Invalid("Tham số không hợp lệ.", ps...)
	}
	evs, err := s.store.ListEvents(r.Context(), subject, limit)
	if err != nil {
		return fmt.Errorf("list events %s: %w", subject, err)
	}
	if evs == nil {
		evs = []vanthu.Event{}
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"events": evs})
	return nil
}

func (s *Server) apiTestMail(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		To string `json:"to"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	to := strings.ToLower(strings.TrimSpace(in.To))
	if a, err := mail.ParseAddress(to); err != nil || a.Address != to {
		return vanthu.Invalid("Địa chỉ nhận không hợp lệ.", vanthu.Problem{Field: "to", Message: "Địa chỉ thư điện tử không hợp lệ."})
	}
	me, _ := userFrom(r.Context())
	id, err := s.jobs.EnqueueTestMail(r.Context(), to, me.Username)
	if err != nil {
		return fmt.Errorf("enqueue test mail: %w", err)
	}
	s.writeJSON(w, r, http.StatusAccepted, map[string]any{"task_id": id})
	return nil
}
