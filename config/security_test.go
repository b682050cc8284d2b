package config

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSecurityDefaults(t *testing.T) {
	c, err := Load(nil)
	require.NoError(t, err)
	require.Empty(t, c.HTTP.TrustedProxies, "no proxy is trusted by default")
	require.Empty(t, c.HTTP.TLSCert)
	require.Equal(t, Security{RateLimitRPS: 50, RateLimitBurst: 100, ClickRateLimitRPS: 5, ClickRateLimitBurst: 50, SignatureTolerance: 5 * time.Minute, AuditRetention: 720 * time.Hour, RequestRetention: 9600 * time.Hour,
		SecretMaxAge: 90 * 24 * time.Hour, SecretExpiryWarning: 14 * 24 * time.Hour, SecretCheckInterval: time.Hour}, c.Security)
}

func TestSecurityFromEnv(t *testing.T) {
	t.Setenv("AFFRELAY_HTTP_TRUSTED_PROXIES", "10.0.0.0/8, fd00::/8")
	t.Setenv("AFFRELAY_RATE_LIMIT_RPS", "2.5")
	t.Setenv("AFFRELAY_RATE_LIMIT_BURST", "7")
	t.Setenv("AFFRELAY_CLICK_RATE_LIMIT_RPS", "0.5")
	t.Setenv("AFFRELAY_CLICK_RATE_LIMIT_BURST", "3")
	t.Setenv("AFFRELAY_SIGNATURE_TOLERANCE", "90s")
	t.Setenv("AFFRELAY_AUDIT_RETENTION", "48h")
	t.Setenv("AFFRELAY_SECRET_MAX_AGE", "720h")
	t.Setenv("AFFRELAY_SECRET_EXPIRY_WARNING", "168h")
	t.Setenv("AFFRELAY_SECRET_CHECK_INTERVAL", "10m")
	t.Setenv("AFFRELAY_SECRET_CLOCK_OFFSET", "1848h")
	c, err := Load(nil)
	require.NoError(t, err)
	require.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}, c.HTTP.TrustedProxies)
	require.Equal(t, Security{RateLimitRPS: 2.5, RateLimitBurst: 7, ClickRateLimitRPS: 0.5, ClickRateLimitBurst: 3, SignatureTolerance: 90 * time.Second, AuditRetention: 48 * time.Hour, RequestRetention: 9600 * time.Hour,
		SecretMaxAge: 720 * time.Hour, SecretExpiryWarning: 168 * time.Hour, SecretCheckInterval: 10 * time.Minute, SecretClockOffset: 77 * 24 * time.Hour}, c.Security)
}

func TestSecretWarningShorterThanMaxAge(t *testing.T) {
	t.Setenv("AFFRELAY_SECRET_MAX_AGE", "240h")
	t.Setenv("AFFRELAY_SECRET_EXPIRY_WARNING", "240h")
	c, err := Load(nil)
	require.NoError(t, err)
	require.ErrorContains(t, c.Validate(false), "secret.expiry_warning (AFFRELAY_SECRET_EXPIRY_WARNING): must be shorter than secret.max_age")
}

func TestSecurityErrorsNameTheEnvKey(t *testing.T) {
	t.Setenv("AFFRELAY_HTTP_TRUSTED_PROXIES", "10.0.0.0/33")
	t.Setenv("AFFRELAY_AUDIT_RETENTION", "30d")
	_, err := Load(nil)
	require.ErrorContains(t, err, "AFFRELAY_HTTP_TRUSTED_PROXIES")
	require.ErrorContains(t, err, "AFFRELAY_AUDIT_RETENTION")

	t.Setenv("AFFRELAY_HTTP_TRUSTED_PROXIES", "")
	t.Setenv("AFFRELAY_AUDIT_RETENTION", "24h")
	t.Setenv("AFFRELAY_HTTP_TLS_CERT", "/etc/affrelay/cert.pem")
	t.Setenv("AFFRELAY_RATE_LIMIT_BURST", "0")
	c, err := Load(nil)
	require.NoError(t, err)
	err = c.Validate(true)
	require.ErrorContains(t, err, "AFFRELAY_HTTP_TLS_KEY")
	require.ErrorContains(t, err, "AFFRELAY_RATE_LIMIT_BURST")
}
