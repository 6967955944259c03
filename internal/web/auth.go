package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sonoivu/vanthu"
)

// SessionCookie is the name of the login session cookie.
const SessionCookie = "vanthu_session"

// HashSecret returns the SHA-256 of a session or API secret, the form in
// which it is stored: a leaked database then holds no working credential.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// NewSecret returns 32 random bytes, base64url-encoded without padding.
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// authenticate finds the user of the request. API routes take a bearer token
// first and fall back to the session cookie; pages take only the cookie.
func (s *Server) authenticate(r *http.Request, kind AuthKind) (vanthu.User, error) {
	unauth := vanthu.Errorf(vanthu.EUnauthorized, "Bạn cần đăng nhập.")
	if kind == AuthAPI {
		if h := r.Header.Get("Authorization"); h != "" {
			scheme, secret, ok := strings.Cut(h, " ")
			secret = strings.TrimSpace(secret)
			if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
				return vanthu.User{}, vanthu.Errorf(vanthu.EUnauthorized, "Tiêu đề Authorization phải có dạng \"Bearer <mã>\".")
			}
			u, _, err := s.store.UserByToken(r.Context(), vanthu.TokenAPI, HashSecret(secret))
			if err != nil {
				return vanthu.User{}, authErr(err, "Mã truy cập không hợp lệ hoặc đã hết hạn.")
			}
			return u, nil
		}
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return vanthu.User{}, unauth
	}
	u, _, err := s.store.UserByToken(r.Context(), vanthu.TokenSession, HashSecret(c.Value))
	if err != nil {
		return vanthu.User{}, authErr(err, "Phiên đăng nhập đã hết hạn, vui lòng đăng nhập lại.")
	}
	return u, nil
}

// authErr keeps a store failure a store failure (500/503) and turns every
// "no such credential" answer into 401.
func authErr(err error, msg string) error {
	switch vanthu.ErrorCodeOf(err) {
	case vanthu.EUnauthorized, vanthu.ENotFound, vanthu.EGone:
		return &vanthu.Error{Code: vanthu.EUnauthorized, Message: msg, Err: err}
	}
	return fmt.Errorf("authenticate: %w", err)
}

type loginPage struct {
	Next     string
	Username string
	Error    string
}

func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) error {
	if u, err := s.authenticate(r, AuthSession); err == nil && u.ID != 0 {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return nil
	}
	return s.render(w, r, http.StatusOK, "login", "Đăng nhập", loginPage{Next: safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return bodyError(err)
	}
	username := strings.ToLower(strings.TrimSpace(r.PostForm.Get("username")))
	password := r.PostForm.Get("password")
	next := safeNext(r.PostForm.Get("next"))
	page := loginPage{Next: next, Username: username}
	key := username + "|" + clientIP(r)
	if wait := s.limiter.blocked(key); wait > 0 {
		page.Error = fmt.Sprintf("Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau %d phút.", int(wait.Minutes())+1)
		w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())+1))
		return s.render(w, r, http.StatusTooManyRequests, "login", "Đăng nhập", page)
	}
	u, err := s.store.GetUserByUsername(r.Context(), username)
	hash := s.dummyHash()
	found := err == nil
	if found {
		hash = []byte(u.PasswordHash)
	} else if vanthu.ErrorCodeOf(err) != vanthu.ENotFound {
		return fmt.Errorf("login: %w", err)
	}
	// Always run bcrypt, so that the answer time does not reveal whether
	// the username exists.
	cmpErr := bcrypt.CompareHashAndPassword(hash, []byte(password))
	if !found || cmpErr != nil || !u.Active || username == "" {
		s.limiter.fail(key)
		s.log.InfoContext(r.Context(), "login failed", slog.String("username", username), slog.String("ip", clientIP(r)))
		page.Error = "Tên đăng nhập hoặc mật khẩu không đúng."
		return s.render(w, r, http.StatusUnauthorized, "login", "Đăng nhập", page)
	}
	s.limiter.reset(key)
	secret, err := NewSecret()
	if err != nil {
		return err
	}
	exp := s.now().Add(s.cfg.SessionTTL)
	tok := vanthu.Token{UserID: u.ID, Kind: vanthu.TokenSession, Name: "Đăng nhập web", Hash: HashSecret(secret), ExpiresAt: &exp}
	if err := s.store.CreateToken(r.Context(), &tok); err != nil {
		return fmt.Errorf("login: create session: %w", err)
	}
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookie,
		Value:    secret,
		Path:     "/",
		MaxAge:   int(s.cfg.SessionTTL.Seconds()),
		HttpOnly: true,
		Secure:   s.cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode,
	})
	s.log.InfoContext(r.Context(), "login", slog.String("user", u.Username))
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		if err := s.store.DeleteToken(r.Context(), vanthu.TokenSession, HashSecret(c.Value)); err != nil && vanthu.ErrorCodeOf(err) != vanthu.ENotFound {
			return fmt.Errorf("logout: %w", err)
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// safeNext keeps only same-site relative paths, so that the login form
// cannot be used to send a user to another site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n\t\\") {
		return "/units"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/units"
	}
	return next
}

// clientIP is the peer address. X-Forwarded-For is not trusted: the
// service does not know which proxies are in front of it.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// loginLimiter counts failed logins per username and address. It is kept in
// memory, so each web process counts on its own and a restart forgets; that
// still turns an online guessing attack from fast into slow. A shared
// counter in Redis would be the next step when several processes serve.
type loginLimiter struct {
	mu     sync.Mutex
	now    func() time.Time
	max    int
	window time.Duration
	m      map[string]*attempts
}

type attempts struct {
	n       int
	first   time.Time
	blocked time.Time // zero unless blocked until then
}

func newLoginLimiter(now func() time.Time, max int, window time.Duration) *loginLimiter {
	return &loginLimiter{now: now, max: max, window: window, m: map[string]*attempts{}}
}

// blocked returns how long key must still wait, or 0.
func (l *loginLimiter) blocked(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.m[key]
	if a == nil {
		return 0
	}
	if d := a.blocked.Sub(l.now()); d > 0 {
		return d
	}
	return 0
}

func (l *loginLimiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.gc(now)
	a := l.m[key]
	if a == nil || now.Sub(a.first) > l.window {
		a = &attempts{first: now}
		l.m[key] = a
	}
	a.n++
	if a.n >= l.max {
		a.blocked = now.Add(l.window)
	}
}

func (l *loginLimiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, key)
}

// gc drops stale entries so the map cannot grow without bound.
func (l *loginLimiter) gc(now time.Time) {
	if len(l.m) < 10000 {
		return
	}
	for k, a := range l.m {
		if now.Sub(a.first) > l.window && now.After(a.blocked) {
			delete(l.m, k)
		}
	}
}
