package payout

import (
	"fmt"
	"strings"
	"time"
	// The zone database is built in, so periods come out the same on every worker, as replays need.
	_ "time/tzdata"
)

// Cycle kinds.
const (
	Monthly  = "monthly"
	Weekly   = "weekly"
	Biweekly = "biweekly"
)

// Cycles lists every cycle kind.
var Cycles = []string{Monthly, Weekly, Biweekly}

// biweeklyAnchor is a Monday that starts a bi-weekly period; every period starts a multiple of 14 days from it.
var biweeklyAnchor = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Cycle is how often statements are made, in which time zone. Periods start at midnight in Location: months
// on the 1st, weeks and bi-weekly periods on Mondays.
type Cycle struct {
	Kind     string
	Location *time.Location
}

// Period is one statement period [Start, End), named by Key: "2026-11" (monthly), "2026-W48" (weekly),
// "2026-11-16..2026-11-29" (bi-weekly, first and last day).
type Period struct {
	Key        string
	Start, End time.Time
}

// PeriodOf returns the period that contains t.
func (c Cycle) PeriodOf(t time.Time) Period {
	t = t.In(c.Location)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, c.Location)
	switch c.Kind {
	case Weekly:
		start := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
		return c.week(start)
	case Biweekly:
		anchor := time.Date(biweeklyAnchor.Year(), biweeklyAnchor.Month(), biweeklyAnchor.Day(), 0, 0, 0, 0, c.Location)
		days := daysBetween(anchor, day)
		offset := days % 14
		if offset < 0 {
			offset += 14
		}
		return c.fortnight(day.AddDate(0, 0, -offset))
	default:
		start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, c.Location)
		return Period{Key: start.Format("2006-01"), Start: start.UTC(), End: start.AddDate(0, 1, 0).UTC()}
	}
}

// daysBetween counts calendar days from a to b (both midnights in one location), robust to DST.
func daysBetween(a, b time.Time) int {
	ua := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	ub := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(ub.Sub(ua).Hours() / 24)
}

func (c Cycle) week(start time.Time) Period {
	y, w := start.ISOWeek()
	return Period{Key: fmt.Sprintf("%d-W%02d", y, w), Start: start.UTC(), End: start.AddDate(0, 0, 7).UTC()}
}

func (c Cycle) fortnight(start time.Time) Period {
	last := start.AddDate(0, 0, 13)
	return Period{Key: start.Format(time.DateOnly) + ".." + last.Format(time.DateOnly), Start: start.UTC(), End: start.AddDate(0, 0, 14).UTC()}
}

// PeriodBefore returns the last whole period that ended at or before t: what a cycle run at t states.
func (c Cycle) PeriodBefore(t time.Time) Period {
	current := c.PeriodOf(t)
	return c.PeriodOf(current.Start.Add(-time.Nanosecond))
}

// ParsePeriod reads a period key of the cycle, as PeriodOf names it.
func (c Cycle) ParsePeriod(key string) (Period, error) {
	var start time.Time
	var err error
	switch c.Kind {
	case Weekly:
		var y, w int
		if _, err = fmt.Sscanf(key, "%d-W%d", &y, &w); err != nil || w < 1 || w > 53 {
			return Period{}, fmt.Errorf("%q is not an ISO week such as 2026-W48", key)
		}
		// ISO week 1 holds January 4th.
		jan4 := time.Date(y, 1, 4, 0, 0, 0, 0, c.Location)
		start = jan4.AddDate(0, 0, -((int(jan4.Weekday())+6)%7)+7*(w-1))
	case Biweekly:
		first, _, ok := strings.Cut(key, "..")
		if start, err = time.ParseInLocation(time.DateOnly, first, c.Location); !ok || err != nil {
			return Period{}, fmt.Errorf("%q is not a bi-weekly period such as 2026-11-16..2026-11-29", key)
		}
	default:
		if start, err = time.ParseInLocation("2006-01", key, c.Location); err != nil {
			return Period{}, fmt.Errorf("%q is not a month such as 2026-11", key)
		}
	}
	p := c.PeriodOf(start)
	if p.Key != key {
		return Period{}, fmt.Errorf("%q is not a %s period (the period holding its first day is %s)", key, c.Kind, p.Key)
	}
	return p, nil
}

// ValidateCycle checks a cycle kind.
func ValidateCycle(kind string) error {
	for _, k := range Cycles {
		if k == kind {
			return nil
		}
	}
	return fmt.Errorf("%q is not one of %s", kind, strings.Join(Cycles, ", "))
}

// NewCycle builds a cycle of the kind in the named IANA time zone.
func NewCycle(kind, timeZone string) (Cycle, error) {
	if err := ValidateCycle(kind); err != nil {
		return Cycle{}, err
	}
	loc, err := time.LoadLocation(timeZone)
	if err != nil || timeZone == "" || timeZone == "Local" {
		return Cycle{}, fmt.Errorf("%q is not an IANA time zone such as UTC or Europe/Malta", timeZone)
	}
	return Cycle{Kind: kind, Location: loc}, nil
}
