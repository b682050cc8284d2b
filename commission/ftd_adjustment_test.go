package commission

import (
	"fmt"
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
			for _, d := range PlayerFrom(p, CPAState{}).Deposits {
				if !d.Undone {
					deposits += d.AmountMinor
				}
			}
			require.Equal(t, c.deposits, deposits)
		})
	}
}

// A restatement of a restatement corrects by the difference again: after any sequence of files the first
// deposit stands at the last file's amount and the ledger equals what the last file alone writes. A CPA a
// restatement clawed back is paid again when a later one qualifies, under the next key of the sequence.
func TestFTDAdjustmentFilesInSequenceEqualTheLastAlone(t *testing.T) {
	plan := Plan{ID: "v1", Type: CPA, Currency: "USD", CPAMinor: 20000, MinFirstDepositMinor: 10000}
	for _, c := range []struct {
		name     string
		realTime int64
		files    []int64
		// cpas is how many CPA entries the sequence writes (each qualification its own).
		cpas int
	}{
		{name: "up across, then further up", realTime: 9000, files: []int64{11000, 13000}, cpas: 1},
		{name: "up across, then back below", realTime: 9000, files: []int64{12000, 8000}, cpas: 1},
		{name: "down, staying qualified, then up", realTime: 15000, files: []int64{11000, 16000}, cpas: 1},
		{name: "below, up but still below, then across", realTime: 5000, files: []int64{7000, 10000}, cpas: 1},
		{name: "qualified, down below, then back above", realTime: 15000, files: []int64{9000, 15000}, cpas: 2},
		{name: "qualified, down below, back to the same amount", realTime: 15000, files: []int64{9000, 15000, 15000}, cpas: 2},
		{name: "across, below, across, below, across", realTime: 5000, files: []int64{12000, 6000, 11000, 9999, 10000}, cpas: 3},
		{name: "qualified, below, below again", realTime: 15000, files: []int64{9000, 8000}, cpas: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			both, alone := newLedger(plan), newLedger(plan)
			for _, l := range []*memLedger{both, alone} {
				l.record(ev("r", postback.Registration, "p", 0, day(11, 1)))
				l.record(ev("f", postback.FTD, "p", c.realTime, day(11, 2)))
			}
			standing := c.realTime
			for i, amount := range c.files {
				both.record(adjust(fmt.Sprintf("adj%d", i), "f", amount-standing))
				standing = amount
			}
			last := c.files[len(c.files)-1]
			alone.record(adjust("alone", "f", last-c.realTime))
			require.Equal(t, alone.sum("aff"), both.sum("aff"))
			for _, l := range []*memLedger{both, alone} {
				p, err := l.PlayerConversions("p")
				require.NoError(t, err)
				require.Equal(t, last, PlayerFrom(p, CPAState{}).Deposits[0].AmountMinor, "the first deposit stands at the last file's amount")
				requireRecalculationWritesNothing(t, l)
			}
			cpas := map[string]bool{}
			for _, e := range both.entries {
				if e.Kind == KindCPA {
					cpas[e.SourceKey] = true
				}
			}
			require.Len(t, cpas, c.cpas)
		})
	}
}

// A chargeback of the first deposit claws back the CPA a restatement paid again, and that clawback is final:
// a later restatement pays nothing.
func TestFTDAdjustmentRequalifiedCPAClawedBackForGood(t *testing.T) {
	plan := Plan{ID: "v1", Type: CPA, Currency: "USD", CPAMinor: 20000, MinFirstDepositMinor: 10000}
	l := newLedger(plan)
	l.record(ev("r", postback.Registration, "p", 0, day(11, 1)))
	l.record(ev("f", postback.FTD, "p", 15000, day(11, 2)))
	l.record(adjust("adj1", "f", -6000))
	written := l.record(adjust("adj2", "f", 6000))
	require.Len(t, written, 1)
	require.Equal(t, RequalifiedCPAKey(CPAKey("aff", l.integrationID, "p", "f"), 1), written[0].SourceKey)
	require.Equal(t, int64(20000), l.sum("aff"))
	cb := l.record(chargeback("cb", "f"))
	require.Len(t, cb, 1)
	require.Equal(t, ClawbackKey(written[0].SourceKey), cb[0].SourceKey)
	require.Equal(t, int64(0), l.sum("aff"))
	require.Empty(t, l.record(adjust("adj3", "f", 1000)), "a clawback for a chargeback is final")
	requireRecalculationWritesNothing(t, l)
}

// requireRecalculationWritesNothing calculates every restatement and chargeback again, as a replay would:
// every entry it computes has a key written already. (An ftd is calculated once, when recorded or approved,
// before any restatement names it.)
func requireRecalculationWritesNothing(t *testing.T, l *memLedger) {
	t.Helper()
	for _, c := range l.conversions {
		if !Restates(c.Event) && c.Type != postback.Chargeback {
			continue
		}
		in, err := Prepare(l, l.affiliateID, l.integrationID, c)
		if err == ErrNoPlan {
			continue
		}
		require.NoError(t, err)
		for _, e := range Calculate(in) {
			existing, _ := l.Entry(e.SourceKey)
			require.NotNil(t, existing, "%s recalculated writes %s again under a new key", c.ID, e.Kind)
		}
	}
}

// Deposits restated by reconciliation files (a deposit of the difference, negative when a file shows less)
// under a cumulative rule: a file taking the player below the rule claws the CPA back, not for good, so after
// any sequence of files the ledger equals what the last file alone writes.
func TestDepositRestatementsInSequenceEqualTheLastAlone(t *testing.T) {
	plan := Plan{ID: "v1", Type: CPA, Currency: "USD", CPAMinor: 15000, CumulativeDepositMinor: 10000, WindowDays: 30}
	for _, c := range []struct {
		name  string
		files []int64 // the deposits each file shows besides the 60.00 first deposit
		cpas  int
	}{
		{name: "up across, then back below", files: []int64{5000, 1000}, cpas: 1},
		{name: "up across, below, across again", files: []int64{5000, 1000, 4000}, cpas: 2},
		{name: "below, still below", files: []int64{1000, 2000}, cpas: 0},
		{name: "across, further, below", files: []int64{4000, 9000, 0}, cpas: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			both, alone := newLedger(plan), newLedger(plan)
			for _, l := range []*memLedger{both, alone} {
				l.record(ev("r", postback.Registration, "p", 0, day(11, 1)))
				l.record(ev("f", postback.FTD, "p", 6000, day(11, 2)))
			}
			correction := func(id string, amount int64) Recorded {
				r := ev(id, postback.Deposit, "p", amount, day(11, 3))
				r.FromReconciliation = true
				return r
			}
			var standing int64
			for i, amount := range c.files {
				both.record(correction(fmt.Sprintf("dep%d", i), amount-standing))
				standing = amount
			}
			alone.record(correction("alone", c.files[len(c.files)-1]))
			require.Equal(t, alone.sum("aff"), both.sum("aff"))
			requireRecalculationWritesNothing(t, both)
			cpas := 0
			for _, e := range both.entries {
				if e.Kind == KindCPA {
					cpas++
				}
			}
			require.Equal(t, c.cpas, cpas)
		})
	}
}

// A first deposit a reconciliation recorded and a later file withdrew (a reconciliation's reversal) never
// happened: the CPA it earned is clawed back, not for good, and a third file recording the first deposit again
// pays it again, as that file alone would. A first deposit charged back stays the first (and its clawback final).
func TestWithdrawnFirstDepositIsNoFirstDeposit(t *testing.T) {
	plan := Plan{ID: "v1", Type: CPA, Currency: "USD", CPAMinor: 20000, MinFirstDepositMinor: 10000}
	fromFile := func(r Recorded) Recorded { r.FromReconciliation = true; return r }
	both, alone := newLedger(plan), newLedger(plan)
	for _, l := range []*memLedger{both, alone} {
		l.record(ev("r", postback.Registration, "p", 0, day(11, 1)))
	}
	both.record(fromFile(ev("file1-ftd", postback.FTD, "p", 15000, day(11, 2))))
	require.Equal(t, int64(20000), both.sum("aff"))
	reversal := fromFile(undo("file2-rev", postback.Reversal, "file1-ftd", day(11, 2)))
	reversal.PlayerID = "p"
	both.record(reversal)
	require.Equal(t, int64(0), both.sum("aff"))
	written := both.record(fromFile(ev("file3-ftd", postback.FTD, "p", 15000, day(11, 2))))
	require.Len(t, written, 1)
	require.Equal(t, RequalifiedCPAKey(CPAKey("aff", both.integrationID, "p", ""), 1), written[0].SourceKey)
	alone.record(fromFile(ev("alone-ftd", postback.FTD, "p", 15000, day(11, 2))))
	require.Equal(t, alone.sum("aff"), both.sum("aff"))
	p, err := both.PlayerConversions("p")
	require.NoError(t, err)
	require.Len(t, PlayerFrom(p, CPAState{}).Deposits, 1, "the withdrawn first deposit is none")
	requireRecalculationWritesNothing(t, both)

	charged := newLedger(plan)
	charged.record(ev("r", postback.Registration, "p", 0, day(11, 1)))
	charged.record(ev("f", postback.FTD, "p", 15000, day(11, 2)))
	charged.record(chargeback("cb", "f"))
	require.Empty(t, charged.record(fromFile(ev("file-ftd", postback.FTD, "p", 15000, day(11, 4)))), "a charged-back first deposit stays the first")
}
