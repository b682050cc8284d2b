package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/affrelay/affrelay/store"
)

// metrics holds the API's Prometheus collectors, in a registry of its own so tests can start several servers.
type metrics struct {
	registry  *prometheus.Registry
	postbacks *prometheus.CounterVec
}

func newMetrics(svc Deliveries, logger *slog.Logger) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		postbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "affrelay_postbacks_total",
			Help: "Inbound postbacks by outcome: accepted, duplicate, rejected (4xx) or unavailable (not acknowledged).",
		}, []string{"outcome"}),
	}
	m.registry.MustRegister(m.postbacks, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.registry.MustRegister(queueDepthCollector{svc: svc, logger: logger})
	return m
}

func (m *metrics) handler() gin.HandlerFunc {
	h := promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
	return func(c *gin.Context) { h.ServeHTTP(c.Writer, c.Request) }
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
