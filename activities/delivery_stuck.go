package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
)

// ReportDeliveryStuckInput announces one stuck episode of a delivery: Type is webhook.DeliveryStuck or
// webhook.DeliveryUnstuck, Episode names the episode (workflow run and number).
type ReportDeliveryStuckInput struct {
	Type    string
	Episode string
	Data    webhook.DeliveryStuckData
}

// ReportDeliveryStuck plans delivery.stuck or delivery.unstuck for a delivery whose state change could not be
// stored, once per episode. It is a write of its own, separate from the failing one: when the database itself
// is what fails, this fails too, and the workflow plans it on a later try, once the store answers again.
func (a *Activities) ReportDeliveryStuck(ctx context.Context, in ReportDeliveryStuckInput) (OpsEventResult, error) {
	res := OpsEventResult{Policy: a.Policy}
	err := a.Store.Transaction(ctx, func(tx *store.Store) error {
		d, err := tx.Deliveries(ctx).Get(in.Data.DeliveryID)
		if err != nil {
			return notFound(err, "delivery "+in.Data.DeliveryID)
		}
		ev, ok := eventplan.DeliveryStuck(in.Type, in.Episode, time.Now().UTC(), d, in.Data)
		if !ok {
			return nil
		}
		res.Deliveries, err = planWebhookEvent(tx.DB, ev)
		return err
	})
	if err == nil {
		activity.GetLogger(ctx).Info("delivery stuck episode announced", "event_type", in.Type, "delivery_id", in.Data.DeliveryID)
	}
	return res, err
}
