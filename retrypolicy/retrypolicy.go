// Package retrypolicy decides when an outbound delivery (a postback to an
// affiliate's tracker or a webhook to a subscriber) is retried, and how the
// result of one delivery attempt is classified.
//
// A delivery is retried as a series of attempts. After attempt n fails with
// a retryable verdict, the next attempt waits Policy.NextDelay(n, verdict).
// A series ends after Policy.MaxAttempts attempts, or when the next attempt
// would start more than Policy.Window after the first one started.
package retrypolicy

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

const (
	// maxSteps bounds a schedule so a typo in configuration cannot create a
	// huge table.
	maxSteps = 100
	// maxAttemptsLimit is the largest allowed Policy.MaxAttempts.
	maxAttemptsLimit = 1000
)

// Policy is a retry schedule for one series of delivery attempts.
type Policy struct {
	Schedule      []time.Duration // delay after the 1st, 2nd, ... failed attempt; the last one repeats
	MaxAttempts   int             // total attempts in one series, including the first
	Window        time.Duration   // a series never lasts longer than this (24h default)
	MaxRetryAfter time.Duration   // clamp for a receiver's Retry-After (default 1h)
	// AttemptTimeout bounds one attempt's request (delivery.timeout, default 10s). An attempt's activity is
	// given this plus the time to store it; one that runs longer was lost with its worker and is retried.
	// 0 in workflow inputs recorded before it existed.
	AttemptTimeout time.Duration `json:",omitempty"`
}

// DefaultPolicy returns the default policy: delays of 30s, 2m, 10m and then
// 1h between attempts, at most 15 attempts, all starting within 24h of the
// first, a receiver's Retry-After honoured up to 1h, and 10s for one request.
func DefaultPolicy() Policy {
	return Policy{
		Schedule:       []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour},
		MaxAttempts:    15,
		Window:         24 * time.Hour,
		MaxRetryAfter:  time.Hour,
		AttemptTimeout: 10 * time.Second,
	}
}

// ParseSchedule parses a comma-separated list of delays such as
// "30s,2m,10m,1h". Each step uses time.ParseDuration syntax and must be
// positive; spaces around the commas are allowed. At most 100 steps are
// accepted.
func ParseSchedule(s string) ([]time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("retry schedule is empty")
	}
	// Count before splitting so hostile input cannot make a huge slice.
	if n := strings.Count(s, ",") + 1; n > maxSteps {
		return nil, fmt.Errorf("retry schedule has %d steps; the limit is %d", n, maxSteps)
	}
	steps := strings.Split(s, ",")
	schedule := make([]time.Duration, len(steps))
	for i, step := range steps {
		step = strings.TrimSpace(step)
		if step == "" {
			return nil, fmt.Errorf("retry schedule step %d is empty", i+1)
		}
		d, err := time.ParseDuration(step)
		if err != nil {
			return nil, fmt.Errorf("retry schedule step %d %q is not a duration such as 30s, 2m or 1h", i+1, step)
		}
		if d <= 0 {
			return nil, fmt.Errorf("retry schedule step %d %q is not positive", i+1, step)
		}
		schedule[i] = d
	}
	return schedule, nil
}

// Validate reports whether p is usable: a non-empty Schedule of at most 100
// positive steps, 1 <= MaxAttempts <= 1000, a positive Window and a positive
// MaxRetryAfter. The error names the offending field.
func (p Policy) Validate() error {
	if len(p.Schedule) == 0 {
		return errors.New("retry policy: Schedule is empty")
	}
	if len(p.Schedule) > maxSteps {
		return fmt.Errorf("retry policy: Schedule has %d steps; the limit is %d", len(p.Schedule), maxSteps)
	}
	for i, d := range p.Schedule {
		if d <= 0 {
			return fmt.Errorf("retry policy: Schedule step %d is %v; steps must be positive", i+1, d)
		}
	}
	if p.MaxAttempts < 1 || p.MaxAttempts > maxAttemptsLimit {
		return fmt.Errorf("retry policy: MaxAttempts is %d; it must be between 1 and %d", p.MaxAttempts, maxAttemptsLimit)
	}
	if p.Window <= 0 {
		return fmt.Errorf("retry policy: Window is %v; it must be positive", p.Window)
	}
	if p.MaxRetryAfter <= 0 {
		return fmt.Errorf("retry policy: MaxRetryAfter is %v; it must be positive", p.MaxRetryAfter)
	}
	if p.AttemptTimeout < 0 {
		return fmt.Errorf("retry policy: AttemptTimeout is %v; it must not be negative", p.AttemptTimeout)
	}
	return nil
}

// DelayAfter returns the scheduled delay after attempt n (1-based) failed:
// Schedule[min(n-1, len(Schedule)-1)], so the last step repeats. An n below
// 1 is treated as 1. It returns 0 if the schedule is empty.
func (p Policy) DelayAfter(n int) time.Duration {
	if len(p.Schedule) == 0 {
		return 0
	}
	return p.Schedule[min(max(n, 1), len(p.Schedule))-1]
}

// NextDelay is the wait before the attempt after failed attempt n. A
// receiver's Retry-After (v.RetryAfter > 0) takes precedence over the
// schedule and is clamped to [1s, MaxRetryAfter]; the 1s floor wins if
// MaxRetryAfter is smaller, so a misconfigured policy cannot retry in a
// tight loop. Otherwise it is DelayAfter(n).
func (p Policy) NextDelay(n int, v Verdict) time.Duration {
	if v.RetryAfter > 0 {
		return max(time.Second, min(v.RetryAfter, p.MaxRetryAfter))
	}
	return p.DelayAfter(n)
}

// Offsets returns, for a series that is never cut short and never sees a
// Retry-After, the start offset of every attempt from the first (attempt 1
// at 0). It stops at MaxAttempts or before the first attempt that would
// start after Window; an attempt starting exactly at Window is included.
// It returns nil if p is not valid.
//
// Offsets documents the exact timetable of a policy; at run time, apply the
// same rule: attempt n+1 is made only if n < MaxAttempts and it starts no
// later than Window after attempt 1 started.
func (p Policy) Offsets() []time.Duration {
	if p.Validate() != nil {
		return nil
	}
	offsets := make([]time.Duration, 0, p.MaxAttempts)
	var at time.Duration
	for n := 1; ; n++ {
		offsets = append(offsets, at)
		if n == p.MaxAttempts {
			return offsets
		}
		delay := p.DelayAfter(n)
		if delay > p.Window-at { // written this way so it cannot overflow
			return offsets
		}
		at += delay
	}
}
