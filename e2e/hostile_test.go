package e2e

// The hostile-input suite: requests a hostile or broken client sends, written byte for byte to a raw TCP socket
// (bad framing, bad headers, oversized, invalid encodings, wrong signatures, missing or wrong keys, out-of-range
// values) across every public route. Each must be answered with a 4xx — never a 2xx or 3xx, never a 5xx (but
// for protocolCases, which net/http answers itself) — and together they must write nothing: every table but
// the audit log keeps its rows as they were, the new audit rows are all refusals, Temporal starts no workflow
// and the receivers get no call.
//
// Adding a route (other issues): add its cases to hostileCases with one line each, e.g.
//
//	{"reconciliation: duplicate key", req("POST", "/v1/reconciliation/batches", adminJSON, `{"rows":[],"rows":[]}`), 400},
//	{"reconciliation: no token", req("POST", "/v1/reconciliation/batches", jsonOnly, `{"rows":[]}`), 401},
//
// and, for an admin route, one line in adminRoutes: it then gets the unauthenticated and malformed-body cases
// (no token, wrong token, wrong scheme, token in the query; and for a body route duplicate keys, lone
// surrogates, invalid UTF-8, an unknown member, broken JSON, an oversized body) for free. req builds a request
// from the method, target, headers and body, adding Host and Content-Length; raw(...) sends bytes exactly as
// written. Placeholders such as {key}, {admin}, {aff}, {sw-sig} and {hmac-q} are filled in from the fixture at
// send time (see hostileFixture.fill). The expected status is exact; 0 means any 4xx.

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/affrelay/affrelay/config"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/signing"
	"github.com/affrelay/affrelay/store"
)

// hostileCase is one request, as sent, and the status it must get (0: any 4xx).
type hostileCase struct {
	name   string
	raw    string
	status int
}

// Header sets used by the cases; {…} placeholders are filled in at send time.
var (
	jsonOnly  = []string{"Content-Type: application/json"}
	adminJSON = []string{"Authorization: Bearer {admin}", "Content-Type: application/json"}
	keyJSON   = []string{"X-API-Key: {key}", "Content-Type: application/json"}
	keyForm   = []string{"X-API-Key: {key}", "Content-Type: application/x-www-form-urlencoded"}
	keyOnly   = []string{"X-API-Key: {key}"}
	// signedJSON is a Standard Webhooks signed request to the signing integration; {sw-sig} is a valid
	// signature over the body as sent.
	signedJSON = []string{"X-API-Key: {skey}", "Content-Type: application/json", "webhook-id: {msgid}", "webhook-timestamp: {ts}", "webhook-signature: {sw-sig}"}
	// hmacJSON is an hmac-sha256 signed POST to the third integration; {hmac-b} signs "<X-Timestamp>.<body>".
	hmacJSON = []string{"X-API-Key: {hkey}", "Content-Type: application/json", "X-Timestamp: {ts}", "X-Signature: {hmac-b}"}
	hmacKey  = []string{"X-API-Key: {hkey}"}
)

// reconCSV is a reconciliation file that would be accepted; reconKey uploads CSV with the plain key.
const reconCSV = "date,player_id,currency,ngr\n2026-01-01,p-1,USD,1.00\n"

var reconKey = []string{"X-API-Key: {key}", "Content-Type: text/csv"}

// hmacQuery is an hmac-sha256 signed GET query ({hmac-q} signs the query without the signature).
func hmacQuery(id, extra string) string {
	return query(id, extra) + "&timestamp={ts}&signature={hmac-q}"
}

// req writes an HTTP/1.1 request: request line, Host, the headers, Content-Length when there is a body, body.
func req(method, target string, headers []string, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: affrelay.test\r\n", method, target)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	if body != "" || method == "POST" || method == "PUT" || method == "PATCH" {
		b.WriteString("Content-Length: {content-length}\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n" + body)
	return b.String()
}

// raw is a request sent exactly as written (placeholders still filled in).
func raw(s string) string { return s }

// event is a JSON postback that would be accepted, with extra members appended; id keeps cases apart.
func event(id, extra string) string {
	return `{"event_id":"h-` + id + `","event":"ftd","affiliate_id":"{aff}","amount":"50.00","currency":"USD"` + extra + `}`
}

// query is a postback query string that would be accepted, with extra parameters appended.
func query(id, extra string) string {
	return "/v1/postbacks?event_id=h-" + id + "&event=ftd&affiliate_id={aff}&amount=50.00&currency=USD" + extra
}

// adminRoute is one admin route with a body it would accept (empty for routes without a body).
type adminRoute struct {
	method, path, body string
}

var adminRoutes = []adminRoute{
	{"POST", "/v1/admin/integrations", `{"name":"hostile"}`},
	{"POST", "/v1/admin/affiliates", `{"name":"h","email":"h@aff.example","plan":{"type":"cpa","amount":"1.00","currency":"USD"}}`},
	{"POST", "/v1/affiliates", `{"name":"h","email":"h@aff.example","plan":{"type":"cpa","amount":"1.00","currency":"USD"}}`},
	{"GET", "/v1/admin/affiliates", ""},
	{"GET", "/v1/admin/affiliates/{aff}", ""},
	{"GET", "/v1/admin/affiliates/{aff}/balance", ""},
	{"POST", "/v1/admin/affiliates/{aff}/signup", ""},
	{"POST", "/v1/admin/affiliates/{aff}/postback-endpoints", `{"url":"https://tracker.example/pb?c={click_id}","events":["ftd"]}`},
	{"PATCH", "/v1/admin/affiliates/{aff}/postback-endpoints/{endpoint}", `{"enabled":false}`},
	{"GET", "/v1/admin/integrations/{int}", ""},
	{"PATCH", "/v1/admin/integrations/{int}", `{"allow_query_token":true,"ip_allowlist":["10.0.0.0/8"]}`},
	{"POST", "/v1/admin/integrations/{int}/keys", `{"label":"spare"}`},
	{"GET", "/v1/admin/integrations/{int}/keys", ""},
	{"DELETE", "/v1/admin/integrations/{int}/keys/{keyid}", ""},
	{"POST", "/v1/admin/integrations/{int}/secrets", `{"expires_at":"2099-01-01T00:00:00Z"}`},
	{"GET", "/v1/admin/integrations/{int}/secrets", ""},
	{"DELETE", "/v1/admin/integrations/{sint}/secrets/{secretid}", ""},
	{"GET", "/v1/admin/requests", ""},
	{"POST", "/v1/admin/secrets/rotate-key", ""},
	{"PUT", "/v1/admin/integrations/{int}/landing-hosts", `{"hosts":["casino.example","other.example"]}`},
	{"PUT", "/v1/admin/integrations/{int}/mapping", `{"preset":"voluum","fields":{"clickid":"click_id"}}`},
	{"PUT", "/v1/admin/integrations/{int}/reconciliation/pull-settings", `{"url_template":"https://ops.example/r?day={date}","cron":"0 3 * * *"}`},
	{"GET", "/v1/admin/integrations/{int}/reconciliation/pull-settings", ""},
	{"POST", "/v1/admin/integrations/{int}/reconciliation/pull", `{"from":"2026-10-01","to":"2026-10-03"}`},
	{"GET", "/v1/admin/unattributed?from=2026-01-01&to=2026-02-01", ""},
	{"GET", "/v1/admin/conversions/{int}/no-such-event/request", ""},
	{"POST", "/v1/admin/affiliates/{aff}/plans", `{"type":"cpa","amount":"2.00","currency":"USD","effective_from":"2030-01-01T00:00:00Z"}`},
	{"GET", "/v1/admin/affiliates/{aff}/plans", ""},
	{"PUT", "/v1/admin/affiliates/{aff}/parent", `{"affiliate_id":"{aff2}","share":"10"}`},
	{"POST", "/v1/admin/fx-rates", `{"base":"EUR","quote":"USD","rate":"1.1","effective_from":"2026-01-01T00:00:00Z"}`},
	{"GET", "/v1/admin/fx-rates", ""},
	{"GET", "/v1/admin/deliveries", ""},
	{"GET", "/v1/admin/queue", ""},
	{"GET", "/v1/admin/integrations", ""},
	{"GET", "/v1/admin/postback-endpoints", ""},
	{"GET", "/v1/admin/conversions/{int}/evt-none", ""},
	{"DELETE", "/v1/admin/affiliates/{aff}/postback-endpoints/pbe_000000000000000000000000", ""},
	{"POST", "/v1/admin/deliveries/dlv_000000000000000000000000/redeliver", ""},
	{"POST", "/v1/admin/deliveries/dlv_000000000000000000000000/replay", ""},
	{"POST", "/v1/admin/deliveries/dlv_000000000000000000000000/skip", ""},
	{"POST", "/v1/admin/deliveries/dlv_000000000000000000000000/refire", `{"reason":"lost"}`},
	{"POST", "/v1/admin/deliveries/refire", `{"reason":"lost","status":"needs_review"}`},
	{"GET", "/v1/admin/deliveries/refire/rfj_000000000000000000000000", ""},
	{"POST", "/v1/admin/webhooks", `{"kind":"webhook","url":"https://hooks.example/in","events":["conversion.recorded"]}`},
	{"GET", "/v1/admin/webhooks", ""},
	{"GET", "/v1/admin/webhooks/{webhook}", ""},
	{"PATCH", "/v1/admin/webhooks/{webhook}", `{"enabled":false}`},
	{"DELETE", "/v1/admin/webhooks/{webhook}", ""},
	{"POST", "/v1/admin/webhooks/{webhook}/rotate-secret", ""},
	{"POST", "/v1/admin/webhooks/{webhook}/test", ""},
	{"GET", "/v1/affiliates/{aff}/commissions?from=2026-01-01&to=2026-02-01", ""},
	{"GET", "/v1/admin/payouts", ""},
	{"GET", "/v1/admin/payouts/export?period=2026-09", ""},
	{"GET", "/v1/admin/payouts/pay_000000000000000000000000", ""},
	{"POST", "/v1/admin/payouts/pay_000000000000000000000000/confirm", `{"status":"paid","external_ref":"wire-1","paid_at":"2026-10-02T10:00:00Z"}`},
	{"POST", "/v1/admin/payouts/run", `{"period":"2026-09"}`},
	{"POST", "/v1/admin/payout-keys", `{"label":"finance"}`},
	{"DELETE", "/v1/admin/payout-keys/pkey_000000000000000000000000", ""},
	{"PUT", "/v1/admin/affiliates/{aff}/payout-minimums/USD", `{"amount":"50.00"}`},
	{"GET", "/v1/admin/affiliates/{aff}/ledger-entries", ""},
	{"GET", "/v1/admin/ledger-entries/led_000000000000000000000000/transitions", ""},
	{"POST", "/v1/admin/ledger-entries/led_000000000000000000000000/hold", `{"reason":"fraud review"}`},
	{"POST", "/v1/admin/ledger-entries/led_000000000000000000000000/release", `{"reason":"cleared"}`},
}

// adminCases are, for every admin route, the requests without a valid token and, for body routes, the
// malformed bodies that a valid token does not save.
func adminCases() []hostileCase {
	var out []hostileCase
	for _, r := range adminRoutes {
		name := r.method + " " + r.path
		body := r.body
		ct := "Content-Type: application/json"
		out = append(out,
			hostileCase{name + ": no token", req(r.method, r.path, []string{ct}, body), 401},
			hostileCase{name + ": wrong token", req(r.method, r.path, []string{"Authorization: Bearer {admin}x", ct}, body), 401},
			hostileCase{name + ": Basic scheme", req(r.method, r.path, []string{"Authorization: Basic {admin}", ct}, body), 401},
			hostileCase{name + ": an API key", req(r.method, r.path, []string{"X-API-Key: {key}", ct}, body), 401},
			hostileCase{name + ": token in the query", req(r.method, withQuery(r.path, "token={admin}"), []string{ct}, body), 401},
		)
		if body == "" {
			continue
		}
		first := body[1:strings.IndexByte(body, ':')] // the first member's name, quoted
		out = append(out,
			hostileCase{name + ": member given twice", req(r.method, r.path, adminJSON, body[:len(body)-1]+","+first+":"+body[len(first)+2:len(body)-1]+"}"), 400},
			hostileCase{name + ": member given twice, other case", req(r.method, r.path, adminJSON, "{"+strings.ToUpper(first)+`:1,`+body[1:]), 400},
			hostileCase{name + ": lone surrogate", req(r.method, r.path, adminJSON, body[:len(body)-1]+`,"x":"\udfff"}`), 400},
			hostileCase{name + ": invalid UTF-8", req(r.method, r.path, adminJSON, body[:len(body)-1]+",\"x\":\"\xc3\x28\"}"), 400},
			hostileCase{name + ": unknown member", req(r.method, r.path, adminJSON, body[:len(body)-1]+`,"is_admin":true}`), 400},
			hostileCase{name + ": broken JSON", req(r.method, r.path, adminJSON, body[:len(body)-1]), 400},
			hostileCase{name + ": two values", req(r.method, r.path, adminJSON, body+body), 400},
			hostileCase{name + ": body over the limit", raw(r.method + " " + r.path + " HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {admin}\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n" + body), 413},
		)
	}
	return out
}

func withQuery(path, q string) string {
	if strings.Contains(path, "?") {
		return path + "&" + q
	}
	return path + "?" + q
}

// clickBurst is the click tracker's budget per client in this suite; the click cases from 127.0.0.1 stay
// under it, and the rate-limit case spends it from its own (forwarded) address.
const clickBurst = 60

// hostileCases lists every case but the generated admin ones.
var hostileCases = []hostileCase{
	// Framing and protocol: refused by the HTTP server before any handler runs.
	{"garbage", raw("GARBAGE\r\n\r\n"), 400},
	{"no HTTP version", raw("GET /v1/postbacks\r\n\r\n"), 400},
	{"no Host", raw("GET /v1/postbacks HTTP/1.1\r\nX-API-Key: {key}\r\n\r\n"), 400},
	{"two Hosts", raw("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400},
	{"space in a header name", raw("GET /v1/postbacks HTTP/1.1\r\nHost: a\r\nX API Key: {key}\r\n\r\n"), 400},
	{"header without colon", raw("GET /v1/postbacks HTTP/1.1\r\nHost: a\r\nX-API-Key\r\n\r\n"), 400},
	{"NUL in a header value", raw("GET " + query("f1", "") + " HTTP/1.1\r\nHost: a\r\nX-API-Key: {key}\x00\r\n\r\n"), 400},
	{"bare CR in a header value", raw("GET " + query("f2", "") + " HTTP/1.1\r\nHost: a\r\nX-API-Key: {key}\rX: y\r\n\r\n"), 400},
	// net/http unfolds an obs-fold line into a space, as RFC 9112 allows: the key becomes "{key} x".
	{"folded header", raw("GET " + query("f3", "") + " HTTP/1.1\r\nHost: a\r\nX-API-Key: {key}\r\n x\r\n\r\n"), 401},
	{"Content-Length and chunked", raw("POST /v1/postbacks HTTP/1.1\r\nHost: a\r\nX-API-Key: {key}\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400},
	{"two Content-Lengths", raw("POST /v1/postbacks HTTP/1.1\r\nHost: a\r\nX-API-Key: {key}\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"), 400},
	{"negative Content-Length", raw("POST /v1/postbacks HTTP/1.1\r\nHost: a\r\nX-API-Key: {key}\r\nContent-Length: -1\r\n\r\n"), 400},
	{"Content-Length not a number", raw("POST /v1/postbacks HTTP/1.1\r\nHost: a\r\nX-API-Key: {key}\r\nContent-Length: 1e3\r\n\r\n"), 400},
	{"bad chunk size", raw("POST /v1/postbacks HTTP/1.1\r\nHost: a\r\nX-API-Key: {key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + event("f4", "") + "\r\n0\r\n\r\n"), 400},
	{"chunked body over the limit", raw("POST /v1/postbacks HTTP/1.1\r\nHost: a\r\nX-API-Key: {key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + "200000\r\n" + strings.Repeat(" ", 0x200000) + "\r\n0\r\n\r\n"), 413},
	{"Content-Length over the limit", raw("POST /v1/postbacks HTTP/1.1\r\nHost: a\r\nX-API-Key: {key}\r\nContent-Type: application/json\r\nContent-Length: 1048577\r\n\r\n{}"), 413},
	{"headers over the limit", raw("GET /healthz HTTP/1.1\r\nHost: a\r\nX-Pad: " + strings.Repeat("a", 70<<10) + "\r\n\r\n"), 431},
	{"request line over the limit", raw("GET /v1/postbacks?x=" + strings.Repeat("a", 70<<10) + " HTTP/1.1\r\nHost: a\r\n\r\n"), 431},
	{"invalid method token", raw("G@T /healthz HTTP/1.1\r\nHost: a\r\n\r\n"), 400},

	// Unknown routes and methods.
	{"root", req("GET", "/", nil, ""), 404},
	{"dotfile", req("GET", "/.env", nil, ""), 404},
	{"v2", req("GET", "/v2/postbacks?"+query("u1", "")[len("/v1/postbacks?"):], keyOnly, ""), 404},
	{"admin root", req("GET", "/v1/admin", adminJSON, ""), 404},
	{"unknown admin route", req("GET", "/v1/admin/nothing", adminJSON, ""), 404},
	{"trailing slash", req("POST", "/v1/admin/integrations/", adminJSON, `{"name":"x"}`), 404},
	{"dot segments", req("GET", "/v1/../v1/admin/integrations/{int}", nil, ""), 0},
	{"encoded slash in a click code", req("GET", "/c/a%2Fb?to=https%3A%2F%2Fcasino.example%2F", nil, ""), 404},
	{"click without code", req("GET", "/c/?to=https://casino.example/", nil, ""), 404},
	{"DELETE postbacks", req("DELETE", "/v1/postbacks", keyOnly, ""), 405},
	{"PUT postbacks", req("PUT", "/v1/postbacks", keyJSON, event("m1", "")), 405},
	{"PATCH healthz", req("PATCH", "/healthz", nil, "{}"), 405},
	{"PUT the OpenAPI document", req("PUT", "/openapi.json", nil, "{}"), 405},
	{"OPTIONS postbacks", req("OPTIONS", "/v1/postbacks", keyOnly, ""), 405},
	{"TRACE", req("TRACE", "/v1/postbacks", keyOnly, ""), 405},
	{"lower-case method", req("get", query("m2", ""), keyOnly, ""), 0},
	{"made-up method", req("BREW", "/v1/postbacks", keyOnly, ""), 0},
	{"POST to the click tracker", req("POST", "/c/{aff}?to=https://casino.example/", nil, ""), 405},
	{"DELETE an integration", req("DELETE", "/v1/admin/integrations/{int}", adminJSON, ""), 405},

	// Postbacks by query: the key, then each field rule.
	{"query: no key", req("GET", query("q1", ""), nil, ""), 401},
	{"query: wrong key", req("GET", query("q2", ""), []string{"X-API-Key: {key}x"}, ""), 401},
	{"query: admin token as key", req("GET", query("q3", ""), []string{"X-API-Key: {admin}"}, ""), 401},
	{"query: key as bearer", req("GET", query("q4", ""), []string{"Authorization: Bearer {key}"}, ""), 401},
	{"query: token not allowed", req("GET", query("q5", "&token={key}"), nil, ""), 401},
	{"query: empty key", req("GET", query("q6", ""), []string{"X-API-Key: "}, ""), 401},
	{"query: no event_id", req("GET", "/v1/postbacks?event=ftd&amount=1&currency=USD", keyOnly, ""), 400},
	{"query: no event", req("GET", "/v1/postbacks?event_id=h-q7&amount=1&currency=USD", keyOnly, ""), 400},
	{"query: unknown event", req("GET", "/v1/postbacks?event_id=h-q8&event=bogus", keyOnly, ""), 400},
	{"query: event_id twice", req("GET", query("q9", "&event_id=h-q9b"), keyOnly, ""), 400},
	{"query: amount twice", req("GET", query("q10", "&amount=99999.00"), keyOnly, ""), 400},
	{"query: event_id of 129 bytes", req("GET", "/v1/postbacks?event=registration&event_id="+strings.Repeat("e", 129), keyOnly, ""), 400},
	{"query: NUL in event_id", req("GET", "/v1/postbacks?event=registration&event_id=a%00b", keyOnly, ""), 400},
	{"query: control in player_id", req("GET", query("q11", "&player_id=p%01"), keyOnly, ""), 400},
	{"query: C1 control in sub1", req("GET", query("q12", "&sub1=a%C2%9Bb"), keyOnly, ""), 400},
	{"query: invalid UTF-8 event_id", req("GET", "/v1/postbacks?event=registration&event_id=%FF%FE", keyOnly, ""), 400},
	{"query: overlong UTF-8", req("GET", "/v1/postbacks?event=registration&event_id=%C0%AF", keyOnly, ""), 400},
	{"query: encoded surrogate", req("GET", "/v1/postbacks?event=registration&event_id=%ED%A0%80", keyOnly, ""), 400},
	{"query: padded event_id", req("GET", "/v1/postbacks?event=registration&event_id=%20h-q13", keyOnly, ""), 400},
	{"query: broken escape", req("GET", query("q14", "&sub1=%zz"), keyOnly, ""), 400},
	{"query: semicolon separator", req("GET", query("q15", ";sub1=x"), keyOnly, ""), 400},
	{"query: float amount", req("GET", "/v1/postbacks?event_id=h-q16&event=ftd&amount=1e3&currency=USD", keyOnly, ""), 400},
	{"query: too many decimals", req("GET", "/v1/postbacks?event_id=h-q17&event=ftd&amount=1.001&currency=USD", keyOnly, ""), 400},
	{"query: negative deposit", req("GET", "/v1/postbacks?event_id=h-q18&event=deposit&amount=-5&currency=USD", keyOnly, ""), 400},
	{"query: amount beyond int64", req("GET", "/v1/postbacks?event_id=h-q19&event=ftd&amount=99999999999999999999&currency=USD", keyOnly, ""), 400},
	{"query: unknown currency", req("GET", "/v1/postbacks?event_id=h-q20&event=ftd&amount=1&currency=XXX1", keyOnly, ""), 400},
	{"query: amount without currency", req("GET", "/v1/postbacks?event_id=h-q21&event=ftd&amount=1", keyOnly, ""), 400},
	{"query: ftd without amount", req("GET", "/v1/postbacks?event_id=h-q22&event=ftd", keyOnly, ""), 400},
	{"query: occurred_at in the future", req("GET", query("q23", "&occurred_at=2999-01-01T00:00:00Z"), keyOnly, ""), 400},
	{"query: occurred_at before 2000", req("GET", query("q24", "&occurred_at=1999-12-31T23:59:59Z"), keyOnly, ""), 400},
	{"query: occurred_at not RFC 3339", req("GET", query("q25", "&occurred_at=yesterday"), keyOnly, ""), 400},
	{"query: reversal without original", req("GET", "/v1/postbacks?event_id=h-q26&event=reversal", keyOnly, ""), 400},
	{"query: original on an ftd", req("GET", query("q27", "&original_event_id=h-1"), keyOnly, ""), 400},
	{"query: sub5 of 257 bytes", req("GET", query("q28", "&sub5="+strings.Repeat("s", 257)), keyOnly, ""), 400},
	{"query: signed-only integration without signature", req("GET", query("q29", ""), []string{"X-API-Key: {skey}"}, ""), 401},

	// Postbacks by form.
	{"form: event_id twice", req("POST", "/v1/postbacks", keyForm, "event_id=h-r1&event_id=h-r1b&event=registration"), 400},
	{"form: field in query and body", req("POST", "/v1/postbacks?event=ftd", keyForm, "event_id=h-r2&event=ftd&amount=1&currency=USD"), 400},
	{"form: broken escape", req("POST", "/v1/postbacks", keyForm, "event_id=h-r3&event=registration&sub1=%zz"), 400},
	{"form: NUL", req("POST", "/v1/postbacks", keyForm, "event_id=h-r4%00&event=registration"), 400},
	{"form: invalid UTF-8", req("POST", "/v1/postbacks", keyForm, "event_id=h-r5%FF&event=registration"), 400},
	{"form: no key", req("POST", "/v1/postbacks", []string{"Content-Type: application/x-www-form-urlencoded"}, "event_id=h-r6&event=registration"), 401},
	{"form: text/plain", req("POST", "/v1/postbacks", []string{"X-API-Key: {key}", "Content-Type: text/plain"}, "event_id=h-r7&event=registration"), 415},
	{"form: no content type", req("POST", "/v1/postbacks", keyOnly, "event_id=h-r8&event=registration"), 415},
	{"form: multipart", req("POST", "/v1/postbacks", []string{"X-API-Key: {key}", "Content-Type: multipart/form-data; boundary=x"}, "--x\r\nContent-Disposition: form-data; name=\"event_id\"\r\n\r\nh-r9\r\n--x--\r\n"), 415},
	{"form: broken content type", req("POST", "/v1/postbacks", []string{"X-API-Key: {key}", "Content-Type: ;;;"}, "event_id=h-r10&event=registration"), 415},
	{"form: truncated body", raw("POST /v1/postbacks HTTP/1.1\r\nHost: a\r\nX-API-Key: {key}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\nConnection: close\r\n\r\nevent_id=h-r11&event=registration{eof}"), 400},

	// Reconciliation files (issue 10): refused whole, nothing staged, no workflow.
	{"reconciliation: no key", req("POST", "/v1/reconciliation/batches", []string{"Content-Type: text/csv"}, "date,player_id,currency\n2026-10-01,p1,USD\n"), 401},
	{"reconciliation: bad date", req("POST", "/v1/reconciliation/batches", []string{"X-API-Key: {key}", "Content-Type: text/csv"}, "date,player_id,currency\n2026-10-41,p1,USD\n"), 400},
	{"reconciliation: header only", req("POST", "/v1/reconciliation/batches", []string{"X-API-Key: {key}", "Content-Type: text/csv"}, "date,player_id,currency\n"), 400},
	{"reconciliation: json member twice", req("POST", "/v1/reconciliation/batches", keyJSON, `[{"date":"2026-10-01","player_id":"p1","PLAYER_ID":"p2","currency":"USD"}]`), 400},
	{"reconciliation: json lone surrogate", req("POST", "/v1/reconciliation/batches", keyJSON, `[{"date":"2026-10-01","player_id":"p\udfff","currency":"USD"}]`), 400},
	{"reconciliation: json invalid UTF-8", req("POST", "/v1/reconciliation/batches", keyJSON, "[{\"date\":\"2026-10-01\",\"player_id\":\"p\xc3\x28\",\"currency\":\"USD\"}]"), 400},
	{"reconciliation: float amount", req("POST", "/v1/reconciliation/batches", keyJSON, `[{"date":"2026-10-01","player_id":"p1","currency":"USD","ngr":1e400}]`), 400},
	{"reconciliation: truncated body", raw("POST /v1/reconciliation/batches HTTP/1.1\r\nHost: a\r\nX-API-Key: {key}\r\nContent-Type: text/csv\r\nContent-Length: 500\r\nConnection: close\r\n\r\ndate,player_id,currency\n2026-10-01,p1,USD\n{eof}"), 400},
	{"reconciliation: not gzip", req("POST", "/v1/reconciliation/batches", []string{"X-API-Key: {key}", "Content-Type: text/csv", "Content-Encoding: gzip"}, "date,player_id,currency\n"), 400},
	{"reconciliation: unknown type", req("POST", "/v1/reconciliation/batches", []string{"X-API-Key: {key}", "Content-Type: application/xml"}, "<x/>"), 415},
	{"reconciliation: someone else's batch", req("GET", "/v1/reconciliation/batches/rcb_0", keyOnly, ""), 404},
	{"reconciliation: bad status filter", req("GET", "/v1/reconciliation/batches/rcb_0/rows?status=nope", keyOnly, ""), 400},

	// Postbacks by JSON (issue 9, items 1–3 among them).
	{"json: event given twice", req("POST", "/v1/postbacks", keyJSON, `{"event_id":"h-j1","event":"bogus","event":"ftd","affiliate_id":"{aff}","amount":"50.00","currency":"USD"}`), 400},
	{"json: amount given twice", req("POST", "/v1/postbacks", keyJSON, event("j2", `,"amount":"99999.00"`)), 400},
	{"json: event_id given twice", req("POST", "/v1/postbacks", keyJSON, event("j3", `,"event_id":"b"`)), 400},
	{"json: event_id twice by case", req("POST", "/v1/postbacks", keyJSON, event("j4", `,"EVENT_ID":"b"`)), 400},
	{"json: event_id twice by escape", req("POST", "/v1/postbacks", keyJSON, event("j5", `,"\u0065vent_id":"b"`)), 400},
	{"json: lone high surrogate id", req("POST", "/v1/postbacks", keyJSON, `{"event_id":"\ud800","event":"registration"}`), 400},
	{"json: lone low surrogate", req("POST", "/v1/postbacks", keyJSON, event("j6", `,"player_id":"p\udfff"`)), 400},
	{"json: raw ff fe id", req("POST", "/v1/postbacks", keyJSON, "{\"event_id\":\"\xff\xfe\",\"event\":\"registration\"}"), 400},
	{"json: invalid UTF-8", req("POST", "/v1/postbacks", keyJSON, event("j7", ",\"player_id\":\"p\xc3\x28\"")), 400},
	{"json: escaped NUL", req("POST", "/v1/postbacks", keyJSON, event("j8", `,"sub1":"a\u0000b"`)), 400},
	{"json: escaped C1 control", req("POST", "/v1/postbacks", keyJSON, event("j9", `,"sub2":"a\u0085b"`)), 400},
	{"json: object value", req("POST", "/v1/postbacks", keyJSON, event("j10", `,"sub1":{"a":1}`)), 400},
	{"json: array value", req("POST", "/v1/postbacks", keyJSON, event("j11", `,"sub1":["a"]`)), 400},
	{"json: boolean value", req("POST", "/v1/postbacks", keyJSON, event("j12", `,"sub1":true`)), 400},
	{"json: float amount", req("POST", "/v1/postbacks", keyJSON, `{"event_id":"h-j13","event":"ftd","amount":1e400,"currency":"USD"}`), 400},
	{"json: top-level array", req("POST", "/v1/postbacks", keyJSON, "["+event("j14", "")+"]"), 400},
	{"json: null", req("POST", "/v1/postbacks", keyJSON, "null"), 400},
	{"json: two objects", req("POST", "/v1/postbacks", keyJSON, event("j15", "")+event("j15", "")), 400},
	{"json: trailing garbage", req("POST", "/v1/postbacks", keyJSON, event("j16", "")+"x"), 400},
	{"json: byte order mark", req("POST", "/v1/postbacks", keyJSON, "\xef\xbb\xbf"+event("j17", "")), 400},
	{"json: deep nesting", req("POST", "/v1/postbacks", keyJSON, strings.Repeat("[", 20000)+strings.Repeat("]", 20000)), 400},
	{"json: unterminated", req("POST", "/v1/postbacks", keyJSON, `{"event_id":"h-j18`), 400},
	{"json: field in query and body", req("POST", "/v1/postbacks?event_id=h-j19", keyJSON, event("j19", "")), 400},
	{"json: no key", req("POST", "/v1/postbacks", jsonOnly, event("j20", "")), 401},
	{"json: key of another kind", req("POST", "/v1/postbacks", []string{"X-API-Key: whsec_AAAA", "Content-Type: application/json"}, event("j21", "")), 401},

	// Signed requests (Standard Webhooks) to the integration that requires them.
	{"signed: no signature", req("POST", "/v1/postbacks", []string{"X-API-Key: {skey}", "Content-Type: application/json"}, event("s1", "")), 401},
	{"signed: wrong signature", req("POST", "/v1/postbacks", []string{"X-API-Key: {skey}", "Content-Type: application/json", "webhook-id: {msgid}", "webhook-timestamp: {ts}", "webhook-signature: v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}, event("s2", "")), 401},
	{"signed: stale timestamp", req("POST", "/v1/postbacks", []string{"X-API-Key: {skey}", "Content-Type: application/json", "webhook-id: {msgid}", "webhook-timestamp: 1000000000", "webhook-signature: {sw-sig}"}, event("s3", "")), 401},
	{"signed: timestamp not a number", req("POST", "/v1/postbacks", []string{"X-API-Key: {skey}", "Content-Type: application/json", "webhook-id: {msgid}", "webhook-timestamp: soon", "webhook-signature: {sw-sig}"}, event("s4", "")), 401},
	{"signed: unknown version", req("POST", "/v1/postbacks", []string{"X-API-Key: {skey}", "Content-Type: application/json", "webhook-id: {msgid}", "webhook-timestamp: {ts}", "webhook-signature: v2,{sw-sig}"}, event("s5", "")), 401},
	{"signed: body changed after signing", req("POST", "/v1/postbacks", []string{"X-API-Key: {skey}", "Content-Type: application/json", "webhook-id: {msgid}", "webhook-timestamp: {ts}", "webhook-signature: {sw-sig}"}, event("s6", "")+"{tamper}"), 401},
	{"signed: no id", req("POST", "/v1/postbacks", []string{"X-API-Key: {skey}", "Content-Type: application/json", "webhook-timestamp: {ts}", "webhook-signature: {sw-sig}"}, event("s7", "")), 401},
	{"signed: query beside the body", req("POST", "/v1/postbacks?amount=99999.00", signedJSON, event("s8", "")), 400},
	{"signed: member given twice", req("POST", "/v1/postbacks", signedJSON, event("s9", `,"amount":"99999.00"`)), 400},
	{"signed: lone surrogate", req("POST", "/v1/postbacks", signedJSON, event("s10", `,"player_id":"\udfff"`)), 400},
	{"signed: invalid UTF-8", req("POST", "/v1/postbacks", signedJSON, "{\"event_id\":\"\xff\xfe\",\"event\":\"registration\"}"), 400},
	{"signed: empty body", req("POST", "/v1/postbacks", signedJSON, ""), 400},
	{"signed: plain key on signed integration's body", req("POST", "/v1/postbacks", []string{"X-API-Key: {key}", "Content-Type: application/json", "webhook-id: {msgid}", "webhook-timestamp: {ts}", "webhook-signature: {sw-sig}"}, event("s11", `,"event":"bogus"`)), 400},

	// Signed requests (hmac-sha256: GET signs the query, POST "<timestamp>.<body>") to the third integration.
	{"hmac: no signature", req("GET", query("t1", "&timestamp={ts}"), hmacKey, ""), 401},
	{"hmac: no timestamp", req("GET", query("t2", "&signature=sha256=00"), hmacKey, ""), 401},
	{"hmac: wrong signature", req("GET", query("t3", "&timestamp={ts}&signature=sha256="+strings.Repeat("0", 64)), hmacKey, ""), 401},
	{"hmac: stale timestamp", req("GET", query("t4", "&timestamp=1000000000&signature={hmac-q}"), hmacKey, ""), 401},
	{"hmac: timestamp not a number", req("GET", query("t5", "&timestamp=now&signature={hmac-q}"), hmacKey, ""), 401},
	{"hmac: query changed after signing", req("GET", hmacQuery("t6", "")+"&amount=99999.00{tamper}", hmacKey, ""), 401},
	{"hmac: signed NUL in sub1", req("GET", hmacQuery("t7", "&sub1=a%00b"), hmacKey, ""), 400},
	{"hmac: signed event_id twice", req("GET", hmacQuery("t8", "&event_id=h-t8b"), hmacKey, ""), 400},
	{"hmac: signed invalid UTF-8", req("GET", hmacQuery("t9", "&player_id=%FF%FE"), hmacKey, ""), 400},
	{"hmac: signed unknown event", req("GET", hmacQuery("t10", "&event=bogus"), hmacKey, ""), 400},
	{"hmac: body without timestamp", req("POST", "/v1/postbacks", []string{"X-API-Key: {hkey}", "Content-Type: application/json", "X-Signature: {hmac-b}"}, event("t11", "")), 401},
	{"hmac: body changed after signing", req("POST", "/v1/postbacks", hmacJSON, event("t12", "")+"{tamper}"), 401},
	{"hmac: signed member given twice", req("POST", "/v1/postbacks", hmacJSON, event("t13", `,"amount":"99999.00"`)), 400},
	{"hmac: signed lone surrogate", req("POST", "/v1/postbacks", hmacJSON, event("t14", `,"sub1":"\ud800"`)), 400},
	{"hmac: signed body, unsigned query", req("POST", "/v1/postbacks?amount=99999.00", hmacJSON, event("t15", "")), 400},

	// More framing: targets and expectations a server must not take at face value.
	{"HTTP/1.0 without Host or key", raw("GET " + query("p1", "") + " HTTP/1.0\r\n\r\n"), 401},
	{"asterisk target", raw("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), 404},
	{"absolute target elsewhere", raw("GET http://other.example" + query("p2", "") + " HTTP/1.1\r\nHost: a\r\n\r\n"), 401},
	{"CONNECT", raw("CONNECT affrelay.test:443 HTTP/1.1\r\nHost: affrelay.test:443\r\n\r\n"), 0},
	{"HTTP/2 preface over HTTP/1", raw("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 0},
	{"unknown expectation", raw("POST /v1/postbacks HTTP/1.1\r\nHost: a\r\nX-API-Key: {key}\r\nExpect: 100-continue-please\r\nContent-Length: 2\r\n\r\n{}"), 417},
	{"signup of an unknown affiliate", req("POST", "/v1/admin/affiliates/caf%C3%A9/signup", adminJSON, ""), 404},
	{"NUL in a path id", req("GET", "/v1/admin/integrations/int%00x", adminJSON, ""), 0},
	{"invalid UTF-8 in a path id", req("GET", "/v1/admin/integrations/int%FF%FE", adminJSON, ""), 0},
	{"NUL in an affiliate id", req("GET", "/v1/admin/affiliates/a%00/plans", adminJSON, ""), 0},
	{"invalid UTF-8 in a delivery id", req("POST", "/v1/admin/deliveries/%C3%28/replay", adminJSON, ""), 0},
	{"NUL in a webhook id", req("PATCH", "/v1/admin/webhooks/wh%00", adminJSON, `{"enabled":false}`), 0},
	{"NUL in a query filter", req("GET", "/v1/admin/deliveries?event_id=a%00b", adminJSON, ""), 0},
	{"invalid UTF-8 in a query filter", req("GET", "/v1/admin/deliveries?affiliate_id=%FF", adminJSON, ""), 0},
	{"NUL in the requests filter", req("GET", "/v1/admin/requests?integration=a%00b", adminJSON, ""), 0},

	// Reconciliation uploads and reports (authenticated by the integration's key, like postbacks).
	{"recon: no key", req("POST", "/v1/reconciliation/batches", []string{"Content-Type: text/csv"}, reconCSV), 401},
	{"recon: wrong key", req("POST", "/v1/reconciliation/batches", []string{"X-API-Key: {key}x", "Content-Type: text/csv"}, reconCSV), 401},
	{"recon: admin token", req("POST", "/v1/reconciliation/batches", []string{"Authorization: Bearer {admin}", "Content-Type: text/csv"}, reconCSV), 401},
	{"recon: signed integration, no signature", req("POST", "/v1/reconciliation/batches", []string{"X-API-Key: {skey}", "Content-Type: text/csv"}, reconCSV), 401},
	{"recon: no player_id column", req("POST", "/v1/reconciliation/batches", reconKey, "date,currency,ngr\n2026-01-01,USD,1.00\n"), 400},
	{"recon: bad date", req("POST", "/v1/reconciliation/batches", reconKey, "date,player_id,currency,ngr\n2026-13-01,p1,USD,1.00\n"), 400},
	{"recon: player-day twice", req("POST", "/v1/reconciliation/batches", reconKey, reconCSV+"2026-01-01,p-1,USD,2.00\n"), 400},
	{"recon: NUL in a player id", req("POST", "/v1/reconciliation/batches", reconKey, "date,player_id,currency,ngr\n2026-01-01,p\x001,USD,1.00\n"), 400},
	{"recon: invalid UTF-8 player id", req("POST", "/v1/reconciliation/batches", reconKey, "date,player_id,currency,ngr\n2026-01-01,p\xff\xfe,USD,1.00\n"), 400},
	{"recon: float amount", req("POST", "/v1/reconciliation/batches", reconKey, "date,player_id,currency,ngr\n2026-01-01,p1,USD,1e3\n"), 400},
	{"recon: column given twice", req("POST", "/v1/reconciliation/batches", reconKey, "date,player_id,currency,ngr,ngr\n2026-01-01,p1,USD,1.00,2.00\n"), 400},
	{"recon: JSON member given twice", req("POST", "/v1/reconciliation/batches", []string{"X-API-Key: {key}", "Content-Type: application/json"}, `[{"date":"2026-01-01","player_id":"p1","currency":"USD","ngr":"1.00","ngr":"99999.00"}]`), 400},
	{"recon: JSON lone surrogate", req("POST", "/v1/reconciliation/batches", []string{"X-API-Key: {key}", "Content-Type: application/json"}, `[{"date":"2026-01-01","player_id":"p\udfff","currency":"USD","ngr":"1.00"}]`), 400},
	{"recon: JSON invalid UTF-8", req("POST", "/v1/reconciliation/batches", []string{"X-API-Key: {key}", "Content-Type: application/json"}, "[{\"date\":\"2026-01-01\",\"player_id\":\"p\xc3\x28\",\"currency\":\"USD\",\"ngr\":\"1.00\"}]"), 400},
	{"recon: JSON broken", req("POST", "/v1/reconciliation/batches", []string{"X-API-Key: {key}", "Content-Type: application/json"}, `[{"date":"2026-01-01",`), 400},
	{"recon: no rows", req("POST", "/v1/reconciliation/batches", reconKey, "date,player_id,currency,ngr\n"), 400},
	{"recon: a PDF", req("POST", "/v1/reconciliation/batches", []string{"X-API-Key: {key}", "Content-Type: application/pdf"}, reconCSV), 415},
	{"recon: gzip that is not", req("POST", "/v1/reconciliation/batches", []string{"X-API-Key: {key}", "Content-Type: text/csv", "Content-Encoding: gzip"}, reconCSV), 400},
	{"recon: truncated body", raw("POST /v1/reconciliation/batches HTTP/1.1\r\nHost: a\r\nX-API-Key: {key}\r\nContent-Type: text/csv\r\nContent-Length: 500\r\nConnection: close\r\n\r\n" + reconCSV + "{eof}"), 400},
	{"recon: GET without key", req("GET", "/v1/reconciliation/batches/rcb_x", nil, ""), 401},
	{"recon: unknown batch", req("GET", "/v1/reconciliation/batches/rcb_000000000000000000000000", keyOnly, ""), 404},
	{"recon: NUL in a batch id", req("GET", "/v1/reconciliation/batches/rcb%00", keyOnly, ""), 0},
	{"recon: invalid UTF-8 batch id", req("GET", "/v1/reconciliation/batches/%FF/rows", keyOnly, ""), 0},
	{"recon: rows, limit 0", req("GET", "/v1/reconciliation/batches/rcb_x/rows?limit=0", keyOnly, ""), 400},
	{"recon: rows, unknown status", req("GET", "/v1/reconciliation/batches/rcb_x/rows?status=lost", keyOnly, ""), 400},
	{"recon: rows, negative after", req("GET", "/v1/reconciliation/batches/rcb_x/rows?after=-1", keyOnly, ""), 400},
	{"recon: rows as CSV, NUL id", req("GET", "/v1/reconciliation/batches/a%00b/rows", []string{"X-API-Key: {key}", "Accept: text/csv"}, ""), 0},
	{"recon: DELETE a batch", req("DELETE", "/v1/reconciliation/batches/rcb_x", keyOnly, ""), 405},

	// The click tracker (issue 9, item 4).
	{"click: NUL in sub1", req("GET", "/c/{aff}?to=https%3A%2F%2Fcasino.example%2F&sub1=a%00b", nil, ""), 400},
	{"click: control in the code", req("GET", "/c/%01x?to=https%3A%2F%2Fcasino.example%2F", nil, ""), 400},
	{"click: NUL in the code", req("GET", "/c/a%00?to=https%3A%2F%2Fcasino.example%2F", nil, ""), 400},
	{"click: padded code", req("GET", "/c/%20{aff}?to=https%3A%2F%2Fcasino.example%2F", nil, ""), 400},
	{"click: code of 129 bytes", req("GET", "/c/"+strings.Repeat("c", 129)+"?to=https%3A%2F%2Fcasino.example%2F", nil, ""), 400},
	{"click: invalid UTF-8 sub2", req("GET", "/c/{aff}?to=https%3A%2F%2Fcasino.example%2F&sub2=%FF%FE", nil, ""), 400},
	{"click: C1 control sub3", req("GET", "/c/{aff}?to=https%3A%2F%2Fcasino.example%2F&sub3=%C2%85", nil, ""), 400},
	{"click: sub1 twice", req("GET", "/c/{aff}?to=https%3A%2F%2Fcasino.example%2F&sub1=a&sub1=b", nil, ""), 400},
	{"click: to twice", req("GET", "/c/{aff}?to=https%3A%2F%2Fcasino.example%2F&to=https%3A%2F%2Fevil.example%2F", nil, ""), 400},
	{"click: sub4 of 257 bytes", req("GET", "/c/{aff}?to=https%3A%2F%2Fcasino.example%2F&sub4="+strings.Repeat("s", 257), nil, ""), 400},
	{"click: to of 2049 bytes", req("GET", "/c/{aff}?to=https%3A%2F%2Fcasino.example%2F"+strings.Repeat("p", 2030), nil, ""), 400},
	{"click: broken escape", req("GET", "/c/{aff}?to=https%3A%2F%2Fcasino.example%2F&sub1=%zz", nil, ""), 400},
	{"click: no to", req("GET", "/c/{aff}", nil, ""), 400},
	{"click: open redirect", req("GET", "/c/{aff}?to=https%3A%2F%2Fevil.example%2F", nil, ""), 400},
	{"click: look-alike host", req("GET", "/c/{aff}?to=https%3A%2F%2Fcasino.example.evil.example%2F", nil, ""), 400},
	{"click: scheme-relative", req("GET", "/c/{aff}?to=%2F%2Fevil.example%2F", nil, ""), 400},
	{"click: javascript", req("GET", "/c/{aff}?to=javascript%3Aalert(1)", nil, ""), 400},
	{"click: credentials in to", req("GET", "/c/{aff}?to=https%3A%2F%2Fu%3Ap%40casino.example%2F", nil, ""), 400},
	{"click: control in to", req("GET", "/c/{aff}?to=https%3A%2F%2Fcasino.example%2F%0D%0ASet-Cookie%3Ax", nil, ""), 400},

	// Admin bodies: values out of range and the bounds of issue 9, item 5.
	{"admin: endpoint with credentials", req("POST", "/v1/admin/affiliates/{aff}/postback-endpoints", adminJSON, `{"url":"http://user:secret@tracker.example/pb","events":["ftd"]}`), 400},
	{"admin: webhook with credentials", req("POST", "/v1/admin/webhooks", adminJSON, `{"kind":"webhook","url":"https://u:p@hooks.example/in","events":["conversion.recorded"]}`), 400},
	{"admin: webhook url to credentials", req("PATCH", "/v1/admin/webhooks/{webhook}", adminJSON, `{"url":"https://u:p@hooks.example/in"}`), 400},
	{"admin: 21 tiers", req("POST", "/v1/admin/affiliates", adminJSON, `{"name":"t","plan":{"type":"revshare","currency":"USD","tier_mode":"tiered","tiers":[`+tiersJSON(21)+`]}}`), 400},
	{"admin: 10000 tiers", req("POST", "/v1/admin/affiliates/{aff}/plans", adminJSON, `{"type":"revshare","currency":"USD","tier_mode":"tiered","effective_from":"2030-01-01T00:00:00Z","tiers":[`+tiersJSON(10000)+`]}`), 400},
	{"admin: 8 events", req("POST", "/v1/admin/affiliates/{aff}/postback-endpoints", adminJSON, `{"url":"https://t.example/pb","events":["ftd","ftd","ftd","ftd","ftd","ftd","ftd","ftd"]}`), 400},
	{"admin: mapping two parameters onto one field", req("PUT", "/v1/admin/integrations/{int}/mapping", adminJSON, `{"fields":{"cid":"click_id","clickid":"click_id"}}`), 400},
	{"admin: mapping onto an unknown field", req("PUT", "/v1/admin/integrations/{int}/mapping", adminJSON, `{"fields":{"sum":"amonut"}}`), 400},
	{"admin: mapping that leaves no event_id", req("PUT", "/v1/admin/integrations/{int}/mapping", adminJSON, `{"ignore":["event_id"]}`), 400},
	{"admin: mapping with an unknown preset", req("PUT", "/v1/admin/integrations/{int}/mapping", adminJSON, `{"preset":"nope"}`), 400},
	{"admin: unknown idempotency key", req("PUT", "/v1/admin/integrations/{int}/mapping", adminJSON, `{"idempotency_key":"player_id"}`), 400},
	{"admin: negative secret max age", req("PATCH", "/v1/admin/integrations/{int}", adminJSON, `{"secret_max_age_days":-1}`), 400},
	{"admin: webhook secret max age over ten years", req("PATCH", "/v1/admin/webhooks/{webhook}", adminJSON, `{"secret_max_age_days":3651}`), 400},
	{"admin: 51 hosts", req("PUT", "/v1/admin/integrations/{int}/landing-hosts", adminJSON, `{"hosts":[`+strings.TrimSuffix(strings.Repeat(`"h.example",`, 51), ",")+`]}`), 400},
	{"admin: 101 allowlist entries", req("PATCH", "/v1/admin/integrations/{int}", adminJSON, `{"ip_allowlist":[`+strings.TrimSuffix(strings.Repeat(`"10.0.0.0/8",`, 101), ",")+`]}`), 400},
	{"admin: bad CIDR", req("PATCH", "/v1/admin/integrations/{int}", adminJSON, `{"ip_allowlist":["10.0.0.0/33"]}`), 400},
	{"admin: tolerance out of range", req("PATCH", "/v1/admin/integrations/{int}", adminJSON, `{"tolerance_seconds":99999999}`), 400},
	{"admin: negative rate limit", req("PATCH", "/v1/admin/integrations/{int}", adminJSON, `{"rate_limit_rps":-1}`), 400},
	{"admin: rate limit not a number", req("PATCH", "/v1/admin/integrations/{int}", adminJSON, `{"rate_limit_rps":"fast"}`), 400},
	{"admin: unknown scheme", req("PATCH", "/v1/admin/integrations/{int}", adminJSON, `{"signature_scheme":"md5"}`), 400},
	{"admin: signature header X-API-Key", req("PATCH", "/v1/admin/integrations/{int}", adminJSON, `{"signature_header":"X-API-Key"}`), 400},
	{"admin: name with NUL", req("POST", "/v1/admin/integrations", adminJSON, `{"name":"a\u0000b"}`), 400},
	{"admin: name of 129 bytes", req("POST", "/v1/admin/integrations", adminJSON, `{"name":"`+strings.Repeat("n", 129)+`"}`), 400},
	{"admin: empty name", req("POST", "/v1/admin/integrations", adminJSON, `{"name":"  "}`), 400},
	{"admin: plan amount as float", req("POST", "/v1/admin/affiliates", adminJSON, `{"name":"x","plan":{"type":"cpa","amount":1.5,"currency":"USD"}}`), 400},
	{"admin: negative CPA", req("POST", "/v1/admin/affiliates", adminJSON, `{"name":"x","plan":{"type":"cpa","amount":"-1.00","currency":"USD"}}`), 400},
	{"admin: unknown plan type", req("POST", "/v1/admin/affiliates", adminJSON, `{"name":"x","plan":{"type":"free-money","currency":"USD"}}`), 400},
	{"admin: no plan", req("POST", "/v1/admin/affiliates", adminJSON, `{"name":"x"}`), 400},
	{"admin: parent is itself", req("PUT", "/v1/admin/affiliates/{aff}/parent", adminJSON, `{"affiliate_id":"{aff}","share":"10"}`), 0},
	{"admin: share over 100", req("PUT", "/v1/admin/affiliates/{aff}/parent", adminJSON, `{"affiliate_id":"{aff2}","share":"100.01"}`), 400},
	{"admin: fx rate zero", req("POST", "/v1/admin/fx-rates", adminJSON, `{"base":"EUR","quote":"USD","rate":"0","effective_from":"2026-01-01T00:00:00Z"}`), 400},
	{"admin: fx same currency", req("POST", "/v1/admin/fx-rates", adminJSON, `{"base":"USD","quote":"USD","rate":"1","effective_from":"2026-01-01T00:00:00Z"}`), 400},
	{"admin: secret expiring in the past", req("POST", "/v1/admin/integrations/{int}/secrets", adminJSON, `{"expires_at":"2001-01-01T00:00:00Z"}`), 400},
	{"admin: endpoint method DELETE", req("POST", "/v1/admin/affiliates/{aff}/postback-endpoints", adminJSON, `{"url":"https://t.example/pb","method":"DELETE","events":["ftd"]}`), 400},
	{"admin: endpoint macro in host", req("POST", "/v1/admin/affiliates/{aff}/postback-endpoints", adminJSON, `{"url":"https://{sub1}.t.example/pb","events":["ftd"]}`), 400},
	{"admin: endpoint javascript", req("POST", "/v1/admin/affiliates/{aff}/postback-endpoints", adminJSON, `{"url":"javascript:alert(1)","events":["ftd"]}`), 400},
	{"admin: enabled not a boolean", req("PATCH", "/v1/admin/affiliates/{aff}/postback-endpoints/{endpoint}", adminJSON, `{"enabled":"no"}`), 400},
	{"admin: limit 0", req("GET", "/v1/admin/deliveries?limit=0", adminJSON, ""), 400},
	{"admin: limit 1001", req("GET", "/v1/admin/deliveries?limit=1001", adminJSON, ""), 400},
	{"admin: queue limit 0", req("GET", "/v1/admin/queue?limit=0", adminJSON, ""), 400},
	{"admin: integrations from is no time", req("GET", "/v1/admin/integrations?from=yesterday", adminJSON, ""), 400},
	{"admin: endpoints to before from", req("GET", "/v1/admin/postback-endpoints?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", adminJSON, ""), 400},
	{"admin: endpoints limit 1001", req("GET", "/v1/admin/postback-endpoints?limit=1001", adminJSON, ""), 400},
	{"admin: unknown conversion", req("GET", "/v1/admin/conversions/{int}/evt-none", adminJSON, ""), 404},
	{"admin: delete an unknown endpoint", req("DELETE", "/v1/admin/affiliates/{aff}/postback-endpoints/pbe_000000000000000000000000", adminJSON, ""), 404},
	{"admin: refire without a reason", req("POST", "/v1/admin/deliveries/dlv_000000000000000000000000/refire", adminJSON, `{}`), 400},
	{"admin: refire reason with a control character", req("POST", "/v1/admin/deliveries/dlv_000000000000000000000000/refire", adminJSON, `{"reason":"a\u0007b"}`), 400},
	{"admin: bulk refire with no bound", req("POST", "/v1/admin/deliveries/refire", adminJSON, `{"reason":"lost"}`), 400},
	{"admin: bulk refire of pending", req("POST", "/v1/admin/deliveries/refire", adminJSON, `{"reason":"lost","status":"pending"}`), 400},
	{"admin: bulk refire with a bad time", req("POST", "/v1/admin/deliveries/refire", adminJSON, `{"reason":"lost","from":"2026-13-01T00:00:00Z"}`), 400},
	{"admin: bulk refire with a NUL event id", req("POST", "/v1/admin/deliveries/refire", adminJSON, `{"reason":"lost","event_ids":["a\u0000b"]}`), 400},
	{"admin: bulk refire rate too high", req("POST", "/v1/admin/deliveries/refire", adminJSON, `{"reason":"lost","all":true,"rate_per_second":1001}`), 400},
	{"admin: unknown refire job", req("GET", "/v1/admin/deliveries/refire/rfj_000000000000000000000000", adminJSON, ""), 404},
	{"admin: refire of an unknown delivery", req("POST", "/v1/admin/deliveries/dlv_000000000000000000000000/refire", adminJSON, `{"reason":"lost"}`), 404},
	{"admin: limit not a number", req("GET", "/v1/admin/requests?limit=all", adminJSON, ""), 400},
	{"admin: unknown status", req("GET", "/v1/admin/deliveries?status=gone", adminJSON, ""), 400},
	{"admin: bad date", req("GET", "/v1/admin/unattributed?from=yesterday&to=2026-02-01", adminJSON, ""), 400},
	{"admin: range backwards", req("GET", "/v1/affiliates/{aff}/commissions?from=2026-02-01&to=2026-01-01", adminJSON, ""), 400},
	{"admin: unknown group_by", req("GET", "/v1/affiliates/{aff}/commissions?from=2026-01-01&to=2026-02-01&group_by=planet", adminJSON, ""), 400},
	{"admin: unknown integration", req("GET", "/v1/admin/integrations/int_000000000000000000000000", adminJSON, ""), 404},
	{"admin: unknown affiliate's balance", req("GET", "/v1/admin/affiliates/aff_nobody/balance", adminJSON, ""), 0},
	{"admin: unknown webhook", req("PATCH", "/v1/admin/webhooks/wh_nobody", adminJSON, `{"enabled":false}`), 404},
	{"admin: unknown delivery", req("POST", "/v1/admin/deliveries/caf%C3%A9/replay", adminJSON, ""), 404},
	{"admin: revoke a key of another integration", req("DELETE", "/v1/admin/integrations/{sint}/keys/{keyid}", adminJSON, ""), 404},
	{"admin: expire a secret of another integration", req("DELETE", "/v1/admin/integrations/{int}/secrets/{secretid}", adminJSON, ""), 404},
	{"payouts: confirm an unknown payout", req("POST", "/v1/admin/payouts/pay_000000000000000000000000/confirm", adminJSON, `{"status":"paid","external_ref":"w","paid_at":"2026-10-02T10:00:00Z"}`), 404},
	{"payouts: confirm status maybe", req("POST", "/v1/admin/payouts/pay_000000000000000000000000/confirm", adminJSON, `{"status":"maybe","external_ref":"w"}`), 400},
	{"payouts: confirm paid without paid_at", req("POST", "/v1/admin/payouts/pay_000000000000000000000000/confirm", adminJSON, `{"status":"paid","external_ref":"w"}`), 400},
	{"payouts: confirm amount a number", req("POST", "/v1/admin/payouts/pay_000000000000000000000000/confirm", adminJSON, `{"status":"paid","external_ref":"w","paid_at":"2026-10-02T10:00:00Z","amount":1,"currency":"USD"}`), 400},
	{"payouts: confirm external_ref with a newline", req("POST", "/v1/admin/payouts/pay_000000000000000000000000/confirm", adminJSON, `{"status":"paid","external_ref":"w\n","paid_at":"2026-10-02T10:00:00Z"}`), 400},
	{"payouts: run a period not ended", req("POST", "/v1/admin/payouts/run", adminJSON, `{"period":"2999-01"}`), 400},
	{"payouts: run month 13", req("POST", "/v1/admin/payouts/run", adminJSON, `{"period":"2026-13"}`), 400},
	{"payouts: limit 0", req("GET", "/v1/admin/payouts?limit=0", adminJSON, ""), 400},
	{"payouts: bad cursor", req("GET", "/v1/admin/payouts?cursor=%25%25", adminJSON, ""), 400},
	{"payouts: unknown status", req("GET", "/v1/admin/payouts?status=lost", adminJSON, ""), 400},
	{"payouts: export without a period", req("GET", "/v1/admin/payouts/export", adminJSON, ""), 400},
	{"payouts: negative minimum", req("PUT", "/v1/admin/affiliates/{aff}/payout-minimums/USD", adminJSON, `{"amount":"-1.00"}`), 400},
	{"payouts: minimum in a bad currency", req("PUT", "/v1/admin/affiliates/{aff}/payout-minimums/usd", adminJSON, `{"amount":"1.00"}`), 400},
	{"payouts: hold without a reason", req("POST", "/v1/admin/ledger-entries/led_000000000000000000000000/hold", adminJSON, `{"reason":""}`), 400},
	{"payouts: hold an unknown entry", req("POST", "/v1/admin/ledger-entries/led_000000000000000000000000/hold", adminJSON, `{"reason":"fraud"}`), 404},
	{"payouts: unknown entry status", req("GET", "/v1/admin/affiliates/{aff}/ledger-entries?status=gone", adminJSON, ""), 400},
}

// protocolCases are answered by Go's HTTP server before affrelay sees them, with the 5xx that RFC 9110 and
// RFC 9112 name for them (505 HTTP Version Not Supported, 501 for a transfer coding it does not implement):
// the one place the suite accepts a 5xx, and still nothing may be written.
var protocolCases = []hostileCase{
	{"HTTP/2.0 request line", raw("GET " + query("v1", "") + " HTTP/2.0\r\nHost: a\r\nX-API-Key: {key}\r\n\r\n"), 505},
	{"HTTP/3.0 request line", raw("GET /healthz HTTP/3.0\r\nHost: a\r\n\r\n"), 505},
	{"gzip transfer coding", raw("POST /v1/postbacks HTTP/1.1\r\nHost: a\r\nX-API-Key: {key}\r\nTransfer-Encoding: gzip\r\n\r\n"), 501},
	{"gzip, chunked transfer coding", raw("POST /v1/postbacks HTTP/1.1\r\nHost: a\r\nX-API-Key: {key}\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"), 501},
}

func tiersJSON(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = `{"from":"` + strconv.Itoa(i*100) + `","rate":"25"}`
	}
	return strings.Join(parts, ",")
}

// hostileFixture is what the placeholders stand for.
type hostileFixture struct {
	values    map[string]string
	swKey     []byte // the Standard Webhooks integration's secret
	hmacKey   string // the hmac-sha256 integration's secret
	caseIndex int
}

func hmacHex(key, payload string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(payload))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// fill replaces the placeholders of a case: fixture values, a fresh webhook-id, the time, a valid Standard
// Webhooks signature over the body as sent ({sw-sig}), and the body's length ({content-length}).
func (f *hostileFixture) fill(rawReq string, now time.Time) string {
	f.caseIndex++
	ts := strconv.FormatInt(now.Unix(), 10)
	msgID := "msg_hostile_" + strconv.Itoa(f.caseIndex)
	pairs := []string{"{msgid}", msgID, "{ts}", ts}
	for k, v := range f.values {
		pairs = append(pairs, "{"+k+"}", v)
	}
	s := strings.NewReplacer(pairs...).Replace(rawReq)
	head, body, _ := strings.Cut(s, "\r\n\r\n")
	signedBody := strings.ReplaceAll(body, "{tamper}", "")
	body = strings.ReplaceAll(body, "{tamper}", " ")
	if strings.Contains(head, "{sw-sig}") {
		stamp := ts
		if i := strings.Index(head, "webhook-timestamp: "); i >= 0 {
			stamp, _, _ = strings.Cut(head[i+len("webhook-timestamp: "):], "\r\n")
		}
		mac := hmac.New(sha256.New, f.swKey)
		mac.Write([]byte(msgID + "." + stamp + "." + signedBody))
		head = strings.ReplaceAll(head, "{sw-sig}", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	if strings.Contains(head, "{hmac-b}") {
		stamp, _, _ := strings.Cut(head[strings.Index(head, "X-Timestamp: ")+len("X-Timestamp: "):], "\r\n")
		if !strings.Contains(head, "X-Timestamp: ") {
			stamp = ts
		}
		head = strings.ReplaceAll(head, "{hmac-b}", hmacHex(f.hmacKey, stamp+"."+signedBody))
	}
	if strings.Contains(head, "{hmac-q}") {
		target := strings.Fields(head)[1]
		_, rawQuery, _ := strings.Cut(strings.ReplaceAll(target, "{tamper}", ""), "?")
		if i := strings.Index(rawQuery, "&amount=99999.00"); i >= 0 && strings.Contains(target, "{tamper}") {
			rawQuery = rawQuery[:i] // signed before the amount was added
		}
		payload := string(signing.HMACQueryPayload(rawQuery, "signature"))
		head = strings.ReplaceAll(head, "{hmac-q}", hmacHex(f.hmacKey, payload))
	}
	head = strings.ReplaceAll(head, "{tamper}", "")
	head = strings.ReplaceAll(head, "{content-length}", strconv.Itoa(len(body)))
	return head + "\r\n\r\n" + body
}

// sendRaw writes the bytes to a new connection and reads one response; the status is 0 when the server closed
// the connection without answering. A request ending in {eof} is sent without it, then the client stops
// sending (a truncated body).
func sendRaw(t *testing.T, addr, rawReq string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(30*time.Second)))
	// Write in the background: the server may answer (413, 431) and close before it has read everything.
	rawReq, eof := strings.CutSuffix(rawReq, "{eof}")
	go func() {
		_, _ = io.WriteString(conn, rawReq)
		if eof {
			_ = conn.(*net.TCPConn).CloseWrite()
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(body)
}

// tableRows reads every row of every table but the audit log, in a stable order: nothing in them may change
// (counting rows would miss a refused delete and a refused insert that cancel out).
func tableRows(t *testing.T, e *testEnv) map[string][]map[string]any {
	t.Helper()
	tables, err := e.app.Store.DB.Migrator().GetTables()
	require.NoError(t, err)
	out := map[string][]map[string]any{}
	for _, table := range tables {
		if table == "audit_records" || table == "audit_chain_heads" || table == "sqlite_sequence" { // the audit log, its chain head and its id counter
			continue
		}
		var rows []map[string]any
		require.NoError(t, e.app.Store.DB.Table(table).Order("1").Find(&rows).Error, table)
		out[table] = rows
	}
	return out
}

// startedSince lists the workflows of this app started at or after t, each as its id, and "<parent> > <id>"
// when it is a child.
func startedSince(t *testing.T, e *testEnv, since time.Time) []string {
	t.Helper()
	resp, err := e.app.Temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("TaskQueue = '%s' AND StartTime >= '%s'", e.app.Config.Temporal.TaskQueue, since.UTC().Format(time.RFC3339Nano)),
	})
	require.NoError(t, err)
	var out []string
	for _, ex := range resp.GetExecutions() {
		id := ex.GetExecution().GetWorkflowId()
		if parent := ex.GetParentExecution().GetWorkflowId(); parent != "" {
			id = parent + " > " + id
		}
		out = append(out, id)
	}
	return out
}

func TestHostileInput(t *testing.T) {
	cases := append(adminCases(), hostileCases...)
	clicks := 0
	for _, c := range cases {
		if strings.Contains(c.raw, " /c/") {
			clicks++
		}
	}
	require.Less(t, clicks, clickBurst, "raise clickBurst: the click cases from one address must stay under it")
	// The rate-limit case: a client that spent its budget on refused clicks gets 429 for a good one.
	flood := hostileCase{"click: over the rate limit", req("GET", "/c/{aff}?to=https%3A%2F%2Fcasino.example%2F", []string{"X-Forwarded-For: 203.0.113.77"}, ""), 429}
	spend := hostileCase{"click: spending the budget", req("GET", "/c/{aff}?to=https%3A%2F%2Fcasino.example%2F&sub1=%00", []string{"X-Forwarded-For: 203.0.113.77"}, ""), 400}
	for range clickBurst {
		cases = append(cases, spend)
	}
	cases = append(cases, flood)

	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		f, tracker, hooks := hostileSetup(t, e)
		before := tableRows(t, e)
		start := time.Now()
		perRoute, perKind := map[string]int{}, map[string]int{}
		for _, c := range cases {
			status, body := sendRaw(t, e.app.Addr, f.fill(c.raw, time.Now()))
			if c.status != 0 {
				require.Equal(t, c.status, status, "%s: %s", c.name, body)
			}
			require.True(t, status >= 400 && status < 500, "%s: answered %d, want a 4xx: %s", c.name, status, body)
			perRoute[routeOf(c.raw)]++
			perKind[kindOf(c.name)]++
		}
		for _, c := range protocolCases {
			status, body := sendRaw(t, e.app.Addr, f.fill(c.raw, time.Now()))
			require.Equal(t, c.status, status, "%s: %s", c.name, body)
			perRoute[routeOf(c.raw)]++
			perKind["framing and routes"]++
		}
		t.Logf("%d hostile requests; per kind: %v", len(cases)+len(protocolCases), perKind)
		t.Logf("%d hostile requests; per route: %v", len(cases)+len(protocolCases), perRoute)

		require.Equal(t, before, tableRows(t, e), "a refused request changed a table")
		require.Empty(t, tracker.received(), "a receiver was called")
		require.Empty(t, hooks.received(), "a webhook receiver was called")

		// A good postback after the barrage: the server still works, and once its workflow is visible in
		// Temporal, every start before it would be too: it (and a delivery child it may start when its first
		// attempt is slow) must be the only one since the suite began.
		r := e.postback(f.values["key"], ftd("after-the-barrage", f.values["aff"]))
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		sentinel := r.Body["workflow_id"].(string)
		// The audit log is written in the background, in order: once the good request's row is there, so are
		// the refusals', and they must be refusals.
		sentinelRequest := r.Header.Get("X-Request-Id")
		eventually(t, 10*time.Second, "the good request's audit row", func() bool {
			return e.count(&store.AuditRecord{}, "request_id = ?", sentinelRequest) == 1
		})
		var refusals []int
		require.NoError(t, e.app.Store.DB.Model(&store.AuditRecord{}).Where("time >= ? AND request_id <> ?", start.UTC(), sentinelRequest).
			Pluck("status", &refusals).Error)
		require.NotEmpty(t, refusals)
		t.Logf("%d audit rows written since the suite began, all refusals", len(refusals))
		for _, s := range refusals {
			require.True(t, s >= 400 && s < 500, "an audit row records %d", s)
		}
		eventually(t, 20*time.Second, "the good postback's workflow visible", func() bool {
			return slices.Contains(startedSince(t, e, start), sentinel)
		})
		for _, id := range startedSince(t, e, start) {
			require.True(t, id == sentinel || strings.HasPrefix(id, sentinel+" > "), "a refused request started workflow %s", id)
		}
		eventually(t, 20*time.Second, "the good postback delivered", func() bool { return len(tracker.received()) == 1 })
	}, func(c *config.Config) {
		c.Security.ClickRateLimitRPS, c.Security.ClickRateLimitBurst = 0.001, clickBurst
		c.HTTP.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		c.Security.RateLimitRPS, c.Security.RateLimitBurst = 10000, 10000 // the per-key limit has its own tests
	})
}

// kindOf groups a case by the prefix of its name: query, form, json, signed, hmac, click, admin, or the
// generated admin cases ("/v1/…"); anything else is framing and routing.
func kindOf(name string) string {
	prefix, _, ok := strings.Cut(name, ":")
	switch {
	case !ok:
		return "framing and routes"
	case strings.Contains(prefix, " /v1/"):
		return "admin (generated)"
	case strings.Contains(prefix, " "):
		return "framing and routes"
	}
	return prefix
}

// routeOf names a request's route for the report: method and path without query or ids.
func routeOf(rawReq string) string {
	line, _, _ := strings.Cut(rawReq, "\r\n")
	parts := strings.Fields(line)
	if len(parts) < 2 {
		return "(no request line)"
	}
	path, _, _ := strings.Cut(parts[1], "?")
	if len(path) > 40 {
		path = path[:40] + "…"
	}
	return parts[0] + " " + path
}

// hostileSetup makes what the cases aim at: a plain integration and a signing one, two affiliates, a postback
// endpoint and a webhook subscription (both at receivers that must stay silent), landing hosts, a spare key
// and a secret.
func hostileSetup(t *testing.T, e *testEnv) (*hostileFixture, *sink, *sink) {
	tracker, hooks := newSink(t, always(200)), newSink(t, always(200))
	key, integrationID, affiliateID := e.setup(tracker.srv.URL)
	r := e.admin("PUT", "/v1/admin/integrations/"+integrationID+"/landing-hosts", map[string]any{"hosts": []string{"casino.example"}})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	r = e.admin("POST", "/v1/admin/affiliates", map[string]any{"name": "Aff Two", "plan": map[string]any{"type": "cpa", "amount": "1.00", "currency": "USD"}})
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	aff2, signup2 := r.Body["id"].(string), r.Body["signup_workflow_id"].(string)
	eps := e.admin("POST", "/v1/admin/affiliates/"+affiliateID+"/postback-endpoints", map[string]any{"url": tracker.srv.URL + "/second", "events": []string{"registration"}})
	require.Equal(t, http.StatusCreated, eps.Status, eps.Raw)
	r = e.admin("POST", "/v1/admin/webhooks", map[string]any{"kind": "crm", "url": hooks.srv.URL + "/crm", "events": []string{"affiliate.created"}})
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	webhookID := r.Body["id"].(string)
	r = e.admin("POST", "/v1/admin/integrations", map[string]any{"name": "signing-" + store.NewID("n")})
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	skey, sint := r.Body["api_key"].(string), r.Body["id"].(string)
	r = e.admin("POST", "/v1/admin/integrations/"+sint+"/secrets", nil)
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	secretID, secret := r.Body["id"].(string), r.Body["secret"].(string)
	swKey, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	require.NoError(t, err)
	r = e.admin("POST", "/v1/admin/integrations", map[string]any{"name": "hmac-" + store.NewID("n")})
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	hkey, hint := r.Body["api_key"].(string), r.Body["id"].(string)
	r = e.admin("PATCH", "/v1/admin/integrations/"+hint, map[string]any{"signature_scheme": "hmac-sha256"})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	r = e.admin("POST", "/v1/admin/integrations/"+hint+"/secrets", nil)
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	hmacSecret := r.Body["secret"].(string)
	r = e.admin("POST", "/v1/admin/integrations/"+integrationID+"/keys", map[string]any{"label": "spare"})
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	keyID := r.Body["id"].(string)
	// The signup workflows of the setup finish before the suite counts rows.
	for _, id := range []string{"affiliate-signup:" + affiliateID, signup2} {
		require.NoError(t, e.app.Temporal.GetWorkflow(context.Background(), id, "").Get(context.Background(), nil))
	}
	return &hostileFixture{swKey: swKey, hmacKey: hmacSecret, values: map[string]string{
		"key": key, "skey": skey, "hkey": hkey, "admin": adminToken, "int": integrationID, "sint": sint, "aff": affiliateID, "aff2": aff2,
		"endpoint": eps.Body["id"].(string), "keyid": keyID, "secretid": secretID, "webhook": webhookID,
	}}, tracker, hooks
}
