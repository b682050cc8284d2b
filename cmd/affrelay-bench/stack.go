package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/affrelay/affrelay/internal/stack"
	"github.com/affrelay/affrelay/store"
)

// affrelayProcess is `affrelay all` run as its own process, so its CPU and memory are its own.
type affrelayProcess struct {
	stack.Process
	base  string
	admin string
	dsn   string
	db    string
	// schema is the PostgreSQL schema made for this run ("" on SQLite).
	schema string
}

const benchAdminToken = "bench-admin-token-0123456789abcdef"

// benchSecretsKey seals the bench stack's secrets at rest (a throwaway key, like the token).
const benchSecretsKey = "bench:YmVuY2gtc2VjcmV0cy1rZXktMDEyMzQ1Njc4OWFiY2Q="

// startAffrelay migrates a fresh database and starts `affrelay all` against the dev server.
func startAffrelay(ctx context.Context, v variant, temporalAddr, dir string, o options) (*affrelayProcess, error) {
	port, err := stack.FreePort()
	if err != nil {
		return nil, err
	}
	p := &affrelayProcess{base: fmt.Sprintf("http://127.0.0.1:%d", port), admin: benchAdminToken, db: o.database}
	switch o.database {
	case "sqlite":
		p.dsn = filepath.Join(dir, "affrelay-"+v.label+".db")
	case "postgres":
		p.schema = "bench_" + v.label + "_" + strconv.FormatInt(time.Now().UnixNano(), 36)
		if p.dsn, err = postgresSchema(o.postgresDSN, p.schema); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("--db %q: sqlite or postgres", o.database)
	}
	env := append(os.Environ(),
		"AFFRELAY_HTTP_ADDR=127.0.0.1:"+strconv.Itoa(port),
		"AFFRELAY_TEMPORAL_ADDRESS="+temporalAddr,
		"AFFRELAY_TEMPORAL_TASK_QUEUE=bench-"+v.label+"-"+strconv.FormatInt(time.Now().UnixNano(), 36),
		"AFFRELAY_DATABASE_DRIVER="+o.database,
		"AFFRELAY_DATABASE_DSN="+p.dsn,
		"AFFRELAY_ADMIN_TOKEN="+benchAdminToken,
		"AFFRELAY_SECRETS_KEYS="+benchSecretsKey, "AFFRELAY_SECRETS_CURRENT_KEY=bench",
		// The receiver (and the dead one) are on the loopback, which outbound traffic may not reach otherwise.
		"AFFRELAY_DELIVERY_ALLOW_PRIVATE_TARGETS=127.0.0.1",
		// The load is the point: lift the per-key rate limit.
		"AFFRELAY_RATE_LIMIT_RPS=1000000", "AFFRELAY_RATE_LIMIT_BURST=1000000",
	)
	env = append(env, v.env...)
	logPath := filepath.Join(dir, "affrelay-"+v.label+".log")
	migrate := exec.CommandContext(ctx, v.binary, "migrate")
	migrate.Env = env
	if out, err := migrate.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s migrate: %w\n%s", v.binary, err, out)
	}
	p.Process = stack.Process{Path: v.binary, Args: []string{"all"}, Env: env, LogPath: logPath}
	if err := p.Start(); err != nil {
		return nil, err
	}
	if err := stack.WaitReady(ctx, p.base+"/readyz", 60*time.Second); err != nil {
		p.Stop()
		return nil, fmt.Errorf("affrelay did not become ready (see %s): %w", logPath, err)
	}
	return p, nil
}

// dropSchema drops the run's PostgreSQL schema, if it made one.
func (p *affrelayProcess) dropSchema(dsn string) error {
	if p.schema == "" {
		return nil
	}
	db, err := store.Open("postgres", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.DropSchema(context.Background(), p.schema)
}

// postgresSchema creates a fresh schema and returns a DSN that uses it.
func postgresSchema(dsn, schema string) (string, error) {
	db, err := store.Open("postgres", dsn)
	if err != nil {
		return "", err
	}
	defer db.Close()
	if err := db.CreateSchema(context.Background(), schema); err != nil {
		return "", err
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema, nil
}

// tenant is an integration and an affiliate whose postback endpoint points at receiverURL.
type tenant struct {
	apiKey, integrationID, affiliateID string
}

func setupTenant(base, token, receiverURL string) (tenant, error) {
	var t tenant
	r, err := stack.Admin{Base: base, Token: token}.Call("POST", "/v1/admin/integrations", map[string]any{"name": "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)})
	if err != nil {
		return t, err
	}
	t.apiKey, t.integrationID = r["api_key"].(string), r["id"].(string)
	r, err = stack.Admin{Base: base, Token: token}.Call("POST", "/v1/admin/affiliates", map[string]any{
		"name": "Bench Affiliate", "email": "bench@aff.example", "plan": map[string]any{"type": "cpa", "amount": "200.00", "currency": "USD"},
	})
	if err != nil {
		return t, err
	}
	t.affiliateID = r["id"].(string)
	_, err = stack.Admin{Base: base, Token: token}.Call("POST", "/v1/admin/affiliates/"+t.affiliateID+"/postback-endpoints", map[string]any{
		"url": receiverURL + "/pb?tx={transaction_id}&cid={click_id}&p={payout}&cur={currency}", "method": "GET", "events": []string{"ftd"},
	})
	return t, err
}
