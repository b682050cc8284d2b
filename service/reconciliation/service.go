// Package reconciliation is the application service of revenue reconciliation: it stages an uploaded or
// pulled file, starts ReconciliationWorkflow for it and reads the batch reports.
package reconciliation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"

	"github.com/affrelay/affrelay/activities"
	"github.com/affrelay/affrelay/apperr"
	recon "github.com/affrelay/affrelay/reconciliation"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/workflows"
)

// Errors the HTTP layer maps to status codes.
var (
	ErrUnavailable = errors.New("the batch could not be started; retry later")
)

// Service stages files and starts their workflows.
type Service struct {
	Store     *store.Store
	Temporal  client.Client
	TaskQueue string
	// MaxFileBytes caps a file after decompression.
	MaxFileBytes int64
	// PullAttempts and PullBackoff bound each scheduled or backfilled pull's fetch (workflows.PullRetry);
	// zero attempts keeps the workflow's default.
	PullAttempts int
	PullBackoff  time.Duration
}

// Sources of a batch.
const (
	SourceUpload = "upload"
	SourcePull   = "pull"
)

// File is one revenue file to reconcile.
type File struct {
	IntegrationID   string
	Body            io.Reader
	ContentType     string
	ContentEncoding string
	Source          string
	// Verify, when set, is run once the body is read and the rows are staged: the batch is accepted only if
	// it returns nil (a signed upload's signature over the body; its error is returned as is).
	Verify func() error
}

// Accepted is the answer to a file: its batch and workflow, and whether the same content was seen before.
type Accepted struct {
	BatchID    string
	WorkflowID string
	Duplicate  bool
}

// Submit streams the file into a staging batch, validating every row (activities.StageFile). A file with
// errors is refused whole (*recon.FileError) and nothing of it stays; so is a body cut off or over the limit.
// A good file starts ReconciliationWorkflow under reconciliation:<integration>:<sha256 of the content>; the
// same content again answers with the first batch, Duplicate set.
func (s *Service) Submit(ctx context.Context, f File) (Accepted, error) {
	b, duplicate, err := activities.StageFile(ctx, s.Store, activities.StageFileInput{
		IntegrationID: f.IntegrationID, Body: f.Body, ContentType: f.ContentType, ContentEncoding: f.ContentEncoding,
		Source: f.Source, MaxBytes: s.MaxFileBytes, Verify: f.Verify, WorkflowID: func(sha string) string { return workflows.ReconciliationWorkflowID(f.IntegrationID, sha) },
	})
	if err != nil {
		return Accepted{}, err
	}
	// A duplicate still processing may be one whose workflow never started (the process that accepted it died
	// first): starting it again is refused by Temporal when it did start.
	if !duplicate || b.Status == store.BatchProcessing {
		if err := s.start(ctx, b); err != nil {
			if !duplicate {
				_ = s.Store.DeleteBatch(context.WithoutCancel(ctx), b.ID) // so the sender's retry is not a duplicate
			}
			return Accepted{}, err
		}
	}
	return Accepted{BatchID: b.ID, WorkflowID: b.WorkflowID, Duplicate: duplicate}, nil
}

// start starts the batch's workflow. Temporal refusing it as already started is the batch's run: a duplicate's
// (see Submit), or a new batch's after the batch was deleted (the content hash is unique in the database).
func (s *Service) start(ctx context.Context, b store.ReconciliationBatch) error {
	_, err := s.Temporal.ExecuteWorkflow(ctx, startOptions(s.TaskQueue, b.WorkflowID,
		workflows.IntegrationIDKey.ValueSet(b.IntegrationID), workflows.BatchIDKey.ValueSet(b.ID)),
		workflows.ReconciliationWorkflow, workflows.ReconciliationInput{BatchID: b.ID, IntegrationID: b.IntegrationID})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// startOptions start a workflow once under its business key: Temporal refuses a second run with the id.
func startOptions(taskQueue, id string, attrs ...temporal.SearchAttributeUpdate) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                taskQueue,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(attrs...),
	}
}

// Report is a batch and, once completed, its summary.
type Report struct {
	Batch   store.ReconciliationBatch
	Summary *recon.Summary
}

// Batch returns an integration's batch with its report.
func (s *Service) Batch(ctx context.Context, integrationID, id string) (Report, error) {
	b, err := s.Store.Batch(ctx, integrationID, id)
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && b.Status == store.BatchStaging) {
		return Report{}, apperr.NotFound("reconciliation batch " + id)
	}
	if err != nil {
		return Report{}, err
	}
	rep := Report{Batch: b}
	if b.Summary != "" {
		rep.Summary = &recon.Summary{}
		if err := json.Unmarshal([]byte(b.Summary), rep.Summary); err != nil {
			return Report{}, err
		}
	}
	return rep, nil
}

// Rows returns a page of a batch's rows with the status ("" every row that is not matched), after a row id.
// Until the batch is completed, only the rows compared so far that did not match are listed.
func (s *Service) Rows(ctx context.Context, integrationID, id, status string, after uint64, limit int) ([]store.ReconciliationRow, error) {
	rep, err := s.Batch(ctx, integrationID, id)
	if err != nil {
		return nil, err
	}
	return s.Store.BatchRows(ctx, id, status, recon.StatusMatched, rep.Batch.Status == store.BatchCompleted, after, limit)
}

// StatusOK says whether status names a row status.
func StatusOK(status string) bool {
	return status == "" || slices.Contains(recon.Statuses, status)
}
