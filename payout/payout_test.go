package payout

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/apperr"
)

func TestEntryMoves(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		ok       bool
	}{
		{EntryPending, EntryApproved, true},
		{EntryPending, EntryOnHold, true},
		{EntryPending, EntryPaid, false}, // only approved entries are paid
		{EntryApproved, EntryPaid, true},
		{EntryApproved, EntryOnHold, true},
		{EntryApproved, EntryPending, false},
		{EntryOnHold, EntryApproved, true},
		{EntryOnHold, EntryPending, true},
		{EntryOnHold, EntryPaid, false},
		{EntryPaid, EntryApproved, false}, // paid is for good; a clawback is a new entry
		{EntryPaid, EntryOnHold, false},
	} {
		err := CheckEntryMove(tc.from, tc.to)
		require.Equal(t, tc.ok, err == nil, "%s → %s: %v", tc.from, tc.to, err)
	}
}

func TestHold(t *testing.T) {
	at := time.Date(2026, 10, 20, 15, 0, 0, 0, time.UTC)
	require.Equal(t, at, ApproveAt(at, 0))
	require.Equal(t, time.Date(2026, 11, 19, 15, 0, 0, 0, time.UTC), ApproveAt(at, 30))
	require.Equal(t, EntryPending, ReleasedStatus(ApproveAt(at, 30), at.AddDate(0, 0, 29)))
	require.Equal(t, EntryApproved, ReleasedStatus(ApproveAt(at, 30), at.AddDate(0, 0, 30)))
}

func TestPeriods(t *testing.T) {
	malta, err := time.LoadLocation("Europe/Malta")
	require.NoError(t, err)
	d := func(s string, loc *time.Location) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		require.NoError(t, err)
		return v
	}
	for _, tc := range []struct {
		cycle      Cycle
		at         time.Time
		key        string
		start, end time.Time
	}{
		{Cycle{Monthly, time.UTC}, d("2026-12-01 06:00", time.UTC), "2026-11", d("2026-11-01 00:00", time.UTC), d("2026-12-01 00:00", time.UTC)},
		{Cycle{Monthly, time.UTC}, d("2027-01-05 00:00", time.UTC), "2026-12", d("2026-12-01 00:00", time.UTC), d("2027-01-01 00:00", time.UTC)},
		// In Malta the month ends at 23:00 UTC of the last day (winter time).
		{Cycle{Monthly, malta}, d("2026-12-01 00:30", malta), "2026-11", d("2026-11-01 00:00", malta), d("2026-12-01 00:00", malta)},
		{Cycle{Weekly, time.UTC}, d("2026-11-30 06:00", time.UTC), "2026-W48", d("2026-11-23 00:00", time.UTC), d("2026-11-30 00:00", time.UTC)},
		{Cycle{Weekly, time.UTC}, d("2027-01-04 06:00", time.UTC), "2026-W53", d("2026-12-28 00:00", time.UTC), d("2027-01-04 00:00", time.UTC)},
		{Cycle{Biweekly, time.UTC}, d("2024-01-15 06:00", time.UTC), "2024-01-01..2024-01-14", d("2024-01-01 00:00", time.UTC), d("2024-01-15 00:00", time.UTC)},
		{Cycle{Biweekly, time.UTC}, d("2024-01-22 06:00", time.UTC), "2024-01-01..2024-01-14", d("2024-01-01 00:00", time.UTC), d("2024-01-15 00:00", time.UTC)},
		{Cycle{Biweekly, time.UTC}, d("2023-12-31 06:00", time.UTC), "2023-12-04..2023-12-17", d("2023-12-04 00:00", time.UTC), d("2023-12-18 00:00", time.UTC)},
		// A fortnight over the spring DST change in Malta is still 14 calendar days.
		{Cycle{Biweekly, malta}, d("2026-04-06 06:00", malta), "2026-03-23..2026-04-05", d("2026-03-23 00:00", malta), d("2026-04-06 00:00", malta)},
	} {
		p := tc.cycle.PeriodBefore(tc.at)
		require.Equal(t, Period{Key: tc.key, Start: tc.start.UTC(), End: tc.end.UTC()}, p, "%s at %s", tc.cycle.Kind, tc.at)
		parsed, err := tc.cycle.ParsePeriod(tc.key)
		require.NoError(t, err)
		require.Equal(t, p, parsed)
	}
	for _, tc := range []struct {
		kind, key string
	}{
		{Monthly, "2026-13"}, {Monthly, "2026-W48"}, {Weekly, "2026-W54"}, {Weekly, "2026-11"},
		{Biweekly, "2024-01-08..2024-01-21"}, {Biweekly, "2024-01-01"}, {Monthly, ""},
	} {
		_, err := Cycle{tc.kind, time.UTC}.ParsePeriod(tc.key)
		require.Error(t, err, "%s %q", tc.kind, tc.key)
	}
}

func TestBuild(t *testing.T) {
	at := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	lines := []Line{
		{EntryID: "b", Kind: "cpa", EventAt: at, AmountMinor: 20000},
		{EntryID: "a", Kind: "revshare", EventAt: at, AmountMinor: 1234},
		{EntryID: "c", Kind: "sub_affiliate", EventAt: at.Add(-time.Hour), AmountMinor: 500},
		{EntryID: "d", Kind: "cpa_clawback", EventAt: at.Add(time.Hour), AmountMinor: -20000},
		{EntryID: "e", Kind: "revshare", EventAt: at.Add(2 * time.Hour), AmountMinor: -34},
	}
	for _, tc := range []struct {
		name    string
		lines   []Line
		minimum int64
		status  string
		reason  string
		totals  Totals
	}{
		{"payable", lines, 0, Awaiting, "", Totals{20000, 1200, 500, -20000, 1700}},
		{"at the minimum", lines, 1700, Awaiting, "", Totals{20000, 1200, 500, -20000, 1700}},
		{"below the minimum", lines, 1701, RolledOver, "net 17.00 is below the minimum payout of 17.01: carried to the next statement", Totals{20000, 1200, 500, -20000, 1700}},
		{"negative", lines[3:], 0, RolledOver, "net -200.34 is negative: it is never paid out and carries to the next statement", Totals{0, -34, 0, -20000, -20034}},
		{"zero", []Line{lines[0], lines[3]}, 0, RolledOver, "net is zero: nothing to pay", Totals{20000, 0, 0, -20000, 0}},
	} {
		s := Build(tc.lines, "USD", tc.minimum)
		require.Equal(t, tc.status, s.Status, tc.name)
		require.Equal(t, tc.reason, s.Reason, tc.name)
		require.Equal(t, tc.totals, s.Totals, tc.name)
	}
	s := Build(lines, "USD", 0)
	var order []string
	for _, l := range s.Lines {
		order = append(order, l.EntryID)
	}
	require.Equal(t, []string{"c", "a", "b", "d", "e"}, order, "by event time, then entry id")
}

func TestParseConfirmation(t *testing.T) {
	paidAt := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		body  string
		want  Confirmation
		field string
	}{
		{`{"status":"paid","external_ref":"wire-1","paid_at":"2026-12-02T10:00:00Z"}`, Confirmation{Status: "paid", ExternalRef: "wire-1", PaidAt: paidAt}, ""},
		{`{"status":"paid","external_ref":"wire-1","paid_at":"2026-12-02T11:00:00+01:00","amount":"17.00","currency":"USD"}`,
			Confirmation{Status: "paid", ExternalRef: "wire-1", PaidAt: paidAt, HasAmount: true, AmountMinor: 1700, Currency: "USD"}, ""},
		{`{"status":"failed","external_ref":"wire-2","reason":"IBAN closed"}`, Confirmation{Status: "failed", ExternalRef: "wire-2", Reason: "IBAN closed"}, ""},
		{`{"status":"done","external_ref":"x","paid_at":"2026-12-02T10:00:00Z"}`, Confirmation{}, "status"},
		{`{"status":"paid","paid_at":"2026-12-02T10:00:00Z"}`, Confirmation{}, "external_ref"},
		{`{"status":"paid","external_ref":" x","paid_at":"2026-12-02T10:00:00Z"}`, Confirmation{}, "external_ref"},
		{`{"status":"paid","external_ref":"x"}`, Confirmation{}, "paid_at"},
		{`{"status":"paid","external_ref":"x","paid_at":"yesterday"}`, Confirmation{}, "paid_at"},
		{`{"status":"failed","external_ref":"x"}`, Confirmation{}, "reason"},
		{`{"status":"failed","external_ref":"x","reason":"r","paid_at":"2026-12-02T10:00:00Z"}`, Confirmation{}, "paid_at"},
		{`{"status":"paid","external_ref":"x","paid_at":"2026-12-02T10:00:00Z","amount":"1.001","currency":"USD"}`, Confirmation{}, "amount"},
		{`{"status":"paid","external_ref":"x","paid_at":"2026-12-02T10:00:00Z","amount":"1.00"}`, Confirmation{}, "amount"},
		{`{"status":"paid","external_ref":"x","paid_at":"2026-12-02T10:00:00Z","amount":"1.00","currency":"usd"}`, Confirmation{}, "currency"},
		{`{"status":"paid","external_ref":"x","paid_at":"2026-12-02T10:00:00Z","amount":1}`, Confirmation{}, "body"},
		{`{"status":"paid","external_ref":"x","paid_at":"2026-12-02T10:00:00Z","extra":1}`, Confirmation{}, "body"},
		{`{"status":"paid","external_ref":"x","paid_at":"2026-12-02T10:00:00Z"} {}`, Confirmation{}, "body"},
		{`[]`, Confirmation{}, "body"},
		{`{"status":"paid","external_ref":"x","External_Ref":"y","paid_at":"2026-12-02T10:00:00Z"}`, Confirmation{}, "External_Ref"},
		{"{\"status\":\"paid\",\"external_ref\":\"\xff\",\"paid_at\":\"2026-12-02T10:00:00Z\"}", Confirmation{}, "external_ref"},
		{``, Confirmation{}, "body"},
	} {
		got, err := ParseConfirmation([]byte(tc.body))
		if tc.field == "" {
			require.NoError(t, err, tc.body)
			require.Equal(t, tc.want, got, tc.body)
			continue
		}
		var fe *apperr.FieldError
		require.ErrorAs(t, err, &fe, tc.body)
		require.Equal(t, tc.field, fe.Field, tc.body)
	}
}

// fuzz-short: 20000x
func FuzzParseConfirmation(f *testing.F) {
	f.Add([]byte(`{"status":"paid","external_ref":"wire-1","paid_at":"2026-12-02T10:00:00Z","amount":"17.00","currency":"USD"}`))
	f.Add([]byte(`{"status":"failed","external_ref":"wire-2","reason":"IBAN closed"}`))
	f.Add([]byte(`{"status":"paid","external_ref":"\u0000","paid_at":"2026-12-02T10:00:00Z"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := ParseConfirmation(body)
		if err != nil {
			var fe *apperr.FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("error without a field: %v", err)
			}
			return
		}
		// What is accepted is complete and within bounds.
		if c.Status != ConfirmPaid && c.Status != ConfirmFailed || c.ExternalRef == "" || len(c.ExternalRef) > maxExternalRef || len(c.Reason) > maxReason {
			t.Fatalf("accepted an incomplete confirmation: %+v", c)
		}
		if (c.Status == ConfirmPaid) == c.PaidAt.IsZero() || (c.Status == ConfirmFailed && c.Reason == "") {
			t.Fatalf("accepted inconsistent fields: %+v", c)
		}
	})
}

func TestParseMinimums(t *testing.T) {
	m, err := ParseMinimums(" USD:50.00, EUR:25 ,")
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"USD": 5000, "EUR": 2500}, m)
	require.Equal(t, "EUR:25.00,USD:50.00", FormatMinimums(m))
	for _, bad := range []string{"USD", "usd:1", "USD:-1", "USD:1.001", "USD:1,USD:2"} {
		_, err := ParseMinimums(bad)
		require.Error(t, err, bad)
	}
}
