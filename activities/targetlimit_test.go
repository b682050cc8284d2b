package activities

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTargetGatesLimitInFlightPerTarget(t *testing.T) {
	g := &targetGates{limits: TargetLimits{RatePerSecond: 1000, MaxInFlight: 2}, gates: map[string]*targetGate{}}
	ctx := context.Background()
	r1, ok := g.acquire(ctx, "pbe_slow", 0)
	require.True(t, ok)
	_, ok = g.acquire(ctx, "pbe_slow", 0)
	require.True(t, ok)
	_, ok = g.acquire(ctx, "pbe_slow", 0)
	require.False(t, ok, "a third at once is refused without waiting")
	_, ok = g.acquire(ctx, "pbe_slow", 20*time.Millisecond)
	require.False(t, ok, "and after waiting its budget")
	_, ok = g.acquire(ctx, "pbe_healthy", 0)
	require.True(t, ok, "another target is not held up")
	go func() { time.Sleep(10 * time.Millisecond); r1() }()
	_, ok = g.acquire(ctx, "pbe_slow", time.Minute)
	require.True(t, ok, "a released slot is taken by a waiting attempt")
}

func TestTargetGatesLimitRate(t *testing.T) {
	g := &targetGates{limits: TargetLimits{RatePerSecond: 2, MaxInFlight: 100}, gates: map[string]*targetGate{}}
	ctx := context.Background()
	for range 2 { // the burst is the rate
		release, ok := g.acquire(ctx, "whs_a", 0)
		require.True(t, ok)
		release()
	}
	_, ok := g.acquire(ctx, "whs_a", 0)
	require.False(t, ok, "over the rate, without waiting")
	_, ok = g.acquire(ctx, "whs_a", 2*time.Second)
	require.True(t, ok, "a token comes within half a second")
}
