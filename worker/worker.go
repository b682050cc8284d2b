// Package worker builds the Temporal client and worker that run affrelay's workflows and activities.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/affrelay/affrelay/activities"
	"github.com/affrelay/affrelay/config"
	"github.com/affrelay/affrelay/payout"
	"github.com/affrelay/affrelay/workflows"
)

// Observe is what the client reports to: the SDK's metrics and the tracing interceptors (both optional).
type Observe struct {
	Metrics      client.MetricsHandler
	Interceptors []interceptor.ClientInterceptor
}

// Dial connects to Temporal, over TLS or mTLS and with an API key when configured (config.Temporal.ClientTLS).
func Dial(cfg config.Temporal, logger *slog.Logger, observe Observe) (client.Client, error) {
	tlsConfig, err := cfg.ClientTLS()
	if err != nil {
		return nil, err
	}
	opts := client.Options{
		HostPort:  cfg.Address,
		Namespace: cfg.Namespace,
		Logger:    log.NewStructuredLogger(logger.With("component", "temporal")),
		// No gzip (the SDK's default): affrelay's requests are a few KB, and compressing them cost about 3% of
		// affrelay's CPU per conversion and more of the server's to undo it.
		ConnectionOptions: client.ConnectionOptions{TLS: tlsConfig, GrpcCompression: &client.GrpcCompressionNone{}},
		MetricsHandler:    observe.Metrics,
		Interceptors:      observe.Interceptors,
	}
	if cfg.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.APIKey)
	}
	c, err := client.Dial(opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w", cfg.Address, err)
	}
	return c, nil
}

// New registers every workflow and activity on a worker for the task queue.
func New(c client.Client, taskQueue string, acts *activities.Activities, payouts *activities.Payouts) worker.Worker {
	w := worker.New(c, taskQueue, worker.Options{
		// On shutdown, in-flight deliveries get time to finish instead of being cancelled and retried elsewhere.
		WorkerStopTimeout: 30 * time.Second,
		// Separate pollers for the normal and the sticky queue. The SDK's default pollers are mixed: each goes to
		// the sticky queue while the last sticky answer reported a backlog, and a stale report sent every one there
		// for a whole long poll (a minute) while new workflows' first tasks waited on the normal queue.
		WorkflowTaskPollerBehavior: worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{}),
	})
	for _, wf := range workflows.All {
		w.RegisterWorkflow(wf)
	}
	w.RegisterActivity(acts)
	w.RegisterActivity(activities.NewReconciliation(acts))
	w.RegisterActivity(payouts)
	return w
}

// DevServerArgs are the flags affrelay starts a Temporal CLI dev server with (after its address, database and log
// flags): a file SQLite database with WAL, affrelay's search attributes registered at start, and the search
// attribute cache on. The CLI turns that cache off so that a search attribute added at run time is seen at once;
// affrelay's are all registered before its first workflow starts, and without the cache every start, workflow task
// and visibility write with search attributes reads them from the database again (4.6% of the dev server's CPU in
// a profile of the load benchmark's closed loop; 0.4% with the cache). One added to an existing database file at start (an upgrade) reaches
// the history service's cache within a minute; its visibility writes are retried until then.
func DevServerArgs() []string {
	args := []string{
		"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
		"--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=false",
		"--dynamic-config-value", "frontend.enableServerVersionCheck=false",
	}
	for _, k := range workflows.SearchAttributes {
		args = append(args, "--search-attribute", k.GetName()+"="+k.GetValueType().String())
	}
	return args
}

// EnsureSearchAttributes registers the custom search attributes in the namespace when they are missing.
// Registering is idempotent; a server that forbids it (Temporal Cloud) needs them created beforehand.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	attrs := map[string]enumspb.IndexedValueType{}
	for _, k := range workflows.SearchAttributes {
		attrs[k.GetName()] = k.GetValueType()
	}
	_, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: attrs,
	})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("register search attributes: %w", err)
	}
	return nil
}

// EnsureCommissionReportSchedule creates the weekly commission report Schedule for the task queue unless it
// exists. An existing Schedule is left as it is, so an operator's pause or edit in the Temporal UI holds.
func EnsureCommissionReportSchedule(ctx context.Context, c client.Client, taskQueue string) error {
	return ensureCronSchedule(ctx, c, workflows.CommissionReportScheduleID(taskQueue), workflows.CommissionReportCron, &client.ScheduleWorkflowAction{
		ID: "commission-reports:" + taskQueue, Workflow: workflows.CommissionReportsWorkflow, Args: []any{workflows.CommissionReportsInput{}}, TaskQueue: taskQueue,
	})
}

// EnsurePerformanceReportSchedule creates the hourly performance.report Schedule for the task queue unless it
// exists; each subscription's own frequency and time zone decide what a run sends.
func EnsurePerformanceReportSchedule(ctx context.Context, c client.Client, taskQueue string) error {
	return ensureCronSchedule(ctx, c, workflows.PerformanceReportScheduleID(taskQueue), workflows.PerformanceReportCron, &client.ScheduleWorkflowAction{
		ID: "performance-reports:" + taskQueue, Workflow: workflows.PerformanceReportsWorkflow, Args: []any{workflows.PerformanceReportsInput{}}, TaskQueue: taskQueue,
	})
}

// ensureCronSchedule creates the Schedule id, taking action at cron (UTC), unless one with its id exists.
func ensureCronSchedule(ctx context.Context, c client.Client, id, cron string, action *client.ScheduleWorkflowAction) error {
	return ensureSchedule(ctx, c, client.ScheduleOptions{ID: id, Spec: client.ScheduleSpec{CronExpressions: []string{cron}}, Action: action})
}

// ensureSchedule creates the Schedule unless one with its id exists.
func ensureSchedule(ctx context.Context, c client.Client, o client.ScheduleOptions) error {
	_, err := c.ScheduleClient().Create(ctx, o)
	if err != nil && !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("create schedule %s: %w", o.ID, err)
	}
	return nil
}

// EnsureAuditCheckpointSchedule creates the daily audit checkpoint Schedule for the task queue unless it exists
// (an existing one is left as an operator may have edited it).
func EnsureAuditCheckpointSchedule(ctx context.Context, c client.Client, taskQueue string) error {
	return ensureCronSchedule(ctx, c, workflows.AuditCheckpointScheduleID(taskQueue), workflows.AuditCheckpointCron, &client.ScheduleWorkflowAction{
		ID: "audit-checkpoint:" + taskQueue, Workflow: workflows.AuditCheckpointWorkflow, TaskQueue: taskQueue,
	})
}

// EnsurePayoutSchedule creates the payout cycle's Schedule for the task queue unless it exists: monthly on the
// configured day, or weekly on Mondays (a bi-weekly cycle skips every other week), at the configured time in
// the configured time zone. Like the report Schedule, an existing one is left as an operator may have edited it.
func EnsurePayoutSchedule(ctx context.Context, c client.Client, taskQueue string, cfg config.Payout) error {
	at := client.ScheduleCalendarSpec{
		Hour:   []client.ScheduleRange{{Start: cfg.Hour}},
		Minute: []client.ScheduleRange{{Start: cfg.Minute}},
	}
	if cfg.Cycle == payout.Monthly {
		at.DayOfMonth = []client.ScheduleRange{{Start: cfg.DayOfMonth}}
	} else {
		at.DayOfWeek = []client.ScheduleRange{{Start: int(time.Monday)}}
	}
	return ensureSchedule(ctx, c, client.ScheduleOptions{
		ID:   workflows.PayoutScheduleID(cfg.Cycle, taskQueue),
		Spec: client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{at}, TimeZoneName: cfg.TimeZone},
		Action: &client.ScheduleWorkflowAction{
			ID:        "payout-cycle:" + cfg.Cycle + ":" + taskQueue,
			Workflow:  workflows.PayoutCycleWorkflow,
			Args:      []any{workflows.PayoutCycleInput{Cycle: cfg.Cycle, TimeZone: cfg.TimeZone}},
			TaskQueue: taskQueue,
		},
	})
}
