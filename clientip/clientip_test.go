package clientip

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParsePrefixes(t *testing.T) {
	got, err := ParsePrefixes(" 203.0.113.0/24, 198.51.100.7 ,2001:db8::/32,::ffff:192.0.2.0/120, 10.1.2.3/8")
	require.NoError(t, err)
	require.Equal(t, []netip.Prefix{
		netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("198.51.100.7/32"),
		netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("10.0.0.0/8"),
	}, got)
	empty, err := ParsePrefixes(" , ")
	require.NoError(t, err)
	require.Empty(t, empty)
	for _, bad := range []string{"203.0.113.0/33", "not-an-ip", "203.0.113.0/24;", "2001:db8::/129", "1.2.3", "::ffff:1.2.3.4/50"} {
		_, err := ParsePrefixes(bad)
		require.Error(t, err, bad)
	}
}

func TestIn(t *testing.T) {
	list, _ := ParsePrefixes("203.0.113.0/24,2001:db8::/32")
	for addr, want := range map[string]bool{
		"203.0.113.9": true, "203.0.114.1": false, "::ffff:203.0.113.9": true,
		"2001:db8::1": true, "2001:db9::1": false, "::1": false,
	} {
		require.Equal(t, want, In(netip.MustParseAddr(addr), list), addr)
	}
	require.False(t, In(netip.MustParseAddr("203.0.113.9"), nil))
}

func TestResolve(t *testing.T) {
	trusted, _ := ParsePrefixes("10.0.0.0/8,fd00::/8")
	a := netip.MustParseAddr
	tests := []struct {
		name string
		peer string
		xff  []string
		want string
	}{
		{"untrusted peer: header ignored", "198.51.100.1", []string{"203.0.113.5"}, "198.51.100.1"},
		{"trusted peer, one hop", "10.0.0.2", []string{"203.0.113.5"}, "203.0.113.5"},
		{"client prepends a forged hop", "10.0.0.2", []string{"1.2.3.4, 203.0.113.5"}, "203.0.113.5"},
		{"two trusted proxies", "10.0.0.2", []string{"1.2.3.4, 203.0.113.5, 10.0.0.9"}, "203.0.113.5"},
		{"several header lines", "10.0.0.2", []string{"1.2.3.4", "203.0.113.5, 10.0.0.9"}, "203.0.113.5"},
		{"trusted peer, no header", "10.0.0.2", nil, "10.0.0.2"},
		{"garbage hop stops the walk", "10.0.0.2", []string{"203.0.113.5, garbage"}, "10.0.0.2"},
		{"IPv6 through IPv6 proxy", "fd00::1", []string{"2001:db8::7"}, "2001:db8::7"},
		{"all hops trusted", "10.0.0.2", []string{"10.0.0.3, 10.0.0.4"}, "10.0.0.3"},
		{"IPv4-mapped peer", "::ffff:198.51.100.1", nil, "198.51.100.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, a(tt.want), Resolve(a(tt.peer), tt.xff, trusted))
		})
	}
	require.Equal(t, a("198.51.100.1"), Resolve(a("198.51.100.1"), []string{"203.0.113.5"}, nil), "default: trust no proxy")
}

func FuzzResolve(f *testing.F) {
	f.Add("203.0.113.5, 10.0.0.9")
	f.Add(",,, ")
	f.Add("::ffff:1.2.3.4,fd00::1")
	trusted, _ := ParsePrefixes("10.0.0.0/8,fd00::/8")
	peer := netip.MustParseAddr("10.0.0.2")
	f.Fuzz(func(t *testing.T, xff string) {
		got := Resolve(peer, []string{xff}, trusted)
		// The answer is always a usable, unmapped address: the peer or one the header named.
		require.True(t, got.IsValid() && !got.Is4In6())
	})
}

func FuzzParsePrefixes(f *testing.F) {
	f.Add("203.0.113.0/24, 2001:db8::/32")
	f.Add("::ffff:1.2.3.4/100")
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParsePrefixes(s)
		if err != nil {
			return
		}
		for _, p := range ps {
			require.True(t, p.IsValid())
			require.Equal(t, p, p.Masked())
		}
	})
}
