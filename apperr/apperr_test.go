package apperr

import (
	"errors"
	"testing"
)

func TestErrorsSayWhatTheyMean(t *testing.T) {
	for _, tc := range []struct {
		err      error
		sentinel error
		text     string
	}{
		{NotFound("affiliate aff_1"), ErrNotFound, "not found: affiliate aff_1"},
		{Conflict("delivery %s is %s", "dlv_1", "delivered"), ErrConflict, "conflict: delivery dlv_1 is delivered"},
	} {
		if !errors.Is(tc.err, tc.sentinel) || tc.err.Error() != tc.text {
			t.Errorf("%v: want %q matching %v", tc.err, tc.text, tc.sentinel)
		}
	}
	var fe *FieldError
	if err := Field("url", errors.New("is not https")); !errors.As(err, &fe) || fe.Field != "url" || err.Error() != "url is not https" {
		t.Errorf("Field: %v", err)
	}
	if Field("url", nil) != nil {
		t.Error("Field of nil is not nil")
	}
	if err := Invalid("events", "must name at least one event"); !errors.As(err, &fe) || fe.Message != "must name at least one event" {
		t.Errorf("Invalid: %v", err)
	}
}
