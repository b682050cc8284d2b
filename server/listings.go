package server

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/affrelay/affrelay/money"
	"github.com/affrelay/affrelay/service/deliveries"
	"github.com/affrelay/affrelay/store"
)

// listPage reads the paging of an admin listing: ?after=<last id of the previous page>&limit=1..1000 (100)
// &from=&to= (RFC 3339, created in [from, to)); false means it answered 400.
func listPage(c *gin.Context) (store.ListPage, bool) {
	var p store.ListPage
	var ok bool
	if p.Limit, ok = queryLimit(c, 100); !ok {
		return p, false
	}
	p.After = c.Query("after")
	if p.From, ok = refireTime(c, "from", c.Query("from")); !ok {
		return p, false
	}
	if p.To, ok = refireTime(c, "to", c.Query("to")); !ok {
		return p, false
	}
	if !p.From.IsZero() && !p.To.IsZero() && !p.From.Before(p.To) {
		abortField(c, "to", "must be after from")
		return p, false
	}
	return p, true
}

// respondPage answers a page of items under name, with next_after (the last id) when the page is full.
func respondPage[T any](c *gin.Context, p store.ListPage, name string, items []T, id func(T) string, view func(T) any) {
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = view(it)
	}
	body := gin.H{name: out}
	if len(items) == p.Limit {
		body["next_after"] = id(items[len(items)-1])
	}
	c.JSON(http.StatusOK, body)
}

// listIntegrations pages through the integrations in id order.
func (h *handlers) listIntegrations(c *gin.Context) {
	p, ok := listPage(c)
	if !ok {
		return
	}
	list, err := h.o.Integrations.ListIntegrations(c, p)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	respondPage(c, p, "integrations", list, func(in store.Integration) string { return in.ID }, func(in store.Integration) any {
		return gin.H{"id": in.ID, "name": in.Name, "created_at": in.CreatedAt.UTC()}
	})
}

// listPostbackEndpoints pages through the postback endpoints in id order, of one affiliate with ?affiliate_id=.
func (h *handlers) listPostbackEndpoints(c *gin.Context) {
	p, ok := listPage(c)
	if !ok {
		return
	}
	list, err := h.o.Affiliates.Endpoints(c, c.Query("affiliate_id"), p)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	respondPage(c, p, "postback_endpoints", list, func(ep store.PostbackEndpoint) string { return ep.ID }, func(ep store.PostbackEndpoint) any {
		return endpointListJSON{endpointResponse(ep), ep.ConsecutiveFailures, ep.CreatedAt.UTC()}
	})
}

// endpointListJSON is an endpoint as listed: with its run of failures and when it was added.
type endpointListJSON struct {
	endpointJSON
	ConsecutiveFailures int       `json:"consecutive_failures"`
	CreatedAt           time.Time `json:"created_at"`
}

// deletePostbackEndpoint removes an endpoint: 204; its held deliveries are skipped, its pending ones go to
// needs_review at their next attempt.
func (h *handlers) deletePostbackEndpoint(c *gin.Context) {
	if err := h.o.Affiliates.DeletePostbackEndpoint(c, c.Param("id"), c.Param("endpoint_id")); err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// getConversion looks a conversion up by its integration and event id, with its deliveries' states.
func (h *handlers) getConversion(c *gin.Context) {
	cv, err := h.o.Conversions.Conversion(c, c.Param("integration"), c.Param("event_id"))
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	ds, err := h.o.Deliveries.List(c, deliveries.Filter{ConversionID: cv.ID, Limit: 1000}, "")
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	list := make([]gin.H, len(ds))
	for i, d := range ds {
		list[i] = gin.H{"id": d.ID, "kind": d.Kind, "event_type": d.EventType, "endpoint_id": d.EndpointID, "status": d.Status,
			"status_reason": d.StatusReason, "attempts": d.Attempts, "created_at": d.CreatedAt.UTC(), "delivered_at": d.DeliveredAt}
	}
	out := gin.H{
		"id": cv.ID, "integration_id": cv.IntegrationID, "event_id": cv.EventID, "event": cv.Event, "affiliate_id": cv.AffiliateID,
		"player_id": cv.PlayerID, "click_id": cv.ClickID, "occurred_at": cv.OccurredAt.UTC(), "created_at": cv.CreatedAt.UTC(),
		"workflow_id": cv.WorkflowID, "deliveries": list,
	}
	if cv.Currency != "" {
		out["amount"] = gin.H{"amount": money.Format(cv.AmountMinor, cv.Currency), "currency": cv.Currency}
	}
	c.JSON(http.StatusOK, out)
}
