package e2e

import (
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/retrypolicy"
)

// scrape GETs /metrics and parses it as Prometheus does.
func (e *testEnv) scrape() map[string]*dto.MetricFamily {
	e.t.Helper()
	resp, err := http.Get(e.base + "/metrics")
	require.NoError(e.t, err)
	defer resp.Body.Close()
	require.Equal(e.t, http.StatusOK, resp.StatusCode)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(e.t, err)
	return families
}

// sample finds the metric of the family whose labels include want; nil when none has.
func sample(families map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	f := families[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

var (
	metricName      = regexp.MustCompile(`\b(affrelay|temporal)_[a-z_]+`)
	histogramSeries = regexp.MustCompile(`_(bucket|count|sum)$`)
)

// onlyOnceItHappens are the Temporal SDK's metrics the deploy files use that the SDK exposes only once the
// first such thing happened (names from the SDK's internal/common/metrics/constants.go).
var onlyOnceItHappens = map[string]bool{
	"temporal_request_failure_total":              true,
	"temporal_workflow_failed_total":              true,
	"temporal_activity_execution_latency_seconds": true,
}

func TestMetricsScrapedAndParsed(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(200))
		key, _, affiliateID := e.setup(tracker.srv.URL)
		require.Equal(t, http.StatusOK, e.postback(key, ftd("evt-m1", affiliateID)).Status)
		eventually(t, 20*time.Second, "the delivery delivered", func() bool {
			ds := e.deliveries("event_id=evt-m1")
			return len(ds) == 1 && ds[0]["status"] == "delivered"
		})
		// Two refusals by the middleware: an unknown API key, a wrong admin token.
		require.Equal(t, http.StatusUnauthorized, e.postback("ak_wrong", ftd("evt-m2", affiliateID)).Status)
		require.Equal(t, http.StatusUnauthorized, e.do("GET", "/v1/admin/deliveries", map[string]string{"Authorization": "Bearer nope"}, nil).Status)

		families := e.scrape()
		attempts := sample(families, "affrelay_delivery_attempts_total", map[string]string{"kind": "postback", "outcome": "delivered"})
		require.NotNil(t, attempts, "delivered postback attempts are counted")
		require.GreaterOrEqual(t, attempts.GetCounter().GetValue(), 1.0)
		latency := sample(families, "affrelay_delivery_latency_seconds", map[string]string{"kind": "postback"})
		require.NotNil(t, latency, "the delivery latency histogram has a postback series")
		require.EqualValues(t, 1, latency.GetHistogram().GetSampleCount())

		refused := sample(families, "affrelay_refusals_total", map[string]string{"reason": "unauthorized", "status": "401", "route": "/v1/postbacks"})
		require.NotNil(t, refused, "the unknown key's refusal is counted")
		require.EqualValues(t, 1, refused.GetCounter().GetValue())
		require.NotNil(t, sample(families, "affrelay_refusals_total", map[string]string{"reason": "unauthorized", "route": "/v1/admin/deliveries"}))

		accepted := sample(families, "affrelay_postbacks_total", map[string]string{"outcome": "accepted"})
		require.NotNil(t, accepted)
		require.EqualValues(t, 1, accepted.GetCounter().GetValue())
		require.NotNil(t, sample(families, "affrelay_delivery_queue_depth", map[string]string{"state": "needs_review"}))
		// The accepted postback's phases: the key looked up, the event submitted, and (for it and every
		// admin call before it) the audit row.
		for phase, least := range map[string]uint64{"authenticate": 1, "submit": 1, "audit": 2} {
			s := sample(families, "affrelay_api_phase_seconds", map[string]string{"phase": phase})
			require.NotNil(t, s, phase)
			require.GreaterOrEqual(t, s.GetHistogram().GetSampleCount(), least, phase)
		}

		// The Temporal SDK's own metrics: its requests to the server, and the workflow the postback started.
		var temporal []string
		for name := range families {
			if strings.HasPrefix(name, "temporal_") {
				temporal = append(temporal, name)
			}
		}
		require.Contains(t, temporal, "temporal_request_total", "SDK metrics exported: %v", temporal)
		require.Contains(t, temporal, "temporal_workflow_completed_total", "SDK metrics exported: %v", temporal)
		require.Contains(t, temporal, "temporal_local_activity_execution_latency_seconds", "SDK metrics exported: %v", temporal)

		// The alert rules and the dashboard in deploy/ name only metrics that exist.
		for _, file := range []string{"../deploy/prometheus/alerts.yml", "../deploy/grafana/dashboards/affrelay.json"} {
			text, err := os.ReadFile(file)
			require.NoError(t, err)
			for _, name := range metricName.FindAllString(string(text), -1) {
				family := histogramSeries.ReplaceAllString(name, "")
				require.True(t, families[family] != nil || onlyOnceItHappens[family], "%s names %s, which /metrics does not expose", file, name)
			}
		}
	})
}
