package server

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/postback"
)

// FuzzPostbackFields feeds any body and content type to the field reader: it answers fields or an error,
// never panics, and a JSON body that parses yields only string values.
// fuzz-short: 10000x
func FuzzPostbackFields(f *testing.F) {
	f.Add("application/json", `{"event_id":"e1","amount":50.00,"sub1":null}`)
	f.Add("application/x-www-form-urlencoded", "event_id=e1&event=ftd&amount=%zz")
	f.Add("application/json; charset=utf-8", `{"a":{"b":1}}`)
	f.Add("text/plain", "x")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, contentType, body string) {
		req := httptest.NewRequest("POST", "/v1/postbacks?event=ftd", nil)
		req.Header.Set("Content-Type", contentType)
		fields, err := postbackFields(req, []byte(body))
		if err != nil {
			require.Nil(t, fields)
			return
		}
		require.Equal(t, []string{"ftd"}, fields["event"][:1], "the query string's fields come first")
	})
}

// Issue 9: JSON postbacks are refused as the query and form paths refuse the same input, with the field named.
func TestJSONPostbackFieldsAreStrict(t *testing.T) {
	for body, field := range map[string]string{
		`{"event_id":"x","event":"bogus","event":"ftd"}`:        "event",
		`{"event_id":"x","amount":"10.00","amount":"99999.00"}`: "amount",
		`{"event_id":"a","event_id":"b"}`:                       "event_id",
		`{"event_id":"a","EVENT_ID":"b"}`:                       "EVENT_ID",
		`{"event_id":"\ud800"}`:                                 "event_id",
		`{"player_id":"p\udfff"}`:                               "player_id",
		"{\"player_id\":\"p\xc3\x28\"}":                         "player_id",
		"{\"event_id\":\"\xff\xfe\"}":                           "event_id",
		`{"event_id":"x","amount":1e999}`:                       "amount",
	} {
		req := httptest.NewRequest("POST", "/v1/postbacks", nil)
		req.Header.Set("Content-Type", "application/json")
		_, err := postbackFields(req, []byte(body))
		var fe *postback.FieldError
		require.ErrorAs(t, err, &fe, body)
		require.Equal(t, field, fe.Field, body)
	}
}
