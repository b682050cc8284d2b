// Package clientip decides which address a request came from and whether an address is in a CIDR list.
// It does no I/O.
package clientip

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParsePrefixes parses a comma-separated list of CIDRs, IPv4 or IPv6; a bare address means just that address.
func ParsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if !strings.Contains(item, "/") {
			addr, err := netip.ParseAddr(item)
			if err != nil {
				return nil, fmt.Errorf("%q is not an IP address or CIDR", item)
			}
			addr = addr.Unmap()
			out = append(out, netip.PrefixFrom(addr, addr.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR such as 203.0.113.0/24 or 2001:db8::/32", item)
		}
		if p.Addr().Is4In6() {
			if p.Bits() < 96 {
				return nil, fmt.Errorf("%q mixes IPv4-mapped and plain IPv6 addresses; write the IPv4 CIDR", item)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// In reports whether addr lies in any of the prefixes.
func In(addr netip.Addr, prefixes []netip.Prefix) bool {
	addr = addr.Unmap()
	for _, p := range prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Resolve returns the client's address: the socket peer, unless the peer is a trusted proxy; then the
// X-Forwarded-For entries are read right to left and the first one that is not a trusted proxy is the client.
// An entry that does not parse stops the walk at the last address known good, since anything left of it
// could have been written by the client.
func Resolve(peer netip.Addr, forwardedFor []string, trusted []netip.Prefix) netip.Addr {
	client := peer.Unmap()
	if !In(client, trusted) {
		return client
	}
	var hops []string
	for _, h := range forwardedFor {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		addr, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return client
		}
		client = addr.Unmap()
		if !In(client, trusted) {
			return client
		}
	}
	return client
}
