package commissionrow

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/commission"
	"github.com/affrelay/affrelay/store"
)

func TestPlanTiersRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tiers  []commission.Tier
		stored string
	}{
		{"none", nil, ""},
		{"two", []commission.Tier{{FromMinor: 0, RateBP: 2500}, {FromMinor: 100000, RateBP: 3500}},
			`[{"from_minor":0,"rate_bp":2500},{"from_minor":100000,"rate_bp":3500}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.stored, Tiers(tc.tiers))
			p, err := Plan(store.Plan{ID: "pln_1", Type: commission.RevShare, Currency: "EUR", Tiers: Tiers(tc.tiers)})
			require.NoError(t, err)
			require.Equal(t, tc.tiers, p.Tiers)
		})
	}
	_, err := Plan(store.Plan{ID: "pln_bad", Tiers: "{"})
	require.ErrorContains(t, err, "plan pln_bad: tiers")
}

func TestLedgerRowRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	e := commission.Entry{
		SourceKey: "k", Kind: commission.KindRevShare, AffiliateID: "aff_1", AmountMinor: -250, Currency: "EUR",
		PlanID: "pln_1", EventID: "ev_1", PlayerID: "p_1", At: at, FXRate: "1.08345", Period: "2026-03", BaseMinor: -1000,
		OriginalKey: "orig",
	}
	row := LedgerRow("led_1", "cnv_1", e)
	require.Equal(t, "led_1", row.ID)
	require.Equal(t, "cnv_1", row.ConversionID)
	require.Equal(t, e, Entry(row))
	require.Equal(t, []commission.Entry{e}, Entries([]store.LedgerEntry{row}))
}

func TestRecorded(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	c := store.Conversion{EventID: "ev_2", Event: "refund", PlayerID: "p_1", AmountMinor: 500, Currency: "EUR", OriginalEventID: "ev_1", OccurredAt: at}
	want := commission.Recorded{
		Event:    commission.Event{ID: "ev_2", Type: "refund", PlayerID: "p_1", AmountMinor: 500, At: at.UTC()},
		Currency: "EUR", OriginalID: "ev_1",
	}
	require.Equal(t, want, Recorded(c))
	require.Equal(t, []commission.Recorded{want}, RecordedAll([]store.Conversion{c}))
}

func TestRevSharePeriods(t *testing.T) {
	got := RevSharePeriods([]store.RevSharePeriod{{AffiliateID: "aff_1", Period: "2026-03", PlanID: "pln_1", NGRMinor: 1000, WrittenMinor: 250}})
	require.Equal(t, []commission.Entry{{Kind: commission.KindRevShare, Period: "2026-03", PlanID: "pln_1", BaseMinor: 1000, AmountMinor: 250}}, got)
}
