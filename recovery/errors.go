package recovery

import (
	"errors"
	"fmt"
)

// Sentinel errors of the domain. HTTP maps them to status codes in one place
// (package server); other callers match them with errors.Is.
var (
	ErrInvalid      = errors.New("invalid input")          // 400
	ErrUnauthorized = errors.New("unauthorized")           // 401
	ErrForbidden    = errors.New("forbidden")              // 403: from another site
	ErrNotFound     = errors.New("not found")              // 404
	ErrTooLarge     = errors.New("request body too large") // 413
	ErrIgnored      = errors.New("ignored")                // 202 {"status":"ignored"}
)

// FieldError is an ErrInvalid naming the offending field.
type FieldError struct {
	Field string // JSON path, e.g. "cart.items[0].price"
	Msg   string // e.g. "is required", "must be a decimal string"
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Msg) }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Invalid returns a FieldError for field.
func Invalid(field, msg string) error { return &FieldError{Field: field, Msg: msg} }

// Clip shortens an outside value quoted in an error or a log line to n
// bytes (and an ellipsis).
func Clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
