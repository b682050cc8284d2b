package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/internal/testcert"
)

func TestTemporalTLSSettings(t *testing.T) {
	certFile, keyFile, _ := testcert.SelfSigned(t, "temporal client")
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	garbage := filepath.Join(dir, "garbage.pem")
	require.NoError(t, os.WriteFile(garbage, []byte("not a certificate"), 0o600))

	for _, tt := range []struct {
		name    string
		env     map[string]string
		wantErr string // "" for valid
		tls     bool
		certs   int
		roots   bool
	}{
		{name: "plain by default"},
		{name: "tls with the system roots", env: map[string]string{"TLS": "true"}, tls: true},
		{name: "an API key implies TLS", env: map[string]string{"API_KEY": "key-1"}, tls: true},
		{name: "a CA implies TLS", env: map[string]string{"TLS_CA": certFile}, tls: true, roots: true},
		{name: "mTLS", env: map[string]string{"TLS_CERT": certFile, "TLS_KEY": keyFile, "TLS_CA": certFile, "TLS_SERVER_NAME": "ns.tmprl.cloud"},
			tls: true, certs: 1, roots: true},
		{name: "cert without key", env: map[string]string{"TLS_CERT": certFile},
			wantErr: "temporal.tls_cert and temporal.tls_key (AFFRELAY_TEMPORAL_TLS_CERT, AFFRELAY_TEMPORAL_TLS_KEY): set both for mTLS, or neither"},
		{name: "key without cert", env: map[string]string{"TLS_KEY": keyFile}, wantErr: "set both for mTLS, or neither"},
		{name: "unreadable CA", env: map[string]string{"TLS_CA": missing}, wantErr: "temporal.tls_ca (AFFRELAY_TEMPORAL_TLS_CA): open " + missing},
		{name: "CA without a certificate", env: map[string]string{"TLS_CA": garbage}, wantErr: "temporal.tls_ca (AFFRELAY_TEMPORAL_TLS_CA): " + garbage + " holds no PEM certificate"},
		{name: "unreadable cert", env: map[string]string{"TLS_CERT": missing, "TLS_KEY": keyFile}, wantErr: "temporal.tls_cert (AFFRELAY_TEMPORAL_TLS_CERT): open " + missing},
		{name: "unreadable key", env: map[string]string{"TLS_CERT": certFile, "TLS_KEY": missing}, wantErr: "temporal.tls_key (AFFRELAY_TEMPORAL_TLS_KEY): open " + missing},
		{name: "key not matching", env: map[string]string{"TLS_CERT": certFile, "TLS_KEY": garbage}, wantErr: "temporal.tls_cert / temporal.tls_key"},
		{name: "server name without TLS", env: map[string]string{"TLS_SERVER_NAME": "x"}, wantErr: "temporal.tls_server_name (AFFRELAY_TEMPORAL_TLS_SERVER_NAME): set, but TLS is off"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			t.Setenv("AFFRELAY_ADMIN_TOKEN", validToken)
			for k, v := range tt.env {
				t.Setenv("AFFRELAY_TEMPORAL_"+k, v)
			}
			c, err := Load(nil)
			require.NoError(t, err)
			err = c.Validate(false)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			cfg, err := c.Temporal.ClientTLS()
			require.NoError(t, err)
			require.Equal(t, tt.tls, cfg != nil)
			if cfg == nil {
				return
			}
			require.Len(t, cfg.Certificates, tt.certs)
			require.Equal(t, tt.roots, cfg.RootCAs != nil)
			require.Equal(t, tt.env["TLS_SERVER_NAME"], cfg.ServerName)
		})
	}
}

func TestTelemetrySettings(t *testing.T) {
	for _, tt := range []struct {
		key, value, wantErr string
	}{
		{"METRICS_ADDR", ":9090", ""},
		{"METRICS_ADDR", "9090", `metrics.addr (AFFRELAY_METRICS_ADDR): "9090" is not host:port`},
		{"TRACING_OTLP_ENDPOINT", "http://127.0.0.1:4318", ""},
		{"TRACING_OTLP_ENDPOINT", "127.0.0.1:4318", "tracing.otlp_endpoint (AFFRELAY_TRACING_OTLP_ENDPOINT)"},
		{"TRACING_SAMPLE_RATIO", "0.25", ""},
		{"TRACING_SAMPLE_RATIO", "1.5", "tracing.sample_ratio (AFFRELAY_TRACING_SAMPLE_RATIO): 1.5 is not between 0 and 1"},
	} {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			isolate(t)
			t.Setenv("AFFRELAY_ADMIN_TOKEN", validToken)
			t.Setenv("AFFRELAY_"+tt.key, tt.value)
			c, err := Load(nil)
			require.NoError(t, err)
			if err := c.Validate(false); tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
		})
	}
}
