package eventplan

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/commission"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
)

func TestLeadEvents(t *testing.T) {
	reg := store.Conversion{ID: "cnv_1", IntegrationID: "int_1", EventID: "r-1", Event: postback.Registration, AffiliateID: "aff_1",
		PlayerID: "p-1", ClickID: "clk_1", Sub1: "fb", OccurredAt: at, CreatedAt: at}
	ftd := store.Conversion{ID: "cnv_2", IntegrationID: "int_1", EventID: "f-1", Event: postback.FTD, AffiliateID: "aff_1", PlayerID: "p-1", CreatedAt: at}
	dep := store.Conversion{ID: "cnv_3", IntegrationID: "int_1", EventID: "d-1", Event: postback.Deposit, AffiliateID: "aff_1", PlayerID: "p-1", CreatedAt: at}
	cb := store.Conversion{ID: "cnv_4", IntegrationID: "int_1", EventID: "c-1", Event: postback.Chargeback, AffiliateID: "aff_1", PlayerID: "p-1", CreatedAt: at}
	cpa := []store.LedgerEntry{{Kind: commission.KindCPA, AffiliateID: "aff_1"}}
	parentCPA := []store.LedgerEntry{{Kind: commission.KindCPA, AffiliateID: "aff_parent"}}

	for _, tc := range []struct {
		name       string
		c          store.Conversion
		entries    []store.LedgerEntry
		wantType   string
		wantStatus string
	}{
		{"the first event attributes the player", reg, nil, webhook.LeadAttributed, webhook.LeadRegistered},
		{"an ftd updates it", ftd, nil, webhook.LeadUpdated, webhook.LeadFTD},
		{"a deposit that qualifies the CPA", dep, cpa, webhook.LeadUpdated, webhook.LeadCPAQualified},
		{"another affiliate's CPA entry is not this one's", dep, parentCPA, "", ""},
		{"a deposit that changes nothing", dep, nil, "", ""},
		{"a chargeback", cb, nil, webhook.LeadUpdated, webhook.LeadChargeback},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := Lead(tc.c, reg, LeadStatus(tc.c, tc.entries), "https://casino.example/welcome?x=1")
			if tc.wantType == "" {
				require.Nil(t, ev)
				return
			}
			require.NotNil(t, ev)
			require.Equal(t, tc.wantType, ev.Type)
			require.Equal(t, webhook.LeadData{
				PlayerID: "p-1", IntegrationID: "int_1", AffiliateID: "aff_1", ClickID: "clk_1", Subs: map[string]string{"sub1": "fb"},
				LandingHost: "casino.example", FirstSeenAt: at, Status: tc.wantStatus, EventID: tc.c.EventID, Event: tc.c.Event,
			}, ev.Data)
			require.Equal(t, ev.Data, ev.CRMData, "CRM subscriptions get the same data")
		})
	}
	// One lead.attributed per player of an integration, one lead.updated per conversion.
	require.Equal(t, webhook.EventKey(webhook.LeadAttributed, "int_1:p-1"), Lead(reg, reg, "", "").Key)
	require.Equal(t, webhook.EventKey(webhook.LeadUpdated, "cnv_2"), Lead(ftd, reg, webhook.LeadFTD, "").Key)
}

func TestConversionRecordedShowsAStatusThatEarnsNothing(t *testing.T) {
	for status, want := range map[string]string{postback.StatusApproved: "", postback.StatusPending: "pending", postback.StatusDeclined: "declined"} {
		ev := ConversionRecorded(store.Conversion{ID: "cnv_1", Event: postback.FTD, Status: status, CreatedAt: at})
		require.Equal(t, want, ev.Data.(webhook.ConversionData).Status, status)
	}
}
