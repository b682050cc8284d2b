// Command affrelay-bench measures affrelay's conversion path under load against the engine's own floor.
//
// It starts its own stack (a Temporal dev server on a file SQLite database with WAL — or, with --temporal
// cluster, the Temporal server on PostgreSQL databases of its own — and `affrelay all` as a separate process
// per variant, so their CPU and memory are read from /proc) and its own receiver on 127.0.0.1, sends distinct
// ftd postbacks open-loop at fixed rates and closed-loop at a fixed concurrency, and measures, on the same
// Temporal server in the same run, bare-SDK workflows for comparison. It prints a table
// and one JSON line. Every loop is bounded in count and time, and all traffic stays on the loopback.
//
//	affrelay-bench [--variant label=path/to/affrelay[,KEY=VALUE...]]... [--rates 10,50] [--duration 20s]
//	               [--concurrency 20] [--closed 600] [--baseline 400] [--dead 10000] [--db sqlite|postgres]
//	               [--temporal dev|cluster --temporal-schema DIR [--shards 16] ...]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/affrelay/affrelay/internal/stack"
)

// localPostgres is this machine's PostgreSQL maintenance database, where --temporal cluster makes its databases.
const localPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

type options struct {
	temporalPath, temporalAddr string
	temporalPID                int
	cluster                    *stack.Cluster        // nil: the dev server
	temporalDB                 func() ([]int, error) // the cluster's PostgreSQL backends; nil: not measured
	variants                   []variant
	rates                      []float64
	duration, drain            time.Duration
	concurrency, closed        int
	baseline, dead             int
	database, postgresDSN      string
	jsonPath, dir              string
	// keep: --dir was given, so databases (SQLite files, PostgreSQL schemas and databases) stay with the logs.
	keep bool
}

// variant is one affrelay binary with its extra environment, measured under the same load.
type variant struct {
	label, binary string
	env           []string
}

func parseVariant(s string) (variant, error) {
	label, rest, ok := strings.Cut(s, "=")
	if !ok || label == "" {
		return variant{}, fmt.Errorf("--variant %q: want label=path[,KEY=VALUE...]", s)
	}
	parts := strings.Split(rest, ",")
	v := variant{label: label, binary: parts[0]}
	for _, kv := range parts[1:] {
		if !strings.Contains(kv, "=") {
			return variant{}, fmt.Errorf("--variant %q: %q is not KEY=VALUE", s, kv)
		}
		v.env = append(v.env, kv)
	}
	return v, nil
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("affrelay-bench", flag.ContinueOnError)
	fs.StringVar(&o.temporalPath, "temporal-path", "./bin/temporal", "the Temporal CLI that runs the dev server")
	fs.StringVar(&o.temporalAddr, "temporal-address", "", "use this Temporal frontend instead of starting a dev server")
	fs.IntVar(&o.temporalPID, "temporal-pid", 0, "with --temporal-address: the server's process id, to read its CPU")
	temporal := stack.RegisterTemporalFlags(fs, "temporal_bench")
	var variants []string
	fs.Func("variant", "label=path/to/affrelay[,KEY=VALUE...] (repeatable; default affrelay=./bin/affrelay)", func(s string) error {
		variants = append(variants, s)
		return nil
	})
	rates := fs.String("rates", "10,50", "open-loop rates in events per second")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "how long each open-loop rate is sent")
	fs.DurationVar(&o.drain, "drain", 90*time.Second, "how long to wait for the outbound postbacks after each phase")
	fs.IntVar(&o.concurrency, "concurrency", 20, "closed-loop senders (and bare-SDK starters)")
	fs.IntVar(&o.closed, "closed", 600, "closed-loop events")
	fs.IntVar(&o.baseline, "baseline", 400, "workflows per bare-SDK baseline (0: none)")
	fs.IntVar(&o.dead, "dead", 0, "events whose receiver is down, to measure memory with that many deliveries waiting (0: none)")
	fs.StringVar(&o.database, "db", "sqlite", "affrelay's database: sqlite or postgres")
	fs.StringVar(&o.postgresDSN, "postgres-dsn", os.Getenv("AFFRELAY_TEST_POSTGRES_DSN"), "PostgreSQL DSN for --db postgres (a fresh schema is made in it)")
	fs.StringVar(&o.jsonPath, "json", "", "also write the JSON line to this file")
	fs.StringVar(&o.dir, "dir", "", "where databases and logs go (default: a new temporary folder)")
	err := fs.Parse(args)
	if err != nil {
		return o, err
	}
	o.keep = o.dir != ""
	if o.cluster, err = temporal.Cluster(localPostgres); err != nil {
		return o, err
	}
	if o.cluster != nil && o.temporalAddr != "" {
		return o, errors.New("--temporal cluster starts its own server: no --temporal-address")
	}
	if len(variants) == 0 {
		variants = []string{"affrelay=./bin/affrelay"}
	}
	for _, s := range variants {
		v, err := parseVariant(s)
		if err != nil {
			return o, err
		}
		o.variants = append(o.variants, v)
	}
	for _, r := range strings.Split(*rates, ",") {
		if strings.TrimSpace(r) == "" {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if err != nil || f <= 0 || f > 1000 {
			return o, fmt.Errorf("--rates: %q is not a rate from 0 to 1000", r)
		}
		o.rates = append(o.rates, f)
	}
	if o.concurrency < 1 || o.concurrency > 500 || o.closed < 0 || o.closed > 100000 || o.baseline < 0 || o.baseline > 100000 || o.dead < 0 || o.dead > 100000 {
		return o, errors.New("--concurrency is 1..500; --closed, --baseline and --dead are 0..100000")
	}
	if o.duration <= 0 || o.duration > 10*time.Minute {
		return o, errors.New("--duration is at most 10m")
	}
	if o.database == "postgres" && o.postgresDSN == "" {
		return o, errors.New("--db postgres needs --postgres-dsn (or AFFRELAY_TEST_POSTGRES_DSN)")
	}
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err == nil {
		var rep report
		rep, err = run(context.Background(), o)
		if err == nil {
			rep.print(os.Stdout)
			err = rep.writeJSON(os.Stdout, o.jsonPath)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "affrelay-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) (report, error) {
	rep := report{Database: o.database, Temporal: "dev server", Concurrency: o.concurrency, LoadBefore: stack.LoadAverage(), Started: time.Now().UTC()}
	if !o.keep {
		dir, err := os.MkdirTemp("", "affrelay-bench-")
		if err != nil {
			return rep, err
		}
		defer os.RemoveAll(dir)
		o.dir = dir
	}
	switch {
	case o.cluster != nil:
		rep.Temporal = o.cluster.Describe()
		srv, err := o.cluster.Start(ctx, o.dir, o.temporalPath, func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "affrelay-bench: "+format+"\n", args...)
		})
		if srv != nil {
			defer func() {
				srv.Stop()
				// Its databases stay with the logs when --dir is given.
				if !o.keep {
					_ = o.cluster.DropDatabases()
				}
			}()
		}
		if err != nil {
			return rep, err
		}
		o.temporalAddr, o.temporalPID, o.temporalDB = srv.Addr, srv.PID(), o.cluster.BackendPIDs
	case o.temporalAddr == "":
		dev, err := stack.StartDevServer(ctx, o.temporalPath, o.dir)
		if err != nil {
			return rep, err
		}
		defer dev.Stop()
		o.temporalAddr, o.temporalPID = dev.Addr, dev.PID()
	}
	recv, err := startReceiver()
	if err != nil {
		return rep, err
	}
	defer recv.srv.Close()

	for _, kind := range baselineKinds {
		if o.baseline == 0 {
			break
		}
		b, err := runBaseline(o.temporalAddr, o.temporalPID, o.temporalDB, kind, o.concurrency, o.baseline, recv.url)
		if err != nil {
			return rep, fmt.Errorf("baseline %s: %w", kind, err)
		}
		rep.Baselines = append(rep.Baselines, b)
	}
	for _, rate := range o.rates {
		if o.baseline == 0 {
			break
		}
		f, err := runFloor(o.temporalAddr, rate, max(1, int(rate*o.duration.Seconds())), recv, o.drain)
		if err != nil {
			return rep, fmt.Errorf("engine floor at %g/s: %w", rate, err)
		}
		rep.Floors = append(rep.Floors, f)
	}
	for _, v := range o.variants {
		// A variant that fails is reported as failed; the others still run.
		vr, err := runVariant(ctx, o, v, recv)
		if err != nil {
			vr.Error = err.Error()
		}
		rep.Variants = append(rep.Variants, vr)
	}
	rep.LoadAfter = stack.LoadAverage()
	rep.ratios()
	return rep, nil
}

// runVariant starts one affrelay and runs every phase against it.
func runVariant(ctx context.Context, o options, v variant, recv *receiver) (variantResult, error) {
	vr := variantResult{Label: v.label, Env: v.env}
	p, err := startAffrelay(ctx, v, o.temporalAddr, o.dir, o)
	if err != nil {
		return vr, err
	}
	defer func() {
		p.Stop()
		// Its PostgreSQL schema stays with the logs when --dir is given, like the SQLite file.
		if !o.keep {
			if err := p.dropSchema(o.postgresDSN); err != nil {
				fmt.Fprintf(os.Stderr, "affrelay-bench: drop schema %s: %v\n", p.schema, err)
			}
		}
	}()
	t, err := setupTenant(p.base, p.admin, recv.url)
	if err != nil {
		return vr, err
	}
	prefix := fmt.Sprintf("%s-%d", v.label, time.Now().UnixNano())
	// Warm up connections, caches and the worker before measuring.
	newSender(p.base, t, prefix+"-warm").closedLoop(min(o.concurrency, 5), 10)

	for _, rate := range o.rates {
		name := fmt.Sprintf("open %g/s", rate)
		s := newSender(p.base, t, fmt.Sprintf("%s-open%g", prefix, rate))
		n := max(1, int(rate*o.duration.Seconds()))
		vr.Phases = append(vr.Phases, measure(name, o, p, t, recv, func() []sent { return s.openLoop(rate, n) }))
	}
	if o.closed > 0 {
		s := newSender(p.base, t, prefix+"-closed")
		ph := measure(fmt.Sprintf("closed c=%d", o.concurrency), o, p, t, recv, func() []sent { return s.closedLoop(o.concurrency, o.closed) })
		vr.Phases = append(vr.Phases, ph)
		if o.baseline > 0 {
			b, err := runBaseline(o.temporalAddr, o.temporalPID, o.temporalDB, baselineNoop, o.concurrency, o.baseline, recv.url)
			if err != nil {
				return vr, fmt.Errorf("no-op beside the closed loop: %w", err)
			}
			vr.NoopBeside = &b
		}
		if ph.Delivered > 0 {
			vr.History, err = inspectHistory(o.temporalAddr, t.integrationID, prefix+"-closed-0")
			if err != nil {
				return vr, err
			}
		}
	}
	if o.dead > 0 {
		if vr.Dead, err = measureDead(o, p, recv); err != nil {
			return vr, err
		}
	}
	return vr, nil
}

// measure runs one load phase and waits for its deliveries.
func measure(name string, o options, p *affrelayProcess, t tenant, recv *receiver, load func() []sent) phaseResult {
	ph := phaseResult{Name: name}
	recv.mu.Lock()
	dupsBefore := recv.duplicates
	recv.mu.Unlock()
	phasesBefore, phasesErr := scrapePhases(p.base)
	rss := watchRSS(p.PID())
	cpu, dbCPU := meterCPU(p.PID(), o.temporalPID), meterGroup(o.temporalDB)
	sends := load()
	events := make([]string, 0, len(sends))
	var acks []time.Duration
	for _, s := range sends {
		acks = append(acks, s.ack)
		if s.accepted {
			events = append(events, s.event)
			ph.Accepted++
		} else if ph.FirstError == "" {
			ph.FirstError = s.err
		}
	}
	ph.Events = len(sends)
	ph.Delivered = recv.await(events, o.drain)
	cpuPer := cpu.perEvent(len(sends))
	ph.PeakRSSMB = rss.stop()
	ph.CPUAffrelayMS, ph.CPUTemporalMS, ph.CPUTemporalDBMS = cpuPer[0], cpuPer[1], dbCPU.perEvent(len(sends))
	ph.CPUPerEventMS = ph.CPUAffrelayMS + ph.CPUTemporalMS + ph.CPUTemporalDBMS
	ph.AckP50, ph.AckP99 = percentile(acks, 50), percentile(acks, 99)
	if phasesErr == nil {
		var phasesAfter phaseBuckets
		if phasesAfter, phasesErr = scrapePhases(p.base); phasesErr == nil {
			ph.AckPhases = phasesAfter.since(phasesBefore)
		}
	}
	if phasesErr != nil && ph.FirstError == "" {
		ph.FirstError = "ack phases: " + phasesErr.Error()
	}
	var e2e []time.Duration
	first, last := time.Time{}, time.Time{}
	for _, s := range sends {
		if first.IsZero() || s.at.Before(first) {
			first = s.at
		}
		if at, ok := recv.arrival(s.event); ok {
			e2e = append(e2e, at.Sub(s.at))
			if at.After(last) {
				last = at
			}
		}
	}
	ph.E2EP50, ph.E2EP95, ph.E2EP99 = percentile(e2e, 50), percentile(e2e, 95), percentile(e2e, 99)
	if ph.Delivered > 0 {
		ph.DeliveredPerSec = float64(ph.Delivered) / last.Sub(first).Seconds()
	}
	recv.mu.Lock()
	ph.Duplicates = recv.duplicates - dupsBefore
	recv.mu.Unlock()
	ph.Load = stack.LoadAverage()
	ph.EagerChecked, ph.EagerStarts = countEager(o.temporalAddr, t.integrationID, events)
	return ph
}

// eagerSample is how many conversions of a phase have their history read to see whether their start was eager.
const eagerSample = 20

// countEager reads the histories of up to eagerSample conversions spread over a phase and counts those whose
// first workflow task came with the start: the SDK asks for an eager start only when a workflow task slot is
// free, so under load some starts go through matching.
func countEager(temporalAddr, integrationID string, events []string) (checked, eager int) {
	step := max(1, len(events)/eagerSample)
	for i := 0; i < len(events) && checked < eagerSample; i += step {
		h, err := inspectHistory(temporalAddr, integrationID, events[i])
		if err != nil {
			continue
		}
		checked++
		if h.Eager {
			eager++
		}
	}
	return checked, eager
}
