package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/affrelay/affrelay/service/webhooks"
	"github.com/affrelay/affrelay/store"
)

// startAffiliateSignup (re)starts an affiliate's signup workflow, e.g. after Temporal was unreachable at signup.
func (h *handlers) startAffiliateSignup(c *gin.Context) {
	id, err := h.o.Affiliates.StartAffiliateSignup(c, c.Param("id"))
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"affiliate_id": c.Param("id"), "signup_workflow_id": id})
}

func (h *handlers) webhookRoutes(g *gin.RouterGroup) {
	g.POST("", h.createWebhook)
	g.GET("", h.listWebhooks)
	g.GET("/:id", h.getWebhook)
	g.PATCH("/:id", h.updateWebhook)
	g.DELETE("/:id", h.deleteWebhook)
	g.POST("/:id/rotate-secret", h.rotateWebhookSecret)
	g.POST("/:id/test", h.testWebhook)
}

type webhookJSON struct {
	ID                  string   `json:"id"`
	Kind                string   `json:"kind"`
	URL                 string   `json:"url"`
	Events              []string `json:"events"`
	Description         string   `json:"description"`
	AffiliateID         string   `json:"affiliate_id,omitempty"`
	Enabled             bool     `json:"enabled"`
	DisabledReason      string   `json:"disabled_reason,omitempty"`
	ConsecutiveFailures int      `json:"consecutive_failures"`
	SecretMaxAgeDays    int      `json:"secret_max_age_days,omitempty"` // 0: secret.max_age
	ReportFrequency     string   `json:"report_frequency"`
	ReportTimeZone      string   `json:"report_time_zone"`
	ownLimitsJSON
	Secret    string    `json:"secret,omitempty"` // only in the answer to create
	CreatedAt time.Time `json:"created_at"`
}

func webhookResponse(s store.WebhookSubscription) webhookJSON {
	return webhookJSON{
		ID: s.ID, Kind: s.Kind, URL: s.URL, Events: strings.Split(s.Events, ","), Description: s.Description,
		AffiliateID: s.AffiliateID, Enabled: s.Enabled, DisabledReason: s.DisabledReason, ConsecutiveFailures: s.ConsecutiveFailures, CreatedAt: s.CreatedAt,
		SecretMaxAgeDays: s.SecretMaxAgeDays, ownLimitsJSON: ownLimitsResponse(s.Limits),
		ReportFrequency: s.Report.Frequency, ReportTimeZone: s.Report.TimeZone,
	}
}

func (h *handlers) createWebhook(c *gin.Context) {
	var req struct {
		Kind        string   `json:"kind"`
		URL         string   `json:"url"`
		Events      []string `json:"events"`
		Description string   `json:"description"`
		AffiliateID string   `json:"affiliate_id"`
		// ReportFrequency (daily, weekly, monthly) and ReportTimeZone schedule performance.report.
		ReportFrequency string `json:"report_frequency"`
		ReportTimeZone  string `json:"report_time_zone"`
		ownLimitsRequest
	}
	if !decodeJSON(c, &req) {
		return
	}
	sub, secret, err := h.o.Webhooks.CreateSubscription(c, webhooks.NewSubscription{
		Kind: req.Kind, URL: req.URL, Events: req.Events, Description: req.Description, AffiliateID: req.AffiliateID,
		Limits: req.limits(), Report: store.ReportSchedule{Frequency: req.ReportFrequency, TimeZone: req.ReportTimeZone},
	})
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	out := webhookResponse(sub)
	out.Secret = secret
	c.JSON(http.StatusCreated, out)
}

func (h *handlers) listWebhooks(c *gin.Context) {
	p, ok := listPage(c)
	if !ok {
		return
	}
	subs, err := h.o.Webhooks.Subscriptions(c, p)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	respondPage(c, p, "webhooks", subs, func(s store.WebhookSubscription) string { return s.ID }, func(s store.WebhookSubscription) any { return webhookResponse(s) })
}

func (h *handlers) getWebhook(c *gin.Context) {
	sub, err := h.o.Webhooks.Subscription(c, c.Param("id"))
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusOK, webhookResponse(sub))
}

func (h *handlers) updateWebhook(c *gin.Context) {
	var req struct {
		URL         *string  `json:"url"`
		Events      []string `json:"events"`
		Enabled     *bool    `json:"enabled"`
		Description *string  `json:"description"`
		// SecretMaxAgeDays: days until secret.expiring counts the secret old (0: secret.max_age).
		SecretMaxAgeDays *int    `json:"secret_max_age_days"`
		ReportFrequency  *string `json:"report_frequency"`
		ReportTimeZone   *string `json:"report_time_zone"`
		ownLimitsRequest
		heldChoice
	}
	if !decodeJSON(c, &req) {
		return
	}
	if req.URL == nil && req.Events == nil && req.Enabled == nil && req.Description == nil && req.SecretMaxAgeDays == nil && !req.ownLimitsRequest.set() &&
		req.ReportFrequency == nil && req.ReportTimeZone == nil {
		abort(c, http.StatusBadRequest, "malformed_body", "set at least one of url, events, enabled, description, secret_max_age_days, max_rps, max_in_flight, report_frequency, report_time_zone")
		return
	}
	if req.SecretMaxAgeDays != nil && !validSecretMaxAgeDays(c, *req.SecretMaxAgeDays) {
		return
	}
	enabling := req.Enabled != nil && *req.Enabled
	if !req.check(c, enabling) {
		return
	}
	sub, err := h.o.Webhooks.UpdateSubscription(c, c.Param("id"), webhooks.SubscriptionUpdate{
		URL: req.URL, Events: req.Events, Enabled: req.Enabled, Description: req.Description, SecretMaxAgeDays: req.SecretMaxAgeDays,
		MaxRPS: req.MaxRPS, MaxInFlight: req.MaxInFlight, ReportFrequency: req.ReportFrequency, ReportTimeZone: req.ReportTimeZone,
	})
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	out := gin.H{}
	if enabling && !h.releaseHeld(c, sub.ID, req.heldChoice, out) {
		return
	}
	c.JSON(http.StatusOK, webhookWithHeld{webhookResponse(sub), out["held"]})
}

// webhookWithHeld is a subscription and, after re-enabling it, what became of its held deliveries.
type webhookWithHeld struct {
	webhookJSON
	Held any `json:"held,omitempty"`
}

func (h *handlers) deleteWebhook(c *gin.Context) {
	if err := h.o.Webhooks.DeleteSubscription(c, c.Param("id")); err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *handlers) rotateWebhookSecret(c *gin.Context) {
	r, err := h.o.Webhooks.RotateSecret(c, c.Param("id"))
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"id": c.Param("id"), "secret": r.Secret, "previous_secret_expires_at": r.PreviousExpiresAt})
}

func (h *handlers) testWebhook(c *gin.Context) {
	r, err := h.o.Webhooks.TestWebhook(c, c.Param("id"))
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	out := gin.H{
		"webhook_id": r.WebhookID, "status_code": r.StatusCode, "delivered": r.Delivered,
		"latency_ms": float64(r.Latency.Microseconds()) / 1000,
	}
	if r.Error != "" {
		out["error"] = r.Error
	}
	c.JSON(http.StatusOK, out)
}
