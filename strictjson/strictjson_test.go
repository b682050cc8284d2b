package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name, body     string
		field, message string // the expected *FieldError; both empty for nil
		syntax         bool   // a plain error is expected
	}{
		{"flat", `{"event_id":"x","event":"ftd","amount":10.5}`, "", "", false},
		{"nested", `{"plan":{"tiers":[{"rate":"1"},{"rate":"2"}]},"hosts":["a","b"]}`, "", "", false},
		{"same name in sibling objects", `{"a":{"x":1},"b":{"x":2},"c":[{"x":1},{"x":2}]}`, "", "", false},
		{"scalars", ` "x" `, "", "", false},
		{"pairs and escapes", `{"s":"caf\u00e9 \ud83d\ude00 \" \\ \/ \n","t":"😀"}`, "", "", false},

		{"duplicate", `{"event_id":"x","event":"bogus","event":"ftd"}`, "event", MsgDuplicate, false},
		{"duplicate id", `{"event_id":"a","event_id":"b"}`, "event_id", MsgDuplicate, false},
		{"duplicate by case", `{"amount":"10.00","AMOUNT":"99999.00"}`, "AMOUNT", MsgDuplicate, false},
		{"duplicate by escape", `{"event":"a","\u0065vent":"b"}`, "event", MsgDuplicate, false},
		{"duplicate by Kelvin sign", `{"k":1,"\u212a":2}`, "\u212a", MsgDuplicate, false},
		{"nested duplicate", `{"plan":{"tiers":[{"rate":"1"},{"rate":"2","rate":"3"}]}}`, "plan.tiers[1].rate", MsgDuplicate, false},

		{"lone low surrogate", `{"player_id":"p\udfff"}`, "player_id", MsgBadUnicode, false},
		{"lone high surrogate", `{"event_id":"\ud800"}`, "event_id", MsgBadUnicode, false},
		{"high then letter", `{"a":"\ud800x"}`, "a", MsgBadUnicode, false},
		{"high then high", `{"a":"\ud800\ud800"}`, "a", MsgBadUnicode, false},
		{"high then other escape", `{"a":"\ud800\n"}`, "a", MsgBadUnicode, false},
		{"invalid bytes", "{\"player_id\":\"p\xc3\x28\"}", "player_id", MsgBadUnicode, false},
		{"raw ff fe", "{\"event_id\":\"\xff\xfe\"}", "event_id", MsgBadUnicode, false},
		{"in an array", `{"hosts":["a","\udc00"]}`, "hosts[1]", MsgBadUnicode, false},
		{"in a name", `{"a\udc00":1}`, "a\ufffd", MsgBadUnicode, false},
		{"at the top", `"\udc00"`, "", MsgBadUnicode, false},

		{"number beyond float64", `{"amount":1e309}`, "amount", MsgNumberRange, false},
		{"long number beyond float64", `{"tiers":[1,` + strings.Repeat("6", 310) + `]}`, "tiers[1]", MsgNumberRange, false},
		{"negative number beyond float64", `-1e400`, "", MsgNumberRange, false},
		{"largest float64 and tiny numbers", `[1.7976931348623157e308,1e-400,-0]`, "", "", false},

		{"empty", ``, "", "", true},
		{"white space", "  \n", "", "", true},
		{"two values", `{} {}`, "", "", true},
		{"trailing garbage", `{}x`, "", "", true},
		{"trailing bracket", `{}]`, "", "", true},
		{"broken", `{"a":}`, "", "", true},
		{"unterminated", `{"a":"b`, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check([]byte(tc.body))
			var fe *FieldError
			switch {
			case tc.syntax:
				if err == nil || errors.As(err, &fe) {
					t.Fatalf("Check = %v, want a syntax error", err)
				}
			case tc.message == "":
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
			default:
				if !errors.As(err, &fe) || fe.Message != tc.message || fe.Field != tc.field {
					t.Fatalf("Check = %#v, want field %q: %s", err, tc.field, tc.message)
				}
			}
		})
	}
}

// FuzzCheck: Check agrees with encoding/json on what is JSON, and what it lets through decodes without a
// replacement character that was not in the text.
// fuzz-short: 20000x
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		`{"event_id":"x","event":"ftd","amount":"10.00"}`, `{"a":"\ud83d\ude00","b":["\u00e9",1,null,true]}`,
		`{"a":1,"A":2}`, `{"a":"\udfff"}`, "{\"a\":\"\xff\"}", `[{"a":{"b":[]}}]`, `{}{}`, `"x"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := Check(data)
		var fe *FieldError
		valid := json.Valid(data)
		if err == nil && !valid {
			t.Fatalf("Check passed invalid JSON %q", data)
		}
		if valid && err != nil && !errors.As(err, &fe) {
			t.Fatalf("Check(%q) = %v: a syntax error for valid JSON", data, err)
		}
		if err != nil || bytes.Contains(data, []byte("\uFFFD")) || bytes.Contains(bytes.ToLower(data), []byte(`\ufffd`)) {
			return
		}
		var v any
		if json.Unmarshal(data, &v) != nil {
			t.Fatalf("Check passed %q, which does not decode", data)
		}
		if strings.Contains(dump(v), "\uFFFD") {
			t.Fatalf("Check passed %q, which decodes with a replacement character", data)
		}
	})
}

// dump writes every string and member name of a decoded value.
func dump(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		var b strings.Builder
		for _, e := range x {
			b.WriteString(dump(e))
		}
		return b.String()
	case map[string]any:
		var b strings.Builder
		for k, e := range x {
			b.WriteString(k + dump(e))
		}
		return b.String()
	}
	return ""
}
