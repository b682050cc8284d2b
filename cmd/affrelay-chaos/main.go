// Command affrelay-chaos runs affrelay as real processes on 127.0.0.1 under retrying, duplicating operators'
// senders and failing receivers, kills workers, API replicas, the Temporal server (and restarts PostgreSQL)
// at random moments, and checks that nothing acknowledged was lost and nothing was paid or delivered twice.
// It exits 1 on any difference. See docs/chaos.md.
//
//	affrelay-chaos [--events 10000] [--db postgres|sqlite] [--rate 40] [--postgres-restart] [--seed 1] ...
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/affrelay/affrelay/internal/chaos"
	"github.com/affrelay/affrelay/internal/stack"
)

func parseFlags(args []string) (chaos.Options, string, error) {
	o := chaos.DefaultOptions()
	fs := flag.NewFlagSet("affrelay-chaos", flag.ContinueOnError)
	fs.StringVar(&o.AffrelayPath, "affrelay", o.AffrelayPath, "the affrelay binary")
	fs.StringVar(&o.TemporalPath, "temporal-path", o.TemporalPath, "the Temporal CLI that runs the dev server")
	fs.StringVar(&o.Dir, "dir", "", "where databases and logs go (default: a new temporary folder, removed after a passing run)")
	fs.IntVar(&o.Events, "events", o.Events, "events to send (before duplicates)")
	fs.IntVar(&o.Affiliates, "affiliates", o.Affiliates, "affiliates (a third each CPA, RevShare, hybrid)")
	fs.Float64Var(&o.Rate, "rate", o.Rate, "events per second")
	fs.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "requests in flight at most")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the events and of the faults' moments")
	fs.StringVar(&o.Database, "db", o.Database, "affrelay's database: postgres or sqlite")
	fs.StringVar(&o.PostgresDSN, "postgres-dsn", o.PostgresDSN, "a PostgreSQL server's maintenance DSN; the run's database is made there")
	fs.IntVar(&o.DBConns, "db-conns", o.DBConns, "each affrelay process's PostgreSQL connections (database.max_open_conns)")
	fs.StringVar(&o.DBName, "postgres-database", o.DBName, "the run's PostgreSQL database (dropped and made again)")
	fs.IntVar(&o.WorkerKills, "worker-kills", o.WorkerKills, "kill -9 of a worker")
	fs.IntVar(&o.APIKills, "api-kills", o.APIKills, "kill -9 of an API replica")
	fs.IntVar(&o.TemporalKills, "temporal-kills", o.TemporalKills, "kill -9 of the Temporal server")
	fs.BoolVar(&o.PostgresRestart, "postgres-restart", false, "restart PostgreSQL once, late (pg_ctlcluster; affects everything using it)")
	fs.DurationVar(&o.MaxPause, "max-pause", o.MaxPause, "a killed process is started again after 0.5s plus up to this")
	fs.IntVar(&o.FailPercent, "fail-percent", o.FailPercent, "receivers fail this percentage of calls")
	fs.DurationVar(&o.ConvergeTimeout, "converge-timeout", o.ConvergeTimeout, "how long everything may take to settle after the load")
	temporal := stack.RegisterTemporalFlags(fs, "temporal_chaos")
	jsonPath := fs.String("json", "", "also write the report as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return o, "", err
	}
	var err error
	// Temporal's databases go to the run's PostgreSQL server unless --temporal-postgres-dsn says otherwise.
	if o.Cluster, err = temporal.Cluster(o.PostgresDSN); err != nil {
		return o, "", err
	}
	switch {
	case o.Events < 1 || o.Events > 1_000_000:
		return o, "", errors.New("--events is 1..1000000")
	case o.Rate <= 0 || o.Rate > 1000:
		return o, "", errors.New("--rate is above 0 and at most 1000")
	case o.Affiliates < 3 || o.Affiliates > 1000:
		return o, "", errors.New("--affiliates is 3..1000")
	case o.Concurrency < 1 || o.Concurrency > 2000:
		return o, "", errors.New("--concurrency is 1..2000")
	case o.FailPercent < 0 || o.FailPercent > 90:
		return o, "", errors.New("--fail-percent is 0..90")
	case o.WorkerKills < 0 || o.APIKills < 0 || o.TemporalKills < 0 || o.WorkerKills+o.APIKills+o.TemporalKills > 100:
		return o, "", errors.New("--worker-kills, --api-kills and --temporal-kills are 0 or more, 100 in all at most")
	case o.DBConns < 1 || o.DBConns > 100:
		return o, "", errors.New("--db-conns is 1..100")
	case o.MaxPause <= 0:
		return o, "", errors.New("--max-pause must be positive")
	}
	return o, *jsonPath, nil
}

func main() {
	o, jsonPath, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "affrelay-chaos:", err)
		os.Exit(2)
	}
	os.Exit(run(o, jsonPath))
}

func run(o chaos.Options, jsonPath string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	keep := o.Dir != ""
	if !keep {
		dir, err := os.MkdirTemp("", "affrelay-chaos-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "affrelay-chaos:", err)
			return 1
		}
		o.Dir = dir
	}
	rep, err := chaos.Run(ctx, o)
	if rep != nil {
		rep.Print(os.Stdout)
		if jsonPath != "" {
			if werr := os.WriteFile(jsonPath, []byte(rep.JSON()+"\n"), 0o644); werr != nil && err == nil {
				err = werr
			}
		}
	}
	if err != nil || rep == nil || len(rep.Problems) > 0 {
		if err != nil {
			fmt.Fprintln(os.Stderr, "affrelay-chaos:", err)
		}
		fmt.Fprintln(os.Stderr, "affrelay-chaos: logs and databases kept in", o.Dir)
		return 1
	}
	if !keep {
		os.RemoveAll(o.Dir)
	}
	return 0
}
