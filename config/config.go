// Package config loads affrelay's settings: defaults < config file < AFFRELAY_* environment < flags.
package config

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/affrelay/affrelay/clientip"
	"github.com/affrelay/affrelay/evidence"
	"github.com/affrelay/affrelay/opsalert"
	"github.com/affrelay/affrelay/outbound"
	"github.com/affrelay/affrelay/payout"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/seal"
)

// MinAdminTokenLength is the shortest admin token accepted outside dev mode.
const MinAdminTokenLength = 16

// MaxFirstAttemptTimeout bounds the inline first attempt: it holds the conversion's workflow task open.
const MaxFirstAttemptTimeout = 5 * time.Second

// MaxDeliveryTimeout bounds one outbound request; an attempt activity must finish well within its own timeout.
const MaxDeliveryTimeout = time.Minute

// Config is the whole configuration of one affrelay process.
type Config struct {
	HTTP      HTTP
	Temporal  Temporal
	Database  Database
	Admin     Admin
	Secrets   Secrets
	Evidence  Evidence
	Delivery  Delivery
	Postback  Postback
	Security  Security
	Affiliate Affiliate
	Dev       Dev
	Alert     Alert
	// Reconciliation configures revenue file uploads.
	Reconciliation Reconciliation
	Payout         Payout
	Telemetry      Telemetry
}

// Telemetry configures where metrics are served and where traces go.
type Telemetry struct {
	// MetricsAddr is a listen address that serves /metrics alone, for a worker process that runs no API;
	// the API serves /metrics on its own address. Empty: none.
	MetricsAddr string
	// OTLPEndpoint is the OTLP/HTTP collector URL traces are sent to (http://collector:4318); empty: no tracing.
	OTLPEndpoint string
	// TraceSampleRatio is the share of new traces kept (0 to 1); a trace begun elsewhere keeps its decision.
	TraceSampleRatio float64
}

// Payout configures the payout cycle (see docs/payouts.md).
type Payout struct {
	// Cycle is monthly, weekly or biweekly. Periods start at midnight in TimeZone: months on the 1st,
	// weeks on Mondays.
	Cycle string
	// DayOfMonth is the day a monthly cycle runs (1–28); weekly and bi-weekly cycles run on Mondays.
	DayOfMonth int
	// Hour and Minute are when, in TimeZone, the cycle runs.
	Hour, Minute int
	TimeZone     string
	// ReminderAfter is how long a payout waits for its confirmation before payout.reminder, and again before
	// needs_review.
	ReminderAfter time.Duration
	// Minimums is the program's minimum payout per currency, minor units; affiliates may have their own.
	Minimums map[string]int64
}

// Reconciliation configures revenue file uploads.
type Reconciliation struct {
	// MaxFileBytes caps an uploaded file, measured after gzip is undone.
	MaxFileBytes int64
	// ChunkRows is how many rows one transaction of ProcessReconciliationRows compares and corrects.
	ChunkRows int
	// ParallelChunks is how many chunks are compared and corrected at once on PostgreSQL, each in its own
	// transaction over players no other chunk holds; SQLite has one writer and takes them one at a time.
	ParallelChunks int
	// PullAttempts and PullBackoff bound a scheduled pull's fetch: attempts in all, and the wait after
	// the first failure (doubling, at most 5 minutes).
	PullAttempts int
	PullBackoff  time.Duration
}

// Alert configures the queue-depth alarm.
type Alert struct {
	// QueueDepthThreshold is the number of undelivered deliveries at which ops.queue_depth_exceeded is
	// announced and an ALERT line is logged.
	QueueDepthThreshold int
	// TargetThresholds are thresholds of single endpoints or subscriptions, by id.
	TargetThresholds map[string]int64
	// NeedsReviewBurst deliveries entering needs_review within NeedsReviewWindow raise the burst alarm.
	NeedsReviewBurst  int
	NeedsReviewWindow time.Duration
	// RecoverRatio sets where a firing alarm recovers: its threshold times the ratio.
	RecoverRatio  float64
	CheckInterval time.Duration
}

// HTTP configures the API server.
type HTTP struct {
	Addr         string
	MaxBodyBytes int64
	// TLSCert and TLSKey are PEM files; with both set the server speaks HTTPS only.
	TLSCert, TLSKey string
	// TrustedProxies are the peers whose X-Forwarded-For is believed; none by default.
	TrustedProxies []netip.Prefix
}

// Security configures inbound defaults an integration may override, and the audit log.
type Security struct {
	RateLimitRPS   float64
	RateLimitBurst int
	// ClickRateLimitRPS and ClickRateLimitBurst bound the public click tracker per client address (IPv6: /64).
	ClickRateLimitRPS   float64
	ClickRateLimitBurst int
	SignatureTolerance  time.Duration
	AuditRetention      time.Duration
	// RequestRetention is how long the postback each conversion was recorded from is kept (dispute evidence).
	RequestRetention time.Duration
	// SecretMaxAge is how old an inbound signing secret or webhook secret may grow (an integration or
	// subscription may set its own); SecretExpiryWarning before that, secret.expiring is announced. The
	// watch looks every SecretCheckInterval. SecretClockOffset moves the secret-age clock forward (drills and
	// tests: a secret ages without waiting).
	SecretMaxAge        time.Duration
	SecretExpiryWarning time.Duration
	SecretCheckInterval time.Duration
	SecretClockOffset   time.Duration
}

// Temporal configures the connection to the Temporal service.
type Temporal struct {
	Address   string
	Namespace string
	TaskQueue string
	// WorkflowCacheSize is how many workflow executions the worker keeps in memory between their tasks
	// (Temporal's sticky cache); one evicted is rebuilt from its history at its next task.
	WorkflowCacheSize int
	// TLS turns on TLS to the frontend with the system's roots; TLSCA, TLSCert or APIKey turn it on too.
	TLS bool
	// TLSCA is a PEM file of the CAs that signed the frontend's certificate, instead of the system's roots.
	TLSCA string
	// TLSCert and TLSKey are the PEM client certificate and key for mTLS (Temporal Cloud's certificates).
	TLSCert, TLSKey string
	// TLSServerName overrides the name the frontend's certificate is checked against.
	TLSServerName string
	// APIKey is sent as a bearer token with every call (Temporal Cloud API keys); it requires TLS.
	APIKey string
}

// Database selects the application store.
type Database struct {
	Driver string // sqlite | postgres
	DSN    string
	// MaxOpenConns bounds each process's PostgreSQL connections (SQLite always uses one). Every API and worker
	// process holds up to this many: their sum must stay under the server's max_connections.
	MaxOpenConns int
}

// Admin configures the admin API.
type Admin struct {
	Tokens []string
}

// Secrets holds the keys secrets are sealed with at rest (signing secrets, webhook secrets, the reconciliation
// pull's auth value): AES-256-GCM, each value tagged with its key's id.
type Secrets struct {
	// Keys is "id:base64key,…" (32 random bytes each: openssl rand -base64 32); older keys stay listed until
	// every value is re-sealed under the current one (affrelay ops rotate-key).
	Keys string
	// CurrentKey is the id of the key new values are sealed under.
	CurrentKey string
}

// Keyring parses the keys.
func (s Secrets) Keyring() (*seal.Keyring, error) {
	keys, err := seal.ParseKeys(s.Keys)
	if err != nil {
		return nil, fmt.Errorf("secrets.keys (AFFRELAY_SECRETS_KEYS): %w", err)
	}
	if len(keys) == 0 {
		return nil, errors.New("secrets.keys (AFFRELAY_SECRETS_KEYS): required outside dev mode (id:base64key, the key from openssl rand -base64 32)")
	}
	k, err := seal.NewKeyring(s.CurrentKey, keys)
	if err != nil {
		return nil, fmt.Errorf("secrets.current_key (AFFRELAY_SECRETS_CURRENT_KEY): %w", err)
	}
	return k, nil
}

// Evidence configures dispute evidence bundles.
type Evidence struct {
	// SigningKey is the Ed25519 key evidence bundles are signed with: the standard base64 of its 32-byte seed
	// (openssl rand -base64 32). Its public key is served at GET /v1/admin/evidence/public-key for the operator
	// to publish. Empty: no bundles (the route answers 503), except in dev mode, which keeps one in .data.
	SigningKey string
}

// SigningKeyPair parses the signing key; nil when none is set.
func (e Evidence) SigningKeyPair() (ed25519.PrivateKey, error) {
	if e.SigningKey == "" {
		return nil, nil
	}
	k, err := evidence.ParseSigningKey(e.SigningKey)
	if err != nil {
		return nil, fmt.Errorf("evidence.signing_key (AFFRELAY_EVIDENCE_SIGNING_KEY): %w", err)
	}
	return k, nil
}

// Delivery configures outbound postbacks and webhooks.
type Delivery struct {
	Policy  retrypolicy.Policy
	Timeout time.Duration
	// FirstAttemptTimeout bounds each delivery's first attempt, made inline in the conversion's first workflow
	// task; a delivery whose first attempt fails continues in a DeliveryWorkflow. 0 sends every delivery
	// through a DeliveryWorkflow.
	FirstAttemptTimeout time.Duration
	// WebhookSecretGrace is how long a webhook secret keeps signing after a rotation.
	WebhookSecretGrace time.Duration
	// AutoDisableAfter disables a webhook subscription after this many deliveries in a row ended in needs_review.
	AutoDisableAfter int
	// TargetMaxRPS and TargetMaxInFlight bound each receiver's attempts per second and at once, per worker.
	TargetMaxRPS      float64
	TargetMaxInFlight int
	// AllowPrivateTargets names the loopback, private and link-local targets outbound requests may reach.
	AllowPrivateTargets outbound.Allowlist
}

// Affiliate configures what affiliates are told at signup, and their reports.
type Affiliate struct {
	// TrackingLink is the tracking link template sent in affiliate.created; {affiliate_id} is filled in.
	TrackingLink string
	// ReportMaxRangeDays bounds the range of one performance report.
	ReportMaxRangeDays int
}

// Postback configures inbound postbacks.
type Postback struct {
	// FutureSkew is how far in the future occurred_at may lie, for senders with drifting clocks.
	FutureSkew time.Duration
}

// Dev configures `affrelay dev`.
type Dev struct {
	TemporalPath string
	DataDir      string
	UIPort       int
}

var defaults = map[string]any{
	"http.addr":                       ":8080",
	"http.max_body_bytes":             1 << 20,
	"reconciliation.max_file_bytes":   256 << 20,
	"reconciliation.chunk_rows":       1000,
	"reconciliation.parallel_chunks":  4,
	"reconciliation.pull_attempts":    6,
	"reconciliation.pull_backoff":     "5s",
	"http.tls_cert":                   "",
	"http.tls_key":                    "",
	"http.trusted_proxies":            "",
	"rate_limit.rps":                  50,
	"rate_limit.burst":                100,
	"click.rate_limit.rps":            5,
	"click.rate_limit.burst":          50,
	"signature.tolerance":             "5m",
	"audit.retention":                 "720h",
	"evidence.request_retention":      "9600h",
	"evidence.signing_key":            "",
	"secret.max_age":                  "2160h",
	"secret.expiry_warning":           "336h",
	"secret.check_interval":           "1h",
	"secret.clock_offset":             "0",
	"temporal.address":                "127.0.0.1:7233",
	"temporal.namespace":              "default",
	"temporal.task_queue":             "affrelay",
	"temporal.workflow_cache_size":    500,
	"temporal.tls":                    false,
	"temporal.tls_ca":                 "",
	"temporal.tls_cert":               "",
	"temporal.tls_key":                "",
	"temporal.tls_server_name":        "",
	"temporal.api_key":                "",
	"metrics.addr":                    "",
	"tracing.otlp_endpoint":           "",
	"tracing.sample_ratio":            1.0,
	"database.driver":                 "sqlite",
	"database.dsn":                    ".data/affrelay.db",
	"database.max_open_conns":         20,
	"admin.token":                     "",
	"secrets.keys":                    "",
	"secrets.current_key":             "",
	"delivery.retry_schedule":         "30s,2m,10m,1h",
	"delivery.max_attempts":           15,
	"delivery.window":                 "24h",
	"delivery.max_retry_after":        "1h",
	"delivery.timeout":                "10s",
	"delivery.first_attempt_timeout":  "2s",
	"delivery.webhook_secret_grace":   "24h",
	"delivery.auto_disable_after":     5,
	"delivery.target_max_rps":         200,
	"delivery.target_max_in_flight":   50,
	"delivery.allow_private_targets":  "",
	"affiliate.tracking_link":         "https://track.example.com/click?aff={affiliate_id}&click_id={click_id}&sub1={sub1}&sub2={sub2}&sub3={sub3}&sub4={sub4}&sub5={sub5}",
	"affiliate.report_max_range_days": 366,
	"postback.future_skew":            "5m",
	"alert.queue_depth_threshold":     100,
	"alert.check_interval":            "30s",
	"alert.target_thresholds":         "",
	"alert.needs_review_burst":        20,
	"alert.needs_review_window":       "5m",
	"alert.recover_ratio":             0.5,
	"dev.temporal_path":               "./bin/temporal",
	"dev.data_dir":                    ".data",
	"dev.ui_port":                     8233,
	"payout.cycle":                    "monthly",
	"payout.day_of_month":             1,
	"payout.time":                     "06:00",
	"payout.time_zone":                "UTC",
	"payout.reminder_after":           "168h",
	"payout.minimums":                 "",
}

// Flags registers the command-line flags that override configuration keys.
func Flags(fs *pflag.FlagSet) {
	fs.String("config", "", "path to a YAML config file (default: $AFFRELAY_CONFIG, else ./affrelay.yaml or ./affrelay.yml if present)")
	fs.String("http-addr", "", "HTTP listen address (http.addr)")
	fs.String("temporal-address", "", "Temporal frontend host:port (temporal.address)")
	fs.String("database-driver", "", "sqlite or postgres (database.driver)")
	fs.String("database-dsn", "", "database DSN (database.dsn)")
}

var flagKeys = map[string]string{
	"http-addr":        "http.addr",
	"temporal-address": "temporal.address",
	"database-driver":  "database.driver",
	"database-dsn":     "database.dsn",
}

// Load reads the configuration. flags may be nil.
func Load(flags *pflag.FlagSet) (Config, error) {
	v := viper.New()
	for k, val := range defaults {
		v.SetDefault(k, val)
	}
	v.SetEnvPrefix("AFFRELAY")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()

	flagFile := ""
	if flags != nil {
		flagFile, _ = flags.GetString("config")
		for flag, key := range flagKeys {
			if f := flags.Lookup(flag); f != nil && f.Changed {
				if err := v.BindPFlag(key, f); err != nil {
					return Config{}, err
				}
			}
		}
	}
	file, err := configFile(flagFile)
	if err != nil {
		return Config{}, err
	}
	if file != "" {
		v.SetConfigFile(file)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", file, err)
		}
		// Every key the file set that no setting has: a typo would otherwise leave the default in force unseen.
		var unknown []string
		for _, k := range v.AllKeys() {
			if _, ok := defaults[k]; !ok {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			slices.Sort(unknown)
			return Config{}, fmt.Errorf("config file %s: unknown key %s (the settings are listed in docs/configuration.md)",
				file, strings.Join(unknown, ", "))
		}
	}
	return fromViper(v)
}

// configFile names the YAML file to read: the --config flag, else AFFRELAY_CONFIG, else affrelay.yaml or
// affrelay.yml in the working directory when one exists; "" for none. Only those names are looked for, so a
// binary named affrelay beside them is never read as configuration.
func configFile(flagFile string) (string, error) {
	if flagFile != "" {
		return flagFile, nil
	}
	if env := os.Getenv("AFFRELAY_CONFIG"); env != "" {
		return env, nil
	}
	for _, name := range []string{"affrelay.yaml", "affrelay.yml"} {
		switch _, err := os.Stat(name); {
		case err == nil:
			return name, nil
		case !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("config file %s: %w", name, err)
		}
	}
	return "", nil
}

func fromViper(v *viper.Viper) (Config, error) {
	var errs []error
	duration := func(key string) time.Duration {
		d, err := time.ParseDuration(strings.TrimSpace(v.GetString(key)))
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s (AFFRELAY_%s): %q is not a positive duration such as 10s", key, envName(key), v.GetString(key)))
		}
		return d
	}
	// optionalDuration is a duration where 0 turns the feature off.
	optionalDuration := func(key string) time.Duration {
		if strings.TrimSpace(v.GetString(key)) == "0" {
			return 0
		}
		return duration(key)
	}
	integer := func(key string) int {
		n, err := castInt(v.Get(key))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s (AFFRELAY_%s): %w", key, envName(key), err))
		}
		return n
	}

	c := Config{
		HTTP: HTTP{
			Addr: v.GetString("http.addr"), MaxBodyBytes: int64(integer("http.max_body_bytes")),
			TLSCert: v.GetString("http.tls_cert"), TLSKey: v.GetString("http.tls_key"),
		},
		Temporal: Temporal{
			Address:           v.GetString("temporal.address"),
			Namespace:         v.GetString("temporal.namespace"),
			TaskQueue:         v.GetString("temporal.task_queue"),
			WorkflowCacheSize: integer("temporal.workflow_cache_size"),
			TLS:               v.GetBool("temporal.tls"),
			TLSCA:             v.GetString("temporal.tls_ca"),
			TLSCert:           v.GetString("temporal.tls_cert"),
			TLSKey:            v.GetString("temporal.tls_key"),
			TLSServerName:     v.GetString("temporal.tls_server_name"),
			APIKey:            v.GetString("temporal.api_key"),
		},
		Telemetry: Telemetry{
			MetricsAddr:      v.GetString("metrics.addr"),
			OTLPEndpoint:     v.GetString("tracing.otlp_endpoint"),
			TraceSampleRatio: v.GetFloat64("tracing.sample_ratio"),
		},
		Database: Database{Driver: v.GetString("database.driver"), DSN: v.GetString("database.dsn"), MaxOpenConns: integer("database.max_open_conns")},
		Admin:    Admin{Tokens: splitList(v.GetString("admin.token"))},
		Secrets:  Secrets{Keys: v.GetString("secrets.keys"), CurrentKey: v.GetString("secrets.current_key")},
		Evidence: Evidence{SigningKey: v.GetString("evidence.signing_key")},
		Delivery: Delivery{
			Policy: retrypolicy.Policy{
				MaxAttempts:   integer("delivery.max_attempts"),
				Window:        duration("delivery.window"),
				MaxRetryAfter: duration("delivery.max_retry_after"),
			},
			Timeout:             duration("delivery.timeout"),
			FirstAttemptTimeout: optionalDuration("delivery.first_attempt_timeout"),
			WebhookSecretGrace:  duration("delivery.webhook_secret_grace"),
			AutoDisableAfter:    integer("delivery.auto_disable_after"),
			TargetMaxRPS:        v.GetFloat64("delivery.target_max_rps"),
			TargetMaxInFlight:   integer("delivery.target_max_in_flight"),
		},
		Postback:  Postback{FutureSkew: duration("postback.future_skew")},
		Affiliate: Affiliate{TrackingLink: v.GetString("affiliate.tracking_link"), ReportMaxRangeDays: integer("affiliate.report_max_range_days")},
		Alert: Alert{
			QueueDepthThreshold: integer("alert.queue_depth_threshold"),
			NeedsReviewBurst:    integer("alert.needs_review_burst"),
			NeedsReviewWindow:   duration("alert.needs_review_window"),
			RecoverRatio:        v.GetFloat64("alert.recover_ratio"),
			CheckInterval:       duration("alert.check_interval"),
		},
		Security: Security{
			RateLimitRPS:        v.GetFloat64("rate_limit.rps"),
			RateLimitBurst:      integer("rate_limit.burst"),
			ClickRateLimitRPS:   v.GetFloat64("click.rate_limit.rps"),
			ClickRateLimitBurst: integer("click.rate_limit.burst"),
			SignatureTolerance:  duration("signature.tolerance"),
			AuditRetention:      duration("audit.retention"),
			RequestRetention:    duration("evidence.request_retention"),
			SecretMaxAge:        duration("secret.max_age"),
			SecretExpiryWarning: duration("secret.expiry_warning"),
			SecretCheckInterval: duration("secret.check_interval"),
			SecretClockOffset:   optionalDuration("secret.clock_offset"),
		},
		Reconciliation: Reconciliation{
			MaxFileBytes: int64(integer("reconciliation.max_file_bytes")), ChunkRows: integer("reconciliation.chunk_rows"),
			ParallelChunks: integer("reconciliation.parallel_chunks"),
			PullAttempts:   integer("reconciliation.pull_attempts"), PullBackoff: duration("reconciliation.pull_backoff"),
		},
		Dev: Dev{
			TemporalPath: v.GetString("dev.temporal_path"),
			DataDir:      v.GetString("dev.data_dir"),
			UIPort:       integer("dev.ui_port"),
		},
	}
	c.Payout = Payout{
		Cycle: v.GetString("payout.cycle"), DayOfMonth: integer("payout.day_of_month"), TimeZone: v.GetString("payout.time_zone"),
		ReminderAfter: duration("payout.reminder_after"),
	}
	if _, err := fmt.Sscanf(v.GetString("payout.time"), "%d:%d", &c.Payout.Hour, &c.Payout.Minute); err != nil ||
		c.Payout.Hour < 0 || c.Payout.Hour > 23 || c.Payout.Minute < 0 || c.Payout.Minute > 59 {
		errs = append(errs, fmt.Errorf("payout.time (AFFRELAY_PAYOUT_TIME): %q is not a time of day such as 06:00", v.GetString("payout.time")))
	}
	minimums, err := payout.ParseMinimums(v.GetString("payout.minimums"))
	if err != nil {
		errs = append(errs, fmt.Errorf("payout.minimums (AFFRELAY_PAYOUT_MINIMUMS): %w", err))
	}
	c.Payout.Minimums = minimums
	if c.Alert.TargetThresholds, err = opsalert.ParseTargetThresholds(v.GetString("alert.target_thresholds")); err != nil {
		errs = append(errs, fmt.Errorf("alert.target_thresholds (AFFRELAY_ALERT_TARGET_THRESHOLDS): %w", err))
	}
	schedule, err := retrypolicy.ParseSchedule(v.GetString("delivery.retry_schedule"))
	if err != nil {
		errs = append(errs, fmt.Errorf("delivery.retry_schedule (AFFRELAY_DELIVERY_RETRY_SCHEDULE): %w", err))
	}
	c.Delivery.Policy.Schedule = schedule
	// The workflows size an attempt's activity timeout from it (a lost attempt is retried that soon).
	c.Delivery.Policy.AttemptTimeout = c.Delivery.Timeout
	if c.Delivery.AllowPrivateTargets, err = outbound.ParseAllowlist(v.GetString("delivery.allow_private_targets")); err != nil {
		errs = append(errs, fmt.Errorf("delivery.allow_private_targets (AFFRELAY_DELIVERY_ALLOW_PRIVATE_TARGETS): %w", err))
	}
	if c.HTTP.TrustedProxies, err = clientip.ParsePrefixes(v.GetString("http.trusted_proxies")); err != nil {
		errs = append(errs, fmt.Errorf("http.trusted_proxies (AFFRELAY_HTTP_TRUSTED_PROXIES): %w", err))
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return c, nil
}

// Validate checks the configuration for the given mode; dev mode may run without an admin token.
func (c Config) Validate(dev bool) error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		errs = append(errs, fmt.Errorf("http.addr (AFFRELAY_HTTP_ADDR): %q is not host:port", c.HTTP.Addr))
	}
	if c.HTTP.MaxBodyBytes < 1024 {
		errs = append(errs, errors.New("http.max_body_bytes (AFFRELAY_HTTP_MAX_BODY_BYTES): must be at least 1024"))
	}
	if c.Reconciliation.MaxFileBytes < 1024 {
		errs = append(errs, errors.New("reconciliation.max_file_bytes (AFFRELAY_RECONCILIATION_MAX_FILE_BYTES): must be at least 1024"))
	}
	// A chunk's players are bound as one IN list: 20,000 stays under SQLite's 32,766 and PostgreSQL's 65,535
	// parameters.
	if c.Reconciliation.ChunkRows < 1 || c.Reconciliation.ChunkRows > 20_000 {
		errs = append(errs, errors.New("reconciliation.chunk_rows (AFFRELAY_RECONCILIATION_CHUNK_ROWS): must be from 1 to 20000"))
	}
	if c.Reconciliation.ParallelChunks < 1 || c.Reconciliation.ParallelChunks > 64 {
		errs = append(errs, errors.New("reconciliation.parallel_chunks (AFFRELAY_RECONCILIATION_PARALLEL_CHUNKS): must be from 1 to 64"))
	}
	if c.Reconciliation.PullAttempts < 1 {
		errs = append(errs, errors.New("reconciliation.pull_attempts (AFFRELAY_RECONCILIATION_PULL_ATTEMPTS): must be at least 1"))
	}
	if (c.HTTP.TLSCert == "") != (c.HTTP.TLSKey == "") {
		errs = append(errs, errors.New("http.tls_cert and http.tls_key (AFFRELAY_HTTP_TLS_CERT, AFFRELAY_HTTP_TLS_KEY): set both or neither"))
	}
	if c.Security.SecretExpiryWarning >= c.Security.SecretMaxAge {
		errs = append(errs, errors.New("secret.expiry_warning (AFFRELAY_SECRET_EXPIRY_WARNING): must be shorter than secret.max_age"))
	}
	if c.Security.RateLimitRPS <= 0 {
		errs = append(errs, errors.New("rate_limit.rps (AFFRELAY_RATE_LIMIT_RPS): must be positive"))
	}
	if c.Security.RateLimitBurst < 1 {
		errs = append(errs, errors.New("rate_limit.burst (AFFRELAY_RATE_LIMIT_BURST): must be at least 1"))
	}
	if c.Security.ClickRateLimitRPS <= 0 {
		errs = append(errs, errors.New("click.rate_limit.rps (AFFRELAY_CLICK_RATE_LIMIT_RPS): must be positive"))
	}
	if c.Security.ClickRateLimitBurst < 1 {
		errs = append(errs, errors.New("click.rate_limit.burst (AFFRELAY_CLICK_RATE_LIMIT_BURST): must be at least 1"))
	}
	if _, _, err := net.SplitHostPort(c.Temporal.Address); err != nil {
		errs = append(errs, fmt.Errorf("temporal.address (AFFRELAY_TEMPORAL_ADDRESS): %q is not host:port", c.Temporal.Address))
	}
	if c.Temporal.Namespace == "" {
		errs = append(errs, errors.New("temporal.namespace (AFFRELAY_TEMPORAL_NAMESPACE): must not be empty"))
	}
	if c.Temporal.TaskQueue == "" {
		errs = append(errs, errors.New("temporal.task_queue (AFFRELAY_TEMPORAL_TASK_QUEUE): must not be empty"))
	}
	if c.Temporal.WorkflowCacheSize < 1 {
		errs = append(errs, errors.New("temporal.workflow_cache_size (AFFRELAY_TEMPORAL_WORKFLOW_CACHE_SIZE): must be at least 1"))
	}
	if _, err := c.Temporal.ClientTLS(); err != nil {
		errs = append(errs, err)
	}
	if c.Telemetry.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.Telemetry.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("metrics.addr (AFFRELAY_METRICS_ADDR): %q is not host:port", c.Telemetry.MetricsAddr))
		}
	}
	if c.Telemetry.OTLPEndpoint != "" {
		if u, err := url.Parse(c.Telemetry.OTLPEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("tracing.otlp_endpoint (AFFRELAY_TRACING_OTLP_ENDPOINT): %q is not an http:// or https:// URL such as http://otel-collector:4318", c.Telemetry.OTLPEndpoint))
		}
	}
	if c.Telemetry.TraceSampleRatio < 0 || c.Telemetry.TraceSampleRatio > 1 {
		errs = append(errs, fmt.Errorf("tracing.sample_ratio (AFFRELAY_TRACING_SAMPLE_RATIO): %v is not between 0 and 1", c.Telemetry.TraceSampleRatio))
	}
	switch c.Database.Driver {
	case "sqlite", "postgres":
	default:
		errs = append(errs, fmt.Errorf("database.driver (AFFRELAY_DATABASE_DRIVER): %q is not sqlite or postgres", c.Database.Driver))
	}
	if c.Database.DSN == "" {
		errs = append(errs, errors.New("database.dsn (AFFRELAY_DATABASE_DSN): must not be empty"))
	}
	if c.Database.MaxOpenConns < 1 || c.Database.MaxOpenConns > 1000 {
		errs = append(errs, fmt.Errorf("database.max_open_conns (AFFRELAY_DATABASE_MAX_OPEN_CONNS): %d is not between 1 and 1000", c.Database.MaxOpenConns))
	}
	if !dev || c.Secrets.Keys != "" {
		if _, err := c.Secrets.Keyring(); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := c.Evidence.SigningKeyPair(); err != nil {
		errs = append(errs, err)
	}
	if !dev {
		if len(c.Admin.Tokens) == 0 {
			errs = append(errs, errors.New("admin.token (AFFRELAY_ADMIN_TOKEN): required outside dev mode"))
		}
		for i, t := range c.Admin.Tokens {
			if len(t) < MinAdminTokenLength {
				errs = append(errs, fmt.Errorf("admin.token (AFFRELAY_ADMIN_TOKEN): token %d is shorter than %d characters", i+1, MinAdminTokenLength))
			}
		}
	}
	if c.Alert.QueueDepthThreshold < 1 {
		errs = append(errs, errors.New("alert.queue_depth_threshold (AFFRELAY_ALERT_QUEUE_DEPTH_THRESHOLD): must be at least 1"))
	}
	if c.Alert.NeedsReviewBurst < 1 {
		errs = append(errs, errors.New("alert.needs_review_burst (AFFRELAY_ALERT_NEEDS_REVIEW_BURST): must be at least 1"))
	}
	if c.Alert.RecoverRatio < 0 || c.Alert.RecoverRatio >= 1 {
		errs = append(errs, fmt.Errorf("alert.recover_ratio (AFFRELAY_ALERT_RECOVER_RATIO): %v is not from 0 up to (not including) 1", c.Alert.RecoverRatio))
	}
	if c.Delivery.Timeout > MaxDeliveryTimeout {
		errs = append(errs, fmt.Errorf("delivery.timeout (AFFRELAY_DELIVERY_TIMEOUT): %s is longer than %s", c.Delivery.Timeout, MaxDeliveryTimeout))
	}
	if c.Delivery.FirstAttemptTimeout < 0 || c.Delivery.FirstAttemptTimeout > MaxFirstAttemptTimeout {
		errs = append(errs, fmt.Errorf("delivery.first_attempt_timeout (AFFRELAY_DELIVERY_FIRST_ATTEMPT_TIMEOUT): %s is not between 0 and %s", c.Delivery.FirstAttemptTimeout, MaxFirstAttemptTimeout))
	}
	if c.Delivery.TargetMaxRPS <= 0 {
		errs = append(errs, errors.New("delivery.target_max_rps (AFFRELAY_DELIVERY_TARGET_MAX_RPS): must be positive"))
	}
	if c.Delivery.TargetMaxInFlight < 1 {
		errs = append(errs, errors.New("delivery.target_max_in_flight (AFFRELAY_DELIVERY_TARGET_MAX_IN_FLIGHT): must be at least 1"))
	}
	if c.Delivery.AutoDisableAfter < 1 {
		errs = append(errs, errors.New("delivery.auto_disable_after (AFFRELAY_DELIVERY_AUTO_DISABLE_AFTER): must be at least 1"))
	}
	if c.Affiliate.TrackingLink == "" {
		errs = append(errs, errors.New("affiliate.tracking_link (AFFRELAY_AFFILIATE_TRACKING_LINK): must not be empty"))
	}
	if c.Affiliate.ReportMaxRangeDays < 1 || c.Affiliate.ReportMaxRangeDays > 3660 {
		errs = append(errs, errors.New("affiliate.report_max_range_days (AFFRELAY_AFFILIATE_REPORT_MAX_RANGE_DAYS): must be 1 to 3660 days"))
	}
	if _, err := payout.NewCycle(c.Payout.Cycle, c.Payout.TimeZone); err != nil {
		errs = append(errs, fmt.Errorf("payout.cycle, payout.time_zone (AFFRELAY_PAYOUT_CYCLE, AFFRELAY_PAYOUT_TIME_ZONE): %w", err))
	}
	if c.Payout.DayOfMonth < 1 || c.Payout.DayOfMonth > 28 {
		errs = append(errs, errors.New("payout.day_of_month (AFFRELAY_PAYOUT_DAY_OF_MONTH): must be 1 to 28, so every month has it"))
	}
	if err := c.Delivery.Policy.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("delivery (AFFRELAY_DELIVERY_*): %w", err))
	}
	return errors.Join(errs...)
}

func envName(key string) string {
	return strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// splitList splits a comma-separated list, so several admin tokens can be valid during a rotation.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func castInt(val any) (int, error) {
	switch x := val.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case float64:
		if x != float64(int(x)) {
			return 0, fmt.Errorf("%v is not a whole number", x)
		}
		return int(x), nil
	case string:
		var n int
		if _, err := fmt.Sscanf(strings.TrimSpace(x), "%d", &n); err != nil || fmt.Sprint(n) != strings.TrimSpace(x) {
			return 0, fmt.Errorf("%q is not a whole number", x)
		}
		return n, nil
	default:
		return 0, fmt.Errorf("%v is not a whole number", val)
	}
}
