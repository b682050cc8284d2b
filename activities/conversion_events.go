package activities

import (
	"context"
	"fmt"

	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/store"
)

// planCommissionEvents announces every ledger entry of the conversion and of the chargebacks, refunds and
// reversals of it that arrived first and were applied just now. Announcing is keyed by entry, so a replay
// plans nothing twice.
func planCommissionEvents(ctx context.Context, tx *store.Store, conv store.Conversion) ([]DeliveryRef, error) {
	convs, err := tx.Conversions(ctx).WithUndoing(conv)
	if err != nil {
		return nil, err
	}
	ledger := tx.Ledger(ctx)
	var refs []DeliveryRef
	for _, c := range convs {
		entries, err := ledger.ConversionEntries(c.ID)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			reverses := ""
			if e.OriginalKey != "" {
				if reverses, err = ledger.EntryID(e.OriginalKey); err != nil {
					return nil, fmt.Errorf("entry %s adjusts %s: %w", e.ID, e.OriginalKey, err)
				}
			}
			planned, err := planWebhookEvent(tx.DB, eventplan.Commission(e, c, reverses))
			if err != nil {
				return nil, err
			}
			refs = append(refs, planned...)
		}
	}
	return refs, nil
}
