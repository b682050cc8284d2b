package opsalert

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNextHasHysteresis(t *testing.T) {
	a := Alarm{Key: ScopeQueue, Threshold: 100, RecoverAt: 50}
	tests := []struct {
		name           string
		firing         bool
		depth          int64
		changed, after bool
	}{
		{"quiet under the threshold", false, 99, false, false},
		{"fires at the threshold", false, 100, true, true},
		{"fires over it", false, 150, true, true},
		{"keeps firing while over", true, 150, false, true},
		{"keeps firing between the marks", true, 51, false, true},
		{"recovers at the lower mark", true, 50, true, false},
		{"recovers under it", true, 0, true, false},
		{"stays quiet between the marks after recovering", false, 99, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changed, after := Next(a, tt.firing, tt.depth)
			require.Equal(t, tt.changed, changed)
			require.Equal(t, tt.after, after)
		})
	}
}

// A depth that hovers around the threshold raises one alert and one recovery, not one per crossing.
func TestHoveringDepthAlertsOnce(t *testing.T) {
	c := Config{QueueThreshold: 100, NeedsReviewBurst: 20, RecoverRatio: 0.5}
	firing := map[string]bool{}
	var fired, recovered int
	for _, depth := range []int64{10, 99, 100, 98, 101, 99, 100, 60, 51, 120, 50, 99, 49, 100} {
		for _, tr := range Evaluate(c.Readings(Depths{Queue: depth}), firing) {
			firing[tr.Key] = tr.Firing
			if tr.Firing {
				fired++
			} else {
				recovered++
			}
		}
	}
	require.Equal(t, 2, fired, "100 at first, then 100 again after falling to 50")
	require.Equal(t, 1, recovered)
	require.True(t, firing[ScopeQueue])
}

func TestReadings(t *testing.T) {
	c := Config{QueueThreshold: 100, NeedsReviewBurst: 20, RecoverRatio: 0.5, TargetThresholds: map[string]int64{"whs_b": 10, "pbe_a": 5}}
	got := c.Readings(Depths{Queue: 7, EnteredReview: 3, ByTarget: map[string]int64{"pbe_a": 6, "pbe_other": 1}})
	require.Equal(t, []Reading{
		{Alarm{Key: "queue", Scope: ScopeQueue, Threshold: 100, RecoverAt: 50}, 7},
		{Alarm{Key: "needs_review_burst", Scope: ScopeNeedsReviewBurst, Threshold: 20, RecoverAt: 10}, 3},
		{Alarm{Key: "target:pbe_a", Scope: ScopeTarget, TargetID: "pbe_a", Threshold: 5, RecoverAt: 2}, 6},
		{Alarm{Key: "target:whs_b", Scope: ScopeTarget, TargetID: "whs_b", Threshold: 10, RecoverAt: 5}, 0},
	}, got)
	tr := Evaluate(got, map[string]bool{"target:whs_b": true})
	require.Len(t, tr, 2)
	require.Equal(t, "target:pbe_a", tr[0].Key)
	require.True(t, tr[0].Firing)
	require.Equal(t, "target:whs_b", tr[1].Key, "a firing target with nothing left recovers")
	require.False(t, tr[1].Firing)
}

func TestRecoverMark(t *testing.T) {
	for _, tt := range []struct {
		threshold int64
		ratio     float64
		want      int64
	}{{100, 0.5, 50}, {1, 0.5, 0}, {3, 0.9, 2}, {10, 1, 9}, {10, 0, 0}} {
		require.Equal(t, tt.want, RecoverMark(tt.threshold, tt.ratio), "%d×%v", tt.threshold, tt.ratio)
	}
}

func TestParseTargetThresholds(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]int64
		wantErr string
	}{
		{"", map[string]int64{}, ""},
		{" pbe_a=20 , whs_b=5 ", map[string]int64{"pbe_a": 20, "whs_b": 5}, ""},
		{"pbe_a", nil, "is not target_id=threshold"},
		{"=5", nil, "is not target_id=threshold"},
		{"pbe_a=0", nil, "at least 1"},
		{"pbe_a=x", nil, "whole number"},
		{"pbe_a=1,pbe_a=2", nil, "listed twice"},
	}
	for _, tt := range tests {
		got, err := ParseTargetThresholds(tt.in)
		if tt.wantErr != "" {
			require.ErrorContains(t, err, tt.wantErr, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.want, got)
	}
}

func FuzzParseTargetThresholds(f *testing.F) {
	f.Add("pbe_a=20,whs_b=5")
	f.Add("=,=")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseTargetThresholds(s)
		if err != nil {
			return
		}
		for id, v := range m {
			if id == "" || v < 1 {
				t.Fatalf("%q gave %q=%d", s, id, v)
			}
		}
	})
}
