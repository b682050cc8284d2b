// Package performancerow reads a performance report from the store: the store's grouped sums become
// package performance's facts, and those the report. The API and the scheduled performance.report share it.
package performancerow

import (
	"context"
	"time"

	"github.com/affrelay/affrelay/performance"
	"github.com/affrelay/affrelay/store"
)

// Read builds the report of [from, to) grouped by groupBy: one affiliate's, or every affiliate's when
// affiliateID is empty.
func Read(ctx context.Context, st *store.Store, affiliateID, groupBy string, from, to time.Time) (performance.Report, error) {
	dim := groupBy
	if performance.IsTime(groupBy) {
		dim = performance.GroupByDay
	}
	clicks, events, entries, err := st.Performance(ctx, store.PerformanceRange{AffiliateID: affiliateID, Dimension: dim, From: from, To: to})
	if err != nil {
		return performance.Report{}, err
	}
	f := performance.Facts{
		Clicks:      make([]performance.ClickSum, len(clicks)),
		Events:      make([]performance.EventSum, len(events)),
		Commissions: make([]performance.CommissionSum, len(entries)),
	}
	for i, c := range clicks {
		f.Clicks[i] = performance.ClickSum(c)
	}
	for i, e := range events {
		f.Events[i] = performance.EventSum(e)
	}
	for i, e := range entries {
		f.Commissions[i] = performance.CommissionSum(e)
	}
	return performance.Build(groupBy, f)
}
