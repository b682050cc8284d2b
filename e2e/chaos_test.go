package e2e

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/internal/chaos"
	"github.com/affrelay/affrelay/internal/stack"
)

// TestChaosSmall is `make chaos` at about 1,000 events (docs/chaos.md): affrelay as real processes — two serve
// replicas and two workers on their own Temporal dev server — under retrying, duplicating senders and
// receivers failing 30% of calls, with three kill -9 of a worker, three of an API replica and one of the
// Temporal server. Every check of the full run applies: each acknowledged event recorded once, every ledger
// equal to the harness's own computation, every (event, target) delivered under one id, nothing pending or
// running, every acknowledged postback in the audit log. PostgreSQL (when AFFRELAY_TEST_POSTGRES_DSN is set,
// else SQLite) is not restarted here: other tests share it.
func TestChaosSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("the chaos run takes about two minutes")
	}
	bin := filepath.Join(t.TempDir(), "affrelay")
	build := exec.Command("go", "build", "-o", bin, "../cmd/affrelay")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	o := chaos.DefaultOptions()
	// Its databases and process logs are kept when it fails.
	dir, err := os.MkdirTemp("", "affrelay-chaos-e2e-")
	require.NoError(t, err)
	o.AffrelayPath, o.TemporalPath, o.Dir = bin, temporalPath, dir
	o.Events, o.Affiliates, o.Rate, o.ConvergeTimeout = 1000, 12, 30, 5*time.Minute
	o.Database, o.PostgresRestart = "sqlite", false
	if dsn := os.Getenv("AFFRELAY_TEST_POSTGRES_DSN"); dsn != "" {
		u, err := url.Parse(dsn)
		require.NoError(t, err)
		u.Path = "/postgres"
		// A name of its own: another checkout's test run may be using the same server at the same time, and each
		// run drops its database first.
		o.Database, o.PostgresDSN, o.DBName = "postgres", u.String(), "affrelay_chaos_e2e_"+strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	o.Log = testLog{t}
	t.Logf("chaos run on %s; PostgreSQL is not restarted in this variant (other tests use it): `make chaos` does", o.Database)
	rep, err := chaos.Run(context.Background(), o)
	require.NoError(t, err, "logs and databases kept in %s", dir)
	var printed strings.Builder
	rep.Print(&printed)
	t.Log(printed.String())
	require.Empty(t, rep.Problems, "logs and databases kept in %s", dir)
	require.Equal(t, o.Events, rep.Acknowledged)
	require.Len(t, rep.Faults, o.WorkerKills+o.APIKills+o.TemporalKills)
	os.RemoveAll(dir)
	if o.Database == "postgres" {
		require.NoError(t, stack.DropPostgresDatabase(o.PostgresDSN, o.DBName))
	}
}

// testLog writes a run's progress lines to the test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
