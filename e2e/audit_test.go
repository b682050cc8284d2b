package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/internal/stack"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
	"github.com/affrelay/affrelay/workflows"
)

// verifyAudit calls GET /v1/admin/audit/verify with query and returns the answer.
func (e *testEnv) verifyAudit(query string) response {
	e.t.Helper()
	r := e.admin("GET", "/v1/admin/audit/verify?"+query, nil)
	require.Equal(e.t, http.StatusOK, r.Status, r.Raw)
	return r
}

// The audit chain over real API calls: it verifies; the daily checkpoint goes out as a signed audit.checkpoint
// with the head's hash; a row changed in the database is named by its id (route and CLI), never a 5xx; bad
// ranges are 400s naming the parameter; after pruning, the rest verifies from the pruning checkpoint.
func TestAuditChainVerifyCheckpointAndPrune(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		tracker := newSink(t, always(http.StatusOK))
		key, _, affiliateID := e.setup(tracker.srv.URL)
		ack := e.postback(key, ftd("audit-1", affiliateID))
		require.Equal(t, "accepted", ack.Body["status"], ack.Raw)
		requestID := ack.Header.Get("X-Request-Id")
		require.NotEmpty(t, requestID)

		r := e.verifyAudit("")
		require.Equal(t, true, r.Body["ok"], r.Raw)
		require.Greater(t, r.Body["rows_checked"].(float64), float64(3), r.Raw)

		// The daily checkpoint, triggered through its Schedule, reaches the operator's subscription signed.
		hooks := newWebhookReceiver(t, always(http.StatusOK))
		_, secret := e.subscribe("webhook", hooks.srv.URL, webhook.AuditCheckpoint)
		triggerSchedule(t, e, workflows.AuditCheckpointScheduleID(e.app.Config.Temporal.TaskQueue))
		eventually(t, 30*time.Second, "audit.checkpoint delivered", func() bool { return len(hooks.ofType(webhook.AuditCheckpoint)) == 1 })
		got := hooks.ofType(webhook.AuditCheckpoint)[0]
		require.NoError(t, verify(t, secret, got), "Standard Webhooks signature")
		cp := data(t, got)
		seq := int64(cp["seq"].(float64))
		require.Positive(t, seq)
		var atSeq store.AuditRecord
		require.NoError(t, e.app.Store.DB.Where("seq = ?", seq).Take(&atSeq).Error)
		require.Equal(t, atSeq.Hash, cp["hash"], "the checkpoint is the hash of the row at its position")
		copyKept := fmt.Sprintf("%d:%s", seq, cp["hash"])
		r = e.verifyAudit("checkpoint=" + copyKept)
		require.Equal(t, "matches", r.Body["checkpoint"], r.Raw)
		out, err := e.ops("audit-verify", "--checkpoint", copyKept)
		require.NoError(t, err, out)
		require.Contains(t, out, "matches it")

		// Someone with database access changes the postback's answer in its audit row.
		var row store.AuditRecord
		require.NoError(t, e.app.Store.DB.Where("request_id = ?", requestID).Take(&row).Error)
		require.NoError(t, e.app.Store.DB.Exec("UPDATE audit_records SET status = 500 WHERE id = ?", row.ID).Error)
		r = e.verifyAudit("")
		require.Equal(t, false, r.Body["ok"], r.Raw)
		br := r.Body["break"].(map[string]any)
		require.EqualValues(t, row.ID, br["id"], r.Raw)
		require.Equal(t, requestID, br["request_id"])
		require.Contains(t, br["reason"], "changed after it was written")
		out, err = e.ops("audit-verify")
		require.ErrorContains(t, err, "does not verify", out)
		require.Contains(t, out, fmt.Sprintf("BROKEN at row id %d ", row.ID))
		// A range after the row does not reach it.
		r = e.verifyAudit("from=" + time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
		require.Equal(t, true, r.Body["ok"], r.Raw)

		for query, field := range map[string]string{"from=yesterday": "from", "to=2026-13-01": "to", "from=2026-11-02&to=2026-11-01": "to", "checkpoint=12": "checkpoint"} {
			bad := e.admin("GET", "/v1/admin/audit/verify?"+query, nil)
			require.Equal(t, http.StatusBadRequest, bad.Status, query)
			require.Equal(t, field, bad.Body["error"].(map[string]any)["field"], bad.Raw)
		}
		_, err = e.ops("audit-verify", "--from", "yesterday")
		require.ErrorContains(t, err, "from")

		require.NoError(t, e.app.Store.DB.Exec("UPDATE audit_records SET status = ? WHERE id = ?", row.Status, row.ID).Error)
		r = e.verifyAudit("")
		require.Equal(t, true, r.Body["ok"], r.Raw)

		// Pruning the rows written so far leaves a checkpoint at the cut; what remains verifies from it.
		cut := time.Now()
		require.Equal(t, "accepted", e.postback(key, ftd("audit-2", affiliateID)).Body["status"])
		eventually(t, 30*time.Second, "audit-2 recorded", func() bool { return e.count(&store.Conversion{}, "event_id = ?", "audit-2") == 1 })
		pruned, err := e.app.Audit.PruneRequests(ctx, cut)
		require.NoError(t, err)
		require.Positive(t, pruned)
		require.Zero(t, e.count(&store.AuditRecord{}, "request_id = ?", requestID), "the first postback's row is pruned")
		r = e.verifyAudit("")
		require.Equal(t, true, r.Body["ok"], r.Raw)
		anchor := r.Body["anchor"].(map[string]any)
		require.Positive(t, anchor["seq"].(float64), "verified from the pruning checkpoint")
		out, err = e.ops("audit-verify", "--from", cut.Add(-time.Hour).UTC().Format(time.DateOnly))
		require.NoError(t, err, out)
		require.Contains(t, out, "ok: every row fits the chain")
	})
}

// A separate `affrelay serve` process is killed with SIGKILL right after it acknowledged a postback: the
// worker (in this test's process) still records the event, the request as received is retrievable, and the
// call's audit row exists and fits the chain.
func TestAPIKilledRightAfterAck(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "affrelay")
	build := exec.Command("go", "build", "-o", bin, "../cmd/affrelay")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(http.StatusOK))
		key, integrationID, affiliateID := e.setup(tracker.srv.URL)

		port, err := stack.FreePort()
		require.NoError(t, err)
		cfg := e.app.Config
		api := &stack.Process{Path: bin, Args: []string{"serve"}, LogPath: filepath.Join(t.TempDir(), "serve.log"), Env: append(stack.EnvironWithoutAffrelay(),
			"AFFRELAY_HTTP_ADDR=127.0.0.1:"+strconv.Itoa(port), "AFFRELAY_TEMPORAL_ADDRESS="+temporalAddr,
			"AFFRELAY_TEMPORAL_TASK_QUEUE="+cfg.Temporal.TaskQueue, "AFFRELAY_DATABASE_DRIVER="+cfg.Database.Driver,
			"AFFRELAY_DATABASE_DSN="+cfg.Database.DSN, "AFFRELAY_ADMIN_TOKEN="+adminToken,
			"AFFRELAY_SECRETS_KEYS="+testSecretsKey, "AFFRELAY_SECRETS_CURRENT_KEY=k1")}
		require.NoError(t, api.Start())
		t.Cleanup(api.Kill)
		base := "http://127.0.0.1:" + strconv.Itoa(port)
		require.NoError(t, stack.WaitReady(context.Background(), base+"/readyz", 2*time.Minute), "see %s", api.LogPath)

		req, err := http.NewRequest("GET", base+"/v1/postbacks?"+ftd("killed-after-ack", affiliateID).Encode(), nil)
		require.NoError(t, err)
		req.Header.Set("X-API-Key", key)
		resp, err := apiClient().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		api.Kill()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		requestID := resp.Header.Get("X-Request-Id")
		require.False(t, api.Running())

		eventually(t, 60*time.Second, "the event recorded by the worker", func() bool {
			return e.count(&store.Conversion{}, "event_id = ?", "killed-after-ack") == 1
		})
		r := e.admin("GET", "/v1/admin/conversions/"+integrationID+"/killed-after-ack/request", nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, requestID, r.Body["request_id"], r.Raw)
		require.EqualValues(t, 1, e.count(&store.AuditRecord{}, "request_id = ? AND status = ? AND seq IS NOT NULL", requestID, http.StatusOK), "the acknowledged call's audit row")
		v := e.verifyAudit("")
		require.Equal(t, true, v.Body["ok"], v.Raw)
	})
}
