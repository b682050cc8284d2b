package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/workflows"
)

// devServer is a Temporal CLI dev server this benchmark started, on a file SQLite database with WAL.
type devServer struct {
	cmd  *exec.Cmd
	addr string
}

func startDevServer(ctx context.Context, path, dir string) (*devServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{"server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", strconv.Itoa(port),
		"--db-filename", filepath.Join(dir, "temporal.db"), "--log-level", "error",
		"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"}
	for _, k := range workflows.SearchAttributes {
		args = append(args, "--search-attribute", k.GetName()+"=Keyword")
	}
	logFile, err := os.Create(filepath.Join(dir, "temporal.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	d := &devServer{cmd: cmd, addr: fmt.Sprintf("127.0.0.1:%d", port)}
	deadline := time.Now().Add(90 * time.Second)
	for {
		c, err := dial(d.addr)
		if err == nil {
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			c.Close()
			if err == nil {
				return d, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			d.stop()
			return nil, fmt.Errorf("Temporal dev server did not come up (see %s): %v", logFile.Name(), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (d *devServer) pid() int { return d.cmd.Process.Pid }

func (d *devServer) stop() { stopProcess(d.cmd) }

func dial(addr string) (client.Client, error) {
	return client.Dial(client.Options{HostPort: addr, Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))})
}

// stopProcess ends a child this benchmark started (SIGTERM, then SIGKILL) and waits for it.
func stopProcess(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// affrelayProcess is `affrelay all` run as its own process, so its CPU and memory are its own.
type affrelayProcess struct {
	cmd   *exec.Cmd
	base  string
	admin string
	dsn   string
	db    string
}

const benchAdminToken = "bench-admin-token-0123456789abcdef"

// startAffrelay migrates a fresh database and starts `affrelay all` against the dev server.
func startAffrelay(ctx context.Context, v variant, temporalAddr, dir string, o options) (*affrelayProcess, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p := &affrelayProcess{base: fmt.Sprintf("http://127.0.0.1:%d", port), admin: benchAdminToken, db: o.database}
	switch o.database {
	case "sqlite":
		p.dsn = filepath.Join(dir, "affrelay-"+v.label+".db")
	case "postgres":
		if p.dsn, err = postgresSchema(o.postgresDSN, "bench_"+v.label+"_"+strconv.FormatInt(time.Now().UnixNano(), 36)); err != nil {
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
		// The receiver (and the dead one) are on the loopback, which outbound traffic may not reach otherwise.
		"AFFRELAY_DELIVERY_ALLOW_PRIVATE_TARGETS=127.0.0.1",
		// The load is the point: lift the per-key rate limit.
		"AFFRELAY_RATE_LIMIT_RPS=1000000", "AFFRELAY_RATE_LIMIT_BURST=1000000",
	)
	env = append(env, v.env...)
	logFile, err := os.Create(filepath.Join(dir, "affrelay-"+v.label+".log"))
	if err != nil {
		return nil, err
	}
	migrate := exec.CommandContext(ctx, v.binary, "migrate")
	migrate.Env, migrate.Stdout, migrate.Stderr = env, logFile, logFile
	if err := migrate.Run(); err != nil {
		return nil, fmt.Errorf("%s migrate (see %s): %w", v.binary, logFile.Name(), err)
	}
	p.cmd = exec.Command(v.binary, "all")
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = env, logFile, logFile
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			p.stop()
			return nil, fmt.Errorf("affrelay did not become ready (see %s)", logFile.Name())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *affrelayProcess) pid() int { return p.cmd.Process.Pid }

func (p *affrelayProcess) stop() { stopProcess(p.cmd) }

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

// adminCall sends one admin API request and decodes the JSON answer.
func adminCall(base, token, method, path string, body any) (map[string]any, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(method, base+path, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, out)
	}
	var m map[string]any
	return m, json.Unmarshal(out, &m)
}

// tenant is an integration and an affiliate whose postback endpoint points at receiverURL.
type tenant struct {
	apiKey, integrationID, affiliateID string
}

func setupTenant(base, token, receiverURL string) (tenant, error) {
	var t tenant
	r, err := adminCall(base, token, "POST", "/v1/admin/integrations", map[string]any{"name": "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)})
	if err != nil {
		return t, err
	}
	t.apiKey, t.integrationID = r["api_key"].(string), r["id"].(string)
	r, err = adminCall(base, token, "POST", "/v1/admin/affiliates", map[string]any{
		"name": "Bench Affiliate", "email": "bench@aff.example", "plan": map[string]any{"type": "cpa", "amount": "200.00", "currency": "USD"},
	})
	if err != nil {
		return t, err
	}
	t.affiliateID = r["id"].(string)
	_, err = adminCall(base, token, "POST", "/v1/admin/affiliates/"+t.affiliateID+"/postback-endpoints", map[string]any{
		"url": receiverURL + "/pb?tx={transaction_id}&cid={click_id}&p={payout}&cur={currency}", "method": "GET", "events": []string{"ftd"},
	})
	return t, err
}
