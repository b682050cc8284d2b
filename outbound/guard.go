package outbound

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"

	"github.com/affrelay/affrelay/clientip"
)

// Allowlist names the targets inside the network that outbound requests may reach anyway: CIDRs, single IP
// addresses, and host names (matched against the URL's host, whatever it resolves to). Everything else that
// resolves to a non-public address is refused when the connection is made, after DNS resolution, so a name
// that resolves (or rebinds) to 169.254.169.254 does not pass. The zero Allowlist allows no such target.
type Allowlist struct {
	prefixes []netip.Prefix
	hosts    []string
}

// ParseAllowlist reads a comma-separated list such as "10.1.0.0/16, 192.168.1.20, crm.internal".
func ParseAllowlist(list string) (Allowlist, error) {
	var a Allowlist
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := clientip.ParsePrefixes(item); err == nil {
			a.prefixes = append(a.prefixes, p...)
			continue
		}
		if !isHostName(item) {
			return Allowlist{}, fmt.Errorf("%q is not a CIDR, an IP address or a host name", item)
		}
		a.hosts = append(a.hosts, strings.ToLower(strings.TrimSuffix(item, ".")))
	}
	return a, nil
}

// With returns a copy that also allows the entries of list (same form as ParseAllowlist); dev mode uses it for
// the built-in demo sink.
func (a Allowlist) With(list string) (Allowlist, error) {
	more, err := ParseAllowlist(list)
	if err != nil {
		return Allowlist{}, err
	}
	return Allowlist{
		prefixes: append(append([]netip.Prefix(nil), a.prefixes...), more.prefixes...),
		hosts:    append(append([]string(nil), a.hosts...), more.hosts...),
	}, nil
}

// RefusedAddressError is a connection refused by the guard. Retrying cannot help: the target is misconfigured,
// or the allowlist must name it.
type RefusedAddressError struct {
	Addr   netip.Addr
	Reason string
}

func (e *RefusedAddressError) Error() string {
	return fmt.Sprintf("refused to connect to %s: %s address (delivery.allow_private_targets can permit it)", e.Addr, e.Reason)
}

// Permanent tells the delivery classifier not to retry.
func (e *RefusedAddressError) Permanent() bool { return true }

// Check returns nil when a connection to the resolved address may be made; host is the host the URL named.
func (a Allowlist) Check(host string, resolved netip.Addr) error {
	addr := resolved.WithZone("").Unmap()
	reason := nonPublic(addr)
	if reason == "" {
		return nil
	}
	for _, p := range a.prefixes {
		if p.Contains(addr) {
			return nil
		}
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, h := range a.hosts {
		if h == host {
			return nil
		}
	}
	return &RefusedAddressError{Addr: addr, Reason: reason}
}

// blocked are the ranges outside the public internet that IsLoopback/IsPrivate/... do not already cover.
var blocked = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT, some clouds' metadata)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "reserved"},
	{netip.MustParsePrefix("198.18.0.0/15"), "reserved (benchmarking)"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("64:ff9b::/96"), "NAT64"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "NAT64"},
	{netip.MustParsePrefix("2002::/16"), "6to4"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	{netip.MustParsePrefix("100::/64"), "discard"},
}

// nonPublic says why addr is not a public unicast address, or "" when it is one.
func nonPublic(addr netip.Addr) string {
	switch {
	case !addr.IsValid():
		return "invalid"
	case addr.IsLoopback():
		return "loopback"
	case addr.IsPrivate():
		return "private"
	case addr.IsLinkLocalUnicast():
		return "link-local (cloud metadata)"
	case addr.IsUnspecified():
		return "unspecified"
	case addr.IsMulticast(), addr.IsLinkLocalMulticast(), addr.IsInterfaceLocalMulticast():
		return "multicast"
	case addr == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	}
	for _, b := range blocked {
		if b.prefix.Contains(addr) {
			return b.reason
		}
	}
	return ""
}

// guardedDial dials like d, but checks each resolved address against the allowlist just before connecting.
func guardedDial(d *net.Dialer, allow Allowlist) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		dialer := *d
		dialer.ControlContext = func(_ context.Context, _, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("dial %s: %w", address, err)
			}
			return allow.Check(host, ap.Addr())
		}
		return dialer.DialContext(ctx, network, addr)
	}
}

func isHostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
