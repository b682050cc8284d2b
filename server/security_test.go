package server

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestKeyLimiters(t *testing.T) {
	var l keyLimiters
	now := time.Unix(1700000000, 0)
	for i := 0; i < 3; i++ {
		_, ok := l.allow("key_a", 2, 3, now)
		require.True(t, ok, "burst token %d", i+1)
	}
	wait, ok := l.allow("key_a", 2, 3, now)
	require.False(t, ok, "the bucket is empty")
	require.Equal(t, 500*time.Millisecond, wait, "one token comes back after 1/rps")
	_, ok = l.allow("key_b", 2, 3, now)
	require.True(t, ok, "another key has its own bucket")

	_, ok = l.allow("key_a", 2, 3, now.Add(500*time.Millisecond))
	require.True(t, ok, "refilled")
	_, ok = l.allow("key_a", 2, 3, now.Add(500*time.Millisecond))
	require.False(t, ok, "refused requests took no token, accepted ones did")

	// New settings apply to the existing bucket.
	_, ok = l.allow("key_a", 1000, 3, now.Add(510*time.Millisecond))
	require.False(t, ok, "the new rate applies from now on, not to the past")
	_, ok = l.allow("key_a", 1000, 3, now.Add(512*time.Millisecond))
	require.True(t, ok, "a higher rate refills faster")
	_, ok = l.allow("key_b", 0.1, 1, now)
	require.True(t, ok, "key_b had 2 tokens left; the burst shrunk to 1 keeps 1")
	wait, ok = l.allow("key_b", 0.1, 1, now)
	require.False(t, ok, "and no more")
	require.Greater(t, wait, time.Second)
}
