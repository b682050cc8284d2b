package postback

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/money"
)

// testNow is the receive time used throughout: 12:00 UTC, expressed in a +02:00 zone so that a
// result that forgets to convert to UTC shows up.
var testNow = time.Date(2026, 3, 10, 14, 0, 0, 0, time.FixedZone("UTC+2", 2*60*60))

const testSkew = 5 * time.Minute

// validFTD returns a complete, valid ftd postback; each call returns a fresh map.
func validFTD() Fields {
	return Fields{
		FieldEventID:     {"evt-1"},
		FieldEvent:       {FTD},
		FieldAffiliateID: {"aff_1"},
		FieldPlayerID:    {"player-42"},
		FieldClickID:     {"clk-9"},
		FieldAmount:      {"50.25"},
		FieldCurrency:    {"USD"},
		FieldOccurredAt:  {"2026-03-10T13:15:30.5+02:00"},
		"sub1":           {"s1"},
		"sub2":           {"s2"},
		"sub3":           {"s3"},
		"sub4":           {"s4"},
		"sub5":           {"s5"},
	}
}

// with returns validFTD with the given fields replaced; a nil value removes the field.
func with(changes Fields) Fields {
	f := validFTD()
	for k, v := range changes {
		if v == nil {
			delete(f, k)
			continue
		}
		f[k] = v
	}
	return f
}

// trade is a trade event with the given fields.
func trade(fields Fields) Fields {
	f := Fields{FieldEventID: {"trd-1"}, FieldEvent: {Trade}, FieldPlayerID: {"client-1"}}
	for k, v := range fields {
		f[k] = v
	}
	return f
}

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		fields Fields
		want   Event
	}{
		{
			name:   "full ftd, occurred_at with offset converted to UTC",
			fields: validFTD(),
			want: Event{
				EventID: "evt-1", Type: FTD, AffiliateID: "aff_1", PlayerID: "player-42", ClickID: "clk-9",
				AmountMinor: 5025, Currency: "USD",
				OccurredAt: time.Date(2026, 3, 10, 11, 15, 30, 500_000_000, time.UTC),
				Subs:       [5]string{"s1", "s2", "s3", "s4", "s5"},
			},
		},
		{
			name:   "registration without amount or currency",
			fields: Fields{FieldEventID: {"reg-1"}, FieldEvent: {Registration}, FieldAffiliateID: {"aff_1"}, FieldOccurredAt: {"2026-03-09T08:00:00Z"}},
			want:   Event{EventID: "reg-1", Type: Registration, AffiliateID: "aff_1", OccurredAt: time.Date(2026, 3, 9, 8, 0, 0, 0, time.UTC)},
		},
		{
			name:   "registration with an amount is accepted",
			fields: Fields{FieldEventID: {"reg-2"}, FieldEvent: {Registration}, FieldAmount: {"0"}, FieldCurrency: {"EUR"}, FieldOccurredAt: {"2026-03-09T08:00:00Z"}},
			want:   Event{EventID: "reg-2", Type: Registration, Currency: "EUR", OccurredAt: time.Date(2026, 3, 9, 8, 0, 0, 0, time.UTC)},
		},
		{
			name:   "revenue may be negative",
			fields: with(Fields{FieldEvent: {Revenue}, FieldAmount: {"-12.30"}, FieldCurrency: {"EUR"}}),
			want: Event{
				EventID: "evt-1", Type: Revenue, AffiliateID: "aff_1", PlayerID: "player-42", ClickID: "clk-9",
				AmountMinor: -1230, Currency: "EUR",
				OccurredAt: time.Date(2026, 3, 10, 11, 15, 30, 500_000_000, time.UTC),
				Subs:       [5]string{"s1", "s2", "s3", "s4", "s5"},
			},
		},
		{
			name:   "occurred_at absent means now, in UTC",
			fields: with(Fields{FieldOccurredAt: nil}),
			want: Event{
				EventID: "evt-1", Type: FTD, AffiliateID: "aff_1", PlayerID: "player-42", ClickID: "clk-9",
				AmountMinor: 5025, Currency: "USD",
				OccurredAt: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC),
				Subs:       [5]string{"s1", "s2", "s3", "s4", "s5"},
			},
		},
		{
			name:   "occurred_at given empty means now, in UTC",
			fields: Fields{FieldEventID: {"e"}, FieldEvent: {Registration}, FieldOccurredAt: {""}},
			want:   Event{EventID: "e", Type: Registration, OccurredAt: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)},
		},
		{
			name:   "reversal names the original and needs no amount",
			fields: Fields{FieldEventID: {"rv"}, FieldEvent: {Reversal}, FieldOriginalEventID: {"evt-1"}},
			want:   Event{EventID: "rv", Type: Reversal, OriginalEventID: "evt-1", OccurredAt: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)},
		},
		{
			name:   "chargeback linked to the original",
			fields: Fields{FieldEventID: {"cb"}, FieldEvent: {Chargeback}, FieldOriginalEventID: {"evt-1"}, FieldAmount: {"50"}, FieldCurrency: {"USD"}},
			want:   Event{EventID: "cb", Type: Chargeback, OriginalEventID: "evt-1", AmountMinor: 5000, Currency: "USD", OccurredAt: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)},
		},
		{
			name:   "minimal deposit, absent optional fields stay empty",
			fields: Fields{FieldEventID: {"d"}, FieldEvent: {Deposit}, FieldAmount: {"7"}, FieldCurrency: {"GBP"}},
			want:   Event{EventID: "d", Type: Deposit, AmountMinor: 700, Currency: "GBP", OccurredAt: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.fields, testNow, testSkew)
			require.NoError(t, err)
			require.Same(t, time.UTC, got.OccurredAt.Location())
			require.True(t, tt.want.OccurredAt.Equal(got.OccurredAt), "OccurredAt = %v; want %v", got.OccurredAt, tt.want.OccurredAt)
			got.OccurredAt, tt.want.OccurredAt = time.Time{}, time.Time{}
			require.Equal(t, tt.want, got)
		})
	}
}

// TestParseAccepted covers single fields that must be accepted, checking the value that results.
func TestParseAccepted(t *testing.T) {
	tests := []struct {
		name   string
		fields Fields
		check  func(t *testing.T, ev Event)
	}{
		{"event_id of exactly 128 bytes", with(Fields{FieldEventID: {strings.Repeat("a", 128)}}), func(t *testing.T, ev Event) {
			require.Equal(t, strings.Repeat("a", 128), ev.EventID)
		}},
		{"event_id with inner space", with(Fields{FieldEventID: {"evt 1"}}), func(t *testing.T, ev Event) {
			require.Equal(t, "evt 1", ev.EventID)
		}},
		{"sub1 of exactly 256 bytes", with(Fields{"sub1": {strings.Repeat("s", 256)}}), func(t *testing.T, ev Event) {
			require.Equal(t, strings.Repeat("s", 256), ev.Subs[0])
		}},
		{"multi-byte UTF-8 in sub2", with(Fields{"sub2": {"café ✓ 日本"}}), func(t *testing.T, ev Event) {
			require.Equal(t, "café ✓ 日本", ev.Subs[1])
		}},
		{"JPY whole amount", with(Fields{FieldAmount: {"500"}, FieldCurrency: {"JPY"}}), func(t *testing.T, ev Event) {
			require.Equal(t, int64(500), ev.AmountMinor)
		}},
		{"KWD with 3 decimals", with(Fields{FieldAmount: {"1.234"}, FieldCurrency: {"KWD"}}), func(t *testing.T, ev Event) {
			require.Equal(t, int64(1234), ev.AmountMinor)
		}},
		{"USD with 1 decimal", with(Fields{FieldAmount: {"0.5"}}), func(t *testing.T, ev Event) {
			require.Equal(t, int64(50), ev.AmountMinor)
		}},
		{"negative zero on ftd is zero", with(Fields{FieldAmount: {"-0.00"}}), func(t *testing.T, ev Event) {
			require.Equal(t, int64(0), ev.AmountMinor)
		}},
		{"occurred_at exactly now+skew", with(Fields{FieldOccurredAt: {"2026-03-10T12:05:00Z"}}), func(t *testing.T, ev Event) {
			require.True(t, time.Date(2026, 3, 10, 12, 5, 0, 0, time.UTC).Equal(ev.OccurredAt))
		}},
		{"occurred_at within skew", with(Fields{FieldOccurredAt: {"2026-03-10T14:04:59+02:00"}}), func(t *testing.T, ev Event) {
			require.True(t, time.Date(2026, 3, 10, 12, 4, 59, 0, time.UTC).Equal(ev.OccurredAt))
		}},
		{"occurred_at exactly 2000-01-01", with(Fields{FieldOccurredAt: {"2000-01-01T00:00:00Z"}}), func(t *testing.T, ev Event) {
			require.True(t, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Equal(ev.OccurredAt))
		}},
		{"unknown fields are ignored", with(Fields{"utm_source": {"a", "b"}}), func(t *testing.T, ev Event) {
			require.Equal(t, "evt-1", ev.EventID)
		}},
		{"trade of 1.25 lots of metals, no amount", trade(Fields{FieldVolume: {"1.25"}, FieldInstrument: {"metals"}}), func(t *testing.T, ev Event) {
			require.Equal(t, int64(125), ev.VolumeLots)
			require.Equal(t, InstrumentMetals, ev.Instrument)
			require.Equal(t, int64(0), ev.AmountMinor)
		}},
		{"trade of 0.01 lots, no instrument", trade(Fields{FieldVolume: {"0.01"}}), func(t *testing.T, ev Event) {
			require.Equal(t, int64(1), ev.VolumeLots)
			require.Equal(t, "", ev.Instrument)
		}},
		{"trade of 3 lots with an amount", trade(Fields{FieldVolume: {"3"}, FieldAmount: {"12.50"}, FieldCurrency: {"USD"}}), func(t *testing.T, ev Event) {
			require.Equal(t, int64(300), ev.VolumeLots)
			require.Equal(t, int64(1250), ev.AmountMinor)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Parse(tt.fields, testNow, testSkew)
			require.NoError(t, err)
			require.Same(t, time.UTC, ev.OccurredAt.Location())
			tt.check(t, ev)
		})
	}
}

func TestParseErrors(t *testing.T) {
	type errCase struct {
		name      string
		fields    Fields
		wantField string
		wantMsg   string // substring of the message; "" checks only that it is non-empty
	}
	tests := []errCase{
		{"event_id missing", with(Fields{FieldEventID: nil}), FieldEventID, "is required"},
		{"event_id empty", with(Fields{FieldEventID: {""}}), FieldEventID, "is required"},
		{"event missing", with(Fields{FieldEvent: nil}), FieldEvent, "is required"},
		{"event empty", with(Fields{FieldEvent: {""}}), FieldEvent, "is required"},
		{"amount missing on ftd", with(Fields{FieldAmount: nil, FieldCurrency: nil}), FieldAmount, "is required for ftd events"},
		{"amount missing on deposit", with(Fields{FieldEvent: {Deposit}, FieldAmount: nil, FieldCurrency: nil}), FieldAmount, "is required for deposit events"},
		{"amount missing on chargeback", with(Fields{FieldEvent: {Chargeback}, FieldAmount: nil, FieldCurrency: nil}), FieldAmount, "is required for chargeback events"},

		{"event_id of 129 bytes", with(Fields{FieldEventID: {strings.Repeat("a", 129)}}), FieldEventID, "longer than 128 bytes"},
		{"player_id of 129 bytes", with(Fields{FieldPlayerID: {strings.Repeat("p", 129)}}), FieldPlayerID, "longer than 128 bytes"},
		{"sub5 of 257 bytes", with(Fields{"sub5": {strings.Repeat("s", 257)}}), "sub5", "longer than 256 bytes"},
		{"event_id with leading space", with(Fields{FieldEventID: {" evt-1"}}), FieldEventID, "white space"},
		{"event_id with trailing space", with(Fields{FieldEventID: {"evt-1 "}}), FieldEventID, "white space"},
		{"event_id of only spaces", with(Fields{FieldEventID: {"   "}}), FieldEventID, "white space"},
		{"event_id with trailing ideographic space", with(Fields{FieldEventID: {"evt-1\u3000"}}), FieldEventID, "white space"},
		{"event_id with leading tab", with(Fields{FieldEventID: {"\tevt-1"}}), FieldEventID, "control characters"},

		{"event_id given twice", with(Fields{FieldEventID: {"a", "b"}}), FieldEventID, "more than once"},
		{"event_id given twice, same value", with(Fields{FieldEventID: {"a", "a"}}), FieldEventID, "more than once"},
		{"amount given twice", with(Fields{FieldAmount: {"1", "2"}}), FieldAmount, "more than once"},
		{"sub3 given twice", with(Fields{"sub3": {"x", "y"}}), "sub3", "more than once"},

		{"unknown event type", with(Fields{FieldEvent: {"signup"}}), FieldEvent, `"signup" is not one of registration, ftd, deposit, revenue, chargeback, refund, reversal`},
		{"event type is case-sensitive", with(Fields{FieldEvent: {"FTD"}}), FieldEvent, "registration, ftd, deposit, revenue, chargeback, refund"},
		{"reversal without original_event_id", Fields{FieldEventID: {"rv"}, FieldEvent: {Reversal}}, FieldOriginalEventID, "is required"},
		{"original_event_id on an ftd", with(Fields{FieldOriginalEventID: {"x"}}), FieldOriginalEventID, "only for chargeback, refund and reversal"},
		{"event type longer than 32 bytes", with(Fields{FieldEvent: {strings.Repeat("f", 33)}}), FieldEvent, "longer than 32 bytes"},

		{"amount without currency", with(Fields{FieldCurrency: nil}), FieldCurrency, "is required with amount"},
		{"currency without amount on registration", Fields{FieldEventID: {"r"}, FieldEvent: {Registration}, FieldCurrency: {"USD"}}, FieldAmount, "is required with currency"},
		{"currency without amount on ftd", with(Fields{FieldAmount: nil}), FieldAmount, "is required for ftd events"},
		{"lower-case currency", with(Fields{FieldCurrency: {"usd"}}), FieldCurrency, "ISO 4217"},
		{"unknown currency", with(Fields{FieldCurrency: {"XYZ"}}), FieldCurrency, "ISO 4217"},
		{"currency longer than 3 bytes", with(Fields{FieldCurrency: {"USDT"}}), FieldCurrency, "longer than 3 bytes"},

		{"negative amount on ftd", with(Fields{FieldAmount: {"-1.00"}}), FieldAmount, "must not be negative for ftd events"},

		{"trade without volume", trade(Fields{}), FieldVolume, "is required"},
		{"trade volume with 3 decimals", trade(Fields{FieldVolume: {"1.255"}}), FieldVolume, "more than 2 decimal places"},
		{"trade volume of 0", trade(Fields{FieldVolume: {"0.00"}}), FieldVolume, "above 0"},
		{"negative trade volume", trade(Fields{FieldVolume: {"-1"}}), FieldVolume, "above 0"},
		{"trade volume not a number", trade(Fields{FieldVolume: {"1e2"}}), FieldVolume, "not a decimal number"},
		{"unknown instrument class", trade(Fields{FieldVolume: {"1"}, FieldInstrument: {"bonds"}}), FieldInstrument, `"bonds" is not one of fx, metals, indices, commodities, crypto, stocks`},
		{"volume on an ftd", with(Fields{FieldVolume: {"1"}}), FieldVolume, "only for trade events"},
		{"instrument on an ftd", with(Fields{FieldInstrument: {"fx"}}), FieldInstrument, "only for trade events"},
		{"negative amount on deposit", with(Fields{FieldEvent: {Deposit}, FieldAmount: {"-0.01"}}), FieldAmount, "must not be negative for deposit events"},
		{"negative amount on chargeback", with(Fields{FieldEvent: {Chargeback}, FieldAmount: {"-5"}}), FieldAmount, "must not be negative for chargeback events"},
		{"negative amount on refund", with(Fields{FieldEvent: {Refund}, FieldAmount: {"-5"}}), FieldAmount, "must not be negative for refund events"},
		{"USD with 3 decimals", with(Fields{FieldAmount: {"1.234"}}), FieldAmount, "more than 2 decimal places for USD"},
		{"USD with trailing zero third decimal", with(Fields{FieldAmount: {"1.500"}}), FieldAmount, "more than 2 decimal places"},
		{"JPY with decimals", with(Fields{FieldAmount: {"500.0"}, FieldCurrency: {"JPY"}}), FieldAmount, "JPY has none"},
		{"KWD with 4 decimals", with(Fields{FieldAmount: {"1.2345"}, FieldCurrency: {"KWD"}}), FieldAmount, "more than 3 decimal places for KWD"},
		{"amount with exponent", with(Fields{FieldAmount: {"1e3"}}), FieldAmount, "not a decimal number"},
		{"amount garbage", with(Fields{FieldAmount: {"fifty"}}), FieldAmount, "not a decimal number"},
		{"amount with comma", with(Fields{FieldAmount: {"1,50"}}), FieldAmount, "not a decimal number"},
		{"amount with plus sign", with(Fields{FieldAmount: {"+1"}}), FieldAmount, "not a decimal number"},
		{"amount with leading space", with(Fields{FieldAmount: {" 1"}}), FieldAmount, "not a decimal number"},
		{"amount too large", with(Fields{FieldAmount: {"92233720368547758.08"}}), FieldAmount, "too large"},
		{"amount longer than 32 bytes", with(Fields{FieldAmount: {strings.Repeat("1", 33)}}), FieldAmount, "longer than 32 bytes"},

		{"occurred_at garbage", with(Fields{FieldOccurredAt: {"yesterday"}}), FieldOccurredAt, "not an RFC 3339 time"},
		{"occurred_at without zone", with(Fields{FieldOccurredAt: {"2026-03-10T11:00:00"}}), FieldOccurredAt, "not an RFC 3339 time"},
		{"occurred_at with space separator", with(Fields{FieldOccurredAt: {"2026-03-10 11:00:00Z"}}), FieldOccurredAt, "not an RFC 3339 time"},
		{"occurred_at as unix seconds", with(Fields{FieldOccurredAt: {"1773144000"}}), FieldOccurredAt, "not an RFC 3339 time"},
		{"occurred_at one second beyond skew", with(Fields{FieldOccurredAt: {"2026-03-10T12:05:01Z"}}), FieldOccurredAt, "in the future"},
		{"occurred_at beyond skew, given with offset", with(Fields{FieldOccurredAt: {"2026-03-10T14:05:00.000000001+02:00"}}), FieldOccurredAt, "in the future"},
		{"occurred_at next year", with(Fields{FieldOccurredAt: {"2027-01-01T00:00:00Z"}}), FieldOccurredAt, "in the future"},
		{"occurred_at before 2000", with(Fields{FieldOccurredAt: {"1999-12-31T23:59:59Z"}}), FieldOccurredAt, "before 2000-01-01"},
		// 01:00 at +02:00 on 2000-01-01 is 23:00 UTC on 1999-12-31.
		{"occurred_at before 2000 in UTC though not locally", with(Fields{FieldOccurredAt: {"2000-01-01T01:00:00+02:00"}}), FieldOccurredAt, "before 2000-01-01"},
		{"player_id padded", with(Fields{FieldPlayerID: {"p-42 "}}), FieldPlayerID, "white space"},
		{"affiliate_id padded", with(Fields{FieldAffiliateID: {" aff_1"}}), FieldAffiliateID, "white space"},
		{"click_id padded", with(Fields{FieldClickID: {"c-1\t"}}), FieldClickID, ""},
		{"occurred_at epoch", with(Fields{FieldOccurredAt: {"1970-01-01T00:00:00Z"}}), FieldOccurredAt, "before 2000-01-01"},
	}

	// Control characters and invalid UTF-8 are rejected in every field. Each value is at most 3 bytes,
	// so it fits every field's length limit and the printable check is what rejects it.
	allFields := append([]string{FieldEventID, FieldEvent, FieldAffiliateID, FieldPlayerID, FieldClickID, FieldAmount, FieldCurrency, FieldOccurredAt}, SubFields[:]...)
	badValues := []struct{ name, value string }{
		{"NUL", "a\x00b"},
		{"newline", "a\nb"},
		{"carriage return", "a\rb"},
		{"escape", "\x1b[m"},
		{"DEL", "a\x7fb"},
		{"invalid byte 0xff", "a\xffb"},
		{"truncated 2-byte sequence", "\xc3("},
		{"UTF-16 surrogate encoded", "\xed\xa0\x80"},
		{"C1 next line", "\u0085"},
		{"C1 control sequence introducer", "\u009b!"},
	}
	for _, field := range allFields {
		for _, bad := range badValues {
			tests = append(tests, errCase{field + " with " + bad.name, with(Fields{field: {bad.value}}), field, "must be valid UTF-8 without control characters"})
		}
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Parse(tt.fields, testNow, testSkew)
			require.Error(t, err)
			require.Equal(t, Event{}, ev)
			var fe *FieldError
			require.True(t, errors.As(err, &fe), "error %v (%T) is not a *FieldError", err, err)
			require.Equal(t, tt.wantField, fe.Field)
			require.NotEmpty(t, fe.Message)
			require.Contains(t, fe.Message, tt.wantMsg)
			require.Equal(t, tt.wantField+": "+fe.Message, err.Error())
		})
	}
}

// TestParseSkew checks that the future limit follows the futureSkew argument.
func TestParseSkew(t *testing.T) {
	tests := []struct {
		skew    time.Duration
		at      string
		wantErr bool
	}{
		{0, "2026-03-10T12:00:00Z", false},
		{0, "2026-03-10T12:00:00.000000001Z", true},
		{time.Hour, "2026-03-10T13:00:00Z", false},
		{time.Hour, "2026-03-10T13:00:01Z", true},
	}
	for _, tt := range tests {
		_, err := Parse(with(Fields{FieldOccurredAt: {tt.at}}), testNow, tt.skew)
		if !tt.wantErr {
			require.NoError(t, err, "skew %v, occurred_at %s", tt.skew, tt.at)
			continue
		}
		var fe *FieldError
		require.True(t, errors.As(err, &fe), "skew %v, occurred_at %s: error %v", tt.skew, tt.at, err)
		require.Equal(t, FieldOccurredAt, fe.Field)
	}
}

var fuzzFieldNames = append([]string{FieldEventID, FieldEvent, FieldAffiliateID, FieldPlayerID, FieldClickID, FieldAmount, FieldCurrency, FieldOccurredAt, FieldVolume}, SubFields[:]...)

func FuzzParse(f *testing.F) {
	seeds := []struct{ eventID, event, amount, currency, occurredAt, sub1 string }{
		{"evt-1", "ftd", "50.25", "USD", "2026-03-10T13:15:30.5+02:00", "s1"},
		{"reg-1", "registration", "", "", "", ""},
		{"rev-1", "revenue", "-12.30", "EUR", "2026-03-10T11:00:00Z", ""},
		{"dep-1", "deposit", "500", "JPY", "2000-01-01T00:00:00Z", "café"},
		{"kwd", "chargeback", "1.234", "KWD", "2026-03-10T12:05:00Z", ""},
		{"ref", "refund", "-0", "USD", "", ""},
		{"", "ftd", "1", "USD", "", ""},
		{" evt", "ftd", "1", "USD", "", ""},
		{strings.Repeat("a", 128), "ftd", "1", "USD", "", ""},
		{strings.Repeat("a", 129), "ftd", "1", "USD", "", ""},
		{"e", "signup", "", "", "", ""},
		{"e", "ftd", "-1", "USD", "", ""},
		{"e", "ftd", "1.234", "USD", "", ""},
		{"e", "ftd", "1.5", "JPY", "", ""},
		{"e", "ftd", "1e3", "USD", "", ""},
		{"e", "ftd", "1", "usd", "", ""},
		{"e", "ftd", "1", "", "", ""},
		{"e", "registration", "", "USD", "", ""},
		{"e", "ftd", "1", "USD", "garbage", ""},
		{"e", "ftd", "1", "USD", "2026-03-10T12:05:01Z", ""},
		{"e", "ftd", "1", "USD", "1999-12-31T23:59:59Z", ""},
		{"e\x00", "ftd", "1", "USD", "", "a\xff"},
		{"e", "ftd", "92233720368547758.07", "USD", "", "\x7f"},
		{"e\u0085", "revenue", "-92233720368547758.08", "USD", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.eventID, s.event, s.amount, s.currency, s.occurredAt, s.sub1)
	}
	f.Fuzz(func(t *testing.T, eventID, event, amount, currency, occurredAt, sub1 string) {
		fields := Fields{
			FieldEventID:     {eventID},
			FieldEvent:       {event},
			FieldAffiliateID: {"aff_1"},
			FieldPlayerID:    {"player-1"},
			FieldAmount:      {amount},
			FieldCurrency:    {currency},
			FieldOccurredAt:  {occurredAt},
			"sub1":           {sub1},
		}
		ev, err := Parse(fields, testNow, testSkew)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is a %T, not a *FieldError", err, err)
			}
			if !slices.Contains(fuzzFieldNames, fe.Field) {
				t.Fatalf("FieldError.Field %q is not a field name", fe.Field)
			}
			if fe.Message == "" {
				t.Fatalf("FieldError for %s has an empty message", fe.Field)
			}
			return
		}

		if n := len(ev.EventID); n < 1 || n > MaxIDLength {
			t.Fatalf("len(EventID) = %d; want 1..%d", n, MaxIDLength)
		}
		if ev.EventID != eventID || strings.TrimSpace(ev.EventID) != ev.EventID {
			t.Fatalf("EventID = %q from %q", ev.EventID, eventID)
		}
		if !slices.Contains(EventTypes, ev.Type) || ev.Type != event {
			t.Fatalf("Type = %q from %q", ev.Type, event)
		}
		if ev.Currency != currency || (ev.Currency != "" && !money.ValidCurrency(ev.Currency)) {
			t.Fatalf("Currency = %q from %q", ev.Currency, currency)
		}
		if ev.Currency == "" {
			if ev.AmountMinor != 0 {
				t.Fatalf("AmountMinor = %d without a currency", ev.AmountMinor)
			}
			if amount != "" {
				t.Fatalf("amount %q accepted without a currency", amount)
			}
		} else if want, err := money.Parse(amount, ev.Currency); err != nil || want != ev.AmountMinor {
			t.Fatalf("AmountMinor = %d; money.Parse(%q, %s) = %d, %v", ev.AmountMinor, amount, ev.Currency, want, err)
		}
		if ev.AmountMinor < 0 && ev.Type != Revenue {
			t.Fatalf("AmountMinor = %d for a %s event", ev.AmountMinor, ev.Type)
		}
		if ev.OccurredAt.Location() != time.UTC {
			t.Fatalf("OccurredAt %v is not in UTC", ev.OccurredAt)
		}
		if ev.OccurredAt.After(testNow.Add(testSkew)) {
			t.Fatalf("OccurredAt %v is after now+skew %v", ev.OccurredAt, testNow.Add(testSkew))
		}
		if occurredAt == "" && !ev.OccurredAt.Equal(testNow) {
			t.Fatalf("OccurredAt %v without occurred_at; want now %v", ev.OccurredAt, testNow)
		}
		if occurredAt != "" && ev.OccurredAt.Before(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("OccurredAt %v is before 2000", ev.OccurredAt)
		}
		if ev.Subs[0] != sub1 || len(sub1) > MaxSubLength {
			t.Fatalf("Subs[0] = %q from %q", ev.Subs[0], sub1)
		}
		for _, s := range []string{ev.EventID, ev.Type, ev.Currency, ev.Subs[0]} {
			if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("accepted value %q has invalid UTF-8 or a control character", s)
			}
		}
	})
}

// FuzzParseTrade: an accepted trade's volume is above 0, has at most LotDecimals decimals (it formats and parses
// back to itself) and its instrument is a documented class; a refused one names volume or instrument.
func FuzzParseTrade(f *testing.F) {
	for _, s := range [][2]string{{"1.25", "fx"}, {"0.01", ""}, {"1.255", "metals"}, {"0", "fx"}, {"-1", ""}, {"1e2", ""}, {"92233720368547758.07", "crypto"}, {"1", "bonds"}, {"", "fx"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, volume, instrument string) {
		ev, err := Parse(trade(Fields{FieldVolume: {volume}, FieldInstrument: {instrument}}), testNow, testSkew)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || (fe.Field != FieldVolume && fe.Field != FieldInstrument) {
				t.Fatalf("%q %q: error %v names no trade field", volume, instrument, err)
			}
			return
		}
		if ev.VolumeLots <= 0 {
			t.Fatalf("%q accepted as %d hundredths of a lot", volume, ev.VolumeLots)
		}
		if back, err := ParseLots(FormatLots(ev.VolumeLots)); err != nil || back != ev.VolumeLots {
			t.Fatalf("%q → %d → %q → %d, %v", volume, ev.VolumeLots, FormatLots(ev.VolumeLots), back, err)
		}
		if ev.Instrument != "" && !slices.Contains(InstrumentClasses, ev.Instrument) {
			t.Fatalf("instrument %q accepted", ev.Instrument)
		}
	})
}
