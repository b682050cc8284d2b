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
func attribute(q store.ConversionQueries, integrationID string, ev postback.Event) (postback.Event, error) {
	if ev.PlayerID == "" && ev.OriginalEventID != "" {
		orig, _, err := q.Event(integrationID, ev.OriginalEventID)
		if err != nil {
			return ev, err
		}
		ev.PlayerID = orig.PlayerID
		if ev.AffiliateID == "" {
			ev.AffiliateID = orig.AffiliateID
		}
	}
	if ev.PlayerID != "" {
		first, ok, err := q.FirstAttributed(integrationID, ev.PlayerID)
		if err != nil {
			return ev, err
		}
		if ok {
			ev.AffiliateID = first.AffiliateID
			return ev, nil
		}
	}
	if ev.AffiliateID != "" || ev.ClickID == "" {
		return ev, nil
	}
	click, ok, err := q.Click(integrationID, ev.ClickID)
	if !ok {
		return ev, err
	}
	ev.AffiliateID = click.AffiliateID
	for i, sub := range [5]string{click.Sub1, click.Sub2, click.Sub3, click.Sub4, click.Sub5} {
		if ev.Subs[i] == "" {
			ev.Subs[i] = sub
		}
	}
	return ev, nil
}
