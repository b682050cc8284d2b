package outbound

import (
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/affrelay/affrelay/signing"
)

// The headers verify with the Standard Webhooks reference library under each active secret, and under no other.
func TestWebhookHeadersVerifyWithEveryActiveSecret(t *testing.T) {
	current, previous, other := signing.NewSecret(), signing.NewSecret(), signing.NewSecret()
	body := `{"type":"webhook.test","timestamp":"2026-11-26T21:04:05Z","data":{}}`
	for _, c := range []struct {
		name    string
		secrets []string
		valid   []string
	}{
		{"one secret", []string{current}, []string{current}},
		{"during a rotation", []string{current, previous}, []string{current, previous}},
	} {
		h, err := WebhookHeaders(c.secrets, "msg_1", time.Now(), body)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(strings.Fields(h.Get(signing.HeaderSignature))); got != len(c.secrets) {
			t.Fatalf("%s: %d signatures, want %d", c.name, got, len(c.secrets))
		}
		for _, s := range append(c.valid, other) {
			wh, err := standardwebhooks.NewWebhook(s)
			if err != nil {
				t.Fatal(err)
			}
			err = wh.Verify([]byte(body), h)
			if (err == nil) != (s != other) {
				t.Fatalf("%s: verify with secret %q: %v", c.name, s[:10], err)
			}
		}
		if h.Get(signing.HeaderID) != "msg_1" || h.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: headers %v", c.name, h)
		}
	}
	if _, err := WebhookHeaders([]string{"not-a-secret"}, "msg_1", time.Now(), body); err == nil {
		t.Fatal("a malformed secret must be refused")
	}
}

// BenchmarkWebhookHeaders is the signing cost of one attempt of a 1 KiB event, with one and two active secrets.
func BenchmarkWebhookHeaders(b *testing.B) {
	body := `{"type":"conversion.recorded","timestamp":"2026-11-26T21:04:05Z","data":{"pad":"` + strings.Repeat("x", 1000) + `"}}`
	for _, n := range []int{1, 2} {
		secrets := make([]string, n)
		for i := range secrets {
			secrets[i] = signing.NewSecret()
		}
		b.Run(map[int]string{1: "one-secret", 2: "two-secrets"}[n], func(b *testing.B) {
			now := time.Now()
			for b.Loop() {
				if _, err := WebhookHeaders(secrets, "msg_0123456789abcdef01234567", now, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
