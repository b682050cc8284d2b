package server

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestClientLimiters(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newClientLimiters(1, 2)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	for range 2 {
		_, ok := l.allow(a, now)
		require.True(t, ok)
	}
	wait, ok := l.allow(a, now)
	require.False(t, ok, "the burst is spent")
	require.Equal(t, time.Second, wait)
	_, ok = l.allow(netip.MustParseAddr("::ffff:192.0.2.1"), now)
	require.False(t, ok, "an IPv4-mapped address is the same client")
	_, ok = l.allow(b, now)
	require.True(t, ok, "another address has its own bucket")
	_, ok = l.allow(a, now.Add(time.Second))
	require.True(t, ok, "the bucket refills")

	// One IPv6 /64 is one client: rotating the low bits does not buy more requests.
	for i := range 3 {
		_, ok := l.allow(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)}), now)
		require.Equal(t, i < 2, ok, i)
	}
}

// The limiter's memory is bounded: past maxIdleClients, refilled buckets are dropped, busy ones kept.
func TestClientLimitersForgetIdleClients(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newClientLimiters(1, 1)
	busy := netip.MustParseAddr("198.51.100.7")
	_, ok := l.allow(busy, now.Add(time.Hour))
	require.True(t, ok)
	for i := range maxIdleClients {
		l.allow(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), now)
	}
	_, ok = l.allow(netip.MustParseAddr("203.0.113.1"), now.Add(time.Hour))
	require.True(t, ok)
	require.Len(t, l.by, 2, "the refilled buckets were dropped")
	_, ok = l.allow(busy, now.Add(time.Hour))
	require.False(t, ok, "a spent bucket is kept")
}
