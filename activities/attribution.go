package activities

import (
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/store"
)

// attribute decides which affiliate an event belongs to, in this order:
//   - a player already seen in this integration keeps the affiliate of its first attributed event;
//   - a chargeback, refund or reversal belongs to the affiliate and player of the event it undoes;
//   - an event without affiliate_id but with a click_id belongs to the click's affiliate, with its subs.
//
// Otherwise the event keeps the affiliate_id it was sent with, possibly none or an unknown one: it is then
// recorded unattributed, earns nothing, and shows in the unattributed report.
//
// first is the player's first attributed conversion, found when the player was attributed before (or, on a
// replay, by this very event).
func attribute(q store.ConversionQueries, integrationID string, ev postback.Event) (_ postback.Event, first store.Conversion, found bool, err error) {
	if ev.PlayerID == "" && ev.OriginalEventID != "" {
		orig, _, err := q.Event(integrationID, ev.OriginalEventID)
		if err != nil {
			return ev, first, false, err
		}
		ev.PlayerID = orig.PlayerID
		if ev.AffiliateID == "" {
			ev.AffiliateID = orig.AffiliateID
		}
	}
	if ev.PlayerID != "" {
		first, found, err = q.FirstAttributed(integrationID, ev.PlayerID)
		if err != nil || found {
			ev.AffiliateID = first.AffiliateID
			return ev, first, found, err
		}
	}
	if ev.AffiliateID != "" || ev.ClickID == "" {
		return ev, first, false, nil
	}
	click, ok, err := q.Click(integrationID, ev.ClickID)
	if !ok {
		return ev, first, false, err
	}
	ev.AffiliateID = click.AffiliateID
	for i, sub := range [5]string{click.Sub1, click.Sub2, click.Sub3, click.Sub4, click.Sub5} {
		if ev.Subs[i] == "" {
			ev.Subs[i] = sub
		}
	}
	return ev, first, false, nil
}
