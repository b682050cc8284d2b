package workflows

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/activities"
)

func TestRefireStepsLimitEachTargetPerStep(t *testing.T) {
	at := func(id, target string) activities.RefireTarget {
		return activities.RefireTarget{DeliveryRef: activities.DeliveryRef{ID: id, EndpointID: target}}
	}
	ids := func(steps [][]activities.RefireTarget) [][]string {
		var out [][]string
		for _, s := range steps {
			var row []string
			for _, t := range s {
				row = append(row, t.ID)
			}
			out = append(out, row)
		}
		return out
	}
	page := []activities.RefireTarget{at("1", "a"), at("2", "a"), at("3", "b"), at("4", "a"), at("5", "a"), at("6", "b")}
	tests := []struct {
		rate int
		want [][]string
	}{
		{1, [][]string{{"1", "3"}, {"2", "6"}, {"4"}, {"5"}}},
		{2, [][]string{{"1", "2", "3", "6"}, {"4", "5"}}},
		{10, [][]string{{"1", "2", "3", "4", "5", "6"}}},
		{0, [][]string{{"1", "3"}, {"2", "6"}, {"4"}, {"5"}}}, // at least one per step
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, ids(refireSteps(page, tt.rate)), "rate %d", tt.rate)
	}
	require.Empty(t, refireSteps(nil, 5))
}
