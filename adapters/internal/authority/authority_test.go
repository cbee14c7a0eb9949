package authority

import (
	"strings"
	"testing"
)

func TestPlain(t *testing.T) {
	for _, tt := range []struct {
		a    string
		want bool
	}{
		{"api.example.com", true},
		{"api.example.com:443", true},
		{"127.0.0.1:8080", true},
		{"[::1]:8080", true},
		{"[2001:db8::1]", true},
		{"under_score.internal", true},
		{"", false},
		{"api.example.com/other?", false},
		{"api.example.com/", false},
		{"api.example.com?", false},
		{"api.example.com#", false},
		{"user@api.example.com", false},
		{"api%2eexample.com", false},
		{"api.example.com:", false},
		{"api.example.com:123456", false},
		{"api.example.com:8a", false},
		{":443", false},
		{"[::1", false},
		{"[fe80::1%eth0]", false},
		{"[127.0.0.1]", false},
		{"api example.com", false},
		{strings.Repeat("a", 256), false},
	} {
		if got := Plain(tt.a); got != tt.want {
			t.Errorf("Plain(%q) = %v, want %v", tt.a, got, tt.want)
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
