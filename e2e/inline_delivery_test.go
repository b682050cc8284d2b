package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/workflows"
)

// history returns the events of a workflow's current run.
func (e *testEnv) history(workflowID string) []*history.HistoryEvent {
	e.t.Helper()
	it := e.app.Temporal.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*history.HistoryEvent
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(e.t, err)
		events = append(events, ev)
	}
	return events
}

func countEvents(events []*history.HistoryEvent, t enumspb.EventType) int {
	n := 0
	for _, ev := range events {
		if ev.GetEventType() == t {
			n++
		}
	}
	return n
}

// deliveredAttempts waits until the event's one delivery is delivered and returns it with its attempts.
func (e *testEnv) deliveredAttempts(eventID string) (map[string]any, []map[string]any) {
	e.t.Helper()
	eventually(e.t, 30*time.Second, "delivered", func() bool {
		ds := e.deliveries("event_id=" + eventID)
		return len(ds) == 1 && ds[0]["status"] == "delivered"
	})
	d := e.deliveries("event_id=" + eventID)[0]
	var attempts []map[string]any
	for _, a := range d["attempts"].([]any) {
		attempts = append(attempts, a.(map[string]any))
	}
	return d, attempts
}

func TestInlineFirstAttemptDeliversInOneWorkflowTask(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(http.StatusOK))
		key, integrationID, affiliateID := e.setup(tracker.srv.URL)
		require.Equal(t, "accepted", e.postback(key, ftd("evt-inline", affiliateID)).Body["status"])
		d, attempts := e.deliveredAttempts("evt-inline")
		require.Len(t, attempts, 1, "the inline attempt is stored like any other")
		require.EqualValues(t, 1, attempts[0]["number"])
		require.EqualValues(t, 200, attempts[0]["status_code"])
		require.False(t, e.workflowExists(workflows.DeliveryWorkflowID(d["id"].(string))), "a delivery that succeeded inline has no workflow")

		// The whole conversion is one eagerly started workflow task: no activity task, no child, no timer.
		id := workflows.ConversionWorkflowID(integrationID, "evt-inline")
		eventually(t, 10*time.Second, "the conversion completed", func() bool {
			desc, err := e.app.Temporal.DescribeWorkflowExecution(context.Background(), id, "")
			return err == nil && desc.WorkflowExecutionInfo.Status == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
		})
		events := e.history(id)
		require.Equal(t, 1, countEvents(events, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED))
		require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, events[2].GetEventType())
		require.Zero(t, countEvents(events, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED))
		require.Zero(t, countEvents(events, enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED))
		require.Zero(t, countEvents(events, enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES), "no search-attribute write on the happy path")
		var res workflows.ConversionResult
		require.NoError(t, e.app.Temporal.GetWorkflow(context.Background(), id, "").Get(context.Background(), &res))
		require.Equal(t, []string{d["id"].(string)}, res.Delivered, "ops see the inline delivery in the conversion's result")
	})
}

func TestInlineFirstAttemptFailsThenDeliveryWorkflowContinuesAtAttemptTwo(t *testing.T) {
	policy := retrypolicy.Policy{Schedule: []time.Duration{2 * time.Second, 3 * time.Second}, MaxAttempts: 5, Window: 5 * time.Minute, MaxRetryAfter: 2 * time.Second}
	forEachStore(t, policy, func(t *testing.T, e *testEnv) {
		tracker := newSink(t, func(n int) int {
			if n <= 2 {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		})
		key, _, affiliateID := e.setup(tracker.srv.URL)
		require.Equal(t, "accepted", e.postback(key, ftd("evt-continue", affiliateID)).Body["status"])
		d, attempts := e.deliveredAttempts("evt-continue")
		require.Len(t, attempts, 3)
		var starts []time.Time
		for i, want := range []float64{503, 503, 200} {
			a := attempts[i]
			require.EqualValues(t, i+1, a["number"])
			require.Equal(t, want, a["status_code"])
			at, err := time.Parse(time.RFC3339Nano, a["started_at"].(string))
			require.NoError(t, err)
			starts = append(starts, at)
		}
		// Attempt 2 waits the schedule's first delay after the inline attempt 1, attempt 3 the second one.
		require.GreaterOrEqual(t, starts[1].Sub(starts[0]), 2*time.Second)
		require.GreaterOrEqual(t, starts[2].Sub(starts[1]), 3*time.Second)

		// The DeliveryWorkflow took over at attempt 2: one activity series with two attempts, after a timer.
		id := workflows.DeliveryWorkflowID(d["id"].(string))
		eventually(t, 10*time.Second, "the delivery workflow completed", func() bool {
			desc, err := e.app.Temporal.DescribeWorkflowExecution(context.Background(), id, "")
			return err == nil && desc.WorkflowExecutionInfo.Status == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
		})
		events := e.history(id)
		require.Equal(t, 1, countEvents(events, enumspb.EVENT_TYPE_TIMER_STARTED))
		require.Equal(t, 1, countEvents(events, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED))
		for _, ev := range events {
			if ev.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED {
				require.EqualValues(t, 2, ev.GetActivityTaskStartedEventAttributes().GetAttempt(), "the activity's second try is attempt 3")
			}
		}
		require.Len(t, tracker.received(), 3)
	})
}

func TestResetOfInlineDeliveredConversionSendsNothingTwice(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(http.StatusOK))
		key, integrationID, affiliateID := e.setup(tracker.srv.URL)
		require.Equal(t, "accepted", e.postback(key, ftd("evt-reset", affiliateID)).Body["status"])
		id := workflows.ConversionWorkflowID(integrationID, "evt-reset")
		eventually(t, 20*time.Second, "delivered and completed", func() bool {
			desc, err := e.app.Temporal.DescribeWorkflowExecution(context.Background(), id, "")
			return len(tracker.received()) == 1 && err == nil && desc.WorkflowExecutionInfo.Status == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
		})

		res := e.resetToFirstTask(id)
		require.Empty(t, res.Delivered, "the delivered delivery is not planned again")

		require.Len(t, tracker.received(), 1, "nothing is sent twice")
		d := e.deliveries("event_id=evt-reset")
		require.Len(t, d, 1)
		require.Len(t, d[0]["attempts"].([]any), 1)
		require.EqualValues(t, 1, e.count(&store.Conversion{}, "event_id = ?", "evt-reset"))
		require.EqualValues(t, 1, e.count(&store.LedgerEntry{}, "affiliate_id = ?", affiliateID))
	})
}

func TestHangingReceiverDoesNotHoldOtherFirstAttempts(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		healthy := newSink(t, always(http.StatusOK))
		hanging := newSink(t, func(int) int { time.Sleep(4 * time.Second); return http.StatusOK })
		key, integrationID, affiliateID := e.setup(healthy.srv.URL)
		r := e.admin("POST", "/v1/admin/affiliates/"+affiliateID+"/postback-endpoints", map[string]any{
			"url": hanging.srv.URL + "/pb?tx={transaction_id}", "method": "GET", "events": []string{"ftd"},
		})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		require.Equal(t, "accepted", e.postback(key, ftd("evt-hang", affiliateID)).Body["status"])

		// Both first attempts ran at once; the hanging one was cut at the first-attempt timeout (2 s) and went on
		// in a DeliveryWorkflow, the healthy one was delivered inline.
		id := workflows.ConversionWorkflowID(integrationID, "evt-hang")
		var res workflows.ConversionResult
		require.NoError(t, e.app.Temporal.GetWorkflow(context.Background(), id, "").Get(context.Background(), &res))
		require.Len(t, res.Deliveries, 2)
		require.Len(t, res.Delivered, 1)
		var slowID string
		for _, d := range e.deliveries("event_id=evt-hang") {
			attempts := d["attempts"].([]any)
			require.Len(t, attempts, 1)
			first := attempts[0].(map[string]any)
			if d["id"] == res.Delivered[0] {
				require.Equal(t, "delivered", d["status"])
				require.False(t, e.workflowExists(workflows.DeliveryWorkflowID(d["id"].(string))))
				continue
			}
			slowID = d["id"].(string)
			require.Equal(t, "pending", d["status"])
			require.Equal(t, "timeout", first["error"])
		}
		require.True(t, e.workflowExists(workflows.DeliveryWorkflowID(slowID)), "the timed-out delivery continues in its workflow")
		require.Len(t, healthy.received(), 1)
	})
}

// resetToFirstTask resets a completed conversion workflow to its first workflow task, as an operator would from
// the Temporal UI ("reset to first workflow task": its completion event), so the whole task runs again, and
// returns the new run's result.
func (e *testEnv) resetToFirstTask(id string) workflows.ConversionResult {
	e.t.Helper()
	var firstTask int64
	for _, ev := range e.history(id) {
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED && firstTask == 0 {
			firstTask = ev.GetEventId()
		}
	}
	desc, err := e.app.Temporal.DescribeWorkflowExecution(context.Background(), id, "")
	require.NoError(e.t, err)
	reset, err := e.app.Temporal.ResetWorkflowExecution(context.Background(), &workflowservice.ResetWorkflowExecutionRequest{
		Namespace: "default", WorkflowExecution: desc.WorkflowExecutionInfo.Execution,
		Reason: "e2e: reset to the first task", WorkflowTaskFinishEventId: firstTask, RequestId: store.NewID("req"),
	})
	require.NoError(e.t, err)
	var res workflows.ConversionResult
	require.NoError(e.t, e.app.Temporal.GetWorkflow(context.Background(), id, reset.RunId).Get(context.Background(), &res))
	return res
}

// Resetting an approval's status-change workflow applies nothing twice: the ledger keeps one entry and the
// affiliate's postback, delivered by the first run, is not planned or sent again.
func TestResetOfApprovedStatusChangeSendsNothingTwice(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(http.StatusOK))
		affise := dialects[2]
		key, integrationID, affiliateID, clickID := e.mappedSender(tracker.srv.URL, "status-reset.example", affise.mapping)
		pending := affise.send(clickID, "tx-reset", "ftd", "50.00")
		pending.Set("status", "2")
		e.sendAccepted(key, integrationID, pending, "accepted")
		approved := affise.send(clickID, "tx-reset", "ftd", "50.00")
		approved.Set("status", "1")
		r := e.postback(key, approved)
		require.Equal(t, "status_changed", r.Body["status"], r.Raw)
		id := r.Body["workflow_id"].(string)
		eventually(t, 20*time.Second, "the approval delivered and its workflow completed", func() bool {
			desc, err := e.app.Temporal.DescribeWorkflowExecution(context.Background(), id, "")
			return len(tracker.received()) == 1 && err == nil && desc.WorkflowExecutionInfo.Status == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
		})
		ledger := e.ledgerOf(affiliateID)
		require.Len(t, ledger, 1)

		res := e.resetToFirstTask(id)
		require.Empty(t, res.Deliveries, "the delivered postback is not planned again")
		require.Len(t, tracker.received(), 1, "nothing is sent twice")
		d := e.deliveries("event_id=tx-reset")
		require.Len(t, d, 1)
		require.Equal(t, "delivered", d[0]["status"])
		require.Len(t, d[0]["attempts"].([]any), 1)
		require.Equal(t, ledger, e.ledgerOf(affiliateID), "the ledger is not written twice")
	})
}
