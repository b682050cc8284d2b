package infra

import (
	"context"

	"github.com/affrelay/affrelay/store"
)

// Announcer starts the DeliveryWorkflows of the deliveries an announcement planned. Deliveries whose start
// failed are kept and started first at the next check, so a planned announcement is not left unsent while
// the process lives.
type Announcer struct {
	// Start starts the DeliveryWorkflows of an announcement's deliveries.
	Start     func(context.Context, []store.Delivery) error
	unstarted []store.Delivery
}

// startUnstarted starts what an earlier check could not.
func (a *Announcer) startUnstarted(ctx context.Context) error {
	if len(a.unstarted) == 0 {
		return nil
	}
	if err := a.Start(ctx, a.unstarted); err != nil {
		return err
	}
	a.unstarted = nil
	return nil
}

// announce starts an announcement's deliveries, keeping them for the next check if that fails.
func (a *Announcer) announce(ctx context.Context, deliveries []store.Delivery) error {
	if err := a.Start(ctx, deliveries); err != nil {
		a.unstarted = append(a.unstarted, deliveries...)
		return err
	}
	return nil
}
