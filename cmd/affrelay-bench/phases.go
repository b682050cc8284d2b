package main

import (
	"fmt"
	"net/http"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ackPhaseMetric is affrelay's histogram of the parts of an API call that wait on the database or Temporal.
const ackPhaseMetric = "affrelay_api_phase_seconds"

// phaseBuckets is one scrape of that histogram, per phase.
type phaseBuckets map[string]*dto.Histogram

// scrapePhases reads the histogram from affrelay's /metrics.
func scrapePhases(base string) (phaseBuckets, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET /metrics: %w", err)
	}
	out := phaseBuckets{}
	for _, m := range families[ackPhaseMetric].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "phase" {
				out[l.GetValue()] = m.GetHistogram()
			}
		}
	}
	return out, nil
}

// phaseTiming is one phase's share of a load phase's API calls: p50 and p99 as the upper bound of the
// histogram bucket they fall in (the buckets double from 0.5 ms, so each is within a factor of two; -1:
// beyond the last bucket).
type phaseTiming struct {
	Calls uint64  `json:"calls"`
	P50   float64 `json:"p50_ms_at_most"`
	P99   float64 `json:"p99_ms_at_most"`
}

// since returns each phase's timing over the calls made between the earlier scrape and this one.
func (after phaseBuckets) since(before phaseBuckets) map[string]phaseTiming {
	out := map[string]phaseTiming{}
	for phase, h := range after {
		prior := before[phase]
		total := h.GetSampleCount() - prior.GetSampleCount()
		if total == 0 {
			continue
		}
		buckets := h.GetBucket()
		quantile := func(q float64) float64 {
			for i, b := range buckets {
				c := b.GetCumulativeCount()
				if i < len(prior.GetBucket()) {
					c -= prior.GetBucket()[i].GetCumulativeCount()
				}
				if float64(c) >= q*float64(total) {
					return b.GetUpperBound() * 1000
				}
			}
			return -1
		}
		out[phase] = phaseTiming{Calls: total, P50: quantile(0.5), P99: quantile(0.99)}
	}
	return out
}
