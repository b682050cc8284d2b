package signing

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A body written in pieces verifies exactly as the whole body does, for both schemes; one changed byte fails.
func TestBodyVerifierStreams(t *testing.T) {
	now := time.Unix(1_790_000_000, 0)
	key, other := []byte("0123456789abcdef0123"), []byte("another-key-0123456789")
	body := []byte("date,player_id,currency\n2026-10-01,p1,USD\n2026-10-02,p2,USD\n")
	stamp := "1790000000"
	for _, tc := range []struct {
		name string
		make func() (*BodyVerifier, error)
	}{
		{"standard webhooks", func() (*BodyVerifier, error) {
			return NewVerifier([][]byte{other, key}, "msg_1", stamp, "v1,bm90LWl0 "+Sign(key, "msg_1", now, body), now, time.Minute)
		}},
		{"hmac-sha256", func() (*BodyVerifier, error) {
			return NewHMACBodyVerifier([][]byte{other, key}, SignHMAC(key, HMACBodyPayload(stamp, body)), stamp, now, time.Minute)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := tc.make()
			require.NoError(t, err)
			for i := 0; i < len(body); i += 7 {
				_, _ = v.Write(body[i:min(i+7, len(body))])
			}
			require.NoError(t, v.Check())

			v, err = tc.make()
			require.NoError(t, err)
			tampered := append([]byte(nil), body...)
			tampered[len(tampered)-2] = 'X'
			_, _ = v.Write(tampered)
			require.ErrorIs(t, v.Check(), ErrNoMatch)
		})
	}
	_, err := NewVerifier([][]byte{key}, "msg_1", "1790009999", "v1,x", now, time.Minute)
	require.ErrorIs(t, err, ErrStaleTimestamp)
	_, err = NewHMACBodyVerifier([][]byte{key}, "", stamp, now, time.Minute)
	require.ErrorIs(t, err, ErrMissingSignature)
}
