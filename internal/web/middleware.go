package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"

	"github.com/sonoivu/vanthu"
)

type ctxKey int

const (
	keyInfo ctxKey = iota
	keyUser
)

// reqInfo is filled in as a request goes down the chain, so that the outer
// log line can name the route and the user the inner layers found.
type reqInfo struct {
	route string
	user  string
}

// statusWriter records the status written, for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer (flushing for
// the queue monitor, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// outer is the first layer: recover, then log and measure.
func (s *Server) outer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		info := &reqInfo{}
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), keyInfo, info))
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "http handler panic",
					slog.String("method", r.Method), slog.String("path", r.URL.Path),
					slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
				if sw.status == 0 {
					err := fmt.Errorf("panic: %v", v)
					if isAPIPath(r.URL.Path) {
						s.writeError(sw, r, err)
					} else {
						s.renderError(sw, r, err)
					}
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			route := info.route
			if route == "" {
				route = "unmatched" // keep metric labels bounded
			}
			d := s.now().Sub(start)
			s.log.InfoContext(r.Context(), "http request",
				slog.String("method", r.Method), slog.String("route", route),
				slog.Int("status", status), slog.Int64("duration_ms", d.Milliseconds()),
				slog.String("user", info.user))
			if s.cfg.ObserveRequest != nil {
				s.cfg.ObserveRequest(r.Method, route, status, d)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// wrap builds the per-route chain: body limit → auth → role check → handler.
func (s *Server) wrap(rt Route) http.Handler {
	label := rt.Pattern
	if rt.Method != "" {
		label = rt.Method + " " + rt.Pattern
	}
	limit := s.cfg.MaxBodyBytes
	if rt.upload {
		limit = s.cfg.MaxUploadBytes
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info, ok := r.Context().Value(keyInfo).(*reqInfo); ok {
			info.route = label
		}
		if rt.page {
			setPageHeaders(w)
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		fail := func(err error) {
			if rt.Auth == AuthAPI || (rt.Auth == AuthNone && isAPIPath(rt.Pattern)) {
				s.writeError(w, r, err)
			} else {
				s.renderError(w, r, err)
			}
		}
		if rt.Auth != AuthNone {
			u, err := s.authenticate(r, rt.Auth)
			if err != nil {
				if rt.Auth == AuthSession && vanthu.ErrorCodeOf(err) == vanthu.EUnauthorized {
					http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
				fail(err)
				return
			}
			if info, ok := r.Context().Value(keyInfo).(*reqInfo); ok {
				info.user = u.Username
			}
			if !u.Role.Allowed(rt.Roles...) {
				fail(vanthu.Errorf(vanthu.EForbidden, "Bạn không có quyền thực hiện thao tác này."))
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), keyUser, u))
		}
		if err := rt.handler(w, r); err != nil {
			fail(err)
		}
	})
}

// setPageHeaders sets the security headers of HTML pages. Everything comes
// from this origin; nothing may frame the pages.
func setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
}

// userFrom returns the authenticated user of the request.
func userFrom(ctx context.Context) (vanthu.User, bool) {
	u, ok := ctx.Value(keyUser).(vanthu.User)
	return u, ok
}

// bodyError turns a body read failure into the domain error: an oversized
// body is 413, anything else a bad request.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &vanthu.Error{Code: vanthu.ETooLarge, Message: fmt.Sprintf("Nội dung gửi lên vượt quá giới hạn %s.", humanBytes(mbe.Limit)), Err: err}
	}
	return &vanthu.Error{Code: vanthu.EInvalid, Message: "Không đọc được nội dung gửi lên.", Err: err}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d byte", n)
}
