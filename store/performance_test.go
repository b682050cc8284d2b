package store

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The performance report's sums on both databases: days are UTC days whatever offset a time was written
// with, unique clicks count distinct visitors per day (and every click without one), only approved funnel
// events count, and ledger entries take their subs from their conversion.
func TestPerformanceSums(t *testing.T) {
	for driver, open := range testDatabases(t) {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			require.NoError(t, s.Migrate(ctx))
			at := func(v string) time.Time {
				tm, err := time.Parse(time.RFC3339Nano, v)
				require.NoError(t, err)
				return tm.UTC()
			}
			for i, c := range []struct{ visitor, at string }{
				{"v1", "2026-10-03T10:00:00.123456789Z"}, {"v1", "2026-10-03T23:59:59Z"}, {"v2", "2026-10-03T01:00:00Z"},
				{"", "2026-10-03T02:00:00Z"}, {"", "2026-10-03T03:00:00Z"}, {"v1", "2026-10-04T00:00:00Z"},
			} {
				require.NoError(t, s.DB.Create(&Click{ID: NewID("clk"), AffiliateID: "aff_a", IntegrationID: "int", LandingURL: "https://x/",
					Sub1: []string{"a", "b"}[i%2], Visitor: c.visitor, CreatedAt: at(c.at)}).Error)
			}
			require.NoError(t, s.DB.Create(&Click{ID: NewID("clk"), AffiliateID: "aff_b", IntegrationID: "int", LandingURL: "https://x/", CreatedAt: at("2026-10-03T10:00:00Z")}).Error)
			for i, c := range []Conversion{
				{Event: "registration", OccurredAt: at("2026-10-03T12:00:00Z"), Status: "approved", Sub1: "a"},
				{Event: "ftd", AmountMinor: 5000, Currency: "USD", OccurredAt: at("2026-10-03T12:00:00Z"), Status: "approved", Sub1: "a"},
				{Event: "ftd", AmountMinor: 7000, Currency: "USD", OccurredAt: at("2026-10-04T12:00:00Z"), Status: "pending", Sub1: "a"},
				{Event: "chargeback", AmountMinor: 5000, Currency: "USD", OccurredAt: at("2026-10-04T12:00:00Z"), Status: "approved"},
				{Event: "revenue", AmountMinor: -300, Currency: "EUR", OccurredAt: at("2026-11-01T00:00:00Z"), Status: "approved"},
			} {
				c.ID, c.IntegrationID, c.EventID, c.AffiliateID = NewID("cnv"), "int", NewID("ev"), "aff_a"
				require.NoError(t, s.DB.Create(&c).Error)
				if i == 1 {
					require.NoError(t, s.DB.Create(&LedgerEntry{ID: NewID("le"), AffiliateID: "aff_a", SourceKey: NewID("sk"), ConversionID: c.ID,
						Kind: "cpa", AmountMinor: 10000, Currency: "USD", EventAt: c.OccurredAt}).Error)
				}
			}
			r := PerformanceRange{AffiliateID: "aff_a", Dimension: "day", From: at("2026-10-01T00:00:00Z"), To: at("2026-11-01T00:00:00Z")}
			clicks, events, entries, err := s.Performance(ctx, r)
			require.NoError(t, err)
			require.ElementsMatch(t, []PerformanceClicks{
				{Key: "2026-10-03", Day: "2026-10-03", Clicks: 5, Unique: 4}, // v1, v2 and two without a visitor
				{Key: "2026-10-04", Day: "2026-10-04", Clicks: 1, Unique: 1},
			}, clicks)
			require.ElementsMatch(t, []PerformanceEvents{
				{Key: "2026-10-03", Event: "registration", Count: 1},
				{Key: "2026-10-03", Event: "ftd", Currency: "USD", Count: 1, AmountMinor: 5000},
			}, events)
			require.Equal(t, []PerformanceCommissions{{Key: "2026-10-03", Kind: "cpa", Currency: "USD", Entries: 1, AmountMinor: 10000}}, entries)

			r.Dimension = "sub1"
			clicks, _, entries, err = s.Performance(ctx, r)
			require.NoError(t, err)
			require.ElementsMatch(t, []PerformanceClicks{
				{Key: "a", Day: "2026-10-03", Clicks: 3, Unique: 3}, {Key: "b", Day: "2026-10-03", Clicks: 2, Unique: 2},
				{Key: "b", Day: "2026-10-04", Clicks: 1, Unique: 1},
			}, clicks)
			require.Equal(t, "a", entries[0].Key)

			r.Dimension = "player"
			clicks, _, _, err = s.Performance(ctx, r)
			require.NoError(t, err)
			require.ElementsMatch(t, []PerformanceClicks{{Key: "", Day: "2026-10-03", Clicks: 5, Unique: 4}, {Key: "", Day: "2026-10-04", Clicks: 1, Unique: 1}}, clicks)

			r.AffiliateID, r.Dimension = "", "affiliate"
			clicks, _, _, err = s.Performance(ctx, r)
			require.NoError(t, err)
			require.Len(t, clicks, 3)
		})
	}
}

// BenchmarkPerformanceReport reads a month of one affiliate's performance, and a month across affiliates, on
// PostgreSQL holding 1,000,000 events over 2026 (with their 500,000 ledger entries) and 100,000 clicks. The
// measured affiliate has a fifth of everything: about 16,700 events and 1,700 clicks a month.
// Run it with `make bench-performance`; the goal is 500 ms per report.
func BenchmarkPerformanceReport(b *testing.B) {
	dsn := os.Getenv("AFFRELAY_TEST_POSTGRES_DSN")
	if dsn == "" {
		b.Skip("AFFRELAY_TEST_POSTGRES_DSN is not set")
	}
	ctx := context.Background()
	s := openPostgresSchema(b, dsn)
	require.NoError(b, s.Migrate(ctx))
	seedPerformance(b, s, 1_000_000, 100_000)
	month := PerformanceRange{AffiliateID: "aff_big", From: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)}
	for _, dim := range []string{"day", "sub1", "player"} {
		b.Run("affiliate-month/"+dim, func(b *testing.B) {
			r := month
			r.Dimension = dim
			for b.Loop() {
				if _, _, _, err := s.Performance(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/report")
		})
	}
	b.Run("all-month/affiliate", func(b *testing.B) {
		r := month
		r.AffiliateID, r.Dimension = "", "affiliate"
		for b.Loop() {
			if _, _, _, err := s.Performance(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/report")
	})
}

// seedPerformance writes events conversions spread evenly over 2026 (30% registrations, 10% FTDs, 20%
// deposits, 40% revenue; one in five for aff_big, the rest over 49 affiliates), a ledger entry per FTD (cpa)
// and revenue event (revshare), and clicks clicks, in set-based statements.
func seedPerformance(b *testing.B, s *Store, events, clicks int) {
	year := 365 * 24 * 3600.0
	stmts := []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO conversions (id, integration_id, event_id, event, affiliate_id, player_id, amount_minor, currency, sub1, occurred_at, status)
		  SELECT 'cnv'||g, 'int_bench', 'ev'||g,
		    CASE WHEN g % 20 < 6 THEN 'registration' WHEN g % 20 < 8 THEN 'ftd' WHEN g % 20 < 12 THEN 'deposit' ELSE 'revenue' END,
		    CASE WHEN g % 5 = 0 THEN 'aff_big' ELSE 'aff_' || (g % 49) END, 'pl' || (g % 50000),
		    CASE WHEN g % 20 < 6 THEN 0 ELSE 1000 + g % 5000 END, CASE WHEN g % 20 < 6 THEN '' WHEN g % 7 = 0 THEN 'EUR' ELSE 'USD' END,
		    'src' || (g % 10), timestamptz '2026-01-01 00:00:00+00' + make_interval(secs => g * ?::float8), 'approved'
		  FROM generate_series(1, ?::int) AS g`, []any{year / float64(events), events}},
		{`INSERT INTO ledger_entries (id, affiliate_id, source_key, conversion_id, kind, amount_minor, currency, player_id, event_at, status)
		  SELECT 'le' || id, affiliate_id, 'sk' || id, id, CASE WHEN event = 'ftd' THEN 'cpa' ELSE 'revshare' END,
		    CASE WHEN event = 'ftd' THEN 10000 ELSE amount_minor / 4 END, currency, player_id, occurred_at, 'pending'
		  FROM conversions WHERE event IN ('ftd', 'revenue')`, nil},
		{`INSERT INTO clicks (id, affiliate_id, integration_id, sub1, landing_url, visitor, created_at)
		  SELECT 'clk'||g, CASE WHEN g % 5 = 0 THEN 'aff_big' ELSE 'aff_' || (g % 49) END, 'int_bench', 'src' || (g % 10),
		    'https://casino.example/', md5((g % 30000)::text)::varchar(32), timestamptz '2026-01-01 00:00:00+00' + make_interval(secs => g * ?::float8)
		  FROM generate_series(1, ?::int) AS g`, []any{year / float64(clicks), clicks}},
		// What autovacuum does soon after a bulk load: statistics, and the visibility map that lets the
		// report's covering indexes answer without visiting the table.
		{`VACUUM ANALYZE conversions`, nil}, {`VACUUM ANALYZE ledger_entries`, nil}, {`VACUUM ANALYZE clicks`, nil},
	}
	for _, st := range stmts {
		require.NoError(b, s.DB.Exec(st.sql, st.args...).Error)
	}
}
