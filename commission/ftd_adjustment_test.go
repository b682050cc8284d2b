package commission

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/postback"
)

// adjust restates the first deposit ftdID by delta, as a reconciliation records it.
func adjust(id, ftdID string, delta int64) Recorded {
	r := ev(id, postback.FTDAdjustment, "p", delta, day(11, 2))
	r.OriginalID = ftdID
	return r
}

// chargeback undoes one of the player's deposits.
func chargeback(id, original string) Recorded {
	r := undo(id, postback.Chargeback, original, day(11, 9))
	r.PlayerID = "p"
	return r
}

func TestFTDAdjustmentRechecksCPAOnce(t *testing.T) {
	minFirst := Plan{ID: "v1", Type: CPA, Currency: "USD", CPAMinor: 20000, MinFirstDepositMinor: 10000}
	cumulative := Plan{ID: "v1", Type: CPA, Currency: "USD", CPAMinor: 15000, CumulativeDepositMinor: 10000, WindowDays: 7}
	for _, c := range []struct {
		name   string
		plan   Plan
		before []Recorded // recorded before the adjustment
		adjust int64
		kinds  []string // entries the adjustment writes
		total  int64    // the affiliate's ledger after it
		// deposits is what the player's standing deposits sum to after it: they change by the difference only.
		deposits int64
	}{
		{name: "increase newly qualifies", deposits: 11000, plan: minFirst, adjust: 3000,
			before: []Recorded{ev("f", postback.FTD, "p", 8000, day(11, 2))}, kinds: []string{KindCPA}, total: 20000},
		{name: "decrease disqualifies", deposits: 8000, plan: minFirst, adjust: -4000,
			before: []Recorded{ev("f", postback.FTD, "p", 12000, day(11, 2))}, kinds: []string{KindCPAClawback}, total: 0},
		{name: "decrease keeps qualification", deposits: 12000, plan: minFirst, adjust: -3000,
			before: []Recorded{ev("f", postback.FTD, "p", 15000, day(11, 2))}, total: 20000},
		{name: "increase stays below", deposits: 7000, plan: minFirst, adjust: 2000,
			before: []Recorded{ev("f", postback.FTD, "p", 5000, day(11, 2))}, total: 0},
		{name: "cumulative: the difference alone completes the sum", deposits: 11000, plan: cumulative, adjust: 2000,
			before: []Recorded{ev("f", postback.FTD, "p", 4000, day(11, 2)), ev("d", postback.Deposit, "p", 5000, day(11, 3))},
			kinds:  []string{KindCPA}, total: 15000},
		{name: "cumulative: the difference alone drops below", deposits: 9000, plan: cumulative, adjust: -2000,
			before: []Recorded{ev("f", postback.FTD, "p", 6000, day(11, 2)), ev("d", postback.Deposit, "p", 5000, day(11, 3))},
			kinds:  []string{KindCPAClawback}, total: 0},
		{name: "cumulative: old and new amounts are never both counted", deposits: 9000, plan: cumulative, adjust: 5000,
			before: []Recorded{ev("f", postback.FTD, "p", 3000, day(11, 2)), ev("d", postback.Deposit, "p", 1000, day(11, 3))},
			total:  0}, // 80 + 10 = 90.00, not 30 + 80 + 10
		{name: "a CPA clawed back for another reason stays clawed back", deposits: 16000, plan: cumulative, adjust: 10000,
			before: []Recorded{ev("f", postback.FTD, "p", 6000, day(11, 2)), ev("d", postback.Deposit, "p", 5000, day(11, 3)),
				chargeback("cb", "d")}, total: 0},
		{name: "no first deposit to adjust", deposits: 5000, plan: minFirst, adjust: 20000,
			before: []Recorded{ev("d", postback.Deposit, "p", 5000, day(11, 3))}, total: 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newLedger(c.plan)
			l.record(ev("r", postback.Registration, "p", 0, day(11, 1)))
			for _, r := range c.before {
				l.record(r)
			}
			var kinds []string
			for _, e := range l.record(adjust("adj", "f", c.adjust)) {
				kinds = append(kinds, e.Kind)
			}
			require.Equal(t, c.kinds, kinds)
			require.Equal(t, c.total, l.sum("aff"))
			require.Empty(t, l.record(adjust("adj", "f", c.adjust)), "the same adjustment again writes nothing")
			p, err := l.PlayerConversions("p")
			require.NoError(t, err)
			var deposits int64
			for _, d := range PlayerFrom(p, nil, nil).Deposits {
				if !d.Undone {
					deposits += d.AmountMinor
				}
			}
			require.Equal(t, c.deposits, deposits)
		})
	}
}

// A restatement of a restatement corrects by the difference again: the first deposit ends at file 2's amount
// and the CPA where file 2 alone puts it.
func TestFTDAdjustmentFileOneThenTwoEqualsTwoAlone(t *testing.T) {
	plan := Plan{ID: "v1", Type: CPA, Currency: "USD", CPAMinor: 20000, MinFirstDepositMinor: 10000}
	for _, c := range []struct {
		name                    string
		realTime, file1, file2  int64
		cpaAfterFile2, cpaAlone int64
	}{
		{name: "up across, then further up", realTime: 9000, file1: 11000, file2: 13000},
		{name: "up across, then back below", realTime: 9000, file1: 12000, file2: 8000},
		{name: "down, staying qualified, then up", realTime: 15000, file1: 11000, file2: 16000},
		{name: "below, up but still below, then across", realTime: 5000, file1: 7000, file2: 10000},
	} {
		t.Run(c.name, func(t *testing.T) {
			both, alone := newLedger(plan), newLedger(plan)
			for _, l := range []*memLedger{both, alone} {
				l.record(ev("r", postback.Registration, "p", 0, day(11, 1)))
				l.record(ev("f", postback.FTD, "p", c.realTime, day(11, 2)))
			}
			both.record(adjust("adj1", "f", c.file1-c.realTime))
			both.record(adjust("adj2", "f", c.file2-c.file1))
			alone.record(adjust("adj2", "f", c.file2-c.realTime))
			require.Equal(t, alone.sum("aff"), both.sum("aff"))
			for _, l := range []*memLedger{both, alone} {
				p, err := l.PlayerConversions("p")
				require.NoError(t, err)
				require.Equal(t, c.file2, PlayerFrom(p, nil, nil).Deposits[0].AmountMinor, "the first deposit stands at file 2's amount")
			}
		})
	}
}
