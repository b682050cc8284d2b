// Command affrelay runs the affiliate postback relay: serve | worker | all | dev | migrate | ops.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/affrelay/affrelay/app"
	"github.com/affrelay/affrelay/config"
	"github.com/affrelay/affrelay/opscli"
	"github.com/affrelay/affrelay/store"
)

const usage = `affrelay — affiliate postback and webhook relay on Temporal

Usage: affrelay <command> [--config affrelay.yaml] [flags]

Commands:
  serve     run the HTTP API
  worker    run the Temporal worker (workflows and activities)
  all       run the HTTP API and the worker in one process
  dev       start a local Temporal dev server with its UI, SQLite, a demo setup, API and worker (what 'make run' runs)
  migrate   apply the database schema migrations this database has not had yet
  ops       operate a running affrelay through its admin API ('affrelay ops help')

Configuration: defaults < affrelay.yaml < AFFRELAY_* environment < flags. See docs/configuration.md.
`

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd := os.Args[1]
	if cmd == "ops" {
		os.Exit(ops(os.Args[2:]))
	}
	fs := pflag.NewFlagSet(cmd, pflag.ContinueOnError)
	config.Flags(fs)
	if err := fs.Parse(os.Args[2:]); err != nil {
		os.Exit(2)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, err := config.Load(fs)
	if err == nil {
		err = run(ctx, cmd, cfg, logger)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "affrelay %s: %v\n", cmd, err)
		os.Exit(1)
	}
}

// ops runs `affrelay ops …`, which talks to a running API and reads no configuration file.
func ops(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := opscli.Run(ctx, args, opscli.Env{Getenv: os.Getenv, Out: os.Stdout, Err: os.Stderr})
	switch {
	case errors.Is(err, opscli.ErrUsage):
		return 2
	case err != nil:
		fmt.Fprintf(os.Stderr, "affrelay ops: %v\n", err)
		return 1
	}
	return 0
}

func run(ctx context.Context, cmd string, cfg config.Config, logger *slog.Logger) error {
	switch cmd {
	case "serve":
		return runApp(ctx, cfg, app.Options{Serve: true, Logger: logger})
	case "worker":
		return runApp(ctx, cfg, app.Options{Work: true, Logger: logger})
	case "all":
		return runApp(ctx, cfg, app.Options{Serve: true, Work: true, Logger: logger})
	case "dev":
		return runDev(ctx, cfg, logger)
	case "migrate":
		return migrate(ctx, cfg)
	default:
		return fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
	}
}

func runApp(ctx context.Context, cfg config.Config, o app.Options) error {
	if err := cfg.Validate(false); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	a, err := app.Start(ctx, cfg, o)
	if err != nil {
		return err
	}
	defer a.Stop(context.Background())
	select {
	case <-ctx.Done():
		o.Logger.Info("shutting down")
		return nil
	case err := <-a.Err():
		return err
	}
}

func migrate(ctx context.Context, cfg config.Config) error {
	if err := cfg.Validate(true); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	s, err := store.Open(cfg.Database.Driver, cfg.Database.DSN)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		return err
	}
	version, _, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("migrated the %s database to schema version %d\n", cfg.Database.Driver, version)
	return nil
}
