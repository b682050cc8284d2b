package activities

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/store"
)

func TestTargetGatesLimitInFlightPerTarget(t *testing.T) {
	g := &targetGates{defaults: TargetLimits{RatePerSecond: 1000, MaxInFlight: 2}, gates: map[string]*targetGate{}}
	ctx := context.Background()
	r1, ok := g.acquire(ctx, "pbe_slow", store.TargetLimits{}, 0)
	require.True(t, ok)
	_, ok = g.acquire(ctx, "pbe_slow", store.TargetLimits{}, 0)
	require.True(t, ok)
	_, ok = g.acquire(ctx, "pbe_slow", store.TargetLimits{}, 0)
	require.False(t, ok, "a third at once is refused without waiting")
	_, ok = g.acquire(ctx, "pbe_slow", store.TargetLimits{}, 20*time.Millisecond)
	require.False(t, ok, "and after waiting its budget")
	_, ok = g.acquire(ctx, "pbe_healthy", store.TargetLimits{}, 0)
	require.True(t, ok, "another target is not held up")
	go func() { time.Sleep(10 * time.Millisecond); r1() }()
	_, ok = g.acquire(ctx, "pbe_slow", store.TargetLimits{}, time.Minute)
	require.True(t, ok, "a released slot is taken by a waiting attempt")
}

func TestTargetGatesLimitRate(t *testing.T) {
	g := &targetGates{defaults: TargetLimits{RatePerSecond: 2, MaxInFlight: 100}, gates: map[string]*targetGate{}}
	ctx := context.Background()
	for range 2 { // the burst is the rate
		release, ok := g.acquire(ctx, "whs_a", store.TargetLimits{}, 0)
		require.True(t, ok)
		release()
	}
	_, ok := g.acquire(ctx, "whs_a", store.TargetLimits{}, 0)
	require.False(t, ok, "over the rate, without waiting")
	_, ok = g.acquire(ctx, "whs_a", store.TargetLimits{}, 2*time.Second)
	require.True(t, ok, "a token comes within half a second")
}

func TestTargetGatesHonourATargetsOwnLimits(t *testing.T) {
	g := &targetGates{defaults: TargetLimits{RatePerSecond: 1000, MaxInFlight: 50}, gates: map[string]*targetGate{}}
	ctx := context.Background()
	own := store.TargetLimits{MaxInFlight: 2}
	r1, ok := g.acquire(ctx, "pbe_low", own, 0)
	require.True(t, ok)
	_, ok = g.acquire(ctx, "pbe_low", own, 0)
	require.True(t, ok)
	_, ok = g.acquire(ctx, "pbe_low", own, 0)
	require.False(t, ok, "a third at once is over the target's own limit of 2")
	for range 3 {
		_, ok = g.acquire(ctx, "pbe_default", store.TargetLimits{}, 0)
		require.True(t, ok, "a target without its own limits has the default of 50")
	}

	raised := store.TargetLimits{MaxInFlight: 3}
	_, ok = g.acquire(ctx, "pbe_low", raised, 0)
	require.True(t, ok, "a raised limit gives new slots at once")
	r1() // an attempt taken under the old limit gives its slot back to the old slots
	_, ok = g.acquire(ctx, "pbe_low", raised, 0)
	require.True(t, ok)
	_, ok = g.acquire(ctx, "pbe_low", raised, 0)
	require.True(t, ok)
	_, ok = g.acquire(ctx, "pbe_low", raised, 0)
	require.False(t, ok, "the fourth is over the new limit of 3")

	slow := store.TargetLimits{MaxRPS: 1, MaxInFlight: 100}
	release, ok := g.acquire(ctx, "whs_slow", slow, 0)
	require.True(t, ok)
	release()
	_, ok = g.acquire(ctx, "whs_slow", slow, 0)
	require.False(t, ok, "over the target's own rate of 1 a second")
}
