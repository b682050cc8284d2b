package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/affrelay/affrelay/internal/stack"
	"github.com/affrelay/affrelay/store"
)

// TestSmoke runs the whole benchmark with small counts: it checks the counting, not the speed.
func TestSmoke(t *testing.T) {
	rep, _ := smoke(t, "--dead", "5")
	require.NotNil(t, rep.Variants[0].Dead)
	require.EqualValues(t, 5, rep.Variants[0].Dead.Waiting)
}

// TestSmokeCluster is TestSmoke against the Temporal server on PostgreSQL databases of its own (about 15 s
// more than the dev server). It needs the server binary (make bin/temporal-server, or
// AFFRELAY_TEST_TEMPORAL_SERVER_PATH) and AFFRELAY_TEST_POSTGRES_DSN's server; without either it is skipped.
func TestSmokeCluster(t *testing.T) {
	server := os.Getenv("AFFRELAY_TEST_TEMPORAL_SERVER_PATH")
	if server == "" {
		server, _ = filepath.Abs("../../bin/temporal-server")
	}
	dsn := os.Getenv("AFFRELAY_TEST_POSTGRES_DSN")
	if _, err := os.Stat(server); err != nil || dsn == "" {
		t.Skipf("needs the Temporal server at %s (make bin/temporal-server) and AFFRELAY_TEST_POSTGRES_DSN", server)
	}
	sqlTool := filepath.Join(filepath.Dir(server), "temporal-sql-tool")
	// The schema of the server's own version, from the module cache.
	version, err := exec.Command(server, "--version").Output()
	require.NoError(t, err)
	module, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "mod", "download", "-json",
		"go.temporal.io/server@v"+strings.TrimPrefix(strings.TrimSpace(string(version)), "temporal version ")).Output()
	require.NoError(t, err)
	var m struct{ Dir string }
	require.NoError(t, json.Unmarshal(module, &m))
	maintenance, err := url.Parse(dsn)
	require.NoError(t, err)
	maintenance.Path = "/postgres"
	rep, o := smoke(t, "--temporal", "cluster", "--temporal-server", server, "--temporal-sql-tool", sqlTool,
		"--temporal-schema", filepath.Join(m.Dir, "schema", "postgresql", "v12"), "--shards", "2",
		"--deploy-dir", "../../deploy/temporal", "--temporal-postgres-dsn", maintenance.String(),
		// Its own databases: another checkout's test run may use the same server at the same time.
		"--temporal-database", "temporal_bench_smoke_"+strconv.FormatInt(time.Now().UnixNano(), 36))
	require.Contains(t, rep.Temporal, "PostgreSQL")
	var dbCPU float64
	for _, ph := range rep.Variants[0].Phases {
		dbCPU += ph.CPUTemporalDBMS
	}
	require.Positive(t, dbCPU, "the CPU of Temporal's PostgreSQL backends is read")
	// Kept with the logs (--dir); the test's own.
	require.NoError(t, o.cluster.DropDatabases())
}

// smoke runs the benchmark with small counts and extra flags, and checks its counts.
func smoke(t *testing.T, extra ...string) (report, options) {
	o, err := parseFlags(append([]string{
		"--temporal-path", temporalPath(t), "--variant", "smoke=" + buildAffrelay(t), "--rates", "5", "--duration", "2s",
		"--concurrency", "3", "--closed", "12", "--baseline", "6", "--drain", "60s", "--dir", t.TempDir(),
	}, extra...))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := run(ctx, o)
	require.NoError(t, err)

	require.Len(t, rep.Baselines, len(baselineKinds))
	for _, b := range rep.Baselines {
		require.Equal(t, 6, b.Count, b.Kind)
		require.Zero(t, b.FailedWorkflows, b.Kind)
		require.Positive(t, b.PerSecond, b.Kind)
	}
	require.Len(t, rep.Floors, 1)
	require.Equal(t, 10, rep.Floors[0].Events)
	require.Equal(t, 10, rep.Floors[0].Arrived)
	require.Zero(t, rep.Floors[0].Failed)
	require.Len(t, rep.Variants, 1)
	v := rep.Variants[0]
	require.Empty(t, v.Error)
	require.Len(t, v.Phases, 2)
	for _, ph := range v.Phases {
		require.Empty(t, ph.FirstError, ph.Name)
		require.Equal(t, ph.Events, ph.Accepted, ph.Name)
		require.Equal(t, ph.Events, ph.Delivered, ph.Name)
		require.Zero(t, ph.Duplicates, ph.Name)
		require.Positive(t, ph.PeakRSSMB, ph.Name)
		require.Equal(t, min(ph.Events, eagerSample), ph.EagerChecked, ph.Name)
		require.Positive(t, ph.EagerStarts, "%s: some conversion started eagerly", ph.Name)
		for _, name := range []string{"authenticate", "submit", "audit"} {
			require.EqualValues(t, ph.Events, ph.AckPhases[name].Calls, "%s: every postback's %s is timed", ph.Name, name)
			require.Positive(t, ph.AckPhases[name].P99, ph.Name)
		}
	}
	require.Equal(t, 10, v.Phases[0].Events)
	require.Equal(t, 12, v.Phases[1].Events)
	require.NotNil(t, v.History)
	require.Equal(t, 1, v.History.WorkflowTasks, "the happy path is one workflow task")
	require.Zero(t, v.History.Children)
	require.True(t, v.History.Eager, "the conversion's first workflow task came with its start")
	require.NotNil(t, v.NoopBeside, "a no-op is measured beside the closed loop")
	require.Equal(t, 6, v.NoopBeside.Count)
	require.Zero(t, v.NoopBeside.FailedWorkflows)
	require.Positive(t, v.CPUToNoopBeside)

	var table, line bytes.Buffer
	rep.print(&table)
	require.Contains(t, table.String(), "activity-eager")
	require.NoError(t, rep.writeJSON(&line, ""))
	raw, ok := strings.CutPrefix(strings.TrimSpace(line.String()), "BENCH_JSON ")
	require.True(t, ok)
	var back report
	require.NoError(t, json.Unmarshal([]byte(raw), &back))
	require.Equal(t, rep.Variants[0].Phases[1].Delivered, back.Variants[0].Phases[1].Delivered)
	return rep, o
}

func TestFlags(t *testing.T) {
	o, err := parseFlags([]string{"--variant", "a=bin/x,AFFRELAY_DELIVERY_FIRST_ATTEMPT_TIMEOUT=0", "--rates", "10, 50"})
	require.NoError(t, err)
	require.Equal(t, []variant{{label: "a", binary: "bin/x", env: []string{"AFFRELAY_DELIVERY_FIRST_ATTEMPT_TIMEOUT=0"}}}, o.variants)
	require.Equal(t, []float64{10, 50}, o.rates)
	require.Nil(t, o.cluster, "the dev server unless --temporal cluster")

	o, err = parseFlags([]string{"--temporal", "cluster", "--temporal-schema", "/schema", "--shards", "4"})
	require.NoError(t, err)
	require.Equal(t, "/schema", o.cluster.SchemaDir)
	require.Equal(t, 4, o.cluster.Shards)
	require.Equal(t, "temporal_bench", o.cluster.DBPrefix)
	require.Equal(t, localPostgres, o.cluster.PostgresDSN)

	for _, bad := range [][]string{{"--variant", "nolabel"}, {"--variant", "a=b,NOTKV"}, {"--rates", "0"}, {"--concurrency", "0"}, {"--db", "postgres", "--postgres-dsn", ""},
		{"--temporal", "cloud"}, {"--temporal", "cluster"}, {"--temporal", "cluster", "--temporal-schema", "/s", "--temporal-address", "127.0.0.1:7233"}} {
		_, err := parseFlags(bad)
		require.Error(t, err, bad)
	}
}

// TestPostgresSchemaIsDropped runs the benchmark on PostgreSQL without --dir: the schema it made is gone after.
func TestPostgresSchemaIsDropped(t *testing.T) {
	dsn := os.Getenv("AFFRELAY_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("needs AFFRELAY_TEST_POSTGRES_DSN")
	}
	label := "drop" + strconv.FormatInt(time.Now().UnixNano(), 36)
	o, err := parseFlags([]string{"--temporal-path", temporalPath(t), "--variant", label + "=" + buildAffrelay(t),
		"--db", "postgres", "--postgres-dsn", dsn, "--rates", "", "--closed", "3", "--concurrency", "1", "--baseline", "0"})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := run(ctx, o)
	require.NoError(t, err)
	require.Empty(t, rep.Variants[0].Error)
	require.Equal(t, 3, rep.Variants[0].Phases[0].Delivered)

	db, err := store.Open("postgres", dsn)
	require.NoError(t, err)
	defer db.Close()
	var left int64
	require.NoError(t, db.DB.Raw("SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE ?", "bench_"+label+"_%").Scan(&left).Error)
	require.Zero(t, left)
}

// temporalPath is the Temporal CLI the tests start dev servers with.
func temporalPath(t *testing.T) string {
	path := os.Getenv("AFFRELAY_TEST_TEMPORAL_PATH")
	if path == "" {
		path, _ = filepath.Abs("../../bin/temporal")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the Temporal CLI is needed at %s (make bin/temporal, or set AFFRELAY_TEST_TEMPORAL_PATH)", path)
	}
	return path
}

// buildAffrelay builds the affrelay binary the benchmark runs.
func buildAffrelay(t *testing.T) string {
	binary := filepath.Join(t.TempDir(), "affrelay")
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", binary, "../affrelay").CombinedOutput()
	require.NoError(t, err, string(out))
	return binary
}

// TestEagerStartIsRecognised checks the history test the benchmark reports eager starts by, on both kinds of start.
func TestEagerStartIsRecognised(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dev, err := stack.StartDevServer(ctx, temporalPath(t), t.TempDir())
	require.NoError(t, err)
	defer dev.Stop()
	cl, err := stack.Dial(dev.Addr)
	require.NoError(t, err)
	defer cl.Close()
	w := worker.New(cl, "eager-check", worker.Options{})
	w.RegisterWorkflowWithOptions(bareNoop, workflow.RegisterOptions{Name: "BareNoop"})
	require.NoError(t, w.Start())
	defer w.Stop()
	for _, eager := range []bool{true, false} {
		id := fmt.Sprintf("eager-check-%t", eager)
		run, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "eager-check", EnableEagerStart: eager}, "BareNoop")
		require.NoError(t, err)
		require.NoError(t, run.Get(ctx, nil))
		h, err := inspectWorkflow(dev.Addr, id)
		require.NoError(t, err)
		require.Equal(t, eager, h.Eager, "started with EnableEagerStart %t", eager)
	}
}
