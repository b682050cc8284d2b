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
		due     bool
	}{{0, false}, {75, false}, {76, true}, {77, true}, {89, true}, {90, false}, {200, false}} {
		now := created.Add(time.Duration(tc.ageDays) * day)
		require.Equal(t, tc.due, SecretExpiringDue(end, now, warning), "age %d days", tc.ageDays)
		require.Equal(t, tc.ageDays, SecretAgeDays(created, now.Add(time.Hour)))
	}
	// An owner's own maximum age, and an explicit expiry, come first.
	require.Equal(t, 30*day, SecretMaxAge(30, 90*day))
	expires := created.Add(10 * day)
	require.Equal(t, expires, SecretEnd(created, &expires, maxAge))
}
