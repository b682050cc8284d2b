package activities

import (
	"fmt"

	"gorm.io/gorm"

	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/store"
)

// planCommissionEvents announces every ledger entry of the conversion and of the chargebacks, refunds and
// reversals of it that arrived first and were applied just now. Announcing is keyed by entry, so a replay
// plans nothing twice.
func planCommissionEvents(tx *gorm.DB, conv store.Conversion) ([]DeliveryRef, error) {
	var convs []store.Conversion
	if err := tx.Where("id = ? OR (integration_id = ? AND original_event_id = ?)", conv.ID, conv.IntegrationID, conv.EventID).
		Order("id").Find(&convs).Error; err != nil {
		return nil, err
	}
	var refs []DeliveryRef
	for _, c := range convs {
		var entries []store.LedgerEntry
		if err := tx.Where("conversion_id = ?", c.ID).Order("created_at, id").Find(&entries).Error; err != nil {
			return nil, err
		}
		for _, e := range entries {
			reverses := ""
			if e.OriginalKey != "" {
				var original store.LedgerEntry
				if err := tx.Select("id").Where("source_key = ?", e.OriginalKey).Take(&original).Error; err != nil {
					return nil, fmt.Errorf("entry %s adjusts %s: %w", e.ID, e.OriginalKey, err)
				}
				reverses = original.ID
			}
			planned, err := planWebhookEvent(tx, eventplan.Commission(e, c, reverses))
			if err != nil {
				return nil, err
			}
			refs = append(refs, planned...)
		}
	}
	return refs, nil
}
