package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
)

// Path and query parameters of admin routes follow the field rules: PostgreSQL answered a NUL in an id with
// an error, so GET /v1/admin/integrations/int%00x was a 500.
func TestCheckParams(t *testing.T) {
	r := gin.New()
	r.GET("/things/:id", checkParams, func(c *gin.Context) { c.Status(http.StatusNoContent) })
	for target, field := range map[string]string{
		"/things/int%00x":                "id",
		"/things/%FF%FE":                 "id",
		"/things/a%C2%85":                "id",
		"/things/ok?status=a%00":         "status",
		"/things/ok?status=a&status=b":   "status",
		"/things/ok?affiliate_id=%C3%28": "affiliate_id",
		"/things/ok?id=x":                "id",
		"/things/ok?b=%01&a=%02":         "a",
		"/things/ok?q=%zz":               "",
	} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
		require.Equal(t, http.StatusBadRequest, w.Code, target)
		var got struct{ Error apiError }
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
		require.Equal(t, field, got.Error.Field, target)
	}
	for _, target := range []string{"/things/int_1", "/things/café?status=pending&limit=10"} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
		require.Equal(t, http.StatusNoContent, w.Code, target)
	}
}
