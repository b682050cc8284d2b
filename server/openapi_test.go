package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
)

// everyRoute is a server with every optional part mounted that the public API has (the dev demo's sink is not
// public), whose services are never called.
func everyRoute(t *testing.T) *gin.Engine {
	t.Helper()
	return New(Options{
		Audit: discardAudit{}, Logger: slog.New(slog.DiscardHandler),
		Reconciliation: struct{ Reconciliation }{},
	}).(*gin.Engine)
}

var ginParam = regexp.MustCompile(`:([A-Za-z_]+)`)

// TestOpenAPIDocumentsEveryRoute: every route the server registers is in server/openapi.yaml and every
// operation there is registered. A new route goes into the document in the change that adds it.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc, err := OpenAPI()
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()), "server/openapi.yaml is not a valid OpenAPI document")
	require.True(t, doc.IsOpenAPI31OrLater())

	registered := map[string]bool{}
	for _, r := range everyRoute(t).Routes() {
		registered[r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	var missing, stale []string
	for r := range registered {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for r := range documented {
		if !registered[r] {
			stale = append(stale, r)
		}
	}
	slices.Sort(missing)
	slices.Sort(stale)
	require.Empty(t, missing, "registered by the server but not documented in server/openapi.yaml (add each under paths):\n  %s", strings.Join(missing, "\n  "))
	require.Empty(t, stale, "documented in server/openapi.yaml but not registered by the server:\n  %s", strings.Join(stale, "\n  "))
}

func TestOpenAPIServedAsJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	everyRoute(t).ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/openapi.json", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var served map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &served))
	require.Equal(t, "3.1.0", served["openapi"])
	require.Contains(t, served["paths"], "/v1/postbacks")
}
