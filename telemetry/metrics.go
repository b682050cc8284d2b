// Package telemetry holds one process's metrics and traces: the Prometheus registry behind /metrics (with the
// Temporal SDK's own metrics in it), the delivery and refusal metrics, and the OpenTelemetry tracer that
// follows a request through its workflow and activities.
package telemetry

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// Metrics is one process's registry and the collectors affrelay records into. Each process (and each app a
// test starts) has its own registry.
type Metrics struct {
	Registry *prometheus.Registry
	// Deliveries is recorded by the worker's delivery activities.
	Deliveries *DeliveryMetrics
	// Refusals counts every request answered 4xx, wherever in the middleware chain it was refused.
	Refusals *prometheus.CounterVec
	// Temporal is the SDK's metrics handler: its client, worker, workflow and activity metrics land in Registry.
	Temporal client.MetricsHandler
}

// DeliveryMetrics are the outbound delivery histograms and counters, labelled by kind (postback, webhook).
type DeliveryMetrics struct {
	latency  *prometheus.HistogramVec
	attempts *prometheus.CounterVec
}

// NewMetrics builds the registry with Go and process metrics, affrelay's own collectors and the Temporal SDK's.
func NewMetrics(logger *slog.Logger) (*Metrics, error) {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		Deliveries: &DeliveryMetrics{
			latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
				Name: "affrelay_delivery_latency_seconds",
				Help: "From a delivery's creation (its event recorded) to the attempt that delivered it, by kind.",
				// From an inline first attempt (well under a second) to a series that ran for a day.
				Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600},
			}, []string{"kind"}),
			attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "affrelay_delivery_attempts_total",
				Help: "Outbound delivery attempts by kind and outcome: delivered, retryable, permanent, gone, or endpoint_disabled (not sent).",
			}, []string{"kind", "outcome"}),
		},
		Refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "affrelay_refusals_total",
			Help: "Requests answered 4xx, by reason (the error code of the answer), status and route (the registered path; \"unmatched\" for none).",
		}, []string{"reason", "status", "route"}),
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.Deliveries.latency, m.Deliveries.attempts, m.Refusals)

	// The SDK reports through OpenTelemetry's metric API; this exporter turns it into collectors of reg.
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, fmt.Errorf("temporal metrics exporter: %w", err)
	}
	m.Temporal = temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter)).Meter("temporal-sdk-go"),
		UseMonotonicCounters: true,
		OnError:              func(err error) { logger.Error("temporal metric", "error", err) },
	})
	return m, nil
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// ObserveAttempt counts one attempt's outcome.
func (d *DeliveryMetrics) ObserveAttempt(kind, outcome string) {
	if d == nil {
		return
	}
	d.attempts.WithLabelValues(kind, outcome).Inc()
}

// ObserveDelivered records how long a delivery took from its creation to the attempt that delivered it.
func (d *DeliveryMetrics) ObserveDelivered(kind string, took time.Duration) {
	if d == nil {
		return
	}
	d.latency.WithLabelValues(kind).Observe(took.Seconds())
}
