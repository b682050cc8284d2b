package chaos

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPercentHalfEven(t *testing.T) {
	for _, tc := range []struct{ v, want int64 }{
		{0, 0}, {4, 1}, {2, 0}, {6, 2}, {10, 2}, {14, 4}, {1_000_00, 250_00}, {1, 0}, {3, 1},
	} {
		require.Equal(t, tc.want, percentHalfEven(tc.v, 25), "25%% of %d", tc.v)
	}
}

// The harness's own ledger, worked by hand: CPA, RevShare, hybrid; chargebacks of an ftd, a deposit and a
// revenue event; a negative month; unacknowledged events do not count.
func TestExpectedLedger(t *testing.T) {
	oct := time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC)
	nov := time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC)
	kinds := []string{kindCPA, kindRevShare, kindHybrid}
	evs := []event{
		// CPA affiliate 0.
		0: {Type: "ftd", Affiliate: 0, Amount: 50_00, Original: -1}, // reaches 50.00: +40.00
		1: {Type: "ftd", Affiliate: 0, Amount: 49_99, Original: -1}, // does not
		2: {Type: "ftd", Affiliate: 0, Amount: 80_00, Original: -1}, // +40.00, then charged back: −40.00
		3: {Type: "chargeback", Affiliate: 0, Amount: 80_00, Original: 2},
		4: {Type: "revenue", Affiliate: 0, Amount: 500_00, OccurredAt: oct, Original: -1}, // CPA only: nothing
		// RevShare affiliate 1: October 100.02 − 40.00 (charged back: out) → 100.02 × 25% = 25.005 → 25.00;
		// November −20.00 → nothing.
		5: {Type: "revenue", Affiliate: 1, Amount: 100_02, OccurredAt: oct, Original: -1},
		6: {Type: "revenue", Affiliate: 1, Amount: -40_00, OccurredAt: oct, Original: -1},
		7: {Type: "chargeback", Affiliate: 1, Amount: 40_00, OccurredAt: nov, Original: 6},
		8: {Type: "revenue", Affiliate: 1, Amount: -20_00, OccurredAt: nov, Original: -1},
		9: {Type: "ftd", Affiliate: 1, Amount: 100_00, Original: -1}, // RevShare only: nothing
		// Hybrid affiliate 2: CPA 40.00 (a deposit's chargeback leaves the ftd standing) + 25% of 60.00.
		10: {Type: "ftd", Affiliate: 2, Amount: 60_00, Original: -1},
		11: {Type: "deposit", Affiliate: 2, Amount: 30_00, Original: -1},
		12: {Type: "chargeback", Affiliate: 2, Amount: 30_00, Original: 11},
		13: {Type: "revenue", Affiliate: 2, Amount: 60_00, OccurredAt: nov, Original: -1},
		14: {Type: "revenue", Affiliate: 2, Amount: 1000_00, OccurredAt: nov, Original: -1}, // never acknowledged
	}
	got := expectedLedger(evs, func(i int) string { return kinds[i] }, func(i int) bool { return i != 14 })
	require.Equal(t, map[int]int64{0: 40_00, 1: 25_00, 2: 40_00 + 15_00}, got)
}
