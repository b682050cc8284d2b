// Package opsalert decides when the delivery queue's alarms fire and recover: the whole queue over its
// threshold, one target over its own, and a burst of deliveries entering needs_review. Each alarm has a high
// mark (fire) and a lower mark (recover), so a depth that hovers around the threshold raises one alert, not a
// storm. It does no I/O: the queue watcher (infra) reads the depths and stores the alarms' states.
package opsalert

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Scopes: what an alarm watches.
const (
	// ScopeQueue is every delivery not yet delivered (pending, retrying, needs_review, held).
	ScopeQueue = "queue"
	// ScopeTarget is the undelivered deliveries of one postback endpoint or webhook subscription.
	ScopeTarget = "target"
	// ScopeNeedsReviewBurst is the deliveries that entered needs_review within the burst window.
	ScopeNeedsReviewBurst = "needs_review_burst"
)

// Alarm is one watched depth with its marks.
type Alarm struct {
	// Key names the alarm's stored state: "queue", "needs_review_burst" or "target:<id>".
	Key      string
	Scope    string
	TargetID string
	// Threshold: the alarm fires when the depth reaches it.
	Threshold int64
	// RecoverAt: a firing alarm recovers when the depth falls to it or below.
	RecoverAt int64
}

// Config is the alarms' settings.
type Config struct {
	// QueueThreshold is the whole queue's threshold (alert.queue_depth_threshold).
	QueueThreshold int64
	// TargetThresholds are per-target thresholds by endpoint or subscription id (alert.target_thresholds).
	TargetThresholds map[string]int64
	// NeedsReviewBurst is how many deliveries entering needs_review within the window raise the alarm.
	NeedsReviewBurst int64
	// RecoverRatio sets every alarm's recover mark: the threshold times the ratio, rounded down.
	RecoverRatio float64
}

// Depths is what the watcher read: the whole queue, each target's undelivered deliveries, and the deliveries
// that entered needs_review within the burst window.
type Depths struct {
	Queue         int64
	ByTarget      map[string]int64
	EnteredReview int64
}

// Reading is an alarm and its depth now.
type Reading struct {
	Alarm
	Depth int64
}

// Readings pairs every configured alarm with its depth; a target absent from d.ByTarget has depth 0, so its
// firing alarm can recover.
func (c Config) Readings(d Depths) []Reading {
	alarm := func(key, scope, target string, threshold int64) Alarm {
		return Alarm{Key: key, Scope: scope, TargetID: target, Threshold: threshold, RecoverAt: RecoverMark(threshold, c.RecoverRatio)}
	}
	out := []Reading{
		{alarm(ScopeQueue, ScopeQueue, "", c.QueueThreshold), d.Queue},
		{alarm(ScopeNeedsReviewBurst, ScopeNeedsReviewBurst, "", c.NeedsReviewBurst), d.EnteredReview},
	}
	targets := make([]string, 0, len(c.TargetThresholds))
	for id := range c.TargetThresholds {
		targets = append(targets, id)
	}
	sort.Strings(targets)
	for _, id := range targets {
		out = append(out, Reading{alarm(ScopeTarget+":"+id, ScopeTarget, id, c.TargetThresholds[id]), d.ByTarget[id]})
	}
	return out
}

// RecoverMark is threshold×ratio rounded down, kept below the threshold.
func RecoverMark(threshold int64, ratio float64) int64 {
	m := int64(float64(threshold) * ratio)
	return min(m, threshold-1)
}

// Transition is an alarm that changed: Firing true means it fired (exceeded), false that it recovered.
type Transition struct {
	Reading
	Firing bool
}

// Next says whether an alarm that is firing (or not) changes at depth, and to what.
func Next(a Alarm, firing bool, depth int64) (changed, nowFiring bool) {
	switch {
	case !firing && depth >= a.Threshold:
		return true, true
	case firing && depth <= a.RecoverAt:
		return true, false
	}
	return false, firing
}

// Evaluate returns the alarms among readings that change, given which are firing now (by key).
func Evaluate(readings []Reading, firing map[string]bool) []Transition {
	var out []Transition
	for _, r := range readings {
		if changed, now := Next(r.Alarm, firing[r.Key], r.Depth); changed {
			out = append(out, Transition{Reading: r, Firing: now})
		}
	}
	return out
}

// ParseTargetThresholds reads "id=threshold,id=threshold" (alert.target_thresholds); empty is none.
func ParseTargetThresholds(s string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, n, ok := strings.Cut(part, "=")
		id = strings.TrimSpace(id)
		if !ok || id == "" {
			return nil, fmt.Errorf("%q is not target_id=threshold", part)
		}
		v, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%q: the threshold must be a whole number of at least 1", part)
		}
		if _, dup := out[id]; dup {
			return nil, fmt.Errorf("%q is listed twice", id)
		}
		out[id] = v
	}
	return out, nil
}
