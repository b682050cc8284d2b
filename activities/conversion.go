package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/affrelay/affrelay/apperr"
	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/evidence"
	"github.com/affrelay/affrelay/money"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/postbackurl"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
)

// RecordConversionInput is one accepted postback.
type RecordConversionInput struct {
	IntegrationID string
	WorkflowID    string
	Event         postback.Event
	// Request is the postback as received, stored with the conversion (nil when the event came otherwise).
	Request *evidence.Request `json:",omitempty"`
}

// DeliveryRef names a delivery the conversion workflow must start.
type DeliveryRef struct {
	ID          string
	EndpointID  string
	AffiliateID string
}

// RecordConversionResult says what was recorded. Policy is the worker's delivery policy, recorded in the
// workflow history so that every delivery of this conversion runs by the same rules.
type RecordConversionResult struct {
	ConversionID string
	// AffiliateID is the affiliate the event was attributed to (by click, player or original event), which
	// may differ from the affiliate_id it was sent with.
	AffiliateID string
	PayoutMinor int64
	Currency    string
	Deliveries  []DeliveryRef
	Policy      retrypolicy.Policy
	// FirstAttemptTimeout is the worker's delivery.first_attempt_timeout: when set, the workflow makes each
	// delivery's first attempt inline (zero in histories recorded before the inline first attempt existed).
	FirstAttemptTimeout time.Duration
}

// DeliveryID is the stable id of the delivery of one event to one endpoint; receivers see it as idempotency key.
func DeliveryID(integrationID, eventID, endpointID string) string {
	sum := sha256.Sum256([]byte(integrationID + "\x00" + eventID + "\x00" + endpointID))
	return "dlv_" + hex.EncodeToString(sum[:12])
}

// RecordConversion stores the conversion, its ledger entries and its pending deliveries in one transaction.
// Every insert is keyed, so running it again (activity retry, workflow reset) writes nothing new.
func (a *Activities) RecordConversion(ctx context.Context, in RecordConversionInput) (RecordConversionResult, error) {
	res := RecordConversionResult{Policy: a.Policy, FirstAttemptTimeout: a.FirstAttemptTimeout}
	err := a.Store.Transaction(ctx, func(tx *store.Store) error {
		if err := store.LockKeys(tx.DB, eventLockKey(in.IntegrationID, in.Event)); err != nil {
			return err
		}
		var err error
		var first store.Conversion
		var attributedBefore bool
		if in.Event, first, attributedBefore, err = attribute(tx.Conversions(ctx), in.IntegrationID, in.Event); err != nil {
			return err
		}
		conv, inserted, err := upsertConversion(tx.Conversions(ctx), in)
		if err != nil {
			return err
		}
		if err := storeRequest(tx.Conversions(ctx), in); err != nil {
			return err
		}
		if !attributedBefore {
			first = conv
		}
		res.ConversionID, res.AffiliateID = conv.ID, conv.AffiliateID
		// A replay keeps the attribution recorded the first time.
		in.Event.AffiliateID, in.Event.PlayerID = conv.AffiliateID, conv.PlayerID
		subs := &recordingSubscriptions{tx: tx.DB}
		if res.Deliveries, err = subs.plan(eventplan.ConversionRecorded(conv)); err != nil {
			return err
		}
		if conv.Status != postback.StatusApproved {
			return nil // pending or declined: recorded, earns nothing until approved
		}
		return a.earn(ctx, tx, subs, conv, in, first, inserted, &res)
	})
	return res, recordingError(in.WorkflowID, err)
}

// earn writes what an approved conversion earns: its ledger entries (only when inserted, i.e. not on a
// replay, which reads its payout back instead), the commission and lead events, and the affiliate's
// postbacks, all keyed; their pending deliveries go into res. first is the player's first attributed
// conversion; subs the subscriptions the transaction plans its events to. An unattributed conversion earns
// nothing.
func (a *Activities) earn(ctx context.Context, tx *store.Store, subs *recordingSubscriptions, conv store.Conversion, in RecordConversionInput, first store.Conversion, inserted bool, res *RecordConversionResult) error {
	if conv.AffiliateID == "" {
		return nil
	}
	if _, err := tx.Affiliates(ctx).Get(conv.AffiliateID, "affiliate"); err != nil {
		if errors.Is(err, apperr.ErrNotFound) {
			return nil // unattributed: recorded, earns nothing
		}
		return err
	}
	var err error
	if inserted {
		res.PayoutMinor, res.Currency, err = a.writeLedger(ctx, tx, conv)
	} else {
		res.PayoutMinor, res.Currency, err = conversionPayout(tx.Ledger(ctx), conv)
	}
	if err != nil {
		return err
	}
	commissions, own, err := planCommissionEvents(ctx, tx, subs, conv)
	if err != nil {
		return err
	}
	res.Deliveries = append(res.Deliveries, commissions...)
	ownEntries := func() ([]store.LedgerEntry, error) {
		if own != nil {
			return own, nil
		}
		return tx.Ledger(ctx).ConversionEntries(conv.ID) // not read for commission events: nobody subscribes to them
	}
	leads, err := planLeadEvent(ctx, tx, subs, conv, first, ownEntries)
	if err != nil {
		return err
	}
	res.Deliveries = append(res.Deliveries, leads...)
	postbacks, err := planDeliveries(ctx, tx, conv, in, res.PayoutMinor, res.Currency)
	res.Deliveries = append(postbacks, res.Deliveries...)
	return err
}

// recordingError is what the workflow sees of a failed recording: a missing FX rate as its own
// non-retryable type (nothing was written; the workflow waits for the rate and runs it again).
func recordingError(workflowID string, err error) error {
	if err == nil {
		return nil
	}
	var missing *MissingRate
	if errors.As(err, &missing) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeFXRateMissing, nil, *missing)
	}
	var typed *temporal.ApplicationError
	if errors.As(err, &typed) {
		return err // already says what the workflow needs to know
	}
	return fmt.Errorf("record conversion %s: %w", workflowID, err)
}

// ReportConversionProblemInput says why a conversion cannot be recorded yet: Type is webhook.FXRateMissing
// (with the missing rate) or webhook.ConversionStuck.
type ReportConversionProblemInput struct {
	Type string
	Data webhook.ConversionProblemData
}

// OpsEventResult lists the deliveries of an ops event (fx.rate_missing, conversion.stuck, delivery.stuck,
// delivery.unstuck), to start by Policy.
type OpsEventResult struct {
	Deliveries []DeliveryRef
	Policy     retrypolicy.Policy
}

// ReportConversionProblem plans the ops event of a conversion that waits (fx.rate_missing) or is stuck
// (conversion.stuck), once per workflow run, and logs it.
func (a *Activities) ReportConversionProblem(ctx context.Context, in ReportConversionProblemInput) (OpsEventResult, error) {
	info := activity.GetInfo(ctx)
	activity.GetLogger(ctx).Error("conversion cannot be recorded yet", "event_type", in.Type, "reason", in.Data.Reason)
	res := OpsEventResult{Policy: a.Policy}
	err := a.Store.Transaction(ctx, func(tx *store.Store) error {
		var err error
		res.Deliveries, err = planWebhookEvent(tx.DB, eventplan.ConversionProblem(in.Type, info.WorkflowExecution.RunID, time.Now().UTC(), in.Data))
		return err
	})
	return res, err
}

// upsertConversion inserts the conversion unless it is recorded already, and says whether it inserted it.
func upsertConversion(q store.ConversionQueries, in RecordConversionInput) (store.Conversion, bool, error) {
	ev := in.Event
	conv := store.Conversion{
		ID: store.NewID("cnv"), IntegrationID: in.IntegrationID, EventID: ev.EventID, Event: ev.Type,
		AffiliateID: ev.AffiliateID, PlayerID: ev.PlayerID, ClickID: ev.ClickID,
		AmountMinor: ev.AmountMinor, Currency: ev.Currency,
		Sub1: ev.Subs[0], Sub2: ev.Subs[1], Sub3: ev.Subs[2], Sub4: ev.Subs[3], Sub5: ev.Subs[4],
		OriginalEventID: ev.OriginalEventID, OccurredAt: ev.OccurredAt, WorkflowID: in.WorkflowID,
		Status: ev.Status, VolumeLots: ev.VolumeLots, Instrument: ev.Instrument,
	}
	if conv.Status == "" {
		conv.Status = postback.StatusApproved
	}
	inserted, err := q.Insert(&conv)
	if err != nil || inserted {
		return conv, inserted, err
	}
	// The insert did nothing when this event was recorded before: continue with the stored row.
	stored, _, err := q.Event(in.IntegrationID, ev.EventID)
	if err == nil && stored.ID == "" {
		err = fmt.Errorf("conversion %s of %s is neither inserted nor stored", ev.EventID, in.IntegrationID)
	}
	return stored, inserted, err
}

// storeRequest keeps the request the event was received in, once.
func storeRequest(q store.ConversionQueries, in RecordConversionInput) error {
	r := in.Request
	if r == nil {
		return nil
	}
	headers, err := json.Marshal(r.Headers)
	if err != nil {
		return err
	}
	return q.InsertRequest(&store.ConversionRequest{
		IntegrationID: in.IntegrationID, EventID: in.Event.EventID, RequestID: r.RequestID,
		Method: r.Method, Path: r.Path, Query: r.Query, Headers: string(headers),
		Body: r.Body, BodyEncoding: r.BodyEncoding, BodySize: int64(r.BodySize), BodySHA256: r.BodySHA256,
		ClientIP: r.ClientIP, KeyID: r.KeyID, SignatureVerdict: r.SignatureVerdict,
		ResponseStatus: r.ResponseStatus, ResponseBody: r.ResponseBody, ReceivedAt: r.ReceivedAt,
	})
}

// planDeliveries creates one delivery per endpoint of the affiliate subscribed to the event, with the URL (and
// body) rendered now, so every retry sends the same thing: pending, or held while the endpoint is disabled
// (re-enabling it sends or discards them), so nothing is lost while an affiliate's endpoint is off.
func planDeliveries(ctx context.Context, tx *store.Store, conv store.Conversion, in RecordConversionInput, payout int64, payoutCurrency string) ([]DeliveryRef, error) {
	endpoints, err := tx.Affiliates(ctx).Endpoints(in.Event.AffiliateID)
	if err != nil {
		return nil, err
	}
	values := macroValues(in.Event, payout, payoutCurrency)
	var refs []DeliveryRef
	for _, ep := range endpoints {
		if !webhook.Subscribed(ep.Events, in.Event.Type) {
			continue
		}
		d := store.Delivery{
			ID: DeliveryID(in.IntegrationID, in.Event.EventID, ep.ID), Kind: store.DeliveryKindPostback, EndpointID: ep.ID,
			EventType:    in.Event.Type,
			ConversionID: conv.ID, IntegrationID: in.IntegrationID, AffiliateID: in.Event.AffiliateID,
			EventID: in.Event.EventID, Method: ep.Method, URL: postbackurl.Render(ep.URL, values),
			Status: eventplan.PlannedStatus(ep.Enabled),
		}
		if ep.Method == "POST" {
			body, err := json.Marshal(values)
			if err != nil {
				return nil, err
			}
			d.Body = string(body)
		}
		pending, err := store.InsertDelivery(tx.DB, &d)
		if err != nil {
			return nil, err
		}
		if pending {
			refs = append(refs, DeliveryRef{ID: d.ID, EndpointID: ep.ID, AffiliateID: d.AffiliateID})
		}
	}
	return refs, nil
}

func macroValues(ev postback.Event, payout int64, payoutCurrency string) map[string]string {
	currency := payoutCurrency
	if currency == "" {
		currency = ev.Currency
	}
	v := map[string]string{
		postbackurl.ClickID:       ev.ClickID,
		postbackurl.Event:         ev.Type,
		postbackurl.EventID:       ev.EventID,
		postbackurl.TransactionID: ev.EventID,
		postbackurl.PlayerID:      ev.PlayerID,
		postbackurl.AffiliateID:   ev.AffiliateID,
		postbackurl.Currency:      currency,
		postbackurl.Payout:        "0",
		postbackurl.Timestamp:     strconv.FormatInt(ev.OccurredAt.Unix(), 10),
	}
	if currency != "" {
		v[postbackurl.Payout] = money.Format(payout, currency)
	}
	if ev.Currency != "" {
		v[postbackurl.Amount] = money.Format(ev.AmountMinor, ev.Currency)
	}
	if ev.Type == postback.Trade {
		v[postbackurl.Volume], v[postbackurl.Instrument] = postback.FormatLots(ev.VolumeLots), ev.Instrument
	}
	for i, s := range ev.Subs {
		v[postback.SubFields[i]] = s
	}
	return v
}
