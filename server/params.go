package server

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/affrelay/affrelay/postback"
)

// maxParamBytes bounds a path or query parameter.
const maxParamBytes = 2048

// checkParams holds the path and query parameters of admin and reconciliation routes to the field rules of postbacks
// (postback.Fields.Value): given once, bounded, valid UTF-8 without control characters. Ids in paths and
// filters in queries go to the database as they are, and PostgreSQL answers a NUL or invalid UTF-8 with an
// error: a 500 for input that can never succeed.
func checkParams(c *gin.Context) {
	query, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		abort(c, http.StatusBadRequest, "invalid_request", "query string: "+err.Error())
		return
	}
	fields := postback.Fields(query)
	for _, p := range c.Params {
		fields[p.Key] = append(fields[p.Key], p.Value)
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if _, err := fields.Value(name, false, maxParamBytes); err != nil {
			fe := err.(*postback.FieldError)
			abortField(c, fe.Field, fe.Message)
			return
		}
	}
	c.Next()
}
