// Package e2e runs affrelay end to end: the real Temporal dev server (./bin/temporal), the real HTTP server
// and worker, a real database (SQLite always, PostgreSQL when AFFRELAY_TEST_POSTGRES_DSN is set), real HTTP.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/affrelay/affrelay/app"
	"github.com/affrelay/affrelay/config"
	"github.com/affrelay/affrelay/outbound"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/worker"
)

const adminToken = "e2e-admin-token-0123456789"

var temporalAddr string

// temporalPath is the Temporal CLI the tests run (a test that needs a dev server of its own starts one with it).
var temporalPath string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	path := os.Getenv("AFFRELAY_TEST_TEMPORAL_PATH")
	if path == "" {
		path, _ = filepath.Abs("../bin/temporal")
	}
	if _, err := os.Stat(path); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: the Temporal CLI is needed at %s: run 'make bin/temporal' (or set AFFRELAY_TEST_TEMPORAL_PATH)\n", path)
		return 1
	}
	temporalPath = path
	logFile, err := os.CreateTemp("", "affrelay-e2e-temporal-*.log")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer logFile.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dev, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: path,
		LogLevel:     "error",
		ExtraArgs:    worker.DevServerArgs(), // what `affrelay dev` runs its dev server with
		Stdout:       logFile,
		Stderr:       logFile,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: start Temporal dev server: %v (log: %s)\n", err, logFile.Name())
		return 1
	}
	defer dev.Stop()
	if err := worker.EnsureSearchAttributes(ctx, dev.Client(), "default"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	temporalAddr = dev.FrontendHostPort()
	return m.Run()
}

// stores lists the databases every end-to-end test runs against.
func stores() []string {
	if os.Getenv("AFFRELAY_TEST_POSTGRES_DSN") != "" {
		return []string{"sqlite", "postgres"}
	}
	return []string{"sqlite"}
}

// forEachStore runs the test once per database, each with a fresh affrelay process; tweaks adjusts its config.
func forEachStore(t *testing.T, policy retrypolicy.Policy, test func(t *testing.T, env *testEnv), tweaks ...func(*config.Config)) {
	for _, driver := range stores() {
		t.Run(driver, func(t *testing.T) {
			test(t, startApp(t, driver, policy, tweaks...))
		})
	}
}

// shortPolicy retries quickly so tests see a whole attempt series in seconds.
func shortPolicy(attempts int) retrypolicy.Policy {
	return retrypolicy.Policy{Schedule: []time.Duration{time.Second}, MaxAttempts: attempts, Window: 5 * time.Minute, MaxRetryAfter: 2 * time.Second}
}

type testEnv struct {
	t    testing.TB
	app  *app.App
	base string
	// logs holds everything the app logged, at every level, for tests that check what never appears in logs.
	logs *lockedBuffer
	// clock is the HTTP API's clock: tests move it forward to pass an expiry instead of sleeping until it.
	clock *testClock
}

// testClock is the wall clock plus an offset a test can move forward.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// lockedBuffer is a bytes.Buffer safe for the app's goroutines to write while a test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startApp starts a fresh affrelay process; tweaks adjust its configuration before it starts.
func startApp(t testing.TB, driver string, policy retrypolicy.Policy, tweaks ...func(*config.Config)) *testEnv {
	t.Helper()
	cfg, err := config.Load(nil)
	require.NoError(t, err)
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Temporal.Address = temporalAddr
	cfg.Temporal.TaskQueue = "e2e-" + store.NewID("tq")
	cfg.Admin.Tokens = []string{adminToken}
	cfg.Secrets = config.Secrets{Keys: testSecretsKey, CurrentKey: "k1"}
	cfg.Evidence.SigningKey = testEvidenceKey
	cfg.Delivery.Policy = policy
	cfg.Delivery.Timeout = 2 * time.Second
	// The tests' receivers listen on 127.0.0.1, which outbound requests refuse unless allowed.
	cfg.Delivery.AllowPrivateTargets, err = outbound.ParseAllowlist("127.0.0.1")
	require.NoError(t, err)
	cfg.Database.Driver = driver
	switch driver {
	case "sqlite":
		cfg.Database.DSN = filepath.Join(t.TempDir(), "affrelay.db")
	case "postgres":
		cfg.Database.DSN = postgresSchema(t)
	}
	for _, tweak := range tweaks {
		if tweak != nil {
			tweak(&cfg)
		}
	}
	require.NoError(t, cfg.Validate(false))

	s, err := store.Open(cfg.Database.Driver, cfg.Database.DSN)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(context.Background()))
	require.NoError(t, s.Close())

	logs := &lockedBuffer{}
	logger := slog.New(slog.NewMultiHandler(
		slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}),
		slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}),
	))
	clock := &testClock{}
	a, err := app.Start(context.Background(), cfg, app.Options{Serve: true, Work: true, Logger: logger, Now: clock.Now})
	require.NoError(t, err)
	t.Cleanup(func() { a.Stop(context.Background()) })
	scheme := "http://"
	if cfg.HTTP.TLSCert != "" {
		scheme = "https://"
	}
	return &testEnv{t: t, app: a, base: scheme + a.Addr, logs: logs, clock: clock}
}

// testSecretsKey seals the test apps' secrets at rest.
const testSecretsKey = "k1:ZTJlLXNlY3JldHMta2V5LTAxMjM0NTY3ODlhYmNkZWY="

// postgresSchema makes a fresh schema for one test and returns a DSN that uses it.
func postgresSchema(t testing.TB) string {
	dsn := os.Getenv("AFFRELAY_TEST_POSTGRES_DSN")
	schema := "e2e_" + strings.TrimPrefix(store.NewID("s"), "s_")
	admin, err := store.Open("postgres", dsn)
	require.NoError(t, err)
	require.NoError(t, admin.DB.Exec("CREATE SCHEMA "+schema).Error)
	t.Cleanup(func() {
		admin.DB.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema
}

// response is an HTTP answer with its decoded JSON body.
type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

func (e *testEnv) do(method, path string, header map[string]string, body io.Reader) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, body)
	require.NoError(e.t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := apiClient().Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	r := response{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r.Body)
	return r
}

func (e *testEnv) admin(method, path string, body any) response {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(e.t, err)
		r = bytes.NewReader(b)
	}
	return e.do(method, path, map[string]string{"Authorization": "Bearer " + adminToken, "Content-Type": "application/json"}, r)
}

// setup creates an integration, a CPA affiliate (200.00 USD) and a postback endpoint at sinkURL.
func (e *testEnv) setup(sinkURL string) (apiKey, integrationID, affiliateID string) {
	e.t.Helper()
	r := e.admin("POST", "/v1/admin/integrations", map[string]any{"name": "casino-" + store.NewID("n")})
	require.Equal(e.t, http.StatusCreated, r.Status, r.Raw)
	apiKey, integrationID = r.Body["api_key"].(string), r.Body["id"].(string)
	r = e.admin("POST", "/v1/admin/affiliates", map[string]any{
		"name": "Aff One", "email": "one@aff.example", "plan": map[string]any{"type": "cpa", "amount": "200.00", "currency": "USD"},
	})
	require.Equal(e.t, http.StatusCreated, r.Status, r.Raw)
	affiliateID = r.Body["id"].(string)
	r = e.admin("POST", "/v1/admin/affiliates/"+affiliateID+"/postback-endpoints", map[string]any{
		"url":    sinkURL + "/pb?cid={click_id}&e={event}&tx={transaction_id}&p={payout}&cur={currency}&s1={sub1}&amt={amount}",
		"method": "GET", "events": []string{"ftd", "deposit"},
	})
	require.Equal(e.t, http.StatusCreated, r.Status, r.Raw)
	return apiKey, integrationID, affiliateID
}

func (e *testEnv) postback(apiKey string, q url.Values) response {
	e.t.Helper()
	return e.do("GET", "/v1/postbacks?"+q.Encode(), map[string]string{"X-API-Key": apiKey}, nil)
}

func (e *testEnv) count(model any, where string, args ...any) int64 {
	e.t.Helper()
	var n int64
	require.NoError(e.t, e.app.Store.DB.Model(model).Where(where, args...).Count(&n).Error)
	return n
}

// workflowExists reports whether Temporal has any run of the workflow id.
func (e *testEnv) workflowExists(id string) bool {
	_, err := e.app.Temporal.DescribeWorkflowExecution(context.Background(), id, "")
	return err == nil
}

func (e *testEnv) deliveries(query string) []map[string]any {
	e.t.Helper()
	return e.listing("/v1/admin/deliveries?"+query, "deliveries")
}

// listing GETs an admin listing and returns its items, found under name.
func (e *testEnv) listing(path, name string) []map[string]any {
	e.t.Helper()
	r := e.admin("GET", path, nil)
	require.Equal(e.t, http.StatusOK, r.Status, r.Raw)
	var out []map[string]any
	for _, item := range r.Body[name].([]any) {
		out = append(out, item.(map[string]any))
	}
	return out
}

// loadedWait is the least time eventually allows a condition: CI runs the suite on a few cores shared with
// other work, where a step that takes a second alone can take tens of seconds. What a test asserts is the
// condition, never how soon it came (speed is for benchmarks).
const loadedWait = time.Minute

// eventually polls cond until it holds; timeout says how long it normally takes, and is raised to loadedWait.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	timeout = max(timeout, loadedWait)
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sink is an affiliate tracker: it records requests and answers with the status its script gives.
type sink struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []*http.Request
	status func(n int) int // n is the 1-based request number
}

func newSink(t testing.TB, status func(n int) int) *sink {
	s := &sink{status: status}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, r)
		n, st := len(s.reqs), s.status
		s.mu.Unlock()
		code := st(n)
		w.WriteHeader(code)
		fmt.Fprintf(w, "answer %d to request %d", code, n)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sink) received() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.reqs...)
}

func (s *sink) setStatus(f func(n int) int) {
	s.mu.Lock()
	s.status = f
	s.mu.Unlock()
}

func always(code int) func(int) int { return func(int) int { return code } }

func (e *testEnv) integrationOf(apiKey string) string {
	e.t.Helper()
	in, _, err := e.app.Integrations.Authenticate(context.Background(), apiKey)
	require.NoError(e.t, err)
	return in.ID
}
