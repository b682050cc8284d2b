package reconciliation

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"

	"github.com/affrelay/affrelay/apperr"
	recon "github.com/affrelay/affrelay/reconciliation"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/workflows"
)

// PullSettings are an integration's operator endpoint and when to fetch the previous day from it.
type PullSettings struct {
	// URLTemplate is an http(s) URL with {date} where the day (YYYY-MM-DD) goes.
	URLTemplate string
	// AuthHeader and AuthValue are sent with every fetch (e.g. Authorization: Bearer …); the value is a secret.
	AuthHeader, AuthValue string
	Format                string // csv, json, or "" for the answer's Content-Type
	Cron                  string // e.g. "0 3 * * *"
	TimeZone              string // IANA, e.g. "Europe/Malta"; the cron is read in it
}

func (s *Service) pullRetry() *workflows.PullRetry {
	if s.PullAttempts == 0 {
		return nil
	}
	return &workflows.PullRetry{Attempts: s.PullAttempts, FirstRetry: s.PullBackoff}
}

// maxBackfillDays bounds one backfill.
const maxBackfillDays = 92

// SetPull validates and stores an integration's pull settings, and creates its Temporal Schedule or updates
// the existing one's spec and action (a pause set in the Temporal UI stays).
func (s *Service) SetPull(ctx context.Context, integrationID string, p PullSettings) (store.ReconciliationPull, error) {
	u, err := url.Parse(strings.ReplaceAll(p.URLTemplate, "{date}", "2026-01-01"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return store.ReconciliationPull{}, apperr.Invalid("url_template", "must be an http or https URL without credentials, with {date} for the day")
	}
	if !strings.Contains(p.URLTemplate, "{date}") {
		return store.ReconciliationPull{}, apperr.Invalid("url_template", "must contain {date}")
	}
	if (p.AuthHeader == "") != (p.AuthValue == "") {
		return store.ReconciliationPull{}, apperr.Invalid("auth_header", "and auth_value go together")
	}
	if p.Format != "" && p.Format != recon.FormatCSV && p.Format != recon.FormatJSON {
		return store.ReconciliationPull{}, apperr.Invalid("format", "must be csv or json (or empty: the answer's Content-Type)")
	}
	if p.TimeZone == "" {
		p.TimeZone = "UTC"
	}
	if _, err := time.LoadLocation(p.TimeZone); err != nil {
		return store.ReconciliationPull{}, apperr.Invalid("time_zone", fmt.Sprintf("%q is not an IANA time zone such as Europe/Malta", p.TimeZone))
	}
	if len(strings.Fields(p.Cron)) != 5 {
		return store.ReconciliationPull{}, apperr.Invalid("cron", "must be a five-field cron expression such as \"0 3 * * *\"")
	}
	if ok, err := s.Store.IntegrationExists(ctx, integrationID); err != nil {
		return store.ReconciliationPull{}, err
	} else if !ok {
		return store.ReconciliationPull{}, apperr.NotFound("integration " + integrationID)
	}
	row := store.ReconciliationPull{IntegrationID: integrationID, URLTemplate: p.URLTemplate, AuthHeader: p.AuthHeader,
		AuthValue: p.AuthValue, Format: p.Format, Cron: p.Cron, TimeZone: p.TimeZone}
	if err := s.ensureSchedule(ctx, row); err != nil {
		return row, err
	}
	return row, s.Store.SavePull(ctx, row)
}

// Pull returns an integration's pull settings.
func (s *Service) Pull(ctx context.Context, integrationID string) (store.ReconciliationPull, error) {
	p, err := s.Store.Pull(ctx, integrationID)
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return p, apperr.NotFound("reconciliation pull of integration " + integrationID)
	}
	return p, err
}

func (s *Service) ensureSchedule(ctx context.Context, p store.ReconciliationPull) error {
	id := workflows.ReconciliationPullScheduleID(p.IntegrationID)
	spec := client.ScheduleSpec{CronExpressions: []string{p.Cron}, TimeZoneName: p.TimeZone}
	action := &client.ScheduleWorkflowAction{
		ID: id, Workflow: workflows.ReconciliationPullWorkflow, TaskQueue: s.TaskQueue,
		Args:                  []any{workflows.ReconciliationPullInput{IntegrationID: p.IntegrationID, Retry: s.pullRetry()}},
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.IntegrationIDKey.ValueSet(p.IntegrationID)),
	}
	_, err := s.Temporal.ScheduleClient().Create(ctx, client.ScheduleOptions{ID: id, Spec: spec, Action: action})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		err = s.Temporal.ScheduleClient().GetHandle(ctx, id).Update(ctx, client.ScheduleUpdateOptions{
			DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				sched := in.Description.Schedule
				sched.Spec, sched.Action = &spec, action
				return &client.ScheduleUpdate{Schedule: &sched}, nil
			},
		})
	}
	var invalid *serviceerror.InvalidArgument
	if errors.As(err, &invalid) {
		return apperr.Invalid("cron", invalid.Message)
	}
	if err != nil {
		return fmt.Errorf("%w: schedule %s: %v", ErrUnavailable, id, err)
	}
	return nil
}

// Backfill starts one pull per day from..to (YYYY-MM-DD, inclusive), each under reconciliation-pull:<integration>:<day>:
// a day already pulled that way is not pulled again, and a day whose content was seen is a duplicate batch.
// It returns the workflow ids, and which were started now.
func (s *Service) Backfill(ctx context.Context, integrationID, from, to string) (ids []string, started []bool, err error) {
	if _, err := s.Pull(ctx, integrationID); err != nil {
		return nil, nil, err
	}
	first, err := time.Parse(time.DateOnly, from)
	if err != nil {
		return nil, nil, apperr.Invalid("from", "must be a date as YYYY-MM-DD")
	}
	last, err := time.Parse(time.DateOnly, to)
	if err != nil {
		return nil, nil, apperr.Invalid("to", "must be a date as YYYY-MM-DD")
	}
	if last.Before(first) || last.Sub(first) >= maxBackfillDays*24*time.Hour {
		return nil, nil, apperr.Invalid("to", fmt.Sprintf("must be from `from` to %d days after it", maxBackfillDays-1))
	}
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		day := d.Format(time.DateOnly)
		id := workflows.ReconciliationPullWorkflowID(integrationID, day)
		_, err := s.Temporal.ExecuteWorkflow(ctx, startOptions(s.TaskQueue, id, workflows.IntegrationIDKey.ValueSet(integrationID)),
			workflows.ReconciliationPullWorkflow, workflows.ReconciliationPullInput{IntegrationID: integrationID, Day: day, Retry: s.pullRetry()})
		var already *serviceerror.WorkflowExecutionAlreadyStarted
		if err != nil && !errors.As(err, &already) {
			return ids, started, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		ids, started = append(ids, id), append(started, err == nil)
	}
	return ids, started, nil
}
