package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
)

// Every admin body goes through decodeJSON: duplicates and invalid Unicode are refused with the field named.
func TestDecodeJSONIsStrict(t *testing.T) {
	type tier struct {
		Rate string `json:"rate"`
	}
	type embedded struct {
		Limit *int `json:"max_in_flight"`
	}
	type body struct {
		Name  string `json:"name"`
		Tiers []tier `json:"tiers"`
		embedded
	}
	for _, tc := range []struct {
		body, code, field string
	}{
		{`{"name":"a","name":"b"}`, "invalid_field", "name"},
		{`{"name":"a","Name":"b"}`, "invalid_field", "Name"},
		{`{"tiers":[{"rate":"1","rate":"2"}]}`, "invalid_field", "tiers[0].rate"},
		{`{"name":"\udfff"}`, "invalid_field", "name"},
		{"{\"name\":\"p\xc3\x28\"}", "invalid_field", "name"},
		{`{"nmae":"a"}`, "malformed_body", ""},
		{`{"name":1}`, "invalid_field", "name"},
		{`{"max_in_flight":"3"}`, "invalid_field", "max_in_flight"}, // not embedded.max_in_flight
		{`{"tiers":[{"rate":"1"}],"max_in_flight":1e999}`, "invalid_field", "max_in_flight"},
		{``, "malformed_body", ""},
		{`{} {}`, "malformed_body", ""},
		{`"\udfff"`, "malformed_body", ""},
	} {
		w := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(w)
		c.Request = httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
		var dst body
		require.False(t, decodeJSON(c, &dst), tc.body)
		require.Equal(t, http.StatusBadRequest, w.Code, tc.body)
		var got struct{ Error apiError }
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
		require.Equal(t, tc.code, got.Error.Code, tc.body)
		require.Equal(t, tc.field, got.Error.Field, tc.body)
	}
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest("POST", "/", strings.NewReader(`{"name":"café","tiers":[{"rate":"1"},{"rate":"2"}]}`))
	var dst body
	require.True(t, decodeJSON(c, &dst))
	require.Equal(t, "café", dst.Name)
}
