package activities

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/outbound"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
)

// fxPlan is a volume plan: fx 5.00 a lot, 6.00 from 100 lots in the month (tiered).
func fxPlan(affiliateID string) *store.Plan {
	return &store.Plan{ID: "v1", AffiliateID: affiliateID, Type: "volume", Currency: "USD", TierMode: "tiered", EffectiveFrom: time.Unix(0, 0).UTC(),
		VolumeRates: `[{"instrument":"fx","tiers":[{"from_lots":0,"rate_minor":500},{"from_lots":10000,"rate_minor":600}]}]`}
}

// TestTradeReversalBeforeItsTradeIsAppliedWhenTheTradeArrives: a reversal recorded before its trade earns
// nothing then; when the trade lands the reversal is applied right after it, and the month's sums in
// volume_periods stay equal to the volume entries.
func TestTradeReversalBeforeItsTradeIsAppliedWhenTheTradeArrives(t *testing.T) {
	s := openStore(t)
	require.NoError(t, s.DB.Create(&store.Affiliate{ID: "ib", Name: "IB"}).Error)
	require.NoError(t, s.DB.Create(fxPlan("ib")).Error)
	a := New(s, retrypolicy.DefaultPolicy(), outbound.NewClient(time.Second, outbound.Allowlist{}))
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	record := func(ev postback.Event) int64 {
		res, err := a.RecordConversion(context.Background(), RecordConversionInput{IntegrationID: "int", WorkflowID: "wf-" + ev.EventID, Event: ev})
		require.NoError(t, err)
		return res.PayoutMinor
	}
	trade := func(id string, lots int64, hours int) postback.Event {
		return postback.Event{EventID: id, Type: postback.Trade, AffiliateID: "ib", PlayerID: "c1", VolumeLots: lots, Instrument: "fx", OccurredAt: at.Add(time.Duration(hours) * time.Hour)}
	}
	require.Equal(t, int64(30000), record(trade("t1", 6000, 0))) // 60 lots × 5.00
	require.Zero(t, record(postback.Event{EventID: "r2", Type: postback.Reversal, OriginalEventID: "t2", OccurredAt: at.Add(3 * time.Hour)}))
	// t2 lifts the month to 110 lots at 6.00 (660.00: +360.00); its reversal, applied right after, brings it
	// back to 60 lots at 5.00 (-360.00). The trade's own answer is what it earned.
	require.Equal(t, int64(36000), record(trade("t2", 5000, 1)))
	var entries []store.LedgerEntry
	require.NoError(t, s.DB.Order("source_key").Find(&entries).Error)
	got := map[string]int64{}
	for _, e := range entries {
		got[e.SourceKey] = e.AmountMinor
	}
	require.Equal(t, map[string]int64{"volume:ib:int:event:t1": 30000, "volume:ib:int:event:t2": 36000, "volume:ib:int:event:r2": -36000}, got)
	period, err := s.Ledger(context.Background()).VolumePeriod("ib", "2026-11", "v1", "fx")
	require.NoError(t, err)
	require.Equal(t, []int64{6000, 30000}, []int64{period.Lots, period.WrittenMinor})
	// Recording any of them again writes nothing.
	record(trade("t2", 5000, 1))
	record(postback.Event{EventID: "r2", Type: postback.Reversal, OriginalEventID: "t2", OccurredAt: at.Add(3 * time.Hour)})
	var n int64
	require.NoError(t, s.DB.Model(&store.LedgerEntry{}).Count(&n).Error)
	require.EqualValues(t, 3, n)
}

// BenchmarkRecordConversionTrade measures one trade (conversion, volume entry and its month's sums in one
// SQLite transaction) for an affiliate whose ledger keeps growing.
func BenchmarkRecordConversionTrade(b *testing.B) {
	s := openStore(b)
	require.NoError(b, s.DB.Create(&store.Affiliate{ID: "ib", Name: "IB"}).Error)
	require.NoError(b, s.DB.Create(fxPlan("ib")).Error)
	a := New(s, retrypolicy.DefaultPolicy(), outbound.NewClient(time.Second, outbound.Allowlist{}))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for i := range b.N {
		ev := postback.Event{EventID: "t" + strconv.Itoa(i), Type: postback.Trade, AffiliateID: "ib", PlayerID: "c" + strconv.Itoa(i%50),
			VolumeLots: int64(1 + i%300), Instrument: "fx", OccurredAt: start.Add(time.Duration(i) * time.Minute)}
		if _, err := a.RecordConversion(context.Background(), RecordConversionInput{IntegrationID: "int", WorkflowID: "wf", Event: ev}); err != nil {
			b.Fatal(err)
		}
	}
}
