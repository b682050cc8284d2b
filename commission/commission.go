// Package commission computes the ledger entries an event earns under an affiliate's plan. It does no I/O.
package commission

import (
	"github.com/affrelay/affrelay/postback"
)

// Plan types.
const (
	CPA = "cpa"
)

// Plan is the commission plan in force for an event.
type Plan struct {
	Type        string
	AmountMinor int64
	Currency    string
}

// Entry is one ledger entry to write. SourceKey identifies what earned it, so writing it twice is impossible.
type Entry struct {
	SourceKey   string
	Kind        string
	AmountMinor int64
	Currency    string
}

// Calculate returns the entries that ev earns the affiliate under plan, for an event from integrationID.
// A CPA is paid once per player (per integration): a second "first-time deposit" for the same player earns nothing.
func Calculate(plan Plan, integrationID string, ev postback.Event) []Entry {
	switch {
	case plan.Type == CPA && ev.Type == postback.FTD && plan.AmountMinor > 0:
		key := "cpa:" + ev.AffiliateID + ":" + integrationID + ":"
		if ev.PlayerID != "" {
			key += "player:" + ev.PlayerID
		} else {
			key += "event:" + ev.EventID
		}
		return []Entry{{SourceKey: key, Kind: CPA, AmountMinor: plan.AmountMinor, Currency: plan.Currency}}
	}
	return nil
}
