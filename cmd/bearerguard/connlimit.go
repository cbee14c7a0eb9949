package main

import (
	"net"
	"sync"

	"github.com/bearerguard/bearerguard/internal/trustedproxy"
)

// maxOtherConns is how many connections peers outside --trusted-proxies
// (health probes, anyone who can reach the port) may hold open at once,
// on each listener.
const maxOtherConns = 256

// maxMetricsConns bounds the metrics listener's connections.
const maxMetricsConns = 64

// capListener caps the connections a listener holds open, in two pools:
// the gateways' (--trusted-proxies, up to --max-conns) and everyone
// else's (maxOtherConns), so that peers anyone can be never take a
// gateway's place. A connection past its pool's cap is closed at once:
// Accept never waits, so one full pool holds up no one in the other.
type capListener struct {
	net.Listener
	trusted  trustedproxy.List // nil: every peer is in the one pool
	gateways chan struct{}
	others   chan struct{}
}

func newCapListener(l net.Listener, trusted trustedproxy.List, gateways, others int) *capListener {
	return &capListener{Listener: l, trusted: trusted, gateways: make(chan struct{}, gateways), others: make(chan struct{}, others)}
}

// Accept returns the next connection within its pool's cap.
func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		pool := l.others
		if a, ok := c.RemoteAddr().(*net.TCPAddr); ok && l.trusted.Contains(a.AddrPort().Addr()) {
			pool = l.gateways
		}
		select {
		case pool <- struct{}{}:
			return &cappedConn{Conn: c, pool: pool}, nil
		default:
			_ = c.Close()
		}
	}
}

// cappedConn gives its place in the pool back when closed, once.
type cappedConn struct {
	net.Conn
	pool chan struct{}
	once sync.Once
}

func (c *cappedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { <-c.pool })
	return err
}
