package e2e

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/retrypolicy"
)

// With the database and Temporal up, /readyz says so per dependency (server/ready_test.go covers them down).
func TestReadyzReportsEachDependency(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		r := e.do("GET", "/readyz", nil, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, map[string]any{"status": "ready", "checks": map[string]any{"database": "ok", "temporal": "ok"}}, r.Body)
	})
}
