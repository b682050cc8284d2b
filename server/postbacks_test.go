package server

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
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
