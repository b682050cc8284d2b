package activities

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/outbound"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
)

func openStore(t testing.TB) *store.Store {
	s, err := store.Open("sqlite", filepath.Join(t.TempDir(), "a.db"))
	require.NoError(t, err)
	require.NoError(t, s.Migrate(context.Background()))
	t.Cleanup(func() { s.Close() })
	return s
}

// TestRecordConversionWritesEntriesOnce runs the activity against a real SQLite database: a hybrid plan with a
// parent, an ftd, revenue, a chargeback; recording each event again (a reset) writes nothing.
func TestRecordConversionWritesEntriesOnce(t *testing.T) {
	s := openStore(t)
	db := s.DB
	require.NoError(t, db.Create(&store.Affiliate{ID: "parent", Name: "P"}).Error)
	require.NoError(t, db.Create(&store.Affiliate{ID: "child", Name: "C", ParentID: "parent", ParentShareBP: 1000}).Error)
	require.NoError(t, db.Create(&store.Plan{
		ID: "v1", AffiliateID: "child", Type: "hybrid", AmountMinor: 10000, Currency: "USD",
		Tiers: `[{"from_minor":0,"rate_bp":2500}]`, TierMode: "tiered", EffectiveFrom: time.Unix(0, 0).UTC(),
	}).Error)
	require.NoError(t, db.Create(&store.FXRate{ID: "fx1", Base: "EUR", Quote: "USD", RateE8: 110000000, EffectiveFrom: time.Unix(0, 0).UTC()}).Error)
	a := New(s, retrypolicy.DefaultPolicy(), outbound.NewClient(time.Second, outbound.Allowlist{}))
	at := time.Date(2026, 10, 5, 10, 0, 0, 0, time.UTC)
	events := []postback.Event{
		{EventID: "f", Type: postback.FTD, AffiliateID: "child", PlayerID: "p", AmountMinor: 5000, Currency: "USD", OccurredAt: at},
		{EventID: "n", Type: postback.Revenue, AffiliateID: "child", PlayerID: "p", AmountMinor: 100000, Currency: "EUR", OccurredAt: at.Add(time.Hour)},
		{EventID: "cb", Type: postback.Chargeback, AffiliateID: "child", AmountMinor: 5000, Currency: "USD", OccurredAt: at.Add(2 * time.Hour), OriginalEventID: "f"},
	}
	wantPayout := []int64{10000, 27500, -10000} // CPA 100.00; 25% of 1,000.00 EUR at 1.10 = 275.00; clawback
	for round := range 2 {
		for i, ev := range events {
			res, err := a.RecordConversion(context.Background(), RecordConversionInput{IntegrationID: "int", WorkflowID: "wf-" + ev.EventID, Event: ev})
			require.NoError(t, err)
			require.Equal(t, wantPayout[i], res.PayoutMinor, "round %d event %s", round, ev.EventID)
			require.Equal(t, "USD", res.Currency)
		}
	}
	var entries []store.LedgerEntry
	require.NoError(t, db.Order("source_key").Find(&entries).Error)
	got := map[string]int64{}
	for _, e := range entries {
		got[e.SourceKey] = e.AmountMinor
	}
	require.Equal(t, map[string]int64{
		"cpa:child:int:player:p":              10000,
		"clawback:cpa:child:int:player:p":     -10000,
		"revshare:child:int:event:n":          27500,
		"sub:cpa:child:int:player:p":          1000,
		"sub:clawback:cpa:child:int:player:p": -1000,
		"sub:revshare:child:int:event:n":      2750,
	}, got)
	var rs store.LedgerEntry
	require.NoError(t, db.Where("source_key = ?", "revshare:child:int:event:n").Take(&rs).Error)
	require.Equal(t, "EUR/USD=1.10000000", rs.FXRate)
	require.Equal(t, "v1", rs.PlanID)
	require.Equal(t, "2026-10", rs.Period)
	require.Equal(t, int64(110000), rs.BaseMinor)
}

// BenchmarkRecordConversionRevShare measures one revenue event (conversion, RevShare and parent entries in
// one SQLite transaction) for an affiliate whose ledger keeps growing.
func BenchmarkRecordConversionRevShare(b *testing.B) {
	s := openStore(b)
	require.NoError(b, s.DB.Create(&store.Affiliate{ID: "parent", Name: "P"}).Error)
	require.NoError(b, s.DB.Create(&store.Affiliate{ID: "child", Name: "C", ParentID: "parent", ParentShareBP: 1000}).Error)
	require.NoError(b, s.DB.Create(&store.Plan{
		ID: "v1", AffiliateID: "child", Type: "revshare", Currency: "USD", Carryover: true,
		Tiers: `[{"from_minor":0,"rate_bp":2500},{"from_minor":1000000,"rate_bp":3000}]`, TierMode: "ladder", EffectiveFrom: time.Unix(0, 0).UTC(),
	}).Error)
	a := New(s, retrypolicy.DefaultPolicy(), outbound.NewClient(time.Second, outbound.Allowlist{}))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for i := range b.N {
		ev := postback.Event{EventID: "n" + strconv.Itoa(i), Type: postback.Revenue, AffiliateID: "child", PlayerID: "p" + strconv.Itoa(i%50),
			AmountMinor: int64(i%7-2) * 1000, Currency: "USD", OccurredAt: start.Add(time.Duration(i) * time.Hour)}
		if _, err := a.RecordConversion(context.Background(), RecordConversionInput{IntegrationID: "int", WorkflowID: "wf", Event: ev}); err != nil {
			b.Fatal(err)
		}
	}
}

// openCPAAffiliate opens a store with affiliate "aff" on a CPA plan of 200.00 USD (v1), and its activities.
func openCPAAffiliate(t testing.TB) (*store.Store, *Activities) {
	s := openStore(t)
	require.NoError(t, s.DB.Create(&store.Affiliate{ID: "aff", Name: "A"}).Error)
	require.NoError(t, s.DB.Create(&store.Plan{ID: "v1", AffiliateID: "aff", Type: "cpa", AmountMinor: 20000, Currency: "USD", EffectiveFrom: time.Unix(0, 0).UTC()}).Error)
	return s, New(s, retrypolicy.DefaultPolicy(), outbound.NewClient(time.Second, outbound.Allowlist{}))
}

// BenchmarkRecordConversionFTD measures one first deposit of a new player (conversion and CPA entry in one
// SQLite transaction) for an affiliate whose conversions keep growing, as in a promotion: the cost of one
// must not grow with the affiliate's history.
func BenchmarkRecordConversionFTD(b *testing.B) {
	_, a := openCPAAffiliate(b)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for i := range b.N {
		ev := postback.Event{EventID: "f" + strconv.Itoa(i), Type: postback.FTD, AffiliateID: "aff", PlayerID: "p" + strconv.Itoa(i),
			AmountMinor: 5000, Currency: "USD", OccurredAt: start.Add(time.Duration(i) * time.Minute)}
		if _, err := a.RecordConversion(context.Background(), RecordConversionInput{IntegrationID: "int", WorkflowID: "wf", Event: ev}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestChargebackBeforeItsDepositIsAppliedWhenTheDepositArrives: the chargeback is recorded first (no
// original yet, so unattributed), and the CPA it claws back is written and clawed back when the ftd lands.
func TestChargebackBeforeItsDepositIsAppliedWhenTheDepositArrives(t *testing.T) {
	s, a := openCPAAffiliate(t)
	at := time.Date(2026, 10, 5, 10, 0, 0, 0, time.UTC)
	record := func(ev postback.Event) RecordConversionResult {
		res, err := a.RecordConversion(context.Background(), RecordConversionInput{IntegrationID: "int", WorkflowID: "wf-" + ev.EventID, Event: ev})
		require.NoError(t, err)
		return res
	}
	require.Zero(t, record(postback.Event{EventID: "cb", Type: postback.Chargeback, AmountMinor: 5000, Currency: "USD", OccurredAt: at.Add(time.Hour), OriginalEventID: "f"}).PayoutMinor)
	var cb store.Conversion
	require.NoError(t, s.DB.Where("event_id = ?", "cb").Take(&cb).Error)
	require.Empty(t, cb.AffiliateID, "unattributed until its original arrives")

	require.Equal(t, int64(20000), record(postback.Event{EventID: "f", Type: postback.FTD, AffiliateID: "aff", PlayerID: "p", AmountMinor: 5000, Currency: "USD", OccurredAt: at}).PayoutMinor)
	var entries []store.LedgerEntry
	require.NoError(t, s.DB.Order("source_key").Find(&entries).Error)
	require.Len(t, entries, 2)
	require.Equal(t, []string{"clawback:cpa:aff:int:player:p", "cpa:aff:int:player:p"}, []string{entries[0].SourceKey, entries[1].SourceKey})
	require.Equal(t, []int64{-20000, 20000}, []int64{entries[0].AmountMinor, entries[1].AmountMinor})
	require.Equal(t, cb.ID, entries[0].ConversionID)
	cb = store.Conversion{}
	require.NoError(t, s.DB.Where("event_id = ?", "cb").Take(&cb).Error)
	require.Equal(t, []string{"aff", "p"}, []string{cb.AffiliateID, cb.PlayerID})
	record(postback.Event{EventID: "cb", Type: postback.Chargeback, AmountMinor: 5000, Currency: "USD", OccurredAt: at.Add(time.Hour), OriginalEventID: "f"})
	require.EqualValues(t, 2, func() int64 { var n int64; s.DB.Model(&store.LedgerEntry{}).Count(&n); return n }())
}
