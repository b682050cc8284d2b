package server

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/telemetry"
)

// metrics holds the API's Prometheus collectors, registered in the process's registry (telemetry.Metrics).
type metrics struct {
	*telemetry.Metrics
	postbacks *prometheus.CounterVec
	phases    *prometheus.HistogramVec
}

// The phases of an API call that wait on the database or Temporal (affrelay_api_phase_seconds), so a slow
// answer can be traced to its cause without a profiler.
const (
	phaseAuthenticate = "authenticate" // the API key and its integration looked up
	phaseSubmit       = "submit"       // a postback's duplicate check and StartWorkflow
	phaseAudit        = "audit"        // the call's audit row, written before the answer
)

func newMetrics(m *telemetry.Metrics, svc Deliveries, logger *slog.Logger) *metrics {
	am := &metrics{
		Metrics: m,
		postbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "affrelay_postbacks_total",
			Help: "Inbound postbacks by outcome: accepted, duplicate, rejected (4xx) or unavailable (not acknowledged).",
		}, []string{"outcome"}),
		phases: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "affrelay_api_phase_seconds",
			Help: "Time an API call spent in each phase that waits on the database or Temporal: authenticate (API key and integration lookups), submit (a postback's duplicate check and StartWorkflow), audit (the call's audit row, written before the answer).",
			// 0.5 ms to 16 s: the lookups take well under a millisecond, a start under load seconds.
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"phase"}),
	}
	m.Registry.MustRegister(am.postbacks, am.phases, queueDepthCollector{svc: svc, logger: logger})
	return am
}

// timePhase observes the time since start as the phase's.
func (m *metrics) timePhase(phase string, start time.Time) {
	m.phases.WithLabelValues(phase).Observe(time.Since(start).Seconds())
}

func (m *metrics) handler() gin.HandlerFunc {
	h := m.Handler()
	return func(c *gin.Context) { h.ServeHTTP(c.Writer, c.Request) }
}

// countRefusals counts every request answered 4xx by the error code its answer carries (abort records it),
// so refusals by the middleware (auth, signature, IP allowlist, rate limits, body limit) are counted as well as
// the handlers' own.
func (m *metrics) countRefusals(c *gin.Context) {
	c.Next()
	status := c.Writer.Status()
	if status < 400 || status > 499 {
		return
	}
	reason := c.GetString(ctxErrorCode)
	if reason == "" {
		reason = "unknown"
	}
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	m.Refusals.WithLabelValues(reason, strconv.Itoa(status), route).Inc()
}

var queueDepthDesc = prometheus.NewDesc("affrelay_delivery_queue_depth",
	"Deliveries not yet delivered, by state: pending (not attempted yet), retrying, needs_review (waiting for an operator) and held (target disabled).",
	[]string{"state"}, nil)

// queueDepthCollector reads the depth from the database at scrape time, so every API replica reports the truth.
type queueDepthCollector struct {
	svc    Deliveries
	logger *slog.Logger
}

func (q queueDepthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueDepthDesc }

func (q queueDepthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	depth, err := q.svc.QueueDepth(ctx)
	if err != nil {
		q.logger.Error("queue depth for metrics", "error", err)
		return
	}
	for _, state := range store.QueueStates {
		ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(depth[state]), state)
	}
}

// postbackOutcome names a postback response for the counter.
func postbackOutcome(status int, duplicate bool) string {
	switch {
	case status == http.StatusOK && duplicate:
		return "duplicate"
	case status == http.StatusOK:
		return "accepted"
	case status >= 500:
		return "unavailable"
	default:
		return "rejected"
	}
}
