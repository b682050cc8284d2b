package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/affrelay/affrelay/config"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
)

// forEachStoreWith is forEachStore with a configuration tweak.
func forEachStoreWith(t *testing.T, tweak func(*config.Config), test func(t *testing.T, e *testEnv)) {
	for _, driver := range stores() {
		t.Run(driver, func(t *testing.T) {
			test(t, startApp(t, driver, retrypolicy.DefaultPolicy(), tweak))
		})
	}
}

// The signatures below are computed here, by hand, from the published schemes — not with the signing package.

// swHeaders signs body the Standard Webhooks way with a whsec_ secret.
func swHeaders(t *testing.T, secret, msgID string, ts time.Time, body string) map[string]string {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	require.NoError(t, err)
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID + "." + stamp + "." + body))
	return map[string]string{
		"webhook-id": msgID, "webhook-timestamp": stamp,
		"webhook-signature": "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)),
	}
}

func hexHMAC(secret, payload string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(payload))
	return hex.EncodeToString(mac.Sum(nil))
}

func withHeaders(base map[string]string, more map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

// workflowCount counts the workflows Temporal holds on this app's task queue.
func (e *testEnv) workflowCount() int64 {
	e.t.Helper()
	resp, err := e.app.Temporal.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{
		Query: fmt.Sprintf("TaskQueue = '%s' AND WorkflowType = 'ConversionWorkflow'", e.app.Config.Temporal.TaskQueue),
	})
	require.NoError(e.t, err)
	return resp.Count
}

func errorCode(t *testing.T, r response) string {
	t.Helper()
	errBody, ok := r.Body["error"].(map[string]any)
	require.True(t, ok, "error shape: %s", r.Raw)
	require.NotEmpty(t, errBody["message"], r.Raw)
	return errBody["code"].(string)
}

// TestSecurityRejectionsChangeNothing tries each attack on the inbound path and checks that each gets its
// status and error code, and that none of them writes a conversion or starts a workflow.
func TestSecurityRejectionsChangeNothing(t *testing.T) {
	forEachStoreWith(t, nil, func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(200))
		key, integrationID, affiliateID := e.setup(tracker.srv.URL)
		accepted := 0
		accept := func(r response, eventID string) {
			t.Helper()
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			require.Equal(t, "accepted", r.Body["status"], r.Raw)
			require.True(t, e.workflowExists("conversion:"+integrationID+":"+eventID))
			accepted++
		}
		type attempt struct {
			name    string
			method  string
			path    string
			header  map[string]string
			body    string
			status  int
			code    string
			eventID string // must never reach Temporal or the database
		}
		refused, lastRequestID := 0, ""
		// try sends an attack and checks its answer, and that it wrote no row and started no workflow.
		try := func(a attempt) {
			t.Helper()
			// Accepted events are recorded by their workflow, a moment after the answer: let them land first.
			eventually(t, 10*time.Second, "the accepted events recorded", func() bool {
				return e.count(&store.Conversion{}, "1 = 1") == int64(accepted)
			})
			rowsBefore := e.count(&store.Conversion{}, "1 = 1")
			r := e.do(a.method, a.path, a.header, strings.NewReader(a.body))
			require.Equal(t, a.status, r.Status, a.name+": "+r.Raw)
			require.Equal(t, a.code, errorCode(t, r), a.name)
			require.NotEmpty(t, r.Header.Get("X-Request-Id"), a.name)
			lastRequestID = r.Header.Get("X-Request-Id")
			require.Equal(t, rowsBefore, e.count(&store.Conversion{}, "1 = 1"), a.name)
			require.EqualValues(t, 0, e.count(&store.Conversion{}, "event_id = ?", a.eventID), a.name)
			require.False(t, e.workflowExists("conversion:"+integrationID+":"+a.eventID), a.name)
			refused++
		}
		jsonKey := map[string]string{"X-API-Key": key, "Content-Type": "application/json"}
		body := func(eventID string) string {
			return `{"event_id":"` + eventID + `","event":"ftd","affiliate_id":"` + affiliateID + `","amount":"50.00","currency":"EUR"}`
		}

		// API keys: a second key works; revoked, it fails at once; the query token is off by default.
		r := e.admin("POST", "/v1/admin/integrations/"+integrationID+"/keys", map[string]any{"label": "backup"})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		key2, key2ID := r.Body["api_key"].(string), r.Body["id"].(string)
		accept(e.postback(key2, ftd("evt-key2", affiliateID)), "evt-key2")
		r = e.admin("DELETE", "/v1/admin/integrations/"+integrationID+"/keys/"+key2ID, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.NotEmpty(t, r.Body["revoked_at"])
		keys := e.admin("GET", "/v1/admin/integrations/"+integrationID+"/keys", nil)
		require.Len(t, keys.Body["keys"], 2)
		require.NotContains(t, keys.Raw, key2)
		require.NotContains(t, keys.Raw, key)
		q := ftd("evt-revoked", affiliateID)
		try(attempt{"revoked key", "GET", "/v1/postbacks?" + q.Encode(), map[string]string{"X-API-Key": key2}, "", 401, "unauthorized", "evt-revoked"})
		q = ftd("evt-token", affiliateID)
		q.Set("token", key)
		try(attempt{"query token not enabled", "GET", "/v1/postbacks?" + q.Encode(), nil, "", 401, "unauthorized", "evt-token"})
		q = ftd("evt-badtoken", affiliateID)
		q.Set("token", key+"x")
		try(attempt{"wrong query token", "GET", "/v1/postbacks?" + q.Encode(), nil, "", 401, "unauthorized", "evt-badtoken"})

		// Size, shape: refused before anything is parsed.
		try(attempt{"oversized body", "POST", "/v1/postbacks", jsonKey, body("evt-big")[:20] + strings.Repeat("a", 2<<20) + `"}`, 413, "body_too_large", "evt-big"})
		try(attempt{"xml", "POST", "/v1/postbacks", withHeaders(jsonKey, map[string]string{"Content-Type": "application/xml"}), "<event_id>evt-xml</event_id>", 415, "unsupported_media_type", "evt-xml"})
		try(attempt{"broken json", "POST", "/v1/postbacks", jsonKey, body("evt-broken")[:30], 400, "malformed_body", "evt-broken"})

		// IP allowlist: 127.0.0.1 is outside; a forged X-Forwarded-For is ignored (no proxy is trusted).
		r = e.admin("PATCH", "/v1/admin/integrations/"+integrationID, map[string]any{"ip_allowlist": []string{"203.0.113.0/24", "2001:db8::/32"}})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, []any{"203.0.113.0/24", "2001:db8::/32"}, r.Body["security"].(map[string]any)["ip_allowlist"])
		q = ftd("evt-ip", affiliateID)
		try(attempt{"outside allowlist", "GET", "/v1/postbacks?" + q.Encode(), map[string]string{"X-API-Key": key}, "", 403, "ip_not_allowed", "evt-ip"})
		try(attempt{"forged X-Forwarded-For", "GET", "/v1/postbacks?" + q.Encode(), map[string]string{"X-API-Key": key, "X-Forwarded-For": "203.0.113.7"}, "", 403, "ip_not_allowed", "evt-ip"})
		r = e.admin("PATCH", "/v1/admin/integrations/"+integrationID, map[string]any{"ip_allowlist": []string{"127.0.0.0/8", "::1"}})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		accept(e.postback(key, ftd("evt-ip-ok", affiliateID)), "evt-ip-ok")

		// A GET-only sender: the key as a query token, once the integration allows it.
		r = e.admin("PATCH", "/v1/admin/integrations/"+integrationID, map[string]any{"allow_query_token": true})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		q = ftd("evt-token-ok", affiliateID)
		q.Set("token", key)
		accept(e.do("GET", "/v1/postbacks?"+q.Encode(), nil, nil), "evt-token-ok")

		// Signatures: once a secret exists, unsigned and wrongly signed requests are refused.
		r = e.admin("POST", "/v1/admin/integrations/"+integrationID+"/secrets", nil)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		secret1, secret1ID := r.Body["secret"].(string), r.Body["id"].(string)
		require.True(t, strings.HasPrefix(secret1, "whsec_"))
		now := time.Now()
		b := body("evt-sig")
		try(attempt{"unsigned", "POST", "/v1/postbacks", jsonKey, b, 401, "missing_signature", "evt-sig"})
		try(attempt{"unsigned GET", "GET", "/v1/postbacks?" + ftd("evt-sig", affiliateID).Encode(), map[string]string{"X-API-Key": key}, "", 401, "missing_signature", "evt-sig"})
		try(attempt{"wrong secret", "POST", "/v1/postbacks", withHeaders(jsonKey, swHeaders(t, "whsec_"+base64.StdEncoding.EncodeToString([]byte("not-the-secret-at-all-0000")), "msg_1", now, b)), b, 401, "invalid_signature", "evt-sig"})
		tampered := strings.Replace(b, "50.00", "5000.00", 1)
		try(attempt{"tampered body", "POST", "/v1/postbacks", withHeaders(jsonKey, swHeaders(t, secret1, "msg_1", now, b)), tampered, 401, "invalid_signature", "evt-sig"})
		try(attempt{"whitespace added to the body", "POST", "/v1/postbacks", withHeaders(jsonKey, swHeaders(t, secret1, "msg_1", now, b)), b + "\n", 401, "invalid_signature", "evt-sig"})
		try(attempt{"stale timestamp (replay)", "POST", "/v1/postbacks", withHeaders(jsonKey, swHeaders(t, secret1, "msg_1", now.Add(-6*time.Minute), b)), b, 401, "stale_timestamp", "evt-sig"})
		try(attempt{"future timestamp", "POST", "/v1/postbacks", withHeaders(jsonKey, swHeaders(t, secret1, "msg_1", now.Add(6*time.Minute), b)), b, 401, "stale_timestamp", "evt-sig"})
		try(attempt{"unsigned query field on a signed POST", "POST", "/v1/postbacks?affiliate_id=aff_attacker", withHeaders(jsonKey, swHeaders(t, secret1, "msg_1", now, b)), b, 400, "unsigned_query", "evt-sig"})
		try(attempt{"Standard Webhooks GET: the query is not signed", "GET", "/v1/postbacks?" + ftd("evt-sig", affiliateID).Encode(), withHeaders(map[string]string{"X-API-Key": key}, swHeaders(t, secret1, "msg_g", now, "")), "", 400, "unsigned_query", "evt-sig"})
		try(attempt{"signed, but no key", "POST", "/v1/postbacks", withHeaders(map[string]string{"Content-Type": "application/json"}, swHeaders(t, secret1, "msg_1", now, b)), b, 401, "unauthorized", "evt-sig"})
		accept(e.do("POST", "/v1/postbacks", withHeaders(jsonKey, swHeaders(t, secret1, "msg_1", now, b)), strings.NewReader(b)), "evt-sig")
		// Replaying the captured request within the tolerance: recognised by event id, nothing new is written.
		replay := e.do("POST", "/v1/postbacks", withHeaders(jsonKey, swHeaders(t, secret1, "msg_1", now, b)), strings.NewReader(b))
		require.Equal(t, http.StatusOK, replay.Status, replay.Raw)
		require.Equal(t, "duplicate", replay.Body["status"])

		// Rotation: a second secret; both work; the first, ended, fails at once.
		r = e.admin("POST", "/v1/admin/integrations/"+integrationID+"/secrets", map[string]any{"expires_at": time.Now().Add(90 * 24 * time.Hour).UTC().Format(time.RFC3339)})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		secret2 := r.Body["secret"].(string)
		var sentSignatures []string
		for i, s := range []string{secret1, secret2} {
			id := fmt.Sprintf("evt-rot-%d", i)
			signed := swHeaders(t, s, "msg_r", time.Now(), body(id))
			sentSignatures = append(sentSignatures, strings.TrimPrefix(signed["webhook-signature"], "v1,"))
			accept(e.do("POST", "/v1/postbacks", withHeaders(jsonKey, signed), strings.NewReader(body(id))), id)
		}
		r = e.admin("DELETE", "/v1/admin/integrations/"+integrationID+"/secrets/"+secret1ID, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		try(attempt{"expired secret", "POST", "/v1/postbacks", withHeaders(jsonKey, swHeaders(t, secret1, "msg_x", time.Now(), body("evt-old"))), body("evt-old"), 401, "invalid_signature", "evt-old"})
		secrets := e.admin("GET", "/v1/admin/integrations/"+integrationID+"/secrets", nil)
		require.Len(t, secrets.Body["secrets"], 2)
		require.NotContains(t, secrets.Raw, secret1)
		require.NotContains(t, secrets.Raw, secret2)
		require.Equal(t, 400, e.admin("POST", "/v1/admin/integrations/"+integrationID+"/secrets", map[string]any{"expires_at": "2020-01-01T00:00:00Z"}).Status)

		// hmac-sha256 with a timestamp: GET signs the query string, POST signs "<timestamp>.<body>".
		r = e.admin("PATCH", "/v1/admin/integrations/"+integrationID, map[string]any{"signature_scheme": "hmac-sha256", "signature_header": "x-partner-signature", "tolerance_seconds": 60})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, "X-Partner-Signature", r.Body["security"].(map[string]any)["signature_header"])
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		query := "event_id=evt-hget&event=registration&affiliate_id=" + affiliateID + "&timestamp=" + ts
		sig := hexHMAC(secret2, query)
		try(attempt{"hmac GET, tampered query", "GET", "/v1/postbacks?" + strings.Replace(query, "registration", "ftd", 1) + "&signature=" + sig, map[string]string{"X-API-Key": key}, "", 401, "invalid_signature", "evt-hget"})
		try(attempt{"hmac GET, parameter added", "GET", "/v1/postbacks?" + query + "&amount=900.00&currency=EUR&signature=" + sig, map[string]string{"X-API-Key": key}, "", 401, "invalid_signature", "evt-hget"})
		try(attempt{"hmac GET, no timestamp", "GET", "/v1/postbacks?event_id=evt-hget&event=registration&signature=" + hexHMAC(secret2, "event_id=evt-hget&event=registration"), map[string]string{"X-API-Key": key}, "", 401, "missing_signature", "evt-hget"})
		oldTS := strconv.FormatInt(time.Now().Add(-2*time.Minute).Unix(), 10)
		oldQuery := "event_id=evt-hget&event=registration&timestamp=" + oldTS
		try(attempt{"hmac GET, beyond the 60 s tolerance", "GET", "/v1/postbacks?" + oldQuery + "&signature=" + hexHMAC(secret2, oldQuery), map[string]string{"X-API-Key": key}, "", 401, "stale_timestamp", "evt-hget"})
		try(attempt{"hmac GET, old Standard Webhooks signature", "GET", "/v1/postbacks?" + query, withHeaders(map[string]string{"X-API-Key": key}, swHeaders(t, secret2, "m", time.Now(), "")), "", 401, "missing_signature", "evt-hget"})
		accept(e.do("GET", "/v1/postbacks?"+query+"&signature="+sig, map[string]string{"X-API-Key": key}, nil), "evt-hget")
		hb := body("evt-hpost")
		try(attempt{"hmac POST, signature over the body without timestamp", "POST", "/v1/postbacks", withHeaders(jsonKey, map[string]string{"X-Timestamp": ts, "X-Partner-Signature": "sha256=" + hexHMAC(secret2, hb)}), hb, 401, "invalid_signature", "evt-hpost"})
		try(attempt{"hmac POST, signature in the default header only", "POST", "/v1/postbacks", withHeaders(jsonKey, map[string]string{"X-Timestamp": ts, "X-Signature": "sha256=" + hexHMAC(secret2, ts+"."+hb)}), hb, 401, "missing_signature", "evt-hpost"})
		accept(e.do("POST", "/v1/postbacks", withHeaders(jsonKey, map[string]string{"X-Timestamp": ts, "X-Partner-Signature": "sha256=" + hexHMAC(secret2, ts+"."+hb)}), strings.NewReader(hb)), "evt-hpost")

		// Bad settings are refused by field.
		for field, value := range map[string]any{
			"ip_allowlist": []string{"10.0.0.0/33"}, "signature_scheme": "md5", "signature_header": "X-API-Key",
			"tolerance_seconds": -1, "rate_limit_rps": -1, "rate_limit_burst": 1 << 30,
		} {
			r := e.admin("PATCH", "/v1/admin/integrations/"+integrationID, map[string]any{field: value})
			require.Equal(t, 400, r.Status, field+": "+r.Raw)
			require.Equal(t, field, r.Body["error"].(map[string]any)["field"])
		}
		require.Equal(t, 404, e.admin("PATCH", "/v1/admin/integrations/int_nope", map[string]any{"allow_query_token": true}).Status)
		require.Equal(t, 400, e.admin("POST", "/v1/admin/integrations/"+integrationID+"/keys", map[string]any{"label": "a\u0000b"}).Status)
		require.Equal(t, 404, e.admin("DELETE", "/v1/admin/integrations/"+integrationID+"/keys/key_nope", nil).Status)

		// Nothing refused reached the database or Temporal; everything accepted did.
		eventually(t, 20*time.Second, "every accepted event recorded", func() bool {
			return e.count(&store.Conversion{}, "1 = 1") == int64(accepted)
		})
		eventually(t, 10*time.Second, "Temporal's visibility to list every accepted workflow", func() bool {
			return e.workflowCount() == int64(accepted)
		})

		// The audit log holds every refusal with its status, and never a key, token, secret or signature.
		eventually(t, 10*time.Second, "the audit rows", func() bool {
			return e.count(&store.AuditRecord{}, "status >= 400 AND path = ?", "/v1/postbacks") == int64(refused)
		})
		r = e.admin("GET", "/v1/admin/requests?integration="+integrationID+"&status=403&since="+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		rows := r.Body["requests"].([]any)
		require.Len(t, rows, 2)
		row := rows[0].(map[string]any)
		require.Equal(t, "/v1/postbacks", row["path"])
		require.Equal(t, "127.0.0.1", row["client_ip"])
		require.Equal(t, "GET", row["method"])
		require.NotEmpty(t, row["key_id"])
		require.Equal(t, 400, e.admin("GET", "/v1/admin/requests?status=abc", nil).Status)
		// A path that is not UTF-8 is audited escaped (PostgreSQL refuses invalid UTF-8 in text).
		bad := e.do("GET", "/v1/admin/integrations/%FF%FE", nil, nil)
		require.Equal(t, http.StatusUnauthorized, bad.Status, bad.Raw)
		eventually(t, 10*time.Second, "the audit row of the non-UTF-8 path", func() bool {
			return e.count(&store.AuditRecord{}, "request_id = ? AND path = ?", bad.Header.Get("X-Request-Id"), "/v1/admin/integrations/%FF%FE") == 1
		})
		require.EqualValues(t, 1, e.count(&store.AuditRecord{}, "request_id = ? AND status >= 400", lastRequestID), "X-Request-Id names the audit row")
		require.Positive(t, e.count(&store.AuditRecord{}, "path LIKE ? AND method = ?", "/v1/admin/integrations/%", "PATCH"), "admin calls are audited too")
		requireNeverLeaked(t, e, append(sentSignatures, key, key2, secret1, secret2, sig)...)
	})
}

// requireNeverLeaked checks that no secret appears in the app's logs or in any audit row.
func requireNeverLeaked(t *testing.T, e *testEnv, secrets ...string) {
	t.Helper()
	var rows []store.AuditRecord
	require.NoError(t, e.app.Store.DB.Find(&rows).Error)
	require.NotEmpty(t, rows)
	audit := fmt.Sprintf("%+v", rows)
	logs := e.logs.String()
	require.Contains(t, logs, "http request", "the logs were captured")
	require.Contains(t, logs, "key_id=key_", "key ids, not keys, are logged")
	for _, s := range secrets {
		for _, part := range []string{s, strings.TrimPrefix(s, "whsec_")} {
			require.NotContains(t, logs, part)
			require.NotContains(t, audit, part)
		}
	}
}

// TestRateLimitPerKey sends a 1,000-request burst from one key while another integration's key keeps
// getting 200s. Duplicates are cheap (no workflow start), so the limiter, not Temporal, is what is measured.
// The noisy key refills one token per 100 s, so however slowly a loaded machine runs the burst, its bucket
// of 50 is all it gets: the counts do not depend on scheduling.
func TestRateLimitPerKey(t *testing.T) {
	forEachStoreWith(t, nil, func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(200))
		noisyKey, noisyID, affiliateID := e.setup(tracker.srv.URL)
		quietKey, quietID, _ := e.setup(tracker.srv.URL)
		const rps, bucket = 0.01, 50
		r := e.admin("PATCH", "/v1/admin/integrations/"+noisyID, map[string]any{"rate_limit_rps": rps, "rate_limit_burst": bucket})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		// The quiet key's own bucket is far larger than this test can use up, however fast its loop runs:
		// only the noisy key's empty bucket could limit it, and must not.
		r = e.admin("PATCH", "/v1/admin/integrations/"+quietID, map[string]any{"rate_limit_rps": 100000, "rate_limit_burst": 100000})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		q := ftd("evt-rl", affiliateID)
		require.Equal(t, http.StatusOK, e.postback(noisyKey, q).Status)
		require.Equal(t, http.StatusOK, e.postback(quietKey, q).Status)

		const burst, workers = 1000, 20
		codes := make(chan int, burst)
		retryAfter := make(chan string, burst)
		start := time.Now()
		done := make(chan struct{})
		for w := 0; w < workers; w++ {
			go func() {
				defer func() { done <- struct{}{} }()
				for i := 0; i < burst/workers; i++ {
					r := e.postback(noisyKey, q)
					codes <- r.Status
					if r.Status == http.StatusTooManyRequests {
						retryAfter <- r.Header.Get("Retry-After") + " " + r.Raw
					}
				}
			}()
		}
		quietOK := func() {
			t.Helper()
			r := e.postback(quietKey, q)
			require.Equal(t, http.StatusOK, r.Status, "the quiet key is never limited: %s", r.Raw)
			require.Equal(t, "duplicate", r.Body["status"])
		}
		quietDuring := 0
		for running := workers; running > 0; {
			select {
			case <-done:
				running--
			default:
				quietOK()
				quietDuring++
			}
		}
		elapsed := time.Since(start)
		close(codes)
		close(retryAfter)
		counts := map[int]int{}
		for c := range codes {
			counts[c]++
		}
		t.Logf("burst of %d in %s: %v; the quiet key got %d × 200 meanwhile", burst, elapsed.Round(time.Millisecond), counts, quietDuring)
		require.Equal(t, burst, counts[200]+counts[429], "only 200 and 429: %v", counts)
		// The bucket (less the one token taken above) and no more than its refill over the elapsed time.
		require.GreaterOrEqual(t, counts[200], bucket-1)
		require.LessOrEqual(t, counts[200], bucket+int(rps*elapsed.Seconds())+1)
		require.Greater(t, counts[429], 0)
		for answer := range retryAfter {
			ra, raw, _ := strings.Cut(answer, " ")
			n, err := strconv.Atoi(ra)
			require.NoError(t, err, "Retry-After %q", ra)
			require.GreaterOrEqual(t, n, 1)
			require.Contains(t, raw, `"code":"rate_limited"`)
		}
		// While the noisy key is still limited, the quiet key goes on getting 200s.
		for range 10 {
			quietOK()
		}
		limited := e.postback(noisyKey, q)
		require.Equal(t, http.StatusTooManyRequests, limited.Status, limited.Raw)
		require.NotEmpty(t, limited.Header.Get("Retry-After"))
		require.EqualValues(t, 1, e.count(&store.Conversion{}, "integration_id = ? AND event_id = ?", noisyID, "evt-rl"))
	})
}

// TestSecretExpiresOnItsOwn: a secret added with an expiry (given in another time zone) stops working then,
// while the secret that replaces it goes on. The expiry is an hour away, so the request before it is before it
// however slow the machine; the API's clock is then moved past it rather than waited for.
func TestSecretExpiresOnItsOwn(t *testing.T) {
	forEachStoreWith(t, nil, func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(200))
		key, integrationID, affiliateID := e.setup(tracker.srv.URL)
		expiry := e.clock.Now().Add(time.Hour).In(time.FixedZone("UTC+5", 5*3600))
		r := e.admin("POST", "/v1/admin/integrations/"+integrationID+"/secrets", map[string]any{"expires_at": expiry.Format(time.RFC3339Nano)})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		expiring := r.Body["secret"].(string)
		r = e.admin("POST", "/v1/admin/integrations/"+integrationID+"/secrets", nil)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		lasting := r.Body["secret"].(string)

		send := func(secret, eventID string) response {
			b := `{"event_id":"` + eventID + `","event":"registration","affiliate_id":"` + affiliateID + `"}`
			return e.do("POST", "/v1/postbacks", withHeaders(map[string]string{"X-API-Key": key, "Content-Type": "application/json"},
				swHeaders(t, secret, "msg_"+eventID, e.clock.Now(), b)), strings.NewReader(b))
		}
		require.Equal(t, http.StatusOK, send(expiring, "evt-before").Status)
		e.clock.advance(time.Until(expiry) + time.Second)
		r = send(expiring, "evt-after")
		require.Equal(t, http.StatusUnauthorized, r.Status, r.Raw)
		require.Equal(t, "invalid_signature", errorCode(t, r))
		require.False(t, e.workflowExists("conversion:"+integrationID+":evt-after"))
		require.Equal(t, http.StatusOK, send(lasting, "evt-lasting").Status)
	})
}
