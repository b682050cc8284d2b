package payout

import (
	"fmt"
	"sort"
	"time"

	"github.com/affrelay/affrelay/money"
)

// Statement total groups: the commission kinds and everything else (clawbacks, corrections) as adjustments.
const (
	GroupCPA          = "cpa"
	GroupRevShare     = "revshare"
	GroupSubAffiliate = "sub_affiliate"
	GroupAdjustments  = "adjustments"
)

// GroupOf is the statement total a ledger entry kind counts in.
func GroupOf(kind string) string {
	switch kind {
	case "cpa", "revshare", "sub_affiliate":
		return kind
	default:
		return GroupAdjustments
	}
}

// Line is one ledger entry on a statement.
type Line struct {
	EntryID     string
	Kind        string
	EventID     string
	PlayerID    string
	EventAt     time.Time
	AmountMinor int64
}

// Totals are a statement's sums by group and its net; every sum is of the lines themselves.
type Totals struct {
	CPAMinor, RevShareMinor, SubAffiliateMinor, AdjustmentsMinor int64
	NetMinor                                                     int64
}

// Statement is what an affiliate is owed in one currency for one period.
type Statement struct {
	Lines  []Line
	Totals Totals
	// Status is Awaiting (to be paid) or RolledOver, with the Reason it was not paid.
	Status string
	Reason string
}

// Build sums the lines (sorted by event time, then entry id) and applies the threshold: a negative net is
// never paid and carries to the next statement; a net below the minimum rolls over. Rolled-over lines stay
// unpaid, so the next statement takes them again with whatever came since.
func Build(lines []Line, currency string, minimumMinor int64) Statement {
	s := Statement{Lines: append([]Line(nil), lines...)}
	sort.Slice(s.Lines, func(i, j int) bool {
		if !s.Lines[i].EventAt.Equal(s.Lines[j].EventAt) {
			return s.Lines[i].EventAt.Before(s.Lines[j].EventAt)
		}
		return s.Lines[i].EntryID < s.Lines[j].EntryID
	})
	for _, l := range s.Lines {
		switch GroupOf(l.Kind) {
		case GroupCPA:
			s.Totals.CPAMinor += l.AmountMinor
		case GroupRevShare:
			s.Totals.RevShareMinor += l.AmountMinor
		case GroupSubAffiliate:
			s.Totals.SubAffiliateMinor += l.AmountMinor
		default:
			s.Totals.AdjustmentsMinor += l.AmountMinor
		}
		s.Totals.NetMinor += l.AmountMinor
	}
	switch net := s.Totals.NetMinor; {
	case net < 0:
		s.Status, s.Reason = RolledOver, fmt.Sprintf("net %s is negative: it is never paid out and carries to the next statement", money.Format(net, currency))
	case net == 0:
		s.Status, s.Reason = RolledOver, "net is zero: nothing to pay"
	case net < minimumMinor:
		s.Status, s.Reason = RolledOver, fmt.Sprintf("net %s is below the minimum payout of %s: carried to the next statement",
			money.Format(net, currency), money.Format(minimumMinor, currency))
	default:
		s.Status = Awaiting
	}
	return s
}
