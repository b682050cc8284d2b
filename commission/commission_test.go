package commission

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/postback"
)

func event(typ, eventID, affiliateID, playerID string, amountMinor int64, currency string) postback.Event {
	return postback.Event{
		EventID: eventID, Type: typ, AffiliateID: affiliateID, PlayerID: playerID,
		AmountMinor: amountMinor, Currency: currency,
		OccurredAt: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC),
	}
}

func TestCalculate(t *testing.T) {
	cpa := Plan{Type: CPA, AmountMinor: 20000, Currency: "USD"}
	tests := []struct {
		name        string
		plan        Plan
		integration string
		ev          postback.Event
		want        []Entry
	}{
		{
			name: "cpa ftd with player", plan: cpa, integration: "int_1",
			ev:   event(postback.FTD, "evt-1", "aff_1", "p-42", 5025, "USD"),
			want: []Entry{{SourceKey: "cpa:aff_1:int_1:player:p-42", Kind: "cpa", AmountMinor: 20000, Currency: "USD"}},
		},
		{
			name: "plan amount and currency win over the event's", plan: cpa, integration: "int_1",
			ev:   event(postback.FTD, "evt-2", "aff_1", "p-43", 999, "EUR"),
			want: []Entry{{SourceKey: "cpa:aff_1:int_1:player:p-43", Kind: "cpa", AmountMinor: 20000, Currency: "USD"}},
		},
		{
			name: "ftd of zero amount still earns the CPA", plan: Plan{Type: CPA, AmountMinor: 1500, Currency: "JPY"}, integration: "int_2",
			ev:   event(postback.FTD, "evt-3", "aff_9", "p-1", 0, "JPY"),
			want: []Entry{{SourceKey: "cpa:aff_9:int_2:player:p-1", Kind: "cpa", AmountMinor: 1500, Currency: "JPY"}},
		},
		{
			name: "cpa ftd without player is keyed by event id", plan: cpa, integration: "int_1",
			ev:   event(postback.FTD, "evt-7", "aff_1", "", 5000, "USD"),
			want: []Entry{{SourceKey: "cpa:aff_1:int_1:event:evt-7", Kind: "cpa", AmountMinor: 20000, Currency: "USD"}},
		},
		{name: "deposit earns nothing", plan: cpa, integration: "int_1", ev: event(postback.Deposit, "e", "aff_1", "p", 5000, "USD")},
		{name: "registration earns nothing", plan: cpa, integration: "int_1", ev: event(postback.Registration, "e", "aff_1", "p", 0, "")},
		{name: "revenue earns nothing", plan: cpa, integration: "int_1", ev: event(postback.Revenue, "e", "aff_1", "p", -1230, "USD")},
		{name: "chargeback earns nothing", plan: cpa, integration: "int_1", ev: event(postback.Chargeback, "e", "aff_1", "p", 5000, "USD")},
		{name: "refund earns nothing", plan: cpa, integration: "int_1", ev: event(postback.Refund, "e", "aff_1", "p", 5000, "USD")},
		{
			name: "zero-amount plan earns nothing", plan: Plan{Type: CPA, AmountMinor: 0, Currency: "USD"}, integration: "int_1",
			ev: event(postback.FTD, "e", "aff_1", "p", 5000, "USD"),
		},
		{
			name: "negative-amount plan earns nothing", plan: Plan{Type: CPA, AmountMinor: -100, Currency: "USD"}, integration: "int_1",
			ev: event(postback.FTD, "e", "aff_1", "p", 5000, "USD"),
		},
		{
			name: "unknown plan type earns nothing", plan: Plan{Type: "revshare", AmountMinor: 20000, Currency: "USD"}, integration: "int_1",
			ev: event(postback.FTD, "e", "aff_1", "p", 5000, "USD"),
		},
		{
			name: "plan type is case-sensitive", plan: Plan{Type: "CPA", AmountMinor: 20000, Currency: "USD"}, integration: "int_1",
			ev: event(postback.FTD, "e", "aff_1", "p", 5000, "USD"),
		},
		{
			name: "empty plan earns nothing", plan: Plan{}, integration: "int_1",
			ev: event(postback.FTD, "e", "aff_1", "p", 5000, "USD"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Calculate(tt.plan, tt.integration, tt.ev)
			if tt.want == nil {
				require.Empty(t, got)
				return
			}
			require.Equal(t, tt.want, got)
		})
	}
}

// TestCalculateSourceKeys checks which pairs of FTDs share a source key: the ledger's unique source key is
// what pays a CPA once per player and integration.
func TestCalculateSourceKeys(t *testing.T) {
	cpa := Plan{Type: CPA, AmountMinor: 20000, Currency: "USD"}
	type ftd struct {
		integration, eventID, affiliateID, playerID string
	}
	tests := []struct {
		name     string
		a, b     ftd
		wantSame bool
	}{
		{"same player, different events", ftd{"int_1", "evt-1", "aff_1", "p-42"}, ftd{"int_1", "evt-2", "aff_1", "p-42"}, true},
		{"different players", ftd{"int_1", "evt-1", "aff_1", "p-42"}, ftd{"int_1", "evt-2", "aff_1", "p-43"}, false},
		{"same player, different integrations", ftd{"int_1", "evt-1", "aff_1", "p-42"}, ftd{"int_2", "evt-1", "aff_1", "p-42"}, false},
		{"same player, different affiliates", ftd{"int_1", "evt-1", "aff_1", "p-42"}, ftd{"int_1", "evt-2", "aff_2", "p-42"}, false},
		{"no player, same event id", ftd{"int_1", "evt-1", "aff_1", ""}, ftd{"int_1", "evt-1", "aff_1", ""}, true},
		{"no player, different event ids", ftd{"int_1", "evt-1", "aff_1", ""}, ftd{"int_1", "evt-2", "aff_1", ""}, false},
		{"player id equal to another event's id", ftd{"int_1", "evt-1", "aff_1", "x"}, ftd{"int_1", "x", "aff_1", ""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Calculate(cpa, tt.a.integration, event(postback.FTD, tt.a.eventID, tt.a.affiliateID, tt.a.playerID, 100, "USD"))
			b := Calculate(cpa, tt.b.integration, event(postback.FTD, tt.b.eventID, tt.b.affiliateID, tt.b.playerID, 100, "USD"))
			require.Len(t, a, 1)
			require.Len(t, b, 1)
			if tt.wantSame {
				require.Equal(t, a[0].SourceKey, b[0].SourceKey)
			} else {
				require.NotEqual(t, a[0].SourceKey, b[0].SourceKey)
			}
		})
	}
}
