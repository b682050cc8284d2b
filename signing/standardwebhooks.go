// Package signing signs and verifies HTTP messages: Standard Webhooks (https://www.standardwebhooks.com/)
// and plain hex HMAC-SHA256 (hmacsha256.go).
// It does no I/O besides reading crypto/rand for new secrets.
package signing

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every Standard Webhooks secret; the rest is the base64 of the HMAC key.
const SecretPrefix = "whsec_"

// DefaultTolerance is how far a message's timestamp may be from now.
const DefaultTolerance = 5 * time.Minute

// Verification failures.
var (
	ErrMissingHeaders = errors.New("missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrBadTimestamp   = errors.New("timestamp is not a Unix time in seconds")
	ErrStaleTimestamp = errors.New("timestamp is outside the tolerance")
	ErrNoMatch        = errors.New("no signature matches")
)

// NewSecret returns a fresh secret "whsec_<base64 of 32 random bytes>".
func NewSecret() string {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// DecodeSecret returns the HMAC key of a "whsec_..." secret.
func DecodeSecret(secret string) ([]byte, error) {
	raw, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("secret does not start with %s", SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(key) < 16 {
		return nil, errors.New("secret is not the base64 of at least 16 bytes")
	}
	return key, nil
}

// Sign returns "v1,<base64 HMAC-SHA256(id.timestamp.body)>".
func Sign(key []byte, id string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// SignatureHeader signs with every key (all active secrets during a rotation), space-separated.
func SignatureHeader(keys [][]byte, id string, ts time.Time, body []byte) string {
	sigs := make([]string, len(keys))
	for i, k := range keys {
		sigs[i] = Sign(k, id, ts, body)
	}
	return strings.Join(sigs, " ")
}

// Verify checks a Standard Webhooks message against every key; one matching v1 signature is enough.
// body must be the exact bytes received.
func Verify(keys [][]byte, id, timestamp, signatureHeader string, body []byte, now time.Time, tolerance time.Duration) error {
	v, err := NewVerifier(keys, id, timestamp, signatureHeader, now, tolerance)
	if err != nil {
		return err
	}
	_, _ = v.Write(body)
	return v.Check()
}

// checkTimestamp parses Unix seconds and refuses a time further than tolerance from now, past or future.
func checkTimestamp(timestamp string, now time.Time, tolerance time.Duration) (time.Time, error) {
	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return time.Time{}, ErrBadTimestamp
	}
	ts := time.Unix(secs, 0)
	if ts.Before(now.Add(-tolerance)) || ts.After(now.Add(tolerance)) {
		return time.Time{}, ErrStaleTimestamp
	}
	return ts, nil
}
