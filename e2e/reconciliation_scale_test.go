package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/money"
	"github.com/affrelay/affrelay/store"
)

// TestReconciliationScale is `make bench-reconciliation`: a file of AFFRELAY_BENCH_RECONCILIATION_ROWS rows
// (players × 30 days of October, 1% needing a correction) against the same real time, seeded straight into
// the database. It reports the time from the first byte uploaded to the batch completed, the peak RSS of this
// process (the whole affrelay: API, worker and the test's streaming generator) during that time, its CPU
// time, and the batch's Temporal history. AFFRELAY_BENCH_DATABASE picks sqlite (default) or postgres.
func TestReconciliationScale(t *testing.T) {
	rows, _ := strconv.Atoi(os.Getenv("AFFRELAY_BENCH_RECONCILIATION_ROWS"))
	if rows <= 0 {
		t.Skip("set AFFRELAY_BENCH_RECONCILIATION_ROWS (make bench-reconciliation)")
	}
	driver := os.Getenv("AFFRELAY_BENCH_DATABASE")
	if driver == "" {
		driver = "sqlite"
	}
	e := startApp(t, driver, shortPolicy(3))
	m, aff := reconSetup(e)

	// Real time: one revenue event per player-day, NGR 10.00 to 10.96.
	seedStart := time.Now()
	day := "strftime('%Y-%m-%d 12:00:00+00:00', '2026-10-01', '+' || (n % 30) || ' days')"
	seq := "(WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < ?) SELECT n FROM seq)"
	player := "'p' || printf('%07d', n / 30)"
	if driver == "postgres" {
		day = "timestamptz '2026-10-01 12:00:00+00' + (n % 30) * interval '1 day'"
		seq = "(SELECT generate_series(0, ?) AS n)"
		player = "'p' || lpad((n / 30)::text, 7, '0')"
	}
	require.NoError(t, e.app.Store.DB.Exec(`INSERT INTO conversions (id, integration_id, event_id, event, affiliate_id, player_id,
		amount_minor, currency, occurred_at, workflow_id, created_at)
		SELECT 'cnv_b' || n, ?, 'b' || n, 'revenue', ?, `+player+`, 1000 + n % 97, 'USD', `+day+`, 'bench', `+day+` FROM `+seq+` s`,
		m.integrationID, aff, rows-1).Error)
	if driver == "postgres" {
		// A production database has statistics (autovacuum analyzes a table that grew); without them the
		// planner reads a player's conversions through the wrong index.
		require.NoError(t, e.app.Store.DB.Exec("ANALYZE conversions").Error)
	}
	t.Logf("seeded %d real-time conversions in %s", rows, time.Since(seedStart).Round(time.Millisecond))

	// The file, generated while it is sent: every 100th player-day shows 1.00 more NGR than real time.
	pr, pw := io.Pipe()
	go func() {
		w := io.Writer(pw)
		fmt.Fprint(w, reconHeader)
		var b strings.Builder
		for n := range rows {
			ngr := int64(1000 + n%97)
			if n%100 == 0 {
				ngr += 100
			}
			fmt.Fprintf(&b, "2026-10-%02d,p%07d,,,0,%s,USD\n", 1+n%30, n/30, money.Format(ngr, "USD"))
			if b.Len() > 64<<10 {
				_, _ = io.WriteString(w, b.String())
				b.Reset()
			}
		}
		_, _ = io.WriteString(w, b.String())
		pw.Close()
	}()
	require.NoError(t, os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)) // reset the peak RSS
	cpuStart := processCPU(t)
	start := time.Now()
	up := e.do("POST", "/v1/reconciliation/batches", map[string]string{"X-API-Key": m.key, "Content-Type": "text/csv"}, pr)
	require.Equal(t, http.StatusAccepted, up.Status, up.Raw)
	accepted := time.Since(start)
	var rep response
	eventually(t, 30*time.Minute, "the batch completed", func() bool {
		rep = e.do("GET", "/v1/reconciliation/batches/"+up.Body["batch_id"].(string), map[string]string{"X-API-Key": m.key}, nil)
		return rep.Body["status"] == store.BatchCompleted
	})
	total := time.Since(start)
	cpu := processCPU(t) - cpuStart
	counts := rep.Body["counts"].(map[string]any)
	require.Equal(t, float64(rows/100+min(rows%100, 1)), counts["corrected"], rep.Raw)

	desc, err := e.app.Temporal.DescribeWorkflowExecution(context.Background(), up.Body["workflow_id"].(string), "")
	require.NoError(t, err)
	info := desc.GetWorkflowExecutionInfo()
	t.Logf("RESULT %s: %d rows (%d corrected) accepted (staged) in %s, reconciled end to end in %s; process CPU %s; peak RSS %s; history %d events, %d bytes",
		driver, rows, int64(counts["corrected"].(float64)), accepted.Round(time.Millisecond), total.Round(time.Millisecond),
		cpu.Round(10*time.Millisecond), peakRSS(t), info.GetHistoryLength(), info.GetHistorySizeBytes())
}

// processCPU is the CPU time this process has used (user and system): on a shared machine it varies less with
// the others' load than the wall time does. The database server's and Temporal's are not in it.
func processCPU(t *testing.T) time.Duration {
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS reads this process's peak resident set size since the last reset (VmHWM).
func peakRSS(t *testing.T) string {
	status, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
