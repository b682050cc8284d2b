package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"

	"github.com/affrelay/affrelay/reconciliation"
	"github.com/affrelay/affrelay/store"
)

// PullInput names an integration and the day to fetch (YYYY-MM-DD).
type PullInput struct {
	IntegrationID string
	Day           string
}

// FetchReconciliationDayResult is the staged batch of the day (or the earlier one with the same content).
type FetchReconciliationDayResult struct {
	BatchID    string
	WorkflowID string
	Duplicate  bool
}

// PullURL renders the operator endpoint's URL template for a day.
func PullURL(template, day string) string {
	return strings.ReplaceAll(template, "{date}", url.QueryEscape(day))
}

// FetchReconciliationDay fetches a day from the integration's operator endpoint and stages it like an upload.
// A failed request or an unreadable answer is retried by the activity's retry policy; a file the operator
// sent with errors is not (the same request would get the same file).
func (r *Reconciliation) FetchReconciliationDay(ctx context.Context, in PullInput) (FetchReconciliationDayResult, error) {
	p, err := r.Store.Pull(ctx, in.IntegrationID)
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return FetchReconciliationDayResult{}, temporal.NewNonRetryableApplicationError("integration "+in.IntegrationID+" has no reconciliation pull", "NoPull", nil)
	}
	if err != nil {
		return FetchReconciliationDayResult{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, PullURL(p.URLTemplate, in.Day), nil)
	if err != nil {
		return FetchReconciliationDayResult{}, temporal.NewNonRetryableApplicationError("url_template: "+err.Error(), "BadURL", nil)
	}
	if p.AuthHeader != "" {
		req.Header.Set(p.AuthHeader, p.AuthValue)
	}
	req.Header.Set("Accept", "text/csv, application/json, application/x-ndjson")
	resp, err := r.HTTP.Do(req)
	if err != nil {
		return FetchReconciliationDayResult{}, fmt.Errorf("fetch %s: %w", in.Day, err) // the error names the URL, never the header
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return FetchReconciliationDayResult{}, fmt.Errorf("fetch %s: the operator answered %s", in.Day, resp.Status)
	}
	contentType := resp.Header.Get("Content-Type")
	switch p.Format {
	case reconciliation.FormatCSV:
		contentType = "text/csv"
	case reconciliation.FormatJSON:
		contentType = "application/json"
	}
	b, duplicate, err := StageFile(ctx, r.Store, StageFileInput{
		IntegrationID: in.IntegrationID, Body: resp.Body, ContentType: contentType, ContentEncoding: resp.Header.Get("Content-Encoding"),
		Source: "pull", MaxBytes: r.MaxFileBytes, WorkflowID: func(sha string) string { return BatchWorkflowID(in.IntegrationID, sha) },
	})
	var fe *reconciliation.FileError
	if errors.As(err, &fe) || errors.Is(err, reconciliation.ErrTooLarge) || errors.Is(err, reconciliation.ErrUnsupportedFormat) {
		return FetchReconciliationDayResult{}, temporal.NewNonRetryableApplicationError("the operator's file for "+in.Day+": "+err.Error(), "BadFile", nil)
	}
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return FetchReconciliationDayResult{}, err
	}
	if err != nil {
		return FetchReconciliationDayResult{}, fmt.Errorf("fetch %s: the answer was cut off: %w", in.Day, err)
	}
	return FetchReconciliationDayResult{BatchID: b.ID, WorkflowID: b.WorkflowID, Duplicate: duplicate}, nil
}

// RecordPullFailureInput is a day whose fetch gave up.
type RecordPullFailureInput struct {
	IntegrationID, Day, Error string
}

// RecordPullFailureResult names the failed batch.
type RecordPullFailureResult struct {
	BatchID string
}

// RecordPullFailure keeps a failed fetch visible: a failed batch for the day, and an ALERT line for ops.
func (r *Reconciliation) RecordPullFailure(ctx context.Context, in RecordPullFailureInput) (RecordPullFailureResult, error) {
	b := store.ReconciliationBatch{
		ID: store.NewID("rcb"), IntegrationID: in.IntegrationID, Source: "pull", Status: store.BatchFailed,
		FirstDay: in.Day, LastDay: in.Day, Error: in.Error,
	}
	if len(b.Error) > 1024 {
		b.Error = b.Error[:1024]
	}
	// One failed batch per run, however often this activity is retried.
	b.ContentSHA256 = "failed:" + activity.GetInfo(ctx).WorkflowExecution.RunID
	if err := r.Store.CreateBatch(ctx, &b); errors.Is(err, gorm.ErrDuplicatedKey) {
		return RecordPullFailureResult{}, nil
	} else if err != nil {
		return RecordPullFailureResult{}, err
	}
	activity.GetLogger(ctx).Error("ALERT reconciliation pull failed", "integration_id", in.IntegrationID, "day", in.Day, "batch_id", b.ID,
		"error", in.Error, "at", time.Now().UTC())
	return RecordPullFailureResult{BatchID: b.ID}, nil
}
