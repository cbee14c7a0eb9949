// Package authority checks the authority a request names (HTTP Host,
// HTTP/2 and gRPC :authority) before an adapter builds a DPoP proof's
// "htu" from it. Go's HTTP/2 server and grpc-go pass :authority on as the
// client sent it, so "api/other/path?" would otherwise move the URL a
// proof is compared with to another path.
package authority

import (
	"net/netip"
	"strings"
)

// Plain reports whether a is a host and an optional port and nothing else
// (no path, query, fragment, userinfo or escapes): a registered name or
// IPv4 address of letters, digits, '-', '.' and '_', or a bracketed IPv6
// address, then ":port" of 1 to 5 digits.
func Plain(a string) bool {
	if a == "" || len(a) > 255 {
		return false
	}
	host, port := a, ""
	if a[0] == '[' {
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return false
		}
		host, port = a[1:end], a[end+1:]
		if ip, err := netip.ParseAddr(host); err != nil || !ip.Is6() || ip.Zone() != "" {
			return false
		}
	} else {
		if c := strings.IndexByte(a, ':'); c >= 0 {
			host, port = a[:c], a[c:]
		}
		if host == "" || strings.Trim(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") != "" {
			return false
		}
	}
	if port == "" {
		return true
	}
	if port[0] != ':' || len(port) < 2 || len(port) > 6 {
		return false
	}
	return strings.Trim(port[1:], "0123456789") == ""
}
