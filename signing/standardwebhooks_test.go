package signing

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The example from the Standard Webhooks specification's reference implementations.
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specBody      = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignMatchesSpecVector(t *testing.T) {
	key, err := DecodeSecret(specSecret)
	require.NoError(t, err)
	require.Equal(t, specSignature, Sign(key, specID, time.Unix(specTimestamp, 0), []byte(specBody)))
}

func TestVerify(t *testing.T) {
	key, _ := DecodeSecret(specSecret)
	other, _ := DecodeSecret(NewSecret())
	now := time.Unix(specTimestamp, 0)
	ts := "1614265330"
	tests := []struct {
		name      string
		keys      [][]byte
		id, ts    string
		sig, body string
		now       time.Time
		want      error
	}{
		{"valid", [][]byte{key}, specID, ts, specSignature, specBody, now, nil},
		{"valid among several signatures", [][]byte{key}, specID, ts, "v1,bm9wZQ== " + specSignature, specBody, now, nil},
		{"rotated: old and new key, signed by old", [][]byte{other, key}, specID, ts, specSignature, specBody, now, nil},
		{"wrong key", [][]byte{other}, specID, ts, specSignature, specBody, now, ErrNoMatch},
		{"tampered body", [][]byte{key}, specID, ts, specSignature, specBody + " ", now, ErrNoMatch},
		{"tampered id", [][]byte{key}, specID + "x", ts, specSignature, specBody, now, ErrNoMatch},
		{"stale", [][]byte{key}, specID, ts, specSignature, specBody, now.Add(5*time.Minute + time.Second), ErrStaleTimestamp},
		{"future", [][]byte{key}, specID, ts, specSignature, specBody, now.Add(-5*time.Minute - time.Second), ErrStaleTimestamp},
		{"edge of tolerance", [][]byte{key}, specID, ts, specSignature, specBody, now.Add(5 * time.Minute), nil},
		{"bad timestamp", [][]byte{key}, specID, "16142653.30", specSignature, specBody, now, ErrBadTimestamp},
		{"missing signature", [][]byte{key}, specID, ts, "", specBody, now, ErrMissingHeaders},
		{"missing id", [][]byte{key}, "", ts, specSignature, specBody, now, ErrMissingHeaders},
		{"v2 prefix is not v1", [][]byte{key}, specID, ts, "v2," + specSignature[3:], specBody, now, ErrNoMatch},
		{"no keys", nil, specID, ts, specSignature, specBody, now, ErrNoMatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, Verify(tt.keys, tt.id, tt.ts, tt.sig, []byte(tt.body), tt.now, DefaultTolerance), tt.want)
		})
	}
}

func TestSignatureHeaderSignsWithEveryKey(t *testing.T) {
	a, _ := DecodeSecret(NewSecret())
	b, _ := DecodeSecret(NewSecret())
	ts := time.Unix(1700000000, 0)
	h := SignatureHeader([][]byte{a, b}, "dlv_1", ts, []byte("{}"))
	require.NoError(t, Verify([][]byte{a}, "dlv_1", "1700000000", h, []byte("{}"), ts, DefaultTolerance))
	require.NoError(t, Verify([][]byte{b}, "dlv_1", "1700000000", h, []byte("{}"), ts, DefaultTolerance))
}

func TestDecodeSecretRejectsMalformed(t *testing.T) {
	for _, s := range []string{"", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_!!!", "whsec_c2hvcnQ="} {
		_, err := DecodeSecret(s)
		require.Error(t, err, s)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(specID, "1614265330", specSignature, specBody)
	f.Add("", "", "", "")
	f.Add(specID, "-99999999999999999999", "v1,,,, v1", "x")
	key, _ := DecodeSecret(specSecret)
	now := time.Unix(specTimestamp, 0)
	f.Fuzz(func(t *testing.T, id, ts, sig, body string) {
		if Verify([][]byte{key}, id, ts, sig, []byte(body), now, DefaultTolerance) != nil {
			return
		}
		// Accepted: the header must hold the exact signature of this id, timestamp and body.
		secs, err := strconv.ParseInt(ts, 10, 64)
		require.NoError(t, err)
		require.Contains(t, strings.Fields(sig), Sign(key, id, time.Unix(secs, 0), []byte(body)))
	})
}

// A rotation checked against signatures computed with OpenSSL, independently of Sign:
//
//	printf '%s' 'msg_tbl.1700000000.{"event_id":"e1"}' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$HEXKEY -binary | base64
func TestVerifyRotationOpenSSLVectors(t *testing.T) {
	oldKey, err := DecodeSecret("whsec_c2VjcmV0LWtleS1mb3ItdGFibGUtdGVzdHMtMDAx") // "secret-key-for-table-tests-001"
	require.NoError(t, err)
	newKey, err := DecodeSecret("whsec_cm90YXRlZC1rZXktZm9yLXRhYmxlLXRlc3RzLTAwMg==") // "rotated-key-for-table-tests-002"
	require.NoError(t, err)
	const (
		oldSig = "v1,t8Piue5dUSgPApdLqyG+1Zft5XO5HCvc8+P4FXv1/h0="
		newSig = "v1,4GyCxkm0P4BMsr0kechKz/2QiAFI9HEDEFdF+C/hDBo="
		body   = `{"event_id":"e1"}`
	)
	now := time.Unix(1700000000, 0)
	tests := []struct {
		name string
		keys [][]byte
		sig  string
		want error
	}{
		{"old secret, before rotation", [][]byte{oldKey}, oldSig, nil},
		{"old secret during rotation", [][]byte{oldKey, newKey}, oldSig, nil},
		{"new secret during rotation", [][]byte{oldKey, newKey}, newSig, nil},
		{"sender signs with both", [][]byte{newKey}, oldSig + " " + newSig, nil},
		{"old secret after it expired", [][]byte{newKey}, oldSig, ErrNoMatch},
		{"new secret not yet added", [][]byte{oldKey}, newSig, ErrNoMatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, Verify(tt.keys, "msg_tbl", "1700000000", tt.sig, []byte(body), now, DefaultTolerance), tt.want)
		})
	}
}
