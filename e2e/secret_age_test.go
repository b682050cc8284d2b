package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/config"
	"github.com/affrelay/affrelay/store"
)

// TestSecretExpiring: with the secret-age clock moved 77 days forward by configuration, a signing secret and
// a webhook secret of the default 90-day maximum age are announced by secret.expiring (once, marked on the
// secret), and the integration shows the secret's age; a secret whose integration allows 365 days is not.
func TestSecretExpiring(t *testing.T) {
	aged := func(c *config.Config) {
		c.Security.SecretClockOffset = 77 * 24 * time.Hour
		c.Security.SecretCheckInterval = 200 * time.Millisecond
	}
	forEachStore(t, shortPolicy(2), func(t *testing.T, e *testEnv) {
		ops := newWebhookReceiver(t, always(http.StatusOK))
		subscriptionID, opsSecret := e.subscribe("webhook", ops.srv.URL, "secret.expiring")
		_, quarterly, _ := e.setup(ops.srv.URL)
		_, yearly, _ := e.setup(ops.srv.URL)
		r := e.admin("PATCH", "/v1/admin/integrations/"+yearly, map[string]any{"secret_max_age_days": 365})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.EqualValues(t, 365, r.Body["security"].(map[string]any)["secret_max_age_days"])
		secretIDs := map[string]string{}
		for _, id := range []string{quarterly, yearly} {
			r := e.admin("POST", "/v1/admin/integrations/"+id+"/secrets", nil)
			require.Equal(t, http.StatusCreated, r.Status, r.Raw)
			secretIDs[id] = r.Body["id"].(string)
		}

		eventually(t, 20*time.Second, "secret.expiring of the signing secret and the webhook secret", func() bool {
			return len(ops.ofType("secret.expiring")) >= 2
		})
		got := map[string]map[string]any{}
		for _, w := range ops.ofType("secret.expiring") {
			require.NoError(t, verify(t, opsSecret, w))
			d := data(t, w)
			got[d["kind"].(string)] = d
		}
		require.Len(t, got, 2, "one announcement per secret")
		signing := got["signing_secret"]
		require.Equal(t, secretIDs[quarterly], signing["secret_id"])
		require.Equal(t, quarterly, signing["integration_id"])
		require.EqualValues(t, 77, signing["age_days"])
		require.EqualValues(t, 90, signing["max_age_days"])
		hook := got["webhook_secret"]
		require.Equal(t, subscriptionID, hook["subscription_id"])
		require.EqualValues(t, 77, hook["age_days"], hook)

		// The integration shows each secret's age; the announcement is marked, so it is not made again.
		r = e.admin("GET", "/v1/admin/integrations/"+quarterly, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		secrets := r.Body["signing_secrets"].([]any)
		require.Len(t, secrets, 1)
		s := secrets[0].(map[string]any)
		require.EqualValues(t, 77, s["age_days"])
		require.NotEmpty(t, s["expiring_announced_at"])
		require.NotEmpty(t, s["expires_at"], "a signing secret ends at its maximum age")
		r = e.admin("GET", "/v1/admin/integrations/"+yearly+"/secrets", nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Nil(t, r.Body["secrets"].([]any)[0].(map[string]any)["expiring_announced_at"])
		require.EqualValues(t, 2, e.count(&store.Delivery{}, "event_type = ?", "secret.expiring"))
	}, aged)
}

// TestWebhookSecretPastItsMaximumAgeStillSigns: a subscription's secret is not cut off at its maximum age (its
// receiver verifies with it, and a subscription without a secret could not send), so one first seen past it,
// 100 days old against the default 90, is announced by secret.expiring then, and goes on signing until it is
// rotated.
func TestWebhookSecretPastItsMaximumAgeStillSigns(t *testing.T) {
	forEachStore(t, shortPolicy(2), func(t *testing.T, e *testEnv) {
		ops := newWebhookReceiver(t, always(http.StatusOK))
		subscriptionID, secret := e.subscribe("webhook", ops.srv.URL, "secret.expiring", "affiliate.created")
		aged := e.app.Store.DB.Model(&store.WebhookSecret{}).Where("subscription_id = ?", subscriptionID).
			Update("created_at", time.Now().AddDate(0, 0, -100).UTC())
		require.NoError(t, aged.Error)
		require.EqualValues(t, 1, aged.RowsAffected)

		eventually(t, 20*time.Second, "secret.expiring of the old webhook secret", func() bool { return len(ops.ofType("secret.expiring")) == 1 })
		expiring := ops.ofType("secret.expiring")[0]
		require.NoError(t, verify(t, secret, expiring), "announced signed with the old secret itself")
		d := data(t, expiring)
		require.Equal(t, "webhook_secret", d["kind"])
		require.Equal(t, subscriptionID, d["subscription_id"])
		require.EqualValues(t, 100, d["age_days"])

		e.signUp("After The Maximum Age")
		eventually(t, 20*time.Second, "affiliate.created", func() bool { return len(ops.ofType("affiliate.created")) == 1 })
		require.NoError(t, verify(t, secret, ops.ofType("affiliate.created")[0]), "still signed with the secret past its maximum age")
	}, func(c *config.Config) { c.Security.SecretCheckInterval = 200 * time.Millisecond })
}
