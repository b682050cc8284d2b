// Package reconciliation is the application service of revenue reconciliation: it stages an uploaded or
// pulled file, starts ReconciliationWorkflow for it and reads the batch reports.
package reconciliation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"

	"github.com/affrelay/affrelay/apperr"
	recon "github.com/affrelay/affrelay/reconciliation"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/workflows"
)

// Errors the HTTP layer maps to status codes.
var (
	ErrUnavailable = errors.New("the batch could not be started; retry later")
	// ErrBadEncoding is an unknown Content-Encoding or a body that is not the gzip it claims.
	ErrBadEncoding = errors.New("bad content encoding")
)

// FileError refuses a whole file: the first errors (at most recon.MaxErrors) and how many there were.
type FileError struct {
	Errors []recon.RowError
	Total  int
}

func (e *FileError) Error() string {
	return fmt.Sprintf("the file has %d error(s); nothing was applied; first: %s", e.Total, e.Errors[0].Error())
}

// Service stages files and starts their workflows.
type Service struct {
	Store     *store.Store
	Temporal  client.Client
	TaskQueue string
	// MaxFileBytes caps a file after decompression.
	MaxFileBytes int64
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
}

// Accepted is the answer to a file: its batch and workflow, and whether the same content was seen before.
type Accepted struct {
	BatchID    string
	WorkflowID string
	Duplicate  bool
}

// stageBatch is how many rows are written per insert while streaming.
const stageBatch = 1000

// Submit streams the file into a staging batch, validating every row. A file with errors is refused whole
// (*FileError) and its staged rows deleted; so is a body cut off or over the limit. A good file starts
// ReconciliationWorkflow under reconciliation:<integration>:<sha256 of the content>; the same content again
// answers with the first batch, Duplicate set.
func (s *Service) Submit(ctx context.Context, f File) (Accepted, error) {
	format, err := recon.FormatOf(f.ContentType)
	if err != nil {
		return Accepted{}, err
	}
	body, err := recon.Decode(f.Body, f.ContentEncoding, s.MaxFileBytes)
	if err != nil {
		return Accepted{}, fmt.Errorf("%w: %v", ErrBadEncoding, err)
	}
	hash := sha256.New()
	b := store.ReconciliationBatch{ID: store.NewID("rcb"), IntegrationID: f.IntegrationID, Source: f.Source, Status: store.BatchStaging}
	b.ContentSHA256 = "staging:" + b.ID
	if err := s.Store.CreateBatch(ctx, &b); err != nil {
		return Accepted{}, err
	}
	accepted := false
	defer func() {
		if !accepted {
			// Nothing of a refused or duplicate file stays; the request's context may be gone by now.
			_ = s.Store.DeleteBatch(context.WithoutCancel(ctx), b.ID)
		}
	}()
	if err := s.stage(ctx, &b, io.TeeReader(body, hash), format); err != nil {
		return Accepted{}, err
	}
	b.ContentSHA256 = hex.EncodeToString(hash.Sum(nil))
	b.WorkflowID = workflows.ReconciliationWorkflowID(f.IntegrationID, b.ContentSHA256)
	existing, duplicate, err := s.Store.AcceptBatch(ctx, &b)
	if err != nil {
		return Accepted{}, err
	}
	if duplicate {
		return Accepted{BatchID: existing.ID, WorkflowID: existing.WorkflowID, Duplicate: true}, nil
	}
	if err := s.start(ctx, b); err != nil {
		return Accepted{}, err
	}
	accepted = true
	return Accepted{BatchID: b.ID, WorkflowID: b.WorkflowID}, nil
}

// stage parses and stages every row, and checks the rows together (each player-day once, in one currency).
func (s *Service) stage(ctx context.Context, b *store.ReconciliationBatch, r io.Reader, format string) error {
	p, err := recon.NewParser(r, format)
	if err != nil {
		return fileError(err)
	}
	fe := &FileError{}
	var buf []store.ReconciliationRow
	flush := func() error {
		if len(buf) == 0 || fe.Total > 0 {
			buf = buf[:0]
			return nil
		}
		err := s.Store.StageRows(ctx, buf)
		buf = buf[:0]
		return err
	}
	for {
		row, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var re *recon.RowError
		if errors.As(err, &re) {
			fe.Total++
			if len(fe.Errors) < recon.MaxErrors {
				fe.Errors = append(fe.Errors, *re)
			}
			continue
		}
		if err != nil {
			return err // cut off, too large, or the connection failed: nothing is applied
		}
		b.Rows++
		if b.FirstDay == "" || row.Date < b.FirstDay {
			b.FirstDay = row.Date
		}
		if row.Date > b.LastDay {
			b.LastDay = row.Date
		}
		buf = append(buf, store.ReconciliationRow{
			BatchID: b.ID, PlayerID: row.PlayerID, Day: row.Date, Line: row.Line, InFile: true, AffiliateID: row.AffiliateID,
			Currency: row.Currency, HasFirstDeposit: row.HasFirstDeposit, FirstDepositMinor: row.FirstDepositMinor,
			DepositsMinor: row.DepositsMinor, NGRMinor: row.NGRMinor,
		})
		if len(buf) == stageBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if fe.Total > 0 {
		return fe
	}
	if b.Rows == 0 {
		return &FileError{Total: 1, Errors: []recon.RowError{{Line: 1, Message: "the file has no rows"}}}
	}
	repeated, err := s.Store.RepeatedPlayerDays(ctx, b.ID, recon.MaxErrors)
	if err != nil {
		return err
	}
	for _, r := range repeated {
		msg := fmt.Sprintf("player %s on %s is also on line %d: one row per player and day", r.PlayerID, r.Day, r.FirstLine)
		if r.Currencies > 1 {
			msg = fmt.Sprintf("player %s on %s is also on line %d in another currency: a player-day has one currency", r.PlayerID, r.Day, r.FirstLine)
		}
		fe.Errors = append(fe.Errors, recon.RowError{Line: r.LastLine, Field: recon.ColPlayerID, Message: msg})
		fe.Total++
	}
	if fe.Total > 0 {
		return fe
	}
	return nil
}

func fileError(err error) error {
	var re *recon.RowError
	if errors.As(err, &re) {
		return &FileError{Total: 1, Errors: []recon.RowError{*re}}
	}
	return err
}

// start starts the batch's workflow. Temporal refusing it as already started cannot happen for a new batch
// (the content hash is unique in the database) except after the batch was deleted: then it is that run.
func (s *Service) start(ctx context.Context, b store.ReconciliationBatch) error {
	_, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       b.WorkflowID,
		TaskQueue:                                s.TaskQueue,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.IntegrationIDKey.ValueSet(b.IntegrationID), workflows.BatchIDKey.ValueSet(b.ID)),
	}, workflows.ReconciliationWorkflow, workflows.ReconciliationInput{BatchID: b.ID, IntegrationID: b.IntegrationID})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
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
func (s *Service) Rows(ctx context.Context, integrationID, id, status string, after uint64, limit int) ([]store.ReconciliationRow, error) {
	if _, err := s.Batch(ctx, integrationID, id); err != nil {
		return nil, err
	}
	return s.Store.BatchRows(ctx, id, status, recon.StatusMatched, after, limit)
}

// StatusOK says whether status names a row status.
func StatusOK(status string) bool {
	return status == "" || slices.Contains(recon.Statuses, status)
}
