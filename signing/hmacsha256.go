package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"
)

// The hmac-sha256 scheme, for operators whose platforms sign with a plain hex HMAC in one header or parameter:
//
//	POST: signature header = "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + raw body)),
//	      timestamp (Unix seconds) in its own header;
//	GET:  signature parameter = hex(HMAC-SHA256(secret, raw query string without the signature parameter)),
//	      timestamp (Unix seconds) as a query parameter, so it is signed too.
//
// The HMAC key is the secret string's bytes as given, so `openssl dgst -sha256 -hmac "$SECRET"` signs.

// HMACPrefix is the optional prefix of an hmac-sha256 signature value.
const HMACPrefix = "sha256="

// ErrMissingSignature means the hmac-sha256 signature or its timestamp was not sent.
var ErrMissingSignature = errors.New("missing signature or timestamp")

// HMACBodyPayload is what hmac-sha256 signs for a request with a body: "<timestamp>.<body>".
func HMACBodyPayload(timestamp string, body []byte) []byte {
	out := make([]byte, 0, len(timestamp)+1+len(body))
	out = append(out, timestamp...)
	out = append(out, '.')
	return append(out, body...)
}

// HMACQueryPayload is what hmac-sha256 signs for a GET: the raw query string, byte for byte, with every
// parameter named param removed (the signature itself).
func HMACQueryPayload(rawQuery, param string) []byte {
	parts := strings.Split(rawQuery, "&")
	kept := parts[:0]
	for _, p := range parts {
		name, _, _ := strings.Cut(p, "=")
		if name != param {
			kept = append(kept, p)
		}
	}
	return []byte(strings.Join(kept, "&"))
}

// SignHMAC returns "sha256=<hex HMAC-SHA256(key, payload)>".
func SignHMAC(key, payload []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(payload)
	return HMACPrefix + hex.EncodeToString(mac.Sum(nil))
}

// VerifyHMAC checks an hmac-sha256 signature (with or without the "sha256=" prefix, hex in either case)
// against every key; timestamp must lie within tolerance of now. payload must come from the exact bytes received.
func VerifyHMAC(keys [][]byte, payload []byte, signature, timestamp string, now time.Time, tolerance time.Duration) error {
	v, err := newHMACVerifier(keys, "", signature, timestamp, now, tolerance)
	if err != nil {
		return err
	}
	_, _ = v.Write(payload)
	return v.Check()
}
