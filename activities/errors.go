package activities

import (
	"errors"

	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"

	"github.com/affrelay/affrelay/apperr"
)

// Error types the workflows tell apart. A missing row or a disabled target does not get better by retrying,
// so these are non-retryable: the workflow sees them at once and decides (needs_review, a waiting state).
const (
	// ErrTypeNotFound: a row the activity was asked about does not exist.
	ErrTypeNotFound = "NotFound"
	// ErrTypeFXRateMissing: an event cannot be converted to the plan's currency until an admin adds the rate.
	ErrTypeFXRateMissing = "FXRateMissing"
	// ErrTypeNotRecorded: a status change arrived for an event whose conversion is still being recorded.
	ErrTypeNotRecorded = "NotRecorded"
)

// notFound turns a missing row (gorm's, or the store's apperr.ErrNotFound) into a non-retryable
// ErrTypeNotFound naming it; other errors pass through (a database that is down is worth retrying).
func notFound(err error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) || errors.Is(err, apperr.ErrNotFound) {
		return temporal.NewNonRetryableApplicationError(what+" not found", ErrTypeNotFound, err)
	}
	return err
}
