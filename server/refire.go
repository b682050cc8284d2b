package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/gin-gonic/gin"

	"github.com/affrelay/affrelay/service/deliveries"
	"github.com/affrelay/affrelay/store"
)

// Bounds of a bulk re-fire request.
const (
	maxRefireEventIDs = 1000
	maxRefireRate     = 1000
)

// startRefireJob validates a bulk re-fire's filter and starts its job: 202 with the count and the job id, or
// 200 with count 0 when nothing matches. A filter with no status, no time range and no event ids would
// re-fire everything: it needs "all":true.
func (h *handlers) startRefireJob(c *gin.Context) {
	var req struct {
		Reason         string   `json:"reason"`
		Status         string   `json:"status"`
		AffiliateID    string   `json:"affiliate_id"`
		EndpointID     string   `json:"endpoint_id"`
		SubscriptionID string   `json:"subscription_id"`
		EventType      string   `json:"event_type"`
		From           string   `json:"from"`
		To             string   `json:"to"`
		EventIDs       []string `json:"event_ids"`
		All            bool     `json:"all"`
		RatePerSecond  int      `json:"rate_per_second"`
	}
	if !decodeJSON(c, &req) {
		return
	}
	if msg := checkReason(req.Reason); msg != "" {
		abortField(c, "reason", msg)
		return
	}
	f := store.RefireFilter{AffiliateID: req.AffiliateID, EndpointID: req.EndpointID, EventType: req.EventType, EventIDs: req.EventIDs}
	if req.Status != "" {
		if !slices.Contains(store.RefirableStatuses, req.Status) {
			abortField(c, "status", fmt.Sprintf("%q is not one of %s (pending deliveries are being attempted already)", req.Status, strings.Join(store.RefirableStatuses, ", ")))
			return
		}
		f.Statuses = []string{req.Status}
	}
	if req.SubscriptionID != "" {
		if req.EndpointID != "" {
			abortField(c, "subscription_id", "names a target as endpoint_id does: give one of them")
			return
		}
		f.EndpointID = req.SubscriptionID
	}
	for name, v := range map[string]string{"affiliate_id": f.AffiliateID, "endpoint_id": req.EndpointID, "subscription_id": req.SubscriptionID, "event_type": f.EventType} {
		if len(v) > 128 || strings.ContainsFunc(v, unicode.IsControl) {
			abortField(c, name, "is longer than 128 bytes or has control characters")
			return
		}
	}
	var ok bool
	if f.From, ok = refireTime(c, "from", req.From); !ok {
		return
	}
	if f.To, ok = refireTime(c, "to", req.To); !ok {
		return
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		abortField(c, "to", "must be after from")
		return
	}
	if listTooLong(c, "event_ids", len(req.EventIDs), maxRefireEventIDs) {
		return
	}
	for _, id := range req.EventIDs {
		if id == "" || len(id) > 128 || strings.ContainsFunc(id, unicode.IsControl) {
			abortField(c, "event_ids", fmt.Sprintf("%q is not an event id (1 to 128 bytes, no control characters)", id))
			return
		}
	}
	if req.Status == "" && f.From.IsZero() && f.To.IsZero() && len(f.EventIDs) == 0 && !req.All {
		abortField(c, "all", "the filter names no status, no time range (from, to) and no event ids: it would re-fire every delivery; send \"all\":true to mean it")
		return
	}
	if req.RatePerSecond < 0 || req.RatePerSecond > maxRefireRate {
		abortField(c, "rate_per_second", fmt.Sprintf("must be from 1 to %d (0 or absent: %d)", maxRefireRate, deliveries.DefaultRefireRate))
		return
	}
	job, err := h.o.Deliveries.StartRefireJob(c, deliveries.RefireRequest{Filter: f, Reason: req.Reason, RatePerSecond: req.RatePerSecond})
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	if job.ID == "" {
		c.JSON(http.StatusOK, gin.H{"count": 0, "job_id": nil})
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"count": job.Total, "job_id": job.ID, "rate_per_second": job.RatePerSecond})
}

// refireTime parses an optional RFC 3339 time of the filter; false means it answered 400.
func refireTime(c *gin.Context, field, v string) (time.Time, bool) {
	if v == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		abortField(c, field, fmt.Sprintf("%q is not an RFC 3339 time such as 2026-11-30T00:00:00Z", v))
		return time.Time{}, false
	}
	return t, true
}

// refireJob answers a bulk re-fire job's progress.
func (h *handlers) refireJob(c *gin.Context) {
	j, err := h.o.Deliveries.RefireJob(c, c.Param("job_id"))
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{
		"job_id": j.ID, "state": j.State, "total": j.Total, "refired": j.Refired, "passed": j.Passed,
		"reason": j.Reason, "rate_per_second": j.RatePerSecond, "filter": json.RawMessage(j.Filter),
		"created_at": j.CreatedAt.UTC(), "updated_at": j.UpdatedAt.UTC(), "finished_at": j.FinishedAt,
	})
}
