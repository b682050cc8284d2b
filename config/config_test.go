package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
)

// isolate runs the test in an empty working directory and blanks every AFFRELAY_* variable of the
// surrounding environment (viper ignores empty variables), so neither an affrelay.yaml in the repo nor
// the developer's shell can change the result.
func isolate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AFFRELAY_") {
			t.Setenv(k, "")
		}
	}
	// A valid secrets key, required outside dev mode; TestValidateSecretsKeys takes it away.
	t.Setenv("AFFRELAY_SECRETS_KEYS", testSecretsKey)
	t.Setenv("AFFRELAY_SECRETS_CURRENT_KEY", "k1")
	return dir
}

const testSecretsKey = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

func TestValidateSecretsKeys(t *testing.T) {
	for _, tc := range []struct{ name, keys, current, want string }{
		{"none outside dev", "", "", "secrets.keys (AFFRELAY_SECRETS_KEYS): required outside dev mode"},
		{"not base64 of 32 bytes", "k1:c2hvcnQ=", "k1", "key k1: must be 32 bytes"},
		{"current not among them", testSecretsKey, "k2", `secrets.current_key (AFFRELAY_SECRETS_CURRENT_KEY): current key "k2" is not among the keys (k1)`},
		{"valid", testSecretsKey, "k1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			t.Setenv("AFFRELAY_ADMIN_TOKEN", validToken)
			t.Setenv("AFFRELAY_SECRETS_KEYS", tc.keys)
			t.Setenv("AFFRELAY_SECRETS_CURRENT_KEY", tc.current)
			c, err := load(t)
			require.NoError(t, err)
			err = c.Validate(false)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "an error never shows a key")
		})
	}
}

func TestValidateEvidenceSigningKey(t *testing.T) {
	for _, tc := range []struct{ name, key, want string }{
		{"none (no bundles)", "", ""},
		{"not base64 of 32 bytes", "c2hvcnQ=", "evidence.signing_key (AFFRELAY_EVIDENCE_SIGNING_KEY): must be 32 bytes"},
		{"valid", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			t.Setenv("AFFRELAY_ADMIN_TOKEN", validToken)
			t.Setenv("AFFRELAY_EVIDENCE_SIGNING_KEY", tc.key)
			c, err := load(t)
			require.NoError(t, err)
			err = c.Validate(false)
			if tc.want == "" {
				require.NoError(t, err)
				k, err := c.Evidence.SigningKeyPair()
				require.NoError(t, err)
				require.Equal(t, tc.key == "", k == nil)
				return
			}
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), tc.key, "an error never shows a key")
		})
	}
}

// load registers the flags, parses args and calls Load.
func load(t *testing.T, args ...string) (Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("affrelay", pflag.ContinueOnError)
	Flags(fs)
	require.NoError(t, fs.Parse(args))
	return Load(fs)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
}

const validToken = "0123456789abcdef" // 16 characters

func TestLoadDefaults(t *testing.T) {
	for _, tt := range []struct {
		name string
		load func(t *testing.T) (Config, error)
	}{
		{"nil flag set", func(*testing.T) (Config, error) { return Load(nil) }},
		{"no flags given", func(t *testing.T) (Config, error) { return load(t) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			c, err := tt.load(t)
			require.NoError(t, err)

			require.Equal(t, ":8080", c.HTTP.Addr)
			require.Equal(t, int64(1048576), c.HTTP.MaxBodyBytes)
			require.Equal(t, "127.0.0.1:7233", c.Temporal.Address)
			require.Equal(t, "default", c.Temporal.Namespace)
			require.Equal(t, "affrelay", c.Temporal.TaskQueue)
			require.Equal(t, "sqlite", c.Database.Driver)
			require.Equal(t, ".data/affrelay.db", c.Database.DSN)
			require.Empty(t, c.Admin.Tokens)
			require.Equal(t, []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour}, c.Delivery.Policy.Schedule)
			require.Equal(t, 15, c.Delivery.Policy.MaxAttempts)
			require.Equal(t, 24*time.Hour, c.Delivery.Policy.Window)
			require.Equal(t, time.Hour, c.Delivery.Policy.MaxRetryAfter)
			require.Equal(t, 10*time.Second, c.Delivery.Timeout)
			require.Equal(t, 5*time.Minute, c.Postback.FutureSkew)
			require.Equal(t, Dev{TemporalPath: "./bin/temporal", DataDir: ".data", UIPort: 8233}, c.Dev)

			require.NoError(t, c.Validate(true))
		})
	}
}

func TestLoadEnv(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c Config)
	}{
		{"retry schedule with spaces", map[string]string{"AFFRELAY_DELIVERY_RETRY_SCHEDULE": "1s, 2s"}, func(t *testing.T, c Config) {
			require.Equal(t, []time.Duration{time.Second, 2 * time.Second}, c.Delivery.Policy.Schedule)
		}},
		{"max attempts", map[string]string{"AFFRELAY_DELIVERY_MAX_ATTEMPTS": "3"}, func(t *testing.T, c Config) {
			require.Equal(t, 3, c.Delivery.Policy.MaxAttempts)
		}},
		{"max attempts with surrounding space", map[string]string{"AFFRELAY_DELIVERY_MAX_ATTEMPTS": " 4 "}, func(t *testing.T, c Config) {
			require.Equal(t, 4, c.Delivery.Policy.MaxAttempts)
		}},
		{"schedule and attempts together", map[string]string{"AFFRELAY_DELIVERY_RETRY_SCHEDULE": "1s, 2s", "AFFRELAY_DELIVERY_MAX_ATTEMPTS": "3"}, func(t *testing.T, c Config) {
			require.Equal(t, []time.Duration{time.Second, 2 * time.Second}, c.Delivery.Policy.Schedule)
			require.Equal(t, 3, c.Delivery.Policy.MaxAttempts)
			require.Equal(t, 24*time.Hour, c.Delivery.Policy.Window) // untouched default
		}},
		{"the first attempt inline by default, or not at all", map[string]string{"AFFRELAY_DELIVERY_FIRST_ATTEMPT_TIMEOUT": "0"}, func(t *testing.T, c Config) {
			require.Zero(t, c.Delivery.FirstAttemptTimeout)
		}},
		{"timeout, window and skew", map[string]string{"AFFRELAY_DELIVERY_TIMEOUT": "2500ms", "AFFRELAY_DELIVERY_WINDOW": "48h", "AFFRELAY_POSTBACK_FUTURE_SKEW": "90s"}, func(t *testing.T, c Config) {
			require.Equal(t, 2500*time.Millisecond, c.Delivery.Timeout)
			require.Equal(t, 2500*time.Millisecond, c.Delivery.Policy.AttemptTimeout, "the attempt activity is sized from delivery.timeout")
			require.Equal(t, 48*time.Hour, c.Delivery.Policy.Window)
			require.Equal(t, 90*time.Second, c.Postback.FutureSkew)
		}},
		{"http, temporal and database", map[string]string{
			"AFFRELAY_HTTP_ADDR": "127.0.0.1:9000", "AFFRELAY_TEMPORAL_ADDRESS": "temporal:7233",
			"AFFRELAY_TEMPORAL_NAMESPACE": "prod", "AFFRELAY_TEMPORAL_TASK_QUEUE": "q", "AFFRELAY_TEMPORAL_WORKFLOW_CACHE_SIZE": "2000",
			"AFFRELAY_DATABASE_DRIVER": "postgres", "AFFRELAY_DATABASE_DSN": "postgres://db/affrelay", "AFFRELAY_DATABASE_MAX_OPEN_CONNS": "6",
		}, func(t *testing.T, c Config) {
			require.Equal(t, HTTP{Addr: "127.0.0.1:9000", MaxBodyBytes: 1 << 20}, c.HTTP)
			require.Equal(t, Temporal{Address: "temporal:7233", Namespace: "prod", TaskQueue: "q", WorkflowCacheSize: 2000}, c.Temporal)
			require.Equal(t, Database{Driver: "postgres", DSN: "postgres://db/affrelay", MaxOpenConns: 6}, c.Database)
		}},
		{"admin tokens are split on commas and trimmed", map[string]string{"AFFRELAY_ADMIN_TOKEN": " aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbb ,,"}, func(t *testing.T, c Config) {
			require.Equal(t, []string{"aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb"}, c.Admin.Tokens)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := load(t)
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

const testYAML = `http:
  addr: ":7000"
temporal:
  address: "temporal.internal:7233"
  namespace: "from-file"
database:
  dsn: "file.db"
delivery:
  retry_schedule: "5s,1m"
  max_attempts: 7
  timeout: "3s"
admin:
  token: "file-token-0123456789"
`

// TestLoadPrecedence checks defaults < config file < environment < flags.
func TestLoadPrecedence(t *testing.T) {
	type want struct {
		addr, namespace, dsn string
		maxAttempts          int
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string // after --config <file>
		want want
	}{
		{"file over defaults", nil, nil, want{":7000", "from-file", "file.db", 7}},
		{
			"env over file",
			map[string]string{"AFFRELAY_HTTP_ADDR": ":7100", "AFFRELAY_TEMPORAL_NAMESPACE": "from-env", "AFFRELAY_DELIVERY_MAX_ATTEMPTS": "9"},
			nil,
			want{":7100", "from-env", "file.db", 9},
		},
		{
			"flag over env",
			map[string]string{"AFFRELAY_HTTP_ADDR": ":7100", "AFFRELAY_DATABASE_DSN": "env.db"},
			[]string{"--http-addr", ":7200"},
			want{":7200", "from-file", "env.db", 7},
		},
		{
			"flag over file without env",
			nil,
			[]string{"--http-addr=:7300", "--database-dsn", "flag.db"},
			want{":7300", "from-file", "flag.db", 7},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := isolate(t)
			file := filepath.Join(dir, "custom.yaml")
			writeFile(t, file, testYAML)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := load(t, append([]string{"--config", file}, tt.args...)...)
			require.NoError(t, err)
			require.Equal(t, tt.want.addr, c.HTTP.Addr)
			require.Equal(t, tt.want.namespace, c.Temporal.Namespace)
			require.Equal(t, tt.want.dsn, c.Database.DSN)
			require.Equal(t, tt.want.maxAttempts, c.Delivery.Policy.MaxAttempts)
			// From the file in every case.
			require.Equal(t, "temporal.internal:7233", c.Temporal.Address)
			require.Equal(t, []time.Duration{5 * time.Second, time.Minute}, c.Delivery.Policy.Schedule)
			require.Equal(t, 3*time.Second, c.Delivery.Timeout)
			require.Equal(t, []string{"file-token-0123456789"}, c.Admin.Tokens)
			// Defaults for keys nobody set.
			require.Equal(t, "affrelay", c.Temporal.TaskQueue)
			require.Equal(t, 24*time.Hour, c.Delivery.Policy.Window)
			require.NoError(t, c.Validate(false))
		})
	}
}

func TestLoadWorkingDirectoryFile(t *testing.T) {
	for _, tt := range []struct {
		name string
		load func(t *testing.T) (Config, error)
	}{
		{"nil flag set", func(*testing.T) (Config, error) { return Load(nil) }},
		{"flags without --config", func(t *testing.T) (Config, error) { return load(t) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := isolate(t)
			writeFile(t, filepath.Join(dir, "affrelay.yaml"), testYAML)
			c, err := tt.load(t)
			require.NoError(t, err)
			require.Equal(t, ":7000", c.HTTP.Addr)
			require.Equal(t, "from-file", c.Temporal.Namespace)
			require.Equal(t, 7, c.Delivery.Policy.MaxAttempts)
		})
	}
}

func TestLoadConfigFileErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) []string // returns the args
	}{
		{"--config file missing", func(t *testing.T, dir string) []string {
			return []string{"--config", filepath.Join(dir, "missing.yaml")}
		}},
		{"--config file is not YAML", func(t *testing.T, dir string) []string {
			writeFile(t, filepath.Join(dir, "bad.yaml"), "http: [unclosed\n")
			return []string{"--config", filepath.Join(dir, "bad.yaml")}
		}},
		{"affrelay.yaml in working directory is not YAML", func(t *testing.T, dir string) []string {
			writeFile(t, filepath.Join(dir, "affrelay.yaml"), "http: [unclosed\n")
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := isolate(t)
			args := tt.setup(t, dir)
			_, err := load(t, args...)
			require.Error(t, err)
			require.Contains(t, err.Error(), "config file")
		})
	}
}

// TestLoadInvalidValues checks that every bad value is reported with the environment variable to fix.
func TestLoadInvalidValues(t *testing.T) {
	tests := []struct {
		key, value string
		wantIn     string // "load": Load fails; "validate": Load succeeds and Validate fails
	}{
		{"AFFRELAY_DELIVERY_RETRY_SCHEDULE", "30x", "load"},
		{"AFFRELAY_DELIVERY_RETRY_SCHEDULE", "30s,,1m", "load"},
		{"AFFRELAY_DELIVERY_RETRY_SCHEDULE", "30s,-1m", "load"},
		{"AFFRELAY_DELIVERY_MAX_ATTEMPTS", "abc", "load"},
		{"AFFRELAY_DELIVERY_MAX_ATTEMPTS", "3.5", "load"},
		{"AFFRELAY_DELIVERY_MAX_ATTEMPTS", "3x", "load"},
		{"AFFRELAY_DATABASE_MAX_OPEN_CONNS", "0", "validate"},
		{"AFFRELAY_DELIVERY_TIMEOUT", "-1s", "load"},
		{"AFFRELAY_DELIVERY_TIMEOUT", "0s", "load"},
		{"AFFRELAY_DELIVERY_TIMEOUT", "10", "load"},
		{"AFFRELAY_DELIVERY_WINDOW", "forever", "load"},
		{"AFFRELAY_DELIVERY_FIRST_ATTEMPT_TIMEOUT", "-1s", "load"},
		{"AFFRELAY_DELIVERY_FIRST_ATTEMPT_TIMEOUT", "6s", "validate"},
		{"AFFRELAY_TEMPORAL_WORKFLOW_CACHE_SIZE", "0", "validate"},
		{"AFFRELAY_POSTBACK_FUTURE_SKEW", "-5m", "load"},
		{"AFFRELAY_HTTP_MAX_BODY_BYTES", "1MB", "load"},
		{"AFFRELAY_DELIVERY_ALLOW_PRIVATE_TARGETS", "10.0.0.0/33", "load"},
		{"AFFRELAY_DELIVERY_ALLOW_PRIVATE_TARGETS", "http://crm.internal", "load"},
		{"AFFRELAY_DATABASE_DRIVER", "mysql", "validate"},
		{"AFFRELAY_HTTP_ADDR", "8080", "validate"},
		{"AFFRELAY_TEMPORAL_ADDRESS", "localhost", "validate"},
		{"AFFRELAY_HTTP_MAX_BODY_BYTES", "1023", "validate"},
		{"AFFRELAY_DELIVERY_TIMEOUT", "2m", "validate"},
		{"AFFRELAY_RECONCILIATION_CHUNK_ROWS", "0", "validate"},
		{"AFFRELAY_RECONCILIATION_CHUNK_ROWS", "20001", "validate"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			isolate(t)
			t.Setenv(tt.key, tt.value)
			c, err := load(t)
			if tt.wantIn == "load" {
				require.Error(t, err)
				require.Contains(t, err.Error(), tt.key)
				require.Equal(t, Config{}, c)
				return
			}
			require.NoError(t, err)
			err = c.Validate(true)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.key)
		})
	}
}

// TestLoadReportsEveryError checks that several bad values are reported together, not only the first.
func TestLoadReportsEveryError(t *testing.T) {
	isolate(t)
	t.Setenv("AFFRELAY_DELIVERY_RETRY_SCHEDULE", "30x")
	t.Setenv("AFFRELAY_DELIVERY_MAX_ATTEMPTS", "abc")
	t.Setenv("AFFRELAY_DELIVERY_TIMEOUT", "-1s")
	_, err := load(t)
	require.Error(t, err)
	for _, key := range []string{"AFFRELAY_DELIVERY_RETRY_SCHEDULE", "AFFRELAY_DELIVERY_MAX_ATTEMPTS", "AFFRELAY_DELIVERY_TIMEOUT"} {
		require.Contains(t, err.Error(), key)
	}
}

func TestValidateAdminToken(t *testing.T) {
	tests := []struct {
		name    string
		token   string // AFFRELAY_ADMIN_TOKEN; "" leaves it unset
		dev     bool
		wantErr bool
	}{
		{"no token outside dev", "", false, true},
		{"only separators outside dev", " , ,", false, true},
		{"15-character token", "0123456789abcde", false, true},
		{"16-character token", validToken, false, false},
		{"long token", strings.Repeat("t", 64), false, false},
		{"several tokens, all long enough", validToken + ",fedcba9876543210, another-long-token", false, false},
		{"several tokens, one too short", validToken + ",short", false, true},
		{"no token in dev", "", true, false},
		{"short token in dev", "x", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			if tt.token != "" {
				t.Setenv("AFFRELAY_ADMIN_TOKEN", tt.token)
			}
			c, err := load(t)
			require.NoError(t, err)
			err = c.Validate(tt.dev)
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), "AFFRELAY_ADMIN_TOKEN")
		})
	}
}

// TestValidatePolicy checks that a policy Load accepts but retrypolicy rejects fails Validate.
func TestValidatePolicy(t *testing.T) {
	tests := []struct{ key, value string }{
		{"AFFRELAY_DELIVERY_MAX_ATTEMPTS", "0"},
		{"AFFRELAY_DELIVERY_MAX_ATTEMPTS", "1001"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			isolate(t)
			t.Setenv(tt.key, tt.value)
			c, err := load(t)
			require.NoError(t, err)
			err = c.Validate(true)
			require.Error(t, err)
			require.Contains(t, err.Error(), "AFFRELAY_DELIVERY_")
			require.Contains(t, err.Error(), "MaxAttempts")
		})
	}
}

// A misspelt key in the config file stops the start, naming the key, instead of leaving the default in force.
func TestLoadRefusesUnknownKeys(t *testing.T) {
	for _, tt := range []struct{ yaml, key string }{
		{"rate_limt:\n  rps: 5\n", "rate_limt.rps"},
		{"http:\n  adr: \":9000\"\n", "http.adr"},
		{"delivery:\n  timeout: 3s\n  retry_shedule: 1s\n", "delivery.retry_shedule"},
	} {
		dir := isolate(t)
		writeFile(t, filepath.Join(dir, "affrelay.yaml"), tt.yaml)
		_, err := load(t)
		require.ErrorContains(t, err, "unknown key "+tt.key)
		require.ErrorContains(t, err, "affrelay.yaml")
	}
}

// Only affrelay.yaml and affrelay.yml are looked for: a binary named affrelay (or any other extension) in the
// working directory is not configuration. AFFRELAY_CONFIG names a file explicitly; --config wins over it.
func TestLoadConfigFileLookup(t *testing.T) {
	dir := isolate(t)
	writeFile(t, filepath.Join(dir, "affrelay"), "\x7fELF\x02\x01\x01\x00binary")
	writeFile(t, filepath.Join(dir, "affrelay.json"), `{"http":{"addr":":1"}}`)
	c, err := load(t)
	require.NoError(t, err)
	require.Equal(t, ":8080", c.HTTP.Addr)

	writeFile(t, filepath.Join(dir, "affrelay.yml"), "http:\n  addr: \":7001\"\n")
	c, err = load(t)
	require.NoError(t, err)
	require.Equal(t, ":7001", c.HTTP.Addr)

	writeFile(t, filepath.Join(dir, "affrelay.yaml"), "http:\n  addr: \":7002\"\n")
	c, err = load(t)
	require.NoError(t, err)
	require.Equal(t, ":7002", c.HTTP.Addr, "affrelay.yaml comes before affrelay.yml")

	other := filepath.Join(t.TempDir(), "elsewhere.conf")
	writeFile(t, other, "http:\n  addr: \":7003\"\n")
	t.Setenv("AFFRELAY_CONFIG", other)
	c, err = load(t)
	require.NoError(t, err)
	require.Equal(t, ":7003", c.HTTP.Addr, "AFFRELAY_CONFIG, read as YAML whatever its extension")

	flagFile := filepath.Join(t.TempDir(), "flag.yaml")
	writeFile(t, flagFile, "http:\n  addr: \":7004\"\n")
	c, err = load(t, "--config", flagFile)
	require.NoError(t, err)
	require.Equal(t, ":7004", c.HTTP.Addr)

	t.Setenv("AFFRELAY_CONFIG", filepath.Join(dir, "missing.yaml"))
	_, err = load(t)
	require.ErrorContains(t, err, "missing.yaml")
}
