package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gin-gonic/gin"

	"github.com/affrelay/affrelay/money"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/postbackurl"
	"github.com/affrelay/affrelay/service/affiliates"
	"github.com/affrelay/affrelay/service/deliveries"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
)

func (h *handlers) createIntegration(c *gin.Context) {
	var req struct {
		Name string `json:"name"`
	}
	if !decodeJSON(c, &req) {
		return
	}
	if msg := checkName(req.Name); msg != "" {
		abortField(c, "name", msg)
		return
	}
	in, key, err := h.o.Integrations.CreateIntegration(c, req.Name)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"id": in.ID, "name": in.Name, "api_key": key, "created_at": in.CreatedAt})
}

func (h *handlers) createAffiliate(c *gin.Context) {
	var req struct {
		Name   string      `json:"name"`
		Email  string      `json:"email"`
		Plan   *planJSON   `json:"plan"`
		Parent *parentJSON `json:"parent"`
	}
	if !decodeJSON(c, &req) {
		return
	}
	if msg := checkName(req.Name); msg != "" {
		abortField(c, "name", msg)
		return
	}
	if len(req.Email) > 320 || (req.Email != "" && !strings.Contains(req.Email, "@")) {
		abortField(c, "email", "is not an email address")
		return
	}
	if req.Plan == nil {
		abortField(c, "plan", "is required")
		return
	}
	if req.Plan.EffectiveFrom != nil {
		abortField(c, "plan.effective_from", "is not set on the first version, which applies from the start; add later versions with POST /v1/admin/affiliates/{id}/plans")
		return
	}
	plan, ok := parsePlan(c, "plan.", *req.Plan)
	if !ok {
		return
	}
	parentID, share, ok := parseParent(c, req.Parent)
	if !ok {
		return
	}
	aff, plan, workflowID, err := h.o.Affiliates.SignUpAffiliate(c, affiliates.NewAffiliate{
		Name: req.Name, Email: req.Email, Plan: plan, ParentID: parentID, ParentShareBP: share,
	})
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{
		"id": aff.ID, "name": aff.Name, "email": aff.Email, "created_at": aff.CreatedAt,
		"plan": planResponse(plan), "parent": parentResponse(aff), "signup_workflow_id": workflowID,
	})
}

type endpointJSON struct {
	ID             string   `json:"id"`
	AffiliateID    string   `json:"affiliate_id"`
	URL            string   `json:"url"`
	Method         string   `json:"method"`
	Events         []string `json:"events"`
	Enabled        bool     `json:"enabled"`
	DisabledReason string   `json:"disabled_reason,omitempty"`
	ownLimitsJSON
}

func endpointResponse(ep store.PostbackEndpoint) endpointJSON {
	return endpointJSON{
		ID: ep.ID, AffiliateID: ep.AffiliateID, URL: ep.URL, Method: ep.Method,
		Events: strings.Split(ep.Events, ","), Enabled: ep.Enabled, DisabledReason: ep.DisabledReason,
		ownLimitsJSON: ownLimitsResponse(ep.Limits),
	}
}

// ownLimitsJSON is a receiver's own limits as shown; absent means the defaults (delivery.target_max_rps,
// delivery.target_max_in_flight).
type ownLimitsJSON struct {
	MaxRPS      float64 `json:"max_rps,omitempty"`
	MaxInFlight int     `json:"max_in_flight,omitempty"`
}

func ownLimitsResponse(l store.TargetLimits) ownLimitsJSON {
	return ownLimitsJSON{MaxRPS: l.MaxRPS, MaxInFlight: l.MaxInFlight}
}

// ownLimitsRequest sets a receiver's own limits in a create or PATCH body; 0 sets the default again.
type ownLimitsRequest struct {
	MaxRPS      *float64 `json:"max_rps"`
	MaxInFlight *int     `json:"max_in_flight"`
}

func (r ownLimitsRequest) set() bool { return r.MaxRPS != nil || r.MaxInFlight != nil }

func (r ownLimitsRequest) limits() store.TargetLimits {
	return store.TargetLimits{}.With(r.MaxRPS, r.MaxInFlight)
}

func (h *handlers) addPostbackEndpoint(c *gin.Context) {
	var req struct {
		URL    string   `json:"url"`
		Method string   `json:"method"`
		Events []string `json:"events"`
		ownLimitsRequest
	}
	if !decodeJSON(c, &req) {
		return
	}
	if err := postbackurl.Validate(req.URL); err != nil {
		abortField(c, "url", err.Error())
		return
	}
	if req.Method == "" {
		req.Method = http.MethodGet
	}
	if req.Method != http.MethodGet && req.Method != http.MethodPost {
		abortField(c, "method", fmt.Sprintf("%q is not GET or POST", req.Method))
		return
	}
	if len(req.Events) == 0 {
		abortField(c, "events", "must name at least one event")
		return
	}
	if listTooLong(c, "events", len(req.Events), len(postback.EventTypes)) {
		return
	}
	seen := map[string]bool{}
	for _, e := range req.Events {
		if !slices.Contains(postback.EventTypes, e) {
			abortField(c, "events", fmt.Sprintf("%q is not one of %s", e, strings.Join(postback.EventTypes, ", ")))
			return
		}
		if seen[e] {
			abortField(c, "events", fmt.Sprintf("%q is listed twice", e))
			return
		}
		seen[e] = true
	}
	ep, err := h.o.Affiliates.AddPostbackEndpoint(c, store.PostbackEndpoint{
		AffiliateID: c.Param("id"), URL: req.URL, Method: req.Method, Events: strings.Join(req.Events, ","),
		Limits: req.limits(),
	})
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusCreated, endpointResponse(ep))
}

func (h *handlers) updatePostbackEndpoint(c *gin.Context) {
	var req struct {
		Enabled *bool `json:"enabled"`
		ownLimitsRequest
		heldChoice
	}
	if !decodeJSON(c, &req) {
		return
	}
	if req.Enabled == nil && !req.ownLimitsRequest.set() {
		abortField(c, "enabled", "set at least one of enabled, max_rps, max_in_flight")
		return
	}
	enabling := req.Enabled != nil && *req.Enabled
	if !req.check(c, enabling) {
		return
	}
	ep, err := h.o.Affiliates.UpdatePostbackEndpoint(c, c.Param("id"), c.Param("endpoint_id"), affiliates.EndpointUpdate{
		Enabled: req.Enabled, MaxRPS: req.MaxRPS, MaxInFlight: req.MaxInFlight,
	})
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	out := gin.H{}
	if enabling && !h.releaseHeld(c, ep.ID, req.heldChoice, out) {
		return
	}
	c.JSON(http.StatusOK, endpointWithHeld{endpointResponse(ep), out["held"]})
}

// endpointWithHeld is an endpoint and, after re-enabling it, what became of its held deliveries.
type endpointWithHeld struct {
	endpointJSON
	Held any `json:"held,omitempty"`
}

// heldChoice is what re-enabling an endpoint or subscription does with the deliveries held while it was
// disabled: "send" them (the default) or "discard" them, with a reason stored with each.
type heldChoice struct {
	Held   string `json:"held"`
	Reason string `json:"reason"`
}

// check validates the choice; false means it answered 400.
func (hc *heldChoice) check(c *gin.Context, enabling bool) bool {
	if !enabling && (hc.Held != "" || hc.Reason != "") {
		abortField(c, "held", "applies only when enabling (\"enabled\":true)")
		return false
	}
	switch hc.Held {
	case "":
		hc.Held = deliveries.HeldSend
	case deliveries.HeldSend, deliveries.HeldDiscard:
	default:
		abortField(c, "held", fmt.Sprintf("%q is not send or discard", hc.Held))
		return false
	}
	if hc.Reason == "" && hc.Held == deliveries.HeldSend {
		hc.Reason = "target re-enabled"
		return true
	}
	if msg := checkReason(hc.Reason); msg != "" {
		abortField(c, "reason", msg)
		return false
	}
	return true
}

// releaseHeld sends or discards the target's held deliveries and puts the outcome in out["held"]; false means
// it answered with the error.
func (h *handlers) releaseHeld(c *gin.Context, targetID string, hc heldChoice, out gin.H) bool {
	r, err := h.o.Deliveries.ReleaseHeld(c, targetID, hc.Held, hc.Reason)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return false
	}
	held := gin.H{"action": r.Action, "count": r.Count, "reason": hc.Reason}
	if r.JobID != "" {
		held["job_id"] = r.JobID
	}
	out["held"] = held
	return true
}

type attemptJSON struct {
	Number       int       `json:"number"`
	StartedAt    time.Time `json:"started_at"`
	DurationMS   int64     `json:"duration_ms"`
	StatusCode   int       `json:"status_code,omitempty"`
	ResponseBody string    `json:"response_body,omitempty"`
	Error        string    `json:"error,omitempty"`
	// URL and RequestHeaders are the request as sent (absent on attempts made before they were kept).
	URL            string          `json:"url,omitempty"`
	RequestHeaders json.RawMessage `json:"request_headers,omitempty"`
}

type deliveryJSON struct {
	ID           string        `json:"id"`
	Kind         string        `json:"kind"`
	EventType    string        `json:"event_type,omitempty"`
	Status       string        `json:"status"`
	StatusReason string        `json:"status_reason,omitempty"`
	EndpointID   string        `json:"endpoint_id"`
	AffiliateID  string        `json:"affiliate_id"`
	EventID      string        `json:"event_id"`
	Method       string        `json:"method"`
	URL          string        `json:"url"`
	Attempts     []attemptJSON `json:"attempts"`
	Refires      []refireJSON  `json:"refires,omitempty"`
	CreatedAt    time.Time     `json:"created_at"`
	DeliveredAt  *time.Time    `json:"delivered_at,omitempty"`
}

type refireJSON struct {
	Reason         string    `json:"reason"`
	PreviousStatus string    `json:"previous_status"`
	JobID          string    `json:"job_id,omitempty"`
	RequestedAt    time.Time `json:"requested_at"`
}

var deliveryStatuses = []string{store.DeliveryPending, store.DeliveryDelivered, store.DeliveryNeedsReview, store.DeliverySkipped, store.DeliveryHeld}

func (h *handlers) listDeliveries(c *gin.Context) {
	f := deliveries.Filter{
		Status: c.Query("status"), AffiliateID: c.Query("affiliate_id"), EventID: c.Query("event_id"),
	}
	if f.Status != "" && !slices.Contains(deliveryStatuses, f.Status) {
		abortField(c, "status", fmt.Sprintf("%q is not one of %s", f.Status, strings.Join(deliveryStatuses, ", ")))
		return
	}
	p, ok := listPage(c)
	if !ok {
		return
	}
	f.Limit, f.From, f.To = p.Limit, p.From, p.To
	ds, err := h.o.Deliveries.List(c, f, p.After)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	out := make([]deliveryJSON, 0, len(ds))
	for _, d := range ds {
		dj := deliveryJSON{
			ID: d.ID, Kind: d.Kind, EventType: d.EventType, Status: d.Status, StatusReason: d.StatusReason, EndpointID: d.EndpointID,
			AffiliateID: d.AffiliateID, EventID: d.EventID, Method: d.Method, URL: d.URL,
			Attempts: make([]attemptJSON, 0, len(d.AttemptLog)), CreatedAt: d.CreatedAt, DeliveredAt: d.DeliveredAt,
		}
		for _, a := range d.AttemptLog {
			dj.Attempts = append(dj.Attempts, attemptJSON{
				Number: a.Number, StartedAt: a.StartedAt, DurationMS: a.DurationMS, StatusCode: a.StatusCode,
				ResponseBody: a.ResponseBody, Error: a.Error, URL: a.URL,
			})
			if a.RequestHeaders != "" {
				dj.Attempts[len(dj.Attempts)-1].RequestHeaders = json.RawMessage(a.RequestHeaders)
			}
		}
		for _, r := range d.Refires {
			dj.Refires = append(dj.Refires, refireJSON{Reason: r.Reason, PreviousStatus: r.PreviousStatus, JobID: r.JobID, RequestedAt: r.RequestedAt.UTC()})
		}
		out = append(out, dj)
	}
	body := gin.H{"deliveries": out}
	if len(ds) == p.Limit {
		body["next_after"] = ds[len(ds)-1].ID
	}
	c.JSON(http.StatusOK, body)
}

// refireDelivery re-fires one delivery, whatever its state but pending, with the operator's reason.
func (h *handlers) refireDelivery(c *gin.Context) {
	var req struct {
		Reason string `json:"reason"`
	}
	if !decodeJSON(c, &req) {
		return
	}
	if msg := checkReason(req.Reason); msg != "" {
		abortField(c, "reason", msg)
		return
	}
	d, err := h.o.Deliveries.Refire(c, c.Param("id"), req.Reason)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"delivery_id": d.ID, "requested": "refire", "previous_status": d.Status, "reason": req.Reason})
}

type targetDepthJSON struct {
	Kind        string           `json:"kind"`
	TargetID    string           `json:"target_id"`
	AffiliateID string           `json:"affiliate_id,omitempty"`
	Total       int64            `json:"total"`
	ByState     map[string]int64 `json:"by_state"`
}

type failingTargetJSON struct {
	Kind           string     `json:"kind"`
	TargetID       string     `json:"target_id"`
	Failing        int64      `json:"failing"`
	LastError      string     `json:"last_error,omitempty"`
	LastStatusCode int        `json:"last_status_code,omitempty"`
	LastAttemptAt  *time.Time `json:"last_attempt_at,omitempty"`
}

type alarmJSON struct {
	Alarm     string    `json:"alarm"`
	Firing    bool      `json:"firing"`
	Depth     int64     `json:"depth"`
	ChangedAt time.Time `json:"changed_at"`
}

// queue answers the undelivered queue: depth by state and by target (the limit largest), the oldest pending
// delivery, the targets failing most with their last error, and the alarms.
func (h *handlers) queue(c *gin.Context) {
	limit, ok := queryLimit(c, 100)
	if !ok {
		return
	}
	r, err := h.o.Deliveries.Queue(c)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	out := gin.H{"total": r.Total, "by_state": r.ByState, "oldest_pending_at": nil, "oldest_pending_age_seconds": 0}
	if r.OldestPending != nil {
		out["oldest_pending_at"] = r.OldestPending.UTC()
		out["oldest_pending_age_seconds"] = max(0, int64(h.o.Now().Sub(*r.OldestPending).Seconds()))
	}
	targets := make([]targetDepthJSON, 0, min(limit, len(r.ByTarget)))
	for _, t := range r.ByTarget[:min(limit, len(r.ByTarget))] {
		targets = append(targets, targetDepthJSON{Kind: t.Kind, TargetID: t.TargetID, AffiliateID: t.AffiliateID, Total: t.Total, ByState: t.ByState})
	}
	failing := make([]failingTargetJSON, 0, len(r.TopFailing))
	for _, t := range r.TopFailing {
		failing = append(failing, failingTargetJSON{Kind: t.Kind, TargetID: t.TargetID, Failing: t.Failing,
			LastError: t.LastError, LastStatusCode: t.LastStatusCode, LastAttemptAt: t.LastAttemptAt})
	}
	alarms := make([]alarmJSON, 0, len(r.Alarms))
	for _, a := range r.Alarms {
		alarms = append(alarms, alarmJSON{Alarm: a.Key, Firing: a.Firing, Depth: a.Depth, ChangedAt: a.ChangedAt.UTC()})
	}
	out["by_target"], out["targets"], out["top_failing"], out["alarms"] = targets, len(r.ByTarget), failing, alarms
	c.JSON(http.StatusOK, out)
}

// decideDelivery answers an operator's decision on a delivery in needs_review; requested names it in the answer.
func (h *handlers) decideDelivery(requested string, decide func(d Deliveries, ctx context.Context, deliveryID string) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := decide(h.o.Deliveries, c, c.Param("id")); err != nil {
			serviceError(c, h.o.Logger, err)
			return
		}
		c.JSON(http.StatusAccepted, gin.H{"delivery_id": c.Param("id"), "requested": requested})
	}
}

// queryLimit reads the limit query parameter (1 to 1000, def when absent); false means it answered 400.
func queryLimit(c *gin.Context, def int) (int, bool) {
	l := c.Query("limit")
	if l == "" {
		return def, true
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 || n > 1000 {
		abortField(c, "limit", "must be a whole number from 1 to 1000")
		return 0, false
	}
	return n, true
}

// checkReason checks an operator's reason for an action: required, at most 512 bytes, no control characters.
func checkReason(reason string) string {
	switch {
	case strings.TrimSpace(reason) == "":
		return "is required: say why (it is stored with the action)"
	case len(reason) > 512:
		return "is longer than 512 bytes"
	case strings.ContainsFunc(reason, unicode.IsControl):
		return "must not contain control characters"
	}
	return ""
}

func checkName(name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return "is required"
	case len(name) > 128:
		return "is longer than 128 bytes"
	case strings.TrimSpace(name) != name:
		return "must not start or end with white space"
	case strings.ContainsFunc(name, unicode.IsControl):
		return "must not contain control characters" // PostgreSQL refuses NUL in text
	}
	return ""
}

// getAffiliate answers an affiliate's registration data and link parameters, as affiliate.created carries them.
func (h *handlers) getAffiliate(c *gin.Context) {
	reg, err := h.o.Affiliates.Registration(c, c.Param("id"))
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusOK, reg)
}

// listAffiliates pages through the affiliates in id order (after, limit, from, to) with their plan and balance.
func (h *handlers) listAffiliates(c *gin.Context) {
	p, ok := listPage(c)
	if !ok {
		return
	}
	list, err := h.o.Affiliates.ListAffiliates(c, p)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	respondPage(c, p, "affiliates", list, func(a affiliates.ListedAffiliate) string { return a.AffiliateID }, func(a affiliates.ListedAffiliate) any {
		balances := make([]gin.H, len(a.Balances))
		for i, b := range a.Balances {
			f := func(v int64) string { return money.Format(v, b.Currency) }
			balances[i] = gin.H{"currency": b.Currency, "amount": f(b.TotalMinor), "on_hold": f(b.OnHoldMinor), "paid": f(b.PaidMinor)}
		}
		return listedAffiliateJSON{a.AffiliateData, balances}
	})
}

// listedAffiliateJSON is an affiliate as listed: its registration data (with its plan) and balance per currency.
type listedAffiliateJSON struct {
	webhook.AffiliateData
	Balances []gin.H `json:"balances"`
}
