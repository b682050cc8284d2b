package performance

import (
	"errors"
	"fmt"
	"time"
)

// How often a subscription gets performance.report.
const (
	Daily   = "daily"
	Weekly  = "weekly"
	Monthly = "monthly"
)

// Frequencies lists every report frequency.
var Frequencies = []string{Daily, Weekly, Monthly}

// ValidateFrequency says what is wrong with a report frequency, if anything.
func ValidateFrequency(f string) error {
	switch f {
	case Daily, Weekly, Monthly:
		return nil
	}
	return fmt.Errorf("%q is not one of daily, weekly, monthly", f)
}

// LoadTimeZone reads an IANA time zone name such as Europe/Malta; empty is not one.
func LoadTimeZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, errors.New("must be an IANA time zone name such as UTC or Europe/Malta")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%q is not an IANA time zone name such as UTC or Europe/Malta", name)
	}
	return loc, nil
}

// Period is the last full period of the frequency that ended at or before at, in loc: yesterday, the week
// before (Monday to Monday) or the month before, from midnight to midnight local time, returned in UTC.
func Period(frequency string, loc *time.Location, at time.Time) (from, to time.Time) {
	t := at.In(loc)
	midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	switch frequency {
	case Daily:
		to, from = midnight, midnight.AddDate(0, 0, -1)
	case Monthly:
		to = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
		from = to.AddDate(0, -1, 0)
	default:
		to = midnight.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
		from = to.AddDate(0, 0, -7)
	}
	return from.UTC(), to.UTC()
}
