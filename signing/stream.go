package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"strconv"
	"strings"
	"time"
)

// BodyVerifier checks a signature over a body read as a stream, so a large body is never held whole: the
// headers are checked when it is made (NewVerifier, NewHMACBodyVerifier), the body is written into it as
// it is read, and Check says at the end whether a signature of one of the keys matches.
type BodyVerifier struct {
	macs  []hash.Hash
	match func(sum []byte) bool
}

func newBodyVerifier(keys [][]byte, prefix string, match func(sum []byte) bool) *BodyVerifier {
	v := &BodyVerifier{macs: make([]hash.Hash, len(keys)), match: match}
	for i, k := range keys {
		v.macs[i] = hmac.New(sha256.New, k)
		v.macs[i].Write([]byte(prefix))
	}
	return v
}

// Write adds body bytes; it never fails.
func (v *BodyVerifier) Write(p []byte) (int, error) {
	for _, m := range v.macs {
		m.Write(p)
	}
	return len(p), nil
}

// Check returns nil when a key's signature over everything written matches, else ErrNoMatch.
func (v *BodyVerifier) Check() error {
	for _, m := range v.macs {
		if v.match(m.Sum(nil)) {
			return nil
		}
	}
	return ErrNoMatch
}

// NewVerifier checks a Standard Webhooks message's headers (present, timestamp within tolerance of now) and
// returns the verifier of its body.
func NewVerifier(keys [][]byte, id, timestamp, signatureHeader string, now time.Time, tolerance time.Duration) (*BodyVerifier, error) {
	if id == "" || timestamp == "" || signatureHeader == "" {
		return nil, ErrMissingHeaders
	}
	ts, err := checkTimestamp(timestamp, now, tolerance)
	if err != nil {
		return nil, err
	}
	sent := strings.Fields(signatureHeader)
	return newBodyVerifier(keys, id+"."+strconv.FormatInt(ts.Unix(), 10)+".", func(sum []byte) bool {
		want := []byte("v1," + base64.StdEncoding.EncodeToString(sum))
		for _, got := range sent {
			if hmac.Equal([]byte(got), want) {
				return true
			}
		}
		return false
	}), nil
}

// NewHMACBodyVerifier checks an hmac-sha256 request's signature and timestamp headers and returns the
// verifier of its body (signed as "<timestamp>.<body>").
func NewHMACBodyVerifier(keys [][]byte, signature, timestamp string, now time.Time, tolerance time.Duration) (*BodyVerifier, error) {
	return newHMACVerifier(keys, timestamp+".", signature, timestamp, now, tolerance)
}

func newHMACVerifier(keys [][]byte, prefix, signature, timestamp string, now time.Time, tolerance time.Duration) (*BodyVerifier, error) {
	if signature == "" || timestamp == "" {
		return nil, ErrMissingSignature
	}
	if _, err := checkTimestamp(timestamp, now, tolerance); err != nil {
		return nil, err
	}
	got, err := hex.DecodeString(strings.TrimPrefix(signature, HMACPrefix))
	if err != nil || len(got) != sha256.Size {
		got = nil // matches no sum; Check says ErrNoMatch once the body is read, as for any wrong signature
	}
	return newBodyVerifier(keys, prefix, func(sum []byte) bool { return got != nil && hmac.Equal(got, sum) }), nil
}
