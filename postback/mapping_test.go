package postback

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// native is the ftd every dialect below describes, in affrelay's own field names.
func native() Fields {
	return Fields{
		FieldEventID: {"tx-1"}, FieldEvent: {FTD}, FieldClickID: {"clk-9"}, FieldAmount: {"50.00"}, FieldCurrency: {"USD"},
	}
}

func TestMappingApply(t *testing.T) {
	tests := []struct {
		name    string
		mapping Mapping
		sent    Fields
		want    Fields
	}{
		{"the zero mapping changes nothing, unknown parameters included", Mapping{},
			Fields{FieldEventID: {"e"}, "utm_source": {"x"}}, Fields{FieldEventID: {"e"}, "utm_source": {"x"}}},
		{"voluum", Mapping{Preset: "voluum"},
			Fields{"cid": {"clk-9"}, "txid": {"tx-1"}, "payout": {"50.00"}, "et": {"ftd"}}, native()},
		{"voluum's et=dep is a deposit", Mapping{Preset: "voluum"},
			Fields{"cid": {"clk-9"}, "txid": {"tx-1"}, "payout": {"50.00"}, "et": {"dep"}},
			Fields{FieldEventID: {"tx-1"}, FieldEvent: {Deposit}, FieldClickID: {"clk-9"}, FieldAmount: {"50.00"}, FieldCurrency: {"USD"}}},
		{"affise with a numbered goal and status 1", Mapping{Preset: "affise", Events: map[string]string{"2": FTD}},
			Fields{"clickid": {"clk-9"}, "action_id": {"tx-1"}, "goal": {"2"}, "sum": {"50.00"}, "currency": {"USD"}, "status": {"1"}},
			func() Fields { f := native(); f[FieldStatus] = []string{StatusApproved}; return f }()},
		{"tune", Mapping{Preset: "tune", Events: map[string]string{"7": FTD}},
			Fields{"transaction_id": {"clk-9"}, "adv_sub": {"tx-1"}, "goal_id": {"7"}, "amount": {"50.00"}, "currency": {"USD"}, "aff_sub": {"s1"}},
			func() Fields { f := native(); f["sub1"] = []string{"s1"}; return f }()},
		{"a default fills an absent field and leaves a sent one", Mapping{Defaults: map[string]string{FieldCurrency: "EUR", "sub2": "x"}},
			Fields{FieldCurrency: {"USD"}}, Fields{FieldCurrency: {"USD"}, "sub2": {"x"}}},
		{"a default fills an empty field", Mapping{Defaults: map[string]string{FieldCurrency: "EUR"}},
			Fields{FieldCurrency: {""}}, Fields{FieldCurrency: {"EUR"}}},
		{"ignored and transport parameters are dropped", Mapping{Ignore: []string{"ts"}},
			Fields{"ts": {"1"}, "token": {"t"}, "signature": {"s"}, "timestamp": {"1"}, FieldEvent: {"ftd"}}, Fields{FieldEvent: {"ftd"}}},
		{"an alias and the native name together are two values, for Parse to refuse", Mapping{Fields: map[string]string{"clickid": FieldClickID}},
			Fields{"clickid": {"a"}, FieldClickID: {"b"}}, Fields{FieldClickID: {"b", "a"}}},
		{"an event name without an alias passes to Parse as it is", Mapping{Events: map[string]string{"dep": Deposit}},
			Fields{FieldEvent: {"sign-up"}}, Fields{FieldEvent: {"sign-up"}}},
		{"an own ignore entry drops the preset's alias", Mapping{Preset: "voluum", Ignore: []string{"txid"}},
			Fields{"txid": {"T-1"}, "cid": {"c"}}, Fields{FieldClickID: {"c"}, FieldCurrency: {"USD"}}},
		{"an own alias overrides the preset's", Mapping{Preset: "voluum", Fields: map[string]string{"payout": "sub1", "amt": FieldAmount}},
			Fields{"payout": {"1"}, "amt": {"2"}}, Fields{"sub1": {"1"}, FieldAmount: {"2"}, FieldCurrency: {"USD"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.mapping.Resolve()
			require.NoError(t, err)
			require.NoError(t, m.Validate(RequiredFields(KeyEventID)))
			got, err := m.Apply(tt.sent)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestDialectsParseLikeNative: every preset's own parameters give the same event as the native format.
func TestDialectsParseLikeNative(t *testing.T) {
	want, err := Parse(native(), testNow, testSkew)
	require.NoError(t, err)
	for _, d := range []struct {
		mapping Mapping
		sent    Fields
	}{
		{Mapping{Preset: "voluum"}, Fields{"cid": {"clk-9"}, "txid": {"tx-1"}, "payout": {"50.00"}, "et": {"ftd"}}},
		{Mapping{Preset: "affise", Events: map[string]string{"2": FTD}}, Fields{"clickid": {"clk-9"}, "action_id": {"tx-1"}, "goal": {"2"}, "sum": {"50.00"}, "currency": {"USD"}}},
		{Mapping{Preset: "tune", Events: map[string]string{"7": FTD}}, Fields{"transaction_id": {"clk-9"}, "adv_sub": {"tx-1"}, "goal_id": {"7"}, "amount": {"50.00"}, "currency": {"USD"}}},
	} {
		t.Run(d.mapping.Preset, func(t *testing.T) {
			m, err := d.mapping.Resolve()
			require.NoError(t, err)
			f, err := m.Apply(d.sent)
			require.NoError(t, err)
			got, err := Parse(f, testNow, testSkew)
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
}

func TestMappingApplyRefusesUnknownParameters(t *testing.T) {
	m, err := Mapping{Preset: "voluum"}.Resolve()
	require.NoError(t, err)
	_, err = m.Apply(Fields{"cid": {"c"}, "txdi": {"typo"}})
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "txdi", fe.Field)
	require.Contains(t, fe.Message, "map it or list it as ignored")
}

func TestEveryPresetIsValid(t *testing.T) {
	require.Len(t, PresetNames(), len(Presets))
	for _, name := range PresetNames() {
		m, err := Mapping{Preset: name}.Resolve()
		require.NoError(t, err, name)
		require.NoError(t, m.Validate(RequiredFields(KeyEventID)), name)
		require.NoError(t, m.Validate(RequiredFields(KeyClickID)), name)
	}
}

func TestMappingValidateErrors(t *testing.T) {
	tests := []struct {
		name      string
		mapping   Mapping
		key       string
		wantField string
		wantMsg   string
	}{
		{"two parameters onto one field", Mapping{Fields: map[string]string{"clickid": FieldClickID, "cid": FieldClickID}}, KeyEventID, "fields.clickid", "cid already maps onto"},
		{"an unknown target", Mapping{Fields: map[string]string{"sum": "amonut"}}, KeyEventID, "fields.sum", `"amonut" is not a postback field`},
		{"the required event_id mapped away", Mapping{Fields: map[string]string{"event_id": "sub1"}}, KeyEventID, "fields", "required field event_id"},
		{"the required event ignored", Mapping{Ignore: []string{"event"}}, KeyEventID, "fields", "required field event"},
		{"click_id mapped away under the click key", Mapping{Fields: map[string]string{"click_id": "sub1"}}, KeyClickID, "fields", "required field click_id"},
		{"an unknown preset", Mapping{Preset: "voluumm"}, KeyEventID, "preset", "is not one of affise, tune, voluum"},
		{"an unknown event type", Mapping{Events: map[string]string{"dep": "deposits"}}, KeyEventID, "events.dep", "is not one of"},
		{"an unknown status", Mapping{Statuses: map[string]string{"1": "ok"}}, KeyEventID, "statuses.1", "is not one of approved"},
		{"a default for an unknown field", Mapping{Defaults: map[string]string{"cur": "USD"}}, KeyEventID, "defaults.cur", "is not a postback field"},
		{"a default currency that is not ISO 4217", Mapping{Defaults: map[string]string{FieldCurrency: "usd"}}, KeyEventID, "defaults.currency", "ISO 4217"},
		{"a constant event id", Mapping{Defaults: map[string]string{FieldEventID: "e"}}, KeyEventID, "defaults.event_id", "every event would share it"},
		{"a parameter both mapped and ignored", Mapping{Fields: map[string]string{"cid": FieldClickID}, Ignore: []string{"cid"}}, KeyEventID, "ignore", "both mapped and ignored"},
		{"a transport parameter mapped", Mapping{Fields: map[string]string{"token": FieldEventID}}, KeyEventID, "fields.token", "authenticates the request"},
		{"an empty parameter name", Mapping{Fields: map[string]string{"": FieldEventID}}, KeyEventID, "fields.", "must not be empty"},
		{"a control character", Mapping{Events: map[string]string{"d\x00": Deposit}}, KeyEventID, "events.d\x00", "control characters"},
		{"too many entries", Mapping{Ignore: slices.Repeat([]string{"x"}, 65)}, KeyEventID, "mapping", "more than 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.mapping.Resolve()
			if err == nil {
				err = m.Validate(RequiredFields(tt.key))
			}
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tt.wantField, fe.Field)
			require.Contains(t, fe.Message, tt.wantMsg)
		})
	}
}

func TestParseKeyedByClick(t *testing.T) {
	f := native()
	delete(f, FieldEventID)
	ev, err := ParseKeyed(f, testNow, testSkew, KeyClickID)
	require.NoError(t, err)
	require.Equal(t, "ftd:clk-9", ev.EventID)

	_, err = ParseKeyed(native(), testNow, testSkew, KeyClickID)
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, FieldEventID, fe.Field)

	delete(f, FieldClickID)
	_, err = ParseKeyed(f, testNow, testSkew, KeyClickID)
	require.ErrorAs(t, err, &fe)
	require.Equal(t, FieldClickID, fe.Field)

	long := strings.Repeat("c", MaxIDLength)
	require.Equal(t, "ftd:sha256:", ClickKeyedEventID(FTD, long)[:11])
	require.LessOrEqual(t, len(ClickKeyedEventID(Chargeback, long)), MaxIDLength)
	require.NotEqual(t, ClickKeyedEventID(FTD, long), ClickKeyedEventID(FTD, long+"x"))
}

func TestParseStatus(t *testing.T) {
	ev, err := Parse(with(Fields{FieldStatus: {StatusPending}}), testNow, testSkew)
	require.NoError(t, err)
	require.Equal(t, StatusPending, ev.Status)
	_, err = Parse(with(Fields{FieldStatus: {"hold"}}), testNow, testSkew)
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, FieldStatus, fe.Field)
}

// FuzzMappingApply: whatever a mapping and a sender send, Apply and Parse either accept or refuse with a
// FieldError naming a parameter, and an accepted event's fields come only from the sender or the defaults.
func FuzzMappingApply(f *testing.F) {
	f.Add("clickid", "click_id", "dep", "deposit", "clickid", "c-1", "et", "dep", "zz", "1")
	f.Add("sum", "amount", "1", "ftd", "sum", "10.00", "goal", "1", "txid", "x")
	f.Add("cid", "cid", "", "", "token", "t", "event", "ftd", "event_id", "e")
	f.Add("a", "event_id", "x", "revenue", "a", "e-1", "event", "x", "amount", "-1")
	f.Add("status", "status", "1", "approved", "status", "1", "event", "ftd", "currency", "US\x00")
	f.Fuzz(func(t *testing.T, from, to, eventFrom, eventTo, p1, v1, p2, v2, p3, v3 string) {
		m, err := Mapping{Preset: "voluum", Fields: map[string]string{from: to}, Events: map[string]string{eventFrom: eventTo}}.Resolve()
		if err != nil {
			t.Fatalf("resolve: %v", err)
		}
		if err := m.Validate(RequiredFields(KeyEventID)); err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Message == "" {
				t.Fatalf("Validate error %v is not a FieldError with a message", err)
			}
			return
		}
		sent := Fields{p1: {v1}, p2: {v2}, p3: {v3}}
		fields, err := m.Apply(sent)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Message == "" {
				t.Fatalf("Apply error %v is not a FieldError with a message", err)
			}
			if _, ok := sent[fe.Field]; !ok {
				t.Fatalf("Apply names %q, which was not sent", fe.Field)
			}
			return
		}
		for name := range fields {
			if !slices.Contains(TargetFields, name) {
				t.Fatalf("Apply let %q through", name)
			}
		}
		ev, err := Parse(fields, testNow, testSkew)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || !slices.Contains(TargetFields, fe.Field) {
				t.Fatalf("Parse error %v names no postback field", err)
			}
			return
		}
		if !slices.Contains(EventTypes, ev.Type) || ev.EventID == "" {
			t.Fatalf("accepted %+v", ev)
		}
		if ev.Currency != "" && ev.Currency != "USD" && ev.Currency != v1 && ev.Currency != v2 && ev.Currency != v3 {
			t.Fatalf("Currency %q came from nowhere", ev.Currency)
		}
	})
}

func TestStatusChangeAllowed(t *testing.T) {
	allowed := map[[2]string]bool{
		{StatusPending, StatusApproved}: true, {StatusPending, StatusDeclined}: true, {StatusDeclined, StatusApproved}: true,
	}
	for _, from := range Statuses {
		for _, to := range Statuses {
			require.Equal(t, allowed[[2]string{from, to}], StatusChangeAllowed(from, to), "%s → %s", from, to)
		}
	}
}

// BenchmarkParseNative and BenchmarkParseVoluum compare a postback in the native format with the same one
// through the voluum preset: the mapping's cost per postback.
func BenchmarkParseNative(b *testing.B) {
	f := native()
	for b.Loop() {
		if _, err := Parse(f, testNow, testSkew); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseVoluum(b *testing.B) {
	m, err := Mapping{Preset: "voluum"}.Resolve()
	if err != nil {
		b.Fatal(err)
	}
	sent := Fields{"cid": {"clk-9"}, "txid": {"tx-1"}, "payout": {"50.00"}, "et": {"dep"}}
	for b.Loop() {
		f, err := m.Apply(sent)
		if err == nil {
			_, err = Parse(f, testNow, testSkew)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}
