package eventplan

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSecretExpiringDue(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	maxAge, warning := SecretMaxAge(0, 90*day), 14*day
	end := SecretEnd(created, nil, maxAge)
	require.Equal(t, created.Add(90*day), end)
	for _, tc := range []struct {
		ageDays int
		// due for a secret that stops at its end, and for one that goes on past it
		dueStops, dueGoesOn bool
	}{{0, false, false}, {75, false, false}, {76, true, true}, {77, true, true}, {89, true, true}, {90, false, true}, {200, false, true}} {
		now := created.Add(time.Duration(tc.ageDays) * day)
		require.Equal(t, tc.dueStops, SecretExpiringDue(end, now, warning, true), "stops, age %d days", tc.ageDays)
		require.Equal(t, tc.dueGoesOn, SecretExpiringDue(end, now, warning, false), "goes on, age %d days", tc.ageDays)
		require.Equal(t, tc.ageDays, SecretAgeDays(created, now.Add(time.Hour)))
	}
	// An owner's own maximum age, and an explicit expiry, come first.
	require.Equal(t, 30*day, SecretMaxAge(30, 90*day))
	expires := created.Add(10 * day)
	require.Equal(t, expires, SecretEnd(created, &expires, maxAge))
}
