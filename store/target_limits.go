package store

import (
	"errors"
	"fmt"

	"github.com/affrelay/affrelay/apperr"
)

// Bounds of a receiver's own limits.
const (
	MaxTargetRPS      = 10000
	MaxTargetInFlight = 1000
)

// Validate names the limit out of range.
func (l TargetLimits) Validate() error {
	return errors.Join(
		apperr.Field("max_rps", boundsError(l.MaxRPS < 0 || l.MaxRPS > MaxTargetRPS, fmt.Sprintf("must be from 0 (the default) to %d attempts a second", MaxTargetRPS))),
		apperr.Field("max_in_flight", boundsError(l.MaxInFlight < 0 || l.MaxInFlight > MaxTargetInFlight, fmt.Sprintf("must be from 0 (the default) to %d", MaxTargetInFlight))),
	)
}

func boundsError(out bool, msg string) error {
	if out {
		return errors.New(msg)
	}
	return nil
}

// With returns the limits with those set changed.
func (l TargetLimits) With(maxRPS *float64, maxInFlight *int) TargetLimits {
	if maxRPS != nil {
		l.MaxRPS = *maxRPS
	}
	if maxInFlight != nil {
		l.MaxInFlight = *maxInFlight
	}
	return l
}
