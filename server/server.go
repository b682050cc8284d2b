// Package server is affrelay's HTTP layer: routing, middleware and handlers that translate HTTP to the application services.
package server

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/affrelay/affrelay/config"
	"github.com/affrelay/affrelay/infra"
	"github.com/affrelay/affrelay/performance"
	"github.com/affrelay/affrelay/telemetry"
)

// Context keys set by the middleware.
const (
	ctxIntegrationID = "integration_id"
	ctxKeyID         = "key_id"
	ctxDuplicate     = "duplicate"
	// ctxErrorCode is the error code of a refusal's answer, for the refusal counter.
	ctxErrorCode = "error_code"
)

// Options configures the HTTP handler.
type Options struct {
	Conversions  Conversions
	Integrations Integrations
	Affiliates   Affiliates
	Webhooks     Webhooks
	Deliveries   Deliveries
	Requests     Requests
	Payouts      PayoutService
	Evidence     Evidence
	// Ready checks each dependency (database, Temporal); see infra.Readiness.
	Ready        func(ctx context.Context) []infra.DependencyCheck
	AdminTokens  []string
	MaxBodyBytes int64
	Postback     config.Postback
	Security     config.Security
	// TrustedProxies are the peers whose X-Forwarded-For names the client.
	TrustedProxies []netip.Prefix
	// Audit stores one row per API call.
	Audit  AuditLog
	Logger *slog.Logger
	// Sink, when set, is mounted at /demo/sink: the built-in receiver of the dev demo's postbacks.
	Sink *Sink
	// Now is the clock; tests may fix it.
	Now func() time.Time
	// Reconciliation serves revenue file uploads and their reports, whose bodies may reach
	// ReconciliationMaxBytes.
	Reconciliation         Reconciliation
	ReconciliationMaxBytes int64
	// Metrics is the process's registry, served at /metrics; nil makes one for this handler alone.
	Metrics *telemetry.Metrics
	// ReportMaxRangeDays bounds a performance report's range; 0 means 366.
	ReportMaxRangeDays int
}

// New builds the router.
func New(o Options) http.Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		m, err := telemetry.NewMetrics(o.Logger)
		if err != nil {
			panic(err)
		}
		o.Metrics = m
	}
	if o.ReportMaxRangeDays == 0 {
		o.ReportMaxRangeDays = 366
	}
	if o.Audit == nil {
		panic("server: Options.Audit is required: every API call is audited")
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.ContextWithFallback = true
	r.HandleMethodNotAllowed = true
	// An API answers a path it does not serve with 404, not a redirect to a similar one.
	r.RedirectTrailingSlash = false
	// The client address comes from identify, which trusts only the configured proxies; gin trusts none.
	if err := r.SetTrustedProxies(nil); err != nil {
		panic(err)
	}
	m := newMetrics(o.Metrics, o.Deliveries, o.Logger)
	r.Use(identify(o.TrustedProxies), requestLog(o.Logger), m.countRefusals, nameSpan, recovery(o.Logger))
	r.NoRoute(func(c *gin.Context) { abort(c, http.StatusNotFound, "not_found", "no such endpoint") })
	r.NoMethod(func(c *gin.Context) {
		abort(c, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed here")
	})

	h := &handlers{
		o: o, metrics: m, limiters: &keyLimiters{}, mappings: &mappingCache{},
		clicks: newClientLimiters(o.Security.ClickRateLimitRPS, o.Security.ClickRateLimitBurst),
	}
	r.GET("/metrics", h.metrics.handler())
	r.GET("/openapi.json", serveOpenAPI)
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", h.ready)

	v1 := r.Group("/v1", h.audit, limitBody(o.MaxBodyBytes))
	pb := v1.Group("/postbacks", h.authenticateKey, h.allowIP, h.rateLimit, bufferBody, h.verifySignature)
	pb.GET("", h.postback)
	pb.POST("", h.postback)

	v1.POST("/affiliates", adminAuth(o.AdminTokens), checkParams, h.createAffiliate)
	admin := v1.Group("/admin", adminAuth(o.AdminTokens), checkParams)
	admin.POST("/integrations", h.createIntegration)
	admin.POST("/affiliates", h.createAffiliate)
	admin.GET("/affiliates", h.listAffiliates)
	admin.GET("/affiliates/:id", h.getAffiliate)
	admin.GET("/affiliates/:id/balance", h.balance)
	admin.POST("/affiliates/:id/signup", h.startAffiliateSignup)
	admin.POST("/affiliates/:id/postback-endpoints", h.addPostbackEndpoint)
	admin.PATCH("/affiliates/:id/postback-endpoints/:endpoint_id", h.updatePostbackEndpoint)
	admin.DELETE("/affiliates/:id/postback-endpoints/:endpoint_id", h.deletePostbackEndpoint)
	admin.GET("/postback-endpoints", h.listPostbackEndpoints)
	admin.GET("/integrations", h.listIntegrations)
	admin.GET("/integrations/:id", h.getIntegration)
	admin.PATCH("/integrations/:id", h.updateIntegration)
	admin.POST("/integrations/:id/keys", h.createKey)
	admin.GET("/integrations/:id/keys", h.listKeys)
	admin.DELETE("/integrations/:id/keys/:key_id", h.revokeKey)
	admin.POST("/integrations/:id/secrets", h.addSecret)
	admin.GET("/integrations/:id/secrets", h.listSecrets)
	admin.DELETE("/integrations/:id/secrets/:secret_id", h.expireSecret)
	admin.GET("/requests", h.listRequests)
	admin.GET("/audit/verify", h.verifyAudit)
	admin.POST("/secrets/rotate-key", h.rotateSecretsKey)
	admin.PUT("/integrations/:id/landing-hosts", h.setLandingHosts)
	admin.PUT("/integrations/:id/mapping", h.setMapping)
	admin.GET("/unattributed", h.unattributed)
	admin.GET("/conversions/:integration/:event_id/request", h.conversionRequest)
	admin.GET("/conversions/:integration/:event_id", h.getConversion)
	admin.GET("/conversions/:integration/:event_id/evidence", h.evidenceBundle)
	admin.GET("/evidence/public-key", h.evidencePublicKey)
	admin.POST("/affiliates/:id/plans", h.addPlanVersion)
	admin.GET("/affiliates/:id/plans", h.listPlanVersions)
	admin.PUT("/affiliates/:id/parent", h.setParent)
	admin.POST("/fx-rates", h.addFXRate)
	admin.GET("/fx-rates", h.listFXRates)
	admin.GET("/deliveries", h.listDeliveries)
	admin.GET("/queue", h.queue)
	admin.POST("/deliveries/:id/redeliver", h.decideDelivery("redeliver", Deliveries.Redeliver))
	admin.POST("/deliveries/:id/replay", h.decideDelivery("replay", Deliveries.Redeliver)) // the old name
	admin.POST("/deliveries/:id/skip", h.decideDelivery("skip", Deliveries.Skip))
	admin.POST("/deliveries/:id/refire", h.refireDelivery)
	admin.POST("/deliveries/refire", h.startRefireJob)
	admin.GET("/deliveries/refire/:job_id", h.refireJob)
	h.webhookRoutes(admin.Group("/webhooks"))
	h.reconciliationAdminRoutes(admin)
	h.payoutRoutes(v1, admin)

	admin.GET("/affiliates/:id/performance", h.performanceReport(performance.AffiliateGroupBys))
	admin.GET("/performance", h.performanceReport(performance.AllGroupBys))
	v1.GET("/affiliates/:id/commissions", adminAuth(o.AdminTokens), checkParams, h.commissionReport)
	r.GET("/c/:affiliate_code", h.limitClicks, h.click)
	h.reconciliationRoutes(r)

	if o.Sink != nil {
		r.Any("/demo/sink", o.Sink.receive)
		r.GET("/demo/sink/received", o.Sink.list)
	}
	return r
}

type handlers struct {
	o        Options
	metrics  *metrics
	limiters *keyLimiters
	clicks   *clientLimiters
	mappings *mappingCache
}

// ready answers 200 when every dependency answers, else 503 naming the ones that did not. The probe needs no
// credentials, so why a dependency failed (addresses, driver messages) goes to the log, not the answer.
func (h *handlers) ready(c *gin.Context) {
	checks := gin.H{}
	var down []string
	for _, d := range h.o.Ready(c) {
		checks[d.Dependency] = "ok"
		if d.Err != nil {
			checks[d.Dependency] = "down"
			down = append(down, d.Dependency)
			h.o.Logger.Error("readiness check failed", "dependency", d.Dependency, "error", d.Err)
		}
	}
	if len(down) > 0 {
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, gin.H{
			"status": "not_ready", "checks": checks,
			"error": apiError{Code: "not_ready", Message: "not ready: " + strings.Join(down, ", ") + " did not answer"},
		})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready", "checks": checks})
}

// adminAuth checks the bearer token against every configured admin token in constant time.
func adminAuth(tokens []string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !hasAdminToken(c, tokens) {
			abort(c, http.StatusUnauthorized, "unauthorized", "missing or wrong admin token in the Authorization: Bearer header")
			return
		}
		c.Next()
	}
}

// hasAdminToken reports whether the request's bearer token is one of the admin tokens, compared in constant time.
func hasAdminToken(c *gin.Context, tokens []string) bool {
	given, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	match := 0
	for _, t := range tokens {
		match |= subtle.ConstantTimeCompare([]byte(given), []byte(t))
	}
	return ok && given != "" && match == 1
}

// limitBody refuses a body over the limit: at once when Content-Length says so, else when reading passes it.
func limitBody(limit int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > limit {
			abort(c, http.StatusRequestEntityTooLarge, "body_too_large", "request body is larger than the limit")
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		c.Next()
	}
}

// requestLog writes one line per request. The query string is left out: it may carry a token.
func requestLog(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		logger.Info("http request",
			"method", c.Request.Method, "path", c.Request.URL.Path, "status", c.Writer.Status(),
			"latency_ms", float64(time.Since(start).Microseconds())/1000, "client_ip", c.GetString(ctxClientIP),
			"request_id", c.GetString(ctxRequestID),
			"integration_id", c.GetString(ctxIntegrationID), "key_id", c.GetString(ctxKeyID))
	}
}

// nameSpan names the request's trace span (when tracing is on) after its route, which only the router knows.
func nameSpan(c *gin.Context) {
	c.Next()
	if route := c.FullPath(); route != "" {
		span := trace.SpanFromContext(c.Request.Context())
		span.SetName(c.Request.Method + " " + route)
		span.SetAttributes(attribute.String("http.route", route))
	}
}

func recovery(logger *slog.Logger) gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, err any) {
		logger.Error("panic in handler", "error", err, "path", c.Request.URL.Path)
		abort(c, http.StatusInternalServerError, "internal", "internal error")
	})
}
