// Package app assembles affrelay from its parts: store, Temporal client, worker and HTTP server.
// The binary's subcommands and the end-to-end tests start it the same way.
package app

import (
	"context"
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
	"github.com/affrelay/affrelay/relay"
	"github.com/affrelay/affrelay/server"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/worker"
)

// Options says which roles this process plays.
type Options struct {
	Serve    bool // the HTTP API
	Work     bool // the Temporal worker
	DemoSink bool // mount the dev demo's postback receiver
	Logger   *slog.Logger
}

// App is a running affrelay process.
type App struct {
	Config   config.Config
	Store    *store.Store
	Temporal client.Client
	Service  *relay.Service
	Sink     *server.Sink
	// Addr is the address the HTTP server listens on (useful when configured with port 0).
	Addr string

	worker  sdkworker.Worker
	http    *http.Server
	httpErr chan error
	logger  *slog.Logger
}

// Start opens the store, connects to Temporal and starts the requested roles.
func Start(ctx context.Context, cfg config.Config, o Options) (*App, error) {
	a := &App{Config: cfg, logger: o.Logger, httpErr: make(chan error, 1)}
	var err error
	if a.Store, err = store.Open(cfg.Database.Driver, cfg.Database.DSN); err != nil {
		return nil, err
	}
	if a.Temporal, err = worker.Dial(cfg.Temporal, o.Logger); err != nil {
		a.Store.Close()
		return nil, err
	}
	a.Service = &relay.Service{Store: a.Store, Temporal: a.Temporal, TaskQueue: cfg.Temporal.TaskQueue, EagerStart: o.Work}

	if o.Work {
		acts := activities.New(a.Store, cfg.Delivery.Policy, cfg.Delivery.Timeout, o.Logger)
		a.worker = worker.New(a.Temporal, cfg.Temporal.TaskQueue, acts)
		if err := a.worker.Start(); err != nil {
			a.Stop(ctx)
			return nil, fmt.Errorf("start worker: %w", err)
		}
		o.Logger.Info("worker started", "task_queue", cfg.Temporal.TaskQueue, "namespace", cfg.Temporal.Namespace)
		if err := worker.EnsureCommissionReportSchedule(ctx, a.Temporal, cfg.Temporal.TaskQueue); err != nil {
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
		a.http = &http.Server{
			Handler: server.New(server.Options{
				Service: a.Service, AdminTokens: cfg.Admin.Tokens, MaxBodyBytes: cfg.HTTP.MaxBodyBytes,
				Postback: cfg.Postback, Logger: o.Logger, Sink: a.Sink,
			}),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
		}
		go func() {
			if err := a.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.httpErr <- err
			}
		}()
		o.Logger.Info("HTTP API listening", "addr", a.Addr)
	}
	return a, nil
}

// Err reports a failure of the HTTP server after start.
func (a *App) Err() <-chan error { return a.httpErr }

// Stop drains the HTTP server, stops the worker and closes connections.
func (a *App) Stop(ctx context.Context) {
	if a.http != nil {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_ = a.http.Shutdown(sctx)
		cancel()
	}
	if a.worker != nil {
		a.worker.Stop()
	}
	if a.Temporal != nil {
		a.Temporal.Close()
	}
	if a.Store != nil {
		_ = a.Store.Close()
	}
}
