// Package chaos runs affrelay as separate real processes on 127.0.0.1 — a Temporal server, two `affrelay
// serve` replicas, two `affrelay worker` processes, PostgreSQL or SQLite — under operators' retrying,
// duplicating senders and failing receivers, kills them with SIGKILL at random moments and restarts them, and
// then checks that nothing acknowledged was lost and nothing was recorded, paid or delivered twice
// (docs/chaos.md). cmd/affrelay-chaos runs it; e2e runs a small one in `make test`.
package chaos

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/affrelay/affrelay/internal/stack"
)

// Options size and shape one run.
type Options struct {
	AffrelayPath string // the affrelay binary
	TemporalPath string // the Temporal CLI that runs the dev server
	Dir          string // databases and logs (kept after a failed run)

	Events      int     // events to send (before duplicates)
	Affiliates  int     // affiliates, a third each CPA, RevShare, hybrid
	Rate        float64 // events per second
	Concurrency int     // requests in flight at most
	Seed        uint64

	Database    string // postgres or sqlite
	PostgresDSN string // a PostgreSQL server's maintenance DSN (database postgres); the run's own database is made there
	// DBConns is each affrelay process's PostgreSQL pool (database.max_open_conns): four processes share the
	// server with everything else on the machine.
	DBConns int
	DBName  string // the run's PostgreSQL database, dropped and made again at start

	WorkerKills, APIKills, TemporalKills int
	PostgresRestart                      bool          // restart PostgreSQL once, late, with pg_ctlcluster
	MaxPause                             time.Duration // a killed process is started again after 0.5 s to MaxPause

	// Cluster, when set, runs the Temporal server with PostgreSQL (the production shape) instead of the dev server.
	Cluster *stack.Cluster

	FailPercent     int           // receivers fail this share of calls
	ConvergeTimeout time.Duration // how long after the load and the faults everything must have settled

	Log io.Writer // progress lines
}

// DefaultOptions are `make chaos`'s.
func DefaultOptions() Options {
	return Options{
		AffrelayPath: "./bin/affrelay", TemporalPath: "./bin/temporal",
		Events: 10000, Affiliates: 24, Rate: 20, Concurrency: 200, Seed: 1,
		DBConns: 8, Database: "postgres", PostgresDSN: "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", DBName: "affrelay_chaos",
		WorkerKills: 3, APIKills: 3, TemporalKills: 1, MaxPause: 5 * time.Second,
		FailPercent: 30, ConvergeTimeout: 20 * time.Minute, Log: os.Stdout,
	}
}

// The delivery settings of the run: a retry schedule of seconds so that it converges, attempts enough that
// a 30% failure rate never exhausts them, a short request timeout that the hanging receivers outlast.
const (
	deliveryTimeout = 2 * time.Second
	receiverHang    = 3 * time.Second
	adminToken      = "chaos-admin-token-0123456789abcdef"
	secretsKey      = "chaos:Y2hhb3Mtc2VjcmV0cy1rZXktMDEyMzQ1Njc4OWFiY2Q="
)

func deliverySettings() []string {
	return []string{
		"AFFRELAY_DELIVERY_RETRY_SCHEDULE=1s,2s,3s",
		"AFFRELAY_DELIVERY_MAX_ATTEMPTS=60",
		"AFFRELAY_DELIVERY_WINDOW=1h",
		"AFFRELAY_DELIVERY_MAX_RETRY_AFTER=3s",
		"AFFRELAY_DELIVERY_TIMEOUT=" + deliveryTimeout.String(),
		"AFFRELAY_DELIVERY_FIRST_ATTEMPT_TIMEOUT=1s",
		"AFFRELAY_DELIVERY_AUTO_DISABLE_AFTER=1000000",
		// The receivers are on the loopback, which outbound traffic may not reach otherwise.
		"AFFRELAY_DELIVERY_ALLOW_PRIVATE_TARGETS=127.0.0.1",
		"AFFRELAY_RATE_LIMIT_RPS=1000000", "AFFRELAY_RATE_LIMIT_BURST=1000000",
	}
}

// temporalServer is the Temporal server the run kills and starts again.
type temporalServer interface {
	Start(ctx context.Context, timeout time.Duration) error
	PID() int
	Kill()
	Stop()
}

// run holds one run's processes and observations.
type run struct {
	o        Options
	log      func(format string, args ...any)
	env      []string
	temporal temporalServer
	addr     string // Temporal frontend
	replicas []*replica
	workers  []*stack.Process
	driver   string
	dsn      string

	apiKey string
	affIDs []string
	kindOf func(int) string
	evs    []event

	op                *operator
	postbacks, hooks  *receiver
	faults            []faultRecord
	faultsMu          sync.Mutex
	lastFaultRecovery time.Time
	// killed are the processes a fault holds down on purpose; the supervisor leaves them alone.
	killed    map[string]bool
	selfExits int
}

type replica struct {
	stack.Process
	base string
}

// Run runs the whole thing and returns its report; the report's Problems list every difference found.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	r := &run{o: o}
	start := time.Now()
	r.log = func(format string, args ...any) {
		fmt.Fprintf(o.Log, "[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	defer r.stopAll()
	if err := r.startStack(ctx); err != nil {
		return nil, err
	}
	if err := r.setup(); err != nil {
		return nil, err
	}
	rep := &Report{Database: o.Database, Events: o.Events, Rate: o.Rate, LoadBefore: stack.LoadAverage(), Temporal: "dev server"}
	if o.Cluster != nil {
		rep.Temporal = o.Cluster.Describe()
	}
	r.evs = generate(o.Seed, o.Events, o.Affiliates, "ev"+strconv.FormatInt(time.Now().Unix(), 36), time.Now())
	r.op = newOperator(r.bases(), r.apiKey, r.affIDs, 10*time.Second)

	loadTime := time.Duration(float64(o.Events) / o.Rate * float64(time.Second))
	r.log("sending %d events at %g/s (about %s) to %d replicas; faults: %d worker kills, %d API kills, %d Temporal kills, PostgreSQL restart: %v",
		o.Events, o.Rate, loadTime.Round(time.Second), len(r.replicas), o.WorkerKills, o.APIKills, o.TemporalKills, o.PostgresRestart)
	faultsDone := make(chan struct{})
	stopSupervising := r.supervise(ctx)
	defer stopSupervising()
	go func() { defer close(faultsDone); r.injectFaults(ctx, loadTime) }()
	loadStart := time.Now()
	stopProgress := r.logProgress(30 * time.Second)
	r.op.run(ctx, r.evs, o.Rate, o.Concurrency)
	stopProgress()
	rep.LoadSeconds = time.Since(loadStart).Seconds()
	r.log("all events sent and answered in %.0fs; waiting for the faults to finish", rep.LoadSeconds)
	<-faultsDone
	rep.Faults = r.faults
	r.faultsMu.Lock()
	rep.SelfExits = r.selfExits
	r.faultsMu.Unlock()
	r.log("converging (at most %s)", o.ConvergeTimeout)
	convergedAt, err := r.converge(ctx)
	if err != nil {
		rep.Problems = append(rep.Problems, err.Error())
	}
	r.op.mu.Lock()
	lastSend := r.op.lastSend
	r.op.mu.Unlock()
	if !convergedAt.IsZero() {
		rep.ConvergeAfterLastFault = convergedAt.Sub(r.lastFaultRecovery).Seconds()
		rep.ConvergeAfterLastSend = convergedAt.Sub(lastSend).Seconds()
	}
	if err := r.check(ctx, rep); err != nil {
		return rep, err
	}
	rep.LoadAfter = stack.LoadAverage()
	return rep, nil
}

// logProgress logs the senders' counts every interval until the returned function is called.
func (r *run) logProgress(interval time.Duration) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				r.op.mu.Lock()
				acked := len(r.op.acked)
				r.op.mu.Unlock()
				r.log("sent %d requests (%d retries), %d events acknowledged", r.op.requests.Load(), r.op.retries.Load(), acked)
			}
		}
	}()
	return func() { close(done) }
}

func (r *run) bases() []string {
	var out []string
	for _, rp := range r.replicas {
		out = append(out, rp.base)
	}
	return out
}

// startStack makes the run's database and starts Temporal, the replicas and the workers.
func (r *run) startStack(ctx context.Context) error {
	o := r.o
	var srv *stack.TemporalServer
	var err error
	if o.Cluster != nil {
		if srv, err = o.Cluster.Start(ctx, o.Dir, o.TemporalPath, r.log); srv != nil {
			r.temporal = srv
		}
	} else {
		if srv, err = stack.NewDevServer(o.TemporalPath, o.Dir, 0); err != nil {
			return err
		}
		r.log("starting the Temporal dev server on %s (data %s)", srv.Addr, filepath.Join(o.Dir, "temporal.db"))
		if err = srv.Start(ctx, 90*time.Second); err == nil {
			r.temporal = srv
		}
	}
	if err != nil {
		return err
	}
	r.addr = srv.Addr

	switch o.Database {
	case "sqlite":
		r.driver, r.dsn = "sqlite", filepath.Join(o.Dir, "affrelay.db")
	case "postgres":
		r.driver = "postgres"
		if r.dsn, err = freshPostgresDatabase(o.PostgresDSN, o.DBName); err != nil {
			return err
		}
	default:
		return fmt.Errorf("database %q: postgres or sqlite", o.Database)
	}
	r.env = append(stack.EnvironWithoutAffrelay(),
		"AFFRELAY_TEMPORAL_ADDRESS="+r.addr, "AFFRELAY_TEMPORAL_TASK_QUEUE=chaos",
		"AFFRELAY_DATABASE_DRIVER="+r.driver, "AFFRELAY_DATABASE_DSN="+r.dsn, "AFFRELAY_ADMIN_TOKEN="+adminToken,
		"AFFRELAY_SECRETS_KEYS="+secretsKey, "AFFRELAY_SECRETS_CURRENT_KEY=chaos",
		"AFFRELAY_DATABASE_MAX_OPEN_CONNS="+strconv.Itoa(o.DBConns))
	r.env = append(r.env, deliverySettings()...)
	migrate := exec.CommandContext(ctx, o.AffrelayPath, "migrate")
	migrate.Env = r.env
	if out, err := migrate.CombinedOutput(); err != nil {
		return fmt.Errorf("affrelay migrate: %w\n%s", err, out)
	}
	for i := range 2 {
		port, err := stack.FreePort()
		if err != nil {
			return err
		}
		rp := &replica{base: fmt.Sprintf("http://127.0.0.1:%d", port)}
		rp.Process = stack.Process{Path: o.AffrelayPath, Args: []string{"serve"}, LogPath: filepath.Join(o.Dir, fmt.Sprintf("serve-%d.log", i+1)),
			Env: append(append([]string{}, r.env...), "AFFRELAY_HTTP_ADDR=127.0.0.1:"+strconv.Itoa(port))}
		r.replicas = append(r.replicas, rp)
		w := &stack.Process{Path: o.AffrelayPath, Args: []string{"worker"}, LogPath: filepath.Join(o.Dir, fmt.Sprintf("worker-%d.log", i+1)), Env: r.env}
		r.workers = append(r.workers, w)
	}
	for _, w := range r.workers {
		if err := w.Start(); err != nil {
			return err
		}
	}
	for _, rp := range r.replicas {
		if err := r.startReplica(ctx, rp); err != nil {
			return err
		}
	}
	r.log("%d serve replicas (%s) and %d workers up on %s", len(r.replicas), strings.Join(r.bases(), ", "), len(r.workers), r.driver)
	return nil
}

func (r *run) startReplica(ctx context.Context, rp *replica) error {
	if err := rp.Start(); err != nil {
		return err
	}
	if err := stack.WaitReady(ctx, rp.base+"/readyz", 2*time.Minute); err != nil {
		return fmt.Errorf("affrelay serve did not become ready (see %s): %w", rp.LogPath, err)
	}
	return nil
}

func (r *run) stopAll() {
	for _, rp := range r.replicas {
		rp.Stop()
	}
	for _, w := range r.workers {
		w.Stop()
	}
	if r.temporal != nil {
		r.temporal.Stop()
	}
	for _, rc := range []*receiver{r.postbacks, r.hooks} {
		if rc != nil {
			rc.close()
		}
	}
}

// freshPostgresDatabase drops and creates the run's database and returns its DSN.
func freshPostgresDatabase(maintenanceDSN, name string) (string, error) {
	if err := stack.RecreatePostgresDatabase(maintenanceDSN, name); err != nil {
		return "", err
	}
	u, err := url.Parse(maintenanceDSN)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// setup creates the integration, the affiliates with their plans and postback endpoints, the webhook
// subscription, and the receivers.
func (r *run) setup() error {
	var err error
	if r.postbacks, err = postbackReceiver(r.o.FailPercent, receiverHang); err != nil {
		return err
	}
	if r.hooks, err = webhookReceiver(r.o.FailPercent, receiverHang); err != nil {
		return err
	}
	admin := stack.Admin{Base: r.replicas[0].base, Token: adminToken}
	in, err := admin.Call("POST", "/v1/admin/integrations", map[string]any{"name": "chaos operator"})
	if err != nil {
		return err
	}
	r.apiKey = in["api_key"].(string)
	kinds := make([]string, r.o.Affiliates)
	for i := range r.o.Affiliates {
		kinds[i] = planKinds[i%len(planKinds)]
		aff, err := admin.Call("POST", "/v1/admin/affiliates", map[string]any{
			"name": fmt.Sprintf("Chaos %s %d", kinds[i], i), "email": fmt.Sprintf("chaos%d@aff.example", i), "plan": planJSON(kinds[i]),
		})
		if err != nil {
			return err
		}
		id := aff["id"].(string)
		r.affIDs = append(r.affIDs, id)
		if _, err := admin.Call("POST", "/v1/admin/affiliates/"+id+"/postback-endpoints", map[string]any{
			"url": r.postbacks.url + "/pb?event_id={event_id}&affiliate={affiliate_id}", "method": "GET",
			"events": []string{"registration", "ftd", "deposit", "revenue", "chargeback"},
		}); err != nil {
			return err
		}
	}
	r.kindOf = func(i int) string { return kinds[i] }
	_, err = admin.Call("POST", "/v1/admin/webhooks", map[string]any{"url": r.hooks.url + "/hooks", "events": []string{"conversion.recorded"}, "description": "chaos back office"})
	return err
}

// faultRecord is one fault as it happened.
type faultRecord struct {
	Kind     string  `json:"kind"`
	Target   string  `json:"target"`
	At       float64 `json:"at_s"`    // seconds into the load
	Down     float64 `json:"down_s"`  // until it was started again
	Recovery float64 `json:"ready_s"` // until it answered again
	Error    string  `json:"error,omitempty"`
}

type fault struct {
	at   time.Duration
	kind string
}

// injectFaults kills and restarts processes at random moments within the load: the workers, the API replicas
// and Temporal the configured number of times, and PostgreSQL once, late. One fault at a time.
func (r *run) injectFaults(ctx context.Context, load time.Duration) {
	rnd := rand.New(rand.NewPCG(r.o.Seed, 7))
	var plan []fault
	add := func(n int, kind string, from, to float64) {
		for range n {
			plan = append(plan, fault{at: time.Duration((from + rnd.Float64()*(to-from)) * float64(load)), kind: kind})
		}
	}
	add(r.o.WorkerKills, "worker", 0.05, 0.85)
	add(r.o.APIKills, "api", 0.05, 0.85)
	add(r.o.TemporalKills, "temporal", 0.2, 0.7)
	if r.o.PostgresRestart && r.o.Database == "postgres" {
		add(1, "postgres", 0.75, 0.85)
	}
	slices.SortFunc(plan, func(a, b fault) int { return cmp.Compare(a.at, b.at) })
	targets := r.faultTargets(ctx)
	start := time.Now()
	kills := map[string]int{}
	for _, f := range plan {
		time.Sleep(time.Until(start.Add(f.at)))
		if ctx.Err() != nil {
			return
		}
		pause := 500*time.Millisecond + time.Duration(rnd.Int64N(int64(r.o.MaxPause)))
		rec := faultRecord{Kind: f.kind, At: time.Since(start).Seconds()}
		var err error
		killed := time.Now()
		if f.kind == "postgres" {
			rec.Target = "PostgreSQL (pg_ctlcluster restart)"
			err = restartPostgres(ctx)
			rec.Down = time.Since(killed).Seconds()
		} else {
			// Targets of a kind take turns, so that each process is killed.
			t := targets[f.kind][kills[f.kind]%len(targets[f.kind])]
			rec.Target = fmt.Sprintf("%s pid %d", t.name, t.pid())
			r.faultsMu.Lock()
			r.killed[t.name] = true
			r.faultsMu.Unlock()
			t.kill()
			time.Sleep(pause)
			rec.Down = time.Since(killed).Seconds()
			err = t.start()
			r.faultsMu.Lock()
			delete(r.killed, t.name)
			r.faultsMu.Unlock()
		}
		kills[f.kind]++
		rec.Recovery = time.Since(killed).Seconds()
		if err != nil {
			rec.Error = err.Error()
		}
		r.log("fault: %s %s killed at %.1fs, started again after %.1fs, ready after %.1fs %s", rec.Kind, rec.Target, rec.At, rec.Down, rec.Recovery, rec.Error)
		r.faultsMu.Lock()
		r.faults = append(r.faults, rec)
		r.lastFaultRecovery = time.Now()
		r.faultsMu.Unlock()
	}
}

// supervise does what the compose stack's restart policy does: an affrelay process that ended by itself —
// one started while Temporal was down exits — is started again a second later, and counted. Processes a
// fault holds down are left alone.
func (r *run) supervise(ctx context.Context) (stop func()) {
	r.killed = map[string]bool{}
	var procs []faultTarget
	for _, kind := range []string{"worker", "api"} {
		procs = append(procs, r.faultTargets(ctx)[kind]...)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Second):
			}
			for _, p := range procs {
				r.faultsMu.Lock()
				down := !r.killed[p.name] && p.pid() == 0
				if down {
					r.selfExits++
				}
				r.faultsMu.Unlock()
				if down {
					r.log("%s ended by itself (see its log); starting it again", p.name)
					if err := p.start(); err != nil {
						r.log("%s: %v", p.name, err)
					}
				}
			}
		}
	}()
	return func() { close(done) }
}

// faultTarget is a process the run kills (SIGKILL) and starts again.
type faultTarget struct {
	name  string
	pid   func() int
	kill  func()
	start func() error
}

// faultTargets lists the processes of each kind of fault.
func (r *run) faultTargets(ctx context.Context) map[string][]faultTarget {
	targets := map[string][]faultTarget{}
	for i, w := range r.workers {
		targets["worker"] = append(targets["worker"], faultTarget{fmt.Sprintf("worker-%d", i+1), w.PID, w.Kill, w.Start})
	}
	for i, rp := range r.replicas {
		targets["api"] = append(targets["api"], faultTarget{fmt.Sprintf("serve-%d", i+1), rp.PID, rp.Kill,
			func() error { return r.startReplica(ctx, rp) }})
	}
	targets["temporal"] = []faultTarget{{"Temporal server", r.temporal.PID, r.temporal.Kill,
		func() error { return r.temporal.Start(ctx, 2*time.Minute) }}}
	return targets
}

// restartPostgres restarts this machine's PostgreSQL cluster (`pg_ctlcluster <version> main restart`).
func restartPostgres(ctx context.Context) error {
	versions, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(versions) != 1 {
		return fmt.Errorf("want exactly one PostgreSQL version under /etc/postgresql: %v", err)
	}
	out, err := exec.CommandContext(ctx, "pg_ctlcluster", "--skip-systemctl-redirect", versions[0].Name(), "main", "restart").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctlcluster restart: %w: %s", err, out)
	}
	return nil
}
