package trustedproxy

import (
	"context"
	"net"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestList(t *testing.T) {
	l, err := Parse([]string{"10.0.0.0/8", "192.0.2.7", "::1", "::ffff:198.51.100.9", "2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		remote string
		want   bool
	}{
		{"10.1.2.3:443", true},
		// A bare address is not a TCP peer as net/http writes it: it
		// comes from middleware that copied a client's header (chi's
		// RealIP, gorilla's ProxyHeaders) and must not name a proxy.
		{"10.1.2.3", false},
		{"[10.1.2.3]", false},
		{"10.1.2.3:", false},
		{"::1", false},
		{"[::ffff:10.1.2.3]:443", true}, // mapped: the IPv4 address
		{"11.0.0.1:443", false},
		{"192.0.2.7:1", true},
		{"192.0.2.8:1", false},
		{"[::1]:80", true},
		{"198.51.100.9:80", true}, // configured mapped, seen plain
		{"[2001:db8::5]:80", true},
		{"[fe80::1%eth0]:80", false},
		{"localhost:80", false},
		{"", false},
		{"garbage", false},
	} {
		if got := l.ContainsRemote(tt.remote); got != tt.want {
			t.Errorf("ContainsRemote(%q) = %v, want %v", tt.remote, got, tt.want)
		}
	}
	// A link-local gateway: Go gives the peer its zone (third review).
	if ll, _ := Parse([]string{"fe80::/64"}); !ll.Contains(netip.MustParseAddr("fe80::1%eth0")) || !ll.ContainsRemote("[fe80::1%eth0]:443") {
		t.Error("a zoned link-local peer is not in fe80::/64")
	}
	if List(nil).Contains(netip.MustParseAddr("127.0.0.1")) {
		t.Error("an empty list trusts an address")
	}
	// Address bits past the length: "192.0.2.7/0" (a typo for /32) would
	// trust everyone, "10.1.2.3/8" more than it says (red-team review).
	// An IPv4-mapped prefix is the IPv4 prefix it maps: as written it
	// matched no peer (addresses are compared unmapped), and refused every
	// request from the proxies meant (options review).
	mapped, err := Parse([]string{"::ffff:10.0.0.0/104", "::ffff:192.0.2.7/128"})
	if err != nil {
		t.Fatal(err)
	}
	for remote, want := range map[string]bool{"10.9.8.7:1": true, "[::ffff:10.9.8.7]:1": true, "11.0.0.1:1": false, "192.0.2.7:1": true, "192.0.2.8:1": false} {
		if got := mapped.ContainsRemote(remote); got != want {
			t.Errorf("mapped prefixes: ContainsRemote(%q) = %v, want %v", remote, got, want)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "", "10.0.0.1:80", "192.0.2.7/0", "10.1.2.3/8", "2001:db8::1/32", "::ffff:0.0.0.0/80",
		// Every address: the check would check nothing (red-team review of serve).
		"0.0.0.0/0", "::/0", "::ffff:0:0/96"} {
		if _, err := Parse([]string{bad}); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

// Remote prefers the connection's address recorded by WithPeer to
// RemoteAddr, which middleware may have rewritten; HidePeer drops it for a
// request whose peer is named otherwise.
func TestRemote(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.5:1" // as a middleware wrote it
	if got := Remote(r); got != "10.0.0.5:1" {
		t.Errorf("no peer recorded: %q", got)
	}
	conn := &net.TCPAddr{IP: net.ParseIP("203.0.113.9"), Port: 40000}
	r = r.WithContext(WithPeer(r.Context(), conn))
	if got := Remote(r); got != "203.0.113.9:40000" {
		t.Errorf("peer recorded: %q", got)
	}
	if got := Remote(r.WithContext(HidePeer(r.Context()))); got != "10.0.0.5:1" {
		t.Errorf("peer hidden: %q", got)
	}
	if ctx := context.Background(); HidePeer(ctx) != ctx {
		t.Error("HidePeer wrapped a context without a peer")
	}
	unix := &net.UnixAddr{Name: "/run/api.sock", Net: "unix"}
	l := List{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")} // every address, as Parse refuses to say
	if l.ContainsRemote(Remote(r.WithContext(WithPeer(context.Background(), unix)))) {
		t.Error("a unix socket peer taken for an address")
	}
}
