package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/affrelay/affrelay/app"
	"github.com/affrelay/affrelay/config"
	"github.com/affrelay/affrelay/evidence"
	"github.com/affrelay/affrelay/seal"
	"github.com/affrelay/affrelay/service/integrations"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/worker"
)

// The dev demo's fixed identities, so the printed curl keeps working across restarts.
const (
	demoIntegrationID = "int_demo"
	demoAPIKey        = "ak_demo_local_only_not_for_production"
	demoAffiliateID   = "aff_demo"
	demoEndpointID    = "pbe_demo"
	devAdminToken     = "dev-admin-token-local-only"
)

// runDev starts the Temporal dev server (with its UI) from ./bin/temporal, the SQLite store, a demo setup,
// the API and the worker; Ctrl-C stops all of it.
func runDev(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	if len(cfg.Admin.Tokens) == 0 {
		cfg.Admin.Tokens = []string{devAdminToken}
	}
	if cfg.Secrets.Keys == "" {
		var err error
		if cfg.Secrets.Keys, err = devKey(cfg.Dev.DataDir, "secrets.key", func() (string, error) { return seal.GenerateKey(devSecretsKeyID) }); err != nil {
			return err
		}
		cfg.Secrets.CurrentKey = devSecretsKeyID
	}
	if cfg.Evidence.SigningKey == "" {
		var err error
		if cfg.Evidence.SigningKey, err = devKey(cfg.Dev.DataDir, "evidence.key", evidence.GenerateSigningKey); err != nil {
			return err
		}
	}
	if err := cfg.Validate(true); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	// The demo's postbacks go to the built-in sink on this process's own (usually loopback) address.
	allow, err := cfg.Delivery.AllowPrivateTargets.With(demoSinkHost(cfg.HTTP.Addr))
	if err != nil {
		return fmt.Errorf("demo sink host: %w", err)
	}
	cfg.Delivery.AllowPrivateTargets = allow
	if _, err := os.Stat(cfg.Dev.TemporalPath); err != nil {
		return fmt.Errorf("Temporal CLI not found at %s (dev.temporal_path); build it with 'make bin/temporal'", cfg.Dev.TemporalPath)
	}
	if err := os.MkdirAll(cfg.Dev.DataDir, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(cfg.Dev.DataDir, "temporal.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()

	fmt.Printf("==> starting Temporal dev server on %s (UI on :%d, data %s, log %s)\n",
		cfg.Temporal.Address, cfg.Dev.UIPort, filepath.Join(cfg.Dev.DataDir, "temporal.db"), logPath)
	dev, err := startTemporal(ctx, cfg, logFile)
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("==> stopping Temporal dev server")
		_ = dev.Stop()
	}()

	fmt.Printf("==> migrating the %s database %s\n", cfg.Database.Driver, cfg.Database.DSN)
	s, err := store.Open(cfg.Database.Driver, cfg.Database.DSN)
	if err != nil {
		return err
	}
	err = s.Migrate(ctx)
	if err == nil {
		fmt.Println("==> seeding the demo integration, affiliate and postback endpoint")
		err = seedDemo(ctx, s, cfg.HTTP.Addr)
	}
	s.Close()
	if err != nil {
		return err
	}

	fmt.Println("==> starting the HTTP API and the worker")
	a, err := app.Start(ctx, cfg, app.Options{Serve: true, Work: true, DemoSink: true, Logger: logger})
	if err != nil {
		return err
	}
	defer a.Stop(context.Background())
	printDemo(cfg, a.Addr)

	select {
	case <-ctx.Done():
		fmt.Println("\n==> shutting down")
		return nil
	case err := <-a.Err():
		return err
	}
}

// devTemporal is the Temporal CLI dev server that dev runs from dev.temporal_path (./bin/temporal). It is started
// with os/exec rather than the SDK's testsuite, which would link test code into the production binary.
type devTemporal struct {
	cmd *exec.Cmd
}

func startTemporal(ctx context.Context, cfg config.Config, log *os.File) (*devTemporal, error) {
	host, port, err := net.SplitHostPort(cfg.Temporal.Address)
	if err != nil {
		return nil, fmt.Errorf("temporal.address: %w", err)
	}
	args := []string{
		"server", "start-dev", "--ip", host, "--port", port, "--namespace", cfg.Temporal.Namespace,
		"--db-filename", filepath.Join(cfg.Dev.DataDir, "temporal.db"), "--ui-port", fmt.Sprint(cfg.Dev.UIPort),
		"--log-level", "warn",
	}
	cmd := exec.Command(cfg.Dev.TemporalPath, append(args, worker.DevServerArgs()...)...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start Temporal dev server: %w", err)
	}
	dev := &devTemporal{cmd: cmd}
	c, err := dialWhenUp(ctx, cfg.Temporal, time.Minute)
	if err != nil {
		_ = dev.Stop()
		return nil, fmt.Errorf("start Temporal dev server (see %s): %w", log.Name(), err)
	}
	defer c.Close()
	// Flags only register search attributes in a new database file; an existing one needs them added.
	if err := worker.EnsureSearchAttributes(ctx, c, cfg.Temporal.Namespace); err != nil {
		_ = dev.Stop()
		return nil, err
	}
	return dev, nil
}

// dialWhenUp connects to the Temporal frontend, retrying while the server starts.
func dialWhenUp(ctx context.Context, t config.Temporal, within time.Duration) (client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		c, err := client.DialContext(ctx, client.Options{HostPort: t.Address, Namespace: t.Namespace, Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
		if err == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no answer from %s within %s: %w", t.Address, within, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop interrupts the dev server, which then shuts down cleanly, and waits for it.
func (d *devTemporal) Stop() error {
	if err := d.cmd.Process.Signal(os.Interrupt); err != nil {
		return err
	}
	return d.cmd.Wait()
}

// demoSinkHost is the host the demo endpoint's URL names: the listen address, or 127.0.0.1 when it listens on all.
func demoSinkHost(httpAddr string) string {
	host, _, _ := net.SplitHostPort(httpAddr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		return "127.0.0.1"
	}
	return host
}

// seedDemo creates the demo rows once; later runs find them and change nothing.
func seedDemo(ctx context.Context, s *store.Store, httpAddr string) error {
	_, port, _ := net.SplitHostPort(httpAddr)
	sink := "http://" + net.JoinHostPort(demoSinkHost(httpAddr), port) + "/demo/sink"
	rows := []any{
		&store.Integration{ID: demoIntegrationID, Name: "demo-casino"},
		&store.APIKey{ID: "key_demo", IntegrationID: demoIntegrationID, Label: "demo", Hash: integrations.HashKey(demoAPIKey), Prefix: demoAPIKey[:8]},
		&store.Affiliate{ID: demoAffiliateID, Name: "Demo Affiliate", Email: "demo@affiliate.example"},
		&store.Plan{ID: "pln_demo", AffiliateID: demoAffiliateID, Type: "cpa", AmountMinor: 20000, Currency: "USD", EffectiveFrom: time.Unix(0, 0).UTC()},
		&store.PostbackEndpoint{
			ID: demoEndpointID, AffiliateID: demoAffiliateID, Method: "GET", Events: "ftd,deposit", Enabled: true,
			URL: sink + "?cid={click_id}&event={event}&txid={transaction_id}&payout={payout}&currency={currency}&s1={sub1}",
		},
	}
	return s.InsertMissing(ctx, rows...)
}

// shownAdminToken prints the built-in dev token, never one the user configured.
func shownAdminToken(cfg config.Config) string {
	if cfg.Admin.Tokens[0] == devAdminToken {
		return devAdminToken
	}
	return "<your AFFRELAY_ADMIN_TOKEN>"
}

func printDemo(cfg config.Config, addr string) {
	_, port, _ := net.SplitHostPort(addr)
	base := "http://127.0.0.1:" + port
	fmt.Printf(`
affrelay is running.
  API             %[1]s
  Temporal UI     http://127.0.0.1:%[2]d/namespaces/%[3]s/workflows
  demo API key    %[4]s   (integration %[5]s)
  admin token     %[6]s
  demo affiliate  %[7]s (CPA 200.00 USD per first-time deposit), postbacks go to %[1]s/demo/sink

Send a conversion:
  curl -s '%[1]s/v1/postbacks?event_id=demo-1&event=ftd&affiliate_id=%[7]s&player_id=p-1&click_id=clk-1&amount=50.00&currency=USD' -H 'X-API-Key: %[4]s'
See what the demo tracker received, the delivery, and the affiliate's balance:
  curl -s %[1]s/demo/sink/received
  curl -s '%[1]s/v1/admin/deliveries?event_id=demo-1' -H 'Authorization: Bearer %[6]s'
  curl -s %[1]s/v1/admin/affiliates/%[7]s/balance -H 'Authorization: Bearer %[6]s'
Ctrl-C stops everything.
`, base, cfg.Dev.UIPort, cfg.Temporal.Namespace, demoAPIKey, demoIntegrationID, shownAdminToken(cfg), demoAffiliateID)
}

const devSecretsKeyID = "dev"

// devKey reads a key dev mode keeps in <data dir>/<name> (secrets.key seals secrets, evidence.key signs
// evidence bundles), made by generate on first use (0600).
func devKey(dataDir, name string, generate func() (string, error)) (string, error) {
	path := filepath.Join(dataDir, name)
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	key, err := generate()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return "", err
	}
	return key, os.WriteFile(path, []byte(key+"\n"), 0o600)
}
