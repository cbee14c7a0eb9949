package httpfetch

import (
	"strings"
	"testing"
)

// The opaque form ("https:user:pw@host", finding 96) is hidden, but the
// same typo with one or three slashes parses as a host-less URL whose
// *path* holds the user info, and Redact keeps paths. WHATWG parsers
// (browsers, Node, most HTTP tools) read "https:/user:pw@host/..." as user
// info and host. A password with an unescaped "/" or "#" after digits also
// parses as a port, the rest going to the path (or dropped as a fragment).
// And a bare query part followed by ";name=value" is kept as a "name".
func TestRedactHostlessAndOddForms(t *testing.T) {
	for _, in := range []string{
		"https:/rs:HUNTER2@as.example.com/introspect",
		"https:///rs:HUNTER2@as.example.com/introspect",
		"redis:/:HUNTER2@redis.internal:6379/0",
		"https://rs:1234/HUNTER2@as.example.com/introspect",
		"https://rs:1234#HUNTER2@as.example.com/introspect", // keeps "1234", the password's start
		"https://as.example.com/jwks?HUNTER2;v=2",
	} {
		got := Redact(in)
		if strings.Contains(got, "HUNTER2") || strings.Contains(got, "1234") {
			t.Errorf("Redact(%q) = %q", in, got)
		}
	}
}

// CheckURL, the check every URL option runs, quotes the typo'd URL whole.
func TestCheckURLQuotesHostlessUserInfo(t *testing.T) {
	_, err := CheckURL("https:/rs:HUNTER2@as.example.com/introspect", false)
	if err == nil || strings.Contains(err.Error(), "HUNTER2") {
		t.Errorf("CheckURL error: %v", err)
	}
}

// A URL with a port and no host name is refused: Go parses
// "https://:8443/x" with the Host ":8443", where WHATWG parsers (Node,
// browsers) refuse it, and a request to it fails at TLS, or goes to the
// local machine over http (found by a review of resourcemeta).
func TestCheckURLNeedsAHostName(t *testing.T) {
	for _, raw := range []string{"https://:8443/mcp", "http://:80/", "https://:/x", "https:///x", "https://[]:443/"} {
		if _, err := CheckURL(raw, true); err == nil {
			t.Errorf("CheckURL(%q) accepted a URL with no host name", raw)
		}
	}
	for _, raw := range []string{"https://as.example.com:8443/x", "http://127.0.0.1:8080/", "https://[::1]:8443/x", "http://localhost/"} {
		if _, err := CheckURL(raw, true); err != nil {
			t.Errorf("CheckURL(%q): %v", raw, err)
		}
	}
}
