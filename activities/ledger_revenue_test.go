package activities

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/outbound"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
)

// TestRevenueRunWritesWhatOneAtATimeWrites: writeRevenueLedger gives exactly the ledger and RevShare sums that
// writeLedger gives conversion by conversion, for a child with a parent under two plan versions (a ladder with
// carryover, then a tiered version from mid-October), revenue over three months in two currencies with
// negative days, on top of revenue recorded before; also when a chargeback of one of them was recorded before
// it (the run falls back to one at a time) and when the affiliate has no plan in force for some of them.
func TestRevenueRunWritesWhatOneAtATimeWrites(t *testing.T) {
	for _, tc := range []struct {
		name          string
		earlyUndo     bool
		planFromMonth int // the first version's month in 2026
	}{
		{name: "run", planFromMonth: 1},
		{name: "a chargeback recorded first", earlyUndo: true, planFromMonth: 1},
		{name: "no plan in force for September", planFromMonth: 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ledgers [2]ledgerSnapshot
			for i, together := range []bool{false, true} {
				s := openStore(t)
				a := New(s, retrypolicy.DefaultPolicy(), outbound.NewClient(time.Second, outbound.Allowlist{}))
				db := s.DB
				require.NoError(t, db.Create(&store.Affiliate{ID: "parent", Name: "P"}).Error)
				require.NoError(t, db.Create(&store.Affiliate{ID: "child", Name: "C", ParentID: "parent", ParentShareBP: 1500}).Error)
				require.NoError(t, db.Create(&store.Plan{ID: "v1", AffiliateID: "child", Type: "revshare", Currency: "USD", Carryover: true,
					Tiers: `[{"from_minor":0,"rate_bp":2500},{"from_minor":50000,"rate_bp":3500}]`, TierMode: "ladder",
					EffectiveFrom: time.Date(2026, time.Month(tc.planFromMonth), 1, 0, 0, 0, 0, time.UTC)}).Error)
				require.NoError(t, db.Create(&store.Plan{ID: "v2", AffiliateID: "child", Type: "hybrid", AmountMinor: 5000, Currency: "USD",
					Tiers: `[{"from_minor":0,"rate_bp":2000},{"from_minor":80000,"rate_bp":3000}]`, TierMode: "tiered",
					EffectiveFrom: time.Date(2026, 10, 15, 0, 0, 0, 0, time.UTC)}).Error)
				require.NoError(t, db.Create(&store.FXRate{ID: "fx1", Base: "EUR", Quote: "USD", RateE8: 108345000, EffectiveFrom: time.Unix(0, 0).UTC()}).Error)
				ctx := context.Background()
				at := time.Date(2026, 9, 20, 12, 0, 0, 0, time.UTC)
				event := func(n int) postback.Event {
					currency := "USD"
					if n%3 == 0 {
						currency = "EUR"
					}
					return postback.Event{EventID: "n" + strconv.Itoa(n), Type: postback.Revenue, AffiliateID: "child", PlayerID: "p" + strconv.Itoa(n%4),
						AmountMinor: int64((n*7919)%40000 - 12000), Currency: currency, OccurredAt: at.Add(time.Duration(n) * 41 * time.Hour)}
				}
				for n := range 5 { // recorded before, one at a time, as postbacks
					_, err := a.RecordConversion(ctx, RecordConversionInput{IntegrationID: "int", WorkflowID: "wf", Event: event(n)})
					require.NoError(t, err)
				}
				if tc.earlyUndo {
					_, err := a.RecordConversion(ctx, RecordConversionInput{IntegrationID: "int", WorkflowID: "wf", Event: postback.Event{
						EventID: "cb", Type: postback.Chargeback, AmountMinor: 100, Currency: "USD", OccurredAt: at.AddDate(0, 2, 0), OriginalEventID: "n9"}})
					require.NoError(t, err)
				}
				require.NoError(t, s.Transaction(ctx, func(tx *store.Store) error {
					var convs []store.Conversion
					for n := 5; n < 40; n++ {
						c, inserted, err := upsertConversion(tx.Conversions(ctx), RecordConversionInput{IntegrationID: "int", WorkflowID: "wf", Event: event(n)})
						require.NoError(t, err)
						require.True(t, inserted)
						convs = append(convs, c)
					}
					if together {
						return a.writeRevenueLedger(ctx, tx, convs)
					}
					return a.writeEach(ctx, tx, convs)
				}))
				ledgers[i] = snapshotLedger(t, s)
			}
			require.NotEmpty(t, ledgers[0].entries)
			require.Equal(t, ledgers[0], ledgers[1])
		})
	}
}

// ledgerSnapshot is a ledger as text, without the ids and times that differ between two stores.
type ledgerSnapshot struct {
	entries []string
	periods []store.RevSharePeriod
}

func snapshotLedger(t *testing.T, s *store.Store) ledgerSnapshot {
	var entries []store.LedgerEntry
	require.NoError(t, s.DB.Order("source_key").Find(&entries).Error)
	var convs []store.Conversion
	require.NoError(t, s.DB.Find(&convs).Error)
	eventOf := map[string]string{}
	for _, c := range convs {
		eventOf[c.ID] = c.EventID
	}
	var out ledgerSnapshot
	for _, e := range entries {
		out.entries = append(out.entries, fmt.Sprintf("%s %s %s %d %s %s %s %s %d %s %s %s %s", e.SourceKey, e.Kind, e.AffiliateID, e.AmountMinor,
			e.Currency, e.PlanID, e.EventID, e.PlayerID, e.BaseMinor, e.Period, e.FXRate, e.OriginalKey, eventOf[e.ConversionID]))
	}
	require.NoError(t, s.DB.Order("affiliate_id, period, plan_id").Find(&out.periods).Error)
	return out
}
