package outbound

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The check refuses addresses inside the network as resolved addresses: it is given them, nothing is dialled.
func TestCheckRefusesNonPublicAddresses(t *testing.T) {
	none := Allowlist{}
	for addr, reason := range map[string]string{
		"10.0.0.1":        "private",
		"169.254.169.254": "link-local (cloud metadata)",
		"fd00::1":         "private",
		"fd00:ec2::254":   "private",
		"127.0.0.1":       "loopback",
		"::1":             "loopback",
		"::ffff:10.0.0.1": "private",
		"0.0.0.0":         "unspecified",
		"100.100.100.200": "shared (carrier-grade NAT, some clouds' metadata)",
		"fe80::1%eth0":    "link-local (cloud metadata)",
		"224.0.0.1":       "multicast",
		"64:ff9b::a00:1":  "NAT64",
		"172.16.5.4":      "private",
		"192.168.1.1":     "private",
		"255.255.255.255": "broadcast",
	} {
		err := none.Check("receiver.example", netip.MustParseAddr(addr))
		var refused *RefusedAddressError
		require.True(t, errors.As(err, &refused), "%s: %v", addr, err)
		require.Equal(t, reason, refused.Reason, addr)
		require.True(t, refused.Permanent())
		require.Contains(t, err.Error(), "delivery.allow_private_targets")
	}
	for _, addr := range []string{"93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "172.32.0.1"} {
		require.NoError(t, none.Check("receiver.example", netip.MustParseAddr(addr)), addr)
	}
}

func TestAllowlistPermitsWhatItNames(t *testing.T) {
	allow, err := ParseAllowlist(" 10.1.0.0/16, 169.254.169.254 ,crm.internal., fd00::/8")
	require.NoError(t, err)
	require.NoError(t, allow.Check("x", netip.MustParseAddr("10.1.2.3")))
	require.Error(t, allow.Check("x", netip.MustParseAddr("10.2.0.1")))
	require.NoError(t, allow.Check("x", netip.MustParseAddr("169.254.169.254")))
	require.NoError(t, allow.Check("x", netip.MustParseAddr("fd00::1")))
	require.NoError(t, allow.Check("CRM.internal", netip.MustParseAddr("10.9.9.9")), "a named host, whatever it resolves to")
	require.Error(t, allow.Check("evil.example", netip.MustParseAddr("10.9.9.9")))

	more, err := Allowlist{}.With("127.0.0.1")
	require.NoError(t, err)
	require.NoError(t, more.Check("x", netip.MustParseAddr("127.0.0.1")))
	require.Error(t, more.Check("x", netip.MustParseAddr("127.0.0.2")))

	for _, bad := range []string{"10.0.0.0/33", "not a host", "-bad.example", "http://x"} {
		_, err := ParseAllowlist(bad)
		require.Error(t, err, bad)
	}
}

// A real request to a receiver on 127.0.0.1 is refused before anything is sent when loopback is not allowed,
// and goes through when the allowlist names it.
func TestClientRefusesLoopbackReceiver(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer srv.Close()
	req := Request{Method: http.MethodGet, URL: srv.URL + "/postback"}

	_, err := Send(context.Background(), NewClient(2*time.Second, Allowlist{}), req)
	var refused *RefusedAddressError
	require.True(t, errors.As(err, &refused), "%v", err)
	require.Equal(t, "loopback", refused.Reason)
	require.Zero(t, hits.Load())

	allow, err := ParseAllowlist("127.0.0.1")
	require.NoError(t, err)
	resp, err := Send(context.Background(), NewClient(2*time.Second, allow), req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.EqualValues(t, 1, hits.Load())
}
