package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"

	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/reconciliation"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
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
	// Processing says the batch has not completed: a duplicate's workflow may never have started (the
	// process that accepted it died first), so the pull starts it (Temporal refuses a second run).
	Processing bool
}

// PullBatchID is the staging batch id of one attempt of a pull's fetch (workflow run, activity and attempt): a
// retry looks under the earlier attempts' ids for what a killed one left, and an attempt that lives on after
// its heartbeat timed out stages into its own batch, never into the retry's.
func PullBatchID(info activity.Info, attempt int32) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%d", info.WorkflowExecution.ID, info.WorkflowExecution.RunID, info.ActivityID, attempt))
	return "rcb_" + hex.EncodeToString(sum[:12])
}

// PullURL renders the operator endpoint's URL template for a day.
func PullURL(template, day string) string {
	return strings.ReplaceAll(template, "{date}", url.QueryEscape(day))
}

// FetchFailure is the detail of a fetch's failure: the attempt that failed, so the workflow can say after how
// many attempts it gave up.
type FetchFailure struct {
	Attempt int
}

// FetchReconciliationDay fetches a day from the integration's operator endpoint and stages it like an upload.
// A failed request or an unreadable answer is retried by the activity's retry policy; a file the operator
// sent with errors is not (the same request would get the same file). Every failure carries its attempt.
func (r *Reconciliation) FetchReconciliationDay(ctx context.Context, in PullInput) (FetchReconciliationDayResult, error) {
	res, retryable, err := r.fetchDay(ctx, in)
	if err == nil {
		return res, nil
	}
	detail := FetchFailure{Attempt: int(activity.GetInfo(ctx).Attempt)}
	if !retryable {
		return res, temporal.NewNonRetryableApplicationError(err.Error(), "FetchFailed", nil, detail)
	}
	return res, temporal.NewApplicationError(err.Error(), "FetchFailed", detail)
}

func (r *Reconciliation) fetchDay(ctx context.Context, in PullInput) (res FetchReconciliationDayResult, retryable bool, err error) {
	p, err := r.Store.Pull(ctx, in.IntegrationID)
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return res, false, errors.New("integration " + in.IntegrationID + " has no reconciliation pull")
	}
	if err != nil {
		return res, true, err
	}
	info := activity.GetInfo(ctx)
	for attempt := int32(1); attempt < info.Attempt; attempt++ {
		if prev, accepted, err := resumeStaging(ctx, r.Store, PullBatchID(info, attempt)); err != nil || accepted {
			return FetchReconciliationDayResult{BatchID: prev.ID, WorkflowID: prev.WorkflowID, Processing: prev.Status == store.BatchProcessing}, true, err
		}
	}
	id := PullBatchID(info, info.Attempt)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, PullURL(p.URLTemplate, in.Day), nil)
	if err != nil {
		return res, false, errors.New("url_template: " + redactURL(err).Error())
	}
	if p.AuthHeader != "" {
		req.Header.Set(p.AuthHeader, p.AuthValue)
	}
	req.Header.Set("Accept", "text/csv, application/json, application/x-ndjson")
	resp, err := r.HTTP.Do(req)
	if err != nil {
		return res, true, fmt.Errorf("fetch %s from %s: %w", in.Day, req.URL.Host, redactURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return res, true, fmt.Errorf("fetch %s from %s: the operator answered %s", in.Day, req.URL.Host, resp.Status)
	}
	body := &countingReader{r: resp.Body}
	stop := heartbeatWhileFetching(ctx, body)
	defer stop()
	contentType := resp.Header.Get("Content-Type")
	switch p.Format {
	case reconciliation.FormatCSV:
		contentType = "text/csv"
	case reconciliation.FormatJSON:
		contentType = "application/json"
	}
	b, duplicate, err := StageFile(ctx, r.Store, StageFileInput{
		IntegrationID: in.IntegrationID, Body: body, ContentType: contentType, ContentEncoding: resp.Header.Get("Content-Encoding"),
		Source: "pull", MaxBytes: r.MaxFileBytes, WorkflowID: func(sha string) string { return BatchWorkflowID(in.IntegrationID, sha) },
		BatchID: id,
	})
	var fe *reconciliation.FileError
	if errors.As(err, &fe) || errors.Is(err, reconciliation.ErrTooLarge) || errors.Is(err, reconciliation.ErrUnsupportedFormat) {
		return res, false, errors.New("the operator's file for " + in.Day + ": " + err.Error())
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return res, true, fmt.Errorf("fetch %s: the answer was cut off: %w", in.Day, err)
	}
	if err != nil {
		return res, true, err
	}
	return FetchReconciliationDayResult{BatchID: b.ID, WorkflowID: b.WorkflowID, Duplicate: duplicate, Processing: b.Status == store.BatchProcessing}, false, nil
}

// countingReader counts the bytes read through it; the heartbeat reports them.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// heartbeatWhileFetching heartbeats the bytes read so far, a few times per heartbeat timeout, until stop is
// called: a worker killed mid-fetch is noticed within the heartbeat timeout, not the fetch's whole
// start-to-close timeout. It beats even while the operator is slow to answer (that wait is bounded by the
// start-to-close timeout): the heartbeat says the worker lives, not that bytes flow.
func heartbeatWhileFetching(ctx context.Context, body *countingReader) (stop func()) {
	every := activity.GetInfo(ctx).HeartbeatTimeout / 3
	if every <= 0 {
		every = time.Second
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx, body.n.Load())
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

// redactURL drops the URL from an HTTP client error: its query may carry a token, and the error is stored and
// sent in ops.reconciliation_pull_failed.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// RecordPullFailureInput is a day whose fetch gave up after Attempts attempts.
type RecordPullFailureInput struct {
	IntegrationID, Day, Error string
	Attempts                  int
}

// RecordPullFailureResult names the failed batch, and the ops.reconciliation_pull_failed deliveries to start.
type RecordPullFailureResult struct {
	BatchID    string
	Deliveries []DeliveryRef
	Policy     retrypolicy.Policy
}

// RecordPullFailure keeps a failed fetch visible: a failed batch for the day, ops.reconciliation_pull_failed
// planned in the same transaction, and an ALERT line. Run again (a retry), it returns the same batch and the
// deliveries still pending, so the event goes out once per failed pull.
func (r *Reconciliation) RecordPullFailure(ctx context.Context, in RecordPullFailureInput) (RecordPullFailureResult, error) {
	res := RecordPullFailureResult{Policy: r.ledger.Policy}
	info := activity.GetInfo(ctx)
	b := store.ReconciliationBatch{
		ID: store.NewID("rcb"), IntegrationID: in.IntegrationID, Source: "pull", Status: store.BatchFailed,
		FirstDay: in.Day, LastDay: in.Day, Error: in.Error,
		// One failed batch per run, however often this activity is retried.
		ContentSHA256: "failed:" + info.WorkflowExecution.RunID,
	}
	if len(b.Error) > 1024 {
		b.Error = b.Error[:1024]
	}
	created := false
	err := r.Store.Transaction(ctx, func(tx *store.Store) error {
		existing, found, err := store.BatchByContent(tx.DB, b.IntegrationID, b.ContentSHA256)
		if err != nil {
			return err
		}
		if found {
			res.BatchID = existing.ID
			res.Deliveries, err = pendingDeliveries(tx.DB, webhook.EventKey(webhook.ReconciliationPullFailed, existing.ID))
			return err
		}
		if err := tx.CreateBatch(ctx, &b); err != nil {
			return err
		}
		created, res.BatchID = true, b.ID
		res.Deliveries, err = planWebhookEvent(tx.DB, eventplan.ReconciliationPullFailed(b, info.WorkflowExecution.ID, in.Attempts, time.Now().UTC()))
		return err
	})
	if err != nil {
		return RecordPullFailureResult{}, err
	}
	if created {
		activity.GetLogger(ctx).Error("ALERT reconciliation pull failed", "integration_id", in.IntegrationID, "day", in.Day, "batch_id", b.ID,
			"attempts", in.Attempts, "error", in.Error, "at", time.Now().UTC())
	}
	return res, nil
}
