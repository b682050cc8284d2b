package evidence

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var cred = Credentials{KeyID: "key_1", SignatureHeader: "X-Casino-Sig", SignatureVerdict: "valid (hmac-sha256)"}

func TestRedactHeaders(t *testing.T) {
	for _, tc := range []struct {
		name, header, value, want string
	}{
		{"api key by key id", "X-Api-Key", "ak_live_secret", "[redacted: API key key_1]"},
		{"standard webhooks signature by verdict", "webhook-signature", "v1,abc=", "[redacted signature: valid (hmac-sha256)]"},
		{"default hmac header", "X-Signature", "deadbeef", "[redacted signature: valid (hmac-sha256)]"},
		{"the integration's own header", "x-casino-sig", "deadbeef", "[redacted signature: valid (hmac-sha256)]"},
		{"authorization", "Authorization", "Bearer t0k", "[redacted]"},
		{"cookie", "Cookie", "session=1", "[redacted]"},
		{"any token", "X-Partner-Token", "t", "[redacted]"},
		{"any secret", "X-Client-Secret", "s", "[redacted]"},
		{"webhook id kept", "webhook-id", "msg_1", "msg_1"},
		{"timestamp kept", "X-Timestamp", "1700000000", "1700000000"},
		{"content type kept", "Content-Type", "application/json", "application/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			h[tc.header] = []string{tc.value}
			got := RedactHeaders(h, cred)
			require.Equal(t, []string{tc.want}, got[http.CanonicalHeaderKey(tc.header)])
		})
	}
}

func TestRedactQuery(t *testing.T) {
	for _, tc := range []struct{ name, raw, want string }{
		{"empty", "", ""},
		{"nothing to redact, order and encoding kept", "event=ftd&event_id=e%201&amount=10.00", "event=ftd&event_id=e%201&amount=10.00"},
		{"token by key id", "event=ftd&token=ak_secret", "event=ftd&token=%5Bredacted%3A+API+key+key_1%5D"},
		{"sig by verdict", "sig=abc&ts=1", "sig=%5Bredacted+signature%3A+valid+%28hmac-sha256%29%5D&ts=1"},
		{"escaped name still found", "%74oken=x", "%74oken=%5Bredacted%3A+API+key+key_1%5D"},
		{"any secret-like name", "client_secret=x&a=b", "client_secret=%5Bredacted%5D&a=b"},
		{"name without value kept", "token&a=b", "token&a=b"},
		{"bad escape kept as is", "a=%zz&token=x", "a=%zz&token=%5Bredacted%3A+API+key+key_1%5D"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, RedactQuery(tc.raw, cred))
		})
	}
}

func TestCaptureKeepsTheBodyUpToTheLimit(t *testing.T) {
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.FixedZone("x", 3600))
	for _, tc := range []struct {
		name     string
		body     []byte
		encoding string
		kept     string
	}{
		{"text", []byte(`{"event":"ftd"}`), BodyText, `{"event":"ftd"}`},
		{"not UTF-8", []byte{0xff, 0xfe}, BodyBase64, "//4="},
		{"at the limit", []byte(strings.Repeat("a", MaxBodyBytes)), BodyText, strings.Repeat("a", MaxBodyBytes)},
		{"over the limit by hash", []byte(strings.Repeat("a", MaxBodyBytes+1)), BodyHashed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Capture(Received{Method: "POST", Body: tc.body, At: at, Status: 200, Header: http.Header{"X-Api-Key": {"k"}}}, cred)
			require.Equal(t, tc.encoding, r.BodyEncoding)
			require.Equal(t, tc.kept, r.Body)
			require.Equal(t, len(tc.body), r.BodySize)
			require.Len(t, r.BodySHA256, 64)
			require.Equal(t, time.UTC, r.ReceivedAt.Location())
			require.Equal(t, []string{"[redacted: API key key_1]"}, r.Headers["X-Api-Key"])
		})
	}
}

func FuzzRedactQuery(f *testing.F) {
	f.Add("token=abc&event=ftd")
	f.Add("%74oken=x&sig=y")
	f.Fuzz(func(t *testing.T, raw string) {
		out := RedactQuery(raw, Credentials{KeyID: "key_1", SignatureVerdict: "valid"})
		for _, p := range strings.Split(out, "&") {
			name, value, ok := strings.Cut(p, "=")
			if n, err := url.QueryUnescape(name); err == nil && strings.EqualFold(n, "token") && ok {
				require.Equal(t, "%5Bredacted%3A+API+key+key_1%5D", value)
			}
		}
	})
}
