package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSmoke runs the whole benchmark with small counts: it checks the counting, not the speed.
func TestSmoke(t *testing.T) {
	temporalPath := os.Getenv("AFFRELAY_TEST_TEMPORAL_PATH")
	if temporalPath == "" {
		temporalPath, _ = filepath.Abs("../../bin/temporal")
	}
	if _, err := os.Stat(temporalPath); err != nil {
		t.Fatalf("the Temporal CLI is needed at %s (make bin/temporal, or set AFFRELAY_TEST_TEMPORAL_PATH)", temporalPath)
	}
	binary := filepath.Join(t.TempDir(), "affrelay")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", binary, "../affrelay")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))

	o, err := parseFlags([]string{
		"--temporal-path", temporalPath, "--variant", "smoke=" + binary, "--rates", "5", "--duration", "2s",
		"--concurrency", "3", "--closed", "12", "--baseline", "6", "--dead", "5", "--drain", "60s", "--dir", t.TempDir(),
	})
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
	require.NotNil(t, v.Dead)
	require.EqualValues(t, 5, v.Dead.Waiting)

	var table, line bytes.Buffer
	rep.print(&table)
	require.Contains(t, table.String(), "activity-eager")
	require.NoError(t, rep.writeJSON(&line, ""))
	raw, ok := strings.CutPrefix(strings.TrimSpace(line.String()), "BENCH_JSON ")
	require.True(t, ok)
	var back report
	require.NoError(t, json.Unmarshal([]byte(raw), &back))
	require.Equal(t, rep.Variants[0].Phases[1].Delivered, back.Variants[0].Phases[1].Delivered)
}

func TestFlags(t *testing.T) {
	o, err := parseFlags([]string{"--variant", "a=bin/x,AFFRELAY_DELIVERY_FIRST_ATTEMPT_TIMEOUT=0", "--rates", "10, 50"})
	require.NoError(t, err)
	require.Equal(t, []variant{{label: "a", binary: "bin/x", env: []string{"AFFRELAY_DELIVERY_FIRST_ATTEMPT_TIMEOUT=0"}}}, o.variants)
	require.Equal(t, []float64{10, 50}, o.rates)
	for _, bad := range [][]string{{"--variant", "nolabel"}, {"--variant", "a=b,NOTKV"}, {"--rates", "0"}, {"--concurrency", "0"}, {"--db", "postgres", "--postgres-dsn", ""}} {
		_, err := parseFlags(bad)
		require.Error(t, err, bad)
	}
}
