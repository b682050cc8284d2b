// Package evidence holds what affrelay keeps to settle a dispute: the request as it was received, with its
// credentials redacted. It does no I/O.
package evidence

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxBodyBytes is the largest body kept as it was received; a larger one is kept by its SHA-256 and size.
const MaxBodyBytes = 64 << 10

// Body encodings.
const (
	BodyText   = "text"   // Body is the received bytes (valid UTF-8)
	BodyBase64 = "base64" // Body is the received bytes in standard base64 (they were not UTF-8)
	BodyHashed = "sha256" // only BodySHA256 and BodySize are kept: the body was over MaxBodyBytes
)

// Request is an acknowledged request as received, and the answer it got. Credentials are replaced by what
// identifies them without revealing them: the API key by its key id, a signature by the verdict on it.
type Request struct {
	RequestID string
	Method    string
	Path      string
	Query     string
	// Headers are canonical header names to their values, redacted.
	Headers      map[string][]string
	Body         string
	BodyEncoding string
	BodySize     int
	BodySHA256   string
	ClientIP     string
	ReceivedAt   time.Time
	KeyID        string
	// SignatureVerdict says how the signature was judged ("valid (standard-webhooks)", "not required: …").
	SignatureVerdict string
	ResponseStatus   int
	ResponseBody     string
}

// Credentials names what a request carried that must not be kept: where its API key and signature were,
// and the verdicts to keep in their place.
type Credentials struct {
	KeyID string
	// SignatureHeader is the integration's hmac-sha256 header name ("" for the default X-Signature).
	SignatureHeader  string
	SignatureVerdict string
}

// Received describes an acknowledged request from its parts; RedactHeaders and RedactQuery apply.
type Received struct {
	RequestID, Method, Path, RawQuery, ClientIP string
	Header                                      http.Header
	Body                                        []byte
	At                                          time.Time
	Status                                      int
	Response                                    []byte
}

// Capture returns the request to keep: redacted, its body kept whole up to MaxBodyBytes, else by hash.
func Capture(r Received, cred Credentials) Request {
	sum := sha256.Sum256(r.Body)
	out := Request{
		RequestID: r.RequestID, Method: r.Method, Path: r.Path, Query: RedactQuery(r.RawQuery, cred),
		Headers: RedactHeaders(r.Header, cred), BodySize: len(r.Body), BodySHA256: hex.EncodeToString(sum[:]),
		ClientIP: r.ClientIP, ReceivedAt: r.At.UTC(), KeyID: cred.KeyID, SignatureVerdict: cred.SignatureVerdict,
		ResponseStatus: r.Status, ResponseBody: string(r.Response),
	}
	switch {
	case len(r.Body) > MaxBodyBytes:
		out.BodyEncoding = BodyHashed
	case utf8.Valid(r.Body):
		out.Body, out.BodyEncoding = string(r.Body), BodyText
	default:
		out.Body, out.BodyEncoding = base64.StdEncoding.EncodeToString(r.Body), BodyBase64
	}
	return out
}

// Redaction kinds, as they replace a value.
func keyRedaction(keyID string) string { return "[redacted: API key " + keyID + "]" }
func signatureRedaction(verdict string) string {
	return "[redacted signature: " + verdict + "]"
}

const secretRedaction = "[redacted]"

// sensitiveWords mark a header or query parameter that carries a credential whatever it is called.
var sensitiveWords = []string{"token", "secret", "password", "passwd", "auth", "cookie", "session", "api-key", "api_key", "apikey", "signature"}

// redaction returns what replaces the value of the field called name (a header or query parameter, any case),
// or false to keep it.
func redaction(name string, cred Credentials) (string, bool) {
	n := strings.ToLower(name)
	switch {
	case n == "x-api-key" || n == "token":
		return keyRedaction(cred.KeyID), true
	case n == "webhook-signature" || n == "x-signature" || n == "sig" ||
		(cred.SignatureHeader != "" && n == strings.ToLower(cred.SignatureHeader)) || strings.Contains(n, "signature"):
		return signatureRedaction(cred.SignatureVerdict), true
	}
	for _, w := range sensitiveWords {
		if strings.Contains(n, w) {
			return secretRedaction, true
		}
	}
	return "", false
}

// RedactHeaders copies h with canonical names, every credential's value replaced.
func RedactHeaders(h http.Header, cred Credentials) map[string][]string {
	out := make(map[string][]string, len(h))
	for name, values := range h {
		canon := http.CanonicalHeaderKey(name)
		if r, ok := redaction(name, cred); ok {
			values = []string{r}
		}
		out[canon] = append(out[canon], values...)
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out
}

// RedactQuery keeps the raw query as sent, in its order and encoding, but for the values of credentials.
func RedactQuery(raw string, cred Credentials) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		name, _, hasValue := strings.Cut(p, "=")
		decoded, err := url.QueryUnescape(name)
		if err != nil {
			decoded = name
		}
		if r, ok := redaction(decoded, cred); ok && hasValue {
			parts[i] = name + "=" + url.QueryEscape(r)
		}
	}
	return strings.Join(parts, "&")
}
