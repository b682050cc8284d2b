package performance

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBucket(t *testing.T) {
	for _, tc := range []struct{ day, groupBy, want string }{
		{"2026-11-04", GroupByDay, "2026-11-04"},
		{"2026-11-04", GroupByWeek, "2026-11-02"}, // a Wednesday: its week starts on Monday the 2nd
		{"2026-11-02", GroupByWeek, "2026-11-02"},
		{"2026-11-08", GroupByWeek, "2026-11-02"}, // Sunday ends the ISO week
		{"2026-01-01", GroupByWeek, "2025-12-29"}, // across the year
		{"2026-11-30", GroupByMonth, "2026-11"},
		{"pl_1", GroupByPlayer, "pl_1"},
		{"", "sub1", ""},
	} {
		got, err := Bucket(tc.day, tc.groupBy)
		require.NoError(t, err, tc)
		require.Equal(t, tc.want, got, tc)
	}
	_, err := Bucket("2026-13-01", GroupByMonth)
	require.Error(t, err)
}

func TestRate(t *testing.T) {
	for _, tc := range []struct {
		num, den int64
		want     string
		ok       bool
	}{
		{1, 3, "33.33", true},
		{2, 3, "66.67", true},
		{1, 8, "12.50", true},
		{1, 800, "0.12", true}, // 0.125 rounds half to even
		{3, 800, "0.38", true}, // 0.375 rounds half to even
		{5, 5, "100.00", true},
		{7, 5, "140.00", true}, // more registrations than clicks: direct traffic
		{0, 9, "0.00", true},
		{3, 0, "", false},
	} {
		got, ok := Rate(tc.num, tc.den)
		require.Equal(t, tc.ok, ok, tc)
		require.Equal(t, tc.want, got, tc)
	}
}

func TestEPC(t *testing.T) {
	for _, tc := range []struct {
		clicks  int64
		m       Money
		want    string
		ok      bool
		comment string
	}{
		{3, Money{Currency: "USD", CommissionMinor: 10000}, "33.3333", true, "100.00 over 3 clicks"},
		{8, Money{Currency: "EUR", CommissionMinor: 1}, "0.0012", true, "0.00125 rounds half to even"},
		{4, Money{Currency: "JPY", CommissionMinor: 1001}, "250.25", true, "no minor unit: two decimals"},
		{2, Money{Currency: "USD", CommissionMinor: -301}, "-1.5050", true, "a clawback month"},
		{0, Money{Currency: "USD", CommissionMinor: 500}, "", false, "no clicks"},
	} {
		got, ok := Row{Clicks: tc.clicks}.EPC(tc.m)
		require.Equal(t, tc.ok, ok, tc.comment)
		require.Equal(t, tc.want, got, tc.comment)
	}
}

func TestBuild(t *testing.T) {
	f := Facts{
		Clicks: []ClickSum{
			{Key: "2026-11-02", Day: "2026-11-02", Clicks: 10, Unique: 7},
			{Key: "2026-11-09", Day: "2026-11-09", Clicks: 5, Unique: 5},
			{Key: "2026-10-31", Day: "2026-10-31", Clicks: 4, Unique: 2},
		},
		Events: []EventSum{
			{Key: "2026-11-03", Event: "registration", Count: 3},
			{Key: "2026-11-04", Event: "ftd", Currency: "USD", Count: 2, AmountMinor: 15000},
			{Key: "2026-11-04", Event: "ftd", Currency: "EUR", Count: 1, AmountMinor: 2000},
			{Key: "2026-11-05", Event: "deposit", Currency: "USD", Count: 4, AmountMinor: 40000},
			{Key: "2026-11-10", Event: "revenue", Currency: "USD", Count: 2, AmountMinor: -500},
			{Key: "2026-10-31", Event: "registration", Count: 1},
		},
		Commissions: []CommissionSum{
			{Key: "2026-11-04", Kind: "cpa", Currency: "USD", Entries: 2, AmountMinor: 20000},
			{Key: "2026-11-06", Kind: "cpa_clawback", Currency: "USD", Entries: 1, AmountMinor: -10000},
			{Key: "2026-11-10", Kind: "revshare", Currency: "USD", Entries: 2, AmountMinor: -125},
			{Key: "2026-11-10", Kind: "lots", Currency: "EUR", Entries: 1, AmountMinor: 700},
		},
	}
	rep, err := Build(GroupByWeek, f)
	require.NoError(t, err)
	require.Equal(t, []string{"2026-10-26", "2026-11-02", "2026-11-09"}, []string{rep.Rows[0].Key, rep.Rows[1].Key, rep.Rows[2].Key})

	week := rep.Rows[1]
	require.Equal(t, Row{
		Key: "2026-11-02", Clicks: 10, UniqueClicks: 7, Registrations: 3, FTDs: 3, Deposits: 7, QualifiedCPAs: 1,
		Money: []Money{
			{Currency: "EUR", FTDAmountMinor: 2000, DepositAmountMinor: 2000},
			{Currency: "USD", FTDAmountMinor: 15000, DepositAmountMinor: 55000, CommissionEntries: 3, CommissionMinor: 10000,
				ByKind: []KindSum{{Kind: "cpa", Entries: 2, AmountMinor: 20000}, {Kind: "cpa_clawback", Entries: 1, AmountMinor: -10000}}},
		},
	}, week)
	c2r, _ := week.ClickToRegistration()
	r2f, _ := week.RegistrationToFTD()
	require.Equal(t, "30.00", c2r)
	require.Equal(t, "100.00", r2f)

	// The total is the sum of every fact, whatever the grouping.
	require.Equal(t, int64(19), rep.Total.Clicks)
	require.Equal(t, int64(14), rep.Total.UniqueClicks)
	require.Equal(t, int64(4), rep.Total.Registrations)
	require.Equal(t, []Money{
		{Currency: "EUR", FTDAmountMinor: 2000, DepositAmountMinor: 2000, CommissionEntries: 1, CommissionMinor: 700,
			ByKind: []KindSum{{Kind: "lots", Entries: 1, AmountMinor: 700}}},
		{Currency: "USD", FTDAmountMinor: 15000, DepositAmountMinor: 55000, NGRMinor: -500, CommissionEntries: 5, CommissionMinor: 9875,
			ByKind: []KindSum{{Kind: "cpa", Entries: 2, AmountMinor: 20000}, {Kind: "cpa_clawback", Entries: 1, AmountMinor: -10000}, {Kind: "revshare", Entries: 2, AmountMinor: -125}}},
	}, rep.Total.Money)
	require.Equal(t, []string{"cpa", "cpa_clawback", "lots", "revshare"}, rep.Kinds())

	byMonth, err := Build(GroupByMonth, f)
	require.NoError(t, err)
	require.Len(t, byMonth.Rows, 2)
	require.Equal(t, rep.Total, byMonth.Total)

	_, err = Build(GroupByDay, Facts{Clicks: []ClickSum{{Key: "not a day"}}})
	require.Error(t, err)
}

func TestBuildCountsARestatedFirstDepositAtItsCorrectedAmount(t *testing.T) {
	rep, err := Build(GroupByDay, Facts{Events: []EventSum{
		{Key: "2026-11-04", Event: "ftd", Currency: "USD", Count: 2, AmountMinor: 18000},
		{Key: "2026-11-04", Event: "ftd_adjustment", Currency: "USD", Count: 1, AmountMinor: 3000},  // 80.00 restated as 110.00
		{Key: "2026-11-04", Event: "ftd_adjustment", Currency: "USD", Count: 1, AmountMinor: -1000}, // 100.00 restated as 90.00
		{Key: "2026-11-04", Event: "deposit", Currency: "USD", Count: 1, AmountMinor: 5000},
	}})
	require.NoError(t, err)
	require.Equal(t, Row{
		Key: "2026-11-04", FTDs: 2, Deposits: 3,
		Money: []Money{{Currency: "USD", FTDAmountMinor: 20000, DepositAmountMinor: 25000}},
	}, rep.Rows[0])
}

func TestCSV(t *testing.T) {
	rep, err := Build("sub1", Facts{
		Clicks:      []ClickSum{{Key: "banner", Day: "2026-11-02", Clicks: 4, Unique: 3}},
		Events:      []EventSum{{Key: "banner", Event: "registration", Count: 1}, {Key: "", Event: "ftd", Currency: "USD", Count: 1, AmountMinor: 5000}},
		Commissions: []CommissionSum{{Key: "", Kind: "cpa", Currency: "USD", Entries: 1, AmountMinor: 10000}},
	})
	require.NoError(t, err)
	require.Equal(t, []string{"sub1", "clicks", "unique_clicks", "registrations", "ftds", "deposits", "qualified_cpas",
		"click_to_registration", "registration_to_ftd", "currency", "ftd_amount", "deposit_amount", "ngr",
		"commission_entries", "commission", "epc", "commission_cpa"}, rep.CSVHeader())
	require.Equal(t, [][]string{
		{"", "0", "0", "0", "1", "1", "1", "", "", "USD", "50.00", "50.00", "0.00", "1", "100.00", "", "100.00"},
		{"banner", "4", "3", "1", "0", "0", "0", "25.00", "0.00", "", "", "", "", "", "", "", ""},
		{"TOTAL", "4", "3", "1", "1", "1", "1", "25.00", "100.00", "USD", "50.00", "50.00", "0.00", "1", "100.00", "25.0000", "100.00"},
	}, rep.CSVRecords())
}

func TestValidGroupBy(t *testing.T) {
	_, ok := ValidGroupBy("sub3", AffiliateGroupBys)
	require.True(t, ok)
	msg, ok := ValidGroupBy("affiliate", AffiliateGroupBys)
	require.False(t, ok)
	require.Equal(t, `"affiliate" is not one of day, week, month, sub1, sub2, sub3, sub4, sub5, player`, msg)
}
