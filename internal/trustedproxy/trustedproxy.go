// Package trustedproxy is the one list of addresses that forwarded
// headers (a client certificate, the original request) are believed from:
// httpbearer's WithClientCertHeader and forwardauth's WithTrustedProxies
// both use it, so both read an address the same way.
package trustedproxy

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
)

// List holds CIDR prefixes; a single address is a prefix of its full
// length. IPv4-mapped IPv6 addresses count as the IPv4 address they map.
type List []netip.Prefix

// Parse parses addresses and CIDR prefixes ("10.0.0.0/8", "192.0.2.7",
// "::1"). A prefix with bits set past its length ("192.0.2.7/0", a typo
// for /32, would be 0.0.0.0/0: everyone) is refused, naming the prefix it
// would have been, and so is a prefix of every address ("0.0.0.0/0",
// "::/0", "::ffff:0:0/96"): a list that trusts everyone checks nothing.
func Parse(entries []string) (List, error) {
	l := make(List, 0, len(entries))
	for _, e := range entries {
		if p, err := netip.ParsePrefix(e); err == nil {
			if m := p.Masked(); m != p {
				return nil, fmt.Errorf("%q has address bits past its length: write %s if that is meant, or the address with its own length", e, m)
			}
			if p.Addr().Is4In6() {
				// An IPv4-mapped prefix ("::ffff:10.0.0.0/104") means the
				// IPv4 prefix it maps: addresses are compared unmapped,
				// so as written it would match no peer.
				if p.Bits() < 96 {
					return nil, fmt.Errorf("%q reaches past the IPv4-mapped addresses: write an IPv4 prefix", e)
				}
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			if p.Bits() == 0 {
				return nil, fmt.Errorf("%q trusts every address, so anyone could forge what only a proxy may say: name the proxies: their addresses, or the narrowest subnet that holds them (everything in it may forge what they say)", e)
			}
			l = append(l, p)
			continue
		}
		addr, err := netip.ParseAddr(e)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR prefix", e)
		}
		addr = addr.Unmap()
		l = append(l, netip.PrefixFrom(addr, addr.BitLen()))
	}
	return l, nil
}

// Contains reports whether addr is in the list.
func (l List) Contains(addr netip.Addr) bool {
	// A link-local peer carries its zone (fe80::1%eth0), which no prefix
	// contains: compared without it.
	addr = addr.Unmap().WithZone("")
	for _, p := range l {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// ContainsRemote reports whether remoteAddr, an IP address and a port as
// net/http writes http.Request.RemoteAddr for a TCP peer, is in the list.
// Anything else is not: in particular a bare address, which net/http
// never writes and middleware such as chi's RealIP or gorilla's
// ProxyHeaders does, copied from request headers any client can send
// (X-Real-IP, X-Forwarded-For, True-Client-IP). Refusing it makes such a
// middleware placed before the guard fail closed instead of letting a
// client name a trusted proxy's address.
func (l List) ContainsRemote(remoteAddr string) bool {
	host, port, err := net.SplitHostPort(remoteAddr)
	if err != nil || port == "" {
		return false
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && l.Contains(addr)
}

// peerKey is the context key of the connection's own peer address.
type peerKey struct{}

// peer is the value under peerKey; a nil addr hides an outer one.
type peer struct{ addr net.Addr }

// WithPeer returns ctx carrying addr, the address of the connection a
// request came on (for http.Server.ConnContext): what [Remote] reads
// before RemoteAddr, which middleware may have rewritten.
func WithPeer(ctx context.Context, addr net.Addr) context.Context {
	return context.WithValue(ctx, peerKey{}, peer{addr})
}

// HidePeer returns ctx without a peer address recorded by [WithPeer], for
// a request made up from another's (forward auth's original request,
// whose peer is named explicitly).
func HidePeer(ctx context.Context) context.Context {
	if ctx.Value(peerKey{}) == nil {
		return ctx
	}
	return context.WithValue(ctx, peerKey{}, peer{})
}

// Remote returns r's peer address: the connection's, recorded by
// [WithPeer], when there is one, else r.RemoteAddr.
func Remote(r *http.Request) string {
	if p, ok := r.Context().Value(peerKey{}).(peer); ok && p.addr != nil {
		return p.addr.String()
	}
	return r.RemoteAddr
}
