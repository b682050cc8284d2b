package e2e

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"

	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/workflows"
)

// Any valid UTF-8 event id is accepted (issue 9: "café" was answered 503 for ever, since Temporal takes only
// printable ASCII in a workflow id). The id is encoded into the workflow id; people see the original.
func TestNonASCIIEventIDIsRecorded(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(200))
		key, integrationID, affiliateID := e.setup(tracker.srv.URL)
		for _, id := range []string{"café", "заказ-😀-42", "~u:Y2Fmw6k"} {
			wfID := "conversion:" + integrationID + ":" + workflows.IDPart(id)
			r := e.postback(key, ftd(id, affiliateID))
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			require.Equal(t, map[string]any{"status": "accepted", "event_id": id, "workflow_id": wfID}, r.Body)
			eventually(t, 20*time.Second, "the conversion of "+id, func() bool {
				return e.count(&store.Conversion{}, "event_id = ? AND workflow_id = ?", id, wfID) == 1
			})
			desc, err := e.app.Temporal.DescribeWorkflowExecution(context.Background(), wfID, "")
			require.NoError(t, err)
			var attr string
			require.NoError(t, converter.GetDefaultDataConverter().FromPayload(
				desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[workflows.EventIDKey.GetName()], &attr))
			require.Equal(t, id, attr, "the search attribute holds the original id")

			again := e.postback(key, ftd(id, affiliateID))
			require.Equal(t, "duplicate", again.Body["status"], again.Raw)
			ds := e.deliveries("event_id=" + url.QueryEscape(id))
			require.Len(t, ds, 1)
			require.Equal(t, id, ds[0]["event_id"])
		}
		// The plain id that looks like an encoded one and the id it would decode to are two events.
		require.EqualValues(t, 3, e.count(&store.Conversion{}, "integration_id = ?", integrationID))
		eventually(t, 20*time.Second, "three postbacks", func() bool { return len(tracker.received()) == 3 })
		var sent []string
		for _, r := range tracker.received() {
			sent = append(sent, r.URL.Query().Get("tx"))
		}
		require.Contains(t, sent, "café", "macros carry the original id")
	})
}
