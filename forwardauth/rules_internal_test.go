package forwardauth

import "testing"

func TestNormalizeHost(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"api.example.com", "api.example.com", true},
		{"API.Example.COM:8443", "api.example.com", true},
		{"api.example.com.", "api.example.com", true},
		{"[::1]", "[::1]", true},
		{"[::1]:8080", "[::1]", true},
		{"10.0.0.1:80", "10.0.0.1", true},
		{"", "", false},
		{"[::1", "", false},
		{"[::1]x", "", false},
		{"[::1]:", "", false},
		{"a:", "", false},
		{"a:8o", "", false},
		{"a:1234567", "", false},
		// A port a WHATWG parser refuses (out of range) is no port.
		{"a:65535", "a", true},
		{"a:00080", "a", true},
		{"a:65536", "", false},
		{"a:99999", "", false},
		{"[::1]:70000", "", false},
		{"::1", "", false}, // an IPv6 literal needs its brackets
		{"a b", "", false},
		{"a/b", "", false},
		{"é.example", "", false},
		{".", "", false},
		// Brackets hold an IPv6 address and nothing else (review: nginx
		// passes "[evil.com]" as $host, which a lax parser reads as evil.com).
		{"[FE80::1]:443", "[fe80::1]", true},
		// One spelling per address, as a WHATWG URL parser writes it
		// (second review: another spelling escaped a host route).
		{"[2001:db8:0::1]", "[2001:db8::1]", true},
		{"[2001:0db8:0:0:0:0:0:1]:443", "[2001:db8::1]", true},
		{"[::ffff:127.0.0.1]", "[::ffff:7f00:1]", true},
		{"[0:0::1]", "[::1]", true},
		{"[evil.com]:443", "", false},
		{"[10.0.0.1]", "", false},
		{"[fe80::1%eth0]", "", false},
		{"a]b", "", false},
		{"api.example.com..", "", false},
		// A host a WHATWG parser reads as an IPv4 address must be written
		// as one (third review: 127.1 is 127.0.0.1 to Node's new URL).
		{"127.0.0.1:8080", "127.0.0.1", true},
		{"127.1", "", false},
		{"0x7f000001", "", false},
		{"2130706433", "", false},
		{"0177.0.0.1", "", false},
		{"127.0.0.01", "", false},
		{"api.0x", "", false},
		{"api.example.123", "", false},
		{"api.example.c0m", "api.example.c0m", true},
		{"1password.com", "1password.com", true},
		{"api..example.com", "", false},
		{".api.example.com", "", false},
		{"a[b", "", false},
	}
	for _, tt := range tests {
		got, ok := normalizeHost(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("normalizeHost(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestEscapeValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain value", "plain value"},
		{" lead", "%20lead"},
		{"trail ", "trail%20"},
		{" ", "%20"},
		{"a%b", "a%25b"},
		{"\x00\x1f\x7f\xff", "%00%1F%7F%FF"},
		{"a\r\nb", "a%0D%0Ab"},
	}
	for _, tt := range tests {
		if got := escapeValue(tt.in); got != tt.want {
			t.Errorf("escapeValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
