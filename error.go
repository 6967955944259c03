package vanthu

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrorCode classifies an error once, so that the HTTP layer and the task
// queue both know what to do with it: which status to answer and whether a
// task should be retried.
type ErrorCode string

// Error codes. Their string values are part of the JSON API.
const (
	EInvalid      ErrorCode = "invalid"      // bad input: 422, never retried
	ENotFound     ErrorCode = "not_found"    // 404, never retried
	EConflict     ErrorCode = "conflict"     // 409, never retried
	EUnauthorized ErrorCode = "unauthorized" // no or bad credentials: 401
	EForbidden    ErrorCode = "forbidden"    // authenticated, wrong role: 403
	EGone         ErrorCode = "gone"         // expired link: 410
	ETooLarge     ErrorCode = "too_large"    // request body over the limit: 413
	ERateLimited  ErrorCode = "rate_limited" // 429, retried later
	EUnavailable  ErrorCode = "unavailable"  // a dependency is down: 503, retried
	EInternal     ErrorCode = "internal"     // a bug or unknown failure: 500, retried
	EPermanent    ErrorCode = "permanent"    // a remote peer refused for good (SMTP 5xx): 502, never retried
)

// Problem is one rejected item inside an invalid request: a field of a form,
// or a line of an imported file.
type Problem struct {
	Line    int    `json:"line,omitempty"`  // 1-based line (row) in an imported file
	Field   string `json:"field,omitempty"` // JSON name of the field
	Message string `json:"message"`         // Vietnamese, for the user
}

// Error is the domain error. Message is written for the user (Vietnamese);
// Err keeps the cause for logs.
type Error struct {
	Code     ErrorCode
	Message  string
	Problems []Problem
	Err      error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Code))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for _, p := range e.Problems {
		b.WriteString("; ")
		if p.Line > 0 {
			fmt.Fprintf(&b, "line %d: ", p.Line)
		}
		if p.Field != "" {
			b.WriteString(p.Field)
			b.WriteString(": ")
		}
		b.WriteString(p.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted user message.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EInvalid error carrying the problems found.
func Invalid(message string, problems ...Problem) *Error {
	return &Error{Code: EInvalid, Message: message, Problems: problems}
}

// ErrorCodeOf returns the code of the first *Error in err's chain, or
// EInternal for any other non-nil error.
func ErrorCodeOf(err error) ErrorCode {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessageOf returns the user message of err's *Error, or a generic
// Vietnamese message that reveals nothing of an internal failure.
func ErrorMessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "Lỗi hệ thống, vui lòng thử lại sau."
}

// ProblemsOf returns the problems attached to err's *Error, if any.
func ProblemsOf(err error) []Problem {
	var e *Error
	if errors.As(err, &e) {
		return e.Problems
	}
	return nil
}

// HTTPStatus maps a code to the HTTP status the API answers with.
func HTTPStatus(code ErrorCode) int {
	switch code {
	case EInvalid:
		return http.StatusUnprocessableEntity
	case ENotFound:
		return http.StatusNotFound
	case EConflict:
		return http.StatusConflict
	case EUnauthorized:
		return http.StatusUnauthorized
	case EForbidden:
		return http.StatusForbidden
	case EGone:
		return http.StatusGone
	case ETooLarge:
		return http.StatusRequestEntityTooLarge
	case ERateLimited:
		return http.StatusTooManyRequests
	case EUnavailable:
		return http.StatusServiceUnavailable
	case EPermanent:
		return http.StatusBadGateway
	default:
		return http.StatusInternalServerError
	}
}

// Retryable reports whether a task that failed with this code should be
// tried again. Bad input, missing rows and permanent refusals will fail the
// same way every time, so retrying them only delays the error.
func Retryable(code ErrorCode) bool {
	switch code {
	case EInvalid, ENotFound, EConflict, EUnauthorized, EForbidden, EGone, ETooLarge, EPermanent:
		return false
	default:
		return true
	}
}
