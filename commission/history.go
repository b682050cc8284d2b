package commission

import (
	"github.com/affrelay/affrelay/postback"
)

// PlayerFrom derives the player's state from the player's recorded conversions (with one integration and
// affiliate, any order, the current event left out) and where its CPAs stand (see CPAStateFrom).
// An ftd adjustment is no deposit of its own: it changes the amount of the first deposit it names. A first
// deposit a reconciliation reversed (a file no longer shows it) is withdrawn: it never happened, so it is no
// first deposit either, unlike one charged back, which stays the player's first.
func PlayerFrom(conversions []Recorded, cpa CPAState) Player {
	p := Player{CPAState: cpa}
	undone := map[string]bool{}
	withdrawn := map[string]bool{}
	adjusted := map[string]int64{}
	for _, c := range conversions {
		switch {
		case c.OriginalID != "" && IsNegative(c.Type):
			undone[c.OriginalID] = true
			withdrawn[c.OriginalID] = withdrawn[c.OriginalID] || c.FromReconciliation
		case c.OriginalID != "" && c.Type == postback.FTDAdjustment:
			adjusted[c.OriginalID] += c.AmountMinor
		}
	}
	for _, c := range conversions {
		switch {
		case c.Type == postback.Registration && (!p.Registered || c.At.Before(p.RegisteredAt)):
			p.RegisteredAt, p.Registered = c.At, true
		case !p.Registered && (p.RegisteredAt.IsZero() || c.At.Before(p.RegisteredAt)):
			p.RegisteredAt = c.At
		}
		if (c.Type == postback.FTD || c.Type == postback.Deposit) && !withdrawn[c.ID] {
			p.Deposits = append(p.Deposits, Deposit{EventID: c.ID, First: c.Type == postback.FTD, Undone: undone[c.ID], AmountMinor: c.AmountMinor + adjusted[c.ID], At: c.At})
		}
	}
	return p
}

// CPAStateFrom follows the player's CPAs from the first (key firstKey): each one and its clawback are read by
// key through entry; a clawback written by a restatement (restated(eventID)) leads to the next CPA, any other
// clawback is final.
func CPAStateFrom(firstKey string, entry func(key string) (*Entry, error), restated func(eventID string) bool) (CPAState, error) {
	var s CPAState
	for {
		key := RequalifiedCPAKey(firstKey, s.Requalifications)
		cpa, err := entry(key)
		if err != nil || cpa == nil {
			return s, err
		}
		clawback, err := entry(ClawbackKey(key))
		if err != nil || clawback == nil {
			s.CPA = cpa
			return s, err
		}
		if !restated(clawback.EventID) {
			s.ClawedBack = true
			return s, nil
		}
		s.Requalifications++
	}
}

// RevShareFrom derives the affiliate's RevShare state from its RevShare entries (or from one row per
// period and plan with base and amount already summed), given every plan version by id.
func RevShareFrom(entries []Entry, plans map[string]Plan) RevShareState {
	var s RevShareState
	index := map[[2]string]int{}
	for _, e := range entries {
		if e.Kind != KindRevShare {
			continue
		}
		s.WrittenMinor += e.AmountMinor
		k := [2]string{e.Period, e.PlanID}
		i, ok := index[k]
		if !ok {
			i = len(s.Periods)
			index[k] = i
			s.Periods = append(s.Periods, PeriodNGR{Period: e.Period, Plan: plans[e.PlanID]})
		}
		s.Periods[i].NGR += e.BaseMinor
	}
	return s
}

// IsNegative reports whether an event type undoes an earlier event.
func IsNegative(eventType string) bool {
	return eventType == postback.Chargeback || eventType == postback.Refund || eventType == postback.Reversal
}
