package signing

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Vectors computed independently of this code, once, with OpenSSL:
//
//	printf '%s' "$payload" | openssl dgst -sha256 -hmac "$key"
const (
	hmacKey        = "hmac-test-secret-0123456789abcdef"
	hmacRotatedKey = "rotated-secret-ffffffffffffffff"
	hmacTimestamp  = "1700000000"
	hmacBody       = `{"event_id":"e1","event":"ftd","amount":"50.00","currency":"EUR"}`
	// over "1700000000." + hmacBody
	hmacBodySig        = "9d39499a26bea83b1ebb043179422ca4cfd698ef451f7cc431e5b20da9fafb7c"
	hmacBodySigRotated = "f8e4ef5a17e8b3c5d5a8f5223f8d9de61ec038c53042b4b55173a351e7935458"
	// over hmacQuery without its signature parameter
	hmacQueryUnsigned = "event_id=e1&event=ftd&amount=50.00&currency=EUR&timestamp=1700000000"
	hmacQuerySig      = "10bf7b7cb09069f6b71fa2fbd9b73708f5f62460d39d0ece2bfe5d435d65905f"
)

func TestVerifyHMAC(t *testing.T) {
	now := time.Unix(1700000000, 0)
	key, rotated := []byte(hmacKey), []byte(hmacRotatedKey)
	body := HMACBodyPayload(hmacTimestamp, []byte(hmacBody))
	signedQuery := "event_id=e1&signature=" + hmacQuerySig + "&event=ftd&amount=50.00&currency=EUR&timestamp=1700000000"
	query := HMACQueryPayload(signedQuery, "signature")
	cases := []struct {
		name      string
		keys      [][]byte
		payload   []byte
		sig, ts   string
		now       time.Time
		want      error
		tolerance time.Duration
	}{
		{name: "valid body", keys: [][]byte{key}, payload: body, sig: "sha256=" + hmacBodySig, ts: hmacTimestamp, now: now},
		{name: "valid without prefix, upper-case hex", keys: [][]byte{key}, payload: body, sig: strings.ToUpper(hmacBodySig), ts: hmacTimestamp, now: now},
		{name: "valid query", keys: [][]byte{key}, payload: query, sig: hmacQuerySig, ts: hmacTimestamp, now: now},
		{name: "rotated: new secret signs, both active", keys: [][]byte{key, rotated}, payload: body, sig: "sha256=" + hmacBodySigRotated, ts: hmacTimestamp, now: now},
		{name: "rotated: old secret signs, both active", keys: [][]byte{rotated, key}, payload: body, sig: "sha256=" + hmacBodySig, ts: hmacTimestamp, now: now},
		{name: "old secret expired (no longer in the key set)", keys: [][]byte{rotated}, payload: body, sig: "sha256=" + hmacBodySig, ts: hmacTimestamp, now: now, want: ErrNoMatch},
		{name: "wrong secret", keys: [][]byte{[]byte("another-secret-0000000000000000")}, payload: body, sig: "sha256=" + hmacBodySig, ts: hmacTimestamp, now: now, want: ErrNoMatch},
		{name: "no secrets", keys: nil, payload: body, sig: "sha256=" + hmacBodySig, ts: hmacTimestamp, now: now, want: ErrNoMatch},
		{name: "tampered body", keys: [][]byte{key}, payload: HMACBodyPayload(hmacTimestamp, []byte(strings.Replace(hmacBody, "50.00", "5000.00", 1))), sig: "sha256=" + hmacBodySig, ts: hmacTimestamp, now: now, want: ErrNoMatch},
		{name: "timestamp changed after signing", keys: [][]byte{key}, payload: HMACBodyPayload("1700000001", []byte(hmacBody)), sig: "sha256=" + hmacBodySig, ts: "1700000001", now: now, want: ErrNoMatch},
		{name: "tampered query", keys: [][]byte{key}, payload: HMACQueryPayload(strings.Replace(signedQuery, "ftd", "deposit", 1), "signature"), sig: hmacQuerySig, ts: hmacTimestamp, now: now, want: ErrNoMatch},
		{name: "query parameter added", keys: [][]byte{key}, payload: HMACQueryPayload(signedQuery+"&affiliate_id=aff_x", "signature"), sig: hmacQuerySig, ts: hmacTimestamp, now: now, want: ErrNoMatch},
		{name: "stale", keys: [][]byte{key}, payload: body, sig: hmacBodySig, ts: hmacTimestamp, now: now.Add(5*time.Minute + time.Second), want: ErrStaleTimestamp},
		{name: "future", keys: [][]byte{key}, payload: body, sig: hmacBodySig, ts: hmacTimestamp, now: now.Add(-5*time.Minute - time.Second), want: ErrStaleTimestamp},
		{name: "edge of tolerance", keys: [][]byte{key}, payload: body, sig: hmacBodySig, ts: hmacTimestamp, now: now.Add(5 * time.Minute)},
		{name: "narrower tolerance", keys: [][]byte{key}, payload: body, sig: hmacBodySig, ts: hmacTimestamp, now: now.Add(31 * time.Second), tolerance: 30 * time.Second, want: ErrStaleTimestamp},
		{name: "bad timestamp", keys: [][]byte{key}, payload: body, sig: hmacBodySig, ts: "17e8", now: now, want: ErrBadTimestamp},
		{name: "missing signature", keys: [][]byte{key}, payload: body, sig: "", ts: hmacTimestamp, now: now, want: ErrMissingSignature},
		{name: "missing timestamp", keys: [][]byte{key}, payload: body, sig: hmacBodySig, ts: "", now: now, want: ErrMissingSignature},
		{name: "not hex", keys: [][]byte{key}, payload: body, sig: "sha256=zz", ts: hmacTimestamp, now: now, want: ErrNoMatch},
		{name: "truncated", keys: [][]byte{key}, payload: body, sig: hmacBodySig[:40], ts: hmacTimestamp, now: now, want: ErrNoMatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tol := c.tolerance
			if tol == 0 {
				tol = DefaultTolerance
			}
			err := VerifyHMAC(c.keys, c.payload, c.sig, c.ts, c.now, tol)
			if c.want == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, c.want)
			}
		})
	}
}

func TestHMACPayloadsAndSign(t *testing.T) {
	require.Equal(t, hmacQueryUnsigned, string(HMACQueryPayload("signature=abc&"+hmacQueryUnsigned, "signature")))
	require.Equal(t, hmacQueryUnsigned, string(HMACQueryPayload(hmacQueryUnsigned+"&signature=abc", "signature")))
	require.Equal(t, "a=1&signatures=2", string(HMACQueryPayload("a=1&signature&signatures=2", "signature")), "only the exact name is removed")
	require.Equal(t, "sha256="+hmacBodySig, SignHMAC([]byte(hmacKey), HMACBodyPayload(hmacTimestamp, []byte(hmacBody))))
	require.Equal(t, "sha256="+hmacQuerySig, SignHMAC([]byte(hmacKey), []byte(hmacQueryUnsigned)))
}

func FuzzVerifyHMAC(f *testing.F) {
	f.Add([]byte(hmacBody), "sha256="+hmacBodySig, hmacTimestamp)
	f.Add([]byte(""), "", "")
	f.Add([]byte("x"), "sha256=", "-1")
	now := time.Unix(1700000000, 0)
	key := []byte(hmacKey)
	f.Fuzz(func(t *testing.T, body []byte, sig, ts string) {
		payload := HMACBodyPayload(ts, body)
		if VerifyHMAC([][]byte{key}, payload, sig, ts, now, DefaultTolerance) != nil {
			return
		}
		// Accepted: the signature must be exactly this payload's MAC.
		require.Equal(t, SignHMAC(key, payload), HMACPrefix+strings.ToLower(strings.TrimPrefix(sig, HMACPrefix)))
	})
}

func FuzzHMACQueryPayload(f *testing.F) {
	f.Add("a=1&signature=x&b=2")
	f.Add("")
	f.Add("&&signature&=")
	f.Fuzz(func(t *testing.T, q string) {
		p := string(HMACQueryPayload(q, "signature"))
		for _, part := range strings.Split(p, "&") {
			name, _, _ := strings.Cut(part, "=")
			require.NotEqual(t, "signature", name)
		}
		require.LessOrEqual(t, len(p), len(q))
	})
}
