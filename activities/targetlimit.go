package activities

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/affrelay/affrelay/store"
)

// TargetLimits bound what one worker process sends to one receiver (a postback endpoint or webhook
// subscription): at most RatePerSecond attempts a second and MaxInFlight at once. Live traffic, retries and
// re-fires all pass through them, so a receiver that hangs holds MaxInFlight connections, not hundreds, and
// one that recovers is not flooded. These are the defaults; a receiver may have its own (store.TargetLimits).
// They are per worker process: N workers allow N times as much.
type TargetLimits struct {
	RatePerSecond float64
	MaxInFlight   int
}

// Default per-target limits (delivery.target_max_rps, delivery.target_max_in_flight).
const (
	DefaultTargetRatePerSecond = 200
	DefaultTargetMaxInFlight   = 50
)

// maxThrottleWait caps how long a scheduled attempt waits for its target's limit inside the activity.
const maxThrottleWait = 30 * time.Second

// targetGate is one target's rate limiter and in-flight slots, made with limits.
type targetGate struct {
	limits TargetLimits
	rate   *rate.Limiter
	slots  chan struct{}
}

// targetGates holds a gate per target, made on first use.
type targetGates struct {
	mu       sync.Mutex
	defaults TargetLimits
	gates    map[string]*targetGate
}

// gate returns the target's gate under its own limits (0: the defaults). A changed rate applies at once; a
// changed in-flight limit gives the target new slots, so attempts already in flight finish under the old one.
func (g *targetGates) gate(targetID string, own store.TargetLimits) *targetGate {
	l := g.defaults
	if own.MaxRPS > 0 {
		l.RatePerSecond = own.MaxRPS
	}
	if own.MaxInFlight > 0 {
		l.MaxInFlight = own.MaxInFlight
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.gates[targetID]
	burst := max(1, int(l.RatePerSecond))
	switch {
	case !ok:
		t = &targetGate{limits: l, rate: rate.NewLimiter(rate.Limit(l.RatePerSecond), burst), slots: make(chan struct{}, max(1, l.MaxInFlight))}
		g.gates[targetID] = t
	case t.limits != l:
		next := &targetGate{limits: l, rate: t.rate, slots: t.slots}
		if l.RatePerSecond != t.limits.RatePerSecond {
			next.rate.SetLimit(rate.Limit(l.RatePerSecond))
			next.rate.SetBurst(burst)
		}
		if l.MaxInFlight != t.limits.MaxInFlight {
			next.slots = make(chan struct{}, max(1, l.MaxInFlight))
		}
		t = next
		g.gates[targetID] = t
	}
	return t
}

// acquire takes an in-flight slot and a rate token for the target under its own limits, waiting at most wait
// (0: only if free now). ok false means the target is at its limit; otherwise release gives the slot back.
func (g *targetGates) acquire(ctx context.Context, targetID string, own store.TargetLimits, wait time.Duration) (release func(), ok bool) {
	t := g.gate(targetID, own)
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	select {
	case t.slots <- struct{}{}:
	default:
		if wait <= 0 {
			return nil, false
		}
		select {
		case t.slots <- struct{}{}:
		case <-wctx.Done():
			return nil, false
		}
	}
	slots := t.slots
	release = func() { <-slots }
	if wait <= 0 && !t.rate.Allow() || wait > 0 && t.rate.Wait(wctx) != nil {
		release()
		return nil, false
	}
	return release, true
}

// gates returns the activities' per-target gates, made on first use with a.Limits (defaults when unset).
func (a *Activities) targetGates() *targetGates {
	a.gatesOnce.Do(func() {
		l := a.Limits
		if l.RatePerSecond <= 0 {
			l.RatePerSecond = DefaultTargetRatePerSecond
		}
		if l.MaxInFlight <= 0 {
			l.MaxInFlight = DefaultTargetMaxInFlight
		}
		a.gates = &targetGates{defaults: l, gates: map[string]*targetGate{}}
	})
	return a.gates
}

// throttleWait is how long a scheduled attempt may wait for its target's limit: what its activity's deadline
// leaves after the request's own timeout and time to store the attempt, at most maxThrottleWait.
func (a *Activities) throttleWait(ctx context.Context) time.Duration {
	deadline, ok := ctx.Deadline()
	if !ok {
		return maxThrottleWait
	}
	left := time.Until(deadline) - a.HTTP.Timeout - 5*time.Second
	return min(max(left, 0), maxThrottleWait)
}
