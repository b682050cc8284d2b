package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/seal"
	"github.com/affrelay/affrelay/store"
)

// Signing secrets, webhook secrets and the reconciliation pull's auth value are sealed at rest: no text column
// of the database holds one the test created, a value found in clear (from before sealing) is sealed by
// rotate-key, and after a rotation to a new key every value is under it and signed postbacks still verify.
func TestSecretsAtRestAreSealed(t *testing.T) {
	forEachStore(t, shortPolicy(3), func(t *testing.T, env *testEnv) {
		sink := newSink(t, always(http.StatusOK))
		apiKey, integrationID, affiliateID := env.setup(sink.srv.URL)
		r := env.admin("POST", "/v1/admin/integrations/"+integrationID+"/secrets", map[string]any{})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		signingSecret := r.Body["secret"].(string)
		r = env.admin("POST", "/v1/admin/webhooks", map[string]any{"kind": "webhook", "url": sink.srv.URL + "/hook", "events": []string{"conversion.recorded"}})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		webhookSecret := r.Body["secret"].(string)
		pullSecret := "operator-pull-secret-" + store.NewID("x")
		r = env.admin("PUT", "/v1/admin/integrations/"+integrationID+"/reconciliation/pull-settings", map[string]any{
			"url_template": sink.srv.URL + "/revenue?day={date}", "auth_header": "X-Operator-Key", "auth_value": pullSecret, "cron": "0 3 * * *",
		})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		secrets := []string{signingSecret, webhookSecret, pullSecret, strings.TrimPrefix(signingSecret, "whsec_"), strings.TrimPrefix(webhookSecret, "whsec_")}
		requireNoSecretInClear(t, env, secrets)

		signedPostback := func(eventID string) response {
			body := fmt.Sprintf(`{"event_id":%q,"event":"ftd","affiliate_id":%q,"amount":"10.00","currency":"USD"}`, eventID, affiliateID)
			h := withHeaders(swHeaders(t, signingSecret, "msg-"+eventID, time.Now(), body), map[string]string{"X-API-Key": apiKey, "Content-Type": "application/json"})
			return env.do("POST", "/v1/postbacks", h, strings.NewReader(body))
		}
		require.Equal(t, http.StatusOK, signedPostback("sealed-1").Status)

		// A value stored in clear (as before sealing existed) is sealed by the next re-seal.
		require.NoError(t, env.app.Store.DB.Exec("UPDATE reconciliation_pulls SET auth_value = ? WHERE integration_id = ?", pullSecret, integrationID).Error)
		r = env.admin("POST", "/v1/admin/secrets/rotate-key", nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, map[string]any{"reconciliation_pulls.auth_value": float64(1)}, r.Body["resealed"])
		requireNoSecretInClear(t, env, secrets)

		// The operator adds k2, makes it current and restarts (here: the process's keyring), then rotates.
		k2, err := seal.GenerateKey("k2")
		require.NoError(t, err)
		keys, err := seal.ParseKeys(testSecretsKey + "," + k2)
		require.NoError(t, err)
		rotated, err := seal.NewKeyring("k2", keys)
		require.NoError(t, err)
		store.UseKeyring(rotated)
		out, err := env.ops("rotate-key")
		require.NoError(t, err, out)
		for _, line := range []string{"reconciliation_pulls.auth_value  1", "signing_secrets.secret           1", "webhook_secrets.secret           1"} {
			require.Contains(t, out, line)
		}
		for _, q := range []string{"SELECT secret FROM signing_secrets", "SELECT secret FROM webhook_secrets", "SELECT auth_value FROM reconciliation_pulls"} {
			var values []string
			require.NoError(t, env.app.Store.DB.Raw(q).Scan(&values).Error)
			for _, v := range values {
				require.True(t, strings.HasPrefix(v, "sealed:v1:k2:"), "%s: %.20s…", q, v)
			}
		}
		out, err = env.ops("rotate-key")
		require.NoError(t, err, out)
		require.Contains(t, out, "every secret is sealed under the current key already")
		requireNoSecretInClear(t, env, secrets)
		require.Equal(t, http.StatusOK, signedPostback("sealed-2").Status, "signing works after the rotation")
	})
}

// requireNoSecretInClear reads every row of every table and fails when a text value contains one of secrets.
func requireNoSecretInClear(t *testing.T, env *testEnv, secrets []string) {
	t.Helper()
	db := env.app.Store.DB
	tables, err := db.Migrator().GetTables()
	require.NoError(t, err)
	scanned := 0
	for _, table := range tables {
		var rows []map[string]any
		require.NoError(t, db.Table(table).Find(&rows).Error)
		for _, row := range rows {
			for col, v := range row {
				var text string
				switch x := v.(type) {
				case string:
					text = x
				case []byte:
					text = string(x)
				default:
					continue
				}
				scanned++
				for _, s := range secrets {
					require.NotContains(t, text, s, "%s.%s holds a secret in clear", table, col)
				}
			}
		}
	}
	require.NotZero(t, scanned)
}
