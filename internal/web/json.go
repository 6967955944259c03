package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/sonoivu/vanthu"
)

// errorBody is the JSON shape of every API error.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code     vanthu.ErrorCode `json:"code"`
	Message  string           `json:"message"`
	Problems []vanthu.Problem `json:"problems,omitempty"`
}

func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	if err := enc.Encode(v); err != nil {
		s.log.WarnContext(r.Context(), "write json response", slog.String("error", err.Error()))
	}
}

// writeError answers err as JSON. Internal failures are logged with their
// detail; the caller only sees the generic message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := s.logError(r, err)
	if code == vanthu.EUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vanthu"`)
	}
	s.writeJSON(w, r, vanthu.HTTPStatus(code), errorBody{Error: errorDetail{
		Code:     code,
		Message:  vanthu.ErrorMessageOf(err),
		Problems: vanthu.ProblemsOf(err),
	}})
}

// logError logs err at a level fitting its code and returns the code.
func (s *Server) logError(r *http.Request, err error) vanthu.ErrorCode {
	code := vanthu.ErrorCodeOf(err)
	switch code {
	case vanthu.EInternal, vanthu.EUnavailable, vanthu.EPermanent:
		s.log.ErrorContext(r.Context(), "request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("code", string(code)), slog.String("error", err.Error()))
	default:
		s.log.DebugContext(r.Context(), "request rejected",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("code", string(code)), slog.String("error", err.Error()))
	}
	return code
}

// decodeJSON reads one JSON object into v. Unknown fields are rejected so
// that a misspelt field is reported instead of silently ignored.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return jsonError(err)
		}
		return vanthu.Invalid("Nội dung JSON chỉ được chứa một đối tượng.")
	}
	return nil
}

func jsonError(err error) error {
	var (
		mbe    *http.MaxBytesError
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return bodyError(err)
	case errors.Is(err, io.EOF):
		return &vanthu.Error{Code: vanthu.EInvalid, Message: "Thiếu nội dung JSON.", Err: err}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &vanthu.Error{Code: vanthu.EInvalid, Message: "Nội dung JSON bị cắt cụt.", Err: err}
	case errors.As(err, &syntax):
		return &vanthu.Error{Code: vanthu.EInvalid, Message: fmt.Sprintf("JSON sai cú pháp tại vị trí %d.", syntax.Offset), Err: err}
	case errors.As(err, &typ):
		return &vanthu.Error{Code: vanthu.EInvalid, Message: "Nội dung JSON không hợp lệ.", Err: err,
			Problems: []vanthu.Problem{{Field: typ.Field, Message: fmt.Sprintf("Kiểu dữ liệu sai: cần %s.", typ.Type)}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for this; the message format is
		// stable ("json: unknown field \"x\"").
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &vanthu.Error{Code: vanthu.EInvalid, Message: "Nội dung JSON có trường không được hỗ trợ.", Err: err,
			Problems: []vanthu.Problem{{Field: field, Message: "Trường không được hỗ trợ."}}}
	}
	return &vanthu.Error{Code: vanthu.EInvalid, Message: "Nội dung JSON không hợp lệ.", Err: err}
}
