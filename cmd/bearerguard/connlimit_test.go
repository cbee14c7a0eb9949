package main

import (
	"fmt"
	"net"
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
	accepted := make(chan net.Conn, 1024)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
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
