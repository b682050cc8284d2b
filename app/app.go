// Package app assembles affrelay from its parts: store, Temporal client, worker and HTTP server.
// The binary's subcommands and the end-to-end tests start it the same way.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/affrelay/affrelay/activities"
	"github.com/affrelay/affrelay/config"
	"github.com/affrelay/affrelay/infra"
	"github.com/affrelay/affrelay/opsalert"
	"github.com/affrelay/affrelay/outbound"
	"github.com/affrelay/affrelay/payout"
	"github.com/affrelay/affrelay/server"
	"github.com/affrelay/affrelay/service/affiliates"
	"github.com/affrelay/affrelay/service/audit"
	"github.com/affrelay/affrelay/service/conversions"
	"github.com/affrelay/affrelay/service/deliveries"
	"github.com/affrelay/affrelay/service/disputes"
	"github.com/affrelay/affrelay/service/integrations"
	"github.com/affrelay/affrelay/service/payouts"
	reconsvc "github.com/affrelay/affrelay/service/reconciliation"
	"github.com/affrelay/affrelay/service/start"
	"github.com/affrelay/affrelay/service/webhooks"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/telemetry"
	"github.com/affrelay/affrelay/worker"
)

// Options says which roles this process plays.
type Options struct {
	Serve    bool // the HTTP API
	Work     bool // the Temporal worker
	DemoSink bool // mount the dev demo's postback receiver
	Logger   *slog.Logger
	// Now is the HTTP API's clock (signature tolerance, secret expiry, rate limits); nil is time.Now. Tests
	// move it to see an expiry pass without waiting for it.
	Now func() time.Time
}

// App is a running affrelay process.
type App struct {
	Config   config.Config
	Store    *store.Store
	Temporal client.Client
	// The application services, one per concern.
	Conversions  *conversions.Service
	Integrations *integrations.Service
	Affiliates   *affiliates.Service
	Webhooks     *webhooks.Service
	Deliveries   *deliveries.Service
	Audit        *audit.Service
	Payouts      *payouts.Service
	Disputes     *disputes.Service
	Sink         *server.Sink
	// Addr is the address the HTTP server listens on (useful when configured with port 0).
	Addr string

	worker   sdkworker.Worker
	acts     *activities.Activities
	payouts  *activities.Payouts
	http     *http.Server
	auditLog *infra.AuditLog
	stop     chan struct{} // closed by Stop; ends background loops
	httpErr  chan error
	logger   *slog.Logger
	// stopWatch ends the queue-depth alarm.
	stopWatch context.CancelFunc
	// Metrics is the process's registry, served at /metrics (and at telemetry.metrics_addr when set).
	Metrics     *telemetry.Metrics
	tracing     *telemetry.Tracing
	metricsHTTP *http.Server
}

// Start opens the store, connects to Temporal and starts the requested roles.
func Start(ctx context.Context, cfg config.Config, o Options) (*App, error) {
	a := &App{Config: cfg, logger: o.Logger, httpErr: make(chan error, 1), stop: make(chan struct{})}
	var err error
	if a.Store, err = store.Open(cfg.Database.Driver, cfg.Database.DSN); err != nil {
		return nil, err
	}
	if err := a.Store.LimitConnections(cfg.Database.MaxOpenConns); err != nil {
		a.Store.Close()
		return nil, err
	}
	if err := a.sealSecrets(ctx, cfg.Secrets); err != nil {
		a.Store.Close()
		return nil, err
	}
	if err := a.startTelemetry(ctx, o); err != nil {
		a.Stop(ctx)
		return nil, err
	}
	interceptors, err := a.tracing.TemporalInterceptors()
	if err != nil {
		a.Stop(ctx)
		return nil, err
	}
	if a.Temporal, err = worker.Dial(cfg.Temporal, o.Logger, worker.Observe{Metrics: a.Metrics.Temporal, Interceptors: interceptors}); err != nil {
		a.Stop(ctx)
		return nil, err
	}
	// One pool for every outbound request: deliveries and the webhook test send.
	httpClient := outbound.NewClient(cfg.Delivery.Timeout, cfg.Delivery.AllowPrivateTargets)
	starter := start.Starter{Temporal: a.Temporal, TaskQueue: cfg.Temporal.TaskQueue, Eager: o.Work}
	a.Conversions = &conversions.Service{Store: a.Store, Start: starter}
	a.Integrations = &integrations.Service{Store: a.Store, SecretMaxAge: cfg.Security.SecretMaxAge}
	a.Affiliates = &affiliates.Service{Store: a.Store, Start: starter, TrackingLink: cfg.Affiliate.TrackingLink, Logger: o.Logger}
	a.Webhooks = &webhooks.Service{Store: a.Store, Settings: webhooks.Settings{
		SecretGrace: cfg.Delivery.WebhookSecretGrace, HTTP: httpClient,
	}}
	a.Deliveries = &deliveries.Service{Store: a.Store, Temporal: a.Temporal, Start: starter, Policy: cfg.Delivery.Policy}
	a.Audit = &audit.Service{Store: a.Store}
	evidenceKey, err := cfg.Evidence.SigningKeyPair()
	if err != nil {
		a.Stop(ctx)
		return nil, err
	}
	a.Disputes = &disputes.Service{Store: a.Store, Temporal: a.Temporal, Namespace: cfg.Temporal.Namespace, Deliveries: a.Deliveries, Key: evidenceKey}
	cycle, err := payout.NewCycle(cfg.Payout.Cycle, cfg.Payout.TimeZone)
	if err != nil {
		a.Stop(ctx)
		return nil, fmt.Errorf("payout.cycle: %w", err)
	}
	a.Payouts = &payouts.Service{Store: a.Store, Temporal: a.Temporal, TaskQueue: cfg.Temporal.TaskQueue, Cycle: cycle}

	if o.Work {
		// Idempotent; a server that forbids it (Temporal Cloud) needs them created beforehand, so only warn.
		if err := worker.EnsureSearchAttributes(ctx, a.Temporal, cfg.Temporal.Namespace); err != nil {
			o.Logger.Warn("could not register search attributes; create them on the server", "error", err)
		}
		acts := activities.New(a.Store, cfg.Delivery.Policy, httpClient)
		acts.Webhooks.AutoDisableAfter = cfg.Delivery.AutoDisableAfter
		acts.Limits = activities.TargetLimits{RatePerSecond: cfg.Delivery.TargetMaxRPS, MaxInFlight: cfg.Delivery.TargetMaxInFlight}
		acts.FirstAttemptTimeout = cfg.Delivery.FirstAttemptTimeout
		// The cache is per process and must be sized before the worker starts.
		sdkworker.SetStickyWorkflowCacheSize(cfg.Temporal.WorkflowCacheSize)
		acts.ReconciliationMaxBytes = cfg.Reconciliation.MaxFileBytes
		acts.Metrics = a.Metrics.Deliveries
		acts.ReconciliationChunkRows = cfg.Reconciliation.ChunkRows
		acts.ReconciliationParallelChunks = cfg.Reconciliation.ParallelChunks
		a.acts = acts
		a.payouts = &activities.Payouts{Store: a.Store, Policy: cfg.Delivery.Policy, Settings: activities.PayoutSettings{
			Minimums: cfg.Payout.Minimums, ReminderAfter: cfg.Payout.ReminderAfter,
		}}
		if err := a.StartWorker(); err != nil {
			a.Stop(ctx)
			return nil, fmt.Errorf("start worker: %w", err)
		}
		o.Logger.Info("worker started", "task_queue", cfg.Temporal.TaskQueue, "namespace", cfg.Temporal.Namespace)
		if err := worker.EnsureCommissionReportSchedule(ctx, a.Temporal, cfg.Temporal.TaskQueue); err != nil {
			a.Stop(ctx)
			return nil, err
		}
		if err := worker.EnsurePerformanceReportSchedule(ctx, a.Temporal, cfg.Temporal.TaskQueue); err != nil {
			a.Stop(ctx)
			return nil, err
		}
		if err := worker.EnsurePayoutSchedule(ctx, a.Temporal, cfg.Temporal.TaskQueue, cfg.Payout); err != nil {
			a.Stop(ctx)
			return nil, err
		}
		if err := worker.EnsureAuditCheckpointSchedule(ctx, a.Temporal, cfg.Temporal.TaskQueue); err != nil {
			a.Stop(ctx)
			return nil, err
		}
	}
	if o.Serve {
		if o.DemoSink {
			a.Sink = &server.Sink{Logger: o.Logger}
		}
		ln, err := net.Listen("tcp", cfg.HTTP.Addr)
		if err != nil {
			a.Stop(ctx)
			return nil, fmt.Errorf("listen on %s: %w", cfg.HTTP.Addr, err)
		}
		a.Addr = ln.Addr().String()
		if evidenceKey == nil {
			o.Logger.Warn("no evidence.signing_key: evidence bundles cannot be built (the route answers 503) until one is set")
		}
		a.auditLog = infra.NewAuditLog(a.Store, o.Logger, auditBuffer)
		go a.pruneAuditLog(cfg.Security.AuditRetention, cfg.Security.RequestRetention)
		a.http = &http.Server{
			Handler: a.tracing.HTTPHandler(server.New(server.Options{
				Conversions: a.Conversions, Integrations: a.Integrations, Affiliates: a.Affiliates, Webhooks: a.Webhooks,
				Deliveries: a.Deliveries, Requests: a.Audit, Payouts: a.Payouts, Evidence: a.Disputes, Ready: infra.Readiness{Store: a.Store, Temporal: a.Temporal}.Check, AdminTokens: cfg.Admin.Tokens, MaxBodyBytes: cfg.HTTP.MaxBodyBytes,
				Postback: cfg.Postback, Security: cfg.Security, TrustedProxies: cfg.HTTP.TrustedProxies,
				ReportMaxRangeDays: cfg.Affiliate.ReportMaxRangeDays,
				Audit:              a.auditLog, Logger: o.Logger, Sink: a.Sink, Now: o.Now,
				Reconciliation: &reconsvc.Service{
					Store: a.Store, Temporal: a.Temporal, TaskQueue: cfg.Temporal.TaskQueue, MaxFileBytes: cfg.Reconciliation.MaxFileBytes,
					PullAttempts: cfg.Reconciliation.PullAttempts, PullBackoff: cfg.Reconciliation.PullBackoff,
				},
				ReconciliationMaxBytes: cfg.Reconciliation.MaxFileBytes,
				Metrics:                a.Metrics,
			})),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
		}
		serve := func() error { return a.http.Serve(ln) }
		if cfg.HTTP.TLSCert != "" {
			cert, err := tls.LoadX509KeyPair(cfg.HTTP.TLSCert, cfg.HTTP.TLSKey)
			if err != nil {
				ln.Close()
				a.Stop(ctx)
				return nil, fmt.Errorf("http.tls_cert / http.tls_key: %w", err)
			}
			a.http.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
			serve = func() error { return a.http.ServeTLS(ln, "", "") }
		}
		go func() {
			if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.httpErr <- err
			}
		}()
		o.Logger.Info("HTTP API listening", "addr", a.Addr, "tls", cfg.HTTP.TLSCert != "")
		watchCtx, stopWatch := context.WithCancel(context.Background())
		a.stopWatch = stopWatch
		watch := &infra.QueueWatch{
			Store: a.Store, NeedsReviewWindow: cfg.Alert.NeedsReviewWindow, SweepAfter: cfg.Alert.CheckInterval, Logger: o.Logger,
			Announcer: infra.Announcer{Start: a.Deliveries.StartDeliveries},
			Alarms: opsalert.Config{
				QueueThreshold: int64(cfg.Alert.QueueDepthThreshold), TargetThresholds: cfg.Alert.TargetThresholds,
				NeedsReviewBurst: int64(cfg.Alert.NeedsReviewBurst), RecoverRatio: cfg.Alert.RecoverRatio,
			},
		}
		go watch.Run(watchCtx, cfg.Alert.CheckInterval)
		secrets := &infra.SecretWatch{
			Store: a.Store, MaxAge: cfg.Security.SecretMaxAge, Warning: cfg.Security.SecretExpiryWarning,
			Offset: cfg.Security.SecretClockOffset, Logger: o.Logger,
			Announcer: infra.Announcer{Start: a.Deliveries.StartDeliveries},
		}
		go secrets.Run(watchCtx, cfg.Security.SecretCheckInterval)
	}
	return a, nil
}

// startTelemetry makes the metrics registry, serves it on telemetry's own address when one is set (a worker
// process has no API to serve it), and starts tracing when an OTLP endpoint is set.
func (a *App) startTelemetry(ctx context.Context, o Options) error {
	var err error
	if a.Metrics, err = telemetry.NewMetrics(o.Logger); err != nil {
		return err
	}
	role := "worker"
	switch {
	case o.Serve && o.Work:
		role = "all"
	case o.Serve:
		role = "api"
	}
	t := a.Config.Telemetry
	if a.tracing, err = telemetry.NewTracing(ctx, t.OTLPEndpoint, t.TraceSampleRatio, role); err != nil {
		return err
	}
	if t.MetricsAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", t.MetricsAddr)
	if err != nil {
		return fmt.Errorf("metrics.addr: listen on %s: %w", t.MetricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.Metrics.Handler())
	a.metricsHTTP = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := a.metricsHTTP.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.httpErr <- fmt.Errorf("metrics server: %w", err)
		}
	}()
	o.Logger.Info("metrics listening", "addr", ln.Addr().String())
	return nil
}

// sealSecrets sets the keys sealed columns use and re-seals under the current key what is not yet: values
// stored in clear before secrets were sealed, or under a key being rotated out.
func (a *App) sealSecrets(ctx context.Context, s config.Secrets) error {
	k, err := s.Keyring()
	if err != nil {
		return err
	}
	store.UseKeyring(k)
	resealed, err := a.Store.Reseal(ctx)
	if err != nil {
		return fmt.Errorf("re-seal secrets under key %s: %w", k.CurrentID(), err)
	}
	if len(resealed) > 0 {
		a.logger.Info("re-sealed secrets under the current key", "key_id", k.CurrentID(), "values", resealed)
	}
	return nil
}

// auditBuffer is how many audit rows may wait for the writer before requests write their own.
const auditBuffer = 4096

// abandonedStagingAge is when a reconciliation batch still staging is abandoned: an upload's stream and a
// pull's fetch are both cut off after 15 minutes.
const abandonedStagingAge = time.Hour

// pruneAuditLog deletes audit rows older than the retention, the requests conversions were recorded from
// older than theirs, and abandoned reconciliation staging, at start and then hourly, until Stop.
func (a *App) pruneAuditLog(retention, requestRetention time.Duration) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		n, err := a.Audit.PruneRequests(context.Background(), time.Now().Add(-retention))
		if err != nil {
			a.logger.Error("prune audit log", "error", err)
		} else if n > 0 {
			a.logger.Info("pruned audit log", "rows", n, "retention", retention)
		}
		n, err = a.Conversions.PruneReceivedRequests(context.Background(), time.Now().Add(-requestRetention))
		if err != nil {
			a.logger.Error("prune received requests", "error", err)
		} else if n > 0 {
			a.logger.Info("pruned received requests", "rows", n, "retention", requestRetention)
		}
		n, err = a.Store.DeleteAbandonedStaging(context.Background(), time.Now().Add(-abandonedStagingAge))
		if err != nil {
			a.logger.Error("delete abandoned reconciliation staging", "error", err)
		} else if n > 0 {
			a.logger.Info("deleted abandoned reconciliation staging", "batches", n, "older_than", abandonedStagingAge)
		}
		select {
		case <-a.stop:
			return
		case <-tick.C:
		}
	}
}

// StartWorker starts a Temporal worker on the process's task queue (again, after StopWorker).
func (a *App) StartWorker() error {
	a.worker = worker.New(a.Temporal, a.Config.Temporal.TaskQueue, a.acts, a.payouts)
	return a.worker.Start()
}

// HoldReconciliation makes the next worker started run after each reconciliation chunk (nil: nothing), so a
// test can stop a worker after a known chunk.
func (a *App) HoldReconciliation(afterChunk func(ctx context.Context)) {
	a.acts.ReconciliationAfterChunk = afterChunk
}

// StopWorker stops this process's Temporal worker only, as a worker process being shut down would.
func (a *App) StopWorker() {
	if a.worker != nil {
		a.worker.Stop()
		a.worker = nil
	}
}

// Err reports a failure of the HTTP server after start.
func (a *App) Err() <-chan error { return a.httpErr }

// Stop drains the HTTP server, stops the worker and closes connections.
func (a *App) Stop(ctx context.Context) {
	if a.stopWatch != nil {
		a.stopWatch()
	}
	if a.http != nil {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_ = a.http.Shutdown(sctx)
		cancel()
	}
	select {
	case <-a.stop:
	default:
		close(a.stop)
	}
	if a.auditLog != nil {
		a.auditLog.Close()
	}
	if a.worker != nil {
		a.worker.Stop()
	}
	if a.Temporal != nil {
		a.Temporal.Close()
	}
	if a.metricsHTTP != nil {
		_ = a.metricsHTTP.Close()
	}
	if err := a.tracing.Shutdown(ctx); err != nil {
		a.logger.Warn("tracing shutdown", "error", err)
	}
	if a.Store != nil {
		_ = a.Store.Close()
	}
}
