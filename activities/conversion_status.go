package activities

import (
	"context"

	"go.temporal.io/sdk/temporal"

	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/store"
)

// ChangeConversionStatusInput is a later postback of a recorded event carrying another status.
type ChangeConversionStatusInput struct {
	IntegrationID string
	WorkflowID    string
	EventID       string
	Status        string
}

// ChangeConversionStatus applies a status change to a recorded conversion in one transaction. Approving it
// earns what it would have earned had it arrived approved (RecordConversion's earn: ledger, commission and lead
// events, postbacks, keyed), exactly once. A change postback.StatusChangeAllowed refuses does nothing. A
// replay by the same workflow (StatusWorkflowID) plans nothing new and returns what is still pending. A
// conversion not recorded yet is a non-retryable ErrTypeNotRecorded: the workflow waits and asks again.
func (a *Activities) ChangeConversionStatus(ctx context.Context, in ChangeConversionStatusInput) (RecordConversionResult, error) {
	res := RecordConversionResult{Policy: a.Policy, FirstAttemptTimeout: a.FirstAttemptTimeout}
	err := a.Store.Transaction(ctx, func(tx *store.Store) error {
		if err := store.LockKeys(tx.DB, "event:"+in.IntegrationID+":"+in.EventID); err != nil {
			return err
		}
		q := tx.Conversions(ctx)
		conv, ok, err := q.Event(in.IntegrationID, in.EventID)
		if err != nil {
			return err
		}
		if !ok {
			return temporal.NewNonRetryableApplicationError("conversion "+in.EventID+" is not recorded yet", ErrTypeNotRecorded, nil)
		}
		ev := recordedEvent(conv)
		// The ledger of a chargeback, refund or reversal is locked by the event it undoes, as when recording.
		if key := eventLockKey(in.IntegrationID, ev); key != "event:"+in.IntegrationID+":"+in.EventID {
			if err := store.LockKeys(tx.DB, key); err != nil {
				return err
			}
		}
		res.ConversionID, res.AffiliateID = conv.ID, conv.AffiliateID
		replay := conv.Status == in.Status && conv.StatusWorkflowID == in.WorkflowID
		if !replay {
			if !postback.StatusChangeAllowed(conv.Status, in.Status) {
				return nil
			}
			if err := q.SetStatus(conv.ID, in.Status, in.WorkflowID); err != nil {
				return err
			}
			conv.Status, conv.StatusWorkflowID = in.Status, in.WorkflowID
		}
		if conv.Status != postback.StatusApproved {
			return nil
		}
		first := conv
		if conv.PlayerID != "" {
			earlier, found, err := q.FirstAttributed(in.IntegrationID, conv.PlayerID)
			if err != nil {
				return err
			}
			if found {
				first = earlier
			}
		}
		return a.earn(ctx, tx, &recordingSubscriptions{tx: tx.DB}, conv, RecordConversionInput{IntegrationID: in.IntegrationID, WorkflowID: conv.WorkflowID, Event: ev}, first, !replay, &res)
	})
	return res, recordingError(in.WorkflowID, err)
}

// recordedEvent is a recorded conversion as the event it was recorded from, after attribution.
func recordedEvent(c store.Conversion) postback.Event {
	return postback.Event{
		EventID: c.EventID, Type: c.Event, AffiliateID: c.AffiliateID, PlayerID: c.PlayerID, ClickID: c.ClickID,
		AmountMinor: c.AmountMinor, Currency: c.Currency, OccurredAt: c.OccurredAt,
		Subs: [5]string{c.Sub1, c.Sub2, c.Sub3, c.Sub4, c.Sub5}, OriginalEventID: c.OriginalEventID, Status: c.Status,
		VolumeLots: c.VolumeLots, Instrument: c.Instrument,
	}
}
