package activities

import (
	"errors"

	"gorm.io/gorm"

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
func attribute(tx *gorm.DB, integrationID string, ev postback.Event) (postback.Event, error) {
	if ev.PlayerID == "" && ev.OriginalEventID != "" {
		var orig store.Conversion
		err := tx.Where("integration_id = ? AND event_id = ?", integrationID, ev.OriginalEventID).Take(&orig).Error
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return ev, err
		}
		ev.PlayerID = orig.PlayerID
		if ev.AffiliateID == "" {
			ev.AffiliateID = orig.AffiliateID
		}
	}
	if ev.PlayerID != "" {
		var first store.Conversion
		err := tx.Where("integration_id = ? AND player_id = ? AND affiliate_id IN (?)", integrationID, ev.PlayerID,
			tx.Model(&store.Affiliate{}).Select("id")).Order("occurred_at, created_at").Take(&first).Error
		if err == nil {
			ev.AffiliateID = first.AffiliateID
			return ev, nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return ev, err
		}
	}
	if ev.AffiliateID != "" || ev.ClickID == "" {
		return ev, nil
	}
	var click store.Click
	err := tx.Where("id = ? AND integration_id = ?", ev.ClickID, integrationID).Take(&click).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ev, nil
	}
	if err != nil {
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
