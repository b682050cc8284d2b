// Package activities holds every side effect of affrelay's workflows: database writes and HTTP deliveries.
package activities

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/telemetry"
)

// Activities holds the dependencies of every activity; it is registered once per worker. Activities log
// through activity.GetLogger, so every line carries the workflow id, run id and attempt.
type Activities struct {
	Store  *store.Store
	HTTP   *http.Client
	Policy retrypolicy.Policy
	// FirstAttemptTimeout bounds the inline first attempt of a conversion's deliveries; 0 starts a
	// DeliveryWorkflow for every delivery instead.
	FirstAttemptTimeout time.Duration
	Webhooks            WebhookSettings
	// ReconciliationMaxBytes caps a pulled revenue file, as reconciliation.max_file_bytes caps an upload.
	ReconciliationMaxBytes int64
	// Metrics records attempt outcomes and delivery latency; nil records nothing.
	Metrics *telemetry.DeliveryMetrics
	// ReconciliationChunkRows is how many rows one reconciliation transaction compares and corrects.
	ReconciliationChunkRows int
	// ReconciliationParallelChunks is how many chunks are processed at once on PostgreSQL (SQLite: one).
	ReconciliationParallelChunks int
	// ReconciliationAfterChunk, when set, runs after each committed chunk of ProcessReconciliationRows,
	// before the activity looks whether its worker is stopping; tests hold a batch there.
	ReconciliationAfterChunk func(ctx context.Context)
	// Limits bound each receiver's attempts per second and in flight, per worker process.
	Limits    TargetLimits
	gatesOnce sync.Once
	gates     *targetGates
}

// WebhookSettings configures webhook subscriptions.
type WebhookSettings struct {
	// AutoDisableAfter is how many deliveries in a row may end in needs_review before the subscription is disabled.
	AutoDisableAfter int
}

// DefaultAutoDisableAfter is delivery.auto_disable_after's default.
const DefaultAutoDisableAfter = 5

// New builds the activities; client sends the deliveries (outbound.NewClient).
func New(s *store.Store, policy retrypolicy.Policy, client *http.Client) *Activities {
	return &Activities{
		Store: s, Policy: policy, HTTP: client,
		Webhooks: WebhookSettings{AutoDisableAfter: DefaultAutoDisableAfter}, ReconciliationMaxBytes: 256 << 20,
		ReconciliationChunkRows: 1000, ReconciliationParallelChunks: 1,
	}
}
