// Package apperr holds the errors the application services return and the HTTP layer maps to status codes:
// a leaf package, so services, store helpers and handlers agree on them without importing one another.
package apperr

import (
	"errors"
	"fmt"
)

// Sentinels, matched with errors.Is; wrap them with the details (NotFound, Conflict).
var (
	// ErrNotFound: the named thing does not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request contradicts the current state (409).
	ErrConflict = errors.New("conflict")
	// ErrUnauthorized: no valid credentials (401).
	ErrUnauthorized = errors.New("unauthorized")
)

// NotFound says what was looked for and not found.
func NotFound(what string) error { return fmt.Errorf("%w: %s", ErrNotFound, what) }

// Conflict says why the request contradicts the current state.
func Conflict(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConflict, fmt.Sprintf(format, args...))
}

// FieldError is input a service refused: the HTTP layer answers 400 naming the field.
type FieldError struct {
	Field, Message string
}

func (e *FieldError) Error() string { return e.Field + " " + e.Message }

// Field returns a FieldError for field carrying err's text, or nil when err is nil.
func Field(field string, err error) error {
	if err == nil {
		return nil
	}
	return &FieldError{Field: field, Message: err.Error()}
}

// Invalid returns a FieldError for field.
func Invalid(field, message string) error { return &FieldError{Field: field, Message: message} }
