package server

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/affrelay/affrelay/infra"
	"github.com/affrelay/affrelay/store"
)

// /readyz names each dependency that did not answer and keeps the reason (driver and dial errors, addresses)
// for the log: the probe is unauthenticated. Temporal is a client of a port where nothing listens.
func TestReadyzNamesTheDownDependencyWithoutItsError(t *testing.T) {
	s, err := store.Open("sqlite", filepath.Join(t.TempDir(), "ready.db"))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Migrate(context.Background()))
	temporal, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	require.NoError(t, err)
	defer temporal.Close()
	var logs bytes.Buffer // written only by handlers, which run on this goroutine
	audit := infra.NewAuditLog(s, slog.New(slog.DiscardHandler), 16)
	defer audit.Close()
	h := New(Options{
		Ready: infra.Readiness{Store: s, Temporal: temporal}.Check, AdminTokens: []string{"0123456789abcdef"}, MaxBodyBytes: 1 << 20,
		Audit: audit, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	readyz := func() (int, map[string]any, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/readyz", nil))
		var body map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
		return rec.Code, body, rec.Body.String()
	}

	code, body, raw := readyz()
	require.Equal(t, http.StatusServiceUnavailable, code, raw)
	require.Equal(t, map[string]any{"database": "ok", "temporal": "down"}, body["checks"])
	require.Equal(t, "not ready: temporal did not answer", body["error"].(map[string]any)["message"])
	require.NotContains(t, raw, "127.0.0.1:1")
	require.Contains(t, logs.String(), "dependency=temporal")
	require.Contains(t, logs.String(), "127.0.0.1:1", "the reason is logged")

	require.NoError(t, s.Close())
	code, body, raw = readyz()
	require.Equal(t, http.StatusServiceUnavailable, code, raw)
	require.Equal(t, map[string]any{"database": "down", "temporal": "down"}, body["checks"])
	require.Equal(t, "not ready: database, temporal did not answer", body["error"].(map[string]any)["message"])
	require.NotContains(t, raw, "closed")
	require.Contains(t, logs.String(), "database is closed")
}
