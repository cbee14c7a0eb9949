package main

import (
	"net"
	"net/netip"
	"sync"

	"github.com/bearerguard/bearerguard/internal/trustedproxy"
)

// maxOtherConns is how many connections peers outside --trusted-proxies
// (health probes, anyone who can reach the port) may hold open at once,
// on each listener, and maxConnsPerSource how many of them one source
// (an IPv4 address, an IPv6 /64) may hold.
//
// An IPv6 source is a /64, and one customer of an ISP may hold 256 of
// them (a /56) or 65,536 (a /48): maxConnsPerNetwork caps what one IPv6
// /48 holds, so that one allocation fills at most a quarter of the pool.
const (
	maxOtherConns      = 256
	maxConnsPerSource  = 16
	maxConnsPerNetwork = 64
)

// maxMetricsConns bounds the metrics listener's connections.
const maxMetricsConns = 64

// descriptorHeadroom is a margin for what serve holds open besides its
// accepted connections: its listeners, its own connections to the issuer,
// the introspection endpoint and Redis, files read on a reload, and stdio.
const descriptorHeadroom = 128

// capacity returns how many connections l may hold open at once, both
// pools together.
func (l *capListener) capacity() int { return cap(l.gateways) + cap(l.others) }

// capListener caps the connections a listener holds open, in two pools:
// the gateways' (--trusted-proxies, up to --max-conns) and everyone
// else's (maxOtherConns, at most maxConnsPerSource from one source), so
// that peers anyone can be never take a gateway's place, and one of them
// does not take every other's (a health probe's). A connection past a cap
// is closed at once: Accept never waits, so one full pool holds up no one
// in the other.
type capListener struct {
	net.Listener
	trusted  trustedproxy.List // nil: every peer is in the others' pool
	gateways chan struct{}
	others   chan struct{}

	mu      sync.Mutex
	sources map[netip.Prefix]int // open connections in the others' pool, by source and by IPv6 /48; at most 2*maxOtherConns keys
}

func newCapListener(l net.Listener, trusted trustedproxy.List, gateways, others int) *capListener {
	return &capListener{Listener: l, trusted: trusted, gateways: make(chan struct{}, gateways), others: make(chan struct{}, others),
		sources: make(map[netip.Prefix]int)}
}

// Accept returns the next connection within its caps.
func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		var addr netip.Addr
		if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
			addr = a.AddrPort().Addr().Unmap()
		}
		if addr.IsValid() && l.trusted.Contains(addr) {
			select {
			case l.gateways <- struct{}{}:
				return &cappedConn{Conn: c, release: func() { <-l.gateways }}, nil
			default:
				_ = c.Close()
				continue
			}
		}
		src, network := sourceOf(addr), networkOf(addr)
		l.mu.Lock()
		ok := l.sources[src] < maxConnsPerSource && (!network.IsValid() || l.sources[network] < maxConnsPerNetwork)
		if ok {
			select {
			case l.others <- struct{}{}:
				l.sources[src]++
				if network.IsValid() {
					l.sources[network]++
				}
			default:
				ok = false
			}
		}
		l.mu.Unlock()
		if !ok {
			_ = c.Close()
			continue
		}
		return &cappedConn{Conn: c, release: func() { l.release(src, network) }}, nil
	}
}

func (l *capListener) release(src, network netip.Prefix) {
	l.mu.Lock()
	l.drop(src)
	if network.IsValid() {
		l.drop(network)
	}
	<-l.others
	l.mu.Unlock()
}

// drop takes one connection off p's count, and p off the map at none.
// l.mu is held.
func (l *capListener) drop(p netip.Prefix) {
	if l.sources[p]--; l.sources[p] <= 0 {
		delete(l.sources, p)
	}
}

// sourceOf is the source a peer's connections are counted by: its IPv4
// address, or its IPv6 /64 (one host may have all of it); the zero
// Prefix for a peer without an IP address.
func sourceOf(a netip.Addr) netip.Prefix {
	if !a.IsValid() {
		return netip.Prefix{}
	}
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(64)
	return p
}

// networkOf is the network an IPv6 peer's connections are also counted
// by: its /48, the most one site is given; the zero Prefix for an IPv4
// peer, whose address is its source already.
func networkOf(a netip.Addr) netip.Prefix {
	if !a.IsValid() || a.Is4() {
		return netip.Prefix{}
	}
	p, _ := a.Prefix(48)
	return p
}

// cappedConn gives its place back when closed, once.
type cappedConn struct {
	net.Conn
	release func()
	once    sync.Once
}

// CloseWrite passes net/http's half-close through (a TCP or TLS
// connection has it), so that a Connection: close answer ends with a FIN
// at once, not when the connection closes.
func (c *cappedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *cappedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
