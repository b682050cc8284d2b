package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
	"github.com/affrelay/affrelay/workflows"
)

// A conversion that needs an FX rate nobody added yet waits in plain sight: fx.rate_missing goes to the ops
// subscription, the Temporal UI finds it by ConversionState, nothing is written; adding the rate resumes it
// at once (the admin call signals it) and it is recorded and paid like any other.
func TestMissingFXRateWaitsVisiblyAndResumesWhenTheRateIsAdded(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		ops := newWebhookReceiver(t, always(http.StatusOK))
		_, secret := e.subscribe(webhook.KindWebhook, ops.srv.URL, webhook.FXRateMissing)
		r := e.admin("POST", "/v1/admin/integrations", map[string]any{"name": "casino-" + store.NewID("n")})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		key, integrationID := r.Body["api_key"].(string), r.Body["id"].(string)
		r = e.admin("POST", "/v1/admin/affiliates", map[string]any{"name": "FX", "plan": map[string]any{
			"type": "cpa", "amount": "150.00", "currency": "USD", "qualification": map[string]any{"min_first_deposit": "50.00"},
		}})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		affiliateID := r.Body["id"].(string)

		// A first deposit in EUR qualifies only once converted to the plan's USD.
		r = e.postback(key, url.Values{"event_id": {"fx-ftd"}, "event": {"ftd"}, "affiliate_id": {affiliateID}, "player_id": {"p1"},
			"amount": {"75.00"}, "currency": {"EUR"}, "occurred_at": {"2026-10-06T12:00:00Z"}})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, "accepted", r.Body["status"])
		workflowID := r.Body["workflow_id"].(string)

		eventually(t, 30*time.Second, "fx.rate_missing announced", func() bool { return len(ops.ofType(webhook.FXRateMissing)) == 1 })
		announced := ops.ofType(webhook.FXRateMissing)[0]
		require.NoError(t, verify(t, secret, announced))
		d := data(t, announced)
		require.Equal(t, workflowID, d["workflow_id"])
		require.Equal(t, "fx-ftd", d["event_id"])
		require.Equal(t, "EUR", d["base"])
		require.Equal(t, "USD", d["quote"])
		require.Contains(t, d["reason"], "POST /v1/admin/fx-rates")

		query := fmt.Sprintf("%s = '%s' AND WorkflowId = '%s'", workflows.ConversionStateKey.GetName(), workflows.ConversionStateFXRateMissing, workflowID)
		eventually(t, 30*time.Second, "the waiting conversion found by ConversionState", func() bool {
			res, err := e.app.Temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
			return err == nil && len(res.GetExecutions()) == 1
		})
		require.EqualValues(t, 0, e.count(&store.Conversion{}, "integration_id = ?", integrationID), "nothing half-written while waiting")

		r = e.admin("POST", "/v1/admin/fx-rates", map[string]any{"base": "EUR", "quote": "USD", "rate": "1.08", "effective_from": "2026-01-01T00:00:00Z"})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		// Woken by the rate's signal, not the hourly retry.
		eventually(t, 30*time.Second, "the conversion recorded once the rate exists", func() bool {
			return e.count(&store.Conversion{}, "integration_id = ? AND event_id = ?", integrationID, "fx-ftd") == 1
		})
		var res workflows.ConversionResult
		require.NoError(t, e.app.Temporal.GetWorkflow(context.Background(), workflowID, "").Get(context.Background(), &res))
		require.EqualValues(t, 15000, res.PayoutMinor, "75.00 EUR × 1.08 = 81.00 USD qualifies: 150.00")
		require.Equal(t, "USD", res.Currency)
		require.Len(t, ops.ofType(webhook.FXRateMissing), 1, "announced once")
	})
}
