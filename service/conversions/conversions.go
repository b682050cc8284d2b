// Package conversions is the application service for inbound conversion events: accepting postbacks (by
// starting ConversionWorkflow), recording tracking-link clicks, and listing what could not be attributed.
package conversions

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/affrelay/affrelay/apperr"
	"github.com/affrelay/affrelay/evidence"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/service/start"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/workflows"
)

// Service accepts events and clicks.
type Service struct {
	Store *store.Store
	Start start.Starter
}

// Submission is the answer to a postback.
type Submission struct {
	Duplicate bool
	// StatusChange: the event was recorded with another status; the change is being applied.
	StatusChange bool
	WorkflowID   string
}

// Ack is the body of the answer to an acknowledged postback; status is "accepted" or "duplicate".
func Ack(status, eventID, workflowID string) map[string]string {
	return map[string]string{"status": status, "event_id": eventID, "workflow_id": workflowID}
}

// SubmitPostback starts the conversion workflow for the event. It returns only once Temporal has durably
// accepted the start, or recognised the event as already seen. A recorded event sent again with another
// status starts its status change instead (once per status).
// req is the request as received; it is kept with the answer sent when it is accepted (Ack with status
// "accepted" and code 200): the workflow input carries it to the conversion's record.
func (s *Service) SubmitPostback(ctx context.Context, integrationID string, ev postback.Event, req *evidence.Request) (Submission, error) {
	id := workflows.ConversionWorkflowID(integrationID, ev.EventID)
	// Temporal forgets closed workflows after its retention period; the database remembers every event for ever.
	status, recorded, err := s.Store.ReadOnly().Conversions(ctx).Recorded(integrationID, ev.EventID)
	if err != nil {
		return Submission{}, err
	}
	if recorded {
		if ev.Status == "" || ev.Status == status {
			return Submission{Duplicate: true, WorkflowID: id}, nil
		}
		if !postback.StatusChangeAllowed(status, ev.Status) {
			return Submission{}, apperr.Conflict("event %s is %s and cannot become %s: undo what an approved event earned with a chargeback, refund or reversal", ev.EventID, status, ev.Status)
		}
		return s.changeStatus(ctx, integrationID, ev)
	}
	attrs := []temporal.SearchAttributeUpdate{workflows.IntegrationIDKey.ValueSet(integrationID), workflows.EventIDKey.ValueSet(ev.EventID)}
	if ev.AffiliateID != "" {
		attrs = append(attrs, workflows.AffiliateIDKey.ValueSet(ev.AffiliateID))
	}
	if req != nil {
		ack, err := json.Marshal(Ack("accepted", ev.EventID, id))
		if err != nil {
			return Submission{}, err
		}
		req.ResponseStatus, req.ResponseBody = http.StatusOK, string(ack)
	}
	duplicate, err := s.Start.Once(ctx, id, attrs, workflows.ConversionWorkflow, workflows.ConversionInput{IntegrationID: integrationID, Event: ev, Request: req})
	if err != nil {
		return Submission{}, err
	}
	if duplicate && ev.Status != "" {
		// The event is still being recorded, perhaps with another status: the change waits for it, and does
		// nothing if the status is the same. The sender still hears of a duplicate.
		if _, err := s.changeStatus(ctx, integrationID, ev); err != nil {
			return Submission{}, err
		}
	}
	return Submission{Duplicate: duplicate, WorkflowID: id}, nil
}

// Conversion looks up a conversion by its integration and event id.
func (s *Service) Conversion(ctx context.Context, integrationID, eventID string) (store.Conversion, error) {
	c, ok, err := s.Store.Conversions(ctx).Event(integrationID, eventID)
	if err == nil && !ok {
		err = apperr.NotFound("conversion " + eventID + " of integration " + integrationID)
	}
	return c, err
}

// ReceivedRequest returns the request the integration's event was received in, as kept with its conversion.
func (s *Service) ReceivedRequest(ctx context.Context, integrationID, eventID string) (evidence.Request, error) {
	q := s.Store.Conversions(ctx)
	r, ok, err := q.Request(integrationID, eventID)
	if err != nil || !ok {
		if err == nil {
			err = s.noRequest(q, integrationID, eventID)
		}
		return evidence.Request{}, err
	}
	out := evidence.Request{
		RequestID: r.RequestID, Method: r.Method, Path: r.Path, Query: r.Query,
		Body: r.Body, BodyEncoding: r.BodyEncoding, BodySize: int(r.BodySize), BodySHA256: r.BodySHA256,
		ClientIP: r.ClientIP, ReceivedAt: r.ReceivedAt.UTC(), KeyID: r.KeyID, SignatureVerdict: r.SignatureVerdict,
		ResponseStatus: r.ResponseStatus, ResponseBody: r.ResponseBody,
	}
	return out, json.Unmarshal([]byte(r.Headers), &out.Headers)
}

// PruneReceivedRequests deletes the requests received before before and returns how many went.
func (s *Service) PruneReceivedRequests(ctx context.Context, before time.Time) (int64, error) {
	return s.Store.Conversions(ctx).PruneRequestsBefore(before)
}

// noRequest says why no request is kept for the event: it is unknown, or it was recorded without one (sent
// before requests were kept, pruned after evidence.request_retention, or imported by reconciliation).
func (s *Service) noRequest(q store.ConversionQueries, integrationID, eventID string) error {
	_, recorded, err := q.Event(integrationID, eventID)
	switch {
	case err != nil:
		return err
	case recorded:
		return apperr.NotFound(fmt.Sprintf("request of event %s of integration %s: the conversion is recorded but its request is not kept (received before requests were kept, pruned after the retention, or imported by reconciliation)", eventID, integrationID))
	}
	return apperr.NotFound(fmt.Sprintf("event %s of integration %s", eventID, integrationID))
}

// changeStatus starts the status change of a recorded event, once per status.
func (s *Service) changeStatus(ctx context.Context, integrationID string, ev postback.Event) (Submission, error) {
	id := workflows.ConversionStatusWorkflowID(integrationID, ev.EventID, ev.Status)
	attrs := []temporal.SearchAttributeUpdate{workflows.IntegrationIDKey.ValueSet(integrationID), workflows.EventIDKey.ValueSet(ev.EventID)}
	duplicate, err := s.Start.Once(ctx, id, attrs, workflows.ConversionWorkflow, workflows.ConversionInput{IntegrationID: integrationID, Event: ev, StatusChange: true})
	if err != nil {
		return Submission{}, err
	}
	return Submission{Duplicate: duplicate, StatusChange: !duplicate, WorkflowID: id}, nil
}

// RecordClick records a visit through a tracking link and returns the URL to redirect to: the landing URL
// with click_id added. The landing host must be on an integration's allowlist (no open redirect); the click
// belongs to that integration. An unknown affiliate code is recorded as it is: the click shows up later as
// unattributed rather than being lost.
func (s *Service) RecordClick(ctx context.Context, affiliateCode string, subs [5]string, landing, visitor string) (store.Click, string, error) {
	u, err := url.Parse(landing)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return store.Click{}, "", apperr.Invalid("to", fmt.Sprintf("landing URL not allowed: %q is not an absolute http(s) URL without credentials", landing))
	}
	host := strings.ToLower(u.Hostname())
	candidates, err := s.Store.Integrations(ctx).WithLandingHostLike(host)
	if err != nil {
		return store.Click{}, "", err
	}
	integrationID := ""
	for _, in := range candidates {
		for _, h := range strings.Split(in.LandingHosts, ",") {
			if h == host && integrationID == "" {
				integrationID = in.ID
			}
		}
	}
	if integrationID == "" {
		return store.Click{}, "", apperr.Invalid("to", "landing URL not allowed: "+host+" is not on any integration's landing host allowlist")
	}
	c := store.Click{
		ID: store.NewID("clk"), AffiliateID: affiliateCode, IntegrationID: integrationID, LandingURL: landing,
		Sub1: subs[0], Sub2: subs[1], Sub3: subs[2], Sub4: subs[3], Sub5: subs[4], Visitor: visitor,
		CreatedAt: time.Now().UTC(), // UTC like every recorded time: reports group clicks by UTC day
	}
	if err := s.Store.Conversions(ctx).CreateClick(&c); err != nil {
		return c, "", err
	}
	q := u.Query()
	q.Set("click_id", c.ID)
	u.RawQuery = q.Encode()
	return c, u.String(), nil
}

// Unattributed is a recorded conversion that earns no affiliate, and why.
type Unattributed struct {
	store.Conversion
	Reason string
}

// UnattributedConversions lists conversions recorded in [from, to) that belong to no known affiliate.
func (s *Service) UnattributedConversions(ctx context.Context, from, to time.Time, limit int) ([]Unattributed, error) {
	rows, err := s.Store.Conversions(ctx).Unattributed(from, to, limit)
	out := make([]Unattributed, len(rows))
	for i, c := range rows {
		out[i] = Unattributed{Conversion: c, Reason: unattributedReason(c)}
	}
	return out, err
}

func unattributedReason(c store.Conversion) string {
	switch {
	case c.AffiliateID != "":
		return "unknown affiliate " + c.AffiliateID
	case c.ClickID != "":
		return "unknown click " + c.ClickID
	case c.OriginalEventID != "":
		return "original event " + c.OriginalEventID + " unknown or unattributed"
	}
	return "no affiliate_id or click_id"
}
