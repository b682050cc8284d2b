package performance

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPeriod(t *testing.T) {
	berlin, err := LoadTimeZone("Europe/Berlin")
	require.NoError(t, err)
	utc, err := LoadTimeZone("UTC")
	require.NoError(t, err)
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return v.UTC()
	}
	for _, tc := range []struct {
		frequency string
		loc       *time.Location
		at        string
		from, to  string
	}{
		{Daily, utc, "2026-12-01T06:00:00Z", "2026-11-30T00:00:00Z", "2026-12-01T00:00:00Z"},
		// 23:30 UTC on 30 November is already 1 December in Berlin: yesterday there is 30 November.
		{Daily, berlin, "2026-11-30T23:30:00Z", "2026-11-29T23:00:00Z", "2026-11-30T23:00:00Z"},
		{Daily, berlin, "2026-11-30T22:30:00Z", "2026-11-28T23:00:00Z", "2026-11-29T23:00:00Z"},
		// The week before Tuesday 1 December 2026: Monday 23 to Monday 30 November.
		{Weekly, utc, "2026-12-01T06:00:00Z", "2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z"},
		{Weekly, utc, "2026-11-30T00:00:00Z", "2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z"},
		{Monthly, utc, "2026-12-01T06:00:00Z", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"},
		// October in Berlin spans the end of summer time: 31 days and an hour.
		{Monthly, berlin, "2026-11-15T12:00:00Z", "2026-09-30T22:00:00Z", "2026-10-31T23:00:00Z"},
		{Monthly, utc, "2026-01-10T00:00:00Z", "2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z"},
	} {
		from, to := Period(tc.frequency, tc.loc, at(tc.at))
		require.Equal(t, at(tc.from), from, "%s %s %s", tc.frequency, tc.loc, tc.at)
		require.Equal(t, at(tc.to), to, "%s %s %s", tc.frequency, tc.loc, tc.at)
	}
}

func TestValidateSchedule(t *testing.T) {
	for _, f := range Frequencies {
		require.NoError(t, ValidateFrequency(f))
	}
	require.EqualError(t, ValidateFrequency("hourly"), `"hourly" is not one of daily, weekly, monthly`)
	for _, bad := range []string{"", "Local", "Mars/Olympus", "../etc/passwd"} {
		_, err := LoadTimeZone(bad)
		require.Error(t, err, bad)
	}
}

// Any run time, in any of a few zones, gives a period that ended at or before it; a run exactly at a
// period's end reports that period, and a run 40 days later a later one.
func FuzzPeriod(f *testing.F) {
	f.Add(int64(1795000000), uint8(0), uint8(1))
	f.Add(int64(1792800000), uint8(2), uint8(2))
	zones := []string{"UTC", "Europe/Berlin", "America/Sao_Paulo", "Asia/Kolkata", "Pacific/Chatham"}
	f.Fuzz(func(t *testing.T, unix int64, freq, zone uint8) {
		at := time.Unix(unix%(400*365*24*3600), 0).UTC() // years 1970 to 2370
		loc, err := LoadTimeZone(zones[int(zone)%len(zones)])
		require.NoError(t, err)
		frequency := Frequencies[int(freq)%len(Frequencies)]
		from, to := Period(frequency, loc, at)
		require.True(t, from.Before(to), "%s %s %s: %s..%s", frequency, loc, at, from, to)
		require.False(t, to.After(at), "%s %s %s: ends %s after the run", frequency, loc, at, to)
		againFrom, againTo := Period(frequency, loc, to)
		require.Equal(t, []time.Time{from, to}, []time.Time{againFrom, againTo}, "a run at the period's end reports the period")
		_, afterNext := Period(frequency, loc, at.Add(40*24*time.Hour))
		require.True(t, afterNext.After(to))
	})
}
