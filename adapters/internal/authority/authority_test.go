package authority

import (
	"strings"
	"testing"
)

func TestPlain(t *testing.T) {
	for _, c := range []struct {
		a  string
		ok bool
	}{
		{"api.example.com", true},
		{"api.example.com:8443", true},
		{"127.0.0.1:50051", true},
		{"[::1]:50051", true},
		{"[2001:db8::1]", true},
		{"my_host-1.internal", true},
		{"", false},
		{":443", false},
		{"host:", false},
		{"host:123456", false},
		{"host:12a", false},
		{"host/pkg.S/M?", false},
		{"host?x", false},
		{"host#x", false},
		{"user@host", false},
		{"host%2F", false},
		{"host name", false},
		{"host\x00", false},
		{"[::1", false},
		{"[]:80", false},
		{"[::1]x", false},
		{"[::1/x]", false},
		{"[0]", false},
		{"[1.2.3.4]", false},
		{"[fe80::1%25eth0]", false},
		{"[::ffff:1.2.3.4]:1", true},
		{"host:80:80", false},
		{"api.example.com/other?", false},
		{"api%2eexample.com", false},
		{strings.Repeat("a", 256), false},
	} {
		if got := Plain(c.a); got != c.ok {
			t.Errorf("Plain(%q) = %v, want %v", c.a, got, c.ok)
		}
	}
}

// FuzzPlain: an authority Plain accepts has no byte that could end the
// host in a URL built from it (path, query, fragment, userinfo, escapes,
// spaces), and is at most 255 bytes.
func FuzzPlain(f *testing.F) {
	for _, s := range []string{"api.example.com:443", "[::1]:80", "a/b?", "u@h", "[::1%25x]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, a string) {
		if !Plain(a) {
			return
		}
		if len(a) > 255 || strings.ContainsAny(a, "/?#@%\\ \t\r\n") {
			t.Fatalf("Plain(%q) accepted it", a)
		}
	})
}
