package activities

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/affrelay/affrelay/outbound"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
)

// TestAuditCheckpointIsSentOncePerRun: the checkpoint activity tried again in the same workflow run (a retry
// after its answer was lost, or a reset) takes no second checkpoint and plans no second audit.checkpoint; it
// answers the checkpoint and the deliveries its first try planned, still pending, so the workflow starts them.
func TestAuditCheckpointIsSentOncePerRun(t *testing.T) {
	s := openStore(t)
	require.NoError(t, s.DB.Create(&store.WebhookSubscription{ID: "whs_ops", Kind: webhook.KindWebhook, URL: "https://ops.example/hooks",
		Events: webhook.AuditCheckpoint, Enabled: true}).Error)
	a := New(s, retrypolicy.DefaultPolicy(), outbound.NewClient(time.Second, outbound.Allowlist{}))
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)

	var tries []TakeAuditCheckpointResult
	for range 2 {
		val, err := env.ExecuteActivity(a.TakeAuditCheckpoint)
		require.NoError(t, err)
		var res TakeAuditCheckpointResult
		require.NoError(t, val.Get(&res))
		tries = append(tries, res)
	}
	first, again := tries[0], tries[1]
	require.Len(t, first.Deliveries, 1)
	require.Equal(t, first.Deliveries, again.Deliveries, "the retry starts the deliveries the first try planned")
	require.Equal(t, first.Checkpoint.ID, again.Checkpoint.ID)
	require.Equal(t, first.Checkpoint.Seq, again.Checkpoint.Seq)
	require.Equal(t, first.Checkpoint.Hash, again.Checkpoint.Hash)
	require.True(t, first.Checkpoint.CreatedAt.Equal(again.Checkpoint.CreatedAt))

	var checkpoints, deliveries int64
	require.NoError(t, s.DB.Model(&store.AuditCheckpoint{}).Where("kind = ?", store.AuditCheckpointDaily).Count(&checkpoints).Error)
	require.NoError(t, s.DB.Model(&store.Delivery{}).Where("event_type = ?", webhook.AuditCheckpoint).Count(&deliveries).Error)
	require.EqualValues(t, 1, checkpoints, "one checkpoint taken")
	require.EqualValues(t, 1, deliveries, "one audit.checkpoint planned")
}
