package activities

import (
	"errors"

	"gorm.io/gorm"

	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/store"
)

// attribute fills in the affiliate (and player) of an event that does not name its affiliate: a chargeback,
// refund or reversal belongs to the affiliate and player of the event it undoes.
func attribute(tx *gorm.DB, integrationID string, ev postback.Event) (postback.Event, error) {
	if ev.AffiliateID != "" || ev.OriginalEventID == "" {
		return ev, nil
	}
	var orig store.Conversion
	err := tx.Where("integration_id = ? AND event_id = ?", integrationID, ev.OriginalEventID).Take(&orig).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ev, nil // unattributed: recorded, earns nothing
	}
	if err != nil {
		return ev, err
	}
	ev.AffiliateID = orig.AffiliateID
	if ev.PlayerID == "" {
		ev.PlayerID = orig.PlayerID
	}
	return ev, nil
}
