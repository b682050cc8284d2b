package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/config"
	"github.com/affrelay/affrelay/internal/testcert"
	"github.com/affrelay/affrelay/store"
)

// selfSignedCert writes a fresh certificate for 127.0.0.1 and its key as PEM files and returns their paths
// and a pool that trusts the certificate.
func selfSignedCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	return testcert.SelfSigned(t, "affrelay e2e")
}

func TestTLSOnly(t *testing.T) {
	certFile, keyFile, pool := selfSignedCert(t)
	forEachStoreWith(t, func(c *config.Config) { c.HTTP.TLSCert, c.HTTP.TLSKey = certFile, keyFile }, func(t *testing.T, e *testEnv) {
		require.True(t, strings.HasPrefix(e.base, "https://"))
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		resp, err := client.Get(e.base + "/healthz")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.GreaterOrEqual(t, resp.TLS.Version, uint16(tls.VersionTLS12))

		// A postback over HTTPS is accepted.
		req, _ := http.NewRequest("POST", e.base+"/v1/admin/integrations", strings.NewReader(`{"name":"tls-casino"}`))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err = client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusCreated, resp.StatusCode)

		// TLS 1.1 and plain HTTP are refused.
		old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}}}
		_, err = old.Get(e.base + "/healthz")
		require.ErrorContains(t, err, "protocol version")
		resp, err = http.Get("http://" + e.app.Addr + "/healthz")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "Go's TLS server answers plain HTTP with 400 and serves nothing")
	})
}

// TestClientIPBehindTrustedProxy: with the test's own address as a trusted proxy, X-Forwarded-For is read
// right to left, so a client cannot pass the allowlist by writing an allowed address at the left.
func TestClientIPBehindTrustedProxy(t *testing.T) {
	trust := func(c *config.Config) { c.HTTP.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} }
	forEachStoreWith(t, trust, func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(200))
		key, integrationID, affiliateID := e.setup(tracker.srv.URL)
		r := e.admin("PATCH", "/v1/admin/integrations/"+integrationID, map[string]any{"ip_allowlist": []string{"203.0.113.0/24"}})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		q := ftd("evt-proxy", affiliateID).Encode()
		for xff, want := range map[string]int{
			"":                          403, // the proxy itself is not allowed
			"198.51.100.1":              403,
			"203.0.113.7, 198.51.100.1": 403, // the client wrote the allowed address
			"garbage, 203.0.113.7":      200,
			"203.0.113.7":               200,
		} {
			h := map[string]string{"X-API-Key": key}
			if xff != "" {
				h["X-Forwarded-For"] = xff
			}
			r := e.do("GET", "/v1/postbacks?"+q, h, nil)
			require.Equal(t, want, r.Status, "X-Forwarded-For %q: %s", xff, r.Raw)
		}
		eventually(t, 10*time.Second, "the conversion", func() bool { return e.count(&store.Conversion{}, "event_id = ?", "evt-proxy") == 1 })
		eventually(t, 10*time.Second, "the audit rows", func() bool {
			return e.count(&store.AuditRecord{}, "path = ? AND client_ip = ? AND status = ?", "/v1/postbacks", "203.0.113.7", 200) == 2 &&
				e.count(&store.AuditRecord{}, "path = ? AND client_ip = ? AND status = ?", "/v1/postbacks", "198.51.100.1", 403) == 2 &&
				e.count(&store.AuditRecord{}, "path = ? AND client_ip = ? AND status = ?", "/v1/postbacks", "127.0.0.1", 403) == 1
		})
	})
}

var docExample = regexp.MustCompile("(?s)<!-- example: ([a-z-]+) -->\n```[a-z]+\n(.*?)```")

// TestSecurityDocExamples runs the signing examples of docs/security.md verbatim against the server.
func TestSecurityDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/security.md")
	require.NoError(t, err)
	examples := map[string]string{}
	for _, m := range docExample.FindAllStringSubmatch(string(doc), -1) {
		examples[m[1]] = m[2]
	}
	require.Len(t, examples, 4)
	e := startApp(t, "sqlite", shortPolicy(1))
	tracker := newSink(t, always(200))
	key, integrationID, _ := e.setup(tracker.srv.URL)
	r := e.admin("POST", "/v1/admin/integrations/"+integrationID+"/secrets", nil)
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	env := append(os.Environ(), "AFFRELAY_URL="+e.base, "AFFRELAY_API_KEY="+key, "AFFRELAY_SECRET="+r.Body["secret"].(string))

	run := func(name string, cmd *exec.Cmd, eventID string) {
		t.Helper()
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s: %s", name, out)
		require.Contains(t, string(out), `"status":"accepted"`, name)
		require.Contains(t, string(out), `"event_id":"`+eventID+`"`, name)
		t.Logf("%s: %s", name, strings.TrimSpace(string(out)))
	}
	run("standard-webhooks-shell", exec.Command("bash", "-c", "set -euo pipefail\n"+examples["standard-webhooks-shell"]), "evt-1001")
	goFile := filepath.Join(t.TempDir(), "main.go")
	require.NoError(t, os.WriteFile(goFile, []byte(examples["standard-webhooks-go"]), 0o600))
	run("standard-webhooks-go", exec.Command("go", "run", goFile), "evt-1002")

	r = e.admin("PATCH", "/v1/admin/integrations/"+integrationID, map[string]any{"signature_scheme": "hmac-sha256", "signature_header": "X-Signature"})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	run("hmac-get-shell", exec.Command("bash", "-c", "set -euo pipefail\n"+examples["hmac-get-shell"]), "evt-1003")
	run("hmac-post-shell", exec.Command("bash", "-c", "set -euo pipefail\n"+examples["hmac-post-shell"]), "evt-1004")
	eventually(t, 10*time.Second, "the four examples recorded", func() bool {
		return e.count(&store.Conversion{}, "event_id IN ?", []string{"evt-1001", "evt-1002", "evt-1003", "evt-1004"}) == 4
	})
}
