package main

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/trustedproxy"
)

// The caps' own state is bounded and drains: whatever peers open and
// close, the map of sources never holds more than the others' pool, and
// both pools are empty once every connection has closed (attack review:
// no memory grows with the peers, no slot leaks).
func TestCapListenerBounded(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	trusted, _ := trustedproxy.Parse([]string{"127.0.0.2"})
	l := newCapListener(raw, trusted, 4, 32)
	defer l.Close()
	accepted := acceptAll(l)
	var clients []net.Conn
	dial := func(ip string) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	// 40 sources of 20 connections each, and 10 from the gateway: far past
	// every cap.
	for src := 1; src <= 40; src++ {
		for range 20 {
			dial(fmt.Sprintf("127.0.2.%d", src))
		}
	}
	for range 10 {
		dial("127.0.0.2")
	}
	var served []net.Conn
	deadline := time.After(5 * time.Second)
	for len(served) < 32+4 {
		select {
		case c := <-accepted:
			served = append(served, c)
		case <-deadline:
			t.Fatalf("%d connections accepted, want 36 (32 others, 4 gateways)", len(served))
		}
	}
	select {
	case c := <-accepted:
		t.Fatalf("a connection past the caps was accepted: %v", c.RemoteAddr())
	case <-time.After(200 * time.Millisecond):
	}
	l.mu.Lock()
	sources, others, gateways := len(l.sources), len(l.others), len(l.gateways)
	l.mu.Unlock()
	if sources > 32 || others != 32 || gateways != 4 {
		t.Errorf("full: %d sources, %d others, %d gateways; want at most 32, 32, 4", sources, others, gateways)
	}
	for _, c := range served {
		_ = c.Close()
		_ = c.Close() // twice: the slot is given back once
	}
	l.mu.Lock()
	sources, others, gateways = len(l.sources), len(l.others), len(l.gateways)
	l.mu.Unlock()
	if sources != 0 || others != 0 || gateways != 0 {
		t.Errorf("all closed: %d sources, %d others, %d gateways; want none", sources, others, gateways)
	}
	for _, c := range clients {
		c.Close()
	}
}

// An IPv6 peer is counted by its /64 and by its /48 (attack review: with
// a /56 from its ISP, one customer holds 256 /64s, and 16 of them filled
// the pool of everyone outside the gateways): one /48 holds at most
// maxConnsPerNetwork of the pool, whatever its /64s. The addresses are
// the test's own (loopback has one IPv6 address): each client names
// the one it stands for in its first 16 bytes, and the listener below
// reads them as the connection's remote address.
func TestCapListenerIPv6Networks(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newCapListener(namedPeerListener{raw}, nil, 0, maxOtherConns)
	defer l.Close()
	accepted := acceptAll(l)
	var clients []net.Conn
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	dial := func(addr string) {
		c, err := net.DialTimeout("tcp", raw.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
		a := netip.MustParseAddr(addr).As16()
		if _, err := c.Write(a[:]); err != nil {
			t.Fatal(err)
		}
	}
	collect := func(want int, what string) []net.Conn {
		t.Helper()
		var got []net.Conn
		deadline := time.After(5 * time.Second)
		for len(got) < want {
			select {
			case c, ok := <-accepted:
				if !ok {
					t.Fatalf("%s: the listener stopped after %d connections", what, len(got))
				}
				got = append(got, c)
			case <-deadline:
				t.Fatalf("%s: %d connections accepted, want %d", what, len(got), want)
			}
		}
		select {
		case c := <-accepted:
			t.Fatalf("%s: a connection past the caps was accepted: %v", what, c.RemoteAddr())
		case <-time.After(200 * time.Millisecond):
		}
		return got
	}
	// One /48: 20 /64s of 4 connections each (80, none past its /64's
	// cap), of which the /48 holds 64.
	for sub := 1; sub <= 20; sub++ {
		for range 4 {
			dial(fmt.Sprintf("2001:db8:1:%x::7", sub))
		}
	}
	first := collect(maxConnsPerNetwork, "20 /64s of one /48")
	// Another /48 is not held back by the first; its one /64 holds 16.
	for range maxConnsPerSource + 4 {
		dial("2001:db8:2:1::7")
	}
	second := collect(maxConnsPerSource, "one /64 of another /48")
	l.mu.Lock()
	keys := len(l.sources)
	l.mu.Unlock()
	if keys > 2*maxOtherConns {
		t.Errorf("%d keys in the map of sources, want at most %d", keys, 2*maxOtherConns)
	}
	// A closed connection gives its /48 a place again.
	first[0].Close()
	dial("2001:db8:1:99::7")
	first = append(first[1:], collect(1, "the /48 after one of its connections closed")...)
	for _, c := range append(first, second...) {
		c.Close()
	}
	l.mu.Lock()
	keys, others := len(l.sources), len(l.others)
	l.mu.Unlock()
	if keys != 0 || others != 0 {
		t.Errorf("all closed: %d keys, %d in the pool; want none", keys, others)
	}
	// One connection from each of 300 /48s: the pool fills at 256, and
	// the map holds two keys per connection at most, however many
	// networks knock.
	for n := 1; n <= 300; n++ {
		dial(fmt.Sprintf("2001:db8:%x:1::7", 0x100+n))
	}
	spread := collect(maxOtherConns, "300 /48s")
	l.mu.Lock()
	keys = len(l.sources)
	l.mu.Unlock()
	if keys > 2*maxOtherConns {
		t.Errorf("%d keys in the map of sources for a full pool, want at most %d", keys, 2*maxOtherConns)
	}
	for _, c := range spread {
		c.Close()
	}
	l.mu.Lock()
	keys, others = len(l.sources), len(l.others)
	l.mu.Unlock()
	if keys != 0 || others != 0 {
		t.Errorf("all closed again: %d keys, %d in the pool; want none", keys, others)
	}
}

// namedPeerListener's connections are from the IPv6 address their first
// 16 bytes name.
type namedPeerListener struct{ net.Listener }

func (l namedPeerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	var a [16]byte
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, a[:]); err != nil {
		c.Close()
		return nil, err
	}
	return namedPeerConn{c, &net.TCPAddr{IP: a[:], Port: 1}}, nil
}

type namedPeerConn struct {
	net.Conn
	remote net.Addr
}

func (c namedPeerConn) RemoteAddr() net.Addr { return c.remote }

// acceptAll accepts l's connections until it is closed, into the channel
// it returns.
func acceptAll(l net.Listener) <-chan net.Conn {
	accepted := make(chan net.Conn, 1024)
	go func() {
		defer close(accepted)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	return accepted
}
