// Package apierr defines the typed error every roam API answers with: an AWS
// error code, an HTTP status and a message that is safe to show the caller.
//
// Packages that implement API semantics (internal/anywhere, internal/sts,
// internal/iam) return *Error values; the HTTP edges (internal/api,
// internal/gateway) encode them in the wire format of the protocol being
// served (restJson1 or awsQuery). Any other error reaching an edge is an
// internal error: it is logged with the request id and answered with a
// generic 500.
package apierr

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an API error with an AWS error code.
type Error struct {
	// Code is the AWS error code, e.g. "AccessDeniedException".
	Code string
	// Status is the HTTP status code, e.g. 403.
	Status int
	// Message is shown to the caller. It must not contain secrets.
	Message string
	// Cause, if set, is logged by the edge but never shown to the caller.
	Cause error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// WithCause returns a copy of e that records cause for the logs.
func (e *Error) WithCause(cause error) *Error {
	c := *e
	c.Cause = cause
	return &c
}

// New returns an Error with the given code, status and message.
func New(code string, status int, format string, args ...any) *Error {
	return &Error{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

// Common constructors for the Roles Anywhere (restJson1) error codes.

// Validation is a 400 ValidationException.
func Validation(format string, args ...any) *Error {
	return New("ValidationException", http.StatusBadRequest, format, args...)
}

// AccessDenied is a 403 AccessDeniedException.
func AccessDenied(format string, args ...any) *Error {
	return New("AccessDeniedException", http.StatusForbidden, format, args...)
}

// NotFound is a 404 ResourceNotFoundException.
func NotFound(format string, args ...any) *Error {
	return New("ResourceNotFoundException", http.StatusNotFound, format, args...)
}

// As reports whether err is or wraps an *Error and returns it.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}
